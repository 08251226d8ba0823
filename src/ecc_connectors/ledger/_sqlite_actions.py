"""The SQLite ledger's action log: the shared one (``_shared_actions``) under SQLite's write lock.

:meth:`~._shared_actions.SharedActionLog.begin_action` reads and writes the action's row in one ``BEGIN
IMMEDIATE`` transaction, which holds the database's write lock from the start, so callers racing on one key
(threads, or processes with their own connections) are served one after the other and exactly one goes: the
first inserts the row, the others find it. The contracts are on :class:`ecc_connectors.ledger.ActionLog`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._shared_actions import SharedActionLog
from ._sqlite_connection import SQLiteConnection

__all__ = ["SQLiteActionLog"]


class SQLiteActionLog(SQLiteConnection, SharedActionLog):
    """The :class:`~ecc_connectors.ledger.ActionLog` role of :class:`~ecc_connectors.ledger.SQLiteLedger`."""

    def _insert_action(self, conn: sqlite3.Connection, values: tuple[Any, ...]) -> int | None:
        # The transaction has held the write lock since it began: no other caller can have inserted the key
        # since this one found it missing.
        cursor = conn.execute(
            "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, started_at, owner, "
            "lease_until, log) VALUES (?, ?, ?, ?, ?, 'started', ?, ?, ?, ?)",
            values,
        )
        return cursor.lastrowid
