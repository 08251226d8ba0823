"""The PostgreSQL ledger's action log: leased, exactly-once writes, every attempt on record, atomic across
processes by the server's own locks.

Theory of operation
-------------------
:meth:`PostgresActionLog.begin_action` reads the action row ``FOR UPDATE`` (racers on an existing row queue on
its row lock), or inserts a missing row with ``ON CONFLICT DO NOTHING``; a racer that lost that insert reads the
winner's committed row (``READ COMMITTED``: each statement sees what committed before it) and finds its live
lease. So of callers racing on one key in any number of processes exactly one goes. The holder gets a lease; a
caller that finds a live lease gets :class:`~ecc_connectors.ActionInProgress`, one that finds an expired lease (a
crashed holder) or a failed attempt takes the action over. A holder whose lease passed to another caller cannot
overwrite the new holder's state when it finishes late: its outcome goes to the log only. The contracts are on
:class:`ecc_connectors.ledger.ActionLog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ._codec import _dumps, _ts
from ._pg_connection import Conn, PostgresConnection
from ._pg_rows import action_record
from ._pg_schema import ACTION
from ._records import ActionRecord, ActionState
from ._shared_rows import finished_log, retake_reason

__all__ = ["PostgresActionLog"]


class PostgresActionLog(PostgresConnection):
    """The :class:`~ecc_connectors.ledger.ActionLog` role of
    :class:`~ecc_connectors.ledger.postgres.PostgresLedger`."""

    def _action_row(self, conn: Conn, action_id: int, *, lock: bool = False) -> ActionRecord:
        row = conn.execute(
            self._sql(f"{ACTION} WHERE id = %s" + (" FOR UPDATE" if lock else "")), (action_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no action with id {action_id}")
        return action_record(row)

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

        See :meth:`Ledger.begin_action`. The row is read ``FOR UPDATE`` (racers on an existing row queue on its
        row lock); a missing row is inserted ``ON CONFLICT DO NOTHING``, and a racer that lost that insert
        reads the winner's committed row (``READ COMMITTED``: each statement sees what committed before it) and
        finds its live lease."""
        stamp = _ts(now)
        select = self._sql(f"{ACTION} WHERE store = %s AND idempotency_key = %s FOR UPDATE")
        with self._transaction("begin_action") as conn:
            row = conn.execute(select, (store, key)).fetchone()
            if row is None:
                log: list[Mapping[str, Any]] = [{"attempt": 1, "owner": owner, "started": stamp}]
                inserted = conn.execute(
                    self._sql(
                        "INSERT INTO {s}.actions (store, order_id, kind, idempotency_key, request, state, "
                        "started_at, owner, lease_until, log) VALUES (%s, %s, %s, %s, %s, 'started', %s, %s, %s, %s) "
                        "ON CONFLICT (store, idempotency_key) DO NOTHING RETURNING id"
                    ),
                    (store, order_id, kind, key, _dumps(request), now, owner, now + lease, _dumps(log)),
                ).fetchone()
                if inserted is not None:
                    return self._action_row(conn, int(inserted[0])), True
                row = conn.execute(select, (store, key)).fetchone()
                assert row is not None, "an action row that blocked our insert is gone"
            existing = action_record(row)
            if existing.state == ActionState.DONE:
                return existing, False
            after = retake_reason(existing, now, key)
            attempt = existing.attempts + 1
            log = [*existing.log, {"attempt": attempt, "owner": owner, "started": stamp, "after": after}]
            conn.execute(
                self._sql(
                    "UPDATE {s}.actions SET state = 'started', attempts = %s, started_at = %s, finished_at = NULL, "
                    "result = NULL, error = NULL, owner = %s, lease_until = %s, log = %s WHERE id = %s"
                ),
                (attempt, now, owner, now + lease, _dumps(log), existing.id),
            )
            return self._action_row(conn, existing.id), True

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
        with self._transaction("finish_action") as conn:
            current = self._action_row(conn, action_id, lock=True)
            log, own = finished_log(current, ok=ok, result=result, error=error, now=now, note=note, owner=owner)
            if not own:
                conn.execute(self._sql("UPDATE {s}.actions SET log = %s WHERE id = %s"), (_dumps(log), action_id))
            else:
                conn.execute(
                    self._sql(
                        "UPDATE {s}.actions SET state = %s, result = %s, error = %s, finished_at = %s, "
                        "lease_until = NULL, log = %s WHERE id = %s"
                    ),
                    (
                        ActionState.DONE if ok else ActionState.FAILED,
                        _dumps(result) if ok else None,
                        error,
                        now,
                        _dumps(log),
                        action_id,
                    ),
                )
            return self._action_row(conn, action_id)

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        """Keep ``checkpoint`` on the action for a later attempt (see :meth:`Ledger.checkpoint_action`)."""
        with self._transaction("checkpoint_action") as conn:
            cursor = conn.execute(
                self._sql("UPDATE {s}.actions SET checkpoint = %s WHERE id = %s"), (checkpoint, action_id)
            )
            if cursor.rowcount != 1:
                raise KeyError(f"no action with id {action_id}")

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]:
        """The action log (the per-order audit trail when ``order_id`` is given), oldest first."""
        if order_id is None:
            rows = self._query("actions", f"{ACTION} WHERE store = %s ORDER BY id", (store,))
        else:
            rows = self._query("actions", f"{ACTION} WHERE store = %s AND order_id = %s ORDER BY id", (store, order_id))
        return [action_record(row) for row in rows]
