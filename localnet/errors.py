"""Errors of the node: JSON-RPC errors with the codes a Solana validator uses, and start-up errors.

The node stands alone (it imports nothing of the backend), so these are its own exception types.
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_NOT_AVAILABLE = -32004
UNSUPPORTED_TRANSACTION_VERSION = -32015


class LocalnetError(Exception):
    """A node that cannot start or a command that cannot run (bad flags, missing files, busy ports)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RpcError(Exception):
    """An error returned to a JSON-RPC caller as ``{"code", "message", "data"?}``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a JSON-RPC response."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid_params(detail: str) -> RpcError:
    """-32602 with a message naming the parameter at fault."""
    return RpcError(INVALID_PARAMS, f"Invalid params: {detail}")
