"""The action log both ledgers run: leased, exactly-once writes to the store, every attempt on record.

Theory of operation
-------------------
:meth:`SharedActionLog.begin_action` reads the action's row in a write transaction, inserts it when it is not
there, or judges the attempt on record: a ``done`` action stands, a live lease raises
:class:`~ecc_connectors.ActionInProgress`, and a failed attempt or an expired lease (a crashed holder) is taken
over as the next attempt, the log saying after what. How callers racing on one key are kept apart is the
engine's, and so is the insert (``_insert_action``): SQLite serves them one after the other under ``BEGIN
IMMEDIATE`` (``_sqlite_actions``); PostgreSQL queues them on the row's lock and lets one insert win
(``_pg_actions``).

:meth:`SharedActionLog.finish_action` completes the log: the current attempt's entry gets the outcome, and a
holder whose lease passed to another caller adds a ``late`` entry instead, without touching the new holder's
state. The contracts are on :class:`ecc_connectors.ledger.ActionLog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .._errors import ActionInProgress
from ._codec import _dumps, _ts
from ._records import ActionRecord, ActionState
from ._shared_rows import action_record
from ._storage import Storage

__all__ = ["SharedActionLog"]

ACTION = (
    "SELECT id, store, order_id, kind, idempotency_key, request, state, result, error, attempts, started_at, "
    "finished_at, owner, lease_until, checkpoint, log FROM {s}.actions"
)


class SharedActionLog(Storage):
    """The :class:`~ecc_connectors.ledger.ActionLog` role, over the engine's connection and its
    ``_insert_action``."""

    def _insert_action(self, conn: Any, values: tuple[Any, ...]) -> int | None:
        """Insert a new action row, ``values`` being ``(store, order_id, kind, idempotency_key, request,
        started_at, owner, lease_until, log)``; its id, or ``None`` when another caller's row for the key was
        committed first."""
        raise NotImplementedError

    def _action_row(self, conn: Any, action_id: int, *, lock: bool = False) -> ActionRecord:
        lock_rows = self._dialect.lock_rows if lock else ""
        row = conn.execute(self._sql(f"{ACTION} WHERE id = %s{lock_rows}"), (action_id,)).fetchone()
        if row is None:
            raise KeyError(f"no action with id {action_id}")
        return action_record(row, self._dialect.parse)

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
        """Claim the action for ``owner`` until ``now + lease``; returns the row and whether to go ahead (see
        :meth:`Ledger.begin_action`)."""
        at, until = self._dialect.stamp(now), self._dialect.stamp(now + lease)
        started = _ts(now)  # the log is JSON: its times are ISO text whatever the engine
        select = self._sql(f"{ACTION} WHERE store = %s AND idempotency_key = %s{self._dialect.lock_rows}")
        with self._transaction("begin_action") as conn:
            row = conn.execute(select, (store, key)).fetchone()
            if row is None:
                log: list[Mapping[str, Any]] = [{"attempt": 1, "owner": owner, "started": started}]
                values = (store, order_id, kind, key, _dumps(request), at, owner, until, _dumps(log))
                action_id = self._insert_action(conn, values)
                if action_id is not None:
                    return self._action_row(conn, action_id), True
                # Another caller's insert came first (PostgreSQL): its committed row is the one to judge.
                row = conn.execute(select, (store, key)).fetchone()
                assert row is not None, "an action row that blocked our insert is gone"
            existing = action_record(row, self._dialect.parse)
            if existing.state == ActionState.DONE:
                return existing, False
            after = retake_reason(existing, now, key)
            attempt = existing.attempts + 1
            log = [*existing.log, {"attempt": attempt, "owner": owner, "started": started, "after": after}]
            conn.execute(
                self._sql(
                    "UPDATE {s}.actions SET state = 'started', attempts = %s, started_at = %s, finished_at = NULL, "
                    "result = NULL, error = NULL, owner = %s, lease_until = %s, log = %s WHERE id = %s"
                ),
                (attempt, at, owner, until, _dumps(log), existing.id),
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
                        self._dialect.stamp(now),
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
            rows = self._read("actions", f"{ACTION} WHERE store = %s ORDER BY id", (store,))
        else:
            rows = self._read("actions", f"{ACTION} WHERE store = %s AND order_id = %s ORDER BY id", (store, order_id))
        return [action_record(row, self._dialect.parse) for row in rows]


# -- the log's entries -----------------------------------------------------------------------------------------


def retake_reason(existing: ActionRecord, now: datetime, key: str) -> str:
    """Why a new attempt may take over ``existing`` (an action not done), as its log entry's ``after``; raises
    :class:`~ecc_connectors.ActionInProgress` while another caller's lease runs."""
    if existing.state == ActionState.FAILED:
        return f"failed: {existing.error or 'no error recorded'}"
    if existing.lease_until is None:
        # Started before leases existed (SQLite schema 3) or imported, and never finished.
        return f"attempt {existing.attempts} started at {_ts(existing.started_at)} was not finished"
    if existing.lease_until > now:
        raise ActionInProgress(
            f"{existing.kind} of order {existing.order_id} is already in progress "
            f"({existing.owner or 'unnamed owner'}) until {_ts(existing.lease_until)}; try again after that",
            key=key,
            owner=existing.owner or "",
            lease_until=existing.lease_until,
        )
    return f"lease of {existing.owner or 'unnamed owner'} expired at {_ts(existing.lease_until)}"


def finished_log(
    current: ActionRecord,
    *,
    ok: bool,
    result: Any,
    error: str | None,
    now: datetime,
    note: str,
    owner: str | None,
) -> tuple[list[Mapping[str, Any]], bool]:
    """The action's log completed by this finish, and whether the finish is the action's own: ``False`` for a
    holder whose lease passed to another caller (its outcome is in the log only; the row's state is theirs)."""
    outcome: dict[str, Any] = {"finished": _ts(now), "ok": ok}
    if error is not None:
        outcome["error"] = error
    outcome["note"] = note
    log: list[Mapping[str, Any]] = list(current.log)
    holder = current.owner or ""
    if owner is not None and holder != owner:
        # Our lease expired and another caller took the action over: theirs is the state to keep.
        ours = [entry.get("attempt") for entry in log if entry.get("owner") == owner]
        late: dict[str, Any] = {"attempt": ours[-1] if ours else None, "owner": owner, **outcome}
        if ok and result is not None:
            late["result"] = result
        late["late"] = f"finished after the action passed to {holder or 'unnamed owner'}; not recorded on the action"
        log.append(late)
        return log, False
    # The current attempt's entry is the last one, but for late finishes of earlier holders.
    mine = next(
        (i for i in range(len(log) - 1, -1, -1) if log[i].get("attempt") == current.attempts and "late" not in log[i]),
        None,
    )
    if mine is not None and "finished" not in log[mine]:
        log[mine] = {**log[mine], **outcome}
    else:  # finished twice, or a row without a log: keep both ends on record
        log.append({"attempt": current.attempts, "owner": current.owner, **outcome})
    return log, True
