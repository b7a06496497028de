"""A write route answers only after its transaction committed: a commit that fails is an error to the client,
never a success followed by a silent rollback (the request's session closes before the response is sent)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.app import create_app
from backend.config import Settings
from backend.deps import SessionDep


def test_a_failed_commit_is_not_answered_as_success(db_url: str, db_engine: object) -> None:
    app = create_app(Settings(database_url=db_url))

    @app.post("/probe-commit", status_code=201)
    def probe(session: SessionDep) -> dict[str, str]:
        # A ledger posting whose entry never comes: accepted by the statement, refused at COMMIT (the posting's
        # foreign key to its entry is deferred to the end of the transaction).
        session.execute(
            text(
                "INSERT INTO ledger_accounts (id, name, currency, kind, created_at) "
                "VALUES (1, 'treasury', 'IO', 'asset', 0)"
            )
        )
        session.execute(
            text("INSERT INTO ledger_postings (entry_id, seq, account_id, currency, amount) VALUES (42, 0, 1, 'IO', 5)")
        )
        return {"status": "created"}

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/probe-commit")
    assert r.status_code == 500, r.text


def test_snapshot_reads_see_one_moment_while_another_connection_commits(db_engine: object) -> None:
    """What the node-stats job relies on: its reads of several tables see one moment of the indexer's writes."""
    from sqlalchemy import Engine

    from backend.db import make_sessionmaker, session_scope, snapshot_reads

    assert isinstance(db_engine, Engine)
    count = text("SELECT count(*) FROM app_meta")
    factory = make_sessionmaker(db_engine)
    with session_scope(factory) as s:
        snapshot_reads(s)
        before = s.execute(count).scalar_one()
        with db_engine.begin() as other:  # the indexer commits meanwhile
            other.execute(text("INSERT INTO app_meta (key, value) VALUES ('snapshot-probe', 'x')"))
        assert s.execute(count).scalar_one() == before
    with session_scope(factory) as s:  # a new transaction sees it
        assert s.execute(count).scalar_one() == before + 1
