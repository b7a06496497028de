"""Payments by Solana Pay reference over rows written as the indexer writes them.

Paid means received: only transfers of the expected mint into the recipient's token account count (a refund
out of the treasury naming the reference, a transfer to another wallet, another mint, a failed transaction do
not); pending (confirmed) ones are shown and summed apart; ``as_of_slot`` says how far the indexer has read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from solders.pubkey import Pubkey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.chain import bootfile
from backend.chain.pdas import associated_token_address
from backend.config import Settings
from backend.models.indexer import IndexedTransaction, IndexerCursor, TokenTransfer, TransferReference

IO_MINT, OTHER_MINT, TREASURY_OWNER, BUYER, SHOP = (Pubkey.new_unique() for _ in range(5))


def ata(owner: Pubkey, mint: Pubkey = IO_MINT) -> str:
    return str(associated_token_address(owner, mint))


TREASURY = ata(TREASURY_OWNER)  # the treasury wallet's IO token account: where payments must arrive
HUGE = 2**62 + 1  # two of them sum above SQLite's 2**63-1 and far above 2**53
_seq = itertools.count(1)


def key() -> str:
    return str(Pubkey.new_unique())


def pay(
    s: Session,
    refs: list[str],
    amount: int,
    *,
    status: str = "finalized",
    failed: bool = False,
    mint: Pubkey = IO_MINT,
    source: str | None = None,
    destination: str = TREASURY,
) -> str:
    """One transfer naming ``refs`` (by default into the treasury), stored like the indexer stores it."""
    n = next(_seq)
    sig = f"sig{n:04d}"
    s.add(IndexedTransaction(signature=sig, slot=n, failed=failed, status=status, err='{"x":1}' if failed else None))
    stored = amount if amount < 2**63 else None  # what the indexer does on SQLite beyond the INTEGER range
    s.add(
        TokenTransfer(
            signature=sig, ix_path="2", slot=n, block_time=1_700_000_000 + n, kind="transferChecked",
            mint=str(mint), is_io=mint == IO_MINT, amount=stored, amount_raw=str(amount), source=source or key(),
            destination=destination, source_owner=key(), destination_owner=key(), memo=f"m{n}", failed=failed,
            status=status,
        )
    )  # fmt: skip
    for ref in refs:
        s.add(TransferReference(reference=ref, signature=sig, ix_path="2"))
    return sig


def write_bootstrap_file(path: Path) -> None:
    """A bootstrap file naming TREASURY_OWNER as the treasury wallet and IO_MINT as the IO mint."""
    k = key()
    boot = bootfile.BootstrapFile(
        rpc_url="http://127.0.0.1:8899", mint=str(IO_MINT), decimals=8, mint_authority=k,
        mint_authority_keypair_path="x", token_program=k, treasury=TREASURY, treasury_owner=str(TREASURY_OWNER),
        treasury_owner_keypair_path="x", emission_reserve=k, emission_reserve_owner=k,
        emission_reserve_owner_keypair_path="x",
    )  # fmt: skip
    bootfile.save(boot, path)


def app_client(db_url: str, boot_file: Path) -> TestClient:
    """The real app, its bootstrap file at ``boot_file`` (IOG_INDEXER_IO_MINT unset whatever the environment)."""
    return TestClient(create_app(Settings(database_url=db_url, bootstrap_file=boot_file, indexer_io_mint=None)))


@pytest.fixture
def client(db_url: str, db_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """The app of a deployment whose bootstrap file names the treasury and the IO mint (the defaults)."""
    write_bootstrap_file(tmp_path / "localnet.json")
    with app_client(db_url, tmp_path / "localnet.json") as c:
        yield c


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
        assert (by_sig[done]["status"], by_sig[done]["counted"], by_sig[done]["reason"]) == ("finalized", True, None)
        assert (by_sig[seen]["status"], by_sig[seen]["counted"], by_sig[seen]["reason"]) == (
            "pending",
            False,
            "pending",
        )
        assert body["not_counted"] == {"pending": 1}

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
        assert failed["reason"] == "failed" and body["not_counted"] == {"failed": 2}

    def test_other_mint_is_listed_never_counted(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            # u64 max of another mint (into the treasury wallet's account of it): amount NULL on SQLite, raw exact
            pay(s, [ref], 2**64 - 1, mint=OTHER_MINT, destination=ata(TREASURY_OWNER, OTHER_MINT))
            pay(s, [ref], 42, mint=OTHER_MINT, status="confirmed", destination=ata(TREASURY_OWNER, OTHER_MINT))
            pay(s, [ref], 8)
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"]) == ("8", "0")
        other = [t for t in body["transfers"] if not t["is_io"]]
        assert [t["amount"] for t in other] == [str(2**64 - 1), "42"]
        assert all(t["mint"] == str(OTHER_MINT) and not t["counted"] and t["reason"] == "wrong_mint" for t in other)
        assert body["not_counted"] == {"wrong_mint": 2}

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


class TestRecipient:
    """Paid means received by the recipient the payment is for."""

    def test_a_refund_out_of_the_treasury_naming_the_reference_does_not_count(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], 1_000, source=ata(BUYER))
            refund = pay(s, [ref], 400, source=TREASURY, destination=ata(BUYER))
        body = get(client, ref)
        assert (body["paid_finalized"], body["total"]) == ("1000", 2)
        assert body["not_counted"] == {"wrong_destination": 1}
        (out,) = [t for t in body["transfers"] if t["signature"] == refund]
        assert (out["counted"], out["reason"]) == (False, "wrong_destination")

    def test_a_transfer_to_another_wallet_does_not_count_for_the_treasury(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], 700, destination=ata(SHOP))
            pay(s, [ref], 50, destination=ata(SHOP), status="confirmed")
        body = get(client, ref)
        assert (body["paid_finalized"], body["paid_pending"]) == ("0", "0")
        assert body["not_counted"] == {"wrong_destination": 2}
        # The same transfers are the payment of the wallet they went to.
        shop = get(client, ref, recipient=str(SHOP))
        assert (shop["paid_finalized"], shop["paid_pending"], shop["not_counted"]) == ("700", "50", {"pending": 1})
        assert (shop["recipient"], shop["token_account"]) == (str(SHOP), ata(SHOP))

    def test_mint_selects_the_recipients_token_account_of_that_mint(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            pay(s, [ref], 5, mint=OTHER_MINT, destination=ata(TREASURY_OWNER, OTHER_MINT))
            pay(s, [ref], 9)
        body = get(client, ref, mint=str(OTHER_MINT))
        assert (body["paid_finalized"], body["mint"], body["token_account"]) == (
            "5", str(OTHER_MINT), ata(TREASURY_OWNER, OTHER_MINT),
        )  # fmt: skip
        assert body["not_counted"] == {"wrong_mint": 1}

    def test_defaults_are_the_treasury_wallet_and_the_io_mint_of_the_bootstrap_file(
        self, client: TestClient, ref: str
    ) -> None:
        body = get(client, ref)
        assert (body["recipient"], body["mint"], body["token_account"]) == (str(TREASURY_OWNER), str(IO_MINT), TREASURY)

    def test_without_a_bootstrap_file_recipient_and_mint_are_required(
        self, db_url: str, db_engine: Engine, tmp_path: Path, ref: str
    ) -> None:
        with app_client(db_url, tmp_path / "missing.json") as c:
            r = c.get(f"/payments/by-reference/{ref}")
            assert r.status_code == 422 and r.json()["detail"].startswith("recipient: required"), r.text
            r = c.get(f"/payments/by-reference/{ref}", params={"recipient": str(SHOP)})
            assert r.status_code == 422 and r.json()["detail"].startswith("mint: required"), r.text
            body = get(c, ref, recipient=str(SHOP), mint=str(IO_MINT))
            assert body["token_account"] == ata(SHOP)

    def test_an_unreadable_bootstrap_file_is_a_clear_503(
        self, db_url: str, db_engine: Engine, tmp_path: Path, ref: str
    ) -> None:
        (tmp_path / "bad.json").write_text("{not json")
        with app_client(db_url, tmp_path / "bad.json") as c:
            r = c.get(f"/payments/by-reference/{ref}")
            assert r.status_code == 503 and r.json()["error"] == "PaymentsConfigError", r.text
            assert get(c, ref, recipient=str(SHOP), mint=str(IO_MINT))["paid_finalized"] == "0"


class TestAsOfSlot:
    """as_of_slot: the finalized slot through which the indexer has read the recipient's token account."""

    def test_the_recipients_token_account_cursor_gives_it(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            s.add(IndexerCursor(address=TREASURY, last_signature="x", last_slot=90, tx_count=1, synced_slot=1234))
            s.add(IndexerCursor(address=ata(SHOP), last_signature="y", last_slot=5, tx_count=1, synced_slot=77))
        body = get(client, ref)
        assert (body["as_of_slot"], body["note"]) == (1234, None)
        assert get(client, ref, recipient=str(SHOP))["as_of_slot"] == 77

    def test_an_unwatched_account_is_null_with_a_note(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            # A cursor of the wallet itself is not one of its token account (wallet histories omit token accounts).
            s.add(IndexerCursor(address=str(TREASURY_OWNER), last_slot=9, tx_count=1, synced_slot=99))
        body = get(client, ref)
        assert body["as_of_slot"] is None
        assert TREASURY in body["note"] and "IOG_INDEXER_ADDRESSES" in body["note"]

    def test_a_token_account_given_as_recipient_gets_a_hint(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            s.add(IndexerCursor(address=TREASURY, last_slot=9, tx_count=1, synced_slot=99))
            pay(s, [ref], 10)
        body = get(client, ref, recipient=TREASURY)  # the treasury's token account instead of its wallet
        assert (body["paid_finalized"], body["as_of_slot"]) == ("0", None)
        assert "pass its owner's wallet" in body["note"]

    def test_an_account_not_read_through_yet_is_null_with_a_note(
        self, client: TestClient, session_factory: sessionmaker[Session], ref: str
    ) -> None:
        with session_factory.begin() as s:
            s.add(IndexerCursor(address=TREASURY, last_slot=0, tx_count=0, synced_slot=0, last_error="RpcGaveUp"))
        body = get(client, ref)
        assert body["as_of_slot"] is None and "not finished a pass" in body["note"]


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

    @pytest.mark.parametrize("name", ["recipient", "mint"])
    @pytest.mark.parametrize("bad", ["abc", "0" * 44])
    def test_malformed_recipient_or_mint_is_422_naming_it(
        self, client: TestClient, ref: str, name: str, bad: str
    ) -> None:
        r = client.get(f"/payments/by-reference/{ref}", params={name: bad})
        assert r.status_code == 422 and r.json()["detail"].startswith(f"{name}:"), r.text

    @pytest.mark.parametrize(("params", "name"), [({"limit": 0}, "limit"), ({"offset": -5}, "offset")])
    def test_out_of_bounds_page_is_422(self, client: TestClient, ref: str, params: dict, name: str) -> None:
        r = client.get(f"/payments/by-reference/{ref}", params=params)
        assert r.status_code == 422 and r.json()["detail"].startswith(f"{name}:")
