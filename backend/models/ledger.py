"""The double-entry ledger: accounts per currency, immutable journal entries and their postings.

A posting's ``amount`` is signed base units: a debit is positive, a credit negative, so an entry balances when
its postings sum to zero per currency. The database enforces it (migration 0011): postings are written first and
the entry row seals them; inserting the entry checks that it has at least two postings and that they sum to zero
per currency; a posting for an entry that already exists is refused; postings and entries can be neither updated
nor deleted (a correction is a reversing entry). The foreign key from a posting to its entry is deferred, so a
posting whose entry never comes cannot be committed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import PATH, SIG

#: Account kinds.
ASSET, LIABILITY, INCOME, EQUITY = "asset", "liability", "income", "equity"


class LedgerAccount(Base):
    """One account in one currency, e.g. ``buyer:<wallet>`` in IO. ``kind`` says which side is its normal one."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("name", "currency", name="uq_ledger_accounts_name_currency"),
        # The target of the postings' (account_id, currency) foreign key: a posting is in its account's currency.
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        CheckConstraint("kind IN ('asset', 'liability', 'income', 'equity')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)


class LedgerEntry(Base):
    """An immutable journal entry: the seal over its postings, keyed by the idempotency key of its cause.

    ``id`` is derived from ``idempotency_key`` (63 bits of its sha256), so the postings can name their entry before
    the entry row exists. ``signature``/``ix_path``/``slot`` link an entry to the chain movement it books (unique:
    one movement is booked once).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("signature", "ix_path", name="uq_ledger_entries_signature_ix_path"),
        Index("ix_ledger_entries_cause", "cause", "cause_id"),
        Index("ix_ledger_entries_slot", "slot"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    cause: Mapped[str] = mapped_column(String(32))
    cause_id: Mapped[str] = mapped_column(String(160))
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    ix_path: Mapped[str | None] = mapped_column(String(PATH), nullable=True)
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reverses: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class LedgerPosting(Base):
    """One leg of an entry: signed base units on one account (debit > 0, credit < 0), never zero."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ),
        CheckConstraint("amount <> 0", name="nonzero"),
        Index("ix_ledger_postings_account", "account_id"),
    )

    entry_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED"),
        primary_key=True,
        autoincrement=False,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(Money)
