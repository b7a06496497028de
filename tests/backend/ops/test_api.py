"""Indexer status over cursor and row tables written as the indexer writes them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session, sessionmaker

from backend.models.indexer import IndexedTransaction, IndexerCursor, ProgramEvent, TokenTransfer


class TestIndexerStatus:
    def test_empty_database_has_no_cursors(self, client: TestClient) -> None:
        body = client.get("/indexer/status").json()
        assert body == {"addresses": [], "transactions": 0, "pending_transactions": 0, "failed_transactions": 0}

    def test_per_address_cursor_rows_and_last_error(
        self, client: TestClient, session_factory: sessionmaker[Session]
    ) -> None:
        treasury, program, other = sorted(str(Pubkey.new_unique()) for _ in range(3))
        with session_factory.begin() as s:
            s.add(IndexerCursor(address=treasury, last_signature="s2", last_slot=2**40, synced_slot=2**40 + 5,
                                updated_at=1_700_000_000))  # fmt: skip
            s.add(IndexerCursor(address=program, last_slot=0, last_error="RpcError: timeout", last_error_at=17))
            for i, (status, failed) in enumerate([("finalized", False), ("finalized", True), ("confirmed", False)]):
                sig = f"s{i}"
                s.add(IndexedTransaction(signature=sig, slot=i, status=status, failed=failed))
                src, dst = (treasury, other) if i == 0 else (other, treasury)
                s.add(TokenTransfer(signature=sig, ix_path="2", slot=i, kind="transfer", amount=1, amount_raw="1",
                                    source=src, destination=dst, status=status, failed=failed))  # fmt: skip
            s.add(ProgramEvent(signature="s0", ix_path="1", event_index=0, slot=0, program_id=program, raw="",
                               status="finalized"))  # fmt: skip
        body = client.get("/indexer/status").json()
        by = {a["address"]: a for a in body["addresses"]}
        assert [a["address"] for a in body["addresses"]] == [treasury, program]
        t, p = by[treasury], by[program]
        assert (t["last_signature"], t["last_slot"], t["synced_slot"]) == ("s2", 2**40, 2**40 + 5)
        assert (t["rows"], t["last_error"]) == (3, None)
        assert (p["rows"], p["last_signature"], p["last_error"], p["last_error_at"]) == (
            1,
            None,
            "RpcError: timeout",
            17,
        )
        assert (body["transactions"], body["pending_transactions"], body["failed_transactions"]) == (3, 1, 1)
