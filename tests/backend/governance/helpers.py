"""A governance world without a cluster: the staking program's events written as the indexer writes them (and
projected by the indexer's own projector), the API on this test's database with a clock the test drives."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine, insert

from backend.app import create_app
from backend.config import Settings
from backend.db import make_sessionmaker, session_scope
from backend.governance import tally
from backend.models.indexer import IndexerCursor, ProgramEvent
from indexer.projections import apply_events

IO = 10**8
PROGRAM = str(Pubkey.new_unique())
DAY = 86_400
T0 = 1_800_000_000


@dataclass
class World:
    """The API, the database and the chain's indexed events (stake moves), with a clock the test sets."""

    engine: Engine
    settings: Settings
    client: TestClient
    now: int = T0
    slot: int = 100
    nodes: dict[str, str] = field(default_factory=dict)  # operator -> node

    def session(self) -> Any:
        return session_scope(make_sessionmaker(self.engine))

    # --- chain events, as the indexer writes them ---------------------------------------------------------
    def _events(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(ProgramEvent), rows)
            apply_events(conn)
            conn.execute(IndexerCursor.__table__.delete().where(IndexerCursor.address == PROGRAM))
            conn.execute(
                insert(IndexerCursor), [{"address": PROGRAM, "synced_slot": self.slot, "last_slot": self.slot}]
            )

    def _event(self, name: str, node: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "signature": f"sig-{random.random()}", "ix_path": "0", "event_index": 0, "slot": self.slot,
            "block_time": self.now, "program_id": PROGRAM, "name": name, "subject": node, "owner": fields.get("owner"),
            "fields": json.dumps(fields), "raw": "", "error": None, "status": "finalized",
        }  # fmt: skip

    def advance(self, seconds: int = 0, slots: int = 10) -> None:
        self.now += seconds
        self.slot += slots
        self.client.app.state.clock = lambda: self.now  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(
                IndexerCursor.__table__.update().where(IndexerCursor.address == PROGRAM).values(synced_slot=self.slot)
            )

    def stake(self, owner: Keypair, amount: int, operator: Keypair | None = None) -> None:
        """``owner`` stakes ``amount`` on ``operator``'s node (its own when None; registered on first use).
        Shares equal amounts here (no slash), so a position's value is what it staked."""
        op = str((operator or owner).pubkey())
        rows = []
        if op not in self.nodes:
            self.nodes[op] = str(Pubkey.new_unique())
            rows.append(self._event("NodeRegistered", self.nodes[op], {"operator": op, "commissionBps": 500}))
        rows.append(
            self._event(
                "Staked", self.nodes[op], {"owner": str(owner.pubkey()), "amount": str(amount), "shares": str(amount)}
            )
        )
        self._events(rows)

    def unstake(self, owner: Keypair, amount: int, operator: Keypair | None = None) -> None:
        """Move ``amount`` of ``owner``'s bonded stake into cooldown."""
        node = self.nodes[str((operator or owner).pubkey())]
        fields = {
            "owner": str(owner.pubkey()), "amount": str(amount), "sharesBurned": str(amount),
            "unbondingShares": str(amount), "unlockTime": str(self.now + 14 * DAY),
        }  # fmt: skip
        self._events([self._event("UnstakeRequested", node, fields)])

    # --- API ---------------------------------------------------------------------------------------------
    def token(self, kp: Keypair) -> dict[str, str]:
        ch = self.client.post("/auth/challenge", json={"address": str(kp.pubkey())}).json()
        sig = kp.sign_message(ch["message"].encode())
        r = self.client.post("/auth/verify", json={"message": ch["message"], "signature": str(sig)})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def propose(self, kp: Keypair, **body: Any) -> Any:
        doc = {"title": "t", "kind": "signal", **body}
        return self.client.post("/governance/proposals", json=doc, headers=self.token(kp))

    def vote(self, kp: Keypair, proposal: str, choice: str, nonce: str | None = None) -> Any:
        ballot = tally.sign_ballot(kp, proposal, choice, nonce or f"n{random.randrange(10**12)}")
        return self.client.post(f"/governance/proposals/{proposal}/ballots", json=ballot)

    def get(self, proposal: str) -> dict[str, Any]:
        r = self.client.get(f"/governance/proposals/{proposal}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def close(self) -> list[str]:
        from backend.governance.tasks import governance_pass

        return governance_pass(self.settings, clock=lambda: self.now).closed


def make_world(db_url: str, engine: Engine, **overrides: Any) -> Iterator[World]:
    settings = Settings(
        database_url=db_url,
        program_id=PROGRAM,
        bootstrap_file="/nonexistent/localnet.json",
        governance_min_stake_to_propose=100 * IO,
        governance_voting_base_time=3 * DAY,
        governance_quorum_bps=2_000,
        governance_threshold_bps=5_000,
        governance_transactions_hold_up_time=DAY,
        **overrides,
    )
    with TestClient(create_app(settings)) as client:
        world = World(engine, settings, client)
        world.advance(0, 0)
        yield world
