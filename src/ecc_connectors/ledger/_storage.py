"""What the code both ledgers share (``_shared_ledger``, ``_shared_actions``) asks of a storage engine.

The two ledgers run the same logic for most of their methods; what differs is the engine underneath. Its
connection layer (``_sqlite_connection``, ``_pg_connection``) is a :class:`Storage`: it hands out transactions and
runs reads, turns a statement template into its own SQL (``_sql``), and names its :class:`Dialect`, the values
and fragments that differ between the engines.

Templates are written in the PostgreSQL ledger's notation: ``{s}.`` before a table (the ledger's schema) and
``%s`` for a value. PostgreSQL puts the schema's name in; SQLite drops the prefix and marks values with ``?``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ._shared_rows import Parse

__all__ = ["Dialect", "Storage"]


@attrs.frozen
class Dialect:
    """What differs between the engines where the ledgers' logic is the same."""

    stamp: Callable[[datetime], Any]
    """How a time is written: ISO text in UTC for SQLite (``_codec._ts``), the ``datetime`` itself for psycopg."""
    parse: Parse
    """How a stamp column reads back (``_codec._dt``, or :func:`~._shared_rows.as_is`)."""
    order_columns: str
    """The select list of an order row, as ``_shared_rows.order_record`` reads it (SQLite finds the raw payload
    in ``payloads`` or, for rows written before schema 3, in the row)."""
    upsert_order: str
    """Writes one order row from ``(store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at,
    snapshot, raw, first_seen, last_changed)``, keeping ``first_seen`` of a row already there."""
    lock_rows: str
    """Appended to a read inside a write transaction whose rows the transaction goes on to change: PostgreSQL
    locks them (``FOR UPDATE``); a SQLite write transaction already holds the whole database."""


class Storage:
    """The connection layer of a ledger, as the shared code sees it. The engine's own class provides each of
    these; connections are typed ``Any`` here because sqlite3's and psycopg's are alike only in the calls the
    shared code makes (``execute``, then ``fetchone``, ``fetchall`` or ``rowcount``)."""

    _dialect: ClassVar[Dialect]

    def _read(self, operation: str, template: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one read of a statement template, storage failures typed as naming ``operation``."""
        return self._query(operation, self._sql(template), params)

    if TYPE_CHECKING:

        def _sql(self, template: str) -> str:
            """The engine's SQL for a statement template."""

        def _query(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
            """The rows of one read of the engine's SQL."""

        def _transaction(self, operation: str) -> AbstractContextManager[Any]:
            """One write transaction: committed when the block ends, rolled back when it raises."""

        def close(self) -> None:
            """Release the connections."""
