"""Every instruction stays under 60,000 compute units (a claim with a depth-20 proof included)."""

from __future__ import annotations

from pathlib import Path

from tests.programs.staking.cu import BUDGET, measure_worst, table


def test_every_instruction_under_budget(staking_so: Path) -> None:
    rows = measure_worst(staking_so, runs=3)
    print("\n" + table(rows))
    names = {name.split(" ")[0] for name, _ in rows}
    assert names == {
        "initialize",
        "update_config",
        "register_node",
        "stake",
        "request_unstake",
        "withdraw",
        "set_commission",
        "post_rewards_root",
        "claim",
        "slash",
        "deactivate_node",
    }
    over = [(n, cu) for n, cu in rows if cu >= BUDGET]
    assert not over, f"over {BUDGET} CU: {over}"
