"""LiteSVM harness for the staking program: a mint, vaults, authorities, wallets and helpers.

Token mints and wallet token accounts are written with `set_account` (an airdrop of IO, in effect);
every program interaction goes through real transactions against the real .so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.clock import Clock
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount, TokenAccountState
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from backend.chain import ids, pdas
from backend.chain.staking import ConfigParams, ProgramAccounts, StakingClient, error_names
from tests.programs.staking.units import IO

MINT_LEN = 82
T0 = 1_700_000_000


def mint_bytes(authority: Pubkey, supply: int, decimals: int = 8) -> bytes:
    """Packed SPL Token Mint (COption authority, supply, decimals, initialized, no freeze authority)."""
    return (
        (1).to_bytes(4, "little")
        + bytes(authority)
        + supply.to_bytes(8, "little")
        + bytes([decimals, 1])
        + (0).to_bytes(4, "little")
        + bytes(32)
    )


# The three forms of Anchor's error line, as @coral-xyz/anchor 0.29's AnchorError.parse reads them
# (ts/packages/anchor/src/error.ts); an independent reading of what the program logs.
_ANCHOR_NO_INFO = re.compile(
    r"^Program log: AnchorError occurred\. Error Code: (.*)\. Error Number: (\d*)\. Error Message: (.*)\.$"
)
_ANCHOR_ACCOUNT = re.compile(
    r"^Program log: AnchorError caused by account: (.*)\. Error Code: (.*)\. Error Number: (\d*)\. "
    r"Error Message: (.*)\.$"
)


@dataclass(frozen=True)
class AnchorLog:
    """What an Anchor client reads from the logs of a failed instruction."""

    code: str
    number: int
    message: str
    account: str | None = None
    compared: tuple[str, str] | None = None


def anchor_error(logs: list[str]) -> AnchorLog | None:
    """The first ``AnchorError`` line of ``logs`` and the compared values after it, or None."""
    for i, line in enumerate(logs):
        if not line.startswith("Program log: AnchorError"):
            continue
        m = _ANCHOR_ACCOUNT.match(line)
        if m:
            account, code, number, message = m.groups()
        else:
            m2 = _ANCHOR_NO_INFO.match(line)
            assert m2, f"unparsable AnchorError line: {line!r}"
            account, (code, number, message) = None, m2.groups()
        rest = logs[i + 1 : i + 5]
        compared = None
        if rest[:1] == ["Program log: Left:"]:  # keys: "Left:", <key>, "Right:", <key>
            assert rest[2] == "Program log: Right:", rest
            compared = (rest[1].removeprefix("Program log: "), rest[3].removeprefix("Program log: "))
        elif rest and rest[0].startswith("Program log: Left: "):
            assert rest[1].startswith("Program log: Right: "), rest
            compared = (rest[0].removeprefix("Program log: Left: "), rest[1].removeprefix("Program log: Right: "))
        return AnchorLog(code, int(number), message, account, compared)
    return None


@dataclass
class TxResult:
    """Outcome of one transaction."""

    ok: bool
    error_code: int | None
    error: str | None
    logs: list[str]
    compute_units: int


@dataclass
class Env:
    """A LiteSVM with the program loaded and initialized."""

    svm: LiteSVM
    client: StakingClient
    mint: Pubkey
    admin: Keypair
    rewards_authority: Keypair
    slash_authority: Keypair
    stake_vault: Pubkey
    rewards_vault: Pubkey
    slash_destination: Pubkey
    rewards_funding: Pubkey
    params: ConfigParams
    fee_payer: Keypair = field(default_factory=Keypair)
    now: int = T0
    _seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # -- transactions ----------------------------------------------------------------------
    def send(self, ixs: list[Instruction] | Instruction, signers: list[Keypair]) -> TxResult:
        """Send one transaction paid by `fee_payer` (so that no instruction account pays fees)."""
        if isinstance(ixs, Instruction):
            ixs = [ixs]
        self.svm.expire_blockhash()
        all_signers = [self.fee_payer] + [s for s in signers if s.pubkey() != self.fee_payer.pubkey()]
        msg = Message.new_with_blockhash(ixs, self.fee_payer.pubkey(), self.svm.latest_blockhash())
        tx = Transaction(all_signers, msg, self.svm.latest_blockhash())
        res = self.svm.send_transaction(tx)
        if isinstance(res, FailedTransactionMetadata):
            err = res.err()
            code = None
            if isinstance(err, TransactionErrorInstructionError) and isinstance(
                err.err, InstructionErrorCustom
            ):
                code = err.err.code
            meta = res.meta()
            return TxResult(False, code, str(err), list(meta.logs()), meta.compute_units_consumed())
        return TxResult(True, None, None, list(res.logs()), res.compute_units_consumed())

    def ok(self, ixs: list[Instruction] | Instruction, signers: list[Keypair]) -> TxResult:
        """Send and assert success."""
        r = self.send(ixs, signers)
        assert r.ok, f"{r.error}\n" + "\n".join(r.logs)
        return r

    def reject(
        self, ix: Instruction, signers: list[Keypair], error: str, watch: tuple[Pubkey, ...] = ()
    ) -> TxResult:
        """Send `ix`, assert it fails with the named program error and that no account changed."""
        keys = list(
            dict.fromkeys(
                [m.pubkey for m in ix.accounts]
                + [
                    self.stake_vault,
                    self.rewards_vault,
                    self.slash_destination,
                    self.client.config,
                    self.client.distributor,
                    *watch,
                ]
            )
        )
        before = self.snapshot(keys)
        r = self.send(ix, signers)
        names = error_names()
        got = names.get(r.error_code, r.error) if r.error_code is not None else r.error
        assert not r.ok and got == error, f"expected {error}, got {got}\n" + "\n".join(r.logs[-6:])
        assert self.snapshot(keys) == before, "a rejected instruction changed an account"
        check_anchor_log(r)
        return r

    # -- accounts --------------------------------------------------------------------------
    def new_keypair(self, sol: int = 10**10) -> Keypair:
        """A fresh funded keypair."""
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), sol)
        return kp

    def token_account(
        self, owner: Pubkey, amount: int = 0, mint: Pubkey | None = None, address: Pubkey | None = None
    ) -> Pubkey:
        """Write an initialized SPL token account holding `amount` (default: the IO mint)."""
        addr = address or Pubkey.new_unique()
        acc = TokenAccount(mint or self.mint, owner, amount, None, TokenAccountState.Initialized, None, 0)
        data = bytes(acc)
        self.svm.set_account(
            addr,
            Account(
                self.svm.minimum_balance_for_rent_exemption(len(data)), data, ids.TOKEN_PROGRAM_ID, False, 0
            ),
        )
        return addr

    def wallet(self, io: int = 10_000 * IO) -> tuple[Keypair, Pubkey]:
        """A funded keypair and its IO token account holding `io` base units."""
        kp = self.new_keypair()
        return kp, self.token_account(kp.pubkey(), io)

    def balance(self, token_account: Pubkey) -> int:
        """Token amount of a token account."""
        acc = self.svm.get_account(token_account)
        assert acc is not None
        return TokenAccount.from_bytes(bytes(acc.data)).amount

    def data(self, address: Pubkey) -> bytes | None:
        """Raw account data or None."""
        acc = self.svm.get_account(address)
        return None if acc is None else bytes(acc.data)

    def decode(self, address: Pubkey) -> Any:
        """Decode one of the program's accounts."""
        raw = self.data(address)
        assert raw is not None, f"{address} does not exist"
        return self.client.decode_account(raw)

    def snapshot(self, addresses: list[Pubkey]) -> dict[Pubkey, tuple[int, bytes, Pubkey] | None]:
        """Lamports, data and owner of each address (None if absent)."""
        out: dict[Pubkey, tuple[int, bytes, Pubkey] | None] = {}
        for a in addresses:
            acc = self.svm.get_account(a)
            out[a] = None if acc is None or acc.lamports == 0 else (acc.lamports, bytes(acc.data), acc.owner)
        return out

    # -- time ------------------------------------------------------------------------------
    def set_time(self, unix_timestamp: int) -> None:
        """Move the clock to `unix_timestamp`."""
        self.now = unix_timestamp
        c = self.svm.get_clock()
        self.svm.set_clock(
            Clock(c.slot + 1, c.epoch_start_timestamp, c.epoch, c.leader_schedule_epoch, unix_timestamp)
        )

    def advance(self, seconds: int) -> None:
        """Move the clock forward."""
        self.set_time(self.now + seconds)

    # -- program helpers -------------------------------------------------------------------
    def register(
        self, gpu_units: int = 1, commission_bps: int = 500, operator: Keypair | None = None
    ) -> tuple[Keypair, Keypair, Pubkey]:
        """Register a node; returns (operator, node key, node account)."""
        op = operator or self.new_keypair()
        nk = Keypair()
        self.ok(self.client.register_node(op.pubkey(), nk.pubkey(), gpu_units, commission_bps), [op, nk])
        return op, nk, self.client.node(nk.pubkey())

    def stake_ix(self, owner: Keypair, node: Pubkey, token: Pubkey, amount: int) -> Instruction:
        """stake instruction against the env's vault."""
        return self.client.stake(owner.pubkey(), node, token, self.stake_vault, amount)


