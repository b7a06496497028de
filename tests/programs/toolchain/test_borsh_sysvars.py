"""Borsh reader/writer bounds, Clock/Rent sysvar layouts, rent-exempt minimum and account realloc."""

from __future__ import annotations

import struct

import pytest
from solders.account import Account
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey
from solders.transaction_status import InstructionErrorFieldless

from tests.programs.toolchain.fixtures import Probe

OP_BORSH, OP_SYSVARS, OP_REALLOC = 10, 11, 12


def borsh_payload(n_items: int = 3, flag: int = 1) -> bytes:
    items = b"".join(bytes([i]) * 32 for i in range(n_items))
    return (
        struct.pack("<BHIQB", 0xAB, 0xBEEF, 0xDEADBEEF, 2**64 - 2, flag)
        + bytes(range(32))
        + bytes(range(32, 64))
        + struct.pack("<I", n_items)
        + items
    )


class TestBorsh:
    def test_roundtrip(self, probe: Probe) -> None:
        payload = borsh_payload()
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + payload)
        assert res.ok, res.logs
        assert res.return_data == payload

    def test_empty_vec_roundtrip(self, probe: Probe) -> None:
        payload = borsh_payload(n_items=0, flag=0)
        assert probe.call(OP_BORSH, struct.pack("<H", 1024) + payload).return_data == payload

    @pytest.mark.parametrize("cut", [1, 31, 32, 33, 100], ids=lambda c: f"minus{c}")
    def test_truncated_input_is_invalid_instruction_data(self, probe: Probe, cut: int) -> None:
        payload = borsh_payload()[:-cut]
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + payload)
        assert res.error.err == InstructionErrorFieldless.InvalidInstructionData  # type: ignore[attr-defined]

    def test_trailing_byte_is_refused(self, probe: Probe) -> None:
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + borsh_payload() + b"\x00")
        assert res.error.err == InstructionErrorFieldless.InvalidInstructionData  # type: ignore[attr-defined]

    def test_bool_other_than_0_or_1_is_refused(self, probe: Probe) -> None:
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + borsh_payload(flag=2))
        assert res.error.err == InstructionErrorFieldless.InvalidInstructionData  # type: ignore[attr-defined]

    def test_vec_longer_than_the_maximum_is_refused(self, probe: Probe) -> None:
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + borsh_payload(n_items=9))
        assert res.error.err == InstructionErrorFieldless.InvalidInstructionData  # type: ignore[attr-defined]

    def test_vec_length_prefix_beyond_the_data_is_refused(self, probe: Probe) -> None:
        payload = bytearray(borsh_payload(n_items=2))
        struct.pack_into("<I", payload, len(payload) - 2 * 32 - 4, 3)
        res = probe.call(OP_BORSH, struct.pack("<H", 1024) + bytes(payload))
        assert res.error.err == InstructionErrorFieldless.InvalidInstructionData  # type: ignore[attr-defined]

    @pytest.mark.parametrize("cap", [0, 14, 16, 111])
    def test_writer_past_capacity_fails(self, probe: Probe, cap: int) -> None:
        payload = borsh_payload()  # 16 + 64 + 4 + 96 = 180 bytes
        res = probe.call(OP_BORSH, struct.pack("<H", cap) + payload)
        assert res.error.err == InstructionErrorFieldless.AccountDataTooSmall  # type: ignore[attr-defined]


class TestSysvars:
    def test_clock_and_rent_layouts_match_the_runtime(self, probe: Probe) -> None:
        probe.svm.warp_to_slot(1234)
        res = probe.call(OP_SYSVARS, struct.pack("<Q", 165))
        assert res.ok, res.logs
        slot, epoch_start, epoch, leader_epoch, unix_ts = struct.unpack_from("<QqQQq", res.return_data, 0)
        clock = probe.svm.get_clock()
        assert (slot, epoch_start, epoch, leader_epoch, unix_ts) == (
            clock.slot,
            clock.epoch_start_timestamp,
            clock.epoch,
            clock.leader_schedule_epoch,
            clock.unix_timestamp,
        )
        per_byte_year, threshold, burn = struct.unpack_from("<QdB", res.return_data, 40)
        rent = probe.svm.get_rent()
        assert (per_byte_year, threshold, burn) == (
            rent.lamports_per_byte_year,
            rent.exemption_threshold,
            rent.burn_percent,
        )

    @pytest.mark.parametrize("data_len", [0, 1, 82, 165, 10_240, 10 * 1024 * 1024])
    def test_rent_exempt_minimum_matches_the_runtime(self, probe: Probe, data_len: int) -> None:
        res = probe.call(OP_SYSVARS, struct.pack("<Q", data_len))
        err, minimum = struct.unpack_from("<QQ", res.return_data, 64)
        assert err == 0
        assert minimum == probe.svm.minimum_balance_for_rent_exemption(data_len)

    def test_rent_overflow_is_an_error_not_a_wrong_number(self, probe: Probe) -> None:
        res = probe.call(OP_SYSVARS, struct.pack("<Q", 2**64 - 1))
        err, _ = struct.unpack_from("<QQ", res.return_data, 64)
        assert err == 24 << 32  # ArithmeticOverflow


class TestRealloc:
    def _state(self, probe: Probe, size: int) -> Pubkey:
        key = Pubkey.new_unique()
        probe.svm.set_account(key, Account(10**10, b"\x07" * size, probe.program_id))
        return key

    @pytest.mark.parametrize("new_len", [0, 10, 100, 100 + 10_240])
    def test_resizes_within_the_permitted_increase(self, probe: Probe, new_len: int) -> None:
        key = self._state(probe, 100)
        res = probe.call(OP_REALLOC, struct.pack("<Q", new_len), [AccountMeta(key, False, True)])
        assert res.ok, res.logs
        data = bytes(probe.svm.get_account(key).data)  # type: ignore[union-attr]
        assert len(data) == new_len
        assert data == (b"\x07" * 100 + bytes(max(0, new_len - 100)))[:new_len]

    def test_growth_beyond_10_kib_is_refused(self, probe: Probe) -> None:
        key = self._state(probe, 100)
        res = probe.call(OP_REALLOC, struct.pack("<Q", 100 + 10_241), [AccountMeta(key, False, True)])
        assert res.error.err == InstructionErrorFieldless.InvalidRealloc  # type: ignore[attr-defined]
        assert len(probe.svm.get_account(key).data) == 100  # type: ignore[union-attr]
