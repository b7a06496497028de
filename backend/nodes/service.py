"""The node registry and the wallet view: what other domains call (never the tables).

- :func:`create_record` / :func:`update_record`: an operator's record of a GPU machine (``draft`` until the
  finalized NodeRegistered event matches it: ``registered``, or ``conflict`` with the reason).
- :func:`sync_statuses`: the idempotent status transition, run on read and by ``tasks.sync_registry``.
- :func:`resolve_node`: a Node account or a node key -> the Node account.
- :func:`positions`: the ONE reader of a wallet's stake positions (see its docstring).
- :func:`as_of_slot`: the finalized slot the staking projections reflect.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.epochs.params import known_gpu_models
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.models.nodes import CONFLICT, DRAFT, REGISTERED, NodeRecord
from backend.nodes import onchain
from backend.nodes import repository as repo
from backend.nodes.schemas import NodeCreateIn, NodePatchIn
from backend.staking.service import commission_at, withdrawable


def as_of_slot(session: Session, settings: Settings) -> int | None:
    """The finalized slot up to which the staking program's events are indexed (None: not read yet)."""
    program = onchain.program_context(settings)
    return repo.synced_slot(session, str(program.program_id))


def _canonical(value: str, name: str) -> str:
    try:
        key = Pubkey.from_string(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: not a base58 public key ({exc})") from None
    if str(key) != value:
        raise InvalidInput(f"{name}: not a canonical base58 public key")
    return value


def resolve_node(session: Session, settings: Settings, given: str) -> str:
    """The Node account named by ``given``: the account itself, or the node key of one (through the registry or
    the PDA derivation). An unknown key comes back unchanged (the caller says it is not known)."""
    _canonical(given, "node")
    if repo.chain_node_exists(session, given) or repo.record_by_node(session, given) is not None:
        return given
    record = repo.record_by_key(session, given)
    if record is not None:
        return record.node
    derived = str(onchain.program_context(settings).client.node(Pubkey.from_string(given)))
    return derived if repo.chain_node_exists(session, derived) else given


# --- status transitions --------------------------------------------------------------------------------------------


def status_of(record: NodeRecord, reg: repo.Registration | None) -> tuple[str, str | None]:
    """(status, reason) of a record given the finalized registration of its node (None: not seen yet)."""
    if reg is None:
        return DRAFT, None
    reasons = []
    if reg.operator != record.operator:
        reasons.append(f"another operator: the chain registered this node for {reg.operator}")
    if reg.gpu_units != record.gpu_units:
        reasons.append(f"gpu_units differ: {reg.gpu_units} on chain, {record.gpu_units} in the registry")
    return (CONFLICT, "; ".join(reasons)) if reasons else (REGISTERED, None)


def sync_statuses(session: Session, records: Sequence[NodeRecord], now: int) -> int:
    """Bring ``records`` to the status the finalized events give; returns how many changed (idempotent)."""
    nodes = {r.node for r in records}
    # Many records (the scheduled pass): read every registration rather than bind one parameter per node.
    regs = repo.registrations(session, nodes if len(nodes) <= 500 else None)
    changed = 0
    for r in records:
        status, reason = status_of(r, regs.get(r.node))
        if (r.status, r.status_reason) != (status, reason):
            r.status, r.status_reason, r.updated_at = status, reason, now
            changed += 1
    if changed:
        session.flush()
    return changed


@dataclass(frozen=True)
class RegistryEntry:
    """What other domains read of a node's registry record (by its device key)."""

    node_key: str
    node: str
    operator: str
    name: str
    gpu_model: str
    gpu_units: int
    status: str


def _entry(r: NodeRecord) -> RegistryEntry:
    return RegistryEntry(r.node_key, r.node, r.operator, r.name, r.gpu_model, r.gpu_units, r.status)


def registry_by_node_key(session: Session, node_keys: Collection[str]) -> dict[str, RegistryEntry]:
    """Registry records of these device keys (absent keys: no record); for heartbeats, epochs and metering."""
    from sqlalchemy import select

    keys = list(dict.fromkeys(node_keys))
    out: dict[str, RegistryEntry] = {}
    for i in range(0, len(keys), 5_000):
        for r in session.scalars(select(NodeRecord).where(NodeRecord.node_key.in_(keys[i : i + 5_000]))):
            out[r.node_key] = _entry(r)
    return out


def registry_all(session: Session) -> list[RegistryEntry]:
    """Every registry record (the epoch runner reads each node's GPU model)."""
    from sqlalchemy import select

    return [_entry(r) for r in session.scalars(select(NodeRecord))]


def records_for_nodes(session: Session, nodes: Sequence[str], now: int) -> dict[str, NodeRecord]:
    """Registry records of these Node accounts, statuses brought up to date."""
    records = repo.records_by_nodes(session, nodes)
    sync_statuses(session, records, now)
    return {r.node: r for r in records}


def get_record(session: Session, settings: Settings, given: str, now: int) -> NodeRecord:
    """The registry record of a node (Node account or node key), status up to date; NotFound otherwise."""
    _canonical(given, "node")
    record = repo.record_by_key(session, given) or repo.record_by_node(session, given)
    if record is None:
        raise NotFound(f"the registry has no record of node {given}")
    sync_statuses(session, [record], now)
    return record


# --- create / update -----------------------------------------------------------------------------------------------


def check_gpu_model(session: Session, settings: Settings, gpu_model: str) -> None:
    """``InvalidInput`` naming the known models when ``gpu_model`` is not one of them."""
    known = known_gpu_models(session, settings)
    if gpu_model not in known:
        raise InvalidInput(f"gpu_model: {gpu_model!r} is not a known GPU model; known: {', '.join(known)}")


def _clean(text: str, name: str) -> str:
    text = text.strip()
    if not text or any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{name}: must be non-empty text without control characters")
    return text


def prepare_record(
    session: Session, settings: Settings, operator: str, body: NodeCreateIn, node: str, now: int
) -> NodeRecord:
    """The draft record for ``body`` (new, or the caller's own draft of this node key updated): checked before
    any transaction is built, written by the caller once the transaction is."""
    node_key = _canonical(body.node_key, "node_key")
    check_gpu_model(session, settings, body.gpu_model)
    fields = {
        "name": _clean(body.name, "name"),
        "gpu_model": body.gpu_model,
        "gpu_units": body.gpu_units,
        "vram_gb": body.vram_gb,
        "region": _clean(body.region, "region"),
        "description": body.description,
        "commission_bps": body.commission_bps,
    }
    record = repo.record_by_key(session, node_key)
    if record is None:
        return NodeRecord(
            node_key=node_key, node=node, operator=operator, status=DRAFT, created_at=now, updated_at=now, **fields
        )
    sync_statuses(session, [record], now)
    if record.operator != operator:
        raise Conflict(f"node key {node_key} is in the registry under another operator ({record.operator})")
    if record.status != DRAFT:
        raise Conflict(f"node {record.node} is already {record.status}: edit it with PATCH /nodes/{record.node}")
    if record.gpu_model != body.gpu_model:
        record.gpu_model_changed_at = now
    for k, v in fields.items():
        setattr(record, k, v)
    record.updated_at = now
    return record


def update_record(
    session: Session, settings: Settings, operator: str, given: str, patch: NodePatchIn, now: int
) -> NodeRecord:
    """Apply ``patch`` to the operator's record (403 for anyone else)."""
    record = get_record(session, settings, given, now)
    if record.operator != operator:
        raise Forbidden(f"only the node's operator ({record.operator}) can edit its record")
    changed = False
    for name in ("name", "region"):
        value = getattr(patch, name)
        if value is not None and value != getattr(record, name):
            setattr(record, name, _clean(value, name))
            changed = True
    if "description" in patch.model_fields_set and patch.description != record.description:
        record.description = patch.description
        changed = True
    if patch.gpu_model is not None and patch.gpu_model != record.gpu_model:
        check_gpu_model(session, settings, patch.gpu_model)
        record.gpu_model, record.gpu_model_changed_at = patch.gpu_model, now
        changed = True
    if changed:
        record.updated_at = now
        session.flush()
    return record


# --- positions -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """One unbonding entry of a position: what was requested, what it is worth now, when it unlocks."""

    amount: int
    value: int
    unlock_time: int
    matured: bool


@dataclass(frozen=True)
class PositionView:
    """A wallet's stake on one node, as the wallet view shows it."""

    node: str
    bonded: int
    unbonding: int
    unlock_time: int | None
    withdrawable: int
    entries: list[EntryView]
    withdrawn: int
    last_slot: int
    operator: str | None
    active: bool
    commission_bps: int | None
    pending_commission_bps: int | None
    commission_effective_at: int | None


def positions(session: Session, wallet: str, now: int) -> list[PositionView]:
    """Every stake position of ``wallet`` evaluated at ``now``: the one place positions are read for the wallet
    view. ``unbonding`` is the value of every unbonding entry, ``unlock_time`` the earliest, ``withdrawable`` what
    ``withdraw`` pays now (the matured entries' shares valued together, as the program does)."""
    from backend.staking import repository as staking_repo

    rows = repo.wallet_positions(session, wallet)
    entries = staking_repo.entries(session, [(p.node, p.owner) for p, _n in rows])
    pools = staking_repo.unbonding_pools(session, sorted({p.node for p, _n in rows}))
    out = []
    for p, n in rows:
        mine = entries.get((p.node, p.owner), [])
        pool_stake, pool_shares = pools.get(p.node, (0, 0))
        if n is not None:
            commission, pending = commission_at(
                n.commission_bps, n.pending_commission_bps, n.commission_effective_at, now
            )
        else:
            commission, pending = None, None
        out.append(
            PositionView(
                node=p.node,
                bonded=int(p.bonded),
                unbonding=int(p.unbonding),
                unlock_time=p.unlock_time,
                withdrawable=withdrawable([(e.shares, e.unlock_time) for e in mine], pool_stake, pool_shares, now),
                entries=[EntryView(int(e.amount), int(e.value), e.unlock_time, e.unlock_time <= now) for e in mine],
                withdrawn=int(p.withdrawn),
                last_slot=int(p.last_slot),
                operator=n.operator if n is not None else None,
                active=bool(n.active) if n is not None else False,
                commission_bps=commission,
                pending_commission_bps=pending,
                commission_effective_at=n.commission_effective_at if pending is not None and n is not None else None,
            )
        )
    return out


def ensure_demo_record(
    session: Session,
    node_key: str,
    node: str,
    operator: str,
    name: str,
    gpu_model: str,
    gpu_units: int,
    vram_gb: int,
    commission_bps: int,
    now: int,
) -> RegistryEntry:
    """A registry record for a node the demo seed put on chain (``iog run``); the existing one when there is."""
    record = session.get(NodeRecord, node_key)
    if record is None:
        record = NodeRecord(
            node_key=node_key, node=node, operator=operator, name=name, gpu_model=gpu_model, gpu_units=gpu_units,
            vram_gb=vram_gb, region="local", description="demo node (iog run)", commission_bps=commission_bps,
            status=REGISTERED, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(record)
        session.flush()
    return _entry(record)
