"""The SQLite ledger's action log: leased, exactly-once writes, every attempt on record.

:meth:`begin_action` reads and writes the action's row in one ``BEGIN IMMEDIATE`` transaction, which holds the
database's write lock from the start, so callers racing on one key (threads, or processes with their own
connections) are served one after the other and exactly one goes. The holder gets a lease; a caller that finds
a live lease gets :class:`~ecc_connectors.ActionInProgress`, one that finds an expired lease (a crashed holder)
or a failed attempt takes the action over. A holder whose lease passed to another caller cannot overwrite the
new holder's state when it finishes late: its outcome goes to the log only. The contracts are on
:class:`ecc_connectors.ledger.ActionLog`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ._codec import _dt, _dumps, _ts
from ._records import ActionRecord, ActionState
from ._rows import _ACTION, _action_record
from ._shared_rows import finished_log, retake_reason
from ._sqlite_connection import SQLiteConnection

__all__ = ["SQLiteActionLog"]


class SQLiteActionLog(SQLiteConnection):
    """The :class:`~ecc_connectors.ledger.ActionLog` role of :class:`~ecc_connectors.ledger.SQLiteLedger`."""

    def _action_row(self, conn: sqlite3.Connection, action_id: int) -> ActionRecord:
        row = conn.execute(f"{_ACTION} WHERE id = ?", (action_id,)).fetchone()
        if row is None:
            raise KeyError(f"no action with id {action_id}")
        return _action_record(row)

    def begin_action(
        self,
        store: str,
        order_id: str,
        kind: str,
        key: str,
        request: Any,
        now: datetime,
        *,
        owner: str = "",
        lease: timedelta = timedelta(minutes=5),
    ) -> tuple[ActionRecord, bool]:
        """Claim the action for ``owner`` until ``now + lease``; returns the row and whether to go ahead.

        See :meth:`Ledger.begin_action`. The row is read and written in one ``BEGIN IMMEDIATE`` transaction,
        which holds the database's write lock from the start, so callers racing on one key (threads, or
        processes with their own connections) are served one after the other and exactly one goes."""
        stamp = _ts(now)
        at = _dt(stamp)
        until = _ts(now + lease)
        with self._transaction("begin_action") as conn:
            row = conn.execute(f"{_ACTION} WHERE store = ? AND idempotency_key = ?", (store, key)).fetchone()
            if row is None:
                log: list[Mapping[str, Any]] = [{"attempt": 1, "owner": owner, "started": stamp}]
                cursor = conn.execute(
                    "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, started_at, "
                    "owner, lease_until, log) VALUES (?, ?, ?, ?, ?, 'started', ?, ?, ?, ?)",
                    (store, order_id, kind, key, _dumps(request), stamp, owner, until, _dumps(log)),
                )
                assert cursor.lastrowid is not None
                action_id = cursor.lastrowid
            else:
                existing = _action_record(row)
                if existing.state == ActionState.DONE:
                    return existing, False
                after = retake_reason(existing, at, key)
                attempt = existing.attempts + 1
                log = [
                    *existing.log,
                    {"attempt": attempt, "owner": owner, "started": stamp, "after": after},
                ]
                conn.execute(
                    "UPDATE actions SET state = 'started', attempts = ?, started_at = ?, finished_at = NULL, "
                    "result = NULL, error = NULL, owner = ?, lease_until = ?, log = ? WHERE id = ?",
                    (attempt, stamp, owner, until, _dumps(log), existing.id),
                )
                action_id = existing.id
            fresh = self._action_row(conn, action_id)
        return fresh, True

    def finish_action(
        self,
        action_id: int,
        *,
        ok: bool,
        result: Any = None,
        error: str | None = None,
        now: datetime,
        note: str = "",
        owner: str | None = None,
    ) -> ActionRecord:
        """Mark the action ``done`` or ``failed`` and complete its log (see :meth:`Ledger.finish_action`)."""
        stamp = _ts(now)
        with self._transaction("finish_action") as conn:
            current = self._action_row(conn, action_id)
            log, own = finished_log(current, ok=ok, result=result, error=error, now=now, note=note, owner=owner)
            if not own:
                conn.execute("UPDATE actions SET log = ? WHERE id = ?", (_dumps(log), action_id))
            else:
                conn.execute(
                    "UPDATE actions SET state = ?, result = ?, error = ?, finished_at = ?, lease_until = NULL, "
                    "log = ? WHERE id = ?",
                    (
                        ActionState.DONE if ok else ActionState.FAILED,
                        _dumps(result) if ok else None,
                        error,
                        stamp,
                        _dumps(log),
                        action_id,
                    ),
                )
            return self._action_row(conn, action_id)

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        """Keep ``checkpoint`` on the action for a later attempt (see :meth:`Ledger.checkpoint_action`)."""
        with self._transaction("checkpoint_action") as conn:
            cursor = conn.execute("UPDATE actions SET checkpoint = ? WHERE id = ?", (checkpoint, action_id))
            if cursor.rowcount != 1:
                raise KeyError(f"no action with id {action_id}")

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]:
        """The action log (the per-order audit trail when ``order_id`` is given), oldest first."""
        if order_id is None:
            rows = self._query("actions", f"{_ACTION} WHERE store = ? ORDER BY id", (store,))
        else:
            rows = self._query("actions", f"{_ACTION} WHERE store = ? AND order_id = ? ORDER BY id", (store, order_id))
        return [_action_record(row) for row in rows]
