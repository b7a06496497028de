"""Compute units per instruction of the staking program, measured in LiteSVM.

Run `python -m tests.programs.staking.cu` to print the table that programs/README.md quotes;
tests/programs/staking/test_compute_units.py asserts the budget (every instruction < 60,000 CU).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain.staking import ProgramAccounts
from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.harness import Env, make_env
from tests.programs.staking.units import IO

BUDGET = 60_000


def _depth_proof(wallet: Pubkey, amount: int, depth: int) -> tuple[bytes, list[bytes]]:
    """A root and a proof of exactly `depth` levels for (wallet, amount) (siblings are arbitrary hashes)."""
    proof = [os.urandom(32) for _ in range(depth)]
    node = merkle.leaf_hash(wallet, amount)
    for sib in proof:
        node = merkle.parent_hash(node, sib)
    return node, proof


def measure(so_path: Path, logs: list[str] | None = None) -> list[tuple[str, int]]:
    """Run each instruction once in a realistic state and return (label, compute units).

    When `logs` is given, every transaction's log lines are appended to it.
    """
    rows: list[tuple[str, int]] = []
    env: Env = make_env(so_path, initialize=False)
    if logs is not None:
        inner_ok = env.ok

        def ok_and_log(*args: object, **kw: object) -> object:
            r = inner_ok(*args, **kw)  # type: ignore[arg-type]
            logs.extend(r.logs)
            return r

        env.ok = ok_and_log  # type: ignore[method-assign]
    r = env.ok(
        env.client.initialize(
            env.admin.pubkey(),
            ProgramAccounts(env.mint, env.stake_vault, env.rewards_vault, env.slash_destination),
            env.rewards_authority.pubkey(),
            env.slash_authority.pubkey(),
            env.params,
        ),
        [env.admin],
    )
    rows.append(("initialize", r.compute_units))
    r = env.ok(
        env.client.update_config(env.admin.pubkey(), replace(env.params, cooldown_seconds=86400)), [env.admin]
    )
    rows.append(("update_config", r.compute_units))
    op = env.new_keypair()
    nk = Keypair()
    r = env.ok(env.client.register_node(op.pubkey(), nk.pubkey(), 1, 500), [op, nk])
    rows.append(("register_node", r.compute_units))
    node = env.client.node(nk.pubkey())
    op_tok = env.token_account(op.pubkey(), 10_000 * IO)
    r = env.ok(env.stake_ix(op, node, op_tok, 1_000 * IO), [op])
    rows.append(("stake (opens position)", r.compute_units))
    r = env.ok(env.stake_ix(op, node, op_tok, 100 * IO), [op])
    rows.append(("stake (existing position)", r.compute_units))
    d, d_tok = env.wallet(10_000 * IO)
    r = env.ok(env.stake_ix(d, node, d_tok, 500 * IO), [d])
    rows.append(("stake (delegator, cap check)", r.compute_units))
    r = env.ok(env.client.request_unstake(d.pubkey(), node, 200 * IO), [d])
    rows.append(("request_unstake", r.compute_units))
    r = env.ok(
        env.client.slash(env.slash_authority.pubkey(), node, env.stake_vault, env.slash_destination, 300, 1),
        [env.slash_authority],
    )
    rows.append(("slash", r.compute_units))
    env.advance(86400)
    r = env.ok(env.client.withdraw(d.pubkey(), node, d_tok, env.stake_vault), [d])
    rows.append(("withdraw", r.compute_units))
    r = env.ok(env.client.set_commission(op.pubkey(), node, 900), [op])
    rows.append(("set_commission", r.compute_units))
    w, w_tok = env.wallet(0)
    root, proof = _depth_proof(w.pubkey(), 40 * IO, 20)
    r = env.ok(
        env.client.post_rewards_root(
            env.rewards_authority.pubkey(), env.rewards_funding, env.rewards_vault, 1, root, 40 * IO, 40 * IO
        ),
        [env.rewards_authority],
    )
    rows.append(("post_rewards_root", r.compute_units))
    r = env.ok(env.client.claim(w.pubkey(), w_tok, env.rewards_vault, 40 * IO, proof), [w])
    rows.append(("claim (proof depth 20, opens ClaimStatus)", r.compute_units))
    root2, proof2 = _depth_proof(w.pubkey(), 50 * IO, 32)
    env.ok(
        env.client.post_rewards_root(
            env.rewards_authority.pubkey(), env.rewards_funding, env.rewards_vault, 2, root2, 50 * IO, 10 * IO
        ),
        [env.rewards_authority],
    )
    r = env.ok(env.client.claim(w.pubkey(), w_tok, env.rewards_vault, 50 * IO, proof2), [w])
    rows.append(("claim (proof depth 32, existing ClaimStatus)", r.compute_units))
    r = env.ok(env.client.deactivate_node(op.pubkey(), node), [op])
    rows.append(("deactivate_node", r.compute_units))
    return rows


def measure_worst(so_path: Path, runs: int = 5) -> list[tuple[str, int]]:
    """The highest figure of each row over `runs` runs (new PDAs cost a varying bump search)."""
    worst: dict[str, int] = {}
    for _ in range(runs):
        for name, cu in measure(so_path):
            worst[name] = max(worst.get(name, 0), cu)
    return list(worst.items())


def table(rows: list[tuple[str, int]]) -> str:
    """Markdown table of the measurements."""
    out = ["| instruction | compute units |", "|---|---:|"]
    out += [f"| {name} | {cu:,} |" for name, cu in rows]
    return "\n".join(out)


if __name__ == "__main__":
    from tests.fixtures.program import build_staking_so

    print(table(measure_worst(build_staking_so())))
    sys.exit(0)
