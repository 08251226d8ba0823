"""The SQLite schema: its versions, the migrations between them, and the statements the ledger runs.

:data:`MIGRATIONS` is an append-only list; step ``i`` takes a database from version ``i`` to ``i + 1`` in its
own transaction when a ledger is opened (:func:`migrate`). A database from a newer SDK is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from .._convert import order_from_snapshot
from .._errors import ConfigurationError
from ._codec import _dt, _dumps, _loads, _ts
from ._records import ActionState
from ._storage import Dialect

__all__ = ["MIGRATIONS", "migrate", "schema_version"]


_V1 = """
CREATE TABLE orders (
    store TEXT NOT NULL,
    order_id TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    tab TEXT NOT NULL CHECK (tab IN ('orders', 'ignore')),
    paid INTEGER NOT NULL,
    shipped INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    raw TEXT,
    first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    replaced_by TEXT,
    dismissed TEXT,
    PRIMARY KEY (store, order_id)
) WITHOUT ROWID;
CREATE TABLE pending_updates (
    store TEXT NOT NULL,
    order_id TEXT NOT NULL,
    new_order_id TEXT NOT NULL,
    replaces TEXT,
    changes TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    raw TEXT,
    detected_at TEXT NOT NULL,
    PRIMARY KEY (store, order_id)
) WITHOUT ROWID;
CREATE TABLE failures (
    store TEXT NOT NULL,
    order_ref TEXT NOT NULL,
    field TEXT NOT NULL,
    problem TEXT NOT NULL,
    raw TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (store, order_ref, field, problem)
) WITHOUT ROWID;
CREATE TABLE high_water (
    store TEXT PRIMARY KEY,
    mark TEXT NOT NULL,
    scope TEXT NOT NULL,
    moved_at TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    store TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('started', 'done', 'failed')),
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (store, idempotency_key)
);
CREATE INDEX actions_by_order ON actions (store, order_id);
CREATE TABLE phone_orders (
    store TEXT NOT NULL,
    reference TEXT NOT NULL,
    order_id TEXT NOT NULL,
    number TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (store, reference)
);
CREATE INDEX orders_by_tab ON orders (store, tab);
"""

_V3 = """
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    raw TEXT NOT NULL
);
ALTER TABLE orders ADD COLUMN raw_id INTEGER REFERENCES payloads (id)
"""

_V4 = """
ALTER TABLE actions ADD COLUMN owner TEXT;
ALTER TABLE actions ADD COLUMN lease_until TEXT;
ALTER TABLE actions ADD COLUMN checkpoint TEXT;
ALTER TABLE actions ADD COLUMN log TEXT;
ALTER TABLE pending_updates ADD COLUMN updated_at TEXT;
CREATE INDEX orders_by_update ON orders (store, replaced_by, updated_at)
"""

MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    lambda conn: _script(conn, _V1),  # 1: download state
    lambda conn: _script(conn, _V2),  # 2: post-back / acknowledgement / cancel log, phone orders
    lambda conn: _script(conn, _V3),  # 3: raw payloads of orders in their own append-only table
    lambda conn: _migrate_v4(conn),  # 4: action leases, checkpoints and attempt logs; pending updated_at
)
"""Schema steps; step ``i`` takes a database from version ``i`` to ``i + 1``. Only ever append."""


def _script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit behind our back; statements one by one stay inside the migration's
    # transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_v4(conn: sqlite3.Connection) -> None:
    _script(conn, _V4)
    # Pending updates learn the store stamp of the copy they hold, from the copy itself.
    pending = conn.execute("SELECT store, order_id, snapshot FROM pending_updates").fetchall()
    conn.executemany(
        "UPDATE pending_updates SET updated_at = ? WHERE store = ? AND order_id = ?",
        [
            (_ts(order_from_snapshot(_loads(snapshot)).updated_at), store, order_id)
            for store, order_id, snapshot in pending
        ],
    )
    # Actions written before have no owner and no lease (an unfinished one is taken over by the next caller);
    # their log starts with the latest attempt, as far as the row tells.
    actions = conn.execute("SELECT id, state, error, attempts, started_at, finished_at FROM actions").fetchall()
    logs = []
    for id_, state, error, attempts, started_at, finished_at in actions:
        entry: dict[str, Any] = {"attempt": attempts, "owner": None, "started": started_at}
        if state != ActionState.STARTED:
            entry["finished"] = finished_at
            entry["ok"] = state == ActionState.DONE
            if error is not None:
                entry["error"] = error
            entry["note"] = ""
        logs.append((_dumps([entry]), id_))
    conn.executemany("UPDATE actions SET log = ? WHERE id = ?", logs)


def schema_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> int:
    """Bring the schema up to ``upto`` (default: the newest). Returns the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``); each step runs in its own transaction.
    """
    target = len(MIGRATIONS) if upto is None else upto
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise ConfigurationError(
            f"the ledger has schema version {current}, newer than this ecc-connectors understands "
            f"({len(MIGRATIONS)}); upgrade ecc-connectors"
        )
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        # Another process may have migrated while this one waited for the write lock: read the version again.
        current = schema_version(conn)
        if current >= target:
            conn.execute("COMMIT")
            break
        try:
            MIGRATIONS[current](conn)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (current + 1,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full): keep its error
                conn.execute("ROLLBACK")
            raise
        current += 1
    return current


# ---------------------------------------------------------------------------------------------------------
# Statements
# An order's raw payload lives in ``payloads`` (schema 3 on) or, for rows written before, in ``orders.raw``.
_ORDER_RAW = "COALESCE((SELECT p.raw FROM payloads p WHERE p.id = orders.raw_id), orders.raw)"

_ORDER_COLUMNS = (
    "store, order_id, number, status, tab, paid, shipped, fingerprint, snapshot, "
    f"{_ORDER_RAW}, first_seen, last_changed, replaced_by, dismissed"
)

_ORDER_INSERT = """
INSERT INTO orders (store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot,
                    raw, raw_id, first_seen, last_changed)
