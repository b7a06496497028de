"""Typed errors of the indexer. User-facing ones subclass AppError."""

from __future__ import annotations

from backend.errors import AppError


class IndexerError(AppError):
    """Base of the indexer's errors."""


class IdlError(IndexerError):
    """The IDL file cannot be read or has an unexpected shape."""


class ConfigError(IndexerError):
    """The indexer's configuration is incomplete or invalid (e.g. no address to watch)."""


class LockHeld(IndexerError):
    """Another indexer already holds the lock for this address set."""

    status_code = 409


class RpcError(IndexerError):
    """An RPC call failed. ``retryable`` says whether trying again may help."""

    status_code = 502
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RpcTransportError(RpcError):
    """Timeout, reset, refused connection."""


class RpcTimeout(RpcTransportError):
    """No answer within the timeout (the retry waits longer)."""


class RpcHttpError(RpcError):
    """A non-200 HTTP status (429, 5xx)."""


class RpcBadResponse(RpcError):
    """A body that is not valid JSON-RPC (truncated, invalid JSON, missing ids, wrong shape)."""


class RpcServerError(RpcError):
    """A JSON-RPC error object. Retryable unless it is a client error (bad params, unknown method)."""

    def __init__(self, message: str, code: int, *, retryable: bool = True) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.retryable = retryable


class RpcGaveUp(RpcError):
    """Retries exhausted."""

    retryable = False


class MalformedEvent(ValueError):
    """Event bytes that do not match the IDL (not user-facing: the event is kept raw)."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name
