"""Bootstrap (backend/chain/bootstrap.py): idempotent, RPC only, a typed and versioned file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey

from backend.chain.bootstrap import BootstrapContext, BootstrapError
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap


class TestBootstrap:
    def test_creates_everything_and_second_run_changes_nothing(
        self, localnet: LocalnetNode, tmp_path: Path
    ) -> None:
        out = tmp_path / "net.json"
        first = run_bootstrap(localnet.rpc_url, out, tmp_path / "keys", decimals=6, wallets=("alice", "bob"))
        assert first["sent_transactions"]
        on_disk = json.loads(out.read_text())
        assert on_disk["mint"] == first["mint"] and on_disk["decimals"] == 6
        assert {w["name"] for w in on_disk["wallets"]} == {"alice", "bob"}
        c = Client(localnet.rpc_url)
        assert c.get_token_supply(Pubkey.from_string(first["mint"]), Confirmed).value.decimals == 6
        for w in on_disk["wallets"]:
            assert Path(w["keypair_path"]).exists()
            assert c.get_balance(Pubkey.from_string(w["pubkey"]), Confirmed).value >= 10 * 10**9
            bal = c.get_token_account_balance(Pubkey.from_string(w["io_account"]), Confirmed).value
            assert int(bal.amount) == 1_000_000 * 10**6
        reserve = c.get_token_account_balance(Pubkey.from_string(first["emission_reserve"]), Confirmed).value
        assert int(reserve.amount) == 100_000_000 * 10**6
        assert c.get_account_info(Pubkey.from_string(first["treasury"]), Confirmed).value is not None
        before = out.stat().st_mtime_ns
        second = run_bootstrap(localnet.rpc_url, out, tmp_path / "keys", decimals=6, wallets=("alice", "bob"))
        assert second["sent_transactions"] == []
        assert {k: v for k, v in second.items() if k != "sent_transactions"} == on_disk
        assert out.stat().st_mtime_ns == before

    def test_extra_steps_run_after_builtin_ones(self, localnet: LocalnetNode, tmp_path: Path) -> None:
        seen: list[str] = []

        def step(ctx: BootstrapContext) -> None:
            seen.append(ctx.file.mint)  # the built-in part is done: the mint is known
            ctx.file.later_step = "stub-from-a-later-step"  # type: ignore[attr-defined]  # an extra section

        r = run_bootstrap(localnet.rpc_url, tmp_path / "n.json", tmp_path / "keys", wallets=(), extra_steps=[step])
        assert seen == [r["mint"]]
        assert json.loads((tmp_path / "n.json").read_text())["later_step"] == "stub-from-a-later-step"

    def test_changed_decimals_and_dead_rpc_are_clear_errors(
        self, localnet: LocalnetNode, tmp_path: Path
    ) -> None:
        run_bootstrap(localnet.rpc_url, tmp_path / "n.json", tmp_path / "keys", wallets=())
        with pytest.raises(BootstrapError, match="decimals"):
            run_bootstrap(localnet.rpc_url, tmp_path / "n.json", tmp_path / "keys", decimals=9, wallets=())
        with pytest.raises(BootstrapError, match="no Solana RPC"):
            run_bootstrap("http://127.0.0.1:9", tmp_path / "x.json", tmp_path / "keys2", wallets=())
        assert not (tmp_path / "x.json").exists()


