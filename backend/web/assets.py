"""Where the web app's files are, and whether ``make web`` built the browser module."""

from __future__ import annotations

import hashlib
from pathlib import Path

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
#: Output of ``make web`` (``frontend/build.mjs``); ignored by git.
BUILD_DIR = STATIC_DIR / "build"
BUNDLE = BUILD_DIR / "app.js"
VENDOR = {
    "swagger_js": "vendor/swagger-ui-bundle.js",
    "swagger_css": "vendor/swagger-ui.css",
    "swagger_favicon": "vendor/favicon-32x32.png",
    "redoc_js": "vendor/redoc.standalone.js",
}


def built() -> bool:
    """Whether the browser module and the API-docs assets are there."""
    return BUNDLE.is_file() and all((BUILD_DIR / p).is_file() for p in VENDOR.values())


def version() -> str:
    """A short tag of the current assets, appended to their URLs so a rebuild is never served stale."""
    h = hashlib.sha256()
    for p in (BUNDLE, STATIC_DIR / "app.css"):
        if p.is_file():  # two stat calls per page: cheap, and a `make web` while the server runs is picked up
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:12]
