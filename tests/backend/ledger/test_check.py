"""The ledger check: the book treasury against the chain at the indexer's finalized slot, per currency; the
identity; each difference named with both numbers; ``iog ledger check`` exits 1 on a difference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.chain import bootfile
from backend.chain.history import BalanceAt
from backend.chain.treasury import from_bootfile
from backend.ledger import service as ledger
from backend.ledger.check import check
from indexer.decode import DecodedTx
from indexer.store import mark_synced, write_batch
from tests.backend.settlement.apiharness import synthetic_bootfile

W = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def _setup(tmp_path: Path, engine: Engine, slot: int = 50):
    synthetic_bootfile(tmp_path / "boot.json")
    treasury = from_bootfile(bootfile.load(tmp_path / "boot.json"))
    with engine.begin() as conn:
        for account in treasury.accounts:
            mark_synced(conn, account, slot)
    return treasury


def _deposit(session: Session, amount: int, slot: int, sig: str = "S1") -> None:
    ledger.post(
        session,
        ledger.EntrySpec(
            f"deposit:{sig}:1", "deposit", sig,
            (ledger.debit(ledger.TREASURY, "IO", amount), ledger.credit(ledger.buyer(W), "IO", amount)),
            chain=ledger.ChainLink(sig, "1", slot),
        ),
        0,
    )  # fmt: skip


def reader(balances: dict[str, int]):
    return lambda account, slot: BalanceAt(balances.get(account, 0), slot, 0)


def test_a_book_that_matches_the_chain_passes(tmp_path: Path, db_engine: Engine, db_session: Session) -> None:
    treasury = _setup(tmp_path, db_engine)
    _deposit(db_session, 700, 40)
    _deposit(db_session, 5, 60, "S2")  # after the indexer's slot: not compared yet
    report = check(db_session, treasury, reader({treasury.currency("IO").account: 700}))
    assert report.ok, report.differences
    io = report.currencies[0]
    assert (io.book_treasury, io.chain_treasury, io.treasury, io.liabilities) == (700, 700, 705, 705)


def test_a_difference_names_both_numbers(tmp_path: Path, db_engine: Engine, db_session: Session) -> None:
    treasury = _setup(tmp_path, db_engine)
    _deposit(db_session, 700, 40)
    report = check(db_session, treasury, reader({treasury.currency("IO").account: 699}))
    assert not report.ok and not report.transient
    assert report.differences == ["IO: book treasury 700 != chain 699 at slot 50"]


def test_unbooked_transfers_are_a_pending_difference(tmp_path: Path, db_engine: Engine, db_session: Session) -> None:
    treasury = _setup(tmp_path, db_engine)
    acct = treasury.currency("IO").account
    tx = {"signature": "S9", "slot": 45, "block_time": 0, "err": None, "failed": False, "fee": 0, "memo": None,
          "status": "finalized"}  # fmt: skip
    row = {"signature": "S9", "ix_path": "0", "slot": 45, "block_time": 0, "kind": "transfer", "mint": None,
           "is_io": True, "amount": 9, "amount_raw": "9", "source": "x", "destination": acct, "source_owner": W,
           "destination_owner": None, "authority": W, "memo": None, "failed": False, "status": "finalized"}  # fmt: skip
    with db_engine.begin() as conn:
        write_batch(conn, [DecodedTx(tx, [row])])
    report = check(db_session, treasury, reader({acct: 9}))
    assert report.transient and report.differences == [
        "pending: IO: book treasury 0 != chain 9 at slot 50 (1 finalized transfers not booked yet)"
    ]


def test_no_indexer_pass_yet_is_pending(tmp_path: Path, db_session: Session) -> None:
    synthetic_bootfile(tmp_path / "boot.json")
    treasury = from_bootfile(bootfile.load(tmp_path / "boot.json"))
    report = check(db_session, treasury, reader({}))
    assert report.transient and all("has not read" in d for d in report.differences)


def test_a_treasury_posting_without_a_chain_slot_is_a_difference(
    tmp_path: Path, db_engine: Engine, db_session: Session
) -> None:
    treasury = _setup(tmp_path, db_engine)
    legs = (ledger.debit(ledger.TREASURY, "IO", 3), ledger.credit(ledger.FEES, "IO", 3))
    ledger.post(db_session, ledger.EntrySpec("manual", "manual", "x", legs), 0)
    report = check(db_session, treasury, reader({}))
    assert "IO: 1 treasury postings name no chain slot" in report.differences


def test_the_cli_exits_1_naming_the_difference(tmp_path: Path, db_url: str, db_engine: Engine) -> None:
    _setup(tmp_path, db_engine)
    env = {**os.environ, "IOG_DATABASE_URL": db_url, "IOG_BOOTSTRAP_FILE": str(tmp_path / "boot.json"),
           "IOG_RPC_URL": "http://127.0.0.1:9"}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", "ledger", "check", "--wait", "0"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot read the chain balance" in proc.stdout and "ledger check failed" in proc.stdout


C = "CommunityTreasury111111111111111111111111111"


def _with_grants(tmp_path: Path, engine: Engine, synced: bool = True):
    import dataclasses

    from backend.chain.treasury import GrantsSource

    treasury = _setup(tmp_path, engine)
    if synced:
        with engine.begin() as conn:
            mark_synced(conn, C, 50)
    return dataclasses.replace(treasury, grants=GrantsSource(C, W, tmp_path / "authority.json"))


def _community_in(session: Session, amount: int, slot: int, sig: str) -> None:
    legs = (ledger.debit(ledger.COMMUNITY_TREASURY, "IO", amount), ledger.credit(ledger.COMMUNITY_FUND, "IO", amount))
    ledger.post(session, ledger.EntrySpec(f"community_in:{sig}:0", "community_in", sig, legs,
                                          chain=ledger.ChainLink(sig, "0", slot)), 0)  # fmt: skip


class TestCommunityBook:
    def test_the_community_book_is_compared_with_its_own_account_on_chain(
        self, tmp_path: Path, db_engine: Engine, db_session: Session
    ) -> None:
        treasury = _with_grants(tmp_path, db_engine)
        _community_in(db_session, 1_000, 40, "E1")
        _community_in(db_session, 7, 60, "E2")  # after the indexer's slot: not compared yet
        report = check(db_session, treasury, reader({C: 1_000}))
        assert report.ok, report.differences
        row = next(r for r in report.currencies if r.currency == "IO community")
        assert (row.account, row.book_treasury, row.chain_treasury, row.treasury, row.equity) == (
            C, 1_000, 1_000, 1_007, 1_007
        )

    def test_a_community_difference_names_both_numbers_and_fails_the_check(
        self, tmp_path: Path, db_engine: Engine, db_session: Session
    ) -> None:
        treasury = _with_grants(tmp_path, db_engine)
        _community_in(db_session, 1_000, 40, "E1")
        report = check(db_session, treasury, reader({C: 990}))
        assert not report.ok and not report.transient
        assert report.differences == ["IO community: book treasury 1000 != chain 990 at slot 50"]

    def test_an_unread_community_account_is_pending(
        self, tmp_path: Path, db_engine: Engine, db_session: Session
    ) -> None:
        treasury = _with_grants(tmp_path, db_engine, synced=False)
        report = check(db_session, treasury, reader({}))
        assert report.transient and report.differences == [f"pending: IO community: the indexer has not read {C} yet"]
