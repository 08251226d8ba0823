"""The PostgreSQL schema of :class:`~ecc_connectors.ledger.postgres.PostgresLedger`: its versions, the migrations
between them, and the statements the ledger runs.

Theory of operation:

* **Everything in one schema** (``ecc`` by default), every statement naming it (``"ecc".orders``) rather than
  relying on ``search_path``: a transaction-pooling PgBouncer may hand the next statement to a server connection
  whose ``search_path`` is someone else's. Several ledgers (a test run each, a tenant each) live side by side in
  one database under different schema names.
* **Versioned.** ``<schema>.schema_version`` holds the version; :data:`PG_MIGRATIONS` lists the steps (SQL
  scripts), step ``i`` taking the schema from version ``i`` to ``i + 1``, each in its own transaction, under a
  transaction-level advisory lock keyed by the schema, so that workers starting together migrate once and the
  others wait and find the work done. A schema from a newer SDK is refused.
* **Types.** Stamps are ``timestamptz`` (microseconds, compared as instants); payloads, snapshots, requests and
  logs are ``text`` written by the same codec as SQLite's (a raw payload must come back byte for byte, which
  ``jsonb`` would not do: it reorders keys and reformats numbers). Keys use the ``"C"`` collation so ties sort as
  SQLite sorts them (bytewise), whatever the database's locale.
"""

from __future__ import annotations

import re

from .._errors import ConfigurationError
from ._shared_rows import as_is
from ._storage import Dialect

__all__ = ["PG_MIGRATIONS", "check_schema_name", "lock_key_sql"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_schema_name(name: str) -> str:
    """The schema name quoted for SQL, after checking it is a plain lower-case identifier (it is pasted into
    statements, so nothing else is accepted)."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise ConfigurationError(
            f"PostgresLedger schema {name!r}: use lower-case letters, digits and '_' (at most 63, not starting "
            "with a digit)"
        )
    return f'"{name}"'


def lock_key_sql(what: str) -> str:
    """SQL for the 64-bit advisory lock key of ``what`` (a text parameter): one key space per database, so the
    schema is part of ``what``. A collision between two stores' keys (2**-64) would only serialise them."""
    return f"hashtextextended({what}, 20261128)"


_V1 = """
CREATE TABLE {s}.orders (
    store text COLLATE "C" NOT NULL,
    order_id text COLLATE "C" NOT NULL,
    number text NOT NULL,
    status text NOT NULL,
    tab text NOT NULL CHECK (tab IN ('orders', 'ignore')),
    paid boolean NOT NULL,
    shipped boolean NOT NULL,
    fingerprint text NOT NULL,
    updated_at timestamptz NOT NULL,
    snapshot text NOT NULL,
    raw text,
    first_seen timestamptz NOT NULL,
    last_changed timestamptz NOT NULL,
    replaced_by text COLLATE "C",
    dismissed text,
    PRIMARY KEY (store, order_id)
);
CREATE INDEX orders_by_tab ON {s}.orders (store, tab, updated_at, order_id) WHERE replaced_by IS NULL;
CREATE INDEX orders_by_update ON {s}.orders (store, updated_at) INCLUDE (order_id) WHERE replaced_by IS NULL;
CREATE TABLE {s}.pending_updates (
    store text COLLATE "C" NOT NULL,
    order_id text COLLATE "C" NOT NULL,
    new_order_id text COLLATE "C" NOT NULL,
    replaces text COLLATE "C",
    changes text NOT NULL,
    snapshot text NOT NULL,
    raw text,
    detected_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (store, order_id)
);
CREATE TABLE {s}.failures (
    store text COLLATE "C" NOT NULL,
    order_ref text COLLATE "C" NOT NULL,
    field text COLLATE "C" NOT NULL,
    problem text COLLATE "C" NOT NULL,
    raw text,
    at timestamptz NOT NULL,
    PRIMARY KEY (store, order_ref, field, problem)
);
CREATE TABLE {s}.high_water (
    store text COLLATE "C" PRIMARY KEY,
    mark timestamptz NOT NULL,
    scope text NOT NULL,
    moved_at timestamptz NOT NULL
);
CREATE TABLE {s}.actions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store text COLLATE "C" NOT NULL,
    order_id text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    request text NOT NULL,
    state text NOT NULL CHECK (state IN ('started', 'done', 'failed')),
    result text,
    error text,
    attempts integer NOT NULL DEFAULT 1,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    owner text,
    lease_until timestamptz,
    checkpoint text,
    log text NOT NULL,
    UNIQUE (store, idempotency_key)
);
CREATE INDEX actions_by_order ON {s}.actions (store, order_id, id);
CREATE TABLE {s}.phone_orders (
    store text COLLATE "C" NOT NULL,
    reference text COLLATE "C" NOT NULL,
    order_id text NOT NULL,
    number text NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (store, reference)
)
"""

_V2 = """
CREATE TABLE {s}.download_locks (
    store text COLLATE "C" PRIMARY KEY,
    token bigint NOT NULL,
    holder text NOT NULL,
    taken_at timestamptz NOT NULL
)
"""

PG_MIGRATIONS: tuple[str, ...] = (
    _V1,  # 1: download state, action log, phone orders (the SQLite schema 4, in one step)
    _V2,  # 2: download-lock fencing tokens (one store, one syncer)
)
"""Schema steps (SQL scripts, ``{s}`` standing for the quoted schema); step ``i`` takes a schema from version
``i`` to ``i + 1``. Only ever append."""


# ---------------------------------------------------------------------------------------------------------
# Statements ({s} is the quoted schema)

ORDER_COLUMNS = (
    "store, order_id, number, status, tab, paid, shipped, fingerprint, snapshot, raw, first_seen, last_changed, "
    "replaced_by, dismissed"
)

UPSERT_ORDER = """
INSERT INTO {s}.orders (store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot,
                        raw, first_seen, last_changed)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (store, order_id) DO UPDATE SET
    number = excluded.number, status = excluded.status, tab = excluded.tab, paid = excluded.paid,
    shipped = excluded.shipped, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at,
    snapshot = excluded.snapshot, raw = excluded.raw, last_changed = excluded.last_changed,
    replaced_by = NULL, dismissed = NULL
"""

UPSERT_UPDATE = """
INSERT INTO {s}.pending_updates (store, order_id, new_order_id, replaces, changes, snapshot, raw, detected_at,
                                 updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (store, order_id) DO UPDATE SET
    new_order_id = excluded.new_order_id, replaces = excluded.replaces, changes = excluded.changes,
    snapshot = excluded.snapshot, raw = excluded.raw, detected_at = excluded.detected_at,
    updated_at = excluded.updated_at
WHERE excluded.replaces IS NOT NULL OR {s}.pending_updates.replaces IS NULL
"""

UPSERT_FAILURE = """
INSERT INTO {s}.failures (store, order_ref, field, problem, raw, at) VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (store, order_ref, field, problem) DO UPDATE SET raw = excluded.raw, at = excluded.at
"""

POSTGRES = Dialect(
    stamp=as_is,
    parse=as_is,
    order_columns=ORDER_COLUMNS,
    upsert_order=UPSERT_ORDER,
    lock_rows=" FOR UPDATE",
)
"""How the shared ledger code (``_shared_ledger``, ``_shared_actions``) speaks to PostgreSQL."""
