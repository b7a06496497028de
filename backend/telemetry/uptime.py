"""Uptime bookkeeping, pure: minute bitmaps and the continuous-uptime run.

- Per node and epoch a bitmap of the epoch's minutes with at least one accepted heartbeat (bit ``i`` of byte
  ``i // 8`` is minute ``i`` of the epoch); ``uptime_seconds = 60 * minutes up``.
- The continuous-uptime run: up minutes since the last reset. A gap of more than ``max_gap`` minutes without a
  heartbeat resets it (the next up minute starts a run of 1); a shorter gap neither counts as up nor resets.
"""

from __future__ import annotations


def bitmap_size(minutes: int) -> int:
    """Bytes of a bitmap of ``minutes`` minutes."""
    return (minutes + 7) // 8


def set_minute(bitmap: bytearray, index: int) -> bool:
    """Set minute ``index``; True when it was not set before."""
    byte, bit = divmod(index, 8)
    mask = 1 << bit
    if bitmap[byte] & mask:
        return False
    bitmap[byte] |= mask
    return True


def up_minutes(bitmap: bytes) -> int:
    """Minutes set in a bitmap."""
    return int.from_bytes(bitmap, "little").bit_count()


def minutes_set(bitmap: bytes) -> list[int]:
    """Indexes of the minutes set, ascending."""
    value = int.from_bytes(bitmap, "little")
    return [i for i in range(value.bit_length()) if value >> i & 1]


def advance(last_minute: int | None, streak: int, minute: int, max_gap: int) -> tuple[int, int]:
    """The run after an accepted heartbeat in ``minute``: (last up minute, run length in minutes)."""
    if last_minute is None:
        return minute, 1
    if minute <= last_minute:
        return last_minute, streak  # the same minute again (ts never goes back: rate_limited)
    if minute - last_minute - 1 > max_gap:
        return minute, 1
    return minute, streak + 1


def continuous_seconds_at(last_minute: int | None, streak: int, end_minute: int, max_gap: int) -> int:
    """Continuous uptime at ``end_minute`` (exclusive, minutes since genesis) of a run last up in
    ``last_minute`` with ``streak`` minutes: 0 when the minutes missing since then already exceed ``max_gap``."""
    if last_minute is None or last_minute >= end_minute:
        return 0
    if end_minute - 1 - last_minute > max_gap:
        return 0
    return 60 * streak
