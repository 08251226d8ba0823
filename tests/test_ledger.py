"""The SQLite ledger: schema and migrations, page transactions, updates, actions, phone orders."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from ecc_connectors._convert import fingerprint
from ecc_connectors._errors import ConfigurationError, PayloadError
from ecc_connectors._ledger import (
    _ORDER_RAW,
    MIGRATIONS,
    HighWater,
    Ledger,
    PageBatch,
    RowWrite,
    SQLiteLedger,
    UpdateWrite,
    migrate,
    schema_version,
)
from ecc_connectors._model import ChangeKind, FieldChange, Order, Totals
from ecc_connectors._outcomes import Tab
from fakedriver import FakeDriver, make_order

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
STORE = "fake-store"


def order(n: int, **extra: object) -> Order:
    parsed = FakeDriver().parse(make_order(n, updated=T0 + timedelta(hours=n), **extra))  # type: ignore[arg-type]
    assert isinstance(parsed, Order)
    return parsed


def test_sqlite_ledger_is_a_ledger() -> None:
    with SQLiteLedger() as ledger:
        assert isinstance(ledger, Ledger)
        assert ledger.version == len(MIGRATIONS) == schema_version(ledger._conn)


def test_a_file_ledger_uses_wal_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        assert ledger._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(1), Tab.ORDERS, True, False)]))
    with SQLiteLedger(path) as again:
        record = again.get(STORE, "1")
        assert record is not None
        assert record.order == order(1)
        assert (record.paid, record.shipped) == (True, False)


def test_an_older_schema_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, upto=1) == 1
    # A version-1 ledger, written as version 1 wrote it (no actions or phone orders tables yet).
    with SQLiteLedger() as scratch:
        scratch.commit_page(
            PageBatch(
                STORE,
                NOW,
                rows=[RowWrite(order(7), Tab.ORDERS, False, False)],
                high_water=HighWater(T0, "scope"),
            )
        )
        # Version 1 kept the raw payload in orders.raw.
        (row,) = scratch._conn.execute(
            "SELECT store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot, "
            f"{_ORDER_RAW}, first_seen, last_changed, replaced_by, dismissed FROM orders"
        ).fetchall()
    conn.execute(f"INSERT INTO orders VALUES ({','.join('?' * len(row))})", row)
    conn.execute(
        "INSERT INTO high_water VALUES (?, ?, ?, ?)", (STORE, T0.isoformat(), "scope", NOW.isoformat())
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "actions" not in tables
    conn.close()

    with SQLiteLedger(path) as ledger:
        assert ledger.version == 3
        record = ledger.get(STORE, "7")
        assert record is not None
        assert record.order.number == "000000007"
        assert record.order.raw is not None
        assert record.order.raw.data() == order(7).raw
        # New writes put the payload in its own table; the old row's payload is still read from orders.raw.
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(8), Tab.ORDERS, False, False)]))
        assert ledger._conn.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 1
        fresh = ledger.get(STORE, "8")
        assert fresh is not None
        assert fresh.order.raw is not None
        assert fresh.order.raw.data() == order(8).raw
        assert ledger.high_water(STORE) == HighWater(T0, "scope")
        action, go = ledger.begin_action(STORE, "7", "ship", "k1", {"t": 1}, NOW)
        assert go
        assert action.state == "started"


def test_a_ledger_from_a_newer_sdk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SQLiteLedger(path) as ledger:
        ledger._conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ConfigurationError, match="newer"):
        SQLiteLedger(path)


def test_the_stored_fingerprint_is_the_public_one() -> None:
    with SQLiteLedger() as ledger:
        o = order(3, name="Zoë Ångström")
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(o, Tab.ORDERS, False, False)]))
        record = ledger.get(STORE, "3")
        assert record is not None
        assert record.fingerprint == fingerprint(o)


def test_a_page_commits_whole_or_not_at_all() -> None:
    with SQLiteLedger() as ledger:
        bad = PayloadError(STORE, "9", None, "x")  # type: ignore[arg-type]  # NOT NULL field: the write fails
        batch = PageBatch(
            STORE,
            NOW,
            rows=[RowWrite(order(1), Tab.ORDERS, True, False)],
            failures=[bad],
            high_water=HighWater(T0 + timedelta(hours=1), "s"),
        )
        with pytest.raises(sqlite3.IntegrityError):
            ledger.commit_page(batch)
        assert ledger.get(STORE, "1") is None
        assert ledger.high_water(STORE) is None


def test_failures_keep_the_raw_payload_and_clear_when_the_order_reads() -> None:
    with SQLiteLedger() as ledger:
        raw = {"id": "4", "total": "four", "nested": {"amount": Decimal("1.10")}}
        error = PayloadError(STORE, "4", "total", "not a number", raw)
        ledger.commit_page(PageBatch(STORE, NOW, failures=[error, error]))
        (failure,) = ledger.failures(STORE)
        assert failure.raw is not None
        assert failure.raw.data() == {"id": "4", "total": "four", "nested": {"amount": "1.10"}}
        assert (failure.order_ref, failure.field, failure.problem) == ("4", "total", "not a number")
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(4), Tab.ORDERS, True, False)]))
        assert ledger.failures(STORE) == []


def _change(path: str) -> tuple[FieldChange, ...]:
    return (FieldChange(ChangeKind.STATUS, path, "a", "b"),)


@pytest.mark.parametrize("replacement_first", [True, False])
def test_a_replacement_update_wins_over_a_plain_one(replacement_first: bool) -> None:
    with SQLiteLedger() as ledger:
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(3), Tab.ORDERS, True, True)]))
        plain = UpdateWrite("3", order(3, status="canceled"), _change("status"))
        replacement = UpdateWrite("3", order(103, replaces="3"), _change("lines"), replaces="3")
        for update in (replacement, plain) if replacement_first else (plain, replacement):
            ledger.commit_page(PageBatch(STORE, NOW, updates=[update]))
        (pending,) = ledger.updates(STORE)
        assert pending.order.order_id == "103"
        assert pending.replaces == "3"
        assert [c.path for c in pending.changes] == ["lines"]

        accepted = ledger.accept_update(STORE, "3", NOW)
        assert accepted.order_id == "103"
        assert (accepted.paid, accepted.shipped) == (True, True)
        old = ledger.get(STORE, "3")
        assert old is not None
        assert old.replaced_by == "103"
        assert [r.order_id for r in ledger.orders(STORE)] == ["103"]
        assert ledger.updates(STORE) == []


def test_dismiss_remembers_the_dismissed_copy() -> None:
    with SQLiteLedger() as ledger:
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(2), Tab.ORDERS, True, False)]))
        changed = order(2, status="on_hold")
        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("2", changed, _change("status"))]))
        assert ledger.pending(STORE, "2") is not None
        assert ledger.dismiss_update(STORE, "2") is True
        record = ledger.get(STORE, "2")
        assert record is not None
        assert record.order.status == "processing"
        assert record.dismissed == fingerprint(changed)
        assert ledger.dismiss_update(STORE, "2") is False
        with pytest.raises(KeyError):
            ledger.accept_update(STORE, "2", NOW)


def test_a_done_action_is_not_started_again() -> None:
    with SQLiteLedger() as ledger:
        first, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {"tracking": ["T"]}, NOW)
        assert go
        ledger.finish_action(first.id, ok=False, error="timeout", now=NOW)
        second, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {"tracking": ["T"]}, NOW)
        assert go
        assert second.id == first.id
        assert second.attempts == 2
        assert second.error is None
        done = ledger.finish_action(second.id, ok=True, result={"shipment_id": "S1"}, now=NOW)
        assert done.state == "done"
        assert done.result == {"shipment_id": "S1"}
        third, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {"tracking": ["T"]}, NOW)
        assert not go
        assert third.result == {"shipment_id": "S1"}
        assert [a.kind for a in ledger.actions(STORE, "1")] == ["ship"]


def test_a_phone_order_and_its_row_are_written_together() -> None:
    with SQLiteLedger() as ledger:
        created = order(900)
        ledger.record_phone_order(
            STORE, "PH-1", {"lines": 1}, RowWrite(created, Tab.ORDERS, False, False), NOW
        )
        recorded = ledger.phone_order(STORE, "PH-1")
        assert recorded is not None
        assert recorded.order_id == "900"
        assert recorded.payload == {"lines": 1}
        assert ledger.get(STORE, "900") is not None
        assert ledger.phone_order(STORE, "PH-2") is None


def test_seen_reads_large_sets_in_chunks() -> None:
    with SQLiteLedger() as ledger:
        rows = [RowWrite(order(n), Tab.ORDERS, False, False) for n in range(1, 1201)]
        ledger.commit_page(PageBatch(STORE, NOW, rows=rows))
        found = ledger.seen(STORE, [str(n) for n in range(0, 1300)])
        assert len(found) == 1200
        assert found["1200"].order.totals == Totals(grand_total=Decimal("9.50"))


def test_threads_can_share_one_ledger() -> None:
    with SQLiteLedger() as ledger:

        def write(start: int) -> None:
            for n in range(start, start + 20):
                ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(n), Tab.ORDERS, False, False)]))

        threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(ledger.orders(STORE)) == 80
