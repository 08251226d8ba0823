"""The ledger in PostgreSQL (psycopg 3 and its pool): many stores, many processes, many machines, one database.

Install with the ``[postgres]`` extra. Same behaviour as :class:`~ecc_connectors.ledger.SQLiteLedger` behind the
same protocols (``ecc_connectors.testing.ledger_suite`` runs against both), with what a fleet adds:

* **One transaction per page.** :meth:`PostgresLedger.commit_page` writes a page's rows, pending updates,
  failures and the store's high-water mark in one transaction on one pooled connection (``executemany`` runs
  as one pipeline: one round trip per statement kind, not per row).
* **A connection pool** (``psycopg_pool.ConnectionPool``) shared by the threads of a process: the engine's
  ledger thread, the async shell's worker threads, a web app's request threads. Each call borrows a connection
  for its one transaction; broken connections are checked for and replaced on the way out of the pool.
* **Atomic across processes by the server's own locks.** ``begin_action`` reads the action row ``FOR UPDATE``
  (or inserts it with ``ON CONFLICT DO NOTHING`` and reads again), so of callers racing on one key in any number
  of processes exactly one goes; reads of several statements run ``REPEATABLE READ READ ONLY`` (one snapshot).
* **Versioned schema** in a schema of its own (:mod:`._pg_schema`), migrated on open under an advisory lock.
* **One store, one syncer.** :meth:`PostgresLedger.download_lock` is the per-store lock a download or reconcile
  runs under (see :mod:`._pg_lock`): an advisory lock that dies with a crashed worker's connection, plus a
  fencing token checked by every page the holder commits.
* **Typed errors.** A server or connection failure (``OperationalError``: connection lost, disk full, a
  deadlock, a pool timeout) leaves a public method as :class:`~ecc_connectors.ConnectorError` beginning
  ``"ledger: <operation> failed"``, with the psycopg error as its cause. Integrity, data and programming errors
  (bugs, not the environment) stay as they are.
* **Secrets.** The connection string may hold a password: it is never in a repr or a message of this module.

The contract each method keeps is on the protocols in :mod:`ecc_connectors.ledger`.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from .._convert import fingerprint, order_from_snapshot, snapshot_json
from .._errors import ActionInProgress, ConfigurationError, ConnectorError
from .._model import Order
from .._outcomes import Tab
from ._codec import _changes_json, _dumps, _dumps_raw, _loads, _loads_raw, _ts
from ._pg_lock import DownloadLock, DownloadLockLost, StoreBusy
from ._pg_rows import action_record, order_record, pending_record
from ._pg_schema import (
    ACTION,
    ORDER_COLUMNS,
    PENDING,
    PG_MIGRATIONS,
    UPSERT_FAILURE,
    UPSERT_ORDER,
    UPSERT_UPDATE,
    check_schema_name,
    lock_key_sql,
)
from ._records import (
    ActionRecord,
    ActionState,
    FailureRecord,
    HighWater,
    OrderRecord,
    PageBatch,
    PendingUpdate,
    PhoneOrderRecord,
    RowWrite,
    StoredOrder,
)

if TYPE_CHECKING:
    from ._protocols import Ledger

__all__ = ["PG_MIGRATIONS", "DownloadLock", "DownloadLockLost", "PostgresLedger", "StoreBusy"]

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def _typed(operation: str) -> Iterator[None]:
    """Turn a server or connection failure into ``ConnectorError`` naming the operation; bugs pass through."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise ConnectorError(f"ledger: {operation} failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresLedger:
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

    def __init__(
        self,
        conninfo: str = "",
        *,
        schema: str = "ecc",
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 30.0,
        connect_kwargs: Mapping[str, Any] | None = None,
        lock_conninfo: str | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.lock_conninfo = conninfo if lock_conninfo is None else lock_conninfo
        self.schema = schema
        self._s = check_schema_name(schema)
        self._kwargs: dict[str, Any] = {**(connect_kwargs or {}), "autocommit": False}
        self._held_locks: dict[str, int | None] = {}  # store -> fencing token of the lock this instance holds
        self._lock_threads: dict[str, tuple[str, int]] = {}  # store -> the thread or task that took it (re-entry)
        self._closed = False
        self._lock = threading.Lock()
        with _typed(f"opening {self._where()}"):
            self._pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max(max_size, min_size),
                timeout=timeout,
                kwargs=self._kwargs,
                configure=self._configure,
                check=psycopg_pool.ConnectionPool.check_connection,
                name=f"ecc-ledger-{schema}",
                open=False,
            )
            try:
                self._pool.open(wait=True, timeout=timeout)
                self.version = self._migrate()
            except BaseException:
                self._pool.close()
                raise

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> PostgresLedger:
        """A ledger from ``ECC_LEDGER_DSN`` (a connection string; empty: the ``PG*`` variables) and
        ``ECC_LEDGER_SCHEMA`` (default ``ecc``)."""
        source = os.environ if env is None else env
        return cls(source.get("ECC_LEDGER_DSN", ""), schema=source.get("ECC_LEDGER_SCHEMA") or "ecc", **kwargs)

    def _where(self) -> str:
        """Where the ledger lives, without credentials: ``host:port/dbname schema``."""
        try:
            parts = conninfo_to_dict(self.conninfo)
        except psycopg.ProgrammingError:
            return f"PostgreSQL (schema {self.schema})"
        host = parts.get("host") or os.environ.get("PGHOST") or "localhost"
        port = parts.get("port") or os.environ.get("PGPORT") or 5432
        db = parts.get("dbname") or os.environ.get("PGDATABASE") or "postgres"
        return f"PostgreSQL {host}:{port}/{db} (schema {self.schema})"

    def __repr__(self) -> str:
        return f"PostgresLedger({self._where()})"

    @staticmethod
    def _configure(conn: Conn) -> None:
        # Stamps come back in UTC whatever the server's default zone (messages quote them).
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()

    def _sql(self, template: str) -> str:
        return template.replace("{s}", self._s).replace("{key}", lock_key_sql("%s"))

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    # -- connections ---------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Conn]:
        """One transaction on a pooled connection: committed when the block ends, rolled back when it
        raises."""
        with _typed(operation), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _snapshot(self, operation: str) -> Iterator[Conn]:
        """A read-only transaction whose statements all see one snapshot."""
        with self._transaction(operation) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def _query(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._transaction(operation) as conn:
            return conn.execute(self._sql(sql), params).fetchall()

    def connect(self, *, for_lock: bool = False) -> Conn:
        """A new connection of this ledger's server outside the pool, in autocommit mode (the download lock
        holds one, on ``lock_conninfo`` when ``for_lock``; also handy for tools). The caller closes it."""
        kwargs = {**self._kwargs, "autocommit": True}
        with _typed(f"connecting to {self._where()}"):
            conn: Conn = psycopg.connect(self.lock_conninfo if for_lock else self.conninfo, **kwargs)
            try:
                self._configure(conn)
            except BaseException:
                conn.close()
                raise
            return conn

    # -- schema --------------------------------------------------------------------------------------------

    def _migrate(self, upto: int | None = None) -> int:
        """Bring the schema up to ``upto`` (default: the newest), each step in its own transaction under an
        advisory lock keyed by the schema (workers opening together migrate once). Returns the version."""
        target = len(PG_MIGRATIONS) if upto is None else upto
        current = -1
        while current < target:
            with self._transaction("migrating the schema") as conn:
                conn.execute(self._sql("SELECT pg_advisory_xact_lock({key})"), (f"migrate:{self.schema}",))
                conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {s}"))
                conn.execute(self._sql("CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)"))
                row = conn.execute(self._sql("SELECT version FROM {s}.schema_version")).fetchone()
                current = int(row[0]) if row else 0
                if current > len(PG_MIGRATIONS):
                    raise ConfigurationError(
                        f"the ledger in {self._where()} has schema version {current}, newer than this "
                        f"ecc-connectors understands ({len(PG_MIGRATIONS)}); upgrade ecc-connectors"
                    )
                if current >= target:
                    break
                for statement in self._sql(PG_MIGRATIONS[current]).split(";"):
                    if statement.strip():
                        conn.execute(statement.encode())
                conn.execute(self._sql("DELETE FROM {s}.schema_version"))
                conn.execute(self._sql("INSERT INTO {s}.schema_version (version) VALUES (%s)"), (current + 1,))
                current += 1
        return current

    # -- one store, one syncer -----------------------------------------------------------------------------

    def download_lock(self, store: str, *, owner: str = "", wait: float = 0.0) -> DownloadLock:
        """The store's download lock, to hold around a download or reconcile (``with ledger.download_lock(s):``).

        Entering it raises :class:`StoreBusy` when another syncer (any process, any machine) holds the store,
        after polling for up to ``wait`` seconds. While it is held, every page this ledger commits for the store
        checks the lock's fencing token in its own transaction (:class:`DownloadLockLost` if another syncer took
        the store over). ``owner`` is recorded with ``host:pid`` so a busy answer can name the holder."""
        holder = f"{socket.gethostname()}:{os.getpid()}" + (f" {owner}" if owner else "")
        return DownloadLock(self, store, holder, wait, self._lock_connection)

    def _lock_connection(self) -> Conn:
        conn = self.connect(for_lock=True)
        try:
            # The server probes an idle lock holder: a vanished machine's lock is released in about 25 s
            # (10 s idle + 3 probes 5 s apart) instead of the kernel's default two hours.
            with _typed("download_lock"):
                conn.execute("SET tcp_keepalives_idle = 10")
                conn.execute("SET tcp_keepalives_interval = 5")
                conn.execute("SET tcp_keepalives_count = 3")
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_fence(self, conn: Conn, store: str) -> None:
        mine = self._held_locks.get(store)
        if mine is None:
            return
        row = conn.execute(
            self._sql("SELECT token FROM {s}.download_locks WHERE store = %s FOR SHARE"), (store,)
        ).fetchone()
        current = None if row is None else int(row[0])
        if current != mine:
            raise DownloadLockLost(store, mine, current)

    # -- download ------------------------------------------------------------------------------------------

    def high_water(self, store: str) -> HighWater | None:
        rows = self._query("high_water", "SELECT mark, scope FROM {s}.high_water WHERE store = %s", (store,))
        return HighWater(rows[0][0], rows[0][1]) if rows else None

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        """The rows of these orders, by ``order_id`` (absent ids are left out): one query, ids as an array."""
        ids = list(dict.fromkeys(order_ids))
        if not ids:
            return {}
        rows = self._query(
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
        order_rows = [
            (
                store,
                row.order.order_id,
                row.order.number,
                row.order.status,
                row.tab.value,
                row.paid,
                row.shipped,
                fingerprint(row.order),
                row.order.updated_at,
                snapshot_json(row.order).decode(),
                None if row.order.raw is None else _dumps_raw(row.order.raw),
                now,
                now,
            )
            for row in batch.rows
        ]
        superseded = [
            (row.order.order_id, now, store, row.supersedes) for row in batch.rows if row.supersedes is not None
        ]
        update_rows = [
            (
                store,
                u.target,
                u.order.order_id,
                u.replaces,
                _changes_json(u.changes),
                snapshot_json(u.order).decode(),
                _dumps_raw(u.order.raw),
                now,
                u.order.updated_at,
            )
            for u in batch.updates
        ]
        failure_rows = [(store, f.order_ref or "", f.field, f.problem, _dumps_raw(f.raw), now) for f in batch.failures]
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

    def get(self, store: str, order_id: str) -> OrderRecord | None:
        rows = self._query(
            "get", f"SELECT {ORDER_COLUMNS} FROM {{s}}.orders WHERE store = %s AND order_id = %s", (store, order_id)
        )
        return order_record(rows[0]) if rows else None

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]:
        """The tab's rows (replaced rows left out), oldest store update first, ties by ``order_id``."""
        rows = self._query(
            "orders",
            f"SELECT {ORDER_COLUMNS} FROM {{s}}.orders WHERE store = %s AND tab = %s AND replaced_by IS NULL "
            "ORDER BY updated_at, order_id",
            (store, tab.value),
        )
        return [order_record(row) for row in rows]

    def updates(self, store: str) -> list[PendingUpdate]:
        rows = self._query("updates", f"{PENDING} WHERE store = %s ORDER BY order_id", (store,))
        return [pending_record(row) for row in rows]

    def pending(self, store: str, order_id: str) -> PendingUpdate | None:
        rows = self._query("pending", f"{PENDING} WHERE store = %s AND order_id = %s", (store, order_id))
        return pending_record(rows[0]) if rows else None

    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord:
        """Replace the downloaded copy with the pending one (an edited order that is a new entity takes the old
        row's tab, local state and ``first_seen``; the old row records ``replaced_by``)."""
        with self._transaction("accept_update") as conn:
            row = conn.execute(
                self._sql(
                    "SELECT new_order_id, snapshot, raw FROM {s}.pending_updates WHERE store = %s AND order_id = %s "
                    "FOR UPDATE"
                ),
                (store, order_id),
            ).fetchone()
            if row is None:
                raise KeyError(f"no pending update for order {order_id!r} of store {store!r}")
            new_id, snapshot_text, raw_text = row
            old = conn.execute(
                self._sql(
                    "SELECT tab, paid, shipped, first_seen FROM {s}.orders WHERE store = %s AND order_id = %s "
                    "FOR UPDATE"
                ),
                (store, order_id),
            ).fetchone()
            if old is None:
                raise KeyError(f"order {order_id!r} of store {store!r} is not in the ledger")
            tab, paid, shipped, first_seen = old
            accepted = order_from_snapshot(orjson.loads(snapshot_text))
            conn.execute(
                self._sql(UPSERT_ORDER),
                (
                    store,
                    new_id,
                    accepted.number,
                    accepted.status,
                    tab,
                    paid,
                    shipped,
                    fingerprint(accepted),
                    accepted.updated_at,
                    snapshot_text,
                    raw_text,
                    first_seen,
                    now,
                ),
            )
            if new_id != order_id:
                conn.execute(
                    self._sql(
                        "UPDATE {s}.orders SET replaced_by = %s, last_changed = %s WHERE store = %s AND order_id = %s"
                    ),
                    (new_id, now, store, order_id),
                )
            conn.execute(
                self._sql("DELETE FROM {s}.pending_updates WHERE store = %s AND order_id = %s"), (store, order_id)
            )
            found = conn.execute(
                self._sql(f"SELECT {ORDER_COLUMNS} FROM {{s}}.orders WHERE store = %s AND order_id = %s"),
                (store, new_id),
            ).fetchone()
        assert found is not None
        return order_record(found)

    def dismiss_update(self, store: str, order_id: str) -> bool:
        """Keep the downloaded copy and forget the pending update (its fingerprint kept as ``dismissed``)."""
        with self._transaction("dismiss_update") as conn:
            row = conn.execute(
                self._sql("DELETE FROM {s}.pending_updates WHERE store = %s AND order_id = %s RETURNING snapshot"),
                (store, order_id),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                self._sql("UPDATE {s}.orders SET dismissed = %s WHERE store = %s AND order_id = %s"),
                (fingerprint(order_from_snapshot(orjson.loads(row[0]))), store, order_id),
            )
            return True

    def failures(self, store: str) -> list[FailureRecord]:
        rows = self._query(
            "failures",
            "SELECT store, order_ref, field, problem, raw, at FROM {s}.failures WHERE store = %s "
            "ORDER BY order_ref, field",
            (store,),
        )
        return [FailureRecord(s, ref or None, f, p, _loads_raw(raw), at) for s, ref, f, p, raw, at in rows]

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None:
        if paid is None and shipped is None:
            return
        with self._transaction("set_local_state") as conn:
            conn.execute(
                self._sql(
                    "UPDATE {s}.orders SET paid = COALESCE(%s, paid), shipped = COALESCE(%s, shipped) "
                    "WHERE store = %s AND order_id = %s"
                ),
                (paid, shipped, store, order_id),
            )

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

    # -- actions -------------------------------------------------------------------------------------------

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
            if existing.state == ActionState.FAILED:
                after = f"failed: {existing.error or 'no error recorded'}"
            elif existing.lease_until is None:  # never written by this ledger; kept for imported rows
                after = f"attempt {existing.attempts} started at {_ts(existing.started_at)} was not finished"
            elif existing.lease_until > now:
                raise ActionInProgress(
                    f"{existing.kind} of order {existing.order_id} is already in progress "
                    f"({existing.owner or 'unnamed owner'}) until {_ts(existing.lease_until)}; try again after that",
                    key=key,
                    owner=existing.owner or "",
                    lease_until=existing.lease_until,
                )
            else:
                after = f"lease of {existing.owner or 'unnamed owner'} expired at {_ts(existing.lease_until)}"
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
        outcome: dict[str, Any] = {"finished": _ts(now), "ok": ok}
        if error is not None:
            outcome["error"] = error
        outcome["note"] = note
        with self._transaction("finish_action") as conn:
            current = self._action_row(conn, action_id, lock=True)
            log = list(current.log)
            holder = current.owner or ""
            if owner is not None and holder != owner:
                # Our lease expired and another caller took the action over: theirs is the state to keep.
                ours = [entry.get("attempt") for entry in log if entry.get("owner") == owner]
                late: dict[str, Any] = {"attempt": ours[-1] if ours else None, "owner": owner, **outcome}
                if ok and result is not None:
                    late["result"] = result
                late["late"] = (
                    f"finished after the action passed to {holder or 'unnamed owner'}; not recorded on the action"
                )
                log.append(late)
                conn.execute(self._sql("UPDATE {s}.actions SET log = %s WHERE id = %s"), (_dumps(log), action_id))
            else:
                mine = next(
                    (
                        i
                        for i in range(len(log) - 1, -1, -1)
                        if log[i].get("attempt") == current.attempts and "late" not in log[i]
                    ),
                    None,
                )
                if mine is not None and "finished" not in log[mine]:
                    log[mine] = {**log[mine], **outcome}
                else:  # finished twice: keep both ends on record
                    log.append({"attempt": current.attempts, "owner": current.owner, **outcome})
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

    # -- phone orders --------------------------------------------------------------------------------------

    def record_phone_order(self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime) -> None:
        """Record a phone order created in the store and put the created order in the ledger, in one
        transaction, so the next download sees it as known rather than new."""
        with self._transaction("record_phone_order") as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO {s}.phone_orders (store, reference, order_id, number, payload, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (store, reference) DO UPDATE SET "
                    "order_id = excluded.order_id, number = excluded.number, payload = excluded.payload"
                ),
                (store, reference, row.order.order_id, row.order.number, _dumps(payload), now),
            )
            self._write_page(conn, PageBatch(store, now, rows=[row]))

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]:
        rows = self._query(
            "phone_orders",
            "SELECT store, reference, order_id, number, payload, created_at FROM {s}.phone_orders "
            "WHERE store = %s ORDER BY created_at, reference",
            (store,),
        )
        return [PhoneOrderRecord(s, ref, oid, num, _loads(p), at) for s, ref, oid, num, p, at in rows]

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None:
        rows = self._query(
            "phone_order",
            "SELECT store, reference, order_id, number, payload, created_at FROM {s}.phone_orders "
            "WHERE store = %s AND reference = %s",
            (store, reference),
        )
        if not rows:
            return None
        s, ref, oid, num, payload, at = rows[0]
        return PhoneOrderRecord(s, ref, oid, num, _loads(payload), at)

    # -- inspection ----------------------------------------------------------------------------------------

    def stores(self) -> list[str]:
        """Every store with rows, marks or actions in this ledger (for audits and fleet checks)."""
        rows = self._query(
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
