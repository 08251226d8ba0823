"""What the connector remembers: downloaded orders, pending updates, failures, high-water marks, actions.

:class:`Ledger` is the protocol the engine talks to; :class:`SQLiteLedger` implements it on the standard
library's ``sqlite3``.

* **One transaction per page.** :meth:`SQLiteLedger.commit_page` writes a page's orders, updates, payload
  failures and the store's high-water mark together: after a crash either all of a page is there or none
  of it.
* **WAL** for file databases (readers do not block the writer), ``synchronous=NORMAL``: a power cut may lose
  the last committed page, which then rolls back *with* its high-water mark and is simply read again.
* **Versioned schema.** ``schema_version`` holds the version; :data:`MIGRATIONS` lists the steps, applied in
  order, each in its own transaction, when a ledger is opened. A database from a newer SDK is refused.
* **Leases on writes.** :meth:`SQLiteLedger.begin_action` hands an action to one caller at a time, across
  threads and processes sharing the file (``BEGIN IMMEDIATE``): the holder has a lease; a caller that finds a
  live lease gets :class:`~ecc_connectors._errors.ActionInProgress`, one that finds an expired lease (a crashed
  holder) or a failed attempt takes the action over. Every attempt is logged on the row.
* **Typed errors.** A SQLite failure (disk full, locked past the busy timeout, a corrupt file) leaves a public
  method as :class:`~ecc_connectors._errors.ConnectorError` naming the operation, with the SQLite error as its
  cause. Integrity and programming errors (bugs, not the environment) stay as they are.
* **Threads and asyncio.** One connection guarded by a lock (``check_same_thread=False``), since the engine
  commits pages on a ledger thread of its own and the async shell calls it from a worker thread, never from
  the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import orjson

from ._convert import fingerprint, order_from_snapshot, snapshot_json
from ._errors import ActionInProgress, ConfigurationError, ConnectorError, PayloadError
from ._model import ChangeKind, FieldChange, Order, RawJSON
from ._outcomes import Seen, Tab

__all__ = [
    "MIGRATIONS",
    "ActionRecord",
    "ActionState",
    "FailureRecord",
    "HighWater",
    "Ledger",
    "OrderRecord",
    "PageBatch",
    "PendingUpdate",
    "PhoneOrderRecord",
    "RowWrite",
    "SQLiteLedger",
    "StoredOrder",
    "UpdateWrite",
    "migrate",
    "schema_version",
]


# ---------------------------------------------------------------------------------------------------------
# Records


@attrs.frozen
class OrderRecord:
    """One row of the Orders or Ignore tab: the copy taken at download and its local state.

    ``replaced_by`` is set when an edited order (a new store entity) was accepted in this one's place; such a
    row is kept for the audit trail and leaves the tabs.
    """

    store: str
    order_id: str
    number: str
    status: str
    tab: Tab
    paid: bool
    shipped: bool
    order: Order
    fingerprint: str
    first_seen: datetime
    last_changed: datetime
    replaced_by: str | None = None
    dismissed: str | None = None
    """The fingerprint of a store copy the user dismissed: that same copy is not raised as an update again."""

    @property
    def seen(self) -> Seen:
        return Seen(self.order, self.tab, self.paid, self.shipped)


class StoredOrder:
    """A ledger row as the engine needs it to decide: the small fields at once, the stored copy parsed only
    when asked for (without its raw payload), since most re-read orders turn out unchanged."""

    __slots__ = (
        "_order", "_snapshot", "dismissed", "fingerprint", "order_id", "paid", "replaced_by", "shipped",
        "tab", "updated_at",
    )

    def __init__(
        self,
        order_id: str,
        tab: Tab,
        paid: bool,
        shipped: bool,
        fingerprint: str,
        replaced_by: str | None,
        dismissed: str | None,
        snapshot: str,
        updated_at: datetime,
    ) -> None:
        self.order_id = order_id
        self.tab = tab
        self.paid = paid
        self.shipped = shipped
        self.fingerprint = fingerprint
        self.replaced_by = replaced_by
        self.dismissed = dismissed
        self._snapshot = snapshot
        self._order: Order | None = None
        self.updated_at = updated_at
        """The store's ``updated_at`` of the row's stored copy (not of a pending update): a copy of the order
        older than this one arriving later (a lagging replica, a re-read page) is not news."""

    @property
    def order(self) -> Order:
        if self._order is None:
            self._order = order_from_snapshot(orjson.loads(self._snapshot))
        return self._order

    @property
    def seen(self) -> Seen:
        return Seen(self.order, self.tab, self.paid, self.shipped)

    def __repr__(self) -> str:
        return f"StoredOrder(order_id={self.order_id!r}, tab={self.tab.value!r})"


@attrs.frozen
class PendingUpdate:
    """An order changed in the store after download, waiting for the user: redownload or dismiss.

    ``order_id`` is the ledger row it applies to; ``order`` is the store's current copy, whose own id differs
    when it is an edited order that ``replaces`` the downloaded one.
    """

    store: str
    order_id: str
    order: Order
    changes: tuple[FieldChange, ...]
    replaces: str | None
    detected_at: datetime


@attrs.frozen
class FailureRecord:
    """An order whose payload could not be understood, with the payload as the store sent it."""

    store: str
    order_ref: str | None
    field: str
    problem: str
    raw: Any
    at: datetime


class ActionState:
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen
class ActionRecord:
    """One post-back, acknowledgement, cancellation, status change or invoice, by idempotency key.

    ``owner`` is the caller that began the latest attempt and ``lease_until`` how long it holds the action
    (``None`` once finished). ``checkpoint`` is a small string an attempt left for the next one (a cart reserved
    for a phone order). ``log`` has one entry per attempt, oldest first: ``attempt``, ``owner``, ``started``,
    ``after`` (why a retry took over: ``"failed: <error>"`` or ``"lease of <owner> expired at <t>"``), and once
    finished ``finished``, ``ok``, ``error`` and ``note`` (what the write checked in the store and found); a
    holder that finished after losing its lease adds an entry with ``late`` instead of overwriting the row.
    """

    id: int
    store: str
    order_id: str
    kind: str
    key: str
    request: Any
    state: str
    result: Any
    error: str | None
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    owner: str | None = None
    lease_until: datetime | None = None
    checkpoint: str | None = None
    log: tuple[Mapping[str, Any], ...] = ()

    @property
    def resumed(self) -> bool:
        """Whether this is a later attempt (an earlier one failed, or its holder's lease expired)."""
        return self.attempts > 1


@attrs.frozen
class PhoneOrderRecord:
    store: str
    reference: str
    order_id: str
    number: str
    payload: Any
    created_at: datetime


@attrs.frozen
class HighWater:
    """The newest store ``updated_at`` committed for a store, and the download scope it belongs to (a mark
    taken under another range start or starting number does not apply)."""

    mark: datetime
    scope: str


@attrs.frozen
class RowWrite:
    """Put ``order`` in ``tab`` (insert, or overwrite its own row). ``supersedes`` names a row the order takes
    the place of (an edited order that is a new entity): that row records ``replaced_by``."""

    order: Order
    tab: Tab
    paid: bool
    shipped: bool
    supersedes: str | None = None


@attrs.frozen
class UpdateWrite:
    """Hold ``order`` as a pending update of row ``target``. A replacement's update is never overwritten by a
    plain update of the same row (the edited entity is what the user must decide on)."""

    target: str
    order: Order
    changes: tuple[FieldChange, ...]
    replaces: str | None = None


@attrs.define
class PageBatch:
    """Everything one page changes, written in one transaction by :meth:`Ledger.commit_page`."""

    store: str
    now: datetime
    rows: list[RowWrite] = attrs.field(factory=list)
    updates: list[UpdateWrite] = attrs.field(factory=list)
    failures: list[PayloadError] = attrs.field(factory=list)
    high_water: HighWater | None = None


# ---------------------------------------------------------------------------------------------------------
# Protocol


@runtime_checkable
class Ledger(Protocol):
    """What the engine needs from storage. Implementations must make :meth:`commit_page` atomic, and must
    accept calls from more than one thread: the engine commits pages on its own ledger thread while it parses
    the next page, and the async shell makes its other calls from a worker thread (never two at once for one
    connector, but not always from the thread that created the ledger).

    A storage failure (disk full, a lock held past the timeout, a corrupt file) is raised as
    :class:`~ecc_connectors._errors.ConnectorError` naming the operation, with the storage error as its cause.
    """

    def high_water(self, store: str) -> HighWater | None: ...

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        """The rows of these orders (any tab, replaced ones included), by ``order_id``; absent ids are left
        out. Each carries the stored copy's store ``updated_at``."""
        ...

    def known_keys(
        self, store: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, datetime]:
        """Every order the ledger knows for the store, with the store ``updated_at`` of the newest copy it
        holds: for reconciling against the store's own list of keys.

        Covers each row of any tab that was not replaced by an edited order. Where a pending update holds a
        newer copy of the row, that copy's ``updated_at`` is reported (the ledger already knows that version);
        an edited order (a new entity) waiting as a pending replacement is also reported under its own id.
        ``start`` and ``end``, when given, keep the orders with ``start <= updated_at <= end`` (inclusive, on
        the reported stamp). One consistent read; it must stay fast for tens of thousands of orders."""
        ...

    def commit_page(self, batch: PageBatch) -> None: ...

    def get(self, store: str, order_id: str) -> OrderRecord | None: ...

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]: ...

    def updates(self, store: str) -> list[PendingUpdate]: ...

    def pending(self, store: str, order_id: str) -> PendingUpdate | None: ...

    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord: ...

    def dismiss_update(self, store: str, order_id: str) -> bool: ...

    def failures(self, store: str) -> list[FailureRecord]: ...

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None: ...

    def refresh(self, store: str, order: Order, now: datetime) -> bool: ...

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
        """Claim the action ``key`` of the store for ``owner`` until ``now + lease``. Returns the row and
        whether the caller should run the write.

        Atomic across threads and processes sharing the ledger: of callers racing on one key, exactly one
        goes. No row yet: one is written (``started``, attempt 1) and the caller goes. ``done``: the recorded
        result stands and the caller does not go. ``started`` under a lease that has not expired at ``now``:
        raises :class:`~ecc_connectors._errors.ActionInProgress` (naming the kind, the order, the holder and
        the lease's end, never the request) and writes nothing. ``failed``, or ``started`` under an expired
        lease (a crashed holder): the caller takes it over as the next attempt (the log says after what), and
        should check the store before writing, since the earlier attempt may have reached it."""
        ...

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
        """Record the end of the current attempt: ``done`` with ``result``, or ``failed`` with ``error``; the
        lease is released and the attempt's log entry completed with ``note`` (what the write checked in the
        store and what it found). Atomic.

        With ``owner`` given, the row is only finished if that owner still holds it: when its lease expired and
        another caller took the action over, their state is kept, and a ``late`` log entry records this
        finish instead. Returns the row as it now stands. Raises ``KeyError`` for an unknown id."""
        ...

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        """Keep a small string on the action (a cart reserved for a phone order, say) that a later attempt
        reads back from :attr:`ActionRecord.checkpoint`; it replaces the previous one and survives retries and
        take-overs. Raises ``KeyError`` for an unknown id."""
        ...

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]: ...

    def record_phone_order(
        self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime
    ) -> None: ...

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]: ...

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------------------
# Encoding


