"""Rows both ledgers read and write the same way, whatever the engine: records decoded from selected rows, and
the parameters of a page's pending updates, failures and superseded rows.

Theory of operation
-------------------
SQLite and PostgreSQL select the same columns in the same order (``_schema`` and ``_pg_schema``) and store JSON
as text through one codec (``_codec``), so turning a row into a record, or a page into statement parameters, is
the same code for both. What differs is how a stamp travels: SQLite keeps ISO text (``_codec._ts`` on the way in,
``_codec._dt`` on the way out), psycopg hands ``timestamptz`` to and from aware ``datetime`` itself. Each function
therefore takes the engine's conversion, ``parse`` for a stamp read back or ``stamp`` for one written (the
engine's :class:`~._storage.Dialect` holds both). Flags go through ``bool`` (SQLite answers 0 and 1; psycopg
already answers booleans). The rows of a page's orders stay with each engine: SQLite keeps raw payloads in a
table of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .._convert import order_from_snapshot, snapshot_json
from .._outcomes import Tab
from ._codec import _changes_from, _changes_json, _dumps_raw, _loads, _loads_raw
from ._records import ActionRecord, OrderRecord, PageBatch, PendingUpdate

__all__ = [
    "action_record",
    "as_is",
    "failure_params",
    "order_record",
    "pending_record",
    "superseded_params",
    "update_params",
]

Parse = Callable[[Any], datetime]
"""How an engine reads a stamp column back: ``_codec._dt`` for SQLite's text, :func:`as_is` for psycopg's."""


def as_is(value: datetime) -> datetime:
    """The stamp conversion of an engine whose driver reads and writes ``datetime`` itself (psycopg)."""
    return value


# -- reading ---------------------------------------------------------------------------------------------------


def order_record(row: Sequence[Any], parse: Parse) -> OrderRecord:
    """A row selected with the engine's order columns (``_schema._ORDER_COLUMNS``, ``_pg_schema.ORDER_COLUMNS``)."""
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
        first_seen=parse(first_seen),
        last_changed=parse(last_changed),
        replaced_by=replaced_by,
        dismissed=dismissed,
    )


def pending_record(row: Sequence[Any], parse: Parse) -> PendingUpdate:
    """A row selected with ``_shared_ledger.PENDING``."""
    store, order_id, replaces, changes, snapshot, raw, detected_at = row
    return PendingUpdate(
        store=store,
        order_id=order_id,
        order=order_from_snapshot(_loads(snapshot), raw=_loads_raw(raw)),
        changes=_changes_from(changes),
        replaces=replaces,
        detected_at=parse(detected_at),
    )


def action_record(row: Sequence[Any], parse: Parse) -> ActionRecord:
    """A row selected with ``_shared_actions.ACTION``."""
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
        started_at=parse(started),
        finished_at=parse(finished) if finished else None,
        owner=owner,
        lease_until=parse(lease_until) if lease_until else None,
        checkpoint=checkpoint,
        log=tuple(_loads(log) or ()),
    )


# -- writing a page --------------------------------------------------------------------------------------------


def superseded_params(batch: PageBatch, now: Any) -> list[tuple[Any, ...]]:
    """``(new order_id, now, store, old order_id)`` for each row of the page that replaces an older entity."""
    return [(row.order.order_id, now, batch.store, row.supersedes) for row in batch.rows if row.supersedes is not None]


def update_params(batch: PageBatch, now: Any, stamp: Callable[[datetime], Any]) -> list[tuple[Any, ...]]:
    """The parameters of the engine's pending-update upsert (``_UPSERT_UPDATE``, ``UPSERT_UPDATE``), one tuple
    an update of the page; ``now`` is already in the engine's form, the order's own stamp goes through ``stamp``."""
    return [
        (
            batch.store,
            u.target,
            u.order.order_id,
            u.replaces,
            _changes_json(u.changes),
            snapshot_json(u.order).decode(),
            _dumps_raw(u.order.raw),
            now,
            stamp(u.order.updated_at),
        )
        for u in batch.updates
    ]


def failure_params(batch: PageBatch, now: Any) -> list[tuple[Any, ...]]:
    """The parameters of the engine's failure upsert, one tuple a payload failure of the page (an unknown order
    reference is stored as ``""``: the key's column is not nullable)."""
    return [(batch.store, f.order_ref or "", f.field, f.problem, _dumps_raw(f.raw), now) for f in batch.failures]
