"""Payments by Solana Pay reference over rows written as the indexer writes them."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session, sessionmaker

from backend.models.indexer import IndexedTransaction, TokenTransfer, TransferReference

IO_MINT, OTHER_MINT, TREASURY = (str(Pubkey.new_unique()) for _ in range(3))
HUGE = 2**62 + 1  # two of them sum above SQLite's 2**63-1 and far above 2**53
_seq = itertools.count(1)


def key() -> str:
    return str(Pubkey.new_unique())


def pay(
    s: Session, refs: list[str], amount: int, *, status: str = "finalized", failed: bool = False, io: bool = True
) -> str:
    """One transfer into the treasury naming ``refs``, stored like the indexer stores it."""
    n = next(_seq)
    sig = f"sig{n:04d}"
    s.add(IndexedTransaction(signature=sig, slot=n, failed=failed, status=status, err='{"x":1}' if failed else None))
    stored = amount if amount < 2**63 else None  # what the indexer does on SQLite beyond the INTEGER range
    s.add(
        TokenTransfer(
            signature=sig, ix_path="2", slot=n, block_time=1_700_000_000 + n, kind="transferChecked",
            mint=IO_MINT if io else OTHER_MINT, is_io=io, amount=stored, amount_raw=str(amount), source=key(),
            destination=TREASURY, source_owner=key(), destination_owner=key(), memo=f"m{n}", failed=failed,
            status=status,
        )
    )  # fmt: skip
    for ref in refs:
        s.add(TransferReference(reference=ref, signature=sig, ix_path="2"))
    return sig


@pytest.fixture
def ref() -> str:
    return key()


def get(client: TestClient, ref: str, **params: object) -> dict:
    r = client.get(f"/payments/by-reference/{ref}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestPaidAmount:
    def test_pending_is_shown_but_only_finalized_is_paid(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            done = pay(s, [ref], 700)
            seen = pay(s, [ref], 300, status="confirmed")
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"], body["total"]) == ("700", "300", 2)
        by_sig = {t["signature"]: t for t in body["transfers"]}
        assert (by_sig[done]["status"], by_sig[done]["counted"]) == ("finalized", True)
        assert (by_sig[seen]["status"], by_sig[seen]["counted"]) == ("pending", False)

    def test_finalizing_a_pending_transfer_makes_it_paid(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            sig = pay(s, [ref], 500, status="confirmed")
        assert get(client, ref)["paid_finalized"] == "0"
        with session_factory.begin() as s:
            s.get(TokenTransfer, (sig, "2")).status = "finalized"  # type: ignore[union-attr]
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"]) == ("500", "0")

    def test_failed_transfers_are_flagged_and_never_counted(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], 1_000)
            bad = pay(s, [ref], 9_999, failed=True)
            pay(s, [ref], 5, failed=True, status="confirmed")
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"], body["total"]) == ("1000", "0", 3)
        failed = next(t for t in body["transfers"] if t["signature"] == bad)
        assert failed["failed"] is True and failed["counted"] is False and failed["amount"] == "9999"

    def test_other_mint_is_listed_never_counted(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], 2**64 - 1, io=False)  # u64 max of another mint: amount NULL on SQLite, raw exact
            pay(s, [ref], 42, io=False, status="confirmed")
            pay(s, [ref], 8)
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"]) == ("8", "0")
        other = [t for t in body["transfers"] if not t["is_io"]]
        assert [t["amount"] for t in other] == [str(2**64 - 1), "42"]
        assert all(t["mint"] == OTHER_MINT and not t["counted"] for t in other)

    def test_amounts_above_2_53_sum_exactly_as_strings(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], HUGE)
            pay(s, [ref], HUGE)
            pay(s, [ref], HUGE, status="confirmed")
        body = get(client, ref)
        assert body["paid_finalized"] == str(2 * HUGE) and body["paid_pending"] == str(HUGE)
        assert body["transfers"][0]["amount"] == "4611686018427387905"

    def test_only_transfers_naming_the_reference(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        other = key()
        with session_factory.begin() as s:
            both = pay(s, [ref, other], 10)
            pay(s, [other], 20)
        body = get(client, ref)
        assert [t["signature"] for t in body["transfers"]] == [both] and body["paid_finalized"] == "10"
        assert get(client, other)["paid_finalized"] == "30"

    def test_unknown_reference_is_unpaid_not_an_error(self, client: TestClient, ref: str) -> None:
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"], body["total"], body["transfers"]) == ("0", "0", 0, [])


class TestInput:
    @pytest.mark.parametrize("bad", ["abc", "0" * 44, "I" * 32, "1" * 45])
    def test_malformed_reference_is_422_naming_reference(self, client: TestClient, bad: str) -> None:
        r = client.get(f"/payments/by-reference/{bad}")
        assert r.status_code == 422
        assert r.json()["error"] == "InvalidInput" and r.json()["detail"].startswith("reference:")

    def test_pages_list_oldest_first_while_the_sum_covers_all(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            sigs = [pay(s, [ref], 1) for _ in range(3)]
        body = get(client, ref, limit=2, offset=1)
        assert [t["signature"] for t in body["transfers"]] == sigs[1:]
        assert (body["total"], body["paid_finalized"]) == (3, "3")

    @pytest.mark.parametrize(("params", "name"), [({"limit": 0}, "limit"), ({"offset": -5}, "offset")])
    def test_out_of_bounds_page_is_422(self, client: TestClient, ref: str, params: dict, name: str) -> None:
        r = client.get(f"/payments/by-reference/{ref}", params=params)
        assert r.status_code == 422 and r.json()["detail"].startswith(f"{name}:")
