"""Posting to the double-entry ledger and reading balances. Services never commit: the caller owns the transaction.

Accounts are named by their role and owner and exist once per currency:

| account | kind | holds |
|---|---|---|
| ``treasury`` | asset | the treasury's token account of the currency on chain |
| ``buyer:<wallet>`` | liability | a buyer's prepaid balance (refundable) |
| ``buyer_reserved:<wallet>`` | liability | budget held for the buyer's running jobs |
| ``provider:<operator>`` | liability | earned by an operator, not paid out yet |
| ``payouts_pending`` / ``refunds_pending`` | liability | recorded treasury transfers not finalized yet |
| ``fees`` | income | fee income |
| ``burn_pending`` | income | fee income set aside for a burn not finalized yet |
| ``unmatched:<address>`` | liability | USDC-EVM received naming no invoice of ours, owed back to its sender |
| ``equity:unexplained`` | equity | treasury outflows that no cause of ours explains (shown by the check) |

The community (grants) treasury is a second book beside the treasury's (its own asset, so the treasury identity
of :mod:`backend.ledger.check` leaves it out):

| account | kind | holds |
|---|---|---|
| ``community:treasury`` | asset | the community treasury's IO token account on chain |
| ``community:fund`` | equity | what came in (epochs' community shares) and is not granted yet |
| ``community:grants_pending`` | liability | grants recorded, not finalized yet |

Amounts are signed base units, debit > 0 and credit < 0; an entry's postings sum to zero per currency. Every
entry has an idempotency key from its cause (``payment:<signature>:<ix>``, ``usage:<job>:<period>``,
``payout:<id>``...): posting the same key again with the same postings is a no-op, with others a
:class:`IdempotencyConflict`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.errors import AppError, Conflict
from backend.models.ledger import ASSET, EQUITY, INCOME, LIABILITY, LedgerAccount, LedgerEntry, LedgerPosting

_POSTINGS: Table = LedgerPosting.__table__  # type: ignore[assignment]
_ENTRIES: Table = LedgerEntry.__table__  # type: ignore[assignment]

TREASURY = "treasury"
FEES = "fees"
BURN_PENDING = "burn_pending"
PAYOUTS_PENDING = "payouts_pending"
REFUNDS_PENDING = "refunds_pending"
UNEXPLAINED = "equity:unexplained"
COMMUNITY_TREASURY = "community:treasury"
COMMUNITY_FUND = "community:fund"
GRANTS_PENDING = "community:grants_pending"
#: Accounts of the community book (outside the treasury identity).
COMMUNITY_BOOK = "community:"

_KINDS = {
    TREASURY: ASSET,
    FEES: INCOME,
    BURN_PENDING: INCOME,
    PAYOUTS_PENDING: LIABILITY,
    REFUNDS_PENDING: LIABILITY,
    COMMUNITY_TREASURY: ASSET,
    COMMUNITY_FUND: EQUITY,
    GRANTS_PENDING: LIABILITY,
}
_PREFIX_KINDS = {
    "buyer": LIABILITY, "buyer_reserved": LIABILITY, "provider": LIABILITY, "unmatched": LIABILITY, "equity": EQUITY,
}


class LedgerError(AppError):
    """A posting the ledger refuses (a bug in the caller: it never reaches the database)."""

    status_code = 500


class IdempotencyConflict(Conflict):
    """The idempotency key was already used for different postings."""


def buyer(wallet: str) -> str:
    """A buyer's prepaid balance."""
    return f"buyer:{wallet}"


def buyer_reserved(wallet: str) -> str:
    """A buyer's budget held for running jobs."""
    return f"buyer_reserved:{wallet}"


def unmatched(address: str) -> str:
    """Money received from ``address`` that names no invoice of ours (EVM rail): owed back to it."""
    return f"unmatched:{address}"


def provider(operator: str) -> str:
    """An operator's earnings not paid out yet."""
    return f"provider:{operator}"


def kind_of(name: str) -> str:
    """The kind of an account name; ``LedgerError`` for a name outside the chart of accounts."""
    if name in _KINDS:
        return _KINDS[name]
    prefix, sep, owner = name.partition(":")
    if sep and owner and prefix in _PREFIX_KINDS:
        return _PREFIX_KINDS[prefix]
    raise LedgerError(f"{name!r} is not an account of the chart of accounts")


def normal_balance(kind: str, raw: int) -> int:
    """The balance on the account's normal side (debit for assets, credit for the rest) from the signed sum."""
    return raw if kind == ASSET else -raw


@dataclass(frozen=True)
class Leg:
    """One side of an entry: ``amount`` signed base units on ``account`` in ``currency`` (debit > 0)."""

    account: str
    currency: str
    amount: int


def debit(account: str, currency: str, amount: int) -> Leg:
    """A debit of ``amount`` (>= 0) base units."""
    return Leg(account, currency, amount)


