"""One URL, two representations: a browser opening ``/nodes/{node}`` or ``/epochs`` gets the page, an API client
gets JSON.

The web app's pages for a node and for the epochs live at the same paths as the API resources they show (the
issue fixes both). Routing cannot tell them apart, so this ASGI middleware looks at ``Accept``: a request that
prefers HTML (what a browser sends when it navigates) is routed to the page under :data:`PAGE_PREFIX`; anything
else (``*/*`` from curl, httpx or ``fetch``, or ``application/json``) reaches the API unchanged. Both answers carry
``Vary: Accept`` so no cache hands one to the other.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Internal prefix of the pages whose public path is shared with an API route.
PAGE_PREFIX = "/_page"
#: Public paths that are both an API resource and a page.
SHARED_PATHS = (re.compile(r"^/nodes/[^/]+$"), re.compile(r"^/epochs$"))
_HTML = ("text/html", "application/xhtml+xml")


def prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` header asks for HTML at least as much as for JSON (wildcards count for neither)."""
    html = json = 0.0  # quality values of the header, not money
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in _HTML:
            html = max(html, q)
        elif media == "application/json":
            json = max(json, q)
    return html > 0 and html >= json


def shared(path: str) -> bool:
    """Whether ``path`` is one of the page-or-JSON paths."""
    return any(p.match(path) for p in SHARED_PATHS)


class PageNegotiation:
    """ASGI middleware: route HTML navigations of shared paths to their page (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not shared(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            accept = b",".join(v for k, v in scope["headers"] if k == b"accept").decode("latin-1")
            if prefers_html(accept):
                scope = dict(scope)
                scope["path"] = PAGE_PREFIX + scope["path"]
                scope["raw_path"] = scope["path"].encode()

        async def send_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                message = {**message, "headers": [*headers, (b"vary", b"Accept")]}
            await send(message)

        await self.app(scope, receive, send_vary)
