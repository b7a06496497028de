"""Routes of the Solana Pay transaction request protocol: ``GET/POST /tx/{action}`` and a ``solana:`` link + QR.

Public (wallets call them without a token) and stateless: they only build an unsigned transaction.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from backend.auth.deps import ClockDep
from backend.chain import txbuild
from backend.deps import SessionDep, pubkey
from backend.errors import InvalidInput, NotFound
from backend.txrequests.registry import ACTIONS, Action, RequestContext

router = APIRouter(tags=["transaction requests"])
ICON = Path(__file__).with_name("icon.svg")


class TxMeta(BaseModel):
    label: str = Field(description="Shown by the wallet: who asks")
    icon: str = Field(description="Absolute URL of an SVG icon")


class TxIn(BaseModel):
    account: str = Field(description="The wallet that will sign and pay the fee (base58)")


class TxOut(BaseModel):
    transaction: str = Field(
        description="base64 of the serialized transaction: the wallet is fee payer, empty signatures"
    )
    message: str = Field(description="What the wallet shows about this transaction")
    last_valid_block_height: int
    signers: list[str] = Field(description="Every key that must sign, fee payer first")
    compute_unit_limit: int
    priority_micro_lamports: int


class LinkOut(BaseModel):
    url: str = Field(description="The `solana:` transaction-request URL (for a QR code or a deep link)")
    qr_svg: str = Field(description="Path of the QR code as SVG (`&format=png` for PNG)")


@lru_cache(maxsize=8)
def _client(url: str) -> Any:
    from solana.rpc.api import Client

    return Client(url, timeout=30)


def _action(name: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"no transaction request {name!r}; known: {', '.join(sorted(ACTIONS)) or 'none'}")
    return action


def _params(action: Action, request: Request) -> dict[str, str]:
    given = dict(request.query_params)
    given.pop("format", None)
    missing = [p.name for p in action.params if p.required and p.name not in given]
    if missing:
        raise InvalidInput(f"{', '.join(missing)}: required by /tx/{action.name}")
    known = {p.name for p in action.params}
    extra = sorted(set(given) - known)
    if extra:
        raise InvalidInput(f"{', '.join(extra)}: not a parameter of /tx/{action.name} ({', '.join(sorted(known))})")
    return given


@router.get("/tx-icon.svg", include_in_schema=False)
def icon() -> Response:
    return Response(ICON.read_bytes(), media_type="image/svg+xml")


@router.get("/tx/{action}", response_model=TxMeta, summary="Transaction request: label and icon (Solana Pay GET)")
def tx_meta(action: str, request: Request) -> TxMeta:
    a = _action(action)
    base = request.app.state.settings.api_uri.rstrip("/")
    return TxMeta(label=a.label, icon=f"{base}/tx-icon.svg")


@router.post(
    "/tx/{action}", response_model=TxOut, summary="Transaction request: the unsigned transaction (Solana Pay POST)"
)
def tx_build(action: str, body: TxIn, request: Request, session: SessionDep, now: ClockDep) -> TxOut:
    """Build the action's transaction for ``account``; 409 names the program error it would hit."""
    a = _action(action)
    params = _params(a, request)
    from solders.pubkey import Pubkey

    account = Pubkey.from_string(pubkey(body.account, "account"))
    settings = request.app.state.settings
    ctx = RequestContext(session, settings, _client(settings.rpc_url), now)
    plan = a.plan(ctx, params, account)
    fees = txbuild.Fees(
        margin_bps=settings.tx_compute_margin_bps, max_priority_micro_lamports=settings.tx_max_priority_micro_lamports
    )
    built = txbuild.build(ctx.client, plan.instructions, account, allowed=plan.programs, fees=fees)
    return TxOut(
        transaction=built.transaction,
        message=plan.message,
        last_valid_block_height=built.last_valid_block_height,
        signers=list(built.signers),
        compute_unit_limit=built.compute_unit_limit,
        priority_micro_lamports=built.priority_micro_lamports,
    )


@router.get(
    "/tx/{action}/link", response_model=LinkOut, summary="The `solana:` link of a transaction request, and its QR code"
)
def tx_link(
    action: str,
    request: Request,
    format: Annotated[str, Query(pattern="^(json|svg|png)$", description="json (default), svg or png")] = "json",
) -> Any:
    a = _action(action)
    params = _params(a, request)
    base = request.app.state.settings.api_uri.rstrip("/")
    link = f"{base}/tx/{a.name}" + (f"?{urlencode(params)}" if params else "")
    # Solana Pay: the link is URL-encoded when it has a query, so the wallet's parser keeps it whole.
    url = "solana:" + (quote(link, safe="") if params else link)
    if format == "json":
        query = urlencode({**params, "format": "svg"})
        return LinkOut(url=url, qr_svg=f"/tx/{a.name}/link?{query}")
    qr = segno.make(url, error="m")
    buf = io.BytesIO()
    if format == "svg":
        qr.save(buf, kind="svg", scale=6, border=2, title=a.label)
        return Response(buf.getvalue(), media_type="image/svg+xml")
    qr.save(buf, kind="png", scale=6, border=2)
    return Response(buf.getvalue(), media_type="image/png")
