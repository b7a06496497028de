"""SIWS messages: the two layouts, the off-chain envelope, golden vectors, and the Wallet Standard's own helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from backend.auth import siws
from tests.fixtures.js import JsClients

VECTORS = Path(__file__).resolve().parents[2] / "resources" / "auth" / "siws_vectors.json"
# A fixed key (seed 32 x 0x07), so the ed25519 signatures of the vectors are fixed too.
KEY = Keypair.from_seed(bytes([7] * 32))


def fields(statement: str | None) -> siws.SignInFields:
    return siws.SignInFields(
        domain="iog.example:8000",
        address=str(KEY.pubkey()),
        statement=statement,
        uri="https://iog.example:8000",
        version="1",
        chain_id="localnet",
        nonce="Q3kT7vZp1LmN8xYb2Rc5Wd9e",
        issued_at="2026-12-01T10:00:00Z",
        expiration_time="2026-12-01T10:05:00Z",
    )


def vectors() -> list[dict]:
    assert VECTORS.exists(), f"golden file {VECTORS} is missing"
    return json.loads(VECTORS.read_text())


class TestGoldenVectors:
    @pytest.mark.parametrize("case", range(4))
    def test_rendering_envelope_and_signature_match_the_golden_file(self, case: int) -> None:
        v = vectors()[case]
        f = fields(v["statement"])
        text = siws.render(f, v["layout"])
        assert text == v["message"]
        assert siws.offchain_envelope(text).hex() == v["envelope_hex"]
        assert str(KEY.sign_message(text.encode())) == v["signature"]
        assert str(KEY.sign_message(siws.offchain_envelope(text))) == v["envelope_signature"]
        assert siws.parse(text) == f

    def test_layouts_differ_only_without_a_statement(self) -> None:
        with_statement = fields("Sign in to iog.")
        assert siws.render(with_statement, siws.STANDARD) == siws.render(with_statement, siws.EIP4361)
        bare = fields(None)
        assert siws.render(bare, siws.EIP4361) == siws.render(bare, siws.STANDARD).replace("\n\nURI", "\n\n\nURI")


class TestEnvelope:
    def test_round_trip_and_formats(self) -> None:
        assert siws.open_envelope(siws.offchain_envelope("plain ascii\nline")) == "plain ascii\nline"
        assert siws.offchain_envelope("héllo")[17] == siws.FORMAT_UTF8
        long_text = "x" * 2000
        assert siws.offchain_envelope(long_text)[17] == siws.FORMAT_UTF8_EXTENDED
        assert siws.open_envelope(siws.offchain_envelope(long_text)) == long_text

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda b: b[:18],  # truncated header
            lambda b: b[:16] + b"\x01" + b[17:],  # version 1
            lambda b: b[:17] + b"\x09" + b[18:],  # unknown format
            lambda b: b[:18] + (len(b) - 19).to_bytes(2, "little") + b[20:],  # wrong length
            lambda b: b[:17] + b"\x00" + b[18:20] + "é".encode() * 3,  # non-ASCII in format 0
        ],
    )
    def test_malformed_headers_are_refused(self, mangle) -> None:
        with pytest.raises(siws.MalformedMessage):
            siws.open_envelope(mangle(siws.offchain_envelope("sign in")))


class TestSignatureEncoding:
    def test_base58_and_base64_are_accepted(self) -> None:
        import base64

        sig = KEY.sign_message(b"m")
        assert siws.decode_signature(str(sig)) == sig
        assert siws.decode_signature(base64.b64encode(bytes(sig)).decode()) == sig

    @pytest.mark.parametrize("bad", ["", "abc", "0" * 300, "!!!!", "A" * 87 + "="])
    def test_anything_else_is_a_value_error(self, bad: str) -> None:
        with pytest.raises(ValueError):
            siws.decode_signature(bad)


class TestWalletStandardHelpers:
    """The text must be what the Wallet Standard's own `createSignInMessageText` renders for the same input,
    and its `verifySignIn` must accept our message and signature (that is what a wallet's dapp side runs)."""

    def test_standard_layout_is_the_wallet_standards(self, js: JsClients) -> None:
        for statement in ("Sign in to iog to manage your nodes.", None):
            f = fields(statement)
            text = siws.render(f, siws.STANDARD)
            sign_in_input = {
                "domain": f.domain,
                "address": f.address,
                "uri": f.uri,
                "version": f.version,
                "chainId": f.chain_id,
                "nonce": f.nonce,
                "issuedAt": f.issued_at,
                "expirationTime": f.expiration_time,
            }
            if statement:
                sign_in_input["statement"] = statement
            out = js.run(
                "siws.mjs",
                {
                    "input": sign_in_input,
                    "message": text,
                    "signature": str(KEY.sign_message(text.encode())),
                    "publicKey": f.address,
                },
            )
            assert out["created"] == text
            assert out["parsed"]["nonce"] == f.nonce and out["parsed"]["address"] == f.address
            assert out["verified"] is True
