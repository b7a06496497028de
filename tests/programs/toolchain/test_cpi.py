"""PDAs, CPIs (System create_account, SPL Token Transfer / TransferChecked, PDA-signed) and token readers."""

from __future__ import annotations

import struct

import pytest
import solders.token as token
from solders.account import Account
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.transaction_status import InstructionErrorCustom, InstructionErrorFieldless

from tests.programs.toolchain.fixtures import Probe

OP_FIND_PDA, OP_TRANSFER, OP_CREATE_PDA, OP_READ_TOKEN = 1, 6, 7, 8
DECIMALS = 8
TOKEN_INSUFFICIENT_FUNDS = 1  # spl_token::error::TokenError::InsufficientFunds
TOKEN_MINT_DECIMALS_MISMATCH = 18  # spl_token::error::TokenError::MintDecimalsMismatch


def _meta(key: Pubkey, writable: bool = False, signer: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=signer, is_writable=writable)


def _mint(probe: Probe, supply: int = 10**15) -> Pubkey:
    key = Pubkey.new_unique()
    data = bytes(
        Mint(mint_authority=probe.payer.pubkey(), supply=supply, decimals=DECIMALS, is_initialized=True)
    )
    probe.svm.set_account(key, Account(probe.svm.minimum_balance_for_rent_exemption(82), data, token.ID))
    return key


def _token_account(
    probe: Probe, mint: Pubkey, owner: Pubkey, amount: int, state=TokenAccountState.Initialized
) -> Pubkey:
    key = Pubkey.new_unique()
    data = bytes(TokenAccount(mint, owner, amount, None, state, None, 0, None))
    probe.svm.set_account(key, Account(probe.svm.minimum_balance_for_rent_exemption(165), data, token.ID))
    return key


def _amount(probe: Probe, key: Pubkey) -> int:
    acct = probe.svm.get_account(key)
    assert acct is not None
    return TokenAccount.from_bytes(bytes(acct.data)).amount


class TestPda:
    @pytest.mark.parametrize(
        "seeds", [[b"vault_authority"], [b"state", bytes(range(32))], [b"a", b"", b"x" * 32], []], ids=str
    )
    def test_find_matches_solders(self, probe: Probe, seeds: list[bytes]) -> None:
        data = bytes([len(seeds)]) + b"".join(bytes([len(s)]) + s for s in seeds)
        res = probe.call(OP_FIND_PDA, data)
        assert res.ok, res.logs
        address, bump = Pubkey.find_program_address(seeds, probe.program_id)
        assert res.return_data == bytes(address) + bytes([bump, 1])

    def test_seed_longer_than_32_bytes_is_refused(self, probe: Probe) -> None:
        res = probe.call(OP_FIND_PDA, bytes([1, 33]) + b"y" * 33)
        assert not res.ok


