"""The ledger: the database itself refuses unbalanced, short, amended or deleted entries (SQLite and PostgreSQL);
posting is idempotent per key; balances are sums on the normal side."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from backend.ledger import service as ledger
from backend.ledger.check import short_entries, unbalanced_entries
from backend.ledger.service import EntrySpec, IdempotencyConflict, LedgerError, credit, debit

NOW = 1_700_000_000
W = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
POSTING = "INSERT INTO ledger_postings (entry_id, seq, account_id, currency, amount) VALUES (:e, :s, :a, :c, :m)"


def _spec(key: str, amount: int = 100) -> EntrySpec:
    return EntrySpec(key, "test", key, (debit(ledger.TREASURY, "IO", amount), credit(ledger.buyer(W), "IO", amount)))


def _ids(session: Session) -> tuple[int, int]:
    ids = ledger.account_ids(session, [(ledger.TREASURY, "IO"), (ledger.buyer(W), "IO")], NOW)
    return ids[(ledger.TREASURY, "IO")], ids[(ledger.buyer(W), "IO")]


def _raw_entry(session: Session, eid: int, legs: list[tuple[int, str, int]]) -> None:
    """Write postings then the sealing entry row with plain SQL (what any client could try)."""
    for seq, (account, cur, amount) in enumerate(legs):
        session.execute(
            text(
                "INSERT INTO ledger_postings (entry_id, seq, account_id, currency, amount) VALUES (:e, :s, :a, :c, :m)"
            ),
            {"e": eid, "s": seq, "a": account, "c": cur, "m": amount},
        )
    session.execute(
        text(
            "INSERT INTO ledger_entries (id, idempotency_key, cause, cause_id, created_at) "
            "VALUES (:e, :k, 'test', 'x', 0)"
        ),
        {"e": eid, "k": f"raw:{eid}"},
    )


class TestDatabaseEnforcesBalance:
    def test_a_balanced_entry_is_accepted(self, session_factory: sessionmaker[Session]) -> None:
        with session_factory.begin() as s:
            a, b = _ids(s)
            _raw_entry(s, 1, [(a, "IO", 5), (b, "IO", -5)])
        with session_factory() as s:
            assert ledger.balance(s, ledger.TREASURY, "IO") == 5 and ledger.balance(s, ledger.buyer(W), "IO") == 5

    def test_an_unbalanced_entry_is_refused(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError, match="balance"), session_factory.begin() as s:
            a, b = _ids(s)
            _raw_entry(s, 2, [(a, "IO", 5), (b, "IO", -4)])

    def test_balance_is_per_currency(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError, match="balance"), session_factory.begin() as s:
            ids = ledger.account_ids(s, [(ledger.TREASURY, "IO"), (ledger.TREASURY, "USDC")], NOW)
            _raw_entry(s, 3, [(ids[(ledger.TREASURY, "IO")], "IO", 5), (ids[(ledger.TREASURY, "USDC")], "USDC", -5)])

    def test_a_single_posting_is_refused(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError, match="fewer than two postings|balance"), session_factory.begin() as s:
            a, _ = _ids(s)
            _raw_entry(s, 4, [(a, "IO", 5)])

    def test_postings_cannot_join_a_sealed_entry(self, session_factory: sessionmaker[Session]) -> None:
        with session_factory.begin() as s:
            a, b = _ids(s)
            _raw_entry(s, 5, [(a, "IO", 5), (b, "IO", -5)])
        with pytest.raises(DatabaseError, match="sealed"), session_factory.begin() as s:
            s.execute(
                text(POSTING),
                {"e": 5, "s": 9, "a": a, "c": "IO", "m": 1},
            )

    def test_postings_without_their_entry_cannot_commit(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError), session_factory.begin() as s:
            a, b = _ids(s)
            for seq, (acct, amount) in enumerate([(a, 5), (b, -5)]):
                s.execute(
                    text(POSTING),
                    {"e": 6, "s": seq, "a": acct, "c": "IO", "m": amount},
                )

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE ledger_postings SET amount = amount * 2",
            "DELETE FROM ledger_postings",
            "UPDATE ledger_entries SET memo = 'edited'",
            "DELETE FROM ledger_entries",
        ],
    )
    def test_postings_and_entries_are_immutable(self, session_factory: sessionmaker[Session], sql: str) -> None:
        with session_factory.begin() as s:
            ledger.post(s, _spec("immutable"), NOW)
        with pytest.raises(DatabaseError, match="immutable"), session_factory.begin() as s:
            s.execute(text(sql))
        with session_factory() as s:
            assert ledger.balance(s, ledger.TREASURY, "IO") == 100

    def test_a_posting_is_in_its_accounts_currency(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError), session_factory.begin() as s:
            a, b = _ids(s)  # both IO accounts
            _raw_entry(s, 7, [(a, "USDC", 5), (b, "USDC", -5)])

    def test_zero_postings_are_refused(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(DatabaseError), session_factory.begin() as s:
            a, b = _ids(s)
            _raw_entry(s, 8, [(a, "IO", 0), (b, "IO", 0)])

    def test_the_checks_find_nothing_in_a_sound_book(self, db_session: Session) -> None:
        ledger.post(db_session, _spec("sound"), NOW)
        assert unbalanced_entries(db_session) == [] and short_entries(db_session) == []


class TestPosting:
    def test_unbalanced_legs_never_reach_the_database(self, db_session: Session) -> None:
        bad = EntrySpec("bad", "t", "x", (debit(ledger.TREASURY, "IO", 5), credit(ledger.FEES, "IO", 4)))
        with pytest.raises(LedgerError, match="balance"):
            ledger.post(db_session, bad, NOW)

    def test_unknown_accounts_are_refused(self, db_session: Session) -> None:
        bad = EntrySpec("bad", "t", "x", (debit("cash", "IO", 5), credit(ledger.FEES, "IO", 5)))
        with pytest.raises(LedgerError, match="chart of accounts"):
            ledger.post(db_session, bad, NOW)

    def test_replaying_a_key_changes_nothing(self, db_session: Session) -> None:
        first = ledger.post(db_session, _spec("k1"), NOW)
        again = ledger.post(db_session, _spec("k1"), NOW + 5)
        assert first == again and ledger.balance(db_session, ledger.TREASURY, "IO") == 100

    def test_a_key_reused_for_other_postings_is_a_conflict(self, db_session: Session) -> None:
        ledger.post(db_session, _spec("k2", 100), NOW)
        with pytest.raises(IdempotencyConflict):
            ledger.post(db_session, _spec("k2", 101), NOW)

    def test_reversal_restores_balances(self, db_session: Session) -> None:
        ledger.post(db_session, _spec("k3", 70), NOW)
        ledger.reverse(db_session, "k3", "k3:void", "test", NOW)
        assert ledger.balance(db_session, ledger.TREASURY, "IO") == 0
        assert ledger.balance(db_session, ledger.buyer(W), "IO") == 0

    def test_all_zero_legs_post_nothing(self, db_session: Session) -> None:
        assert ledger.post(db_session, _spec("k4", 0), NOW) is None

    def test_balances_are_on_the_normal_side(self, db_session: Session) -> None:
        ledger.post(db_session, _spec("k5", 40), NOW)
        rows = {(b.account, b.kind): b.balance for b in ledger.balances(db_session)}
        assert rows == {(ledger.TREASURY, "asset"): 40, (ledger.buyer(W), "liability"): 40}
