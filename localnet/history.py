"""Account states per commitment: LiteSVM holds only the latest state, so the node keeps the recent past.

For every account a transaction wrote in the last ``finality_slots`` slots, the history holds its state
before the first of those writes and after each slot's writes. A read at ``confirmed`` or ``finalized`` takes
the newest state at or below that commitment's slot; finalized history is dropped as slots pass.

The ledger file keeps the same entries (one row per account and slot), so a restarted node serves each
commitment exactly as it did before it stopped: :meth:`AccountHistory.changes` says what to write since the
last commit, :meth:`AccountHistory.load` rebuilds the history from the rows.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable

from solders.account import Account
from solders.pubkey import Pubkey

_MISSING = object()
_HEAD = struct.Struct("<QB32s")

#: (pubkey, slot, state) as the ledger stores it; slot -1 is the state before the window, None "no account".
HistoryRow = tuple[str, int, Account | None]


class AccountHistory:
    """Recent (slot, state) entries per written account; slot -1 holds the state before the window."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[int, Account | None]]] = {}
        self.touched: deque[tuple[int, str]] = deque()
        # what changed since the ledger last committed: single entries, and accounts rewritten whole by prune
        self._dirty: set[tuple[str, int]] = set()
        self._rewrite: set[str] = set()

    def record(self, key: str, slot: int, before: Account | None, after: Account | None) -> None:
        """``key`` was written in ``slot``: it was ``before`` and is now ``after``."""
        h = self.entries.get(key)
        if h is None:
            self.entries[key] = [(-1, before), (slot, after)]
            self.touched.append((slot, key))
            self._dirty.add((key, -1))
        elif h[-1][0] == slot:
            h[-1] = (slot, after)
        else:
            h.append((slot, after))
            self.touched.append((slot, key))
        self._dirty.add((key, slot))

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
                self._rewrite.add(key)
                continue
            keep = 0
            for i, (s, _state) in enumerate(h):
                if s <= finalized_slot:
                    keep = i
            if keep:
                self.entries[key] = [(-1, h[keep][1]), *h[keep + 1 :]]
                self._rewrite.add(key)

    # --- persistence ----------------------------------------------------------------------------------------

    def changes(self) -> tuple[list[str], list[HistoryRow]]:
        """(accounts whose stored rows are replaced, rows to upsert) since :meth:`clear_changes`."""
        rows: list[HistoryRow] = []
        for key in self._rewrite:
            rows += [(key, s, state) for s, state in self.entries.get(key, ())]
        for key, slot in self._dirty:
            if key in self._rewrite:
                continue
            for s, state in reversed(self.entries.get(key, ())):
                if s == slot:
                    rows.append((key, s, state))
                    break
        return list(self._rewrite), rows

    def has_changes(self) -> bool:
        """Whether anything changed since the last commit."""
        return bool(self._dirty or self._rewrite)

    def clear_changes(self) -> None:
        """The ledger committed :meth:`changes`."""
        self._dirty.clear()
        self._rewrite.clear()

    def load(self, rows: Iterable[HistoryRow], finalized_slot: int) -> None:
        """Rebuild from stored rows (ordered by account, then slot), then prune at ``finalized_slot``."""
        for key, slot, state in rows:
            self.entries.setdefault(key, []).append((slot, state))
        self.touched = deque(sorted((s, k) for k, h in self.entries.items() for s, _state in h if s >= 0))
        self.prune(finalized_slot)


def encode_state(state: Account | None) -> bytes | None:
    """An account state as a ledger blob (None stays None: "no account")."""
    if state is None:
        return None
    return _HEAD.pack(state.lamports, state.executable, bytes(state.owner)) + bytes(state.data)


def decode_state(blob: bytes | None) -> Account | None:
    """Inverse of :func:`encode_state`."""
    if blob is None:
        return None
    lamports, executable, owner = _HEAD.unpack_from(blob)
    return Account(lamports, bytes(blob[_HEAD.size :]), Pubkey.from_bytes(owner), bool(executable))


MISSING = _MISSING
