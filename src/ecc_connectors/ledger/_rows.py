"""Reading SQLite rows back into the ledger's records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._codec import _dt
from ._records import ActionRecord, OrderRecord, PendingUpdate
from ._shared_rows import action_record, order_record, pending_record

_PENDING = "SELECT store, order_id, replaces, changes, snapshot, raw, detected_at FROM pending_updates"

_ACTION = (
    "SELECT id, store, order_id, kind, idempotency_key, request, state, result, error, attempts, "
    "started_at, finished_at, owner, lease_until, checkpoint, log FROM actions"
)


def _order_record(row: Sequence[Any]) -> OrderRecord:
    """A row selected with ``_schema._ORDER_COLUMNS``."""
    return order_record(row, _dt)


def _pending_record(row: Sequence[Any]) -> PendingUpdate:
    """A row selected with ``_PENDING``."""
    return pending_record(row, _dt)


def _action_record(row: Sequence[Any]) -> ActionRecord:
    """A row selected with ``_ACTION``."""
    return action_record(row, _dt)
