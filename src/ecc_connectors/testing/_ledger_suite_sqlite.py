"""The SQLite-specific extra of the ledger suite: files written by older schema versions open with the
current code, their data intact.

Each check writes a file as schema version 1, 2 or 3 wrote it (with that version's own SQL, not the current
code's), opens it with the ledger under test and reads every row back through the protocol.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from .._convert import fingerprint, snapshot_json
from .._model import Order
from .._outcomes import Tab
from ..ledger import (
    ActionRecord,
    HighWater,
    PageBatch,
    SQLiteLedger,
)
from ..ledger.sqlite import migrate
from ._ledger_suite_kit import (
    NOW,
    STORE,
    T0,
    _need_asserts,
    _raw,
    _row,
    make_order,
)

# ---------------------------------------------------------------------------------------------------------
# SQLite migrations (a SQLite-specific extra)


SQLiteOpener = Callable[[Path], SQLiteLedger]


@attrs.frozen
class SQLiteMigrationCheck:
    """A file written by schema ``version`` opens with ``opener`` (the current code), its data intact."""

    name: str
    version: int

    def __call__(self, opener: SQLiteOpener, directory: Path) -> None:
        _check_old_file(opener, directory / f"schema-{self.version}.db", self.version)


def sqlite_migration_checks() -> tuple[SQLiteMigrationCheck, ...]:
    """One check per older schema version (1 to 3): ``check(opener, directory)``."""
    return tuple(SQLiteMigrationCheck(f"a_version_{v}_file_opens_with_the_current_code", v) for v in (1, 2, 3))


def _write_old_file(path: Path, version: int) -> dict[str, Any]:
    """A ledger file as schema ``version`` wrote it: rows, a pending update, a failure, a mark, and from
    version 2 actions and a phone order, from version 3 a payload in its own table."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, upto=version) == version

        def order_row(order: Order, tab: Tab, paid: bool, raw_in_row: bool) -> tuple[Any, ...]:
            return (
                STORE,
                order.order_id,
                order.number,
                order.status,
                tab.value,
                int(paid),
                0,
                fingerprint(order),
                order.updated_at.isoformat(),
                snapshot_json(order).decode(),
                str(order.raw) if raw_in_row else None,
                NOW.isoformat(),
                NOW.isoformat(),
                None,
                None,
            )

        columns = (
            "store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot, raw, "
            "first_seen, last_changed, replaced_by, dismissed"
        )
        one, two = make_order(1), make_order(2)
        for order, tab, paid in ((one, Tab.ORDERS, True), (two, Tab.IGNORE, False)):
            conn.execute(
                f"INSERT INTO orders ({columns}) VALUES ({','.join('?' * 15)})", order_row(order, tab, paid, True)
            )
        changed = make_order(2, status="canceled", hours=48)
        conn.execute(
            "INSERT INTO pending_updates (store, order_id, new_order_id, replaces, changes, snapshot, raw, "
            "detected_at) VALUES (?, '2', '2', NULL, ?, ?, ?, ?)",
            (
                STORE,
                '[["status", "status", "processing", "canceled"]]',
                snapshot_json(changed).decode(),
                str(changed.raw),
                NOW.isoformat(),
            ),
        )
        conn.execute(
            "INSERT INTO failures VALUES (?, '9', 'total', 'not a number', ?, ?)",
            (STORE, '{"id": "9", "total": "nine"}', NOW.isoformat()),
        )
        conn.execute("INSERT INTO high_water VALUES (?, ?, 'scope', ?)", (STORE, T0.isoformat(), NOW.isoformat()))
        expected: dict[str, Any] = {"orders": {"1": one}, "ignore": {"2": two}, "pending": changed}
        if version >= 2:
            started, finished = NOW.isoformat(), (NOW + timedelta(seconds=5)).isoformat()
            conn.execute(
                "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, result, error, "
                "attempts, started_at, finished_at) "
                "VALUES (?, '1', 'ship', 'ship:1', '{}', 'done', '{\"shipment_id\": \"S1\"}', NULL, 1, ?, ?)",
                (STORE, started, finished),
            )
            conn.execute(
                "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, result, error, "
                "attempts, started_at, finished_at) VALUES (?, '2', 'cancel', 'cancel:2', '{}', 'started', NULL, "
                "NULL, 2, ?, NULL)",
                (STORE, started),
            )
            conn.execute(
                "INSERT INTO phone_orders VALUES (?, 'PH-1', '1', ?, '{\"lines\": 1}', ?)",
                (STORE, one.number, NOW.isoformat()),
            )
        if version >= 3:
            three = make_order(3)
            conn.execute("INSERT INTO payloads (id, raw) VALUES (1, ?)", (str(three.raw),))
            conn.execute(
                f"INSERT INTO orders ({columns}) VALUES ({','.join('?' * 15)})",
                order_row(three, Tab.ORDERS, False, False),
            )
            conn.execute("UPDATE orders SET raw_id = 1 WHERE order_id = '3'")
            expected["orders"]["3"] = three
    finally:
        conn.close()
    return expected


