"""The ledger in PostgreSQL (psycopg 3 and its pool): many stores, many processes, many machines, one database.

Install with the ``[postgres]`` extra. Same behaviour as :class:`~ecc_connectors.ledger.SQLiteLedger` behind the
same protocols (``ecc_connectors.testing.ledger_suite`` runs against both), with what a fleet adds:

* **One transaction per page.** :meth:`PostgresLedger.commit_page` writes a page's rows, pending updates,
  failures and the store's high-water mark in one transaction on one pooled connection (``executemany`` runs
  as one pipeline: one round trip per statement kind, not per row).
* **A connection pool** shared by the threads of a process; each call borrows a connection for its one
  transaction (see :mod:`._pg_connection`).
* **Atomic across processes by the server's own locks.** ``begin_action`` reads the action row ``FOR UPDATE``
  (or inserts it with ``ON CONFLICT DO NOTHING`` and reads again), so of callers racing on one key in any number
  of processes exactly one goes (see :mod:`._pg_actions`); reads of several statements see one snapshot.
* **Versioned schema** in a schema of its own (:mod:`._pg_schema`), migrated on open under an advisory lock.
* **One store, one syncer.** :meth:`PostgresLedger.download_lock` is the per-store lock a download or reconcile
  runs under (see :mod:`._pg_lock`): an advisory lock that dies with a crashed worker's connection, plus a
  fencing token checked by every page the holder commits.
* **Typed errors.** A server or connection failure leaves a public method as
  :class:`~ecc_connectors.ConnectorError` beginning ``"ledger: <operation> failed"``, with the psycopg error as
  its cause; bugs stay as they are.
* **Secrets.** The connection string may hold a password: it is never in a repr or a message.

The contract each method keeps is on the protocols in :mod:`ecc_connectors.ledger`. The class is built in
layers, as :class:`~ecc_connectors.ledger.SQLiteLedger` is: the pool, its transactions, errors and schema
migration (``_pg_connection``), the per-store download lock (``_pg_lock``), the action log with its leases
(``_pg_actions``), the tabs, phone orders and mark as both ledgers run them (``_shared_ledger``), and here what
PostgreSQL does its own way: the page write, ``seen``, ``known_keys``, ``refresh`` and inspection. Rows are
decoded and a page's parameters prepared by the code both ledgers share (``_shared_rows``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._convert import fingerprint, snapshot_json, snapshot_with_fingerprint
from .._model import Order
from .._outcomes import Tab
from ._codec import _dumps_raw
from ._pg_actions import PostgresActionLog
from ._pg_connection import Conn, _typed
from ._pg_lock import DownloadLock, DownloadLocking, DownloadLockLost, StoreBusy
from ._pg_schema import PG_MIGRATIONS, UPSERT_FAILURE, UPSERT_ORDER, UPSERT_UPDATE
from ._records import PageBatch, StoredOrder
from ._shared_ledger import SharedLedger
from ._shared_rows import as_is, failure_params, superseded_params, update_params

if TYPE_CHECKING:
    from ._protocols import Ledger

__all__ = ["PG_MIGRATIONS", "DownloadLock", "DownloadLockLost", "PostgresLedger", "StoreBusy"]


class PostgresLedger(PostgresActionLog, DownloadLocking, SharedLedger):
    """The ledger in a PostgreSQL schema, for many stores, processes and machines.

    ``conninfo``: a libpq connection string or URL (``"host=127.0.0.1 dbname=test user=postgres"``); empty uses
    the ``PG*`` environment variables. ``schema``: where the tables live (created and migrated on open).
    ``max_size``: connections this instance may hold at once (``min_size`` kept open). ``timeout``: seconds to
    wait for a free connection before a call fails. ``connect_kwargs`` go to every connection (for PgBouncer in
    transaction mode pass ``{"prepare_threshold": None}``). ``lock_conninfo``: where the download locks'
    connections go when that differs (an advisory lock is held by a *session*: behind a transaction-pooling
    PgBouncer, point this at the server itself or at a session-mode pool).

    Thread-safe; close it when done, or use it as a context manager. Every promise of
    :class:`~ecc_connectors.ledger.Ledger` holds between instances in different processes.
    """

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> PostgresLedger:
        """A ledger from ``ECC_LEDGER_DSN`` (a connection string; empty: the ``PG*`` variables) and
        ``ECC_LEDGER_SCHEMA`` (default ``ecc``)."""
        source = os.environ if env is None else env
        return cls(source.get("ECC_LEDGER_DSN", ""), schema=source.get("ECC_LEDGER_SCHEMA") or "ecc", **kwargs)

    # -- download ------------------------------------------------------------------------------------------

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        """The rows of these orders, by ``order_id`` (absent ids are left out): one query, ids as an array."""
        ids = list(dict.fromkeys(order_ids))
        if not ids:
            return {}
        rows = self._read(
            "seen",
            "SELECT order_id, tab, paid, shipped, fingerprint, replaced_by, dismissed, snapshot, updated_at "
            "FROM {s}.orders WHERE store = %s AND order_id = ANY(%s)",
            (store, ids),
        )
        return {
            order_id: StoredOrder(order_id, Tab(tab), paid, shipped, fp, replaced_by, dismissed, snapshot, stamp)
            for order_id, tab, paid, shipped, fp, replaced_by, dismissed, snapshot, stamp in rows
        }

    def known_keys(self, store: str, start: datetime | None = None, end: datetime | None = None) -> dict[str, datetime]:
        """Every order the ledger knows for the store with the stamp of the newest copy it holds (see
        :meth:`Ledger.known_keys`): the rows not replaced, from the partial covering index on (store,
        updated_at), and the store's pending updates (few), in one snapshot; the window is applied to the newer
        of a row's and its pending copy's stamps."""
        window = ""
        params: list[Any] = [store]
        if start is not None:
            window += " AND updated_at >= %s"
            params.append(start)
        if end is not None:
            window += " AND updated_at <= %s"
            params.append(end)
        with self._snapshot("known_keys") as conn:
            stamps: dict[str, datetime] = dict(
                conn.execute(
                    self._sql(
                        "SELECT order_id, updated_at FROM {s}.orders WHERE store = %s AND replaced_by IS NULL" + window
                    ),
                    params,
                ).fetchall()
            )
            pending = conn.execute(
                self._sql(
                    "SELECT p.order_id, p.new_order_id, p.updated_at, o.updated_at FROM {s}.pending_updates p "
                    "JOIN {s}.orders o ON o.store = p.store AND o.order_id = p.order_id "
                    "WHERE p.store = %s AND o.replaced_by IS NULL"
                ),
                (store,),
            ).fetchall()

        def inside(stamp: datetime) -> bool:
            return (start is None or start <= stamp) and (end is None or stamp <= end)

        for order_id, _, pending_stamp, row_stamp in pending:
            newest = max(row_stamp, pending_stamp)
            if inside(newest):
                stamps[order_id] = newest
            else:
                stamps.pop(order_id, None)
        for order_id, new_id, pending_stamp, _ in pending:
            # An edited order (a new entity) waiting to replace the row: the ledger knows that entity too.
            if new_id != order_id and inside(pending_stamp):
                known = stamps.get(new_id)
                stamps[new_id] = pending_stamp if known is None else max(known, pending_stamp)
        return stamps

    def commit_page(self, batch: PageBatch) -> None:
        """Write the page's rows, pending updates, failures and high-water mark in one transaction (refused
        with :class:`DownloadLockLost` when this ledger held the store's download lock and lost it)."""
        with self._transaction("commit_page") as conn:
            self._check_fence(conn, batch.store)
            self._write_page(conn, batch)

    def _write_page(self, conn: Conn, batch: PageBatch) -> None:
        now = batch.now
        store = batch.store
        order_rows = []
        for row in batch.rows:
            snapshot, order_fingerprint = snapshot_with_fingerprint(row.order)
            order_rows.append(
                (
                    store,
                    row.order.order_id,
                    row.order.number,
                    row.order.status,
                    row.tab.value,
                    row.paid,
                    row.shipped,
                    order_fingerprint,
                    row.order.updated_at,
                    snapshot,
                    None if row.order.raw is None else _dumps_raw(row.order.raw),
                    now,
                    now,
                )
            )
        superseded = superseded_params(batch, now)
        update_rows = update_params(batch, now, as_is)
        failure_rows = failure_params(batch, now)
        mark = batch.high_water
        mark_row = None if mark is None else (store, mark.mark, mark.scope, now)
        with conn.cursor() as cur:
            if order_rows:
                cur.executemany(self._sql(UPSERT_ORDER), order_rows)
                # An order that now parses clears the failures recorded for it (by id or by number).
                refs = [r[1] for r in order_rows] + [r[2] for r in order_rows]
                cur.execute(
                    self._sql("DELETE FROM {s}.failures WHERE store = %s AND order_ref = ANY(%s)"), (store, refs)
                )
            if superseded:
                cur.executemany(
                    self._sql(
                        "UPDATE {s}.orders SET replaced_by = %s, last_changed = %s WHERE store = %s AND order_id = %s"
                    ),
                    superseded,
                )
                cur.execute(
                    self._sql("DELETE FROM {s}.pending_updates WHERE store = %s AND order_id = ANY(%s)"),
                    (store, [old for _, _, _, old in superseded]),
                )
            if update_rows:
                cur.executemany(self._sql(UPSERT_UPDATE), update_rows)
            if failure_rows:
                cur.executemany(self._sql(UPSERT_FAILURE), failure_rows)
            if mark_row is not None:
                cur.execute(
                    self._sql(
                        "INSERT INTO {s}.high_water (store, mark, scope, moved_at) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (store) DO UPDATE SET mark = excluded.mark, scope = excluded.scope, "
                        "moved_at = excluded.moved_at"
                    ),
                    mark_row,
                )

    # -- tabs ----------------------------------------------------------------------------------------------

    def refresh(self, store: str, order: Order, now: datetime) -> bool:
        """Take ``order`` as the new downloaded copy of its row, keeping the tab and local state, unless an
        update is pending for it (one statement: the check and the write are one)."""
        with self._transaction("refresh") as conn:
            cursor = conn.execute(
                self._sql(
                    "UPDATE {s}.orders SET number = %s, status = %s, fingerprint = %s, updated_at = %s, "
                    "snapshot = %s, raw = %s, last_changed = %s, dismissed = NULL "
                    "WHERE store = %s AND order_id = %s AND NOT EXISTS ("
                    "SELECT 1 FROM {s}.pending_updates p WHERE p.store = %s AND p.order_id = %s)"
                ),
                (
                    order.number,
                    order.status,
                    fingerprint(order),
                    order.updated_at,
                    snapshot_json(order).decode(),
                    None if order.raw is None else _dumps_raw(order.raw),
                    now,
                    store,
                    order.order_id,
                    store,
                    order.order_id,
                ),
            )
            return cursor.rowcount == 1

    # -- inspection ----------------------------------------------------------------------------------------

    def stores(self) -> list[str]:
        """Every store with rows, marks or actions in this ledger (for audits and fleet checks)."""
        rows = self._read(
            "stores",
            "SELECT store FROM {s}.orders UNION SELECT store FROM {s}.high_water "
            "UNION SELECT store FROM {s}.actions ORDER BY 1",
        )
        return [str(r[0]) for r in rows]

    def drop(self) -> None:
        """Drop the ledger's schema with everything in it, then close. For tests and tear-downs only."""
        self.close()
        conn = self.connect()
        try:
            with _typed("drop"):
                conn.execute(self._sql("DROP SCHEMA IF EXISTS {s} CASCADE"))
        finally:
            conn.close()


if TYPE_CHECKING:

    def _is_a_ledger(ledger: PostgresLedger) -> Ledger:  # mypy checks PostgresLedger against the protocol
        return ledger
