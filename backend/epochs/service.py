"""What other parts read about epochs: node performance for the marketplace, a wallet's rewards and proof,
the epochs themselves."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.epochs import sources
from backend.epochs.clock import EpochClock, epoch_clock
from backend.models.epochs import COMPUTED, FINALIZED, POSTED, SUPERSEDED, Epoch, EpochDocument, EpochNode
from backend.models.telemetry import EpochUptime
from backend.rewards.merkle import MerkleTree, leaf_hash
from backend.rewards.schemas import parse_pubkey
from backend.telemetry import service as telemetry
from backend.telemetry import uptime

DAY = 86_400
#: States of an epoch whose output is stored.
DONE = (COMPUTED, POSTED, FINALIZED, SUPERSEDED)
#: States of an epoch whose root is on chain (or carried by a later posted root).
ON_CHAIN = (POSTED, FINALIZED)


@dataclass(frozen=True)
class NodePerformance:
    """A node's record, for the marketplace.

    Uptime is the share of the window's minutes with an accepted heartbeat, in basis points; a window longer
    than the network's life (since genesis) is cut to it. ``rewards`` are ``(epoch, reward)`` for the last 24
    computed epochs, oldest first (0 for an epoch the node was not in); ``payouts_7d`` sums the node's rewards
    (to its operator and delegators) in epochs that ended in the last 7 days: the basis of an APY estimate.
    Amounts are base units.
    """

    node_key: str
    uptime_bps_24h: int
    uptime_bps_7d: int
    uptime_bps_30d: int
    compute_gpu_seconds_7d: int
    rewards: tuple[tuple[int, int], ...]
    payouts_7d: int


def _uptime_bps(
    rows: list[tuple[str, int, bytes]], clock: EpochClock, node_keys: list[str], now: int, window: int
) -> dict[str, int]:
    since = max(clock.genesis, now - window)
    seconds = now - since
    lo, hi = clock.minute_at(since), clock.minute_at(now)  # whole minutes in [since, now)
    minutes: dict[str, int] = dict.fromkeys(node_keys, 0)
    for key, epoch, bitmap in rows:
        base = epoch * clock.minutes
        if base + clock.minutes <= lo or base >= hi:
            continue
        minutes[key] += sum(1 for m in uptime.minutes_set(bitmap) if lo <= base + m < hi)
    return {k: min(10_000, 60 * m * 10_000 // seconds) if seconds > 0 else 0 for k, m in minutes.items()}


def node_performance(
    session: Session, node_keys: list[str], now: int, clock: EpochClock | None = None
) -> dict[str, NodePerformance]:
    """Uptime over 24 h / 7 d / 30 d (bps), compute delivered over 7 d (GPU-seconds), rewards per epoch over the
    last 24 epochs and payouts of the last 7 days, per node key (device key).

    Args:
        session: A database session.
        node_keys: Device keys of the nodes (unknown keys get zeros).
        now: Unix time the windows end at.
        clock: The epoch schedule (default: from the process settings and bootstrap file).
    """
    from backend.config import get_settings

    clock = clock or epoch_clock(get_settings())
    keys = list(dict.fromkeys(node_keys))
    if not keys:
        return {}
    t = EpochUptime.__table__
    first = max(0, clock.epoch_at(max(clock.genesis, now - 30 * DAY)))
    rows = [
        (k, e, bytes(b))
        for k, e, b in session.execute(
            select(t.c.node_key, t.c.epoch, t.c.minutes).where(
                t.c.node_key.in_(keys), t.c.epoch >= first, t.c.epoch <= clock.epoch_at(now)
            )
        )
    ]
    up = {w: _uptime_bps(rows, clock, keys, now, w * DAY) for w in (1, 7, 30)}
    compute = telemetry.gpu_seconds_by_node(session, now - 7 * DAY, now)
    recent = list(
        session.scalars(select(Epoch.epoch).where(Epoch.state.in_(DONE)).order_by(Epoch.epoch.desc()).limit(24))
    )[::-1]
    week = set(
        session.scalars(select(Epoch.epoch).where(Epoch.state.in_(DONE), Epoch.end_time > now - 7 * DAY))
    )
    rewards: dict[tuple[str, int], int] = {}
    wanted = sorted(set(recent) | week)
    if wanted:
        for key, epoch, reward in session.execute(
            select(EpochNode.node_key, EpochNode.epoch, EpochNode.reward).where(
                EpochNode.node_key.in_(keys), EpochNode.epoch.in_(wanted)
            )
        ):
            if key is not None:
                rewards[(key, epoch)] = int(reward)
    return {
        k: NodePerformance(
            node_key=k,
            uptime_bps_24h=up[1][k],
            uptime_bps_7d=up[7][k],
            uptime_bps_30d=up[30][k],
            compute_gpu_seconds_7d=compute.get(k, 0),
            rewards=tuple((e, rewards.get((k, e), 0)) for e in recent),
            payouts_7d=sum(rewards.get((k, e), 0) for e in week),
        )
        for k in keys
    }


# --- epochs ------------------------------------------------------------------------------------------------


def list_epochs(session: Session, limit: int, offset: int) -> tuple[int, list[Epoch]]:
    """(total, a page of epochs newest first)."""
    total = int(session.scalar(select(func.count()).select_from(Epoch)) or 0)
    rows = session.scalars(select(Epoch).order_by(Epoch.epoch.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)


def get_epoch(session: Session, epoch: int) -> Epoch | None:
    """One epoch's row."""
    return session.get(Epoch, epoch)


