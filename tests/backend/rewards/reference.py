"""A deliberately straightforward second implementation of the rewards rules, used as an oracle in the tests
and as the baseline in tests/bench/bench_rewards.py.

It shares no code with backend.rewards: per-entry Python loops, ``fractions.Fraction`` for every share, and
one walk up the tree per proof.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from typing import Any

import based58


def _lr(total: int, items: list[tuple[str, int]]) -> dict[str, int]:
    """Largest remainder with Fractions: exact share, floor, then the biggest fractional parts."""
    weight_sum = sum(w for _, w in items)
    exact = {k: Fraction(total) * Fraction(w, weight_sum) for k, w in items}
    out = {k: math.floor(v) for k, v in exact.items()}
    left = total - sum(out.values())
    ranked = sorted(items, key=lambda kw: (-(exact[kw[0]] - out[kw[0]]), kw[0]))
    for k, _ in ranked[:left]:
        out[k] += 1
    return out


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_compute(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """Compute the output document and every wallet's proof, the slow and obvious way."""
    p = doc["params"]
    emission = int(p["emission"])
    community = math.floor(Fraction(emission * p["community_bps"], 10000))
    gpu_pool = emission - community
    compute = math.floor(Fraction(gpu_pool * p["compute_share_bps"], 10000))
    availability = gpu_pool - compute
    mults = p["gpu_multipliers_bps"]
    nodes_out = []
    eligible = []
    for n in doc["nodes"]:
        stake = {e["owner"]: int(e["amount"]) for e in n["stake"]}
        reasons = []
        if n["gpu_model"] not in mults:
            reasons.append("unknown_gpu_model")
        if not n["verified"]:
            reasons.append("not_verified")
        if n["slashed"]:
            reasons.append("slashed")
        if sum(stake.values()) == 0:
            reasons.append("no_stake")
        if Fraction(stake.get(n["operator"], 0)) < int(p["min_stake_per_gpu"]) * n["gpu_units"]:
            reasons.append("stake_below_minimum")
        if Fraction(n["uptime_seconds"], doc["epoch_seconds"]) < Fraction(p["min_uptime_bps"], 10000):
            reasons.append("uptime_below_minimum")
        if n["continuous_uptime_seconds"] < p["min_continuous_uptime_seconds"]:
            reasons.append("continuous_uptime_below_minimum")
        if not reasons:
            eligible.append(n)
        nodes_out.append({"node": n["node"], "eligible": not reasons, "reasons": reasons})
    unallocated = 0
    aw = [(n["node"], n["gpu_units"] * mults[n["gpu_model"]] * n["uptime_seconds"]) for n in eligible]
    cw = [(n["node"], n["compute_gpu_seconds"] * mults[n["gpu_model"]]) for n in eligible]
    a_split = _lr(availability, aw) if sum(w for _, w in aw) else {}
    c_split = _lr(compute, cw) if sum(w for _, w in cw) else {}
    if not a_split:
        unallocated += availability
    if not c_split:
        unallocated += compute
    payouts: dict[str, int] = {}
    for n, out in zip(doc["nodes"], nodes_out, strict=True):
        a = a_split.get(n["node"], 0)
        c = c_split.get(n["node"], 0)
        commission_total = 0
        if a + c:
            shares = _lr(a + c, [(e["owner"], int(e["amount"])) for e in n["stake"]])
            for owner, share in shares.items():
                if owner == n["operator"]:
                    payouts[owner] = payouts.get(owner, 0) + share
                else:
                    commission = math.floor(Fraction(share * n["commission_bps"], 10000))
                    commission_total += commission
                    payouts[n["operator"]] = payouts.get(n["operator"], 0) + commission
                    payouts[owner] = payouts.get(owner, 0) + share - commission
        out.update(
            availability_reward=str(a),
            compute_reward=str(c),
            reward=str(a + c),
            operator_commission=str(commission_total),
        )
    totals = {w: int(v) for w, v in doc["previous_totals"].items()}
    for w, v in payouts.items():
        totals[w] = totals.get(w, 0) + v
    leaves = {}
    for w, v in totals.items():
        if v > 0:
            leaves[w] = _h(b"\x00" + based58.b58decode(w.encode()) + v.to_bytes(8, "little"))
    levels = [sorted(leaves.values())]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        nxt = []
        for i in range(0, len(cur), 2):
            if i + 1 == len(cur):
                nxt.append(cur[i])
            else:
                lo, hi = sorted([cur[i], cur[i + 1]])
                nxt.append(_h(b"\x01" + lo + hi))
        levels.append(nxt)
    root = levels[-1][0] if levels[0] else bytes(32)
    position = {leaf: i for i, leaf in enumerate(levels[0])}
    proofs = {}
    for w, leaf in leaves.items():
        idx = position[leaf]
        proof = []
        for level in levels[:-1]:
            sib = idx + 1 if idx % 2 == 0 else idx - 1
            if sib < len(level):
                proof.append(level[sib])
            idx //= 2
        proofs[w] = proof
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    out_doc = {
        "schema": "iog.rewards.output/1",
        "epoch": doc["epoch"],
        "inputs_sha256": digest,
        "pool": {
            "emission": str(emission),
            "community": str(community),
            "availability": str(availability),
            "compute": str(compute),
            "unallocated": str(unallocated),
        },
        "nodes": nodes_out,
        "payouts": [{"wallet": w, "amount": str(v)} for w, v in sorted(payouts.items()) if v > 0],
        "totals": [{"wallet": w, "cumulative": str(v)} for w, v in sorted(totals.items()) if v > 0],
        "merkle_root": root.hex(),
    }
    return out_doc, proofs
