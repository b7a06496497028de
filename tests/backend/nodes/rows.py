"""Indexer-shaped rows for the nodes domain's tests and bench: projections, finalized events, registry records.

Written with core bulk inserts, so the bench can make 100,000 nodes quickly; the values are what the indexer
writes (events' fields as the IDL decoder renders them: u64 as strings, smaller ints as numbers).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.models.indexer import IndexerCursor, ProgramEvent
from backend.models.nodes import NodeRecord
from backend.models.staking import StakePosition, StakeUnbondingEntry, StakingNode

IO = 10**8
MIN_PER_GPU = 200 * IO
PROGRAM = str(Pubkey.new_unique())
GPU_MODELS = ["A100", "H100", "L40S", "RTX3090", "RTX4090"]
REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south", "ap-east", "sa-east", "af-south"]


def key() -> str:
    return str(Pubkey.new_unique())


def config_event(min_per_gpu: int = MIN_PER_GPU, cap_bps: int = 5_000, slot: int = 1) -> dict[str, Any]:
    params = {
        "minStakePerGpu": str(min_per_gpu), "cooldownSeconds": "1209600", "commissionNoticeSeconds": "86400",
        "maxEpochRewards": str(10**6 * IO), "maxDelegationBps": cap_bps, "maxCommissionBps": 10_000,
        "maxSlashBps": 500, "paused": False,
    }  # fmt: skip
    return event("ConfigUpdated", None, slot, {"admin": key(), "params": params})


def event(name: str, subject: str | None, slot: int, fields: dict[str, Any], block_time: int | None = None) -> dict:
    return {
        "signature": f"sig-{name[:12]}-{uuid.uuid4().hex}", "ix_path": "0", "event_index": 0,
        "slot": slot, "block_time": block_time, "program_id": PROGRAM, "name": name, "subject": subject,
        "owner": fields.get("owner"), "fields": json.dumps(fields, sort_keys=True), "raw": "", "error": None,
        "status": "finalized",
    }  # fmt: skip


@dataclass
class Net:
    """What was written, for the assertions."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> facts


def add_node(
    rows: dict[str, list[dict]],
    *,
    operator: str | None = None,
    gpu_units: int = 1,
    operator_stake: int = 400 * IO,
    delegations: tuple[int, ...] = (),
    commission: int = 500,
    pending: tuple[int, int] | None = None,
    active: bool = True,
    registered_at: int = 1_700_000_000,
    slot: int = 10,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one node's rows (projection, positions, NodeRegistered, optional registry record) to ``rows``."""
    node, node_key, operator = key(), key(), operator or key()
    total = operator_stake + sum(delegations)
    rows["nodes"].append(
        {
            "node": node, "operator": operator, "commission_bps": commission,
            "pending_commission_bps": pending[0] if pending else commission,
            "commission_effective_at": pending[1] if pending else registered_at, "active": active,
            "total_stake": total, "total_shares": total, "unbonding_stake": 0, "unbonding_shares": 0,
            "slashed_total": 0, "last_slot": slot,
        }
    )  # fmt: skip
    owners = [(operator, operator_stake)] + [(key(), d) for d in delegations]
    for owner, amount in owners:
        if amount:
            rows["positions"].append(
                {"node": node, "owner": owner, "shares": amount, "unbonding_shares": 0, "bonded": amount,
                 "unbonding": 0, "unlock_time": None, "withdrawn": 0, "last_slot": slot}
            )  # fmt: skip
    fields = {
        "node": node,
        "operator": operator,
        "nodeKey": node_key,
        "gpuUnits": gpu_units,
        "commissionBps": commission,
    }
    rows["events"].append(event("NodeRegistered", node, slot, fields, registered_at))
    if record is not None:
        rows["records"].append(
            {
                "node_key": node_key, "node": node, "operator": record.get("operator", operator),
                "name": record.get("name", f"node-{node[:6]}"), "gpu_model": record.get("gpu_model", "A100"),
                "gpu_units": record.get("gpu_units", gpu_units), "vram_gb": 80,
                "region": record.get("region", "eu-west"),
                "description": None, "commission_bps": commission, "status": "draft", "status_reason": None,
                "created_at": registered_at, "updated_at": registered_at, "gpu_model_changed_at": None,
            }
        )  # fmt: skip
    return {"node": node, "node_key": node_key, "operator": operator, "total": total}


def empty_rows() -> dict[str, list[dict]]:
    return {"nodes": [], "positions": [], "entries": [], "events": [], "records": []}


def add_unbonding(
    rows: dict[str, list[dict]], node: str, owner: str, amount: int, unlock: int, bonded: int = 0, slot: int = 12
) -> None:
    """A position holding ``bonded`` and one unbonding entry of ``amount`` (one share per base unit of a fresh
    unbonding pool), and the node's unbonding pool grown by it, as the indexer projects a request_unstake."""
    rows["positions"].append(
        {"node": node, "owner": owner, "shares": bonded, "unbonding_shares": amount, "bonded": bonded,
         "unbonding": amount, "unlock_time": unlock, "withdrawn": 4, "last_slot": slot}
    )  # fmt: skip
    rows["entries"].append(
        {"node": node, "owner": owner, "signature": f"sig-unstake-{uuid.uuid4().hex}", "event_index": 0,
         "slot": slot, "amount": amount, "shares": amount, "value": amount, "unlock_time": unlock}
    )  # fmt: skip
    n = next(r for r in rows["nodes"] if r["node"] == node)
    n["unbonding_stake"] = n.get("unbonding_stake", 0) + amount
    n["unbonding_shares"] = n.get("unbonding_shares", 0) + amount


def write(session: Session, rows: dict[str, list[dict]], synced_slot: int = 100) -> None:
    """Bulk insert ``rows`` and set the program's cursor (as_of_slot)."""
    for model, name in ((StakingNode, "nodes"), (StakePosition, "positions"), (StakeUnbondingEntry, "entries"),
                        (ProgramEvent, "events"), (NodeRecord, "records")):  # fmt: skip
        batch = rows.get(name, [])
        for i in range(0, len(batch), 5_000):
            session.execute(insert(model), batch[i : i + 5_000])
    if session.get(IndexerCursor, PROGRAM) is None:
        session.add(IndexerCursor(address=PROGRAM, last_slot=synced_slot, synced_slot=synced_slot))
    session.flush()


def synthetic(n: int, seed: int = 7) -> dict[str, list[dict]]:
    """``n`` varied nodes (a third with a registry record, a tenth inactive, some with delegations)."""
    rng = random.Random(seed)
    rows = empty_rows()
    rows["events"].append(config_event())
    for i in range(n):
        gpus = rng.randint(1, 8)
        own = rng.choice([0, MIN_PER_GPU * gpus, 2 * MIN_PER_GPU * gpus, rng.randint(1, 5 * MIN_PER_GPU * gpus)])
        dels = tuple(rng.randint(1, own // 2 + 1) for _ in range(rng.choice([0, 0, 1, 2]))) if own else ()
        record = {"gpu_model": rng.choice(GPU_MODELS), "region": rng.choice(REGIONS)} if i % 3 == 0 else None
        pending = (rng.randint(0, 3_000), 1_900_000_000) if rng.random() < 0.05 else None
        add_node(
            rows, gpu_units=gpus, operator_stake=own, delegations=dels, commission=rng.randint(0, 3_000),
            pending=pending, active=rng.random() > 0.1, registered_at=1_700_000_000 + rng.randint(0, 10**7),
            slot=rng.randint(1, 99), record=record,
        )  # fmt: skip
    return rows
