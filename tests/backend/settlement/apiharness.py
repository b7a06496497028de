"""The real app on this test's database with a synthetic bootstrap file (addresses only, no cluster): for the
routes of invoices, jobs, refunds and the ledger that need no chain I/O."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.app import create_app
from backend.auth import service as auth_service
from backend.chain.tokens import io_account
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope

T0 = 1_790_000_000


def synthetic_bootfile(path: Path) -> dict[str, Any]:
    """A bootstrap file with fresh addresses (IO 8 decimals, USDC 6) for tests that never touch a cluster."""
    owner = Keypair()
    key_file = path.parent / "treasury_owner.json"
    key_file.write_text(owner.to_json())
    mint, usdc = Keypair().pubkey(), Keypair().pubkey()
    doc = {
        "version": 1,
        "rpc_url": "http://127.0.0.1:9",
        "mint": str(mint),
        "decimals": 8,
        "mint_authority": str(Keypair().pubkey()),
        "mint_authority_keypair_path": "/nonexistent",
        "token_program": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "treasury": str(io_account(owner.pubkey(), mint)),
        "treasury_owner": str(owner.pubkey()),
        "treasury_owner_keypair_path": str(key_file),
        "emission_reserve": str(Keypair().pubkey()),
        "emission_reserve_owner": str(Keypair().pubkey()),
        "emission_reserve_owner_keypair_path": "/nonexistent",
        "settlement": {
            "usdc_mint": str(usdc),
            "usdc_decimals": 6,
            "treasury_usdc": str(io_account(owner.pubkey(), usdc)),
        },
    }
    path.write_text(json.dumps(doc))
    return doc


@dataclass
class Api:
    """A TestClient with a driven clock, the bootstrap document, and helpers for credentials."""

    client: TestClient
    boot: dict[str, Any]
    db_url: str
    now: int = T0

    def sign_in(self, kp: Keypair) -> dict[str, str]:
        c = self.client.post("/auth/challenge", json={"address": str(kp.pubkey())}).json()
        sig = str(kp.sign_message(c["message"].encode()))
        r = self.client.post("/auth/verify", json={"message": c["message"], "signature": sig})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def key(self, role: str = "orchestrator") -> tuple[str, dict[str, str]]:
        engine = make_engine(self.db_url)
        with session_scope(make_sessionmaker(engine)) as s:
            k = auth_service.create_api_key(s, role, "t", int(time.time()))
        engine.dispose()
        return k.id, {"Authorization": f"Bearer {k.key}"}

    @property
    def treasury_owner(self) -> Pubkey:
        return Pubkey.from_string(self.boot["treasury_owner"])


def make_api(db_url: str, tmp_path: Path, **settings: Any) -> Api:
    boot = synthetic_bootfile(tmp_path / "boot.json")
    app = create_app(
        Settings(database_url=db_url, bootstrap_file=tmp_path / "boot.json", data_dir=tmp_path, **settings)
    )
    api = Api(TestClient(app), boot, db_url)
    app.state.clock = lambda: api.now
    return api
