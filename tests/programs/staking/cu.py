"""Compute units per instruction of the staking program, measured in LiteSVM.

Run `python -m tests.programs.staking.cu` to print the table that programs/README.md quotes;
`python -m tests.programs.staking.cu --baseline OLD.so` measures another build of the program in the same run and
prints both columns (e.g. the program of main: see programs/README.md).
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
MAX_ENTRIES = 8  # unbonding entries per StakePosition


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
    # up to MAX_ENTRIES unbonding entries: the 8th request, then one withdraw paying all eight
    d2, d2_tok = env.wallet(10_000 * IO)
    env.ok(env.stake_ix(d2, node, d2_tok, 100 * IO), [d2])
    for _ in range(MAX_ENTRIES - 1):
        env.ok(env.client.request_unstake(d2.pubkey(), node, IO), [d2])
        env.advance(1)
    r = env.ok(env.client.request_unstake(d2.pubkey(), node, IO), [d2])
    rows.append((f"request_unstake ({MAX_ENTRIES}th entry)", r.compute_units))
    env.advance(86400)
    r = env.ok(env.client.withdraw(d2.pubkey(), node, d2_tok, env.stake_vault), [d2])
    rows.append((f"withdraw ({MAX_ENTRIES} matured entries)", r.compute_units))
    # the failure path: Anchor's error line (and the compared values) are logged
    r = env.send(env.stake_ix(d, node, d_tok, 0), [d])
    assert not r.ok
    rows.append(("stake (rejected: ZeroAmount, error logged)", r.compute_units))
    r = env.send(env.stake_ix(d2, node, d2_tok, 5_000 * IO), [d2])
    assert not r.ok
    rows.append(("stake (rejected: DelegationCapExceeded, error and values logged)", r.compute_units))
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


def compare(rows: list[tuple[str, int]], baseline: dict[str, int]) -> str:
    """Markdown table of the measurements beside a baseline's."""
    out = ["| instruction | baseline | compute units |", "|---|---:|---:|"]
    out += [f"| {name} | {baseline[name]:,} | {cu:,} |" for name, cu in rows]
    return "\n".join(out)


if __name__ == "__main__":
    from tests.fixtures.program import build_staking_so

    rows = measure_worst(build_staking_so())
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline":
        print(compare(rows, dict(measure_worst(Path(sys.argv[2])))))
    else:
        print(table(rows))
    sys.exit(0)
