"""The epochs bootstrap step: community treasury, the rewards authority's fee SOL, the genesis kept across runs."""

from __future__ import annotations

import json
from pathlib import Path

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey

from backend.chain import bootfile
from backend.chain.epoch_setup import AUTHORITY_MIN_LAMPORTS, epochs_step
from backend.chain.tokens import io_account
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap


def test_creates_the_treasury_records_genesis_and_a_second_run_sends_nothing(
    localnet: LocalnetNode, tmp_path: Path
) -> None:
    out = tmp_path / "net.json"
    keys = tmp_path / "keys"
    first = run_bootstrap(localnet.rpc_url, out, keys, extra_steps=[epochs_step(out, lambda: 1_800_000_059.9)])
    epochs = first["epochs"]
    assert epochs["genesis"] == 1_800_000_000  # floored to the minute
    c = Client(localnet.rpc_url)
    owner, mint = Pubkey.from_string(epochs["community_treasury_owner"]), Pubkey.from_string(first["mint"])
    assert epochs["community_treasury"] == str(io_account(owner, mint))
    assert c.get_token_account_balance(Pubkey.from_string(epochs["community_treasury"]), Confirmed).value.amount == "0"
    assert Path(epochs["community_treasury_owner_keypair_path"]).exists()
    authority = Pubkey.from_string(first["emission_reserve_owner"])
    assert c.get_balance(authority, Confirmed).value >= AUTHORITY_MIN_LAMPORTS
    assert bootfile.load(out).epochs is not None

    before = out.read_text()
    second = run_bootstrap(localnet.rpc_url, out, keys, extra_steps=[epochs_step(out, lambda: 1_900_000_000)])
    assert second["sent_transactions"] == []
    assert second["epochs"]["genesis"] == 1_800_000_000  # kept, not re-chosen
    assert out.read_text() == before
    assert json.loads(before)["epochs"] == epochs
