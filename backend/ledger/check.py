"""``iog ledger check`` / ``GET /ledger/check``: the books against themselves and against the chain.

Per currency it checks:
1. every entry balances (also enforced by the database; this finds anything that slipped past, e.g. a restore);
2. the book ``treasury`` as of the indexer's finalized slot S (entries booking chain movements at or below S)
   equals the treasury token account's balance on chain at S, read from the chain itself (its finalized balance
   minus what each finalized transaction after S changed);
3. the accounting identity: treasury = liabilities + income + equity (``burn_pending``, fee income set aside for
   a burn that is not finalized yet, counts as income until the burn books ``burn_pending -> treasury``).

The community (grants) book (``community:*``, shown as ``IO community``) is checked the same way on its own: the
book ``community:treasury`` as of the indexer's finalized slot equals the community treasury's token account on
chain at that slot, and ``community:treasury`` = ``community:grants_pending`` + ``community:fund``.

On the EVM rail (currency ``USDC-EVM``, when configured) the same, at the EVM indexer's confirmed head B: the book
``treasury`` from entries booking movements in blocks <= B equals ``balanceOf(treasury)`` at B
(:func:`backend.evm.service.treasury_check`). An unconfigured rail is a note, not a difference.

Anything else is reported as a difference with both numbers; payouts do not run while one is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.chain.history import BalanceAt, JsonRpc, balance_at
from backend.chain.treasury import Treasury
from backend.errors import AppError
from backend.evm import service as evm_service
from backend.ledger.service import (
    COMMUNITY_BOOK,
    COMMUNITY_FUND,
    COMMUNITY_TREASURY,
    GRANTS_PENDING,
    TREASURY,
    UNEXPLAINED,
    normal_balance,
)
from backend.models.indexer import FINALIZED, IndexerCursor, TokenTransfer
from backend.models.ledger import ASSET, EQUITY, INCOME, LIABILITY, LedgerAccount, LedgerEntry, LedgerPosting


@dataclass
class CurrencyReport:
    """The check of one currency."""

    currency: str
    account: str
    as_of_slot: int | None
    book_treasury: int | None = None  # as of the slot
    chain_treasury: int | None = None
    replayed: int = 0
    unbooked: int = 0  # finalized treasury transfers at or below the slot with no entry
    treasury: int = 0  # every entry
    liabilities: int = 0
    income: int = 0
    equity: int = 0
    unexplained: int = 0
    as_of_block: int | None = None  # the EVM rail: its confirmed head (as_of_slot is None)


@dataclass
class Report:
    """The whole check; ``ok`` when ``differences`` is empty."""

    currencies: list[CurrencyReport] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not checked and why (not a failure)
    entries: int = 0
    postings: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def transient(self) -> bool:
        """True when every difference may clear by itself (bookings or the indexer catching up)."""
        return bool(self.differences) and all(d.startswith("pending:") for d in self.differences)


def unbalanced_entries(session: Session, limit: int = 20) -> list[tuple[int, str, int]]:
    """(entry id, currency, sum) of entries whose postings do not sum to zero in a currency."""
    q = (
        select(LedgerPosting.entry_id, LedgerPosting.currency, func.sum(LedgerPosting.amount))
        .group_by(LedgerPosting.entry_id, LedgerPosting.currency)
        .having(func.sum(LedgerPosting.amount) != 0)
        .limit(limit)
    )
    return [(int(e), c, int(s)) for e, c, s in session.execute(q)]


def short_entries(session: Session, limit: int = 20) -> list[int]:
    """Entries with no posting at all (an entry with one posting cannot balance: postings are never zero, so it is
    among :func:`unbalanced_entries` already)."""
    has = select(LedgerPosting.entry_id).where(LedgerPosting.entry_id == LedgerEntry.id).exists()
    return [int(i) for i in session.execute(select(LedgerEntry.id).where(~has).limit(limit)).scalars()]


def _sums_by_kind(session: Session) -> dict[tuple[str, str, str], int]:
    """Signed sums per (currency, kind, name-class) where name-class distinguishes treasury and unexplained.

    One aggregate of the postings by account (no join: the few accounts are mapped afterwards)."""
    per_account = dict(
        session.execute(
            select(LedgerPosting.account_id, func.sum(LedgerPosting.amount)).group_by(LedgerPosting.account_id)
        ).all()
    )
    out: dict[tuple[str, str, str], int] = {}
    if not per_account:
        return out
    accounts = session.execute(select(LedgerAccount.id, LedgerAccount.currency, LedgerAccount.kind, LedgerAccount.name))
    for id_, cur, kind, name in accounts:
        if id_ not in per_account or (kind == ASSET and name != TREASURY) or name.startswith(COMMUNITY_BOOK):
            continue
        cls = name if name in (TREASURY, UNEXPLAINED) else ""
        out[(cur, kind, cls)] = out.get((cur, kind, cls), 0) + int(per_account[id_])
    return out


def other_assets(session: Session) -> list[str]:
    """Asset accounts other than ``treasury`` (the chart has none; one would break the identity's meaning)."""
    q = select(LedgerAccount.name).where(
        LedgerAccount.kind == ASSET,
        LedgerAccount.name != TREASURY,
        ~LedgerAccount.name.startswith(COMMUNITY_BOOK, autoescape=True),
    ).distinct()
    return list(session.execute(q).scalars())


def book_treasury_at(
    session: Session, currency: str, slot: int, total: int, account: str = TREASURY
) -> tuple[int, int]:
    """(signed sum of ``account``'s postings of entries at or below ``slot``, its postings without a slot), from the
    signed ``total`` of every posting on it minus those booked after ``slot`` (few: read through the slot index)."""
    treasury = select(LedgerAccount.id).where(LedgerAccount.name == account, LedgerAccount.currency == currency)
    on_treasury = LedgerPosting.account_id.in_(treasury.scalar_subquery())
    joined = select(func.coalesce(func.sum(LedgerPosting.amount), 0), func.count()).join(
        LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id
    )
    later = session.execute(joined.where(on_treasury, LedgerEntry.slot > slot)).one()
    unslotted = session.execute(joined.where(on_treasury, LedgerEntry.slot.is_(None))).one()
    return total - int(later[0]) - int(unslotted[0]), int(unslotted[1])


def unbooked_transfers(session: Session, account: str, slot: int) -> int:
    """Finalized, successful transfers in or out of ``account`` at or below ``slot`` that no entry books."""
    t = TokenTransfer
    q = (
        select(func.count())
        .select_from(t)
        .join(
            LedgerEntry,
            and_(LedgerEntry.signature == t.signature, LedgerEntry.ix_path == t.ix_path),
            isouter=True,
        )
        .where(
            or_(t.source == account, t.destination == account),
            t.status == FINALIZED,
            t.failed.is_(False),
            t.slot <= slot,
            LedgerEntry.id.is_(None),
        )
    )
    return int(session.execute(q).scalar_one())


def synced_slot(session: Session, account: str) -> int | None:
    """The finalized slot the indexer has read ``account`` through (None before its first pass)."""
    row = session.get(IndexerCursor, account)
    return int(row.synced_slot) if row is not None and row.synced_slot else None


#: How the check reads the chain: a token account's balance at a finalized slot.
BalanceReader = Callable[[str, int], BalanceAt]


def rpc_reader(rpc: JsonRpc) -> BalanceReader:
    """The chain as JSON-RPC shows it (:func:`backend.chain.history.balance_at`)."""
    return lambda account, slot: balance_at(rpc, account, slot)


@dataclass(frozen=True)
class EvmTreasury:
    """The EVM treasury as the EVM rail sees it at its confirmed head (``block`` None: not that deep yet)."""

    currency: str
    address: str
    block: int | None
    chain_balance: int | None = None
    indexed_balance: int | None = None
    error: str | None = None
    unbooked: int = 0  # confirmed treasury movements at or below ``block`` that no entry books yet


def unbooked_evm_flows(session: Session, flows: list[evm_service.Flow]) -> int:
    """How many of these EVM movements no entry books (entries link (tx hash, log index) like (signature, ix))."""
    keys = {(f.tx_hash, str(f.log_index)) for f in flows}
    hashes = sorted({h for h, _ in keys})
    booked: set[tuple[str, str]] = set()
    for i in range(0, len(hashes), 500):
        rows = session.execute(select(LedgerEntry.signature, LedgerEntry.ix_path)
                               .where(LedgerEntry.signature.in_(hashes[i:i + 500])))
        booked.update((str(a), str(b)) for a, b in rows)
    return len(keys - booked)


def evm_treasury(session: Session, rail: evm_service.Rail | None, where: str = "") -> EvmTreasury | str:
    """What :func:`check` compares on the EVM rail, or a note when the rail is not configured."""
    cur = evm_service.EVM_CURRENCY
    if rail is None:
        return f"{cur}: the EVM rail is not configured (no EVM bootstrap file{' at ' + where if where else ''}): " \
               "not checked"
    try:
        tc = evm_service.treasury_check(session, rail.client, rail.watch, rail.confirmations)
    except AppError as exc:
        return EvmTreasury(cur, rail.watch.treasury, None, error=exc.message)
    if tc is None:
        return EvmTreasury(cur, rail.watch.treasury, None)
    _, flows = evm_service.treasury_flows(session, rail.watch, rail.confirmations, rail.watch.start_block - 1)
    unbooked = unbooked_evm_flows(session, [f for f in flows if f.block_number <= tc.block])
    return EvmTreasury(cur, rail.watch.treasury, tc.block, tc.chain_balance, tc.indexed_balance, unbooked=unbooked)


def check(
    session: Session, treasury: Treasury, chain: JsonRpc | BalanceReader | None,
    evm: EvmTreasury | str | None = None,
) -> Report:
    """Run every check; ``chain`` None skips the chain comparison (reported as a difference); ``evm`` adds the EVM
    rail (a string: the note saying why it is not checked)."""
    read = rpc_reader(chain) if isinstance(chain, JsonRpc) else chain
    report = Report()
    report.entries = int(session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one())
    report.postings = int(session.execute(select(func.count()).select_from(LedgerPosting)).scalar_one())
    for eid, code, total in unbalanced_entries(session):
        report.differences.append(f"entry {eid} does not balance in {code}: postings sum to {total}")
    for eid in short_entries(session):
        report.differences.append(f"entry {eid} has fewer than two postings")
    for name in other_assets(session):
        report.differences.append(f"asset account {name!r} outside the chart of accounts")
    sums = _sums_by_kind(session)
    for cur in treasury.currencies.values():
        r = CurrencyReport(cur.code, cur.account, synced_slot(session, cur.account))
        report.currencies.append(r)
        r.treasury = normal_balance(ASSET, sums.get((cur.code, ASSET, TREASURY), 0))
        r.liabilities = normal_balance(LIABILITY, sums.get((cur.code, LIABILITY, ""), 0))
        r.income = normal_balance(INCOME, sums.get((cur.code, INCOME, ""), 0))
        r.unexplained = normal_balance(EQUITY, sums.get((cur.code, EQUITY, UNEXPLAINED), 0))
        r.equity = normal_balance(EQUITY, sums.get((cur.code, EQUITY, ""), 0)) + r.unexplained
        if r.treasury != r.liabilities + r.income + r.equity:
            report.differences.append(
                f"{cur.code}: treasury {r.treasury} != liabilities {r.liabilities} + income {r.income} "
                f"+ equity {r.equity}"
            )
        if r.unexplained:
            report.warnings.append(
                f"{cur.code}: {-r.unexplained} base units left the treasury without a cause of ours "
                f"(booked to {UNEXPLAINED})"
            )
        _against_chain(session, report, read, r, cur.code, sums.get((cur.code, ASSET, TREASURY), 0), TREASURY)
    if treasury.grants is not None:
        _check_community(session, report, read, treasury.grants.account, treasury.currency("IO").code)
    if isinstance(evm, str):
        report.notes.append(evm)
    elif evm is not None:
        _check_evm(session, report, sums, evm)
    return report


def _check_community(
    session: Session, report: Report, read: BalanceReader | None, account: str, code: str
) -> None:
    """The community (grants) book against the community treasury's token account, like a currency's treasury:
    ``community:treasury`` as of the indexer's finalized slot == the account's balance on chain at that slot, and
    ``community:treasury`` = ``community:fund`` + ``community:grants_pending``."""
    label = f"{code} community"
    r = CurrencyReport(label, account, synced_slot(session, account))
    report.currencies.append(r)
    total = _account_sum(session, COMMUNITY_TREASURY, code)
    r.treasury = normal_balance(ASSET, total)
    r.liabilities = normal_balance(LIABILITY, _account_sum(session, GRANTS_PENDING, code))
    r.equity = normal_balance(EQUITY, _account_sum(session, COMMUNITY_FUND, code))
    if r.treasury != r.liabilities + r.equity:
        report.differences.append(
            f"{label}: treasury {r.treasury} != grants pending {r.liabilities} + fund {r.equity}"
        )
    _against_chain(session, report, read, r, code, total, COMMUNITY_TREASURY)


def _against_chain(
    session: Session, report: Report, read: BalanceReader | None, r: CurrencyReport, code: str, total: int,
    account: str,
) -> None:
    """The book asset ``account`` in ``code`` (signed ``total`` of all its postings) as of the indexer's finalized
    slot for ``r.account`` against that token account's balance on chain at the slot; differences in ``report``
    under ``r.currency``."""
    label = r.currency
    if r.as_of_slot is None:
        report.differences.append(f"pending: {label}: the indexer has not read {r.account} yet")
        return
    book, unslotted = book_treasury_at(session, code, r.as_of_slot, total, account)
    r.book_treasury = normal_balance(ASSET, book)
    if unslotted:
        report.differences.append(f"{label}: {unslotted} treasury postings name no chain slot")
    r.unbooked = unbooked_transfers(session, r.account, r.as_of_slot)
    if read is None:
        report.differences.append(f"{label}: no RPC to compare the treasury with the chain")
        return
    try:
        at: BalanceAt = read(r.account, r.as_of_slot)
    except AppError as exc:
        report.differences.append(f"{label}: cannot read the chain balance at slot {r.as_of_slot}: {exc}")
        return
    r.chain_treasury, r.replayed = at.amount, at.replayed
    if r.book_treasury != r.chain_treasury:
        pending = "pending: " if r.unbooked else ""
        why = f" ({r.unbooked} finalized transfers not booked yet)" if r.unbooked else ""
        report.differences.append(
            f"{pending}{label}: book treasury {r.book_treasury} != chain {r.chain_treasury} "
            f"at slot {r.as_of_slot}{why}"
        )


def _account_sum(session: Session, name: str, currency: str) -> int:
    """Signed sum of every posting on the account ``name`` in ``currency``."""
    q = (
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerAccount.name == name, LedgerAccount.currency == currency)
    )
    return int(session.execute(q).scalar_one())


