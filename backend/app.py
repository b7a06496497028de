"""The FastAPI application: routes from each domain, one error handler, health and OpenAPI docs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend import __version__
from backend.config import Settings, get_settings
from backend.errors import AppError


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (defaults to the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="iog API",
        version=__version__,
        description="Staking and payment settlement backend of a decentralized GPU network on Solana.",
    )
    app.state.settings = settings

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "detail": exc.message}, status_code=exc.status_code)

    @app.get("/health", tags=["ops"], summary="Liveness: the API process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
