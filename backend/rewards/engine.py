"""The rewards engine: a pure function from an epoch's inputs to its payouts, totals and merkle root.

Everything is Python ``int`` arithmetic; there is no float and no rounding other than the floor of integer
division and the largest-remainder rule, so the result is the same on every machine. The numbered rules
referred to below are those of the rewards issue (see README.md in this package).
"""

from __future__ import annotations

import gc
import json
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import compress, repeat
from operator import add, floordiv, ge, mul, sub
from struct import Struct
from typing import Any, NamedTuple

import orjson

from backend.money import BPS, U64_MAX
from backend.rewards.errors import RewardsInputError, WalletNotInTotals
from backend.rewards.merkle import MerkleTree
from backend.rewards.schemas import (
    OUTPUT_SCHEMA,
    EpochInput,
    NodeInput,
    Params,
    per_entry,
    segment_sums,
    validate_input,
)
from backend.rewards.splits import split_unchecked

_pack_leaf = Struct("<x32sQ").pack  # 0x00 || wallet || u64 little-endian (rule 7)

REASONS = (
    "unknown_gpu_model",
    "not_verified",
    "slashed",
    "no_stake",
    "stake_below_minimum",
    "uptime_below_minimum",
    "continuous_uptime_below_minimum",
)


class Pool(NamedTuple):
    """How the epoch's emission was divided (rule 1); community + node rewards + unallocated == emission."""

    emission: int
    community: int
    availability: int
    compute: int
    unallocated: int


class NodeResult(NamedTuple):
    """One node's outcome; ``reasons`` is empty exactly when the node is eligible."""

    node: str
    eligible: bool
    reasons: tuple[str, ...]
    availability_reward: int
    compute_reward: int
    reward: int
    operator_commission: int


