"""Builders of rewards inputs for the tests, and a hypothesis strategy for whole epoch documents."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import strategies as st
from solders.pubkey import Pubkey


def pk(i: int | str) -> str:
    """A deterministic, distinct base58 pubkey per label."""
    return str(Pubkey(hashlib.sha256(str(i).encode()).digest()))


def node(n: Any = "n", operator: Any = "op", **overrides: Any) -> dict[str, Any]:
    """An eligible node with 1 A100 GPU and 100 of its operator's own stake, unless overridden."""
    doc: dict[str, Any] = {
        "node": pk(n),
        "operator": pk(operator),
        "gpu_model": "A100",
        "gpu_units": 1,
        "commission_bps": 0,
        "uptime_seconds": 3600,
        "continuous_uptime_seconds": 3600,
        "verified": True,
        "slashed": False,
        "compute_gpu_seconds": 0,
        "stake": [{"owner": pk(operator), "amount": "100"}],
    }
    doc.update(overrides)
    return doc


def epoch_input(nodes: list[dict[str, Any]], previous: dict[str, str] | None = None, **params: Any) -> dict:
    """An epoch input with simple parameters (emission 1000, no community, half compute) unless overridden."""
    p: dict[str, Any] = {
        "emission": "1000",
        "community_bps": 0,
        "compute_share_bps": 5000,
        "min_uptime_bps": 9000,
        "min_continuous_uptime_seconds": 600,
        "min_stake_per_gpu": "100",
        "gpu_multipliers_bps": {"A100": 10000, "H100": 25000},
    }
    p.update(params)
    return {
        "schema": "iog.rewards.input/1",
        "epoch": 1,
        "epoch_seconds": 3600,
        "params": p,
        "nodes": nodes,
        "previous_totals": previous or {},
    }


WALLETS = [pk(f"w{i}") for i in range(6)]
# Small values make equal weights (and so tie-breaks) frequent; big ones exercise wide integers.
_small_or_big = st.one_of(st.integers(0, 3), st.integers(0, 10**9))
_amount = st.one_of(
    st.integers(0, 100), st.integers(0, 1000), st.integers(0, 10**12), st.integers(0, 2**64 - 1)
)


@st.composite
def epoch_docs(draw: st.DrawFn, max_nodes: int = 8) -> dict[str, Any]:
    """Random but valid epoch inputs over a small wallet set (so wallets collide across nodes).

    Most nodes are drawn "healthy" (eligible by construction) so that splits, ties and commissions are
    exercised often; the rest have random fields and usually fail one or more rules.
    """
    params = {
        "emission": str(draw(_amount.filter(lambda v: v < 2**63))),
        "community_bps": draw(st.integers(0, 10000)),
        "compute_share_bps": draw(st.integers(0, 10000)),
        "min_uptime_bps": draw(st.one_of(st.just(0), st.integers(0, 10000))),
        "min_continuous_uptime_seconds": draw(st.one_of(st.just(0), st.integers(0, 1800))),
        "min_stake_per_gpu": str(draw(st.one_of(st.just(0), st.integers(0, 10**8)))),
        "gpu_multipliers_bps": {
            "A100": draw(st.one_of(st.just(10000), st.integers(0, 30000))),
            "H100": draw(st.one_of(st.just(10000), st.integers(0, 30000))),
        },
    }
    n_nodes = draw(st.integers(0, max_nodes))
    nodes = []
    for i in range(n_nodes):
        healthy = draw(st.sampled_from([True, True, True, False]))
        operator = draw(st.sampled_from(WALLETS))
        owners = draw(st.lists(st.sampled_from(WALLETS), max_size=4, unique=True))
        stake = [{"owner": o, "amount": str(draw(_small_or_big))} for o in owners]
        units = draw(st.one_of(st.just(1), st.integers(0, 8)))
        doc = {
            "node": pk(f"node{i}"),
            "operator": operator,
            "gpu_model": draw(st.sampled_from(["A100", "A100", "H100", "unknown"])),
            "gpu_units": units,
            "commission_bps": draw(st.integers(0, 10000)),
            "uptime_seconds": draw(st.one_of(st.sampled_from([3600, 1800]), st.integers(0, 3600))),
            "continuous_uptime_seconds": draw(st.integers(0, 3600)),
            "verified": draw(st.booleans()),
            "slashed": draw(st.booleans()),
            "compute_gpu_seconds": draw(st.one_of(st.sampled_from([0, 3600]), st.integers(0, 28800))),
            "stake": stake,
        }
        if healthy:
            own = int(params["min_stake_per_gpu"]) * units + draw(st.integers(1, 3))
            stake[:] = [e for e in stake if e["owner"] != operator]
            stake.insert(draw(st.integers(0, len(stake))), {"owner": operator, "amount": str(own)})
            doc.update(
                gpu_model=draw(st.sampled_from(["A100", "H100"])),
                uptime_seconds=3600,
                continuous_uptime_seconds=3600,
                verified=True,
                slashed=False,
            )
        nodes.append(doc)
    previous = draw(st.dictionaries(st.sampled_from(WALLETS), st.integers(0, 10**15).map(str), max_size=4))
    return {
        "schema": "iog.rewards.input/1",
        "epoch": draw(st.integers(0, 175318)),
        "epoch_seconds": 3600,
        "params": params,
        "nodes": nodes,
        "previous_totals": previous,
    }