def document(session: Session, epoch: int, which: str) -> bytes | None:
    """The exact stored ``input`` or ``output`` bytes of an epoch (None when not stored)."""
    row = session.get(Epoch, epoch)
    if row is None or row.inputs_sha256 is None:
        return None
    doc = session.get(EpochDocument, (epoch, row.inputs_sha256))
    if doc is None:
        return None
    return doc.input if which == "input" else doc.output


def node_epochs(session: Session, node: str, limit: int, offset: int) -> tuple[int, list[EpochNode]]:
    """A node's epoch results, newest first; ``node`` is its Node account or device key."""
    where = (EpochNode.node == node) | (EpochNode.node_key == node)
    total = int(session.scalar(select(func.count()).select_from(EpochNode).where(where)) or 0)
    rows = session.scalars(
        select(EpochNode).where(where).order_by(EpochNode.epoch.desc()).limit(limit).offset(offset)
    ).all()
    return total, list(rows)


# --- wallet rewards and proofs -----------------------------------------------------------------------------


class _Totals:
    """The lifetime totals of one stored output with their tree (built once per process per epoch)."""

    def __init__(self, output: bytes) -> None:
        doc = orjson.loads(output)
        self.cumulative = {t["wallet"]: int(t["cumulative"]) for t in doc["totals"]}
        self._tree: tuple[MerkleTree, dict[str, int]] | None = None

    def _built(self) -> tuple[MerkleTree, dict[str, int]]:
        if self._tree is None:  # built on the first proof asked of this epoch
            leaves = {w: leaf_hash(parse_pubkey(w, "wallet"), c) for w, c in self.cumulative.items()}
            tree = MerkleTree(list(leaves.values()))
            position = {leaf: i for i, leaf in enumerate(tree.levels[0])}
            self._tree = tree, {w: position[leaf] for w, leaf in leaves.items()}
        return self._tree

    @property
    def root(self) -> bytes:
        return self._built()[0].root

    def proof(self, wallet: str) -> tuple[int, list[bytes]] | None:
        if wallet not in self.cumulative:
            return None
        tree, position = self._built()
        return self.cumulative[wallet], tree.proof(position[wallet])


_cache: OrderedDict[tuple[int, str], _Totals] = OrderedDict()
_cache_lock = Lock()


def _totals(session: Session, row: Epoch) -> _Totals | None:
    key = (row.epoch, row.inputs_sha256 or "")
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    output = document(session, row.epoch, "output")
    if output is None:
        return None
    totals = _Totals(output)
    with _cache_lock:
        _cache[key] = totals
        while len(_cache) > 3:
            _cache.popitem(last=False)
    return totals


@dataclass(frozen=True)
class WalletRewards:
    """A wallet's rewards: what the latest posted root proves, what it claimed, what it can claim."""

    wallet: str
    epoch: int | None  # the latest posted epoch (None before any root)
    merkle_root: str | None
    lifetime_total: int  # in the latest posted root
    claimed: int
    claims: int
    claimable: int
    proof: list[bytes] | None
    computed_epoch: int | None  # the newest computed epoch (may be ahead of the posted one)
    computed_total: int


def latest_posted(session: Session) -> Epoch | None:
    """The newest epoch whose root is on chain."""
    return session.scalars(select(Epoch).where(Epoch.state.in_(ON_CHAIN)).order_by(Epoch.epoch.desc())).first()


def wallet_rewards(session: Session, wallet: str) -> WalletRewards:
    """Lifetime total and proof for the latest posted root, claimed (finalized Claimed events), claimable."""
    claimed, claims = sources.claimed_total(session, wallet)
    posted = latest_posted(session)
    total, proof, root = 0, None, None
    if posted is not None:
        totals = _totals(session, posted)
        if totals is not None:
            root = totals.root.hex()
            found = totals.proof(wallet)
            if found is not None:
                total, proof = found
    newest = session.scalars(select(Epoch).where(Epoch.state.in_(DONE)).order_by(Epoch.epoch.desc())).first()
    computed_total = total
    if newest is not None and (posted is None or newest.epoch != posted.epoch):
        newest_totals = _totals(session, newest)
        computed_total = newest_totals.cumulative.get(wallet, 0) if newest_totals is not None else 0
    return WalletRewards(
        wallet=wallet,
        epoch=posted.epoch if posted else None,
        merkle_root=root,
        lifetime_total=total,
        claimed=claimed,
        claims=claims,
        claimable=max(0, total - claimed),
        proof=proof,
        computed_epoch=newest.epoch if newest else None,
        computed_total=computed_total,
    )