def credit(account: str, currency: str, amount: int) -> Leg:
    """A credit of ``amount`` (>= 0) base units."""
    return Leg(account, currency, -amount)


@dataclass(frozen=True)
class ChainLink:
    """The chain movement an entry books: one transfer instruction of one transaction, at its slot."""

    signature: str
    ix_path: str
    slot: int


@dataclass(frozen=True)
class EntrySpec:
    """An entry to post."""

    key: str
    cause: str
    cause_id: str
    legs: tuple[Leg, ...]
    memo: str | None = None
    chain: ChainLink | None = None
    reverses: int | None = None


def entry_id(key: str) -> int:
    """The entry id of an idempotency key: the first 63 bits of its sha256 (never 0)."""
    return (int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") & (2**63 - 1)) or 1


def _legs(spec: EntrySpec) -> list[Leg]:
    legs = [leg for leg in spec.legs if leg.amount != 0]
    for leg in legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int):
            raise LedgerError(f"{spec.key}: amounts are int base units, got {leg.amount!r}")
        kind_of(leg.account)
    sums: dict[str, int] = defaultdict(int)
    for leg in legs:
        sums[leg.currency] += leg.amount
    bad = {c: s for c, s in sums.items() if s != 0}
    if bad:
        raise LedgerError(f"{spec.key}: postings do not balance: {bad}")
    if legs and len(legs) < 2:
        raise LedgerError(f"{spec.key}: an entry needs at least two postings")
    return legs


def _insert(session: Session, table: type) -> object:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def account_ids(session: Session, pairs: Iterable[tuple[str, str]], now: int) -> dict[tuple[str, str], int]:
    """Ids of the (name, currency) accounts, creating the missing ones."""
    wanted = set(pairs)
    if not wanted:
        return {}
    names = {n for n, _ in wanted}
    found: dict[tuple[str, str], int] = {}

    def load() -> None:
        for chunk in _chunks(sorted(names), 500):
            rows = session.execute(
                select(LedgerAccount.id, LedgerAccount.name, LedgerAccount.currency).where(
                    LedgerAccount.name.in_(chunk)
                )
            )
            for id_, name, cur in rows:
                found[(name, cur)] = id_

    load()
    missing = wanted - set(found)
    if missing:
        rows = [{"name": n, "currency": c, "kind": kind_of(n), "created_at": now} for n, c in sorted(missing)]
        stmt = _insert(session, LedgerAccount)
        session.execute(stmt.values(rows).on_conflict_do_nothing())  # type: ignore[attr-defined]
        load()
    return {p: found[p] for p in wanted}


