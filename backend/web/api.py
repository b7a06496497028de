"""Routes of the web app: the pages, their static assets, a QR code helper, and ``install(app)``.

Pages are Jinja2 templates rendered with the page's configuration (cluster, RPC URL for the browser, mint
decimals, which API routes and transaction-request actions this server has); the browser module
(``frontend/src``, built by ``make web``) fills them from the public API, so a page shows exactly what an API
client sees. Pages are left out of the OpenAPI schema: they are not API.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Annotated, Any

import segno
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from solders.pubkey import Pubkey

from backend.chain import bootfile
from backend.chain.layout import ERRORS
from backend.config import Settings
from backend.epochs.clock import GenesisUnknown, epoch_clock
from backend.errors import InvalidInput
from backend.txrequests.registry import ACTIONS
from backend.web import assets, docs
from backend.web.features import detect
from backend.web.negotiate import PAGE_PREFIX, PageNegotiation

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(assets.TEMPLATES_DIR))
FAVICON = assets.STATIC_DIR / "favicon.svg"
#: Invoice ids as issue 12 may mint them (uuid, prefixed ids); anything else is not an invoice page.
_INVOICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USDC_DECIMALS = 6
QR_MAX = 2048  # characters of a payment link; Solana Pay links are far shorter


def _io_mint(settings: Settings) -> str | None:
    """The IO mint: the setting, else the bootstrap file when there is one (pages show it; never required)."""
    if settings.indexer_io_mint:
        return settings.indexer_io_mint
    path = Path(settings.resolved_bootstrap_file)
    if not path.is_file():
        return None
    try:
        return bootfile.load(path).mint
    except bootfile.BootstrapFileError:
        return None


def _epoch_clock(settings: Settings) -> dict[str, int] | None:
    """Epoch length and genesis (``IOG_EPOCH_GENESIS`` or the bootstrap file's), so pages print "epoch N" beside
    a time; None without a genesis (pages then print UTC times alone)."""
    try:
        clock = epoch_clock(settings)
    except GenesisUnknown:
        return None
    return {"seconds": clock.seconds, "genesis": clock.genesis}


def page_config(request: Request) -> dict[str, Any]:
    """What the browser module needs to know about this server (embedded in every page as JSON)."""
    settings: Settings = request.app.state.settings
    io_ = {"symbol": "IO", "decimals": settings.io_decimals, "mint": _io_mint(settings)}
    return {
        "cluster": settings.cluster,
        "chain": f"solana:{settings.cluster}",
        "rpc_url": settings.web_rpc_url or settings.rpc_url,
        "api_uri": settings.api_uri,
        "io": io_,
        "currencies": {"IO": io_, "USDC": {"symbol": "USDC", "decimals": USDC_DECIMALS, "mint": None}},
        "features": detect(request.app.openapi()),
        "actions": sorted(ACTIONS),
        "program_errors": {str(code): name for code, (name, _msg) in ERRORS.items()},
        "epoch": _epoch_clock(settings),
    }


def _page(request: Request, template: str, page: str, title: str, status: int = 200, **extra: Any) -> HTMLResponse:
    context = {
        "page": page,
        "title": title,
        "config": page_config(request),
        "built": assets.built(),
        "v": assets.version(),
        **extra,
    }
    return templates.TemplateResponse(request, template, context, status_code=status)


def _not_found(request: Request, what: str) -> HTMLResponse:
    return _page(request, "notfound.html", "notfound", "Not found", status=404, what=what)


@router.get("/", response_class=HTMLResponse)
def marketplace(request: Request) -> HTMLResponse:
    """Marketplace: compare nodes, sort and filter them, delegate."""
    return _page(request, "marketplace.html", "marketplace", "Marketplace")


@router.get(PAGE_PREFIX + "/nodes/{node}", response_class=HTMLResponse)
def node_page(node: str, request: Request) -> HTMLResponse:
    """A node: registry facts, stake, uptime and rewards per epoch, delegators (public path ``/nodes/{node}``)."""
    try:
        if str(Pubkey.from_string(node)) != node:
            raise ValueError(node)
    except ValueError:
        return _not_found(request, f"{node!r} is not a node address (a base58 public key)")
    return _page(request, "node.html", "node", f"Node {node[:4]}…{node[-4:]}", node=node)


@router.get("/wallet", response_class=HTMLResponse)
def wallet_page(request: Request) -> HTMLResponse:
    """The signed-in wallet (or ``?address=``, read only): positions, rewards, an operator's nodes."""
    return _page(request, "wallet.html", "wallet", "Wallet")


@router.get("/pay/{invoice}", response_class=HTMLResponse)
def invoice_page(invoice: str, request: Request) -> HTMLResponse:
    """An invoice: amount, Solana Pay QR codes, live status."""
    if not _INVOICE_ID.match(invoice):
        return _not_found(request, "that is not an invoice id")
    return _page(request, "invoice.html", "invoice", "Pay invoice", invoice=invoice)


@router.get(PAGE_PREFIX + "/epochs", response_class=HTMLResponse)
def epochs_page(request: Request) -> HTMLResponse:
    """Epochs: state, root, totals, published input and output (public path ``/epochs``)."""
    return _page(request, "epochs.html", "epochs", "Epochs")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(FAVICON, media_type="image/svg+xml")


@router.get("/web/qr.svg")
def qr_svg(data: Annotated[str, Query(max_length=QR_MAX, description="A solana: link")]) -> Response:
    """The QR code (SVG) of a ``solana:`` link, e.g. an invoice's Solana Pay URL."""
    if not data.startswith("solana:"):
        raise InvalidInput("data: only solana: links are drawn")
    buf = io.BytesIO()
    segno.make(data, error="m").save(buf, kind="svg", scale=6, border=2, title="Solana Pay QR code")
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})


def install(app: FastAPI) -> None:
    """Add the web app to ``app``: pages, offline API docs, static assets and page/JSON negotiation."""
    app.include_router(router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=assets.STATIC_DIR, check_dir=False), name="static")
    app.add_middleware(PageNegotiation)
