"""What ``iog run`` adds for the demo network so that its nodes earn: registry records and a parameter set.

- A registry record for each demo node the bootstrap seeded on chain (through the nodes domain), with a GPU
  model (alpha: A100, beta: RTX4090), so their agents' heartbeats are accepted and the marketplace names them.
- A new parameter version with a continuous-uptime minimum of 2 minutes instead of 5 hours (the demo's epochs
  are 60 s; nothing could qualify for hours). Only when the version in force asks for more; the other
  parameters are kept.

Both steps are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.chain.bootfile import BootstrapFile
from backend.config import Settings
from backend.epochs import params
from backend.nodes.service import ensure_demo_record

DEMO_MODELS = {"alpha": ("A100", 80), "beta": ("RTX4090", 24)}
DEMO_MIN_CONTINUOUS_SECONDS = 120
NOTE = "demo (iog run): 60 s epochs, continuous uptime minimum 2 minutes"


@dataclass(frozen=True)
class DemoAgent:
    """An agent ``iog run`` starts: the node's key file and what it reports."""

    name: str
    key_path: str
    gpu_model: str
    gpu_units: int


def prepare_demo(session: Session, settings: Settings, boot: BootstrapFile, now: int) -> list[DemoAgent]:
    """Ensure records and parameters for the demo nodes; return the agents to start (none without a demo)."""
    if boot.demo is None:
        return []
    agents = []
    for node in boot.demo.nodes:
        model, vram = DEMO_MODELS.get(node.name, ("A100", 80))
        record = ensure_demo_record(
            session, node.node_key, node.node, node.operator, node.name, model, node.gpu_units, vram,
            node.commission_bps, now,
        )  # fmt: skip
        if node.status == "active":
            agents.append(DemoAgent(node.name, node.node_keypair_path, record.gpu_model, node.gpu_units))
    _version, current = params.current(session, settings)
    if current["min_continuous_uptime_seconds"] > DEMO_MIN_CONTINUOUS_SECONDS:
        params.put(session, {**current, "min_continuous_uptime_seconds": DEMO_MIN_CONTINUOUS_SECONDS}, now, NOTE)
    session.flush()
    return agents