def _check_evm(session: Session, report: Report, sums: dict[tuple[str, str, str], int], evm: EvmTreasury) -> None:
    code = evm.currency
    r = CurrencyReport(code, evm.address, None, as_of_block=evm.block, unbooked=evm.unbooked)
    report.currencies.append(r)
    r.treasury = normal_balance(ASSET, sums.get((code, ASSET, TREASURY), 0))
    r.liabilities = normal_balance(LIABILITY, sums.get((code, LIABILITY, ""), 0))
    r.income = normal_balance(INCOME, sums.get((code, INCOME, ""), 0))
    r.unexplained = normal_balance(EQUITY, sums.get((code, EQUITY, UNEXPLAINED), 0))
    r.equity = normal_balance(EQUITY, sums.get((code, EQUITY, ""), 0)) + r.unexplained
    if r.treasury != r.liabilities + r.income + r.equity:
        report.differences.append(
            f"{code}: treasury {r.treasury} != liabilities {r.liabilities} + income {r.income} + equity {r.equity}"
        )
    if r.unexplained:
        report.warnings.append(f"{code}: {-r.unexplained} base units left the EVM treasury without a cause of ours "
                               f"(booked to {UNEXPLAINED})")
    if evm.error is not None:
        report.differences.append(f"{code}: cannot read the EVM treasury: {evm.error}")
        return
    if evm.block is None or evm.chain_balance is None:
        report.differences.append(f"pending: {code}: the EVM indexer has not read enough blocks to confirm any yet")
        return
    book, unslotted = book_treasury_at(session, code, evm.block, sums.get((code, ASSET, TREASURY), 0))
    r.book_treasury, r.chain_treasury = normal_balance(ASSET, book), evm.chain_balance
    if unslotted:
        report.differences.append(f"{code}: {unslotted} treasury postings name no chain block")
    if r.book_treasury != r.chain_treasury:
        # Confirmed movements not booked yet: the settlement pass is catching up (it clears by itself).
        pending = "pending: " if evm.unbooked else ""
        why = f"; {evm.unbooked} confirmed movements not booked yet" if evm.unbooked else ""
        report.differences.append(
            f"{pending}{code}: book treasury {r.book_treasury} != balanceOf(treasury) {r.chain_treasury} "
            f"at block {evm.block} (indexed flows say {evm.indexed_balance}{why})"
        )
