"""Step 1 of closing an epoch: the ``iog.rewards.input/1`` document, built from the database.

- nodes: every active node of the finalized staking projections, sorted by Node account; commission in force
  at the epoch's end (a scheduled change that matured by then applies); ``slashed`` when a finalized Slashed event
  has a block time inside the epoch; gpu model from the registry record (``unknown`` without one), gpu units as
  registered on chain;
- stake: each node's bonded positions (see :func:`backend.epochs.sources.stake_entries`), sorted by owner;
- uptime, continuous uptime and verified from heartbeats and challenges (by the node's device key); compute
  from usage records whose period starts inside the epoch;
- params: the parameter set in force (its version is recorded on the epoch) with the schedule's emission for
  the epoch; ``previous_totals``: the lifetime totals of the previous computed epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.epochs import params as param_sets
from backend.epochs import sources
from backend.epochs.clock import EpochClock
from backend.rewards.emission import IO_DECIMALS
from backend.rewards.emission import emission as scheduled_emission
from backend.rewards.schemas import INPUT_SCHEMA
from backend.staking.service import commission_at
from backend.telemetry import service as telemetry

UNKNOWN_MODEL = "unknown"


@dataclass(frozen=True)
class BuiltInput:
    """The document and what the epoch row records about how it was made."""

    doc: dict[str, Any]
    params_version: int
    as_of_slot: int | None
    node_keys: dict[str, str]  # node account -> device key (for per-node rows)


def emission_for(epoch: int, decimals: int) -> int:
    """The schedule's emission for ``epoch`` in base units of a mint with ``decimals`` (the schedule is in IO's
    8 decimals; other decimals are converted exactly when finer, floored when coarser)."""
    amount = scheduled_emission(epoch)
    if decimals >= IO_DECIMALS:
        return amount * 10 ** (decimals - IO_DECIMALS)
    return amount // 10 ** (IO_DECIMALS - decimals)


def previous_totals(output: bytes | None) -> dict[str, str]:
    """``wallet -> cumulative`` of a stored output document (empty for the first epoch)."""
    if output is None:
        return {}
    return {t["wallet"]: t["cumulative"] for t in orjson.loads(output)["totals"]}


def build_input(
    session: Session,
    settings: Settings,
    clock: EpochClock,
    epoch: int,
    decimals: int,
    program_id: str | None,
    previous_output: bytes | None,
) -> BuiltInput:
    """The epoch's input document (see the module docstring for where each field comes from)."""
    start, end = clock.start(epoch), clock.end(epoch)
    version, stored = param_sets.current(session, settings)
    chain = sources.chain_nodes(session)
    models = sources.gpu_models(session)
    stakes = sources.stake_entries(session)
    slashed = sources.slashed_nodes(session, start, end)
    uptime = telemetry.epoch_uptime(session, clock, epoch, settings.uptime_max_gap_minutes)
    verified = telemetry.verified_nodes(session, epoch)
    compute = telemetry.gpu_seconds_by_node(session, start, end)
    nodes = []
    node_keys: dict[str, str] = {}
    for pda in sorted(chain):
        c = chain[pda]
        if not c.active:
            continue
        key, model = models.get(pda, (None, UNKNOWN_MODEL))
        if key is not None:
            node_keys[pda] = key
        up, continuous = uptime.get(key, (0, 0)) if key else (0, 0)
        commission, _pending = commission_at(c.commission_bps, c.pending_commission_bps, c.commission_effective_at, end)
        nodes.append(
            {
                "node": pda,
                "operator": c.operator,
                "gpu_model": model,
                "gpu_units": c.gpu_units,
                "commission_bps": commission or 0,
                "uptime_seconds": up,
                "continuous_uptime_seconds": continuous,
                "verified": key in verified,
                "slashed": pda in slashed,
                "compute_gpu_seconds": compute.get(key, 0) if key else 0,
                "stake": [{"owner": owner, "amount": str(amount)} for owner, amount in stakes.get(pda, ())],
            }
        )
    doc = {
        "schema": INPUT_SCHEMA,
        "epoch": epoch,
        "epoch_seconds": clock.seconds,
        "params": {**stored, "emission": str(emission_for(epoch, decimals))},
        "nodes": nodes,
        "previous_totals": previous_totals(previous_output),
    }
    return BuiltInput(doc, version, sources.program_as_of_slot(session, program_id), node_keys)