def _chunks(items: Sequence[object], n: int) -> Iterable[Sequence[object]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _existing(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """Postings (account, currency, amount) of the entries among ``ids`` that exist."""
    out: dict[int, list[tuple[str, str, int]]] = {}
    for chunk in _chunks(ids, 500):
        present = session.execute(select(LedgerEntry.id).where(LedgerEntry.id.in_(chunk))).scalars().all()
        if not present:
            continue
        rows = session.execute(
            select(LedgerPosting.entry_id, LedgerAccount.name, LedgerPosting.currency, LedgerPosting.amount)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerPosting.entry_id.in_(present))
        )
        for eid in present:
            out[eid] = []
        for eid, name, cur, amount in rows:
            out[eid].append((name, cur, int(amount)))
    return out


def post_many(session: Session, specs: Sequence[EntrySpec], now: int) -> list[int | None]:
    """Post entries (postings first, then the entry row that seals them); ids in order, None for an entry whose
    legs are all zero. Keys already posted with the same postings are skipped; with others they raise."""
    prepared: list[tuple[EntrySpec, list[Leg], int]] = []
    seen: dict[int, str] = {}
    for spec in specs:
        legs = _legs(spec)
        if not legs:
            continue
        eid = entry_id(spec.key)
        if eid in seen:
            if seen[eid] != spec.key:
                raise LedgerError(f"entry id collision between {seen[eid]!r} and {spec.key!r}")
            raise LedgerError(f"{spec.key}: posted twice in one batch")
        seen[eid] = spec.key
        prepared.append((spec, legs, eid))
    existing = _existing(session, [eid for _, _, eid in prepared])
    todo = []
    for spec, legs, eid in prepared:
        if eid in existing:
            mine = sorted((leg.account, leg.currency, leg.amount) for leg in legs)
            if sorted(existing[eid]) != mine:
                raise IdempotencyConflict(f"{spec.key}: already posted with other postings")
            key = session.execute(select(LedgerEntry.idempotency_key).where(LedgerEntry.id == eid)).scalar_one()
            if key != spec.key:
                raise LedgerError(f"entry id collision between {key!r} and {spec.key!r}")
            continue
        todo.append((spec, legs, eid))
    if todo:
        ids = account_ids(session, {(leg.account, leg.currency) for _, legs, _ in todo for leg in legs}, now)
        postings = [
            {
                "entry_id": eid,
                "seq": i,
                "account_id": ids[(leg.account, leg.currency)],
                "currency": leg.currency,
                "amount": leg.amount,
            }
            for _, legs, eid in todo
            for i, leg in enumerate(legs)
        ]
        entries = [
            {
                "id": eid,
                "idempotency_key": spec.key,
                "cause": spec.cause,
                "cause_id": spec.cause_id,
                "memo": spec.memo,
                "signature": spec.chain.signature if spec.chain else None,
                "ix_path": spec.chain.ix_path if spec.chain else None,
                "slot": spec.chain.slot if spec.chain else None,
                "reverses": spec.reverses,
                "created_at": now,
            }
            for spec, _, eid in todo
        ]
        # Core inserts (not the ORM's bulk path): the rows are plain dicts, executemany'd by the driver.
        session.execute(_POSTINGS.insert(), postings)
        session.execute(_ENTRIES.insert(), entries)
    out: list[int | None] = []
    by_key = {spec.key: eid for spec, _, eid in prepared}
    for spec in specs:
        out.append(by_key.get(spec.key))
    return out


def post(session: Session, spec: EntrySpec, now: int) -> int | None:
    """Post one entry (see :func:`post_many`); its id, or None when every leg is zero."""
    return post_many(session, [spec], now)[0]


def is_posted(session: Session, key: str) -> bool:
    """Whether an entry with this idempotency key exists."""
    return session.get(LedgerEntry, entry_id(key)) is not None


def reverse(session: Session, key: str, new_key: str, cause: str, now: int, memo: str | None = None) -> int | None:
    """Post the reversing entry of ``key`` (every posting negated) under ``new_key``; None if ``key`` is absent."""
    eid = entry_id(key)
    legs = _existing(session, [eid]).get(eid)
    if legs is None:
        return None
    spec = EntrySpec(
        new_key,
        cause,
        key,
        tuple(Leg(a, c, -amt) for a, c, amt in legs),
        memo=memo or f"reverses {key}",
        reverses=eid,
    )
    return post(session, spec, now)


def lock_account(session: Session, name: str, currency: str, now: int) -> None:
    """Serialize writers of one account's balance for the rest of the transaction, so that a balance read after it
    stays true until the commit (no two refunds or budgets spend the same balance).

    PostgreSQL: a row lock (``SELECT ... FOR UPDATE``). SQLite: a no-op UPDATE of the account row, which opens the
    write transaction now (the driver would open it only at the first write, after the read) and so makes every
    other writer wait; reads that follow see everything committed before it.
    """
    ids = account_ids(session, [(name, currency)], now)
    account = ids[(name, currency)]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(LedgerAccount.id).where(LedgerAccount.id == account).with_for_update())
    else:
        session.execute(update(LedgerAccount).where(LedgerAccount.id == account).values(kind=LedgerAccount.kind))


def balance(session: Session, name: str, currency: str) -> int:
    """The balance of one account on its normal side (0 when it never had a posting)."""
    row = session.execute(
        select(LedgerAccount.kind, func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id, isouter=True)
        .where(LedgerAccount.name == name, LedgerAccount.currency == currency)
        .group_by(LedgerAccount.id, LedgerAccount.kind)
    ).first()
    return 0 if row is None else normal_balance(row[0], int(row[1]))


@dataclass(frozen=True)
class Balance:
    """An account's balance on its normal side."""

    account: str
    currency: str
    kind: str
    balance: int


def balances(session: Session, *, names: Iterable[str] | None = None, prefix: str | None = None) -> list[Balance]:
    """Balances of the named accounts, or of those whose name starts with ``prefix``, or of all; by name."""
    q = (
        select(LedgerAccount.name, LedgerAccount.currency, LedgerAccount.kind, func.sum(LedgerPosting.amount))
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.id, LedgerAccount.name, LedgerAccount.currency, LedgerAccount.kind)
        .order_by(LedgerAccount.name, LedgerAccount.currency)
    )
    if names is not None:
        q = q.where(LedgerAccount.name.in_(list(names)))
    if prefix is not None:
        q = q.where(LedgerAccount.name.startswith(prefix, autoescape=True))
    return [Balance(n, c, k, normal_balance(k, int(s))) for n, c, k, s in session.execute(q)]


def entries_for(session: Session, cause: str, cause_id: str) -> list[LedgerEntry]:
    """Entries of one cause, oldest first."""
    q = select(LedgerEntry).where(LedgerEntry.cause == cause, LedgerEntry.cause_id == cause_id)
    return list(session.execute(q.order_by(LedgerEntry.created_at, LedgerEntry.id)).scalars())
