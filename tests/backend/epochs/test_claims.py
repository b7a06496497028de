"""Claim size: a claim with a depth-20 proof (a million wallets) plus its accounts, the compute-budget
instructions and the creation of the wallet's IO account fits in one 1,232-byte transaction, and works."""

from __future__ import annotations

import os
from typing import Any

from solana.rpc.commitment import Confirmed
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from backend.chain import tx, txbuild
from backend.chain.keys import load_keypair
from backend.chain.staking import StakingClient
from backend.chain.tokens import io_account
from backend.epochs.claims import claim_instructions
from backend.rewards.merkle import leaf_hash, parent_hash, verify_proof
from tests.backend.epochs.conftest import Cluster

DEPTH = 20
AMOUNT = 12_345


def test_depth_20_claim_fits_in_1232_bytes_and_pays(cluster: Cluster) -> None:
    boot = cluster.boot
    sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
    mint, vault = Pubkey.from_string(boot["mint"]), Pubkey.from_string(boot["staking"]["rewards_vault"])
    authority = load_keypair(boot["emission_reserve_owner_keypair_path"])
    wallet = Keypair()  # a fresh wallet: no IO account yet, so the claim creates it
    tx.send_and_confirm(
        cluster.client, cluster.wallets["alice"],
        [transfer(TransferParams(from_pubkey=cluster.wallets["alice"].pubkey(), to_pubkey=wallet.pubkey(),
                                 lamports=10**9))],
        commitment=Confirmed,
    )  # fmt: skip
    # A root 20 levels above the wallet's leaf (the siblings stand for the other ~10^6 wallets).
    proof = [os.urandom(32) for _ in range(DEPTH)]
    node = leaf_hash(bytes(wallet.pubkey()), AMOUNT)
    for sibling in proof:
        node = parent_hash(node, sibling)
    assert verify_proof(node, bytes(wallet.pubkey()), AMOUNT, proof)
    post = sc.post_rewards_root(
        authority.pubkey(), Pubkey.from_string(boot["emission_reserve"]), vault, 0, node, AMOUNT, AMOUNT
    )
    tx.send_and_confirm(cluster.client, authority, [post], commitment=Confirmed)

    ixs = claim_instructions(sc, wallet.pubkey(), mint, vault, AMOUNT, proof, create_account=True)
    built = txbuild.build(cluster.client, ixs, wallet.pubkey(), allowed=frozenset({sc.program_id}))
    blockhash = cluster.client.get_latest_blockhash(Confirmed).value.blockhash
    budget = [set_compute_unit_limit(400_000), set_compute_unit_price(100_000)]

    def size(instructions: list[Any]) -> int:
        message = Message.new_with_blockhash(instructions, wallet.pubkey(), blockhash)
        return len(bytes(Transaction.new_unsigned(message)))

    # The largest form: both compute-budget instructions (limit and a priority price) and the account creation.
    worst, existing = size([*budget, *ixs]), size([*budget, *ixs[1:]])
    print(f"claim with a depth-{DEPTH} proof: {worst} bytes, {existing} when the IO account exists "
          f"(limit {txbuild.PACKET_BYTES})")  # fmt: skip
    assert worst <= txbuild.PACKET_BYTES == 1232
    assert (worst, existing) == (1221, 1147)  # the numbers the claims module documents

    import base64

    msg = Transaction.from_bytes(base64.b64decode(built.transaction)).message
    sig = cluster.client.send_raw_transaction(bytes(Transaction([wallet], msg, msg.recent_blockhash))).value
    tx.confirm(cluster.client, [sig], commitment=Confirmed)
    paid = cluster.client.get_token_account_balance(io_account(wallet.pubkey(), mint), Confirmed).value.amount
    assert int(paid) == AMOUNT


