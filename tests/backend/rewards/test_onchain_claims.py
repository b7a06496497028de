"""End to end: two epochs computed by the engine, their roots posted to the real staking program (LiteSVM),
and every wallet claiming with the proof that ``iog rewards proof`` prints for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from backend.rewards.io import compute_file, proof_from_payouts

harness = pytest.importorskip("tests.programs.staking.harness")

IO = 10**8


def claim(env, kp, tok, payouts: Path):  # type: ignore[no-untyped-def]
    doc = proof_from_payouts(payouts, str(kp.pubkey()))
    proof = [bytes.fromhex(h) for h in doc["proof"]]
    return env.client.claim(kp.pubkey(), tok, env.rewards_vault, int(doc["cumulative"]), proof), doc


def post(env, epoch: int, payouts: Path, funding: int) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(payouts.read_text())
    total = sum(int(t["cumulative"]) for t in out["totals"])
    ix = env.client.post_rewards_root(
        env.rewards_authority.pubkey(),
        env.rewards_funding,
        env.rewards_vault,
        epoch,
        bytes.fromhex(out["merkle_root"]),
        total,
        funding,
    )
    env.ok(ix, [env.rewards_authority])


def test_engine_payouts_are_claimable_on_chain(staking_so: Path, tmp_path: Path) -> None:
    env = harness.make_env(staking_so)
    people = [env.wallet(0) for _ in range(7)]  # (keypair, IO token account), 0 IO each
    key = [str(kp.pubkey()) for kp, _ in people]

    def node(i: int, operator: int, delegators: list[int], compute: int) -> dict:
        stake = [{"owner": key[operator], "amount": str(300 * IO)}]
        stake += [{"owner": key[d], "amount": str((d + 1) * 100 * IO)} for d in delegators]
        return {
            "node": str(Pubkey.new_unique()),
            "operator": key[operator],
            "gpu_model": "H100" if i % 2 else "A100",
            "gpu_units": 1 + i,
            "commission_bps": 500 * (i + 1),
            "uptime_seconds": 3600 - 10 * i,
            "continuous_uptime_seconds": 3600,
            "verified": True,
            "slashed": False,
            "compute_gpu_seconds": compute,
            "stake": stake,
        }

    def epoch_doc(epoch: int, previous: dict[str, str]) -> dict:
        return {
            "schema": "iog.rewards.input/1",
            "epoch": epoch,
            "epoch_seconds": 3600,
            "params": {
                "emission": "456621000000",
                "community_bps": 1000,
                "compute_share_bps": 4000,
                "min_uptime_bps": 9000,
                "min_continuous_uptime_seconds": 1800,
                "min_stake_per_gpu": str(100 * IO),
                "gpu_multipliers_bps": {"A100": 10000, "H100": 25000},
            },
            "nodes": [node(0, 0, [3, 4], 900 * epoch), node(1, 1, [4, 5, 6], 0), node(2, 2, [3], 7200)],
            "previous_totals": previous,
        }

    src, out1, out2 = tmp_path / "e1.json", tmp_path / "p1.json", tmp_path / "p2.json"
    src.write_text(json.dumps(epoch_doc(1, {})))
    first = compute_file(src, out1)
    post(env, 1, out1, sum(first.cumulative))
    # Wallets 0..3 claim after epoch 1.
    for kp, tok in people[:4]:
        ix, doc = claim(env, kp, tok, out1)
        env.ok(ix, [kp])
        assert env.balance(tok) == int(doc["cumulative"])

    previous = {t["wallet"]: t["cumulative"] for t in json.loads(out1.read_text())["totals"]}
    src.write_text(json.dumps(epoch_doc(2, previous)))
    second = compute_file(src, out2)
    post(env, 2, out2, sum(second.cumulative) - sum(first.cumulative))

    # A tampered amount is refused by the program.
    kp, tok = people[5]
    ix, doc = claim(env, kp, tok, out2)
    proof = [bytes.fromhex(h) for h in doc["proof"]]
    bad = env.client.claim(kp.pubkey(), tok, env.rewards_vault, int(doc["cumulative"]) + 1, proof)
    env.reject(bad, [kp], "InvalidProof")

    # Everyone claims the rest: each ends with exactly the lifetime total, and the vault is empty.
    for kp, tok in people:
        ix, doc = claim(env, kp, tok, out2)
        env.ok(ix, [kp])
        assert env.balance(tok) == int(doc["cumulative"])
    assert env.balance(env.rewards_vault) == 0
    assert sum(second.cumulative) == 2 * (456621000000 - 45662100000)  # two epochs minus community, all paid
