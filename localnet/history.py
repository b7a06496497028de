"""Account states per commitment: LiteSVM holds only the latest state, so the node keeps the recent past.

For every account a transaction wrote in the last ``finality_slots`` slots, the history holds its state
before the first of those writes and after each slot's writes. A read at ``confirmed`` or ``finalized`` takes
the newest state at or below that commitment's slot; finalized history is dropped as slots pass.
"""

from __future__ import annotations

from collections import deque

from solders.account import Account

_MISSING = object()


class AccountHistory:
    """Recent (slot, state) entries per written account; slot -1 holds the state before the window."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[int, Account | None]]] = {}
        self.touched: deque[tuple[int, str]] = deque()

    def record(self, key: str, slot: int, before: Account | None, after: Account | None) -> None:
        """``key`` was written in ``slot``: it was ``before`` and is now ``after``."""
        h = self.entries.get(key)
        if h is None:
            self.entries[key] = [(-1, before), (slot, after)]
            self.touched.append((slot, key))
        elif h[-1][0] == slot:
            h[-1] = (slot, after)
        else:
            h.append((slot, after))
            self.touched.append((slot, key))

    def at(self, key: str, max_slot: int) -> object:
        """The state of ``key`` as of ``max_slot`` (an Account or None), or ``_MISSING`` if not tracked."""
        h = self.entries.get(key)
        if h is None:
            return _MISSING
        for slot, state in reversed(h):
            if slot <= max_slot:
                return state
        return h[0][1]

    def prune(self, finalized_slot: int) -> None:
        """Forget what every commitment level already sees the same way."""
        while self.touched and self.touched[0][0] <= finalized_slot:
            _slot, key = self.touched.popleft()
            h = self.entries.get(key)
            if h is None:
                continue
            if h[-1][0] <= finalized_slot:
                del self.entries[key]
                continue
            keep = 0
            for i, (s, _state) in enumerate(h):
                if s <= finalized_slot:
                    keep = i
            if keep:
                self.entries[key] = [(-1, h[keep][1]), *h[keep + 1 :]]


MISSING = _MISSING
