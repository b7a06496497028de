"""Routes: the node registry (operators, signed in), the delegator marketplace and the wallet view (public).

Importing this module registers the domain's transaction requests (``/tx/register_node``, ``/tx/stake``, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from solders.pubkey import Pubkey
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import ClockDep, WalletDep
from backend.auth.schemas import AuthErrorOut
from backend.chain import txbuild
from backend.chain.tokens import io_account
from backend.deps import MAX_LIMIT, NowDep, SessionDep, pubkey
from backend.errors import AppError
from backend.models.nodes import NodeRecord
from backend.nodes import actions, market, onchain, score, service
from backend.nodes.schemas import (
    IoBalanceOut,
    MarketPage,
    NodeCreateIn,
    NodeCreateOut,
    NodePatchIn,
    NodeRecordOut,
    PendingCommissionOut,
    ScoreDoc,
    WalletEntryOut,
    WalletOut,
    WalletPositionOut,
    WalletRewardsOut,
)
from backend.txrequests.registry import RequestContext

actions.register_actions()

router = APIRouter(tags=["nodes"])
_WRITE: dict[int | str, dict[str, Any]] = {
    401: {"model": AuthErrorOut, "description": "Not signed in"},
    403: {"description": "Signed in as someone else than the node's operator (or with an API key)"},
}


def record_out(r: NodeRecord, slot: int | None) -> NodeRecordOut:
    return NodeRecordOut(
        node=r.node,
        node_key=r.node_key,
        operator=r.operator,
        name=r.name,
        gpu_model=r.gpu_model,
        gpu_units=r.gpu_units,
        vram_gb=r.vram_gb,
        region=r.region,
        description=r.description,
        commission_bps=r.commission_bps,
        status=r.status,  # type: ignore[arg-type]
        status_reason=r.status_reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
        gpu_model_changed_at=r.gpu_model_changed_at,
        as_of_slot=slot,
    )


@router.post(
    "/nodes",
    response_model=NodeCreateOut,
    status_code=201,
    responses=_WRITE,
    summary="Register a GPU node (signed in): a draft record and its register_node transaction",
)
def create_node(body: NodeCreateIn, wallet: WalletDep, request: Request, session: SessionDep, now: ClockDep) -> Any:
    """The caller becomes the node's operator. The answer's transaction needs two signatures: the node's machine
    signs first (`iog agent sign-registration --key NODE_KEY.json --tx -`), then the operator's wallet signs and
    sends it. The record turns `registered` once the indexer has the finalized NodeRegistered event."""
    settings = request.app.state.settings
    program = onchain.program_context(settings)
    node_key = Pubkey.from_string(pubkey(body.node_key, "node_key"))
    node = str(program.client.node(node_key))
    record = service.prepare_record(session, settings, wallet, body, node, now)
    client = onchain.rpc_client(settings.rpc_url)
    ctx = RequestContext(session, settings, client, now)
    plan, _ = actions.register_node_instructions(
        ctx, Pubkey.from_string(wallet), node_key, body.gpu_units, body.commission_bps
    )
    fees = txbuild.Fees(
        margin_bps=settings.tx_compute_margin_bps, max_priority_micro_lamports=settings.tx_max_priority_micro_lamports
    )
    built = txbuild.build(client, plan.instructions, Pubkey.from_string(wallet), allowed=plan.programs, fees=fees)
    session.add(record)
    session.flush()
    return NodeCreateOut(
        record=record_out(record, service.as_of_slot(session, settings)),
        transaction=built.transaction,
        message=plan.message,
        last_valid_block_height=built.last_valid_block_height,
        signers=list(built.signers),
        compute_unit_limit=built.compute_unit_limit,
        priority_micro_lamports=built.priority_micro_lamports,
        next_steps=[
            f"On the node's machine: iog agent sign-registration --key NODE_KEY.json --tx <transaction> "
            f"(checks it registers only node key {node_key}, adds its signature)",
            f"In the operator's wallet ({wallet}): sign the transaction the node returned and send it before "
            f"block height {built.last_valid_block_height} (e.g. iog wallet sign-and-send NAME --tx -)",
            f"Then GET /nodes/{node}/record until status is registered (the indexer reads finalized blocks)",
        ],
    )


@router.patch(
    "/nodes/{node}", response_model=NodeRecordOut, responses=_WRITE, summary="Edit a node's record (its operator)"
)
def patch_node(
    node: str, body: NodePatchIn, wallet: WalletDep, request: Request, session: SessionDep, now: ClockDep
) -> NodeRecordOut:
    """Name, region, description; a gpu_model change is recorded with its time. ``node``: Node account or node key."""
    settings = request.app.state.settings
    record = service.update_record(session, settings, wallet, node, body, now)
    return record_out(record, service.as_of_slot(session, settings))


@router.get("/nodes/{node}/record", response_model=NodeRecordOut, summary="A node's registry record and status")
def get_record(node: str, request: Request, session: SessionDep, now: ClockDep) -> NodeRecordOut:
    """The record of a node (Node account or node key), its status brought up to date from finalized events."""
    settings = request.app.state.settings
    return record_out(service.get_record(session, settings, node, now), service.as_of_slot(session, settings))


# --- marketplace -------------------------------------------------------------------------------------------------


@router.get("/marketplace/nodes", response_model=MarketPage, summary="Nodes for delegators: sorted, filtered, paged")
async def marketplace(
    request: Request,
    now: NowDep,
    sort: Annotated[market.Sort, Query(description="Order of the listing (the node breaks ties)")] = "score",
    gpu_model: Annotated[str | None, Query(max_length=32)] = None,
    region: Annotated[str | None, Query(max_length=32)] = None,
    min_uptime_bps: Annotated[int | None, Query(ge=0, le=10_000, description="On 30-day uptime")] = None,
    max_commission_bps: Annotated[
        int | None, Query(ge=0, le=10_000, description="On the commission incl. a pending increase")
    ] = None,
    has_capacity: Annotated[bool | None, Query(description="Room left under the delegation cap")] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """Served from ``node_stats`` (refreshed by ``iog nodes refresh-stats`` / the scheduler), never from raw events.

    The hot path of the API: one thread hop for the whole database work (no per-dependency hops), Core reads,
    and the page rendered straight to JSON from typed columns (its shape is checked against this route's schema
    by the Schemathesis tests)."""
    filters = market.Filters(gpu_model, region, min_uptime_bps, max_commission_bps, has_capacity)
    body = await run_in_threadpool(market.render_page, request.app.state, sort, filters, cursor, limit, now)
    return Response(body, media_type="application/json")


@router.get("/marketplace/score", response_model=ScoreDoc, summary="How the marketplace score is computed")
def score_doc() -> ScoreDoc:
    """The published, versioned definition: eligibility, components with weights, ranking and formula."""
    return ScoreDoc.model_validate(score.describe())


# --- wallet view ---------------------------------------------------------------------------------------------------


@router.get("/wallets/{wallet}", response_model=WalletOut, summary="A wallet: IO balance, positions, rewards")
def wallet_view(wallet: str, request: Request, session: SessionDep, now: NowDep) -> WalletOut:
    """IO balance read from the cluster at confirmed; positions from the indexer's finalized projections
    (``as_of_slot``), evaluated at ``at`` (default now); rewards null until epochs exist."""
    settings = request.app.state.settings
    owner = pubkey(wallet, "wallet")
    program = onchain.program_context(settings)
    try:
        token, amount, slot = onchain.io_balance(
            onchain.rpc_client(settings.rpc_url), program, Pubkey.from_string(owner)
        )
        balance = IoBalanceOut(
            amount=str(amount), token_account=str(token), source="chain", commitment="confirmed", slot=slot
        )
    except AppError as exc:  # positions stay readable when the cluster (or its staking Config) is not
        token_account = str(io_account(Pubkey.from_string(owner), program.mint)) if program.mint else ""
        balance = IoBalanceOut(
            amount=None, token_account=token_account, source="chain", commitment="confirmed", slot=None,
            error=exc.message,
        )  # fmt: skip
    views = service.positions(session, owner, now)
    records = service.records_for_nodes(session, [v.node for v in views], now)
    items = []
    for v in views:
        rec = records.get(v.node)
        pending = (
            PendingCommissionOut(bps=v.pending_commission_bps, effective_at=v.commission_effective_at)
            if v.pending_commission_bps is not None and v.commission_effective_at is not None
            else None
        )
        items.append(
            WalletPositionOut(
                node=v.node,
                node_key=rec.node_key if rec else None,
                node_name=rec.name if rec else None,
                is_operator=v.operator == owner,
                bonded=str(v.bonded),
                unbonding=str(v.unbonding),
                unlock_time=v.unlock_time,
                withdrawable=str(v.withdrawable),
                entries=[
                    WalletEntryOut(
                        amount=str(e.amount), value=str(e.value), unlock_time=e.unlock_time, withdrawable=e.matured
                    )
                    for e in v.entries
                ],
                withdrawn=str(v.withdrawn),
                commission_bps=v.commission_bps,
                pending_commission=pending,
                node_status="active" if v.active else "inactive",
                last_slot=v.last_slot,
            )
        )
    return WalletOut(
        wallet=owner,
        at=now,
        as_of_slot=service.as_of_slot(session, settings),
        io_balance=balance,
        bonded=str(sum(v.bonded for v in views)),
        unbonding=str(sum(v.unbonding for v in views)),
        withdrawable=str(sum(v.withdrawable for v in views)),
        positions=items,
        rewards=_rewards(session, owner),
    )


def _rewards(session: SessionDep, wallet: str) -> WalletRewardsOut:
    from backend.epochs import service as epochs

    r = epochs.wallet_rewards(session, wallet)
    return WalletRewardsOut(
        lifetime_total=str(r.lifetime_total), claimed=str(r.claimed), claimable=str(r.claimable), latest_epoch=r.epoch
    )
