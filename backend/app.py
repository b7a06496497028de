"""The FastAPI application: routes from each domain, one error handler, health, OpenAPI docs and the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend import __version__
from backend.auth.api import router as auth_router
from backend.auth.deps import MISSING, has_bearer, needs_credentials
from backend.config import Settings, get_settings
from backend.db import make_engine, make_sessionmaker
from backend.epochs.api import router as epochs_router
from backend.errors import AppError, Unauthorized
from backend.governance.api import router as governance_router
from backend.ledger.api import router as ledger_router
from backend.nodes.api import router as nodes_router
from backend.ops.api import router as ops_router
from backend.payments.api import router as payments_router
from backend.payments.invoices_api import router as invoices_router
from backend.settlement.api import router as settlement_router
from backend.staking.api import router as staking_router
from backend.telemetry.api import router as telemetry_router
from backend.txrequests.api import router as tx_router
from backend.web.api import install as install_web

#: The body of every error response (backend.errors.AppError and framework validation errors alike).
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "The error's name, e.g. InvalidInput, NotFound, or an IDL name"},
        "detail": {"type": "string", "description": "What went wrong, for a person"},
        "reason": {"type": "string", "description": "Only on 401: which credential check failed"},
    },
}


def _document_the_error_shape(app: FastAPI) -> None:
    """Make the OpenAPI document say what 422 answers really are: FastAPI documents its own validation-error body
    (``detail`` a list of objects), but every error here is rendered as ``{error, detail}``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schemas = doc.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = ERROR_SCHEMA
                schemas.pop("ValidationError", None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (defaults to the process settings)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="iog API",
        version=__version__,
        description="Staking and payment settlement backend of a decentralized GPU network on Solana.",
        lifespan=lifespan,
        # The web app serves /docs and /redoc itself, with their assets from the project (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    # One engine per app (connections are opened lazily); backend.deps.get_session opens a session per request.
    app.state.engine = make_engine(settings.resolved_database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        body = {"error": exc.error_name, "detail": exc.message, **exc.extra()}
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own refusals (unknown path 404, 405, an unparsable body 400) in the house shape too.
        if needs_credentials(request.scope.get("route")) and not has_bearer(request):
            return await _app_error(request, Unauthorized(MISSING, "missing_credentials"))
        try:
            name = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
        except ValueError:
            name = "HTTPError"
        body = {"error": name, "detail": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI decodes and validates a body before it runs any dependency: without this, a request with no
        # token and a malformed body would learn 422 from a route that must answer 401 to anyone not signed in.
        if needs_credentials(request.scope.get("route")) and not has_bearer(request):
            return await _app_error(request, Unauthorized(MISSING, "missing_credentials"))
        # FastAPI's own parameter checks (e.g. limit=abc) answer in the same shape as every other error.
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return JSONResponse({"error": "InvalidInput", "detail": "; ".join(parts)}, status_code=422)

    @app.get("/health", tags=["ops"], summary="Liveness: the API process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    _document_the_error_shape(app)
    app.include_router(auth_router)
    app.include_router(staking_router)
    app.include_router(nodes_router)
    app.include_router(payments_router)
    app.include_router(ops_router)
    app.include_router(tx_router)
    app.include_router(telemetry_router)
    app.include_router(invoices_router)
    app.include_router(ledger_router)
    app.include_router(settlement_router)
    app.include_router(epochs_router)
    app.include_router(governance_router)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics of this API process", include_in_schema=False)
    def metrics() -> Response:
        # Counters of this process (heartbeats per result and reason, ...); each replica is scraped on its own.
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
    install_web(app)

    return app
