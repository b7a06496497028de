"""The one error base of the application; every domain error subclasses it."""

from __future__ import annotations


class AppError(Exception):
    """An expected error with a message for the caller and an HTTP status.

    Rendered by the API as ``{"error": "<ClassName>", "detail": "<message>"}``.
    """

    status_code: int = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    @property
    def error_name(self) -> str:
        """The ``error`` field of the rendered error: the class name, unless a subclass names it otherwise."""
        return type(self).__name__

    def extra(self) -> dict[str, object]:
        """Fields a subclass adds to the rendered error (e.g. ``reason``)."""
        return {}


class NotFound(AppError):
    """The thing asked for does not exist."""

    status_code = 404


class InvalidInput(AppError):
    """Input that fails validation; the message names the field."""

    status_code = 422


class Unauthorized(AppError):
    """No valid credential (token or API key) for a route that needs one; ``reason`` says which check failed."""

    status_code = 401

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def extra(self) -> dict[str, object]:
        return {"reason": self.reason}


class Forbidden(AppError):
    """A valid credential without the permission the route needs."""

    status_code = 403


class Conflict(AppError):
    """The request conflicts with the current state (the caller can fix the state and retry)."""

    status_code = 409
