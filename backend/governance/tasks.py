"""The governance job (scheduler job ``governance``): one idempotent pass.

1. **close**: proposals whose window ended are tallied (Succeeded / Defeated) with their outcome hash.
2. **memo**: the outcome is recorded on chain by a Memo transaction signed by the governance authority
   (``iog-governance/1 proposal=<id> outcome=<state> sha256=<hash>``). The signed transaction is committed before
   it is sent and looked up before it is sent again; only once its blockhash expired without it landing is a new
   one signed.
3. **book**: IO that came into the community (grants) treasury (the epochs' community shares) is booked
   ``community:treasury`` / ``community:fund`` once the indexer saw it finalized.
4. **execute**: a succeeded grant whose memo landed and whose hold-up time (``transactions_hold_up_time`` after
   the close) has passed is recorded as a settlement transfer of kind ``grant`` from the community treasury
   (state Executing) when the treasury holds its amount; else it stays Succeeded with a note and is tried again
   on the next pass. One grant is in flight at a time, so the balance read is never already promised.
5. **send**: a settlement pass sends it (record -> send -> resolve -> book at finalized, exactly once).
6. **sync**: Executing becomes Completed when the transfer is finalized and booked, or Succeeded again (retried)
   when it failed.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import treasury as treasury_mod
from backend.chain.tokens import memo_instruction
from backend.chain.tx import RpcUnavailable, TransactionFailed
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.errors import AppError
from backend.governance import repository as repo
from backend.governance import service, tally
from backend.ledger import service as ledger
from backend.models.governance import (
    COMPLETED,
    EXECUTING,
    GRANT,
    MEMO_LANDED,
    MEMO_SENT,
    MEMO_SIGNED,
    SUCCEEDED,
    GovernanceProposal,
)
from backend.settlement import transfers
from backend.settlement.chainport import ChainPort, RpcChain

log = logging.getLogger("iog.governance")
Clock = Callable[[], float]
#: The community treasury's IO balance (base units, confirmed) by token account.
BalanceReader = Callable[[str], int]


@dataclass
class PassResult:
    """What one pass did (printed by the CLI, logged by the scheduler)."""

    closed: list[str] = field(default_factory=list)
    memos: dict[str, str] = field(default_factory=dict)
    inflows_booked: int = 0
    executing: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    settlement: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=4)
def _factory(url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(url))


# --- 2. the outcome memo -----------------------------------------------------------------------------------------


def _sign_memo(p: GovernanceProposal, chain: ChainPort, authority: Keypair, now: int) -> None:
    text = tally.memo_text(p.id, json.loads(p.outcome or "{}").get("state", p.state), p.outcome_hash or "")
    blockhash, last_valid = chain.latest_blockhash()
    ix = memo_instruction(text, [authority.pubkey()])
    txn = Transaction([authority], Message.new_with_blockhash([ix], authority.pubkey(), blockhash), blockhash)
    p.memo_raw = base64.b64encode(bytes(txn)).decode()
    p.memo_signature = str(txn.signatures[0])
    p.memo_last_valid_block_height = last_valid
    p.memo_status, p.memo_slot, p.updated_at = MEMO_SIGNED, None, now


def record_memos(factory: sessionmaker[Session], chain: ChainPort, authority: Keypair, now: int) -> dict[str, str]:
    """Move every closed proposal's memo on: sign and commit, send, look up; ``{proposal: memo status}``."""
    out: dict[str, str] = {}
    with session_scope(factory) as session:
        for p in repo.memo_pending(session):
            if p.memo_status is None:
                _sign_memo(p, chain, authority, now)
    # Committed (signed) before anything is sent; now resolve or send each.
    with session_scope(factory) as session:
        for p in repo.memo_pending(session):
            assert p.memo_signature is not None and p.memo_raw is not None
            st = chain.statuses([p.memo_signature])[0]
            if st is not None:
                if st.err is not None:
                    log.error("memo of %s failed on chain (%s); signing a new one", p.id, st.err)
                    p.memo_status = None
                else:
                    p.memo_status, p.memo_slot, p.updated_at = MEMO_LANDED, st.slot, now
                out[p.id] = p.memo_status or "failed"
                continue
            if chain.block_height() > (p.memo_last_valid_block_height or 0):
                p.memo_status = None  # expired without landing: the next pass signs a new one
                out[p.id] = "expired"
                continue
            txn = Transaction.from_bytes(base64.b64decode(p.memo_raw))
            try:
                chain.send(txn, [])
            except RpcUnavailable as exc:
                log.warning("cannot send the memo of %s now: %s", p.id, exc)
            except TransactionFailed as exc:
                if "already been processed" not in exc.message and "AlreadyProcessed" not in str(exc.err):
                    log.error("memo of %s refused: %s", p.id, exc.message)
            else:
                p.memo_status, p.updated_at = MEMO_SENT, now
            out[p.id] = p.memo_status or "unsigned"
    return out


