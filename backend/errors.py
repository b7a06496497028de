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


class NotFound(AppError):
    """The thing asked for does not exist."""

    status_code = 404


class InvalidInput(AppError):
    """Input that fails validation; the message names the field."""

    status_code = 422