class TestTokenTransfer:
    def _setup(self, probe: Probe, amount: int = 1_000_000) -> tuple[Pubkey, Pubkey, Pubkey, Pubkey]:
        mint = _mint(probe)
        authority, _ = Pubkey.find_program_address([b"vault_authority"], probe.program_id)
        vault = _token_account(probe, mint, authority, amount)
        dest = _token_account(probe, mint, Keypair().pubkey(), 0)
        return mint, authority, vault, dest

    def test_pda_signed_transfer_from_program_vault(self, probe: Probe) -> None:
        _, authority, vault, dest = self._setup(probe)
        res = probe.call(
            OP_TRANSFER,
            struct.pack("<QBB", 250_000, 0, 0),
            [_meta(vault, True), _meta(dest, True), _meta(authority), _meta(token.ID)],
        )
        assert res.ok, res.logs
        assert (_amount(probe, vault), _amount(probe, dest)) == (750_000, 250_000)
        assert any(
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [2]" in line for line in res.logs
        )

    def test_pda_signed_transfer_checked(self, probe: Probe) -> None:
        mint, authority, vault, dest = self._setup(probe)
        metas = [_meta(vault, True), _meta(mint), _meta(dest, True), _meta(authority), _meta(token.ID)]
        res = probe.call(OP_TRANSFER, struct.pack("<QBB", 1_000_000, 1, DECIMALS), metas)
        assert res.ok, res.logs
        assert (_amount(probe, vault), _amount(probe, dest)) == (0, 1_000_000)

    def test_transfer_checked_with_wrong_decimals_fails_in_token_program(self, probe: Probe) -> None:
        mint, authority, vault, dest = self._setup(probe)
        metas = [_meta(vault, True), _meta(mint), _meta(dest, True), _meta(authority), _meta(token.ID)]
        res = probe.call(OP_TRANSFER, struct.pack("<QBB", 1, 1, DECIMALS + 1), metas)
        assert res.error.err == InstructionErrorCustom(TOKEN_MINT_DECIMALS_MISMATCH)  # type: ignore[attr-defined]
        assert _amount(probe, vault) == 1_000_000

    def test_transfer_above_balance_fails_and_moves_nothing(self, probe: Probe) -> None:
        _, authority, vault, dest = self._setup(probe, amount=10)
        metas = [_meta(vault, True), _meta(dest, True), _meta(authority), _meta(token.ID)]
        res = probe.call(OP_TRANSFER, struct.pack("<QBB", 11, 0, 0), metas)
        assert res.error.err == InstructionErrorCustom(TOKEN_INSUFFICIENT_FUNDS)  # type: ignore[attr-defined]
        assert (_amount(probe, vault), _amount(probe, dest)) == (10, 0)

    def test_vault_not_owned_by_the_pda_is_refused(self, probe: Probe) -> None:
        mint, authority, _, dest = self._setup(probe)
        foreign = _token_account(probe, mint, Keypair().pubkey(), 500)
        metas = [_meta(foreign, True), _meta(dest, True), _meta(authority), _meta(token.ID)]
        res = probe.call(OP_TRANSFER, struct.pack("<QBB", 1, 0, 0), metas)
        assert res.error.err == InstructionErrorFieldless.IncorrectAuthority  # type: ignore[attr-defined]


