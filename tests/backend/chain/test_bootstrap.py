"""Bootstrap (backend/chain/bootstrap.py): idempotent, RPC only, a typed and versioned file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain.bootstrap import BootstrapContext, BootstrapError
from backend.chain.ids import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
from backend.chain.keys import load_or_create_keypair
from tests.fixtures.localnet import NodeUnderTest, run_bootstrap


class TestBootstrap:
    def test_creates_everything_and_second_run_changes_nothing(self, node: NodeUnderTest, tmp_path: Path) -> None:
        out = tmp_path / "net.json"
        first = run_bootstrap(node.rpc_url, out, tmp_path / "keys", decimals=6, wallets=("alice", "bob"))
        assert first["sent_transactions"]
        on_disk = json.loads(out.read_text())
        assert on_disk["mint"] == first["mint"] and on_disk["decimals"] == 6
        assert {w["name"] for w in on_disk["wallets"]} == {"alice", "bob"}
        c = Client(node.rpc_url)
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
        second = run_bootstrap(node.rpc_url, out, tmp_path / "keys", decimals=6, wallets=("alice", "bob"))
        assert second["sent_transactions"] == []
        assert {k: v for k, v in second.items() if k != "sent_transactions"} == on_disk
        assert out.stat().st_mtime_ns == before

    def test_extra_steps_run_after_builtin_ones(self, node: NodeUnderTest, tmp_path: Path) -> None:
        seen: list[str] = []

        def step(ctx: BootstrapContext) -> None:
            seen.append(ctx.file.mint)  # the built-in part is done: the mint is known
            ctx.file.later_step = "stub-from-a-later-step"  # type: ignore[attr-defined]  # an extra section

        r = run_bootstrap(node.rpc_url, tmp_path / "n.json", tmp_path / "keys", wallets=(), extra_steps=[step])
        assert seen == [r["mint"]]
        assert json.loads((tmp_path / "n.json").read_text())["later_step"] == "stub-from-a-later-step"

    def test_changed_decimals_and_dead_rpc_are_clear_errors(self, node: NodeUnderTest, tmp_path: Path) -> None:
        run_bootstrap(node.rpc_url, tmp_path / "n.json", tmp_path / "keys", wallets=())
        with pytest.raises(BootstrapError, match="decimals"):
            run_bootstrap(node.rpc_url, tmp_path / "n.json", tmp_path / "keys", decimals=9, wallets=())
        with pytest.raises(BootstrapError, match="no Solana RPC"):
            run_bootstrap("http://127.0.0.1:9", tmp_path / "x.json", tmp_path / "keys2", wallets=())
        assert not (tmp_path / "x.json").exists()


class TestReceivingWallets:
    """Every wallet that receives payments exists on chain, rent-exempt, with its token account (issue 9.1)."""

    def test_a_wallet_pays_the_treasury_with_solana_pay(self, node: NodeUnderTest, tmp_path: Path, js: Any) -> None:
        boot = run_bootstrap(node.rpc_url, tmp_path / "net.json", tmp_path / "keys", wallets=("alice",))
        alice = boot["wallets"][0]
        treasury, payer_ata = Pubkey.from_string(boot["treasury"]), Pubkey.from_string(alice["io_account"])
        c = Client(node.rpc_url)

        def balance(account: Pubkey) -> int:
            return int(c.get_token_account_balance(account, Confirmed).value.amount)

        before = (balance(treasury), balance(payer_ata))
        reference = str(Keypair().pubkey())
        out = js.run(
            "solana_pay_transfer.mjs",
            {
                "rpcUrl": node.rpc_url,
                "wsUrl": node.ws_url,
                "payerKeypairPath": alice["keypair_path"],
                "recipient": boot["treasury_owner"],  # the wallet, as a Solana Pay URL names it
                "splToken": boot["mint"],
                "amount": "12.5",
                "reference": reference,
                "memo": "invoice 42",
            },
        )
        # findReference found this payment and validateTransfer accepted it (recipient, amount, reference, memo).
        assert out["validated"] is True and out["found"] == out["signature"]
        assert out["recipientAta"] == boot["treasury"]
        paid = 12_50000000  # 12.5 IO at 8 decimals
        assert (balance(treasury), balance(payer_ata)) == (before[0] + paid, before[1] - paid)

    def test_receivers_are_rent_exempt_and_a_later_step_gets_the_same_through_one_helper(
        self, node: NodeUnderTest, tmp_path: Path
    ) -> None:
        made: list[Pubkey] = []

        def grants_treasury(ctx: BootstrapContext) -> None:
            owner = ctx.keypair("grants_owner").pubkey()
            made.append(ctx.ensure_receiver(owner, Pubkey.from_string(ctx.file.mint)))

        kwargs: dict[str, Any] = {"wallets": (), "extra_steps": [grants_treasury]}
        first = run_bootstrap(node.rpc_url, tmp_path / "n.json", tmp_path / "keys", **kwargs)
        c = Client(node.rpc_url)
        rent = c.get_minimum_balance_for_rent_exemption(0, Confirmed).value
        grants_owner = load_or_create_keypair(tmp_path / "keys" / "grants_owner.json").pubkey()
        for owner, ata in ((first["treasury_owner"], first["treasury"]), (str(grants_owner), str(made[0]))):
            info = c.get_account_info(Pubkey.from_string(owner), Confirmed).value
            assert info is not None and info.lamports >= rent and info.owner == SYSTEM_PROGRAM_ID and not info.data
            token = c.get_account_info(Pubkey.from_string(ata), Confirmed).value
            assert token is not None and token.owner == TOKEN_PROGRAM_ID
        second = run_bootstrap(node.rpc_url, tmp_path / "n.json", tmp_path / "keys", **kwargs)
        assert second["sent_transactions"] == [] and made[1] == made[0]