def _jsonable(value: Any) -> Any:
    # Raw payloads are kept as the store sent them; the odd non-JSON value (a Decimal from a SOAP library,
    # bytes) is written as text rather than lost.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_OPTS = orjson.OPT_NON_STR_KEYS


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=_jsonable, option=_OPTS).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _dumps_raw(raw: Any) -> str:
    # A payload the driver kept as the store's own JSON text is stored as it is; anything else is encoded.
    return str(raw) if isinstance(raw, RawJSON) else _dumps(raw)


def _loads_raw(text: str | None) -> RawJSON | None:
    # Raw payloads come back as their JSON text: parsing them here would turn money into floats, and most
    # readers never look at them. ``RawJSON.data()`` parses with exact decimals.
    return None if text is None or text == "null" else RawJSON(text)


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _changes_json(changes: Sequence[FieldChange]) -> str:
    return _dumps([[c.kind.value, c.path, c.old, c.new] for c in changes])


def _changes_from(text: str) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(ChangeKind(k), p, o, n) for k, p, o, n in orjson.loads(text))


# ---------------------------------------------------------------------------------------------------------
# Schema


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
            (_ts(order_from_snapshot(orjson.loads(snapshot)).updated_at), store, order_id)
            for store, order_id, snapshot in pending
        ],
    )
    # Actions written before have no owner and no lease (an unfinished one is taken over by the next caller);
    # their log starts with the latest attempt, as far as the row tells.
    actions = conn.execute(
        "SELECT id, state, error, attempts, started_at, finished_at FROM actions"
    ).fetchall()
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
# SQLite


