"""Routes: epochs (state, root, totals, the exact stored input and output), a node's epochs, a wallet's rewards.

All public and read-only: anyone can download an epoch's input and recompute it (``iog rewards verify``).
Importing this module registers the ``claim`` transaction request.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from backend.deps import PageDep, SessionDep, pubkey
from backend.epochs import claims as _claims  # noqa: F401  (registers the `claim` transaction request)
from backend.epochs import service
from backend.epochs.schemas import EpochOut, EpochPage, NodeEpochOut, NodeEpochPage, WalletRewardsOut
from backend.errors import InvalidInput, NotFound
from backend.money import I64_MAX

router = APIRouter(tags=["epochs"])


def _epoch(n: int) -> int:
    if not 0 <= n <= I64_MAX:
        raise InvalidInput(f"epoch: must be between 0 and {I64_MAX}")
    return n


@router.get("/epochs", response_model=EpochPage, summary="Epochs, newest first")
def list_epochs(session: SessionDep, page: PageDep) -> EpochPage:
    total, rows = service.list_epochs(session, page.limit, page.offset)
    return EpochPage(items=[EpochOut.of(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/epochs/{n}", response_model=EpochOut, summary="One epoch: state, root, inputs_sha256, signature, totals")
def get_epoch(n: int, session: SessionDep) -> EpochOut:
    row = service.get_epoch(session, _epoch(n))
    if row is None:
        raise NotFound(f"no epoch {n}")
    return EpochOut.of(row)


def _doc(session: SessionDep, n: int, which: str) -> Response:
    data = service.document(session, _epoch(n), which)
    if data is None:
        raise NotFound(f"epoch {n} has no stored {which} (not closed yet)")
    return Response(data, media_type="application/json")


@router.get("/epochs/{n}/input", summary="The epoch's input document, exactly as stored (iog.rewards.input/1)")
def get_input(n: int, session: SessionDep) -> Response:
    return _doc(session, n, "input")


@router.get("/epochs/{n}/output", summary="The epoch's output document, exactly as stored (iog.rewards.output/1)")
def get_output(n: int, session: SessionDep) -> Response:
    return _doc(session, n, "output")


@router.get("/nodes/{node}/epochs", response_model=NodeEpochPage, summary="A node's epochs: uptime, reasons, reward")
def node_epochs(node: str, session: SessionDep, page: PageDep) -> NodeEpochPage:
    """``node`` is the Node account or the node's device key; newest epoch first."""
    total, rows = service.node_epochs(session, pubkey(node, "node"), page.limit, page.offset)
    return NodeEpochPage(items=[NodeEpochOut.of(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/wallets/{wallet}/rewards", response_model=WalletRewardsOut, summary="Lifetime rewards, claimed, proof")
def wallet_rewards(wallet: str, session: SessionDep) -> WalletRewardsOut:
    """Lifetime total and merkle proof for the latest posted root, claimed so far, claimable now."""
    r = service.wallet_rewards(session, pubkey(wallet, "wallet"))
    return WalletRewardsOut(
        wallet=r.wallet, epoch=r.epoch, merkle_root=r.merkle_root, lifetime_total=str(r.lifetime_total),
        claimed=str(r.claimed), claims=r.claims, claimable=str(r.claimable),
        proof=None if r.proof is None else [p.hex() for p in r.proof], computed_epoch=r.computed_epoch,
        computed_total=str(r.computed_total),
    )  # fmt: skip
