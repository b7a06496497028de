"""A full cycle over JSON-RPC against the embedded localnet: deploy through the upgradeable loader,
initialize, register, stake, delegate, post a root, claim, unstake, withdraw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer

from backend.chain import ids
from backend.chain import tx as chain_tx
from backend.chain.deploy import deploy_program, initialize_program
from backend.chain.staking import ConfigParams, StakingClient
from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.units import IO


def load(path: str) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(Path(path).read_text())))


def token_amount(client: Client, account: Pubkey) -> int:
    return int(client.get_token_account_balance(account, Confirmed).value.amount)


def test_full_cycle_over_rpc(localnet_bootstrap: dict[str, Any], staking_so: Path, tmp_path: Path) -> None:
    boot = localnet_bootstrap
    client = Client(boot["rpc_url"], timeout=30)

    def send(payer: Keypair, ixs: list[Instruction], signers: list[Keypair]) -> Signature:
        return chain_tx.send_and_confirm(client, payer, ixs, signers, commitment=Confirmed)

    admin = Keypair()
    mint_auth = load(boot["mint_authority_keypair_path"])
    send(
        mint_auth,
        [transfer(TransferParams(from_pubkey=mint_auth.pubkey(), to_pubkey=admin.pubkey(), lamports=5 * 10**9))],
        [],
    )
    program = Keypair()  # a fresh id: the test does not depend on the localnet keypair being unused
    assert deploy_program(client, admin, program, staking_so) is True
    assert deploy_program(client, admin, program, staking_so) is False  # idempotent
    rewards_auth = load(boot["emission_reserve_owner_keypair_path"])
    slash_auth = Keypair()
    params = ConfigParams.for_decimals(8, cooldown_seconds=0)
    # only the upgrade authority may initialize a program deployed through the upgradeable loader
    squatter = load(boot["wallets"][0]["keypair_path"])
    with pytest.raises(chain_tx.StakingProgramError, match=r"6000 \(Unauthorized\)"):
        initialize_program(
            client,
            squatter,
            Pubkey.from_string(boot["mint"]),
            squatter.pubkey(),
            squatter.pubkey(),
            Keypair(),
            params,
            program_id=program.pubkey(),
        )
    dep = initialize_program(
        client,
        admin,
        Pubkey.from_string(boot["mint"]),
        rewards_auth.pubkey(),
        slash_auth.pubkey(),
        Keypair(),
        params,
        program_id=program.pubkey(),
    )
    again = initialize_program(
        client,
        admin,
        Pubkey.from_string(boot["mint"]),
        rewards_auth.pubkey(),
        slash_auth.pubkey(),
        Keypair(),
        params,
        program_id=program.pubkey(),
    )
    assert again == dep
    sc = StakingClient(program.pubkey())
    alice, bob, carol = (load(w["keypair_path"]) for w in boot["wallets"])
    a_tok, b_tok, c_tok = (Pubkey.from_string(w["io_account"]) for w in boot["wallets"])

    node_key = Keypair()
    node = sc.node(node_key.pubkey())
    send(alice, [sc.register_node(alice.pubkey(), node_key.pubkey(), 1, 500)], [node_key])
    send(alice, [sc.stake(alice.pubkey(), node, a_tok, dep.stake_vault, 1_000 * IO)], [])
    send(bob, [sc.stake(bob.pubkey(), node, b_tok, dep.stake_vault, 300 * IO)], [])
    assert token_amount(client, dep.stake_vault) == 1_300 * IO

    root = merkle.leaf_hash(carol.pubkey(), 42 * IO)
    emission = Pubkey.from_string(boot["emission_reserve"])
    post = sc.post_rewards_root(rewards_auth.pubkey(), emission, dep.rewards_vault, 1, root, 42 * IO, 42 * IO)
    send(admin, [post], [rewards_auth])  # the admin pays the fee; the reserve owner signs
    carol_before = token_amount(client, c_tok)
    sig = send(carol, [sc.claim(carol.pubkey(), c_tok, dep.rewards_vault, 42 * IO, [])], [])
    assert token_amount(client, c_tok) - carol_before == 42 * IO

    bob_before = token_amount(client, b_tok)
    send(bob, [sc.request_unstake(bob.pubkey(), node, 300 * IO)], [])
    send(bob, [sc.withdraw(bob.pubkey(), node, b_tok, dep.stake_vault)], [])
    assert token_amount(client, b_tok) - bob_before == 300 * IO
    assert token_amount(client, dep.stake_vault) == 1_000 * IO

    tx = client.get_transaction(sig, "json", Confirmed, max_supported_transaction_version=0).value
    assert tx is not None and tx.transaction.meta is not None
    logs = list(tx.transaction.meta.log_messages or [])
    assert [e.name for e in sc.parse_events(logs)] == ["Claimed"]
    assert ids.SYSTEM_PROGRAM_ID != program.pubkey()


def test_bootstrap_step_deploys_and_initializes_once(localnet: Any, staking_so: Path, tmp_path: Path) -> None:
    from backend.chain.deploy import bootstrap_step
    from tests.fixtures.localnet import run_bootstrap

    first = run_bootstrap(localnet.rpc_url, tmp_path / "boot.json", tmp_path / "keys", extra_steps=[bootstrap_step])
    second = run_bootstrap(localnet.rpc_url, tmp_path / "boot.json", tmp_path / "keys", extra_steps=[bootstrap_step])
    assert first["staking"] == second["staking"]
    assert first["sent_transactions"], "the first run deploys and initializes"
    assert second["sent_transactions"] == [], "a second bootstrap must send nothing"
    client = Client(localnet.rpc_url, timeout=30)
    sc = StakingClient()
    info = client.get_account_info(sc.config, Confirmed).value
    assert info is not None
    cfg = sc.decode_account(bytes(info.data))
    assert str(cfg.io_mint) == first["mint"]
    assert str(cfg.rewards_authority) == first["emission_reserve_owner"]
    assert first["staking"]["program_id"] == str(ids.default_program_id())