# An order's raw payload lives in ``payloads`` (schema 3 on) or, for rows written before, in ``orders.raw``.
_ORDER_RAW = "COALESCE((SELECT p.raw FROM payloads p WHERE p.id = orders.raw_id), orders.raw)"

_ORDER_COLUMNS = (
    "store, order_id, number, status, tab, paid, shipped, fingerprint, snapshot, "
    f"{_ORDER_RAW}, first_seen, last_changed, replaced_by, dismissed"
)

_UPSERT_ORDER = """
INSERT INTO orders (store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot,
                    raw, raw_id, first_seen, last_changed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (store, order_id) DO UPDATE SET
    number = excluded.number, status = excluded.status, tab = excluded.tab, paid = excluded.paid,
    shipped = excluded.shipped, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at,
    snapshot = excluded.snapshot, raw = excluded.raw, raw_id = excluded.raw_id,
    last_changed = excluded.last_changed,
    replaced_by = NULL, dismissed = NULL
"""

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


@contextmanager
def _typed(operation: str) -> Iterator[None]:
    """Turn a storage failure into ``ConnectorError`` naming the operation. Integrity and programming errors
    (a bug in the SDK or the caller, not the environment) go through as they are."""
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise
    except sqlite3.DatabaseError as exc:  # OperationalError (locked, disk full, I/O), corrupt file, ...
        raise ConnectorError(f"ledger: {operation} failed: {exc}") from exc


