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
from itertools import chain, repeat
from operator import floordiv, mul, ne, sub
from struct import Struct
from typing import Any, NamedTuple

from backend.rewards.errors import RewardsInputError, WalletNotInTotals
from backend.rewards.merkle import MerkleTree
from backend.rewards.schemas import (
    BPS_DENOMINATOR,
    OUTPUT_SCHEMA,
    U64_MAX,
    EpochInput,
    NodeInput,
    Params,
    segment_sums,
    validate_input,
)
from backend.rewards.splits import split_unchecked

try:  # optional: only a faster route to the same bytes for rule 8 (see canonical_json)
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    orjson = None  # type: ignore[assignment]

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
    parallel to it. ``payouts`` are this epoch's positive payouts, sorted by wallet.
    """

    epoch: int
    inputs_sha256: str
    pool: Pool
    nodes: list[NodeResult]
    payouts: list[tuple[str, int]]
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
            "payouts": [{"wallet": w, "amount": str(a)} for w, a in self.payouts],
            "totals": [
                {"wallet": w, "cumulative": c}
                for w, c in zip(self.wallets, map(str, self.cumulative), strict=True)
            ],
            "merkle_root": self.tree.root.hex(),
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk computation.

    The engine allocates millions of acyclic objects (ints, tuples, small lists) next to a large live input;
    without this, each generation-2 collection re-walks the whole input and the run grows superlinearly.
    Reference counting still frees everything; the collector is restored (if it was on) afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def canonical_json(raw: Any, validated: bool = False) -> bytes:
    """``json.dumps(raw, sort_keys=True, separators=(",", ":"))`` as UTF-8 bytes (rule 8's hash input).

    For a validated input (only dicts with str keys, lists, str, int within u64, bool) orjson, when
    installed, produces the same bytes about 7x faster as long as its output is pure ASCII without DEL:
    json.dumps escapes every other character (``ensure_ascii``) while orjson writes DEL and non-ASCII raw, so
    any such output falls back to json.dumps. tests/backend/rewards/test_engine.py checks the equivalence.
    """
    if validated and orjson is not None:
        try:
            fast: bytes = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            fast = b"\x7f"
        if fast.isascii() and b"\x7f" not in fast:
            return fast
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), check_circular=not validated)
    return text.encode("utf-8")


def inputs_sha256(raw: Any, validated: bool = False) -> str:
    """Rule 8: sha256 of ``json.dumps(input, sort_keys=True, separators=(",", ":"))`` as UTF-8.

    ``validated`` promises that ``raw`` passed :func:`validate_input`, which allows a faster encoder.
    """
    return sha256(canonical_json(raw, validated)).hexdigest()


def split_pool(emission: int, community_bps: int, compute_share_bps: int) -> tuple[int, int, int]:
    """Rule 1: (community, availability, compute) of an emission."""
    community = emission * community_bps // BPS_DENOMINATOR
    gpu_pool = emission - community
    compute = gpu_pool * compute_share_bps // BPS_DENOMINATOR
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
    if node.uptime_seconds * BPS_DENOMINATOR < params.min_uptime_bps * epoch_seconds:
        reasons.append("uptime_below_minimum")
    if node.continuous_uptime_seconds < params.min_continuous_uptime_seconds:
        reasons.append("continuous_uptime_below_minimum")
    return tuple(reasons)


def _split_pool_over(total: int, weights: list[int], keys: list[str]) -> list[int] | None:
    """Rule 3: split a pool by weight, or None when the total weight is 0 (the pool is unallocated)."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return None
    return split_unchecked(total, weights, keys, weight_sum)


def _pay_stake(inp: EpochInput, rewards: list[int], acc: list[int]) -> list[int]:
    """Rules 4 and 5 for every node at once: split each node's reward over its stake entries (flat columns),
    take commission from delegated shares, and add the payouts into ``acc`` (indexed by wallet id).

    Returns each node's operator commission. Wallet ids are ranks of the sorted wallet strings, so ordering by
    id is the rule's string order.
    """
    nodes = inp.nodes
    owner_ids = inp.owner_ids
    counts = [n.stake_end - n.stake_start for n in nodes]
    divisors = [n.total_stake or 1 for n in nodes]  # a node without stake has reward 0 (rule 2: no_stake)
    # Per entry: reward * amount, then // the node's total stake (iterators avoid per-entry temporaries).
    products = list(map(mul, chain.from_iterable(map(repeat, rewards, counts)), inp.amounts))
    shares = list(map(floordiv, products, chain.from_iterable(map(repeat, divisors, counts))))
    bounds = [n.stake_start for n in nodes] + [len(shares)]
    for n, reward, base in zip(nodes, rewards, segment_sums(shares, bounds), strict=True):
        left = reward - base
        if left:
            # Largest remainder, ties to the smaller owner; only positive remainders can win (left < their
            # count).
            s, e, d = n.stake_start, n.stake_end, n.total_stake
            ranked = sorted(zip([-(x % d) for x in products[s:e]], owner_ids[s:e], range(s, e), strict=True))
            for _, _, j in ranked[:left]:
                shares[j] += 1
    del products
    # commission = share * bps // 10000 on delegated entries; times 0 for the operator's own entry.
    bps = chain.from_iterable(map(repeat, [n.commission_bps for n in nodes], counts))
    delegated = map(ne, owner_ids, inp.entry_operator_ids)
    commissions = list(map(floordiv, map(mul, map(mul, shares, bps), delegated), repeat(BPS_DENOMINATOR)))
    for wallet, net in zip(owner_ids, map(sub, shares, commissions), strict=True):
        acc[wallet] += net
    per_node = segment_sums(commissions, bounds)
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
    avail_w = []
    compute_w = []
    for i in eligible:
        n = nodes[i]
        m = multipliers[n.gpu_model]
        avail_w.append(n.gpu_units * m * n.uptime_seconds)
        compute_w.append(n.compute_gpu_seconds * m)
    unallocated = 0
    avail_parts = _split_pool_over(availability, avail_w, keys)
    if avail_parts is None:
        unallocated += availability
        avail_parts = [0] * len(eligible)
    compute_parts = _split_pool_over(compute, compute_w, keys)
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
    totals = [a + b for a, b in zip(inp.previous, acc, strict=True)]
    if totals and max(totals) > U64_MAX:
        wallet = all_wallets[next(i for i, t in enumerate(totals) if t > U64_MAX)]
        raise RewardsInputError(f"previous_totals.{wallet}", "lifetime total would exceed u64")
    payouts = [(all_wallets[i], a) for i, a in enumerate(acc) if a]
    total_ids = [i for i, t in enumerate(totals) if t]
    wallets = [all_wallets[i] for i in total_ids]
    cumulative = [totals[i] for i in total_ids]
    wallet_keys = [inp.wallet_bytes[i] for i in total_ids]
    leaves = [sha256(_pack_leaf(k, c)).digest() for k, c in zip(wallet_keys, cumulative, strict=True)]
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    positions = [0] * len(order)  # the inverse permutation of `order`: wallet -> leaf position
    for rank, i in enumerate(order):
        positions[i] = rank
    tree = MerkleTree(list(map(leaves.__getitem__, order)), presorted=True)

    node_sum = sum(r.reward for r in results)
    # Conservation is the engine's contract; a failure here is a bug, never bad input.
    if community + node_sum + unallocated != p.emission or sum(acc) != node_sum or sum(rewards) != node_sum:
        raise RuntimeError("conservation violated")
    return EpochResult(
        epoch=inp.epoch,
        inputs_sha256=digest,
        pool=Pool(p.emission, community, availability, compute, unallocated),
        nodes=results,
        payouts=payouts,
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
