"""``iog wallet``: the README's hand example (balance, a payment with memo and reference, lookups) over RPC."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.config import get_settings
from tests.fixtures.localnet import run_bootstrap


@pytest.fixture
def cluster(localnet: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    boot = run_bootstrap(localnet.rpc_url, tmp_path / "boot.json", tmp_path / "keys", extra_steps=[])
    monkeypatch.setenv("IOG_RPC_URL", localnet.rpc_url)
    monkeypatch.setenv("IOG_BOOTSTRAP_FILE", str(tmp_path / "boot.json"))
    get_settings.cache_clear()
    yield boot
    get_settings.cache_clear()


def _iog(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), terminal_width=200)


class TestWalletCommands:
    def test_payment_moves_exact_units_and_is_found_by_reference(self, cluster: dict[str, Any]) -> None:
        out = _iog("wallet", "transfer", "alice", "bob", "12.34567891", "--memo", "inv-1", "--new-reference")
        assert out.exit_code == 0, out.output
        sig = re.search(r"signature (\w+)", out.output).group(1)
        ref = re.search(r"reference (\w+)", out.output).group(1)
        bal = _iog("wallet", "balance", "alice", "bob").output
        assert "999987.65432109" in bal and "1000012.34567891" in bal
        # lookups read finalized history: poll until the node finalizes it
        deadline = time.monotonic() + 30
        while sig[:20] not in (found := _iog("wallet", "lookup", ref).output) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sig[:20] in found
        shown = _iog("wallet", "tx", sig).output
        assert "12.34567891" in shown and "inv-1" in shown

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("transfer", "alice", "bob", "--", "-1"), "not a non-negative decimal"),
            (("transfer", "alice", "bob", "0.000000001"), "more than 8 decimal places"),
            (("transfer", "alice", "bob", "0"), "greater than zero"),
            (("transfer", "11111111111111111111111111111111", "bob", "1"), "must be a demo wallet"),
            (("balance", "not-a-key"), "neither a demo wallet"),
            (("tx", "xyz"), "not a base58 signature"),
        ],
    )
    def test_bad_input_is_a_clear_error_and_moves_nothing(
        self, cluster: dict[str, Any], args: tuple[str, ...], message: str
    ) -> None:
        first = _iog("wallet", "balance")
        assert first.exit_code == 0, (first.output, first.exception)
        before = first.output
        out = _iog("wallet", *args)
        assert out.exit_code == 2
        assert message in out.output
        assert _iog("wallet", "balance").output == before


class TestLogin:
    def test_login_signs_in_with_the_wallet_key_and_stores_the_token(
        self, cluster: dict[str, Any], live_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import httpx

        monkeypatch.setenv("IOG_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("IOG_API_URI", live_api.url)
        get_settings.cache_clear()
        out = _iog("wallet", "login", "alice")
        assert out.exit_code == 0, out.output
        token_file = tmp_path / "data" / "tokens" / "alice.token"
        token = token_file.read_text().strip()
        assert token in out.output and oct(token_file.stat().st_mode & 0o777) == "0o600"
        me = httpx.get(f"{live_api.url}/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["address"] == cluster["wallets"][0]["pubkey"]

    def test_login_to_a_dead_api_is_a_clear_error(
        self, cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        out = _iog("wallet", "login", "alice", "--api", "http://127.0.0.1:9")
        assert out.exit_code == 2 and "cannot reach the API" in out.output