class SQLiteLedger:
    """The ledger in one SQLite file (or ``":memory:"``).

    Safe to share between threads (one connection behind a lock). Close it when done, or use it as a context
    manager.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        with _typed(f"opening {self.path}"):
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                if self.path != ":memory:":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA busy_timeout=5000")
                with self._lock:
                    self.version = migrate(self._conn)
            except BaseException:
                self._conn.close()
                raise

    def __enter__(self) -> SQLiteLedger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, operation: str = "write") -> Iterator[sqlite3.Connection]:
        """One write transaction, begun ``IMMEDIATE`` (it takes the database's write lock at once, so a
        read-then-write inside it is atomic across connections and processes)."""
        with self._lock, _typed(operation):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # SQLite may already have rolled back (disk full)
                    with suppress(sqlite3.Error):  # the first error is the one to report
                        self._conn.execute("ROLLBACK")
                raise

    def _query(self, operation: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _typed(operation):
            return self._conn.execute(sql, params).fetchall()

    # -- download ------------------------------------------------------------------------------------------

    def high_water(self, store: str) -> HighWater | None:
        rows = self._query("high_water", "SELECT mark, scope FROM high_water WHERE store = ?", (store,))
        return HighWater(_dt(rows[0][0]), rows[0][1]) if rows else None

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
                    order_id, Tab(tab), bool(paid), bool(shipped), fp, replaced_by, dismissed, snapshot,
                    _dt(updated_at),
                )
        return found

    def known_keys(
        self, store: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, datetime]:
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
            order_rows.append((
                store, row.order.order_id, row.order.number, row.order.status, row.tab.value, int(row.paid),
                int(row.shipped), fingerprint(row.order), _ts(row.order.updated_at),
                snapshot_json(row.order).decode(), None, raw_id, now, now,
            ))
        if payload_rows:
            conn.executemany("INSERT INTO payloads (id, raw) VALUES (?, ?)", payload_rows)
        superseded = [
            (row.order.order_id, now, store, row.supersedes)
            for row in batch.rows
            if row.supersedes is not None
        ]
        update_rows = [
            (
                store, u.target, u.order.order_id, u.replaces, _changes_json(u.changes),
                snapshot_json(u.order).decode(), _dumps_raw(u.order.raw), now, _ts(u.order.updated_at),
            )
            for u in batch.updates
        ]
        failure_rows = [
            (store, f.order_ref or "", f.field, f.problem, _dumps_raw(f.raw), now) for f in batch.failures
        ]
        if order_rows:
            conn.executemany(_UPSERT_ORDER, order_rows)
            # An order that now parses clears the failures recorded for it.
            refs = [(store, r[1], r[2]) for r in order_rows]
            if conn.execute("SELECT 1 FROM failures WHERE store = ? LIMIT 1", (store,)).fetchone():
                conn.executemany(
                    "DELETE FROM failures WHERE store = ? AND order_ref IN (?, ?)", refs
                )
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

    def _order_record(self, row: Sequence[Any]) -> OrderRecord:
        (store, order_id, number, status, tab, paid, shipped, fingerprint, snapshot, raw, first_seen,
         last_changed, replaced_by, dismissed) = row
        return OrderRecord(
            store=store, order_id=order_id, number=number, status=status, tab=Tab(tab), paid=bool(paid),
            shipped=bool(shipped), order=order_from_snapshot(orjson.loads(snapshot), raw=_loads_raw(raw)),
            fingerprint=fingerprint, first_seen=_dt(first_seen), last_changed=_dt(last_changed),
            replaced_by=replaced_by, dismissed=dismissed,
        )

    def get(self, store: str, order_id: str) -> OrderRecord | None:
        rows = self._query(
            "get",
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE store = ? AND order_id = ?", (store, order_id)
        )
        return self._order_record(rows[0]) if rows else None

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]:
        """The tab's rows (replaced rows left out), oldest store update first."""
        rows = self._query(
            "orders",
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE store = ? AND tab = ? AND replaced_by IS NULL "
            "ORDER BY updated_at, order_id",
            (store, tab.value),
        )
        return [self._order_record(row) for row in rows]

    def _pending_record(self, row: Sequence[Any]) -> PendingUpdate:
        store, order_id, replaces, changes, snapshot, raw, detected_at = row
        return PendingUpdate(
            store=store, order_id=order_id,
            order=order_from_snapshot(orjson.loads(snapshot), raw=_loads_raw(raw)),
            changes=_changes_from(changes), replaces=replaces, detected_at=_dt(detected_at),
        )

    _PENDING = "SELECT store, order_id, replaces, changes, snapshot, raw, detected_at FROM pending_updates"

    def updates(self, store: str) -> list[PendingUpdate]:
        rows = self._query("updates", f"{self._PENDING} WHERE store = ? ORDER BY order_id", (store,))
        return [self._pending_record(row) for row in rows]

    def pending(self, store: str, order_id: str) -> PendingUpdate | None:
        rows = self._query("pending", f"{self._PENDING} WHERE store = ? AND order_id = ?", (store, order_id))
        return self._pending_record(rows[0]) if rows else None

    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord:
        """Replace the downloaded copy with the pending one.

        For an edited order that is a new entity, the new entity takes the old row's tab and local
        paid/shipped state, and the old row records ``replaced_by``."""
        with self._transaction("accept_update") as conn:
            row = conn.execute(
                "SELECT new_order_id, snapshot, raw FROM pending_updates WHERE store = ? AND order_id = ?",
                (store, order_id),
            ).fetchone()
            if row is None:
                raise KeyError(f"no pending update for order {order_id!r} of store {store!r}")
            new_id, snapshot_text, raw_text = row
            old = conn.execute(
                "SELECT tab, paid, shipped, first_seen FROM orders WHERE store = ? AND order_id = ?",
                (store, order_id),
            ).fetchone()
            if old is None:
                raise KeyError(f"order {order_id!r} of store {store!r} is not in the ledger")
            tab, paid, shipped, first_seen = old
            accepted = order_from_snapshot(orjson.loads(snapshot_text))
            stamp = _ts(now)
            conn.execute(
                _UPSERT_ORDER,
                (
                    store, new_id, accepted.number, accepted.status, tab, paid, shipped,
                    fingerprint(accepted), _ts(accepted.updated_at), snapshot_text, raw_text, None,
                    first_seen, stamp,
                ),
            )
            if new_id != order_id:
                conn.execute(
                    "UPDATE orders SET replaced_by = ?, last_changed = ? WHERE store = ? AND order_id = ?",
                    (new_id, stamp, store, order_id),
                )
            conn.execute("DELETE FROM pending_updates WHERE store = ? AND order_id = ?", (store, order_id))
        record = self.get(store, new_id)
        assert record is not None
        return record

    def dismiss_update(self, store: str, order_id: str) -> bool:
        """Keep the downloaded copy and forget the pending update. Returns whether there was one.

        The dismissed copy's fingerprint is kept on the row, so reading the same copy again (a lookback, a
        re-read) does not bring the update back; a further change in the store does."""
        with self._transaction("dismiss_update") as conn:
            row = conn.execute(
                "SELECT snapshot FROM pending_updates WHERE store = ? AND order_id = ?", (store, order_id)
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE orders SET dismissed = ? WHERE store = ? AND order_id = ?",
                (fingerprint(order_from_snapshot(orjson.loads(row[0]))), store, order_id),
            )
            conn.execute("DELETE FROM pending_updates WHERE store = ? AND order_id = ?", (store, order_id))
            return True

    def failures(self, store: str) -> list[FailureRecord]:
        rows = self._query(
            "failures",
            "SELECT store, order_ref, field, problem, raw, at FROM failures WHERE store = ? "
            "ORDER BY order_ref, field",
            (store,),
        )
        return [FailureRecord(s, ref or None, f, p, _loads_raw(raw), _dt(at)) for s, ref, f, p, raw, at in rows]

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None:
        with self._transaction("set_local_state") as conn:
            if paid is not None:
                conn.execute(
                    "UPDATE orders SET paid = ? WHERE store = ? AND order_id = ?",
                    (int(paid), store, order_id),
                )
            if shipped is not None:
                conn.execute(
                    "UPDATE orders SET shipped = ? WHERE store = ? AND order_id = ?",
                    (int(shipped), store, order_id),
                )

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
                    order.number, order.status, fingerprint(order), _ts(order.updated_at),
                    snapshot_json(order).decode(), _dumps_raw(order.raw), _ts(now), store, order.order_id,
                ),
            )
            return cursor.rowcount == 1

    # -- actions -------------------------------------------------------------------------------------------

    _ACTION = (
        "SELECT id, store, order_id, kind, idempotency_key, request, state, result, error, attempts, "
        "started_at, finished_at, owner, lease_until, checkpoint, log FROM actions"
    )

    @staticmethod
    def _action_record(row: Sequence[Any]) -> ActionRecord:
        (id_, store, order_id, kind, key, request, state, result, error, attempts, started, finished, owner,
         lease_until, checkpoint, log) = row
        return ActionRecord(
            id=id_, store=store, order_id=order_id, kind=kind, key=key, request=_loads(request), state=state,
            result=_loads(result), error=error, attempts=attempts, started_at=_dt(started),
            finished_at=_dt(finished) if finished else None, owner=owner,
            lease_until=_dt(lease_until) if lease_until else None, checkpoint=checkpoint,
            log=tuple(_loads(log) or ()),
        )

    def _action_row(self, conn: sqlite3.Connection, action_id: int) -> ActionRecord:
        row = conn.execute(f"{self._ACTION} WHERE id = ?", (action_id,)).fetchone()
        if row is None:
            raise KeyError(f"no action with id {action_id}")
        return self._action_record(row)

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

        See :meth:`Ledger.begin_action`. The row is read and written in one ``BEGIN IMMEDIATE`` transaction,
        which holds the database's write lock from the start, so callers racing on one key (threads, or
        processes with their own connections) are served one after the other and exactly one goes."""
        stamp = _ts(now)
        at = _dt(stamp)
        until = _ts(now + lease)
        with self._transaction("begin_action") as conn:
            row = conn.execute(
                f"{self._ACTION} WHERE store = ? AND idempotency_key = ?", (store, key)
            ).fetchone()
            if row is None:
                log: list[Mapping[str, Any]] = [{"attempt": 1, "owner": owner, "started": stamp}]
                cursor = conn.execute(
                    "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, started_at, "
                    "owner, lease_until, log) VALUES (?, ?, ?, ?, ?, 'started', ?, ?, ?, ?)",
                    (store, order_id, kind, key, _dumps(request), stamp, owner, until, _dumps(log)),
                )
                assert cursor.lastrowid is not None
                action_id = cursor.lastrowid
            else:
                existing = self._action_record(row)
                if existing.state == ActionState.DONE:
                    return existing, False
                if existing.state == ActionState.FAILED:
                    after = f"failed: {existing.error or 'no error recorded'}"
                elif existing.lease_until is None:  # started before leases existed (schema 3) and never finished
                    after = f"attempt {existing.attempts} started at {_ts(existing.started_at)} was not finished"
                elif existing.lease_until > at:
                    raise ActionInProgress(
                        f"{existing.kind} of order {existing.order_id} is already in progress "
                        f"({existing.owner or 'unnamed owner'}) until {existing.lease_until.isoformat()}; "
                        "try again after that",
                        key=key,
                        owner=existing.owner or "",
                        lease_until=existing.lease_until,
                    )
                else:
                    after = (
                        f"lease of {existing.owner or 'unnamed owner'} expired at "
                        f"{existing.lease_until.isoformat()}"
                    )
                attempt = existing.attempts + 1
                log = [
                    *existing.log,
                    {"attempt": attempt, "owner": owner, "started": stamp, "after": after},
                ]
                conn.execute(
                    "UPDATE actions SET state = 'started', attempts = ?, started_at = ?, finished_at = NULL, "
                    "result = NULL, error = NULL, owner = ?, lease_until = ?, log = ? WHERE id = ?",
                    (attempt, stamp, owner, until, _dumps(log), existing.id),
                )
                action_id = existing.id
            fresh = self._action_row(conn, action_id)
        return fresh, True

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
        stamp = _ts(now)
        outcome: dict[str, Any] = {"finished": stamp, "ok": ok}
        if error is not None:
            outcome["error"] = error
        outcome["note"] = note
        with self._transaction("finish_action") as conn:
            current = self._action_row(conn, action_id)
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
                conn.execute("UPDATE actions SET log = ? WHERE id = ?", (_dumps(log), action_id))
            else:
                # The current attempt's entry is the last one, but for late finishes of earlier holders.
                mine = next(
                    (
                        i for i in range(len(log) - 1, -1, -1)
                        if log[i].get("attempt") == current.attempts and "late" not in log[i]
                    ),
                    None,
                )
                if mine is not None and "finished" not in log[mine]:
                    log[mine] = {**log[mine], **outcome}
                else:  # finished twice, or a row without a log: keep both ends on record
                    log.append({"attempt": current.attempts, "owner": current.owner, **outcome})
                conn.execute(
                    "UPDATE actions SET state = ?, result = ?, error = ?, finished_at = ?, lease_until = NULL, "
                    "log = ? WHERE id = ?",
                    (
                        ActionState.DONE if ok else ActionState.FAILED, _dumps(result) if ok else None, error,
                        stamp, _dumps(log), action_id,
                    ),
                )
            return self._action_row(conn, action_id)

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        """Keep ``checkpoint`` on the action for a later attempt (see :meth:`Ledger.checkpoint_action`)."""
        with self._transaction("checkpoint_action") as conn:
            cursor = conn.execute("UPDATE actions SET checkpoint = ? WHERE id = ?", (checkpoint, action_id))
            if cursor.rowcount != 1:
                raise KeyError(f"no action with id {action_id}")

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]:
        """The action log (the per-order audit trail when ``order_id`` is given), oldest first."""
        if order_id is None:
            rows = self._query("actions", f"{self._ACTION} WHERE store = ? ORDER BY id", (store,))
        else:
            rows = self._query(
                "actions",
                f"{self._ACTION} WHERE store = ? AND order_id = ? ORDER BY id", (store, order_id)
            )
        return [self._action_record(row) for row in rows]

    # -- phone orders --------------------------------------------------------------------------------------

    def record_phone_order(
        self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime
    ) -> None:
        """Record a phone order created in the store and put the created order in the ledger, in one
        transaction, so the next download sees it as known rather than new."""
        with self._transaction("record_phone_order") as conn:
            conn.execute(
                "INSERT INTO phone_orders (store, reference, order_id, number, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store, reference) DO UPDATE SET "
                "order_id = excluded.order_id, number = excluded.number, payload = excluded.payload",
                (store, reference, row.order.order_id, row.order.number, _dumps(payload), _ts(now)),
            )
            self._write_page(conn, PageBatch(store, now, rows=[row]))

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]:
        rows = self._query(
            "phone_orders",
            "SELECT store, reference, order_id, number, payload, created_at FROM phone_orders "
            "WHERE store = ? ORDER BY created_at, reference",
            (store,),
        )
        return [PhoneOrderRecord(s, ref, oid, num, _loads(p), _dt(at)) for s, ref, oid, num, p, at in rows]

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None:
        rows = self._query(
            "phone_order",
            "SELECT store, reference, order_id, number, payload, created_at FROM phone_orders "
            "WHERE store = ? AND reference = ?",
            (store, reference),
        )
        if not rows:
            return None
        s, ref, oid, num, payload, at = rows[0]
        return PhoneOrderRecord(s, ref, oid, num, _loads(payload), _dt(at))

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
            "actions": "SELECT store, order_id, kind, idempotency_key, request, state, result, error "
            "FROM actions",
            "phone_orders": "SELECT store, reference, order_id, number, payload FROM phone_orders",
        }
        return {
            name: sorted(tuple(row) for row in self._query("dump", sql + where, params))
            for name, sql in queries.items()
        }