"""
_ORDER_WIDTH = 14  # the columns of _ORDER_INSERT

_ORDER_ON_CONFLICT = """
ON CONFLICT (store, order_id) DO UPDATE SET
    number = excluded.number, status = excluded.status, tab = excluded.tab, paid = excluded.paid,
    shipped = excluded.shipped, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at,
    snapshot = excluded.snapshot, raw = excluded.raw, raw_id = excluded.raw_id,
    last_changed = excluded.last_changed,
    replaced_by = NULL, dismissed = NULL
"""

# An order row whose raw payload stays in the row (accept_update's): ``raw_id``, the 12th column, is NULL, and
# the other 13 are ``Dialect.upsert_order``'s values, which both ledgers bind alike.
_UPSERT_ORDER_WITH_RAW = f"{_ORDER_INSERT} VALUES ({', '.join('?' * 11)}, NULL, ?, ?) {_ORDER_ON_CONFLICT}"

_UPSERT_UPDATE = """
INSERT INTO pending_updates (store, order_id, new_order_id, replaces, changes, snapshot, raw, detected_at,
                             updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (store, order_id) DO UPDATE SET
    new_order_id = excluded.new_order_id, replaces = excluded.replaces, changes = excluded.changes,
    snapshot = excluded.snapshot, raw = excluded.raw, detected_at = excluded.detected_at,
    updated_at = excluded.updated_at
WHERE excluded.replaces IS NOT NULL OR pending_updates.replaces IS NULL
"""

_UPSERT_FAILURE = """
INSERT INTO failures (store, order_ref, field, problem, raw, at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (store, order_ref, field, problem) DO UPDATE SET raw = excluded.raw, at = excluded.at
"""

_MAX_VARS = 500  # SQLite's default limit on bound parameters is 999 (older builds); stay well under it.

# Bounds for a text comparison on the stored UTC ISO stamps when a window is open at one end.
_EARLIEST = ""
_LATEST = "~"

SQLITE = Dialect(
    stamp=_ts,
    parse=_dt,
    order_columns=_ORDER_COLUMNS,
    upsert_order=_UPSERT_ORDER_WITH_RAW,
    lock_rows="",
)
"""How the shared ledger code (``_shared_ledger``, ``_shared_actions``) speaks to SQLite."""
