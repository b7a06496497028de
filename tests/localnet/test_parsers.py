"""Pure helpers: base58, uiTokenAmount formatting, instruction parsers on malformed data."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from localnet.b58 import b58decode, b58encode
from localnet.constants import ATA_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM
from localnet.parsers import parse_instruction, read_mint, read_token_account, ui_token_amount


class TestBase58:
    @given(st.binary(max_size=80))
    def test_round_trip(self, data: bytes) -> None:
        assert b58decode(b58encode(data)) == data

    def test_matches_solders_for_keys(self) -> None:
        pk = Pubkey.from_bytes(os.urandom(32))
        assert b58encode(bytes(pk)) == str(pk)


class TestUiTokenAmount:
    def test_formats_without_float_rounding_in_the_string(self) -> None:
        assert ui_token_amount(123_456_789_012_345_678, 8)["uiAmountString"] == "1234567890.12345678"
        assert ui_token_amount(100, 2) == {
            "amount": "100",
            "decimals": 2,
            "uiAmount": 1.0,
            "uiAmountString": "1",
        }
        assert ui_token_amount(5, 3)["uiAmountString"] == "0.005"
        assert ui_token_amount(0, 0)["uiAmountString"] == "0"


class TestParsersNeverCrash:
    @given(st.binary(max_size=120), st.integers(0, 8))
    def test_random_data_gives_none_or_a_shape(self, data: bytes, n_accounts: int) -> None:
        accts = [str(Pubkey.new_unique()) for _ in range(n_accounts)]
        for pid in (SYSTEM_PROGRAM, TOKEN_PROGRAM, ATA_PROGRAM):
            out = parse_instruction(pid, data, accts)
            assert out is None or {"program", "programId", "parsed"} <= out.keys()
        assert read_token_account(data) is None or len(data) >= 165
        assert read_mint(data) is None or len(data) >= 82