# --- 3. inflows into the community treasury -----------------------------------------------------------------------


def book_inflows(session: Session, treasury: treasury_mod.Treasury, now: int) -> int:
    """Book every finalized IO transfer into the community treasury not booked yet; how many."""
    if treasury.grants is None:
        return 0
    io = treasury.currency("IO")
    specs = [
        ledger.EntrySpec(
            key=f"community_in:{t.signature}:{t.ix_path}",
            cause="community_in",
            cause_id=t.signature,
            legs=(
                ledger.debit(ledger.COMMUNITY_TREASURY, io.code, int(t.amount_raw)),
                ledger.credit(ledger.COMMUNITY_FUND, io.code, int(t.amount_raw)),
            ),
            memo=f"into the community treasury from {t.source}",
            chain=ledger.ChainLink(t.signature, t.ix_path, t.slot),
        )
        for t in repo.unbooked_inflows(session, treasury.grants.account, io.mint)
    ]
    if specs:
        ledger.post_many(session, specs, now)
    return len(specs)


# --- 4. and 6. executing grants -----------------------------------------------------------------------------------


def execute_grants(
    session: Session, treasury: treasury_mod.Treasury, balance: BalanceReader, now: int, result: PassResult
) -> None:
    """Sync executing grants with their transfer, then start the next due grant the treasury can pay."""
    in_flight = False
    for p in repo.in_state(session, [EXECUTING]):
        assert p.payout_id is not None
        t = transfers.get(session, p.payout_id, transfers.GRANT)
        if t.status == "finalized":
            p.state, p.updated_at, p.execution_note = COMPLETED, now, None
            result.completed.append(p.id)
        elif t.status == "failed":
            p.state, p.updated_at = SUCCEEDED, now
            p.execution_note = f"payment {t.id} failed; it is tried again"
        else:
            in_flight = True
    if in_flight or treasury.grants is None:
        return
    for p in repo.in_state(session, [SUCCEEDED]):
        if p.kind != GRANT or p.memo_status != MEMO_LANDED or now < p.voting_ends_at + p.hold_up_seconds:
            continue
        assert p.grant_amount is not None and p.grant_recipient is not None
        held = balance(treasury.grants.account)
        if p.grant_amount > held:
            p.execution_note = f"waiting for funds: the grants treasury holds {held}, the grant needs {p.grant_amount}"
            p.updated_at = now
            result.waiting[p.id] = p.execution_note
            continue
        t = transfers.plan_grant(
            session, treasury, proposal=p.id, recipient=p.grant_recipient, amount=p.grant_amount, now=now
        )
        p.payout_id, p.state, p.executed_at, p.execution_note, p.updated_at = t.id, EXECUTING, now, None, now
        result.executing.append(p.id)
        return  # one grant in flight at a time


def rpc_balance(client: Client) -> BalanceReader:
    """A token account's confirmed balance over JSON-RPC (0 when the account does not exist)."""

    def read(account: str) -> int:
        try:
            value = client.get_token_account_balance(Pubkey.from_string(account), Confirmed).value
        except Exception as exc:  # noqa: BLE001 - solana-py raises several types for a missing account / no RPC
            raise RpcUnavailable(f"cannot read the balance of {account}: {exc}") from exc
        return int(value.amount)

    return read


# --- the pass -----------------------------------------------------------------------------------------------------


def governance_pass(
    settings: Settings,
    clock: Clock = time.time,
    *,
    chain: ChainPort | None = None,
    balance: BalanceReader | None = None,
) -> PassResult:
    """Close, record memos, book inflows, execute grants, send (see the module docstring)."""
    from backend.settlement import tasks as settlement_tasks

    factory = _factory(settings.resolved_database_url)
    result = PassResult()
    with session_scope(factory) as session:
        result.closed = service.close_due(session, int(clock()))
    try:
        treasury = treasury_mod.load(settings)
    except AppError as exc:
        log.debug("no chain side for governance: %s", exc.message)
        return result
    if treasury.grants is None:
        return result
    client = None
    if chain is None or balance is None:
        client = Client(settings.rpc_url, timeout=30)
        chain = chain or RpcChain(client)
        balance = balance or rpc_balance(client)
    try:
        result.memos = record_memos(factory, chain, treasury.grants.keypair(), int(clock()))
        with session_scope(factory) as session:
            result.inflows_booked = book_inflows(session, treasury, int(clock()))
            execute_grants(session, treasury, balance, int(clock()), result)
        with session_scope(factory) as session:
            busy = bool(repo.in_state(session, [EXECUTING]))
        if busy:
            result.settlement = settlement_tasks.run_pass(settings, clock).as_dict()
            with session_scope(factory) as session:
                execute_grants(session, treasury, balance, int(clock()), result)
    finally:
        if client is not None:
            client._provider.session.close()
    if result.closed or result.executing or result.completed or result.waiting:
        log.info("governance pass: %s", result.as_dict())
    return result
