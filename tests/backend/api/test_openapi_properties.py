"""Property-based run of the whole OpenAPI schema (Schemathesis): every route of the app, with generated valid and
invalid inputs, against a real database and the embedded localnet (staking program deployed, one node registered).

- no response is a 5xx;
- every response matches the schema and media type the OpenAPI document declares for it;
- every write route answers 401 without a token, except the ones that are public by design (sign-in, and the
  Solana Pay transaction requests, which change no state); a new unauthenticated write route fails the test.

Bounded (a few examples per route) to keep the suite fast; the long run is marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from solana.rpc.api import Client
from solana.rpc.commitment import Finalized
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.auth import service
from backend.chain import tx
from backend.chain.deploy import bootstrap_step
from backend.chain.epoch_setup import epochs_step
from backend.chain.keys import load_keypair
from backend.chain.settlement_setup import settlement_step
from backend.chain.staking import StakingClient
from backend.config import Settings
from backend.db import make_sessionmaker
from tests.fixtures.localnet import run_bootstrap  # noqa: F401  (also used by the world fixture)

WRITE = {"POST", "PUT", "PATCH", "DELETE"}
#: Write routes without a credential, and why.
PUBLIC_WRITES = {
    ("POST", "/auth/challenge"),  # sign-in starts here
    ("POST", "/auth/verify"),  # the signature is the credential
    ("POST", "/tx/{action}"),  # Solana Pay transaction request: builds an unsigned transaction, changes nothing
    ("POST", "/telemetry/heartbeats"),  # node agents: every heartbeat is signed by its node key, no token
    ("POST", "/governance/proposals/{proposal_id}/ballots"),  # voters: every ballot is signed by the voter's wallet
}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


class Proxy:
    """The ASGI app Schemathesis talks to: the schema is read at import (from an app on an empty in-memory
    database), the requests go to the module's real app once the fixture has set it up."""

    def __init__(self) -> None:
        self.target: FastAPI = create_app(Settings(database_url="sqlite://", _env_file=None))  # type: ignore[call-arg]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


PROXY = Proxy()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, staking_so: Path) -> Iterator[FastAPI]:
    """One database, one localnet (staking program deployed, a node registered) and one app for the module."""
    from backend import migrate
    from backend.db import make_engine
    from localnet.node import LocalnetNode
    from tests.fixtures.db import fresh_database_url
    from tests.fixtures.localnet import FAST

    tmp = tmp_path_factory.mktemp("openapi")
    db_url, drop = fresh_database_url(tmp)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    node = LocalnetNode(**FAST).start()
    try:
        boot_file = tmp / "localnet.json"
        # the steps `iog localnet bootstrap` runs, so every route has what it needs (USDC, epoch genesis)
        steps = [bootstrap_step, settlement_step, epochs_step(boot_file)]
        boot = run_bootstrap(node.rpc_url, boot_file, tmp / "keys", extra_steps=steps)
        alice = load_keypair(Path(boot["wallets"][0]["keypair_path"]))
        sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
        node_key = Keypair()
        register = sc.register_node(alice.pubkey(), node_key.pubkey(), 1, 500)
        # finalized, then indexed once: routes that answer "as of" a finalized slot (snapshots) have one
        tx.send_and_confirm(Client(node.rpc_url), alice, [register], [node_key], commitment=Finalized)
        env = {**os.environ, "IOG_DATABASE_URL": db_url, "IOG_RPC_URL": node.rpc_url, "IOG_WS_URL": node.ws_url,
               "IOG_BOOTSTRAP_FILE": str(boot_file), "IOG_DATA_DIR": str(tmp)}  # fmt: skip
        subprocess.run([sys.executable, "-m", "backend.cli", "indexer", "backfill", "--quiet"], env=env, check=True,
                       timeout=240, capture_output=True)  # fmt: skip
        settings = Settings(database_url=db_url, rpc_url=node.rpc_url, bootstrap_file=boot_file, data_dir=tmp,
                            _env_file=None)  # type: ignore[call-arg]  # fmt: skip
        app = create_app(settings)
        app.state.credentials = Credentials(make_sessionmaker(engine), settings)
        PROXY.target = app
        yield app
        app.state.engine.dispose()
    finally:
        node.stop()
        engine.dispose()
        drop()  # type: ignore[operator]


class Credentials:
    """A fresh wallet session (or an orchestrator key) per generated request: a generated logout cannot starve the
    rest of the run."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory, self.settings = factory, settings

    def for_path(self, path: str) -> dict[str, str]:
        now = int(time.time())
        with self.factory.begin() as s:
            if path.startswith("/telemetry"):
                return {"Authorization": f"Bearer {service.create_api_key(s, 'orchestrator', 'st', now).key}"}
            kp = Keypair()
            c = service.issue_challenge(s, self.settings, str(kp.pubkey()), now)
            signed = service.verify(s, self.settings, c.message, str(kp.sign_message(c.message.encode())), now)
            return {"Authorization": f"Bearer {signed.token}"}


schema = schemathesis.openapi.from_asgi("/openapi.json", PROXY)
FAST = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
LONG = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))  # per route


def _call(case: Any, app: FastAPI) -> None:
    headers = app.state.credentials.for_path(case.path)
    case.call_and_validate(headers=headers, checks=CHECKS)
    method, path = case.operation.method.upper(), case.operation.path
    # (Schemathesis also sends other methods to a path, e.g. PUT /health: those are not the route's requests.)
    if case.method.upper() == method in WRITE and (method, path) not in PUBLIC_WRITES:
        # the same request without a token (Schemathesis may have generated an Authorization header itself)
        for name in [h for h in (case.headers or {}) if h.lower() == "authorization"]:
            del case.headers[name]
        anonymous = case.call()
        assert anonymous.status_code == 401, (case.method, case.path, anonymous.status_code, anonymous.text[:200])


@schema.parametrize()
@FAST
def test_every_route(case: Any, world: FastAPI) -> None:
    _call(case, world)


@pytest.mark.slow
@schema.parametrize()
@LONG
def test_every_route_long(case: Any, world: FastAPI) -> None:
    _call(case, world)


def test_the_public_write_routes_are_the_listed_ones(db_url: str, db_engine: Engine) -> None:
    """Every write route declares the bearer scheme, except exactly PUBLIC_WRITES."""
    spec = create_app(Settings(database_url=db_url, _env_file=None)).openapi()  # type: ignore[call-arg]
    unsecured = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method.upper() in WRITE and not op.get("security")
    }
    assert unsecured == PUBLIC_WRITES
