"""The foundation: settings, money column, migrations, API health, CLI help."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, MetaData, Table, insert, select
from typer.testing import CliRunner

from backend import migrate
from backend.app import create_app
from backend.cli import app as cli_app
from backend.config import Settings
from backend.models import AppMeta, Money, MoneyOutOfRange


class TestSettings:
    def test_env_prefix_is_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("IOG_API_PORT", "9123")
        assert Settings().api_port == 9123

    def test_default_database_is_sqlite_in_data_dir(self, tmp_path) -> None:
        s = Settings(data_dir=tmp_path)
        assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'iog.db').resolve()}"


class TestMigrations:
    def test_upgrade_reaches_head_and_is_idempotent(self, db_engine) -> None:
        head = migrate.current(db_engine)
        assert head is not None
        migrate.upgrade(db_engine)
        assert migrate.current(db_engine) == head

    def test_meta_table_round_trips(self, db_session) -> None:
        db_session.add(AppMeta(key="genesis", value="abc"))
        db_session.flush()
        assert db_session.get(AppMeta, "genesis").value == "abc"


class TestMoneyColumn:
    def _table(self, engine):
        md = MetaData()
        t = Table("money_probe", md, Column("amount", Money()))
        md.create_all(engine)
        return t

    def test_large_amounts_come_back_exact_as_int(self, db_engine) -> None:
        t = self._table(db_engine)
        big = 2**63 - 1 if db_engine.dialect.name == "sqlite" else 2**64 - 1
        with db_engine.begin() as conn:
            conn.execute(insert(t), [{"amount": big}, {"amount": 123_456_789_012_345_678}])
            got = sorted(r[0] for r in conn.execute(select(t.c.amount)))
        assert got == sorted([big, 123_456_789_012_345_678])
        assert all(type(v) is int for v in got)

    @pytest.mark.parametrize("bad", [1.5, True, "10"])
    def test_non_int_money_is_refused(self, db_engine, bad) -> None:
        t = self._table(db_engine)
        with pytest.raises(Exception) as err, db_engine.begin() as conn:
            conn.execute(insert(t), [{"amount": bad}])
        assert "money must be int" in str(err.value)

    def test_amount_beyond_u64_is_refused(self, db_engine) -> None:
        t = self._table(db_engine)
        with pytest.raises(Exception) as err, db_engine.begin() as conn:
            conn.execute(insert(t), [{"amount": 2**64}])
        assert isinstance(err.value.__cause__ or err.value, MoneyOutOfRange) or "does not fit" in str(err.value)


class TestApi:
    def test_health_and_openapi(self, db_url: str) -> None:
        client = TestClient(create_app(Settings(database_url=db_url)))
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/openapi.json").json()["info"]["title"] == "iog API"


class TestCli:
    def test_help_lists_every_group(self) -> None:
        out = CliRunner().invoke(cli_app, ["--help"]).output
        for group in ("localnet", "db", "indexer", "rewards", "api", "run"):
            assert group in out


class TestErrorShape:
    def test_framework_validation_errors_use_the_house_shape(self, db_url: str) -> None:
        client = TestClient(create_app(Settings(database_url=db_url)))
        r = client.get("/nodes", params={"limit": "abc"})
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "InvalidInput"
        assert "limit" in body["detail"]


class TestMigrationsMatchModels:
    def test_migrated_schema_equals_the_orm_models(self, db_engine) -> None:
        """Every table, column, index and constraint of the models exists as migrated (and nothing else)."""
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from backend.models import Base

        with db_engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []


class TestEveryErrorInTheHouseShape:
    """Framework refusals render as ``{error, detail}`` like AppError, and the OpenAPI document says so."""

    def test_unknown_paths_and_methods(self, client: TestClient) -> None:
        assert client.get("/no-such-route").json() == {"error": "NotFound", "detail": "Not Found"}
        r = client.put("/health")
        assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"

    def test_the_documented_422_body_is_the_rendered_one(self, client: TestClient) -> None:
        doc = client.get("/openapi.json").json()
        shape = doc["components"]["schemas"]["HTTPValidationError"]
        assert shape["required"] == ["error", "detail"] and shape["properties"]["detail"]["type"] == "string"
        body = client.get("/nodes", params={"limit": "x"}).json()
        assert set(body) == {"error", "detail"} and isinstance(body["detail"], str)

    @pytest.mark.parametrize(
        ("path", "content", "ctype"),
        [
            ("/telemetry/usage", b"{not json", "application/json"),
            ("/telemetry/usage", b"--x", "multipart/form-data; boundary=x"),
            ("/nodes", b"[1, 2", "application/json"),
        ],
    )
    def test_a_write_route_answers_401_before_it_reads_a_bad_body(
        self, client: TestClient, path: str, content: bytes, ctype: str
    ) -> None:
        r = client.post(path, content=content, headers={"content-type": ctype})
        assert r.status_code == 401 and r.json()["reason"] == "missing_credentials", r.text
        # with a credential, the body is judged (and refused) as before
        r = client.post(path, content=content, headers={"content-type": ctype, "Authorization": "Bearer iogk_x"})
        assert r.status_code in (400, 401, 422)
