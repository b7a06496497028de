"""What this server can do, told to the pages so they never call a route that is not there.

Pages are written against routes that other parts add over time (the marketplace, epochs, invoices, wallet
views, transaction-request actions). Rather than probing them from the browser (a 404 shows up as an error in
the console), the server reads its own OpenAPI schema (the public list of its routes, cached by FastAPI) and its
registered actions when it renders a page; a page shows a clear "not available yet" state for what is missing
and lights up once the route exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Feature name -> the GET route (path parameters in any name) a page needs for it.
FEATURES: Mapping[str, str] = {
    "nodes": "/nodes",
    "node": "/nodes/{node}",
    "node_positions": "/nodes/{node}/positions",
    "node_epochs": "/nodes/{node}/epochs",  # issue 11
    "marketplace": "/marketplace/nodes",  # issue 10
    "score": "/marketplace/score",  # issue 10
    "wallet": "/wallets/{wallet}",  # issue 10
    "wallet_positions": "/wallets/{wallet}/positions",
    "rewards": "/wallets/{wallet}/rewards",  # issue 11
    "epochs": "/epochs",  # issue 11
    "epoch": "/epochs/{n}",  # issue 11
    "epoch_input": "/epochs/{n}/input",  # issue 11
    "epoch_output": "/epochs/{n}/output",  # issue 11
    "invoice": "/invoices/{id}",  # issue 12
    "indexer_status": "/indexer/status",
    "auth": "/auth/me",
}
_PARAM = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    """A path with every parameter name erased: ``/wallets/{w}`` and ``/wallets/{wallet}`` are one route."""
    return _PARAM.sub("{}", path)


def get_paths(schema: Mapping[str, Any]) -> set[str]:
    """Shapes of the GET routes of an OpenAPI schema."""
    return {_shape(path) for path, ops in schema.get("paths", {}).items() if "get" in ops}


def detect(schema: Mapping[str, Any]) -> dict[str, bool]:
    """Which :data:`FEATURES` the API with this OpenAPI ``schema`` serves."""
    paths = get_paths(schema)
    return {name: _shape(path) in paths for name, path in FEATURES.items()}
