"""Reading PostgreSQL rows back into the ledger's records (stamps arrive as aware ``datetime``, flags as
``bool``; JSON text goes through the same codec as SQLite's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from .._convert import order_from_snapshot
from .._outcomes import Tab
from ._codec import _changes_from, _loads, _loads_raw
from ._records import ActionRecord, OrderRecord, PendingUpdate


def order_record(row: Sequence[Any]) -> OrderRecord:
    """A row selected with ``_pg_schema.ORDER_COLUMNS``."""
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
        paid=paid,
        shipped=shipped,
        order=order_from_snapshot(orjson.loads(snapshot), raw=_loads_raw(raw)),
        fingerprint=fingerprint,
        first_seen=first_seen,
        last_changed=last_changed,
        replaced_by=replaced_by,
        dismissed=dismissed,
    )


def pending_record(row: Sequence[Any]) -> PendingUpdate:
    """A row selected with ``_pg_schema.PENDING``."""
    store, order_id, replaces, changes, snapshot, raw, detected_at = row
    return PendingUpdate(
        store=store,
        order_id=order_id,
        order=order_from_snapshot(orjson.loads(snapshot), raw=_loads_raw(raw)),
        changes=_changes_from(changes),
        replaces=replaces,
        detected_at=detected_at,
    )


def action_record(row: Sequence[Any]) -> ActionRecord:
    """A row selected with ``_pg_schema.ACTION``."""
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
        started_at=started,
        finished_at=finished,
        owner=owner,
        lease_until=lease_until,
        checkpoint=checkpoint,
        log=tuple(_loads(log) or ()),
    )