class TestCreateAccount:
    def test_pda_account_created_with_rent_exempt_balance(self, probe: Probe) -> None:
        payer = probe.payer.pubkey()
        state, _ = Pubkey.find_program_address([b"state", bytes(payer)], probe.program_id)
        metas = [_meta(payer, True, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        res = probe.call(OP_CREATE_PDA, struct.pack("<QB", 200, 0), metas)
        assert res.ok, res.logs
        acct = probe.svm.get_account(state)
        assert acct is not None
        assert acct.owner == probe.program_id
        assert len(acct.data) == 200 and bytes(acct.data[:8]) == b"IOGSTATE"
        assert acct.lamports == probe.svm.minimum_balance_for_rent_exemption(200)

    def test_pda_payer_signs_with_seeds(self, probe: Probe) -> None:
        pda_payer, _ = Pubkey.find_program_address([b"payer"], probe.program_id)
        probe.svm.set_account(pda_payer, Account(10_000_000_000, b"", SYSTEM_PROGRAM_ID))
        state, _ = Pubkey.find_program_address([b"state", bytes(pda_payer)], probe.program_id)
        metas = [_meta(pda_payer, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        res = probe.call(OP_CREATE_PDA, struct.pack("<QB", 64, 1), metas)
        assert res.ok, res.logs
        rent = probe.svm.minimum_balance_for_rent_exemption(64)
        assert probe.svm.get_balance(state) == rent
        assert probe.svm.get_balance(pda_payer) == 10_000_000_000 - rent

    def test_creating_twice_fails(self, probe: Probe) -> None:
        payer = probe.payer.pubkey()
        state, _ = Pubkey.find_program_address([b"state", bytes(payer)], probe.program_id)
        metas = [_meta(payer, True, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        assert probe.call(OP_CREATE_PDA, struct.pack("<QB", 16, 0), metas).ok
        again = probe.call(OP_CREATE_PDA, struct.pack("<QB", 16, 0), metas)
        assert not again.ok  # System program: account already in use

    @pytest.mark.parametrize("prefund", [1, 10**9], ids=["below_rent", "above_rent"])
    def test_prefunded_pda_blocks_create_account_but_not_the_resilient_helper(
        self, probe: Probe, prefund: int
    ) -> None:
        payer = probe.payer.pubkey()
        state, _ = Pubkey.find_program_address([b"state", bytes(payer)], probe.program_id)
        probe.svm.set_account(state, Account(prefund, b"", SYSTEM_PROGRAM_ID))  # anyone can send lamports
        metas = [_meta(payer, True, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        assert not probe.call(OP_CREATE_PDA, struct.pack("<QB", 100, 0), metas).ok
        res = probe.call(OP_CREATE_PDA, struct.pack("<QB", 100, 2), metas)
        assert res.ok, res.logs
        acct = probe.svm.get_account(state)
        assert acct is not None
        assert (
            acct.owner == probe.program_id and bytes(acct.data[:8]) == b"IOGSTATE" and len(acct.data) == 100
        )
        assert acct.lamports == max(prefund, probe.svm.minimum_balance_for_rent_exemption(100))

    def test_resilient_helper_on_an_empty_address_and_with_a_pda_payer(self, probe: Probe) -> None:
        pda_payer, _ = Pubkey.find_program_address([b"payer"], probe.program_id)
        probe.svm.set_account(pda_payer, Account(10_000_000_000, b"", SYSTEM_PROGRAM_ID))
        state, _ = Pubkey.find_program_address([b"state", bytes(pda_payer)], probe.program_id)
        metas = [_meta(pda_payer, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        res = probe.call(OP_CREATE_PDA, struct.pack("<QB", 40, 3), metas)
        assert res.ok, res.logs
        assert probe.svm.get_account(state).owner == probe.program_id  # type: ignore[union-attr]

    def test_resilient_helper_refuses_an_address_owned_by_another_program(self, probe: Probe) -> None:
        payer = probe.payer.pubkey()
        state, _ = Pubkey.find_program_address([b"state", bytes(payer)], probe.program_id)
        probe.svm.set_account(state, Account(10**9, b"", Pubkey.new_unique()))
        metas = [_meta(payer, True, True), _meta(state, True), _meta(SYSTEM_PROGRAM_ID)]
        res = probe.call(OP_CREATE_PDA, struct.pack("<QB", 100, 2), metas)
        assert res.error.err == InstructionErrorFieldless.AccountAlreadyInitialized  # type: ignore[attr-defined]


class TestTokenReaders:
    def test_reads_token_account_and_mint_fields(self, probe: Probe) -> None:
        mint = _mint(probe, supply=123_456_789_000)
        owner = Keypair().pubkey()
        acct = _token_account(probe, mint, owner, 987_654_321, TokenAccountState.Frozen)
        res = probe.call(OP_READ_TOKEN, b"", [_meta(acct), _meta(mint)])
        assert res.ok, res.logs
        got_mint, got_owner, amount, state, supply, decimals = struct.unpack("<32s32sQBQB", res.return_data)
        assert (Pubkey(got_mint), Pubkey(got_owner)) == (mint, owner)
        assert (amount, state, supply, decimals) == (987_654_321, 2, 123_456_789_000, DECIMALS)

    def test_account_not_owned_by_token_program_is_refused(self, probe: Probe) -> None:
        mint = _mint(probe)
        fake = Pubkey.new_unique()
        good = bytes(TokenAccount(mint, fake, 5, None, TokenAccountState.Initialized, None, 0, None))
        probe.svm.set_account(fake, Account(10**9, good, Pubkey.new_unique()))
        res = probe.call(OP_READ_TOKEN, b"", [_meta(fake), _meta(mint)])
        assert res.error.err == InstructionErrorFieldless.IncorrectProgramId  # type: ignore[attr-defined]

    def test_uninitialized_mint_is_refused(self, probe: Probe) -> None:
        mint = Pubkey.new_unique()
        data = bytes(Mint(mint_authority=None, supply=0, decimals=DECIMALS, is_initialized=False))
        probe.svm.set_account(mint, Account(10**9, data, token.ID))
        acct = _token_account(probe, mint, Keypair().pubkey(), 1)
        res = probe.call(OP_READ_TOKEN, b"", [_meta(acct), _meta(mint)])
        assert res.error.err == InstructionErrorFieldless.UninitializedAccount  # type: ignore[attr-defined]

    def test_uninitialized_token_account_is_refused(self, probe: Probe) -> None:
        mint = _mint(probe)
        acct = _token_account(probe, mint, Keypair().pubkey(), 0, TokenAccountState.Uninitialized)
        res = probe.call(OP_READ_TOKEN, b"", [_meta(acct), _meta(mint)])
        assert res.error.err == InstructionErrorFieldless.UninitializedAccount  # type: ignore[attr-defined]
