"""The web app's server side, without a browser: page/JSON negotiation on shared paths, the page configuration
(feature detection, actions, RPC URL), offline API docs, the QR helper, and pages for bad ids."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solders.pubkey import Pubkey

from backend.app import create_app
from backend.config import Settings
from backend.txrequests.registry import ACTIONS, Action, Plan, RequestContext, register
from backend.web import assets
from backend.web.features import FEATURES, detect
from backend.web.negotiate import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NODE = "11111111111111111111111111111112"


def _config(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="iog-config">(.*?)</script>', html, re.S)
    assert m, "no page configuration"
    return json.loads(m.group(1))


class TestNegotiation:
    @pytest.mark.parametrize(
        "accept, html",
        [
            (BROWSER, True),
            ("text/html", True),
            ("*/*", False),  # curl, httpx, fetch()
            ("", False),
            ("application/json", False),
            ("application/json, text/html;q=0.5", False),
            ("text/html;q=0.9, application/json;q=0.9", True),
            ("text/html;q=0", False),
            ("text/html;q=abc", False),
        ],
    )
    def test_prefers_html(self, accept: str, html: bool) -> None:
        assert prefers_html(accept) is html

    def test_a_browser_gets_the_node_page_and_a_client_gets_json(self, client: TestClient) -> None:
        page = client.get(f"/nodes/{NODE}", headers={"accept": BROWSER})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert f'"node": "{NODE}"' in page.text and page.headers["vary"] == "Accept"
        api = client.get(f"/nodes/{NODE}", headers={"accept": "*/*"})
        assert api.status_code == 404 and api.json()["error"] == "NotFound"  # the API's answer, untouched
        assert api.headers["vary"] == "Accept"

    def test_epochs_page_and_route(self, client: TestClient) -> None:
        page = client.get("/epochs", headers={"accept": BROWSER})
        assert page.status_code == 200 and "<h1>Epochs</h1>" in page.text
        # JSON clients get issue 11's route, never the page.
        assert client.get("/epochs").json()["items"] == []

    def test_other_paths_and_methods_are_untouched(self, client: TestClient) -> None:
        assert client.get("/nodes", headers={"accept": BROWSER}).json()["items"] == []
        r = client.post(f"/nodes/{NODE}", headers={"accept": BROWSER})
        assert r.status_code == 405 and "vary" in r.headers

    def test_a_bad_node_address_is_a_404_page(self, client: TestClient) -> None:
        r = client.get("/nodes/not-a-key", headers={"accept": BROWSER})
        assert r.status_code == 404 and "is not a node address" in r.text

    def test_a_bad_invoice_id_is_a_404_page(self, client: TestClient) -> None:
        assert client.get("/pay/inv_42").status_code == 200
        assert client.get("/pay/" + "x" * 65).status_code == 404
        assert client.get("/pay/a.b").status_code == 404


class TestPageConfig:
    def test_config_describes_this_server(self, client: TestClient) -> None:
        cfg = _config(client.get("/").text)
        assert cfg["chain"] == "solana:localnet" and cfg["io"]["decimals"] == 8
        assert cfg["currencies"]["USDC"]["decimals"] == 6
        assert cfg["program_errors"]["6018"] == "DelegationCapExceeded"
        assert set(cfg["features"]) == set(FEATURES)
        # Every route the pages read is on this server (the wallet API, epochs and settlement have landed).
        assert all(cfg["features"].values()), cfg["features"]

    def test_config_has_the_epoch_clock(self, db_url: str, db_engine: Any, tmp_path: Path) -> None:
        settings = Settings(database_url=db_url, epoch_genesis=1_796_000_000, epoch_seconds=300, data_dir=tmp_path)
        with TestClient(create_app(settings)) as c:
            assert _config(c.get("/").text)["epoch"] == {"seconds": 300, "genesis": 1_796_000_000}
        no_genesis = Settings(database_url=db_url, epoch_genesis=None, bootstrap_file=tmp_path / "none.json")
        with TestClient(create_app(no_genesis)) as c:
            assert _config(c.get("/").text)["epoch"] is None

    def test_a_missing_route_turns_its_feature_off(self, client: TestClient) -> None:
        schema = client.app.openapi()  # type: ignore[attr-defined]
        paths = {p: ops for p, ops in schema["paths"].items() if p != "/marketplace/nodes"}
        paths["/wallets/{w}/rewards"] = paths.pop("/wallets/{wallet}/rewards")  # another parameter name
        features = detect({"paths": paths})
        assert not features["marketplace"] and features["rewards"]
        assert sum(not on for on in features.values()) == 1

    def test_registered_actions_are_listed(self, client: TestClient) -> None:
        def plan(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
            return Plan([], "nothing")

        saved = dict(ACTIONS)
        register(Action("test-only-action", "test", plan))
        try:
            assert "test-only-action" in _config(client.get("/wallet").text)["actions"]
        finally:
            ACTIONS.clear()
            ACTIONS.update(saved)
        assert "test-only-action" not in _config(client.get("/wallet").text)["actions"]

    def test_browsers_may_get_their_own_rpc_url(self, db_url: str, db_engine: Any) -> None:
        settings = Settings(database_url=db_url, rpc_url="http://10.0.0.5:8899", web_rpc_url="https://rpc.example")
        with TestClient(create_app(settings)) as c:
            assert _config(c.get("/").text)["rpc_url"] == "https://rpc.example"
        with TestClient(create_app(Settings(database_url=db_url, rpc_url="http://127.0.0.1:1"))) as c:
            assert _config(c.get("/").text)["rpc_url"] == "http://127.0.0.1:1"

    def test_detect_ignores_non_get_routes(self) -> None:
        schema = {"paths": {"/marketplace/nodes": {"post": {}}, "/epochs": {"get": {}}}}
        found = detect(schema)
        assert not found["marketplace"] and found["epochs"]

    def test_api_data_cannot_break_out_of_the_config_script(self, db_url: str, db_engine: Any) -> None:
        settings = Settings(database_url=db_url, web_rpc_url="http://x/</script><script>alert(1)</script>")
        with TestClient(create_app(settings)) as c:
            html = c.get("/").text
        assert "<script>alert(1)" not in html and _config(html)["rpc_url"].endswith("alert(1)</script>")


class TestDocs:
    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_docs_load_nothing_from_elsewhere(self, client: TestClient, path: str) -> None:
        r = client.get(path)
        assert r.status_code == 200
        urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', r.text) + re.findall(r"url: '([^']+)'", r.text)
        assert urls and all(u.startswith("/") for u in urls), urls
        for u in urls:
            if u.startswith("/static/"):
                assert client.get(u).status_code == 200, u

    def test_the_schema_is_still_served(self, client: TestClient) -> None:
        assert client.get("/openapi.json").json()["info"]["title"] == "iog API"

    def test_without_a_build_docs_say_how_to_build(self, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(assets, "built", lambda: False)
        r = client.get("/docs")
        assert r.status_code == 503 and "make web" in r.text
        page = client.get("/")
        assert "make web" in page.text and "/static/build/app.js" not in page.text


class TestQr:
    def test_solana_links_only(self, client: TestClient) -> None:
        r = client.get("/web/qr.svg", params={"data": "solana:https%3A%2F%2Fexample%2Ftx%2Fpay"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml" and b"<svg" in r.content
        bad = client.get("/web/qr.svg", params={"data": "https://evil.example"})
        assert bad.status_code == 422 and bad.json()["error"] == "InvalidInput"
        assert client.get("/web/qr.svg", params={"data": "solana:" + "a" * 3000}).status_code == 422


def test_pages_are_not_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/wallet", "/pay/{invoice}", "/docs", "/redoc", "/web/qr.svg"} & set(paths)
