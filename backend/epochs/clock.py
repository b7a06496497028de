"""Epoch arithmetic: epoch N covers ``[genesis + N * seconds, genesis + (N + 1) * seconds)``.

Uptime is counted in minutes since genesis (``minute = (ts - genesis) // 60``); an epoch holds whole minutes
(``IOG_EPOCH_SECONDS`` is a multiple of 60), so a minute never straddles two epochs. An epoch is frozen (late
heartbeats no longer count, the runner may close it) from its end plus the grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backend.config import Settings
from backend.errors import AppError


class GenesisUnknown(AppError):
    """No epoch genesis: neither IOG_EPOCH_GENESIS nor an `epochs` section in the bootstrap file."""

    status_code = 503


@dataclass(frozen=True)
class EpochClock:
    """The epoch schedule of a deployment."""

    genesis: int
    seconds: int
    grace: int

    @property
    def minutes(self) -> int:
        """Minutes per epoch."""
        return self.seconds // 60

    def epoch_at(self, ts: int) -> int:
        """The epoch holding unix time ``ts`` (-1 before genesis)."""
        return -1 if ts < self.genesis else (ts - self.genesis) // self.seconds

    def minute_at(self, ts: int) -> int:
        """Minutes since genesis of ``ts`` (negative before genesis)."""
        return (ts - self.genesis) // 60

    def start(self, epoch: int) -> int:
        """Unix time the epoch starts (inclusive)."""
        return self.genesis + epoch * self.seconds

    def end(self, epoch: int) -> int:
        """Unix time the epoch ends (exclusive)."""
        return self.start(epoch + 1)

    def frozen_at(self, epoch: int) -> int:
        """From this unix time on the epoch's telemetry no longer changes and it may be closed."""
        return self.end(epoch) + self.grace

    def last_closable(self, now: int) -> int:
        """The newest epoch frozen at ``now`` (-1 when none is)."""
        t = now - self.grace - self.genesis
        return -1 if t < self.seconds else t // self.seconds - 1


@lru_cache(maxsize=8)
def _genesis_of(path: Path, _mtime_ns: int) -> int | None:
    from backend.chain import bootfile

    epochs = bootfile.load(path).epochs
    return epochs.genesis if epochs is not None else None


def _bootfile_genesis(path: Path) -> int | None:
    # Read once per version of the file (heartbeats ask on every request).
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _genesis_of(path, mtime)


def epoch_clock(settings: Settings) -> EpochClock:
    """The clock of this deployment: ``IOG_EPOCH_GENESIS`` or the bootstrap file's genesis, and the lengths.

    Raises:
        GenesisUnknown: Neither is set (run ``iog localnet bootstrap``).
    """
    genesis = settings.epoch_genesis
    if genesis is None:
        genesis = _bootfile_genesis(settings.resolved_bootstrap_file)
    if genesis is None:
        raise GenesisUnknown(
            "no epoch genesis: set IOG_EPOCH_GENESIS or run `iog localnet bootstrap` (it records one)"
        )
    return EpochClock(genesis, settings.epoch_seconds, settings.epoch_grace_seconds)
