"""What the treasury sends (payouts, refunds, burns), exactly once.

Life of an item (a ``settlement_transfers`` row or a ``burns`` row):
1. **planned**: recorded with its ledger entry (balance -> ``payouts_pending``/``refunds_pending``/``burn_pending``);
   a transfer names a fresh reference key.
2. **packed**: several transfers per transaction (as many as fit in 1,232 bytes; a burn alone), signed with a fresh
   blockhash; the transaction (signature, blockhash, last valid block height, its bytes) is **committed before it is
   sent**. The items are ``sent`` from here on.
3. **sent**, then **landed** (seen confirmed) or **failed** (executed with an error, or refused by preflight: the
   items are voided by reversing entries and their amounts return to the balances).
4. **finalized**: the indexer saw the transfer (by its reference) or the burn (by its signature) finalized out of the
   treasury account, and the entry ``payout:<id>`` / ``refund:<id>`` / ``burn:<epoch>`` moves the pending amount
   out of ``treasury``.

After a crash anywhere (SIGKILL between send and record included), the next run looks each recorded transaction
up by signature: found, it is landed; not found and its blockhash still valid, the same bytes are sent again (same
signature: it cannot execute twice); not found and expired (the finalized block height is past its last valid
block height), its items' reference keys are looked up on chain, and only when nothing names them are the items
packed again under a new blockhash. So nothing is paid twice and nothing is lost.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from spl.token.instructions import BurnCheckedParams, burn_checked
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import ids
from backend.chain.tokens import create_ata_idempotent, memo_instruction, transfer_checked_ix
from backend.chain.treasury import Treasury
from backend.chain.tx import ChainError, RpcUnavailable, TransactionFailed
from backend.db import session_scope
from backend.ledger import service as ledger
from backend.models.indexer import FINALIZED as ROW_FINALIZED
from backend.models.indexer import TokenTransfer, TransferReference
from backend.models.settlement import (
    FAILED,
    FINALIZED,
    OPEN_TX_STATUSES,
    PLANNED,
    SENT,
    TX_EXPIRED,
    TX_FAILED,
    TX_FINALIZED,
    TX_LANDED,
    TX_SENT,
    TX_SIGNED,
    Burn,
    SettlementTransfer,
    SettlementTx,
)
from backend.settlement.chainport import ChainPort

log = logging.getLogger(__name__)

PACKET_BYTES = 1232
EVM_CURRENCY = "USDC-EVM"  # sent by backend.settlement.evm (the EVM sender), never packed here
REBROADCAST_SECONDS = 2
OPEN_TX = OPEN_TX_STATUSES
# Fault injection for the crash tests: SIGKILL between send and record, or between record and send.
KILL_AFTER_SEND, KILL_BEFORE_SEND = "kill-after-send", "kill-before-send"


@dataclass
class RunResult:
    """What one sender run did."""

    signed: list[str] = field(default_factory=list)
    sent: int = 0
    landed: int = 0
    failed: int = 0
    expired: int = 0
    rebroadcast: int = 0


def _pending_account(kind: str) -> str:
    return {"payout": ledger.PAYOUTS_PENDING, "grant": ledger.GRANTS_PENDING}.get(kind, ledger.REFUNDS_PENDING)


# --- sources: the treasury pays payouts and refunds; the community (grants) treasury pays grants -------------------


def source_of(item: SettlementTransfer, treasury: Treasury) -> tuple[str, str, str]:
    """(token account paid from, its owner who signs, ledger asset account) of a transfer of this kind."""
    if item.kind == "grant":
        if treasury.grants is None:
            raise ChainError("a grant to send, but the bootstrap file names no community treasury")
        return treasury.grants.account, treasury.grants.owner, ledger.COMMUNITY_TREASURY
    return treasury.currency(item.currency).account, treasury.owner, ledger.TREASURY


def _signer(owner: str, treasury: Treasury, keypair: Keypair) -> Keypair:
    if owner in (treasury.owner, str(keypair.pubkey())):
        return keypair
    if treasury.grants is not None and owner == treasury.grants.owner:
        return treasury.grants.keypair()  # loaded only when a grant is to be signed
    raise ChainError(f"no keypair of {owner} to sign with")


def void_transfer(session: Session, item: SettlementTransfer, now: int, why: str) -> None:
    """A transfer that will never happen: reverse its plan entry (the amount returns to the balance)."""
    item.status, item.updated_at = FAILED, now
    ledger.reverse(session, f"{item.kind}:{item.id}:plan", f"{item.kind}:{item.id}:void", item.kind, now, why)


def void_burn(session: Session, burn: Burn, now: int, why: str) -> None:
    """A burn that will never happen: reverse its plan entry (the next epoch's burn includes the amount)."""
    burn.status, burn.updated_at = FAILED, now
    ledger.reverse(session, f"burn:{burn.epoch}:plan", f"burn:{burn.epoch}:void", "burn", now, why)


def _items_of(session: Session, tx_id: str) -> tuple[list[SettlementTransfer], list[Burn]]:
    transfers = list(session.execute(select(SettlementTransfer).where(SettlementTransfer.tx_id == tx_id)).scalars())
    burns = list(session.execute(select(Burn).where(Burn.tx_id == tx_id)).scalars())
    return transfers, burns


# --- step 1: resolve what earlier runs recorded ------------------------------------------------------------------


def resolve(factory: sessionmaker[Session], chain: ChainPort, now: int) -> RunResult:
    """Look up every open transaction and move it on (landed, failed, re-broadcast, or expired and repacked)."""
    result = RunResult()
    with session_scope(factory) as session:
        open_txs = list(session.execute(select(SettlementTx).where(SettlementTx.status.in_(OPEN_TX))).scalars())
        if not open_txs:
            return result
        statuses = chain.statuses([t.signature for t in open_txs])
        height: int | None = None
        for txrow, st in zip(open_txs, statuses, strict=True):
            if st is not None:
                if st.err is not None:
                    _fail(session, txrow, now, f"executed with an error: {st.err}")
                    result.failed += 1
                elif txrow.status != TX_LANDED:
                    txrow.status, txrow.slot, txrow.updated_at = TX_LANDED, st.slot, now
                    result.landed += 1
                continue
            if txrow.status == TX_LANDED:
                continue  # seen before; a status the RPC no longer returns is not a reason to resend
            if height is None:
                height = chain.block_height()
            if height <= txrow.last_valid_block_height:
                if txrow.status == TX_SIGNED or now - (txrow.sent_at or 0) >= REBROADCAST_SECONDS:
                    if _send_row(session, chain, txrow, now):
                        result.rebroadcast += 1
                continue
            # Expired: it can no longer land. Unless something names its references, repack its items.
            transfers, burns = _items_of(session, txrow.id)
            if any(chain.reference_named(t.reference) for t in transfers):
                log.warning("tx %s expired but its references are on chain; waiting for the indexer", txrow.id)
                txrow.status, txrow.updated_at = TX_LANDED, now
                continue
            again = chain.statuses([txrow.signature])[0]
            if again is not None:
                continue  # it appeared meanwhile: the next run takes it as landed
            txrow.status, txrow.updated_at = TX_EXPIRED, now
            for t in transfers:
                t.status, t.tx_id, t.updated_at = PLANNED, None, now
            for b in burns:
                b.status, b.tx_id, b.updated_at = PLANNED, None, now
            result.expired += 1
    return result


def _fail(session: Session, txrow: SettlementTx, now: int, why: str) -> None:
    txrow.status, txrow.error, txrow.updated_at = TX_FAILED, why[:2000], now
    transfers, burns = _items_of(session, txrow.id)
    for t in transfers:
        if t.status != FINALIZED:
            void_transfer(session, t, now, why[:200])
    for b in burns:
        if b.status != FINALIZED:
            void_burn(session, b, now, why[:200])


def _send_row(session: Session, chain: ChainPort, txrow: SettlementTx, now: int) -> bool:
    """Send (or re-send) the recorded bytes of a transaction; False when the cluster could not be reached."""
    txn = Transaction.from_bytes(base64.b64decode(txrow.raw))
    try:
        chain.send(txn, [])
    except RpcUnavailable as exc:
        log.warning("cannot send tx %s now: %s", txrow.id, exc)
        return False
    except TransactionFailed as exc:
        text = f"{exc.message} {exc.err}"
        if "AlreadyProcessed" in text or "already been processed" in text:
            return True  # it landed: the next resolve sees its status
        st = chain.statuses([txrow.signature])[0]
        if st is None:
            _fail(session, txrow, now, f"refused by the cluster: {exc.message}")
        return False
    txrow.status = TX_SENT if txrow.status == TX_SIGNED else txrow.status
    txrow.sent_at, txrow.updated_at = now, now
    return True


# --- step 2: pack planned items into recorded, signed transactions ----------------------------------------------


def _transfer_ixs(item: SettlementTransfer, treasury: Treasury, owner: Pubkey) -> list[Instruction]:
    cur = treasury.currency(item.currency)
    mint = Pubkey.from_string(cur.mint)
    return [
        create_ata_idempotent(owner, Pubkey.from_string(item.owner), mint),
        transfer_checked_ix(
            Pubkey.from_string(source_of(item, treasury)[0]),
            mint,
            Pubkey.from_string(item.destination),
            owner,
            item.amount,
            cur.decimals,
            [Pubkey.from_string(item.reference)],
        ),
    ]


def burn_ixs(burn: Burn, treasury: Treasury, owner: Pubkey) -> list[Instruction]:
    """``burnChecked`` of the burn's amount from the treasury's IO account, and a memo naming the epoch."""
    cur = treasury.currency(burn.currency)
    params = BurnCheckedParams(
        program_id=ids.TOKEN_PROGRAM_ID,
        mint=Pubkey.from_string(cur.mint),
        account=Pubkey.from_string(cur.account),
        owner=owner,
        amount=burn.amount,
        decimals=cur.decimals,
    )
    return [burn_checked(params), memo_instruction(f"iog burn epoch {burn.epoch}")]


def _size(ixs: Sequence[Instruction], payer: Pubkey) -> int:
    return len(bytes(Transaction.new_unsigned(Message.new_with_blockhash(list(ixs), payer, Hash.default()))))


def pack(transfers: Sequence[SettlementTransfer], treasury: Treasury, owner: Pubkey) -> list[list[SettlementTransfer]]:
    """Group transfers into transactions of at most 1,232 bytes (greedy, in order)."""
    groups: list[list[SettlementTransfer]] = []
    current: list[SettlementTransfer] = []
    ixs: list[Instruction] = []
    for item in transfers:
        mine = _transfer_ixs(item, treasury, owner)
        if current and _size([*ixs, *mine], owner) > PACKET_BYTES:
            groups.append(current)
            current, ixs = [], []
        current.append(item)
        ixs.extend(mine)
    if current:
        groups.append(current)
    return groups


def record(
    factory: sessionmaker[Session], chain: ChainPort, treasury: Treasury, keypair: Keypair, now: int
) -> list[str]:
    """Sign every planned item into transactions and commit them before anything is sent; their ids. Transfers
    are packed per source (one signer and fee payer per transaction: the treasury, or the governance authority for
    grants)."""
    owner = keypair.pubkey()
    tx_ids: list[str] = []
    with session_scope(factory) as session:
        transfers = list(
            session.execute(
                select(SettlementTransfer)
                .where(SettlementTransfer.status == PLANNED, SettlementTransfer.currency != EVM_CURRENCY)
                .order_by(SettlementTransfer.created_at, SettlementTransfer.id)
            ).scalars()
        )
        burns = list(session.execute(select(Burn).where(Burn.status == PLANNED).order_by(Burn.epoch)).scalars())
        if not transfers and not burns:
            return []
        blockhash, last_valid = chain.latest_blockhash()
        by_source: dict[str, list[SettlementTransfer]] = {}
        for t in transfers:
            by_source.setdefault(source_of(t, treasury)[1], []).append(t)
        batches: list[tuple[str, Keypair, list[Instruction], list[SettlementTransfer | Burn]]] = []
        for source_owner, items_of in by_source.items():
            signer = _signer(source_owner, treasury, keypair)
            batches += [
                ("transfers", signer, [ix for t in group for ix in _transfer_ixs(t, treasury, signer.pubkey())],
                 list(group))
                for group in pack(items_of, treasury, signer.pubkey())
            ]  # fmt: skip
        batches += [("burn", keypair, burn_ixs(b, treasury, owner), [b]) for b in burns]
        for kind, signer, ixs, items in batches:
            payer = signer.pubkey()
            txn = Transaction([signer], Message.new_with_blockhash(ixs, payer, blockhash), blockhash)
            if len(bytes(txn)) > PACKET_BYTES:
                raise ChainError(f"a {kind} transaction of {len(bytes(txn))} bytes does not fit {PACKET_BYTES}")
            row = SettlementTx(
                id="stx_" + secrets.token_hex(10),
                kind=kind,
                status=TX_SIGNED,
                signature=str(txn.signatures[0]),
                blockhash=str(blockhash),
                last_valid_block_height=last_valid,
                raw=base64.b64encode(bytes(txn)).decode(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            for item in items:
                item.tx_id, item.status, item.updated_at = row.id, SENT, now
            tx_ids.append(row.id)
    return tx_ids


# --- step 3: send what was recorded -----------------------------------------------------------------------------


def send_recorded(
    factory: sessionmaker[Session], chain: ChainPort, tx_ids: Sequence[str], now: int, fault: str | None = None
) -> int:
    """Send recorded transactions, committing ``sent`` after each; returns how many were sent."""
    sent = 0
    for tx_id in tx_ids:
        with session_scope(factory) as session:
            row = session.get(SettlementTx, tx_id)
            if row is None or row.status != TX_SIGNED:
                continue
            txn = Transaction.from_bytes(base64.b64decode(row.raw))
            if fault == KILL_BEFORE_SEND:
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                chain.send(txn, [])
            except RpcUnavailable as exc:
                log.warning("cannot send tx %s now (the next run resolves it): %s", tx_id, exc)
                continue
            except TransactionFailed as exc:
                if chain.statuses([row.signature])[0] is None:
                    _fail(session, row, now, f"refused by the cluster: {exc.message}")
                continue
            if fault == KILL_AFTER_SEND:
                os.kill(os.getpid(), signal.SIGKILL)  # the crash test: sent, not recorded as sent
            row.status, row.sent_at, row.updated_at = TX_SENT, now, now
            sent += 1
    return sent


def run(
    factory: sessionmaker[Session],
    chain: ChainPort,
    treasury: Treasury,
    keypair: Keypair,
    clock: Callable[[], float],
    fault: str | None = None,
) -> RunResult:
    """Resolve earlier transactions, record new ones for planned items, send them (hold the settlement lock)."""
    result = resolve(factory, chain, int(clock()))
    result.signed = record(factory, chain, treasury, keypair, int(clock()))
    result.sent = send_recorded(factory, chain, result.signed, int(clock()), fault)
    return result


# --- step 4: book at finalized ------------------------------------------------------------------------------------


def book_finalized(session: Session, treasury: Treasury, now: int) -> int:
    """Book the payouts, refunds and burns the indexer saw finalized out of the treasury; returns entries posted."""
    specs: list[ledger.EntrySpec] = []
    t, r = TokenTransfer, TransferReference
    rows = session.execute(
        select(SettlementTransfer, t)
        .join(r, r.reference == SettlementTransfer.reference)
        .join(t, and_(t.signature == r.signature, t.ix_path == r.ix_path))
        .where(
            SettlementTransfer.status.in_([PLANNED, SENT]),
            t.status == ROW_FINALIZED,
            t.failed.is_(False),
        )
    ).all()
    for item, tr in rows:
        cur = treasury.currency(item.currency)
        source, _owner, asset = source_of(item, treasury)
        expected = (source, item.destination, cur.mint, item.amount)
        if (tr.source, tr.destination, tr.mint, int(tr.amount_raw)) != expected:
            log.error("transfer %s/%s names %s but does not match it; not booked", tr.signature, tr.ix_path, item.id)
            continue
        specs.append(
            ledger.EntrySpec(
                key=f"{item.kind}:{item.id}",
                cause=item.kind,
                cause_id=item.id,
                legs=(
                    ledger.debit(_pending_account(item.kind), item.currency, item.amount),
                    ledger.credit(asset, item.currency, item.amount),
                ),
                memo=f"{item.kind} to {item.owner}",
                chain=ledger.ChainLink(tr.signature, tr.ix_path, tr.slot),
            )
        )
        item.status, item.signature, item.slot, item.updated_at = FINALIZED, tr.signature, tr.slot, now
    burn_rows = session.execute(
        select(Burn, t)
        .join(SettlementTx, SettlementTx.id == Burn.tx_id)
        .join(t, t.signature == SettlementTx.signature)
        .where(Burn.status == SENT, t.kind == "burn", t.status == ROW_FINALIZED, t.failed.is_(False))
    ).all()
    for burn, tr in burn_rows:
        cur = treasury.currency(burn.currency)
        if (tr.source, tr.mint, int(tr.amount_raw)) != (cur.account, cur.mint, burn.amount):
            log.error("burn %s/%s of epoch %s does not match it; not booked", tr.signature, tr.ix_path, burn.epoch)
            continue
        specs.append(
            ledger.EntrySpec(
                key=f"burn:{burn.epoch}",
                cause="burn",
                cause_id=str(burn.epoch),
                legs=(
                    ledger.debit(ledger.BURN_PENDING, burn.currency, burn.amount),
                    ledger.credit(ledger.TREASURY, burn.currency, burn.amount),
                ),
                memo=f"burn of epoch {burn.epoch}",
                chain=ledger.ChainLink(tr.signature, tr.ix_path, tr.slot),
            )
        )
        burn.status, burn.signature, burn.slot, burn.updated_at = FINALIZED, tr.signature, tr.slot, now
    if specs:
        ledger.post_many(session, specs, now)
        session.flush()
        _finalize_txs(session, now)
    return len(specs)


def _finalize_txs(session: Session, now: int) -> None:
    for txrow in session.execute(select(SettlementTx).where(SettlementTx.status.in_(OPEN_TX))).scalars():
        transfers, burns = _items_of(session, txrow.id)
        statuses = [t.status for t in transfers] + [b.status for b in burns]
        if statuses and all(s in (FINALIZED, FAILED) for s in statuses):
            txrow.status, txrow.updated_at = TX_FINALIZED, now
