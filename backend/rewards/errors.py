"""Errors of the rewards engine."""

from __future__ import annotations

from backend.errors import AppError, InvalidInput, NotFound


class RewardsInputError(InvalidInput):
    """An epoch input (or payouts file) that fails validation; ``field`` names the offending field.

    The CLI maps it to exit status 2 and writes nothing.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class WalletNotInTotals(NotFound):
    """A proof was asked for a wallet that has no positive lifetime total."""


class EmissionEpochError(AppError):
    """An emission epoch that is not a non-negative integer."""
