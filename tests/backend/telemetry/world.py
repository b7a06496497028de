"""A node network in the database, written the way the registry and the indexer write it (no chain)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session

from backend.chain import ids, pdas
from backend.models.indexer import FINALIZED, ProgramEvent
from backend.models.nodes import REGISTERED, NodeRecord
from backend.models.staking import StakePosition, StakingNode
from backend.telemetry import heartbeats


@dataclass
class SimNode:
    """A node whose device key this test holds."""

    keypair: Keypair
    node: str
    operator: str
    gpu_model: str
    gpu_units: int
    seq: int = 0
    stake: list[tuple[str, int]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.keypair.pubkey())

    def beat(self, ts: int, **overrides: Any) -> dict[str, Any]:
        """A signed heartbeat with the next seq (``overrides`` change the payload before signing)."""
        self.seq += 1
        payload = {"node": self.key, "seq": self.seq, "ts": ts, "gpu_model": self.gpu_model,
                   "gpu_units": self.gpu_units, **overrides}  # fmt: skip
        return heartbeats.sign(self.keypair, payload)


def add_node(
    session: Session,
    *,
    gpu_model: str = "A100",
    gpu_units: int = 8,
    active: bool = True,
    on_chain: bool = True,
    record: bool = True,
    operator: str | None = None,
    commission_bps: int = 500,
    stake: list[tuple[str, int]] | None = None,
    program_id: Pubkey | None = None,
) -> SimNode:
    """A registry record, the chain projection (NodeRegistered event, node row) and stake positions."""
    kp = Keypair()
    node = str(pdas.node_pda(program_id or ids.default_program_id(), kp.pubkey())[0])
    op = operator or str(Keypair().pubkey())
    if record:
        session.add(
            NodeRecord(
                node_key=str(kp.pubkey()), node=node, operator=op, name=f"n-{node[:6]}", gpu_model=gpu_model,
                gpu_units=gpu_units, vram_gb=80, region="eu", commission_bps=commission_bps, status=REGISTERED,
                created_at=0, updated_at=0,
            )
        )  # fmt: skip
    entries = stake if stake is not None else [(op, 10**12)]
    if on_chain:
        total = sum(a for _, a in entries)
        session.add(
            StakingNode(node=node, operator=op, commission_bps=commission_bps, active=active, total_stake=total,
                        total_shares=total)
        )  # fmt: skip
        fields = {"node": node, "operator": op, "nodeKey": str(kp.pubkey()), "gpuUnits": gpu_units,
                  "commissionBps": commission_bps}  # fmt: skip
        session.add(
            ProgramEvent(
                signature=f"reg-{node}", ix_path="1", event_index=0, slot=1, block_time=0, program_id="p",
                name="NodeRegistered", subject=node, owner=op, fields=json.dumps(fields), raw="", status=FINALIZED,
            )
        )  # fmt: skip
        for owner, amount in entries:
            session.add(StakePosition(node=node, owner=owner, shares=amount, bonded=amount))
    session.flush()
    return SimNode(kp, node, op, gpu_model, gpu_units, stake=entries)