def _check_old_file(opener: SQLiteOpener, path: Path, version: int) -> None:
    _need_asserts()
    expected = _write_old_file(path, version)
    ledger = opener(path)
    try:
        what = f"a version-{version} file opened with the current code"
        for tab, key in ((Tab.ORDERS, "orders"), (Tab.IGNORE, "ignore")):
            rows = {r.order_id: r for r in ledger.orders(STORE, tab)}
            assert sorted(rows) == sorted(expected[key]), f"{what}: the {tab.value} tab holds {sorted(rows)}"
            for order_id, order in expected[key].items():
                assert rows[order_id].order == order, f"{what}: order {order_id} changed"
                assert _raw(rows[order_id].order.raw) == _raw(order.raw), f"{what}: order {order_id}'s raw payload"
        one = ledger.get(STORE, "1")
        assert one is not None
        assert (one.paid, one.first_seen) == (True, NOW)
        pending = ledger.pending(STORE, "2")
        assert pending is not None, f"{what}: the pending update is gone"
        assert pending.order == expected["pending"]
        keys = ledger.known_keys(STORE)
        assert keys["2"] == T0 + timedelta(hours=48), f"{what}: the pending copy's stamp was not backfilled"
        assert ledger.seen(STORE, ["2"])["2"].updated_at == T0 + timedelta(hours=2)
        assert [(f.order_ref, f.field) for f in ledger.failures(STORE)] == [("9", "total")]
        assert ledger.high_water(STORE) == HighWater(T0, "scope")
        if version >= 2:
            done, _unfinished = ledger.actions(STORE)
            assert (done.state, done.result) == ("done", {"shipment_id": "S1"})
            assert done.log == (
                {
                    "attempt": 1,
                    "owner": None,
                    "started": NOW.isoformat(),
                    "finished": (NOW + timedelta(seconds=5)).isoformat(),
                    "ok": True,
                    "note": "",
                },
            )
            _, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {}, NOW + timedelta(hours=1), owner="new")
            assert not go, f"{what}: a done action would run again"
            taken, go = ledger.begin_action(
                STORE, "2", "cancel", "cancel:2", {}, NOW + timedelta(minutes=1), owner="new"
            )
            assert go, f"{what}: an action left unfinished (no lease) must be taken over"
            assert taken.attempts == 3
            assert taken.log[-1]["after"] == f"attempt 2 started at {NOW.isoformat()} was not finished"
            phone = ledger.phone_order(STORE, "PH-1")
            assert phone is not None
            assert (phone.order_id, phone.payload) == ("1", {"lines": 1})
        # The current code writes to it as to a new file.
        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(8)], high_water=HighWater(T0 + timedelta(hours=8), "s")))
        eight = ledger.get(STORE, "8")
        assert eight is not None
        assert _raw(eight.order.raw) == _raw(make_order(8).raw)
        action, go = ledger.begin_action(STORE, "8", "ship", "ship:8", {"t": 1}, NOW, owner="new")
        assert go
        assert isinstance(action, ActionRecord)
    finally:
        ledger.close()


class SQLiteMigrationContract:
    """The checks of :func:`sqlite_migration_checks` as pytest test methods, for :class:`SQLiteLedger` and
    its subclasses: provide a ``sqlite_opener`` fixture (a callable taking a path and returning the ledger);
    pytest's ``tmp_path`` holds the files."""

    def test_a_version_1_file_opens_with_the_current_code(self, sqlite_opener: SQLiteOpener, tmp_path: Path) -> None:
        _check_old_file(sqlite_opener, tmp_path / "schema-1.db", 1)

    def test_a_version_2_file_opens_with_the_current_code(self, sqlite_opener: SQLiteOpener, tmp_path: Path) -> None:
        _check_old_file(sqlite_opener, tmp_path / "schema-2.db", 2)

    def test_a_version_3_file_opens_with_the_current_code(self, sqlite_opener: SQLiteOpener, tmp_path: Path) -> None:
        _check_old_file(sqlite_opener, tmp_path / "schema-3.db", 3)