def check_anchor_log(r: TxResult) -> AnchorLog:
    """A failed transaction's logs name its custom error exactly as the IDL does (code, number, message)."""
    from backend.chain.staking import load_idl

    assert r.error_code is not None, r.error
    log = anchor_error(r.logs)
    assert log is not None, "no AnchorError line in:\n" + "\n".join(r.logs)
    idl = {e.code: (e.name, e.msg) for e in load_idl().errors or []}
    assert (log.code, log.message) == idl[r.error_code] and log.number == r.error_code, (log, r.error_code)
    return log


def make_env(so_path: Path, params: ConfigParams | None = None, initialize: bool = True) -> Env:
    """A LiteSVM with SPL Token, the program, an IO mint, the two vaults and (optionally) Config."""
    svm = LiteSVM()
    client = StakingClient()
    svm.add_program_from_file(client.program_id, so_path)
    admin, ra, sa = Keypair(), Keypair(), Keypair()
    for kp in (admin, ra, sa):
        svm.airdrop(kp.pubkey(), 10**11)
    mint = Pubkey.new_unique()
    svm.set_account(mint, Account(10**9, mint_bytes(admin.pubkey(), 10**18), ids.TOKEN_PROGRAM_ID, False, 0))
    env = Env(
        svm,
        client,
        mint,
        admin,
        ra,
        sa,
        Pubkey.default(),
        Pubkey.default(),
        Pubkey.default(),
        Pubkey.default(),
        params or ConfigParams.for_decimals(8),
    )
    svm.airdrop(env.fee_payer.pubkey(), 10**12)
    env.set_time(T0)
    va = client.vault_authority
    env.stake_vault = env.token_account(va, address=pdas.associated_token_address(va, mint))
    env.rewards_vault = env.token_account(va)
    env.slash_destination = env.token_account(admin.pubkey())
    env.rewards_funding = env.token_account(ra.pubkey(), 10**16)
    if initialize:
        env.ok(
            env.client.initialize(
                admin.pubkey(),
                ProgramAccounts(mint, env.stake_vault, env.rewards_vault, env.slash_destination),
                ra.pubkey(),
                sa.pubkey(),
                env.params,
            ),
            [admin],
        )
    return env


def with_meta(ix: Instruction, index: int, **changes: Any) -> Instruction:
    """A copy of `ix` with account `index` changed (pubkey / is_signer / is_writable)."""
    metas = list(ix.accounts)
    m = metas[index]
    metas[index] = AccountMeta(
        changes.get("pubkey", m.pubkey),
        changes.get("is_signer", m.is_signer),
        changes.get("is_writable", m.is_writable),
    )
    return Instruction(ix.program_id, ix.data, metas)
