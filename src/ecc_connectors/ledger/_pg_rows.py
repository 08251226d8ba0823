"""Reading PostgreSQL rows back into the ledger's records (stamps arrive as aware ``datetime``, flags as
``bool``; JSON text goes through the same codec as SQLite's, the decoding itself is ``_shared_rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._records import ActionRecord, OrderRecord, PendingUpdate
from ._shared_rows import action_record as _action_record
from ._shared_rows import as_is
from ._shared_rows import order_record as _order_record
from ._shared_rows import pending_record as _pending_record


def order_record(row: Sequence[Any]) -> OrderRecord:
    """A row selected with ``_pg_schema.ORDER_COLUMNS``."""
    return _order_record(row, as_is)


def pending_record(row: Sequence[Any]) -> PendingUpdate:
    """A row selected with ``_pg_schema.PENDING``."""
    return _pending_record(row, as_is)


def action_record(row: Sequence[Any]) -> ActionRecord:
    """A row selected with ``_pg_schema.ACTION``."""
    return _action_record(row, as_is)
