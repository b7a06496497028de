"""Routes: nodes, their stake positions, and a wallet's positions (read-only, from finalized projections)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from backend.deps import NowDep, PageDep, SessionDep, pubkey
from backend.errors import NotFound
from backend.models.staking import StakePosition, StakingNode
from backend.nodes import service as nodes
from backend.staking import repository as repo
from backend.staking.schemas import (
    NodeOut,
    NodePage,
    NodePositions,
    PositionOut,
    UnbondingEntryOut,
    WalletPositions,
)
from backend.staking.service import commission_at, delegated_share_bps, withdrawable

router = APIRouter(tags=["staking"])


def _nodes_out(session: Session, rows: Sequence[StakingNode], now: int, slot: int | None) -> list[NodeOut]:
    keys = [r.node for r in rows]
    gpus, own, counts = (
        repo.gpu_units(session, keys),
        repo.operator_stakes(session, keys),
        repo.position_counts(session, keys),
    )
    records = nodes.records_for_nodes(session, keys, now)
    out = []
    for r in rows:
        rec = records.get(r.node)
        commission, pending = commission_at(r.commission_bps, r.pending_commission_bps, r.commission_effective_at, now)
        op = own.get(r.node, 0)
        out.append(
            NodeOut(
                node=r.node,
                operator=r.operator,
                gpu_units=gpus.get(r.node),
                commission_bps=commission,
                pending_commission_bps=pending,
                commission_effective_at=r.commission_effective_at if pending is not None else None,
                status="active" if r.active else "inactive",
                total_stake=str(r.total_stake),
                unbonding_stake=str(r.unbonding_stake),
                operator_stake=str(op),
                delegated_stake=str(max(0, r.total_stake - op)),
                delegated_share_bps=delegated_share_bps(r.total_stake, op),
                slashed_total=str(r.slashed_total),
                positions=counts.get(r.node, 0),
                last_slot=r.last_slot,
                node_key=rec.node_key if rec else None,
                name=rec.name if rec else None,
                gpu_model=rec.gpu_model if rec else None,
                vram_gb=rec.vram_gb if rec else None,
                region=rec.region if rec else None,
                description=rec.description if rec else None,
                record_status=rec.status if rec else None,  # type: ignore[arg-type]
                record_status_reason=rec.status_reason if rec else None,
                as_of_slot=slot,
            )
        )
    return out


def _positions_out(session: Session, rows: Sequence[StakePosition], now: int) -> list[PositionOut]:
    keys = [(p.node, p.owner) for p in rows]
    entries, pools = repo.entries(session, keys), repo.unbonding_pools(session, sorted({p.node for p in rows}))
    out = []
    for p in rows:
        mine = entries.get((p.node, p.owner), [])
        stake, shares = pools.get(p.node, (0, 0))
        out.append(
            PositionOut(
                node=p.node,
                owner=p.owner,
                shares=str(p.shares),
                bonded=str(p.bonded),
                unbonding_shares=str(p.unbonding_shares),
                unbonding=str(p.unbonding),
                unlock_time=p.unlock_time,
                withdrawable=str(withdrawable([(e.shares, e.unlock_time) for e in mine], stake, shares, now)),
                withdrawn=str(p.withdrawn),
                entries=[
                    UnbondingEntryOut(
                        amount=str(e.amount),
                        value=str(e.value),
                        unlock_time=e.unlock_time,
                        withdrawable=e.unlock_time <= now,
                        signature=e.signature,
                    )
                    for e in mine
                ],
                last_slot=p.last_slot,
            )
        )
    return out


@router.get("/nodes", response_model=NodePage, summary="Nodes with stake, commission and delegated share")
def list_nodes(request: Request, session: SessionDep, page: PageDep, now: NowDep) -> NodePage:
    """A page of nodes, largest bonded stake first, with their registry records."""
    slot = nodes.as_of_slot(session, request.app.state.settings)
    rows = repo.list_nodes(session, page.limit, page.offset)
    return NodePage(
        items=_nodes_out(session, rows, now, slot),
        total=repo.count_nodes(session),
        limit=page.limit,
        offset=page.offset,
        as_of_slot=slot,
    )


@router.get("/nodes/{node}", response_model=NodeOut, summary="One node")
def get_node(node: str, request: Request, session: SessionDep, now: NowDep) -> NodeOut:
    """One node by its account address or its node key; ``NotFound`` when the indexer has not seen it."""
    settings = request.app.state.settings
    slot = nodes.as_of_slot(session, settings)
    row = repo.get_node(session, nodes.resolve_node(session, settings, pubkey(node, "node")))
    if row is None:
        raise NotFound(f"node {node} is not known (indexed up to finalized slot {slot}): see /nodes/{node}/record")
    return _nodes_out(session, [row], now, slot)[0]


@router.get("/nodes/{node}/positions", response_model=NodePositions, summary="Stake positions on a node")
def node_positions(node: str, request: Request, session: SessionDep, page: PageDep, now: NowDep) -> NodePositions:
    """A page of the node's positions (node: account or node key), largest bonded first."""
    settings = request.app.state.settings
    node = nodes.resolve_node(session, settings, pubkey(node, "node"))
    if repo.get_node(session, node) is None:
        raise NotFound(f"node {node} is not known")
    rows = repo.node_positions(session, node, page.limit, page.offset)
    total = repo.position_counts(session, [node]).get(node, 0)
    items = _positions_out(session, rows, now)
    slot = nodes.as_of_slot(session, settings)
    return NodePositions(node=node, items=items, total=total, limit=page.limit, offset=page.offset, as_of_slot=slot)


@router.get("/wallets/{wallet}/positions", response_model=WalletPositions, summary="A wallet's stake positions")
def wallet_positions(wallet: str, request: Request, session: SessionDep, now: NowDep) -> WalletPositions:
    """Bonded, unbonding (each entry with its unlock time) and withdrawable stake of a wallet, per node and
    summed."""
    items = _positions_out(session, repo.wallet_positions(session, pubkey(wallet, "wallet")), now)
    return WalletPositions(
        wallet=wallet,
        at=now,
        bonded=str(sum(int(p.bonded) for p in items)),
        unbonding=str(sum(int(p.unbonding) for p in items)),
        withdrawable=str(sum(int(p.withdrawable) for p in items)),
        positions=items,
        as_of_slot=nodes.as_of_slot(session, request.app.state.settings),
    )
