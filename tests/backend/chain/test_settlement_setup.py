"""The settlement bootstrap step: USDC mint (6 decimals), treasury USDC account, funded demo wallets, SOL for the
treasury owner; a second bootstrap sends nothing; the indexer then watches the treasury's USDC account."""

from __future__ import annotations

import json
from pathlib import Path

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey

from backend.chain import bootfile
from backend.chain.settlement_setup import TREASURY_SOL, WALLET_USDC, settlement_step
from backend.chain.treasury import from_bootfile
from backend.config import Settings
from indexer.config import resolve
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap


def test_usdc_accounts_are_created_once_and_watched(localnet: LocalnetNode, tmp_path: Path) -> None:
    out = tmp_path / "net.json"
    first = run_bootstrap(localnet.rpc_url, out, tmp_path / "keys", extra_steps=[settlement_step])
    s = first["settlement"]
    c = Client(localnet.rpc_url)
    assert c.get_token_supply(Pubkey.from_string(s["usdc_mint"]), Confirmed).value.decimals == 6
    assert s["usdc_decimals"] == 6
    for w in first["wallets"]:
        bal = c.get_token_account_balance(Pubkey.from_string(s["wallet_usdc_accounts"][w["name"]]), Confirmed).value
        assert int(bal.amount) == WALLET_USDC
    assert c.get_token_account_balance(Pubkey.from_string(s["treasury_usdc"]), Confirmed).value.amount == "0"
    assert c.get_balance(Pubkey.from_string(first["treasury_owner"]), Confirmed).value >= TREASURY_SOL

    second = run_bootstrap(localnet.rpc_url, out, tmp_path / "keys", extra_steps=[settlement_step])
    assert second["sent_transactions"] == []
    assert json.loads(out.read_text())["settlement"] == s

    treasury = from_bootfile(bootfile.load(out))
    assert treasury.currency("USDC").account == s["treasury_usdc"]
    assert treasury.currency("IO").account == first["treasury"]
    cfg = resolve(Settings(bootstrap_file=out, _env_file=None))  # type: ignore[call-arg]
    assert cfg.labels[s["treasury_usdc"]] == "treasury_usdc"
