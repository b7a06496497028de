"""Pins the SBPFv0 input parser (iog_deserialize) against what the runtime actually serializes."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import solders.token as token
from solders.account import Account
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.programs.toolchain.fixtures import Probe

OP_LAYOUT = 4
NON_DUP = 0xFF
HEADER = struct.Struct("<QQQ32s32s")
RECORD = struct.Struct("<BBBBIQQQ32s32s32s")


@dataclass
class Seen:
    dup_of: int
    is_signer: bool
    is_writable: bool
    executable: bool
    original_len: int
    lamports: int
    data_len: int
    rent_epoch: int
    key: Pubkey
    owner: Pubkey
    data_sha: bytes


def _parse(ret: bytes) -> tuple[tuple, list[Seen]]:
    head = HEADER.unpack_from(ret, 0)
    seen = []
    for off in range(HEADER.size, len(ret), RECORD.size):
        f = RECORD.unpack_from(ret, off)
        seen.append(
            Seen(f[0], bool(f[1]), bool(f[2]), bool(f[3]), *f[4:8], Pubkey(f[8]), Pubkey(f[9]), f[10])
        )
    return head, seen


def _put(probe: Probe, data: bytes, owner: Pubkey, lamports: int = 5_555_555) -> Pubkey:
    key = Pubkey.new_unique()
    probe.svm.set_account(key, Account(lamports=lamports, data=data, owner=owner, executable=False))
    return key


class TestInputLayout:
    def test_accounts_duplicates_flags_data_and_program_id(self, probe: Probe) -> None:
        odd = _put(probe, bytes(range(13)), probe.program_id)  # length not a multiple of 8: alignment padding
        empty = _put(probe, b"", Pubkey.default(), lamports=1_000_000)
        big = _put(probe, bytes(i % 251 for i in range(1000)), probe.program_id, lamports=9_000_000_000)
        metas = [
            AccountMeta(probe.payer.pubkey(), is_signer=True, is_writable=True),
            AccountMeta(odd, is_signer=False, is_writable=True),
            AccountMeta(empty, is_signer=False, is_writable=False),
            AccountMeta(odd, is_signer=False, is_writable=True),  # duplicate of index 1
            AccountMeta(token.ID, is_signer=False, is_writable=False),  # an executable account
            AccountMeta(big, is_signer=False, is_writable=True),
            AccountMeta(empty, is_signer=False, is_writable=False),  # duplicate of index 2
        ]
        ix_data = bytes(range(37))
        res = probe.call(OP_LAYOUT, ix_data, metas)
        assert res.ok, res.logs
        (total, num, data_len, program_id, data_sha), seen = _parse(res.return_data)
        assert (total, num) == (7, 7)
        assert data_len == 1 + len(ix_data)
        assert data_sha == hashlib.sha256(bytes([OP_LAYOUT]) + ix_data).digest()
        assert Pubkey(program_id) == probe.program_id
        assert [s.dup_of for s in seen] == [NON_DUP, NON_DUP, NON_DUP, 1, NON_DUP, NON_DUP, 2]
        assert [s.key for s in seen] == [m.pubkey for m in metas]
        assert [(s.is_signer, s.is_writable) for s in seen] == [(m.is_signer, m.is_writable) for m in metas]
        assert [s.executable for s in seen] == [False, False, False, False, True, False, False]
        svm = probe.svm
        for s in seen:
            acct = svm.get_account(s.key)
            assert acct is not None
            assert s.owner == acct.owner
            assert s.data_len == s.original_len == len(acct.data)
            assert s.data_sha == hashlib.sha256(bytes(acct.data)).digest()
            if s.key != probe.payer.pubkey():  # the payer's balance is read after the fee
                assert s.lamports == acct.lamports
            assert s.rent_epoch in (acct.rent_epoch, 2**64 - 1)

    def test_more_accounts_than_recorded_still_finds_data_and_program_id(self, probe: Probe) -> None:
        keys = [_put(probe, bytes([i]) * (i * 3), Pubkey.default()) for i in range(19)]
        metas = [AccountMeta(k, is_signer=False, is_writable=False) for k in keys]
        res = probe.call(OP_LAYOUT, b"tail", metas)
        assert res.ok, res.logs
        (total, num, data_len, program_id, data_sha), seen = _parse(res.return_data)
        assert (total, num) == (19, 16)
        assert data_len == 5 and data_sha == hashlib.sha256(bytes([OP_LAYOUT]) + b"tail").digest()
        assert Pubkey(program_id) == probe.program_id
        assert [s.key for s in seen] == keys[:7]

    def test_signer_that_is_not_the_fee_payer(self, probe: Probe) -> None:
        other = Keypair()
        probe.svm.airdrop(other.pubkey(), 1_000_000_000)
        res = probe.call(OP_LAYOUT, b"", [AccountMeta(other.pubkey(), True, False)], signers=[other])
        assert res.ok, res.logs
        _, seen = _parse(res.return_data)
        assert (seen[0].is_signer, seen[0].is_writable) == (True, False)
        assert seen[0].lamports == 1_000_000_000
