"""The SQLite ledger's connection: one ``sqlite3`` connection behind a lock, write transactions begun
``IMMEDIATE``, and storage failures turned into the SDK's errors.

``IMMEDIATE`` takes the database's write lock when the transaction begins, so a read-then-write inside one is
atomic across threads, connections and processes: the action log's leases rest on it. A SQLite failure of the
environment (disk full, locked past the busy timeout, a corrupt file) leaves as :class:`ConnectorError` naming
the operation; integrity and programming errors are bugs and go through as they are.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .._errors import ConnectorError
from ._checkpointer import Checkpointer, start_checkpointer
from ._schema import SQLITE, migrate
from ._storage import Storage

__all__ = ["SQLiteConnection"]

# The page size of a ledger created from now on (one that exists keeps its own: SQLite fixes a database's page
# size when it is first written, and in WAL mode for good). The orders table keeps every row in its b-tree
# (``WITHOUT ROWID``) and a row holds the order's snapshot, often 2-5 kB. On SQLite's default 4 kB pages such a
# b-tree keeps about 1 kB of a row in place and chains the rest through overflow pages; on 32 kB pages up to
# about 8 kB stays in place. A download's page write then costs about a fifth less CPU (ledger, rules and
# snapshots of 10,000 orders: 100-113 against 129-138 µs an order, measured 2026-11-28, four runs each); a
# small write (a post-back's refresh) costs more (about 330 against 190-240 µs), since every page it touches is
# larger. Downloads write far more than post-backs, so the ledger is built for them.
_PAGE_SIZE = 32768


@contextmanager
def _typed(operation: str) -> Iterator[None]:
    """Turn a storage failure into ``ConnectorError`` naming the operation. Integrity and programming errors
    (a bug in the SDK or the caller, not the environment) go through as they are."""
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise
    except sqlite3.DatabaseError as exc:  # OperationalError (locked, disk full, I/O), corrupt file, ...
        raise ConnectorError(f"ledger: {operation} failed: {exc}") from exc


class SQLiteConnection(Storage):
    """Opens (and migrates) the database and runs the ledger's statements on it, one at a time."""

    _dialect = SQLITE

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._checkpointer: Checkpointer | None = None
        with _typed(f"opening {self.path}"):
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                # Before anything is written (and before WAL mode): a database that exists ignores it.
                self._conn.execute(f"PRAGMA page_size={_PAGE_SIZE}")
                if self.path != ":memory:":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA busy_timeout=5000")
                with self._lock:
                    self.version = migrate(self._conn)
                if self.path != ":memory:":
                    self._checkpointer = start_checkpointer(self._conn, self.path)
            except BaseException:
                self._conn.close()
                raise

    def close(self) -> None:
        with self._lock:
            # The checkpointer's connection first, so that the ledger's own is the last one open and, closing,
            # copies the rest of the log into the database and removes it.
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            self._conn.close()

    @contextmanager
    def _transaction(self, operation: str = "write") -> Iterator[sqlite3.Connection]:
        """One write transaction, begun ``IMMEDIATE`` (it takes the database's write lock at once, so a
        read-then-write inside it is atomic across connections and processes)."""
        with self._lock, _typed(operation):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
                if self._checkpointer is not None:
                    self._checkpointer.poke()
            except BaseException:
                if self._conn.in_transaction:  # SQLite may already have rolled back (disk full)
                    with suppress(sqlite3.Error):  # the first error is the one to report
                        self._conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _sql(template: str) -> str:
        """SQLite's SQL for a statement template shared with PostgreSQL: the tables live in the database's
        own schema, values are marked ``?``."""
        return template.replace("{s}.", "").replace("%s", "?")

    def _query(self, operation: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _typed(operation):
            return self._conn.execute(sql, params).fetchall()