@dataclass
class EpochResult:
    """The outcome of an epoch, with the merkle tree over lifetime totals.

    ``wallets`` are the wallets with a positive lifetime total, sorted by their base58 string; ``cumulative``,
    ``wallet_keys`` (32 bytes each) and ``positions`` (the wallet's leaf index in the sorted leaves) are
    parallel to it. ``payout_wallets`` and ``payout_amounts`` are this epoch's positive payouts, sorted by
    wallet.
    """

    epoch: int
    inputs_sha256: str
    pool: Pool
    nodes: list[NodeResult]
    payout_wallets: list[str]
    payout_amounts: list[int]
    wallets: list[str]
    cumulative: list[int]
    wallet_keys: list[bytes] = field(repr=False)
    positions: list[int] = field(repr=False)
    tree: MerkleTree = field(repr=False)

    @property
    def merkle_root(self) -> bytes:
        """The root over all lifetime totals."""
        return self.tree.root

    def _index(self, wallet: str) -> int:
        i = bisect_left(self.wallets, wallet)
        if i == len(self.wallets) or self.wallets[i] != wallet:
            raise WalletNotInTotals(f"wallet {wallet} has no lifetime total in this epoch")
        return i

    def key_of(self, wallet: str) -> bytes:
        """The 32 pubkey bytes of a wallet in the totals."""
        return self.wallet_keys[self._index(wallet)]

    def proof(self, wallet: str) -> tuple[int, list[bytes]]:
        """The wallet's lifetime total and its proof (sibling hashes from leaf to root).

        Raises:
            WalletNotInTotals: The wallet has no positive lifetime total.
        """
        i = self._index(wallet)
        return self.cumulative[i], self.tree.proof(self.positions[i])

    def all_proofs(self) -> list[tuple[bytes, ...]]:
        """Every wallet's proof, parallel to :attr:`wallets`, built in one top-down pass over the tree."""
        with gc_paused():
            return list(map(self.tree.all_proofs().__getitem__, self.positions))

    def to_json(self) -> dict[str, Any]:
        """The ``iog.rewards.output/1`` document (amounts as decimal strings)."""
        with gc_paused():
            return self._to_json()

    def _to_json(self) -> dict[str, Any]:
        pool = self.pool
        return {
            "schema": OUTPUT_SCHEMA,
            "epoch": self.epoch,
            "inputs_sha256": self.inputs_sha256,
            "pool": {
                "emission": str(pool.emission),
                "community": str(pool.community),
                "availability": str(pool.availability),
                "compute": str(pool.compute),
                "unallocated": str(pool.unallocated),
            },
            "nodes": [
                {
                    "node": n.node,
                    "eligible": n.eligible,
                    "reasons": list(n.reasons),
                    "availability_reward": str(n.availability_reward),
                    "compute_reward": str(n.compute_reward),
                    "reward": str(n.reward),
                    "operator_commission": str(n.operator_commission),
                }
                for n in self.nodes
            ],
            "payouts": [
                {"wallet": w, "amount": a}
                for w, a in zip(self.payout_wallets, map(str, self.payout_amounts), strict=True)
            ],
            "totals": [
                {"wallet": w, "cumulative": c} for w, c in zip(self.wallets, map(str, self.cumulative), strict=True)
            ],
            "merkle_root": self.tree.root.hex(),
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk computation.

    The engine allocates millions of acyclic objects (ints, tuples, small lists) next to a large live input;
    without this, each generation-2 collection re-walks the whole input and the run grows superlinearly.
    Reference counting still frees everything; the collector is restored (if it was on) afterwards.

    On the way out the objects that survived the run (the result: millions of acyclic tuples, lists, dicts)
    are moved to the oldest generation with ``gc.freeze(); gc.unfreeze()`` (two list splices, no scan).
    Otherwise they would all still sit in generation 0 and the first allocation after re-enabling would
    trigger a collection that walks every one of them (~0.5 s at 100,000 nodes), then again in generation
    1. In the oldest generation they are examined only by a full collection, like any other long-lived data.
    The splice is skipped when the process has frozen objects of its own (unfreeze would thaw them).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def json_bytes(doc: Any, sort_keys: bool = False) -> bytes:
    """``json.dumps(doc, sort_keys=sort_keys, separators=(",", ":"))`` as UTF-8 bytes, via orjson when equal.

    For documents of dicts with str keys, lists, str, ints within u64 and bools, orjson produces the same
    bytes about 7x faster as long as its output is pure ASCII without DEL: json.dumps escapes every other
    character (``ensure_ascii``) while orjson writes DEL and non-ASCII raw, so any such output (or any type
    orjson refuses) falls back to json.dumps. tests/backend/rewards/test_engine.py checks the equivalence.
    """
    try:
        fast: bytes = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        fast = b"\x7f"
    if fast.isascii() and b"\x7f" not in fast:
        return fast
    return json.dumps(doc, sort_keys=sort_keys, separators=(",", ":")).encode("utf-8")


def canonical_json(raw: Any, validated: bool = False) -> bytes:
    """``json.dumps(raw, sort_keys=True, separators=(",", ":"))`` as UTF-8 bytes (rule 8's hash input).

    A validated input (only dicts with str keys, lists, str, int within u64, bool) goes through
    :func:`json_bytes` (orjson when it gives the same bytes); anything else through json.dumps.
    """
    if validated:
        return json_bytes(raw, sort_keys=True)
    return json.dumps(raw, sort_keys=True, separators=(",", ":")).encode("utf-8")


def inputs_sha256(raw: Any, validated: bool = False) -> str:
    """Rule 8: sha256 of ``json.dumps(input, sort_keys=True, separators=(",", ":"))`` as UTF-8.

    ``validated`` promises that ``raw`` passed :func:`validate_input`, which allows a faster encoder.
    """
    return sha256(canonical_json(raw, validated)).hexdigest()


def split_pool(emission: int, community_bps: int, compute_share_bps: int) -> tuple[int, int, int]:
    """Rule 1: (community, availability, compute) of an emission."""
    community = emission * community_bps // BPS
    gpu_pool = emission - community
    compute = gpu_pool * compute_share_bps // BPS
    return community, gpu_pool - compute, compute


def ineligibility_reasons(node: NodeInput, params: Params, epoch_seconds: int) -> tuple[str, ...]:
    """Rule 2: every reason that applies to the node, in the order of :data:`REASONS`."""
    reasons: list[str] = []
    if node.gpu_model not in params.gpu_multipliers_bps:
        reasons.append("unknown_gpu_model")
    if not node.verified:
        reasons.append("not_verified")
    if node.slashed:
        reasons.append("slashed")
    if node.total_stake == 0:
        reasons.append("no_stake")
    if node.own_stake < params.min_stake_per_gpu * node.gpu_units:
        reasons.append("stake_below_minimum")
    if node.uptime_seconds * BPS < params.min_uptime_bps * epoch_seconds:
        reasons.append("uptime_below_minimum")
    if node.continuous_uptime_seconds < params.min_continuous_uptime_seconds:
        reasons.append("continuous_uptime_below_minimum")
    return tuple(reasons)


def _split_pool_over(total: int, weights: list[int], keys: list[str], key_order: list[int]) -> list[int] | None:
    """Rule 3: split a pool by weight, or None when the total weight is 0 (the pool is unallocated)."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return None
    return split_unchecked(total, weights, keys, weight_sum, key_order)


def _pay_stake(inp: EpochInput, rewards: list[int], acc: list[int]) -> list[int]:
    """Rules 4 and 5 for every node at once: split each node's reward over its stake entries (flat columns),
    take commission from delegated shares, and add the payouts into ``acc`` (indexed by wallet id).

    Returns each node's operator commission. Wallet ids are ranks of the sorted wallet strings, so ordering by
    id is the rule's string order.
    """
    nodes = inp.nodes
    owner_ids = inp.owner_ids
    offsets = inp.offsets
    counts = list(map(sub, offsets[1:], offsets[:-1]))
    divisors = [n.total_stake or 1 for n in nodes]  # a node without stake has reward 0 (rule 2: no_stake)
    products = list(map(mul, per_entry(rewards, counts), inp.amounts))
    shares = list(map(floordiv, products, per_entry(divisors, counts)))
    lefts = list(map(sub, rewards, segment_sums(shares, offsets)))
    if any(lefts):
        # Largest remainder within each node, ties to the smaller owner, as one integer rank per entry:
        # remainder * m - owner id (owner ids < m), larger rank first. A node with `left` units to hand out
        # gives one to each entry whose rank is at least the node's left-th largest (ranks are distinct
        # within a node); a node with nothing left gets a threshold above every rank.
        m = len(inp.wallets)
        remainders = map(sub, products, map(mul, shares, per_entry(divisors, counts)))
        ranks = list(map(sub, map(mul, remainders, repeat(m)), owner_ids))
        thresholds = [max(divisors) * m] * len(nodes)
        for k in compress(range(len(nodes)), lefts):
            thresholds[k] = sorted(ranks[offsets[k] : offsets[k + 1]])[-lefts[k]]
        shares = list(map(add, shares, map(ge, ranks, per_entry(thresholds, counts))))
        del ranks
    del products
    # commission = share * bps // 10000 on delegated entries; bps times False (0) for the operator's own.
    bps = map(mul, per_entry([n.commission_bps for n in nodes], counts), inp.delegated)
    commissions = list(map(floordiv, map(mul, shares, bps), repeat(BPS)))
    for wallet, net in zip(owner_ids, map(sub, shares, commissions), strict=True):
        acc[wallet] += net
    per_node = segment_sums(commissions, offsets)
    for n, commission in zip(nodes, per_node, strict=True):
        acc[n.operator_id] += commission
    return per_node


def compute_validated(inp: EpochInput, digest: str) -> EpochResult:
    """Compute an epoch from validated input; ``digest`` is the input's rule-8 hash.

    Raises:
        RewardsInputError: A wallet's lifetime total would exceed a u64.
    """
    p = inp.params
    community, availability, compute = split_pool(p.emission, p.community_bps, p.compute_share_bps)
    multipliers = p.gpu_multipliers_bps
    nodes = inp.nodes

    reasons = [ineligibility_reasons(n, p, inp.epoch_seconds) for n in nodes]
    eligible = [i for i, r in enumerate(reasons) if not r]
    keys = [nodes[i].node for i in eligible]
    key_order = sorted(range(len(keys)), key=keys.__getitem__)  # tie order of both pools (rule 5)
    avail_w = []
    compute_w = []
    for i in eligible:
        n = nodes[i]
        m = multipliers[n.gpu_model]
        avail_w.append(n.gpu_units * m * n.uptime_seconds)
        compute_w.append(n.compute_gpu_seconds * m)
    unallocated = 0
    avail_parts = _split_pool_over(availability, avail_w, keys, key_order)
    if avail_parts is None:
        unallocated += availability
        avail_parts = [0] * len(eligible)
    compute_parts = _split_pool_over(compute, compute_w, keys, key_order)
    if compute_parts is None:
        unallocated += compute
        compute_parts = [0] * len(eligible)

    rewards = [0] * len(nodes)
    for i, a_reward, c_reward in zip(eligible, avail_parts, compute_parts, strict=True):
        rewards[i] = a_reward + c_reward
    acc = [0] * len(inp.wallets)
    commissions = _pay_stake(inp, rewards, acc)
    results = [NodeResult(n.node, False, r, 0, 0, 0, 0) for n, r in zip(nodes, reasons, strict=True)]
    for i, a_reward, c_reward in zip(eligible, avail_parts, compute_parts, strict=True):
        results[i] = NodeResult(nodes[i].node, True, (), a_reward, c_reward, rewards[i], commissions[i])

    all_wallets = inp.wallets
    totals = list(map(add, inp.previous, acc))
    if totals and max(totals) > U64_MAX:
        wallet = all_wallets[next(i for i, t in enumerate(totals) if t > U64_MAX)]
        raise RewardsInputError(f"previous_totals.{wallet}", "lifetime total would exceed u64")
    # Wallet ids are in string order, so filtering keeps the outputs sorted by wallet.
    wallets = list(compress(all_wallets, totals))
    cumulative = list(filter(None, totals))
    wallet_keys = list(compress(inp.wallet_bytes, totals))
    leaves = [sha256(_pack_leaf(k, c)).digest() for k, c in zip(wallet_keys, cumulative, strict=True)]
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    positions = [0] * len(order)  # the inverse permutation of `order`: wallet -> leaf position
    for rank, i in enumerate(order):
        positions[i] = rank
    # The sorted leaves are copied (join, then 32-byte slices) so that they lie in memory in leaf order: the
    # tree and the proofs then read them sequentially instead of in wallet order.
    ordered = b"".join(map(leaves.__getitem__, order))
    tree = MerkleTree([ordered[i : i + 32] for i in range(0, len(ordered), 32)], presorted=True)

    node_sum = sum(r.reward for r in results)
    # Conservation is the engine's contract; a failure here is a bug, never bad input.
    if community + node_sum + unallocated != p.emission or sum(acc) != node_sum or sum(rewards) != node_sum:
        raise RuntimeError("conservation violated")
    return EpochResult(
        epoch=inp.epoch,
        inputs_sha256=digest,
        pool=Pool(p.emission, community, availability, compute, unallocated),
        nodes=results,
        payout_wallets=list(compress(all_wallets, acc)),
        payout_amounts=list(filter(None, acc)),
        wallets=wallets,
        cumulative=cumulative,
        wallet_keys=wallet_keys,
        positions=positions,
        tree=tree,
    )


def compute_epoch(raw: Mapping[str, Any]) -> EpochResult:
    """Validate and compute an epoch from its parsed ``iog.rewards.input/1`` document.

    Raises:
        RewardsInputError: The input is invalid (the message names the field).
    """
    with gc_paused():
        inp = validate_input(raw)
        return compute_validated(inp, inputs_sha256(raw, validated=True))


def compute(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The Python form of ``iog rewards compute``: input document in, output document out."""
    return compute_epoch(raw).to_json()
