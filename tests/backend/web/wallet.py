"""TEST CODE ONLY: the browser tests' wallet. ``testwallet.js`` registers it in the page through the Wallet
Standard (``standard:connect``, ``solana:signIn``, ``solana:signMessage``, ``solana:signTransaction``); the keypair
stays here, in the test process, and signs through functions exposed to the page."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

SCRIPT = Path(__file__).with_name("testwallet.js")
NAME = "iog Test Wallet"
#: The fixed keypair of the test wallet (a seed anyone can recompute: it guards nothing).
FIXED_SEED = hashlib.sha256(b"iog web test wallet").digest()


def fixed_keypair() -> Keypair:
    return Keypair.from_seed(FIXED_SEED)


def _compact_u16(data: bytes, at: int) -> tuple[int, int]:
    """(value, bytes used) of Solana's compact-u16 at ``data[at:]``."""
    value, shift, used = 0, 0, 0
    while True:
        b = data[at + used]
        value |= (b & 0x7F) << shift
        used += 1
        if not b & 0x80:
            return value, used
        shift += 7


def sign_transaction(kp: Keypair, raw: bytes) -> bytes:
    """Put ``kp``'s signature into its slot of a serialized (legacy or v0) transaction, like a wallet does."""
    n, used = _compact_u16(raw, 0)
    sig_start = used
    message = raw[sig_start + 64 * n :]
    at = 1 if message[0] & 0x80 else 0  # v0 messages start with a version prefix byte
    required = message[at]
    keys_n, keys_used = _compact_u16(message, at + 3)
    keys_at = at + 3 + keys_used
    keys = [message[keys_at + 32 * i : keys_at + 32 * (i + 1)] for i in range(keys_n)]
    me = bytes(kp.pubkey())
    if me not in keys[:required]:
        raise ValueError("the transaction does not need this wallet's signature")
    slot = keys.index(me)
    sig = bytes(kp.sign_message(message))
    out = bytearray(raw)
    out[sig_start + 64 * slot : sig_start + 64 * (slot + 1)] = sig
    return bytes(out)


class TestWallet:
    """The keypair behind the in-page wallet, and how to install that wallet into a Playwright context."""

    __test__ = False  # not a pytest test class

    def __init__(self, keypair: Keypair | None = None, name: str = NAME, sign_in: bool = True) -> None:
        self.keypair = keypair or fixed_keypair()
        self.name = name
        self.sign_in = sign_in
        self.signed_messages: list[bytes] = []
        self.signed_transactions: list[bytes] = []

    @property
    def address(self) -> str:
        return str(self.keypair.pubkey())

    def _sign_message(self, b64: str) -> str:
        msg = base64.b64decode(b64)
        self.signed_messages.append(msg)
        return base64.b64encode(bytes(self.keypair.sign_message(msg))).decode()

    def _sign_transaction(self, b64: str) -> str:
        signed = sign_transaction(self.keypair, base64.b64decode(b64))
        self.signed_transactions.append(signed)
        return base64.b64encode(signed).decode()

    def install(self, context: Any) -> None:
        """Expose the signers and register the wallet in every page of ``context`` (before the app's code)."""
        context.expose_function("iogTestWalletSignMessage", self._sign_message)
        context.expose_function("iogTestWalletSignTransaction", self._sign_transaction)
        cfg = {
            "address": self.address,
            "publicKey": list(bytes(self.keypair.pubkey())),
            "name": self.name,
            "withoutSignIn": not self.sign_in,
        }
        context.add_init_script(f"window.__iogTestWallet = {json.dumps(cfg)};\n{SCRIPT.read_text()}")
