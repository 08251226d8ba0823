"""The ledger in one SQLite file (or ``":memory:"``), on the standard library's ``sqlite3``.

* **One transaction per page.** :meth:`SQLiteLedger.commit_page` writes a page's orders, updates, payload
  failures and the store's high-water mark together: after a crash either all of a page is there or none
  of it.
* **WAL** for file databases (readers do not block the writer), ``synchronous=NORMAL``: a power cut may lose
  the last committed page, which then rolls back *with* its high-water mark and is simply read again. The
  log is copied into the database by a thread of the ledger's own, never inside a commit (``_checkpointer``).
* **Versioned schema.** ``schema_version`` holds the version; :data:`MIGRATIONS` lists the steps, applied in
  order, each in its own transaction, when a ledger is opened. A database from a newer SDK is refused.
* **Leases on writes.** :meth:`SQLiteLedger.begin_action` hands an action to one caller at a time, across
  threads and processes sharing the file (``BEGIN IMMEDIATE``): the holder has a lease; a caller that finds a
  live lease gets :class:`~ecc_connectors.ActionInProgress`, one that finds an expired lease (a crashed
  holder) or a failed attempt takes the action over. Every attempt is logged on the row.
* **Typed errors.** A SQLite failure (disk full, locked past the busy timeout, a corrupt file) leaves a public
  method as :class:`~ecc_connectors.ConnectorError` naming the operation, with the SQLite error as its
  cause. Integrity and programming errors (bugs, not the environment) stay as they are.
* **Threads and asyncio.** One connection guarded by a lock (``check_same_thread=False``), since the engine
  commits pages on a ledger thread of its own and the async shell calls it from a worker thread, never from
  the event loop.

The contract each method keeps is on the protocols in :mod:`ecc_connectors.ledger`. The class is built in
layers: the connection and its transactions (``_sqlite_connection``), the action log with its leases
(``_sqlite_actions``), the tabs, phone orders and mark as both ledgers run them (``_shared_ledger``), and here
what SQLite does its own way: the page write, ``seen``, ``known_keys``, ``refresh`` and the inspection dump.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._convert import fingerprint, snapshot_json, snapshot_with_fingerprint
from .._model import Order
from .._outcomes import Tab
from ._codec import _dt, _dumps_raw, _ts
from ._records import PageBatch, StoredOrder
from ._schema import (
    _EARLIEST,
    _LATEST,
    _MAX_VARS,
    _ORDER_INSERT,
    _ORDER_ON_CONFLICT,
    _ORDER_RAW,
    _ORDER_WIDTH,
    _UPSERT_FAILURE,
    _UPSERT_UPDATE,
    MIGRATIONS,
    migrate,
    schema_version,
)
from ._shared_ledger import SharedLedger
from ._shared_rows import failure_params, superseded_params, update_params
from ._sqlite_actions import SQLiteActionLog
from ._sqlite_connection import _typed

if TYPE_CHECKING:
    from ._protocols import Ledger

# The fewest bound parameters any SQLite build allows in one statement (999 before 3.32): 71 order rows.
_PARAMETERS_EVERYWHERE = 999


def _insert_rows(conn: sqlite3.Connection, insert: str, width: int, rows: list[Any], tail: str = "") -> None:
    """Insert ``rows`` (tuples of ``width`` values) with as few statements as the parameter limit allows.

    ``executemany`` steps once per row and ``sqlite3`` releases the GIL around every step; while another
    thread is busy in Python (the download parsing its next page), each step then waits up to the switch
    interval to take the GIL back. A 100-row page took 0.95 s that way against 26 ms as one statement
    (measured 2026-11-28, one busy thread beside it; 6.7 and 6.0 ms with nothing beside it). SQLite applies
    the rows of one ``VALUES`` list in order, conflict clause included, exactly as one statement per row.
    """
    per_statement = max(1, _PARAMETERS_EVERYWHERE // width)
    one_row = f"({', '.join('?' * width)})"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = [value for row in chunk for value in row]
        conn.execute(f"{insert} VALUES {', '.join([one_row] * len(chunk))} {tail}", values)


__all__ = ["MIGRATIONS", "SQLiteLedger", "migrate", "schema_version"]


class SQLiteLedger(SQLiteActionLog, SharedLedger):
    """The ledger in one SQLite file (or ``":memory:"``).

    Safe to share between threads (one connection behind a lock). Close it when done, or use it as a context
    manager: a file ledger has a second connection and a thread of its own, which copy the write-ahead log into
    the database file after commits, and closing stops them. Open the ledger in the process that uses it (a
    thread does not survive ``fork()``).
    """

    # -- download ------------------------------------------------------------------------------------------

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        """The rows of these orders, by ``order_id`` (absent ids are left out)."""
        ids = list(dict.fromkeys(order_ids))
        found: dict[str, StoredOrder] = {}
        for start in range(0, len(ids), _MAX_VARS):
            chunk = ids[start : start + _MAX_VARS]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "seen",
                "SELECT order_id, tab, paid, shipped, fingerprint, replaced_by, dismissed, snapshot, updated_at "
                f"FROM orders WHERE store = ? AND order_id IN ({marks})",
                (store, *chunk),
            )
            for order_id, tab, paid, shipped, fp, replaced_by, dismissed, snapshot, updated_at in rows:
                found[order_id] = StoredOrder(
                    order_id,
                    Tab(tab),
                    bool(paid),
                    bool(shipped),
                    fp,
                    replaced_by,
                    dismissed,
                    snapshot,
                    _dt(updated_at),
                )
        return found

    def known_keys(self, store: str, start: datetime | None = None, end: datetime | None = None) -> dict[str, datetime]:
        """Every order the ledger knows for the store with the store ``updated_at`` of the newest copy it
        holds, limited to ``start <= updated_at <= end`` when given (see :meth:`Ledger.known_keys`).

        Two reads in one read transaction (one consistent snapshot): the rows not replaced whose own stamp is
        in the window, straight from the covering index on (store, replaced_by, updated_at), and the store's
        pending updates (few), whose stamps then override or add to those, the window applied to the newer of
        a row's and its pending copy's stamps. 20,000 orders take about 20 ms."""
        low = _EARLIEST if start is None else _ts(start)
        high = _LATEST if end is None else _ts(end)
        with self._lock, _typed("known_keys"):
            self._conn.execute("BEGIN")
            try:
                stamps: dict[str, str] = dict(
                    self._conn.execute(
                        "SELECT order_id, updated_at FROM orders "
                        "WHERE store = ? AND replaced_by IS NULL AND updated_at BETWEEN ? AND ?",
                        (store, low, high),
                    )
                )
                # CROSS JOIN keeps pending_updates (a handful of rows) the outer loop; left to itself the
                # planner walks every order of the store through the index above and probes for an update.
                pending = self._conn.execute(
                    "SELECT p.order_id, p.new_order_id, p.updated_at, o.updated_at FROM pending_updates p "
                    "CROSS JOIN orders o ON o.store = p.store AND o.order_id = p.order_id "
                    "WHERE p.store = ? AND o.replaced_by IS NULL",
                    (store,),
                ).fetchall()
            finally:
                self._conn.execute("COMMIT")
        # The stored stamps are UTC ISO texts of one form (``_ts``), so they compare as text.
        for order_id, _, pending_stamp, row_stamp in pending:
            newest = max(row_stamp, pending_stamp or row_stamp)
            if low <= newest <= high:
                stamps[order_id] = newest
            else:
                stamps.pop(order_id, None)
        for order_id, new_id, pending_stamp, _ in pending:
            # An edited order (a new entity) waiting to replace the row: the ledger knows that entity too.
            if new_id != order_id and pending_stamp and low <= pending_stamp <= high:
                stamps[new_id] = max(stamps.get(new_id, _EARLIEST), pending_stamp)
        parse = datetime.fromisoformat  # 20,000 calls: skip a wrapper
        return {order_id: parse(stamp) for order_id, stamp in stamps.items()}

    def commit_page(self, batch: PageBatch) -> None:
        """Write the page's rows, pending updates, failures and high-water mark in one transaction."""
        with self._transaction("commit_page") as conn:
            self._write_page(conn, batch)

    def _write_page(self, conn: sqlite3.Connection, batch: PageBatch) -> None:
        now = _ts(batch.now)
        store = batch.store
        order_rows = []
        payload_rows = []
        if batch.rows:
            # Raw payloads (often 10 kB each) are appended to their own table: cheaper than carrying them
            # through the orders b-tree, and every copy received stays on record.
            (next_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM payloads").fetchone()
        for row in batch.rows:
            raw_id = None
            if row.order.raw is not None:
                raw_id = next_id
                next_id += 1
                payload_rows.append((raw_id, _dumps_raw(row.order.raw)))
            snapshot, order_fingerprint = snapshot_with_fingerprint(row.order)
            order_rows.append(
                (
                    store,
                    row.order.order_id,
                    row.order.number,
                    row.order.status,
                    row.tab.value,
                    int(row.paid),
                    int(row.shipped),
                    order_fingerprint,
                    _ts(row.order.updated_at),
                    snapshot,
                    None,
                    raw_id,
                    now,
                    now,
                )
            )
        if payload_rows:
            _insert_rows(conn, "INSERT INTO payloads (id, raw)", 2, payload_rows)
        superseded = superseded_params(batch, now)
        update_rows = update_params(batch, now, _ts)
        failure_rows = failure_params(batch, now)
        if order_rows:
            _insert_rows(conn, _ORDER_INSERT, _ORDER_WIDTH, order_rows, _ORDER_ON_CONFLICT)
            # An order that now parses clears the failures recorded for it.
            refs = [(store, r[1], r[2]) for r in order_rows]
            if conn.execute("SELECT 1 FROM failures WHERE store = ? LIMIT 1", (store,)).fetchone():
                conn.executemany("DELETE FROM failures WHERE store = ? AND order_ref IN (?, ?)", refs)
        if superseded:
            conn.executemany(
                "UPDATE orders SET replaced_by = ?, last_changed = ? WHERE store = ? AND order_id = ?",
                superseded,
            )
            conn.executemany(
                "DELETE FROM pending_updates WHERE store = ? AND order_id = ?",
                [(store, old) for _, _, _, old in superseded],
            )
        if update_rows:
            conn.executemany(_UPSERT_UPDATE, update_rows)
        if failure_rows:
            conn.executemany(_UPSERT_FAILURE, failure_rows)
        if batch.high_water is not None:
            mark = batch.high_water
            conn.execute(
                "INSERT INTO high_water (store, mark, scope, moved_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (store) DO UPDATE SET mark = excluded.mark, scope = excluded.scope, "
                "moved_at = excluded.moved_at",
                (store, _ts(mark.mark), mark.scope, now),
            )

    # -- tabs ----------------------------------------------------------------------------------------------

    def refresh(self, store: str, order: Order, now: datetime) -> bool:
        """Take ``order`` as the new downloaded copy of its row, keeping the tab and local state.

        Used after a post-back: the store's answer to our own change (a shipment, a status) is not an Update.
        Nothing happens when the order is not in the ledger, or when an update is pending for it (the user has
        not seen the store's other changes yet). Returns whether the row was refreshed."""
        with self._transaction("refresh") as conn:
            pending = conn.execute(
                "SELECT 1 FROM pending_updates WHERE store = ? AND order_id = ?", (store, order.order_id)
            ).fetchone()
            if pending is not None:
                return False
            cursor = conn.execute(
                "UPDATE orders SET number = ?, status = ?, fingerprint = ?, updated_at = ?, snapshot = ?, raw = ?, "
                "raw_id = NULL, last_changed = ?, dismissed = NULL WHERE store = ? AND order_id = ?",
                (
                    order.number,
                    order.status,
                    fingerprint(order),
                    _ts(order.updated_at),
                    snapshot_json(order).decode(),
                    _dumps_raw(order.raw),
                    _ts(now),
                    store,
                    order.order_id,
                ),
            )
            return cursor.rowcount == 1

    # -- inspection ----------------------------------------------------------------------------------------

    def dump(self, store: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's content without timestamps, sorted: for comparing two ledgers (tests, audits)."""
        where = "" if store is None else " WHERE store = ?"
        params: tuple[Any, ...] = () if store is None else (store,)
        queries = {
            "orders": "SELECT store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, "
            f"snapshot, {_ORDER_RAW}, replaced_by, dismissed FROM orders",
            "pending_updates": "SELECT store, order_id, new_order_id, replaces, changes, snapshot, raw "
            "FROM pending_updates",
            "failures": "SELECT store, order_ref, field, problem, raw FROM failures",
            "high_water": "SELECT store, mark, scope FROM high_water",
            "actions": "SELECT store, order_id, kind, idempotency_key, request, state, result, error FROM actions",
            "phone_orders": "SELECT store, reference, order_id, number, payload FROM phone_orders",
        }
        return {
            name: sorted(tuple(row) for row in self._query("dump", sql + where, params))
            for name, sql in queries.items()
        }


if TYPE_CHECKING:

    def _is_a_ledger(ledger: SQLiteLedger) -> Ledger:  # mypy checks SQLiteLedger against the protocol
        return ledger
