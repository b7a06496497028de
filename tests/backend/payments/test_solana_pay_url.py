"""Solana Pay transfer-request URLs: exactly the spec's form, read back identically by @solana/pay's parseURL (as a
wallet reads them), and @solana/pay's encodeURL output read identically by our parser."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from backend.errors import InvalidInput
from backend.money import format_units
from backend.payments.solanapay import TransferRequest, encode, parse
from tests.fixtures.js import JsClients

RECIPIENT, MINT, REF = (str(Keypair.from_seed(bytes([i]) * 32).pubkey()) for i in (1, 2, 3))  # fixed: the ids of the
# parametrized cases below name them, and test ids must be the same in every pytest-xdist worker


def _req(amount: int, message: str = "GPU time", memo: str = "inv_0123") -> TransferRequest:
    return TransferRequest(RECIPIENT, amount, MINT, (REF,), "iog", message, memo)


class TestForm:
    def test_parameters_in_the_specs_order_and_ui_units(self) -> None:
        url = encode(_req(1_250_000_000), 8)
        assert url == (
            f"solana:{RECIPIENT}?amount=12.5&spl-token={MINT}&reference={REF}&label=iog&message=GPU%20time"
            f"&memo=inv_0123"
        )

    @pytest.mark.parametrize(
        ("units", "decimals", "text"),
        [(1, 8, "0.00000001"), (100_000_000, 8, "1"), (10**18, 8, "10000000000"), (1_500_000, 6, "1.5"), (7, 0, "7")],
    )
    def test_amounts_are_exact_decimals_with_a_leading_zero(self, units: int, decimals: int, text: str) -> None:
        url = encode(_req(units), decimals)
        assert f"amount={text}&" in url
        assert parse(url, {MINT: decimals}).amount == units

    def test_values_are_percent_encoded(self) -> None:
        url = encode(_req(1, message="a&b=c d/é?", memo="x y"), 8)
        assert "message=a%26b%3Dc%20d%2F%C3%A9%3F" in url and "memo=x%20y" in url
        assert parse(url, {MINT: 8}).message == "a&b=c d/é?"

    @pytest.mark.parametrize(
        ("url", "error"),
        [
            ("https://example.com", "not a solana: URL"),
            (f"solana:{RECIPIENT}?amount=1.123456789&spl-token={MINT}", "more than 8 decimal"),
            (f"solana:{RECIPIENT}?amount=-1&spl-token={MINT}", "not a non-negative decimal"),
            (f"solana:{RECIPIENT}?amount=.5&spl-token={MINT}", "not a non-negative decimal"),
            ("solana:notakey?amount=1", "recipient"),
            (f"solana:{RECIPIENT}?reference=xyz", "reference"),
            ("solana:https%3A%2F%2Fexample.com%2Ftx", "transaction request"),
            ("solana:" + "1" * 2100, "2048"),
        ],
    )
    def test_malformed_urls_are_clear_errors(self, url: str, error: str) -> None:
        with pytest.raises(InvalidInput, match=error):
            parse(url, {MINT: 8})


class TestOfficialClient:
    def test_parse_url_reads_our_urls_as_we_wrote_them(self, js: JsClients) -> None:
        cases = [
            (_req(1_250_000_000), 8),
            (_req(1), 8),
            (_req(10**15, message="Job 7: 4x H100 & more", memo="inv_ff"), 8),
            (_req(123_456, message="ünïcödé ✓"), 6),
        ]
        urls = [encode(r, d) for r, d in cases]
        out = js.run("solana_pay_url.mjs", {"parse": urls})
        for (req, decimals), got in zip(cases, out["parsed"], strict=True):
            assert got == {
                "recipient": req.recipient,
                "amount": format_units(req.amount or 0, decimals),
                "splToken": req.spl_token,
                "reference": list(req.references),
                "label": req.label,
                "message": req.message,
                "memo": req.memo,
            }

    def test_we_read_the_official_encoding(self, js: JsClients) -> None:
        fields = {"recipient": RECIPIENT, "amount": "12.5", "splToken": MINT, "reference": [REF], "label": "iog",
                  "message": "GPU time & more", "memo": "inv_1"}  # fmt: skip
        (url,) = js.run("solana_pay_url.mjs", {"encode": [fields]})["encoded"]
        got = parse(url, {MINT: 8})
        assert (got.recipient, got.amount, got.spl_token, got.references, got.label, got.message, got.memo) == (
            RECIPIENT, 1_250_000_000, MINT, (REF,), "iog", "GPU time & more", "inv_1",
        )  # fmt: skip
