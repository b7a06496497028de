"""Versioned reward parameters: every change is a new version; an epoch records the version it used.

The stored set is the engine's ``params`` without ``emission`` (that comes from the schedule for the epoch).
Before any version is stored, version 0 is the defaults below (amounts in base units of the IO decimals).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import InvalidInput
from backend.models.epochs import RewardParamSet
from backend.money import io_unit
from backend.rewards.errors import RewardsInputError
from backend.rewards.schemas import validate_params

#: GPU models and their weight (10000 = one base GPU): what the network rewards and what nodes may register as.
DEFAULT_GPU_MULTIPLIERS_BPS = {"A100": 10_000, "H100": 25_000, "L40S": 8_000, "RTX3090": 2_500, "RTX4090": 4_000}


def defaults(decimals: int) -> dict[str, Any]:
    """Version 0: 5% of emission to the community (grants) treasury, 30% of the GPU pool for compute, 90%
    uptime and 5 h continuous uptime to qualify, 200 IO own stake per GPU."""
    return {
        "community_bps": 500,
        "compute_share_bps": 3_000,
        "min_uptime_bps": 9_000,
        "min_continuous_uptime_seconds": 5 * 3600,
        "min_stake_per_gpu": str(200 * io_unit(decimals)),
        "gpu_multipliers_bps": dict(DEFAULT_GPU_MULTIPLIERS_BPS),
    }


def canonical(doc: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def current(session: Session, settings: Settings) -> tuple[int, dict[str, Any]]:
    """(version, parameter set) in force: the newest stored version, else version 0 (the defaults)."""
    row = session.execute(select(RewardParamSet).order_by(RewardParamSet.version.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return 0, defaults(settings.io_decimals)
    return row.version, json.loads(row.params)


def get(session: Session, settings: Settings, version: int) -> dict[str, Any]:
    """The parameter set of ``version`` (0 = the defaults)."""
    if version == 0:
        return defaults(settings.io_decimals)
    row = session.get(RewardParamSet, version)
    if row is None:
        raise InvalidInput(f"version: no reward parameter set {version}")
    return json.loads(row.params)


def put(session: Session, doc: Any, now: int, note: str = "") -> int:
    """Validate ``doc`` (the engine's params without ``emission``) and store it as the next version."""
    if not isinstance(doc, dict):
        raise InvalidInput("params: must be a JSON object")
    if "emission" in doc:
        raise InvalidInput("params.emission: set by the emission schedule, not by a parameter set")
    try:
        validate_params({**doc, "emission": "0"})
    except RewardsInputError as exc:
        raise InvalidInput(exc.message) from None
    newest = session.execute(select(func.max(RewardParamSet.version))).scalar() or 0
    session.add(RewardParamSet(version=newest + 1, params=canonical(doc), created_at=now, note=note[:256]))
    session.flush()
    return newest + 1


def known_gpu_models(session: Session, settings: Settings) -> list[str]:
    """The GPU models the parameters in force know (what a node may register as), sorted."""
    return sorted(current(session, settings)[1]["gpu_multipliers_bps"])
