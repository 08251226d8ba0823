"""Reading SQLite rows back into the ledger's records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._convert import order_from_snapshot
from .._outcomes import Tab
from ._codec import _changes_from, _dt, _loads, _loads_raw
from ._records import ActionRecord, OrderRecord, PendingUpdate

_PENDING = "SELECT store, order_id, replaces, changes, snapshot, raw, detected_at FROM pending_updates"

_ACTION = (
    "SELECT id, store, order_id, kind, idempotency_key, request, state, result, error, attempts, "
    "started_at, finished_at, owner, lease_until, checkpoint, log FROM actions"
)


def _order_record(row: Sequence[Any]) -> OrderRecord:
    """A row selected with ``_schema._ORDER_COLUMNS``."""
    (
        store,
        order_id,
        number,
        status,
        tab,
        paid,
        shipped,
        fingerprint,
        snapshot,
        raw,
        first_seen,
        last_changed,
        replaced_by,
        dismissed,
    ) = row
    return OrderRecord(
        store=store,
        order_id=order_id,
        number=number,
        status=status,
        tab=Tab(tab),
        paid=bool(paid),
        shipped=bool(shipped),
        order=order_from_snapshot(_loads(snapshot), raw=_loads_raw(raw)),
        fingerprint=fingerprint,
        first_seen=_dt(first_seen),
        last_changed=_dt(last_changed),
        replaced_by=replaced_by,
        dismissed=dismissed,
    )


def _pending_record(row: Sequence[Any]) -> PendingUpdate:
    """A row selected with ``_PENDING``."""
    store, order_id, replaces, changes, snapshot, raw, detected_at = row
    return PendingUpdate(
        store=store,
        order_id=order_id,
        order=order_from_snapshot(_loads(snapshot), raw=_loads_raw(raw)),
        changes=_changes_from(changes),
        replaces=replaces,
        detected_at=_dt(detected_at),
    )


def _action_record(row: Sequence[Any]) -> ActionRecord:
    """A row selected with ``_ACTION``."""
    (
        id_,
        store,
        order_id,
        kind,
        key,
        request,
        state,
        result,
        error,
        attempts,
        started,
        finished,
        owner,
        lease_until,
        checkpoint,
        log,
    ) = row
    return ActionRecord(
        id=id_,
        store=store,
        order_id=order_id,
        kind=kind,
        key=key,
        request=_loads(request),
        state=state,
        result=_loads(result),
        error=error,
        attempts=attempts,
        started_at=_dt(started),
        finished_at=_dt(finished) if finished else None,
        owner=owner,
        lease_until=_dt(lease_until) if lease_until else None,
        checkpoint=checkpoint,
        log=tuple(_loads(log) or ()),
    )
