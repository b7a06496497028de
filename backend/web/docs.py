"""``/docs`` (Swagger UI) and ``/redoc`` with their assets served by this app, so they work offline.

FastAPI's defaults load both from a CDN; the app is created with ``docs_url=None, redoc_url=None`` and these
routes take their place, pointing at the copies ``make web`` puts under ``/static/build/vendor/`` (from the pinned
npm packages ``swagger-ui-dist`` and ``redoc``). Nothing on these pages leaves the server: no CDN, no Google
Fonts, no online validator badge.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from backend.web import assets

router = APIRouter(include_in_schema=False)
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def _static(name: str) -> str:
    return f"/static/build/{assets.VENDOR[name]}?v={assets.version()}"


def _not_built(what: str) -> HTMLResponse:
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{what}</title></head><body>"
        f"<main><h1>{what} is not built</h1><p>Run <code>make web</code> (it installs the pinned npm packages "
        "and copies their assets); the API itself works: <a href='/openapi.json'>/openapi.json</a>.</p>"
        "</main></body></html>"
    )
    return HTMLResponse(body, status_code=503)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this app's OpenAPI schema."""
    if not assets.built():
        return _not_built("Swagger UI")
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=_static("swagger_js"),
        swagger_css_url=_static("swagger_css"),
        swagger_favicon_url=_static("swagger_favicon"),
        oauth2_redirect_url=OAUTH2_REDIRECT,
        # validatorUrl None: no badge fetched from the online validator.
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    """The OAuth2 redirect page Swagger UI expects (inline, no external asset)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this app's OpenAPI schema."""
    if not assets.built():
        return _not_built("ReDoc")
    app = request.app
    return get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=_static("redoc_js"),
        redoc_favicon_url=_static("swagger_favicon"),
        with_google_fonts=False,
    )
