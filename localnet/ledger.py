"""The node's ledger file: transactions, accounts, their recent history and slot times in SQLite.

The node commits before any client can see a change (see ``Bank.flush``), so a restart, even after
``kill -9``, serves every commitment level as it was.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from localnet.errors import LocalnetError
from localnet.history import HistoryRow, decode_state, encode_state
from localnet.records import TxRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (seq INTEGER PRIMARY KEY, signature TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    pubkey TEXT PRIMARY KEY, lamports INTEGER NOT NULL, data BLOB NOT NULL, owner TEXT NOT NULL,
    executable INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS slots (slot INTEGER PRIMARY KEY, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    pubkey TEXT NOT NULL, slot INTEGER NOT NULL, state BLOB, PRIMARY KEY (pubkey, slot)
);
"""

AccountRow = tuple[str, int, bytes, str, bool]


class LedgerFile:
    """A SQLite ledger under ``directory`` (``ledger.sqlite``); ``reset`` empties it first."""

    def __init__(self, directory: Path, reset: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "ledger.sqlite"
        # one node per ledger: a second one would interleave slots and history
        self._lock_fd = os.open(directory / "ledger.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise LocalnetError(f"the ledger {directory} is in use by another node") from None
        if reset and self.path.exists():
            self.path.unlink()
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def get_meta(self, key: str) -> bytes | None:
        """A metadata value, or None."""
        row = self.db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def accounts(self) -> Iterator[AccountRow]:
        """Every stored account, non-executable ones first (program data before the programs using it)."""
        for row in self.db.execute(
            "SELECT pubkey, lamports, data, owner, executable FROM accounts ORDER BY executable"
        ):
            yield row[0], row[1], bytes(row[2]), row[3], bool(row[4])

    def transactions(self) -> Iterator[TxRecord]:
        """Every stored transaction in landing order."""
        for (body,) in self.db.execute("SELECT body FROM txs ORDER BY seq"):
            yield TxRecord.from_store(body)

    def slot_times(self) -> Iterator[tuple[int, int]]:
        """(slot, unix time) of every stored slot."""
        yield from self.db.execute("SELECT slot, time FROM slots ORDER BY slot")

    def history(self) -> Iterator[HistoryRow]:
        """Stored account history, by account then slot."""
        for pk, slot, state in self.db.execute("SELECT pubkey, slot, state FROM history ORDER BY pubkey, slot"):
            yield pk, slot, decode_state(None if state is None else bytes(state))

    def commit(
        self,
        meta: dict[str, bytes],
        txs: Iterable[TxRecord],
        accounts: Iterable[AccountRow],
        deleted: Iterable[str],
        slots: Iterable[tuple[int, int]],
        history: tuple[list[str], list[HistoryRow]] = ([], []),
    ) -> None:
        """Write changes in a single SQLite transaction (``history``: accounts rewritten whole, rows)."""
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            cur.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", meta.items())
            cur.executemany(
                "INSERT OR IGNORE INTO txs (seq, signature, body) VALUES (?, ?, ?)",
                ((r.seq, r.signature, r.to_store()) for r in txs),
            )
            cur.executemany(
                "INSERT OR REPLACE INTO accounts (pubkey, lamports, data, owner, executable) "
                "VALUES (?, ?, ?, ?, ?)",
                accounts,
            )
            cur.executemany("DELETE FROM accounts WHERE pubkey = ?", ((k,) for k in deleted))
            cur.executemany("INSERT OR REPLACE INTO slots (slot, time) VALUES (?, ?)", slots)
            rewritten, rows = history
            cur.executemany("DELETE FROM history WHERE pubkey = ?", ((k,) for k in rewritten))
            cur.executemany(
                "INSERT OR REPLACE INTO history (pubkey, slot, state) VALUES (?, ?, ?)",
                ((k, s, encode_state(a)) for k, s, a in rows),
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the file and release the ledger lock."""
        self.db.close()
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
