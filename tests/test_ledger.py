"""The SQLite ledger: schema and migrations, page transactions, updates, actions, phone orders."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from ecc_connectors import (
    ActionInProgress,
    ChangeKind,
    ConfigurationError,
    ConnectorError,
    FieldChange,
    Order,
    PayloadError,
    Tab,
    Totals,
    fingerprint,
)
from ecc_connectors.ledger import (
    ActionRecord,
    HighWater,
    Ledger,
    PageBatch,
    RowWrite,
    SQLiteLedger,
    UpdateWrite,
)
from ecc_connectors.ledger.sqlite import MIGRATIONS, migrate, schema_version
from fakedriver import FakeDriver, make_order

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
STORE = "fake-store"
# A row's raw payload wherever the current schema keeps it (its own table since version 3, else the row).
_ORDER_RAW = "COALESCE((SELECT p.raw FROM payloads p WHERE p.id = orders.raw_id), orders.raw)"


def order(n: int, **extra: object) -> Order:
    return order_at(n, T0 + timedelta(hours=n), **extra)


def order_at(n: int, updated: datetime, **extra: object) -> Order:
    parsed = FakeDriver().parse(make_order(n, updated=updated, **extra))  # type: ignore[arg-type]
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


def _page_of_big_orders(first: int, count: int) -> PageBatch:
    note = "x" * 20_000  # raw payloads of about 20 kB, as real orders with their histories can be
    return PageBatch(STORE, NOW, rows=[RowWrite(order(n, note=note), Tab.ORDERS, False, False)
                                       for n in range(first, first + count)])


def test_a_file_ledger_copies_its_log_into_the_database_while_open(tmp_path: Path) -> None:
    # The ledger's own connection never checkpoints (a commit that did would hold up the download's next
    # page); a thread of its own does, so committed pages reach the database file while the ledger is open.
    # The 2 MB written here are far below SQLite's own trigger (1,000 pages, 4 MB): only that thread copies.
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        assert ledger._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        empty = path.stat().st_size
        for start in range(1, 101, 20):
            ledger.commit_page(_page_of_big_orders(start, 20))
        deadline = time.monotonic() + 10
        while path.stat().st_size < empty + 1_500_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= empty + 1_500_000
        assert len(ledger.orders(STORE)) == 100


def test_closing_a_file_ledger_leaves_no_log_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        for start in range(1, 61, 20):
            ledger.commit_page(_page_of_big_orders(start, 20))
    # The checkpointer's connection closes first, so the ledger's own is the last one and removes the log.
    assert not (tmp_path / "ledger.db-wal").exists()
    with SQLiteLedger(path) as again:
        assert len(again.orders(STORE)) == 60
        fifth = again.get(STORE, "5")
        assert fifth is not None
        assert fifth.order.raw is not None
        assert fifth.order.raw.data()["note"] == "x" * 20_000


def test_pages_committed_while_the_log_is_copied_are_all_kept(tmp_path: Path) -> None:
    # Commits go on while the checkpointer copies (WAL mode lets both run); a reader opened meanwhile sees
    # every page committed before it looked, and after closing nothing is missing.
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        for start in range(1, 401, 20):
            ledger.commit_page(_page_of_big_orders(start, 20))
            with SQLiteLedger(path) as reader:
                assert len(reader.orders(STORE)) == start + 19
    with SQLiteLedger(path) as again:
        assert len(again.orders(STORE)) == 400


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
    conn.execute("INSERT INTO high_water VALUES (?, ?, ?, ?)", (STORE, T0.isoformat(), "scope", NOW.isoformat()))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "actions" not in tables
    conn.close()

    with SQLiteLedger(path) as ledger:
        assert ledger.version == len(MIGRATIONS)
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


def test_the_stored_fingerprint_is_the_public_one_whatever_the_text_holds() -> None:
    # The ledger hashes the snapshot's bytes with the order's own stamp swapped out; text that looks like the
    # stamp's member must not be swapped, nor change the hash.
    stamp = '"updated_at":"2024-05-01T03:00:00Z"'
    with SQLiteLedger() as ledger:
        orders = [order(3, name=stamp), order(4, name=stamp.replace('"', "")), order(5, email=f"x{stamp}")]
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(o, Tab.ORDERS, False, False) for o in orders]))
        for o in orders:
            record = ledger.get(STORE, o.order_id)
            assert record is not None
            assert record.fingerprint == fingerprint(o)
            assert record.order == o
            assert record.order.customer.name == o.customer.name


def test_a_large_page_with_an_order_twice_keeps_its_last_copy() -> None:
    # Rows go in as few multi-row statements as SQLite's parameter limit allows: more rows than one statement
    # holds, and a repeated order whose later row must win, as it did with one statement per row.
    with SQLiteLedger() as ledger:
        rows = [RowWrite(order(n), Tab.ORDERS, False, False) for n in range(1, 1201)]
        rows.append(RowWrite(order(7, status="complete"), Tab.ORDERS, True, True))
        ledger.commit_page(PageBatch(STORE, NOW, rows=rows))
        assert len(ledger.orders(STORE)) == 1200
        seventh = ledger.get(STORE, "7")
        assert seventh is not None
        assert (seventh.order.status, seventh.paid, seventh.shipped) == ("complete", True, True)
        assert seventh.order.raw is not None
        assert seventh.order.raw.data() == rows[-1].order.raw


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
        ledger.record_phone_order(STORE, "PH-1", {"lines": 1}, RowWrite(created, Tab.ORDERS, False, False), NOW)
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


# ---------------------------------------------------------------------------------------------------------
# Action leases (schema 4). A late finish after a take-over and checkpoints are checked by the ledger suite
# (check_a_late_finish_does_not_overwrite_the_new_holder, check_a_checkpoint_survives_for_the_next_attempt),
# which tests/test_ledger_conformance.py runs on SQLite in memory and on files.

SHIP = {"tracking": ["1Z-SECRET-BODY"]}


def test_a_live_lease_keeps_another_process_out_until_it_expires(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as first, SQLiteLedger(path) as second:  # two connections, as two processes
        mine, go = first.begin_action(STORE, "7", "ship", "ship:7", SHIP, NOW, owner="worker-a")
        assert go
        assert (mine.state, mine.owner, mine.attempts, mine.resumed) == ("started", "worker-a", 1, False)
        assert mine.lease_until == NOW + timedelta(minutes=5)
        assert mine.log == ({"attempt": 1, "owner": "worker-a", "started": NOW.isoformat()},)

        with pytest.raises(ActionInProgress) as caught:
            second.begin_action(STORE, "7", "ship", "ship:7", SHIP, NOW + timedelta(minutes=4), owner="worker-b")
        busy = caught.value
        assert isinstance(busy, ConnectorError)
        assert (busy.key, busy.owner, busy.lease_until) == ("ship:7", "worker-a", NOW + timedelta(minutes=5))
        message = str(busy)
        assert "ship" in message
        assert "7" in message
        assert (NOW + timedelta(minutes=5)).isoformat() in message
        assert "SECRET" not in message
        # Refused without a trace: the holder's row is as it was.
        (row,) = first.actions(STORE, "7")
        assert (row.owner, row.attempts, row.log) == ("worker-a", 1, mine.log)

        # worker-a crashed; once its lease has run out, worker-b takes the action over.
        later = NOW + timedelta(minutes=6)
        taken, go = second.begin_action(STORE, "7", "ship", "ship:7", SHIP, later, owner="worker-b")
        assert go
        assert taken.id == mine.id
        assert (taken.state, taken.owner, taken.attempts, taken.resumed) == ("started", "worker-b", 2, True)
        assert taken.lease_until == later + timedelta(minutes=5)
        assert taken.log[1] == {
            "attempt": 2,
            "owner": "worker-b",
            "started": later.isoformat(),
            "after": f"lease of worker-a expired at {(NOW + timedelta(minutes=5)).isoformat()}",
        }

        done = second.finish_action(
            taken.id,
            ok=True,
            result={"shipment_id": "S1"},
            now=later + timedelta(seconds=3),
            note="no shipment with 1Z-SECRET-BODY in the order yet: created one",
            owner="worker-b",
        )
        assert (done.state, done.result, done.lease_until) == ("done", {"shipment_id": "S1"}, None)
        assert done.log[1] == {
            **taken.log[1],
            "finished": (later + timedelta(seconds=3)).isoformat(),
            "ok": True,
            "note": "no shipment with 1Z-SECRET-BODY in the order yet: created one",
        }
        assert done.log[0] == mine.log[0]  # the crashed attempt never finished

        # The first holder comes back: the recorded result stands and nothing is sent again.
        again, go = first.begin_action(STORE, "7", "ship", "ship:7", SHIP, later + timedelta(minutes=1), owner="a2")
        assert not go
        assert again.result == {"shipment_id": "S1"}
        assert again.attempts == 2


def test_a_failed_action_is_taken_over_as_the_next_attempt() -> None:
    with SQLiteLedger() as ledger:
        first, go = ledger.begin_action(STORE, "1", "invoice", "inv:1", {}, NOW, owner="p1")
        assert go
        failed = ledger.finish_action(first.id, ok=False, error="TransportError: timeout", now=NOW, owner="p1")
        assert (failed.state, failed.error, failed.lease_until) == ("failed", "TransportError: timeout", None)
        assert failed.log[0]["error"] == "TransportError: timeout"
        assert failed.log[0]["ok"] is False

        # A failed action is free at once, even for the same owner and well within the old lease.
        second, go = ledger.begin_action(STORE, "1", "invoice", "inv:1", {}, NOW + timedelta(seconds=1), owner="p1")
        assert go
        assert (second.attempts, second.resumed, second.error) == (2, True, None)
        assert second.log[1]["after"] == "failed: TransportError: timeout"
        assert second.log[1]["attempt"] == 2

        third_try = ledger.finish_action(second.id, ok=False, error="StoreError: 500", now=NOW)
        assert third_try.log[1]["error"] == "StoreError: 500"
        third, go = ledger.begin_action(STORE, "1", "invoice", "inv:1", {}, NOW, owner="p2")
        assert go
        assert [entry["attempt"] for entry in third.log] == [1, 2, 3]
        assert third.log[2]["after"] == "failed: StoreError: 500"


_RACER = """
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
from ecc_connectors import ActionInProgress
from ecc_connectors.ledger import SQLiteLedger

path, owner, start = sys.argv[1:4]
ledger = SQLiteLedger(path)
print("ready", flush=True)
while not Path(start).exists():
    time.sleep(0.0005)
try:
    record, go = ledger.begin_action(
        "fake-store", "5", "ship", "ship:5", {"n": 1}, datetime(2024, 6, 1, tzinfo=timezone.utc), owner=owner
    )
    print(json.dumps({"go": go, "owner": record.owner}), flush=True)
except ActionInProgress as exc:
    print(json.dumps({"busy": exc.owner}), flush=True)
ledger.close()
"""


def test_of_processes_racing_on_one_key_exactly_one_goes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()  # created and migrated before the race
    start = tmp_path / "start"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), f"proc-{n}", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready"
        start.touch()  # all four are connected and spinning: let them go at once
        answers = []
        for racer in racers:
            out, err = racer.communicate(timeout=60)
            assert racer.returncode == 0, err
            answers.append(json.loads(out))
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()

    winners = [a["owner"] for a in answers if a.get("go")]
    assert len(winners) == 1
    (winner,) = winners
    assert sorted(a.get("busy", "") for a in answers) == ["", winner, winner, winner]
    with SQLiteLedger(path) as ledger:
        (action,) = ledger.actions(STORE)
        assert (action.owner, action.attempts, len(action.log)) == (winner, 1, 1)


def test_threads_with_their_own_ledgers_racing_on_one_key_one_goes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledgers = [SQLiteLedger(path) for _ in range(6)]
    barrier = threading.Barrier(len(ledgers))
    outcomes: list[str] = []

    def race(n: int) -> None:
        barrier.wait()
        try:
            _, go = ledgers[n].begin_action(STORE, "5", "ack", "ack:5", {}, NOW, owner=f"t{n}")
            outcomes.append("go" if go else "skip")
        except ActionInProgress:
            outcomes.append("busy")

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ledger in ledgers:
        ledger.close()
    assert sorted(outcomes) == ["busy"] * 5 + ["go"]


def test_an_action_record_built_the_old_way_still_works() -> None:
    record = ActionRecord(1, STORE, "1", "ship", "k", {}, "done", None, None, 1, NOW, NOW)
    assert (record.owner, record.lease_until, record.checkpoint, record.log, record.resumed) == (
        None,
        None,
        None,
        (),
        False,
    )


# ---------------------------------------------------------------------------------------------------------
# Migration to schema 4


def test_a_version_3_ledger_gains_leases_and_pending_stamps(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, upto=3) == 3
    changed = order_at(2, T0 + timedelta(days=2), status="canceled")
    with SQLiteLedger() as scratch:
        scratch.commit_page(
            PageBatch(
                STORE,
                NOW,
                rows=[RowWrite(order(1), Tab.ORDERS, False, False), RowWrite(order(2), Tab.IGNORE, True, False)],
            )
        )
        scratch.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("2", changed, _change("status"))]))
        orders = scratch._conn.execute(
            "SELECT store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot, "
            f"{_ORDER_RAW}, first_seen, last_changed, replaced_by, dismissed FROM orders"
        ).fetchall()
        pending = scratch._conn.execute(
            "SELECT store, order_id, new_order_id, replaces, changes, snapshot, raw, detected_at FROM pending_updates"
        ).fetchall()
    for row in orders:  # schema 3 rows written before payloads moved keep theirs in orders.raw
        conn.execute(
            "INSERT INTO orders (store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, "
            "snapshot, raw, first_seen, last_changed, replaced_by, dismissed) "
            f"VALUES ({','.join('?' * len(row))})",
            row,
        )
    conn.executemany(f"INSERT INTO pending_updates VALUES ({','.join('?' * 8)})", pending)
    started, finished = NOW.isoformat(), (NOW + timedelta(seconds=5)).isoformat()
    conn.execute(
        "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, result, error, attempts, "
        "started_at, finished_at) VALUES (?, '1', 'ship', 'ship:1', '{}', 'started', NULL, NULL, 2, ?, NULL)",
        (STORE, started),
    )
    conn.execute(
        "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, result, error, attempts, "
        "started_at, finished_at) VALUES (?, '2', 'cancel', 'cancel:2', '{}', 'done', ?, NULL, 1, ?, ?)",
        (STORE, '{"ok": 1}', started, finished),
    )
    columns = {r[1] for r in conn.execute("PRAGMA table_info(actions)")}
    assert "lease_until" not in columns
    conn.close()

    with SQLiteLedger(path) as ledger:
        assert ledger.version == 4
        columns = {r[1] for r in ledger._conn.execute("PRAGMA table_info(actions)")}
        assert {"owner", "lease_until", "checkpoint", "log"} <= columns
        ((stamp,),) = ledger._conn.execute("SELECT updated_at FROM pending_updates").fetchall()
        assert stamp == (T0 + timedelta(days=2)).isoformat()  # backfilled from the stored copy
        indexes = {r[1] for r in ledger._conn.execute("PRAGMA index_list(orders)")}
        assert "orders_by_update" in indexes

        # The ledger knows order 2 in the version its pending update holds.
        assert ledger.known_keys(STORE) == {"1": T0 + timedelta(hours=1), "2": T0 + timedelta(days=2)}
        assert ledger.seen(STORE, ["2"])["2"].updated_at == T0 + timedelta(hours=2)

        unfinished, done = ledger.actions(STORE)
        assert (unfinished.owner, unfinished.lease_until, unfinished.checkpoint) == (None, None, None)
        assert unfinished.log == ({"attempt": 2, "owner": None, "started": started},)
        assert done.log == (
            {"attempt": 1, "owner": None, "started": started, "finished": finished, "ok": True, "note": ""},
        )
        # An action left unfinished under schema 3 has no lease to wait for: the next caller takes it over.
        taken, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {}, NOW + timedelta(minutes=1), owner="new")
        assert go
        assert taken.attempts == 3
        assert taken.log[1]["after"] == f"attempt 2 started at {started} was not finished"
        again, go = ledger.begin_action(STORE, "2", "cancel", "cancel:2", {}, NOW, owner="new")
        assert not go
        assert again.result == {"ok": 1}

        # New pending updates record their stamp as they are written.
        newer = order_at(1, T0 + timedelta(days=3), status="on_hold")
        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("1", newer, _change("status"))]))
        assert ledger.known_keys(STORE)["1"] == T0 + timedelta(days=3)


# ---------------------------------------------------------------------------------------------------------
# Reconcile support


def test_known_keys_reports_the_newest_copy_within_the_window() -> None:
    with SQLiteLedger() as ledger:
        rows = [RowWrite(order(n), Tab.ORDERS if n % 2 else Tab.IGNORE, False, False) for n in range(1, 7)]
        half_second = T0 + timedelta(hours=7, milliseconds=500)
        rows.append(RowWrite(order_at(7, half_second), Tab.ORDERS, False, False))
        ledger.commit_page(PageBatch(STORE, NOW, rows=rows))
        ledger.commit_page(PageBatch("other-store", NOW, rows=[RowWrite(order(50), Tab.ORDERS, False, False)]))
        ledger.commit_page(
            PageBatch(
                STORE,
                NOW,
                updates=[
                    # A newer copy of 2 waits for the user.
                    UpdateWrite("2", order_at(2, T0 + timedelta(hours=10), status="canceled"), _change("status")),
                    # An edited order (entity 103) waits to replace 3.
                    UpdateWrite("3", order(103, replaces="3"), _change("lines"), replaces="3"),
                    # A pending copy that is not newer than the row does not move the row's stamp.
                    UpdateWrite("4", order_at(4, T0, status="on_hold"), _change("status")),
                ],
            )
        )
        # Order 6 was replaced by an accepted edit (entity 106): the old row leaves, the new one counts.
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(106), Tab.ORDERS, False, False, supersedes="6")]))

        hours = {n: T0 + timedelta(hours=n) for n in (1, 4, 5, 10, 103, 106)}
        assert ledger.known_keys(STORE) == {
            "1": hours[1],
            "2": hours[10],
            "3": hours[103],
            "103": hours[103],
            "4": hours[4],
            "5": hours[5],
            "7": half_second,
            "106": hours[106],
        }
        # Inclusive bounds, on the reported stamp.
        assert ledger.known_keys(STORE, T0 + timedelta(hours=1), T0 + timedelta(hours=4)) == {
            "1": hours[1],
            "4": hours[4],
        }
        # Order 2's own row (hour 2) is in this window, but the ledger knows it at hour 10.
        assert ledger.known_keys(STORE, T0 + timedelta(hours=2), T0 + timedelta(hours=2)) == {}
        assert ledger.known_keys(STORE, T0 + timedelta(hours=10), T0 + timedelta(hours=10)) == {"2": hours[10]}
        # Open at either end; sub-second stamps compare as times.
        assert set(ledger.known_keys(STORE, None, T0 + timedelta(hours=5))) == {"1", "4", "5"}
        assert set(ledger.known_keys(STORE, T0 + timedelta(hours=100), None)) == {"3", "103", "106"}
        assert "7" not in ledger.known_keys(STORE, T0 + timedelta(hours=7), T0 + timedelta(hours=7))
        assert ledger.known_keys(STORE, T0 + timedelta(hours=7, milliseconds=500), half_second) == {"7": half_second}
        assert ledger.known_keys("other-store") == {"50": T0 + timedelta(hours=50)}
        assert ledger.known_keys("no-such-store") == {}

        # Accepting the update of 2 makes its row carry that copy; dismissing 4 leaves the row's stamp.
        ledger.accept_update(STORE, "2", NOW)
        ledger.dismiss_update(STORE, "4")
        keys = ledger.known_keys(STORE)
        assert (keys["2"], keys["4"]) == (hours[10], hours[4])


def test_seen_carries_the_stored_copys_update_stamp() -> None:
    with SQLiteLedger() as ledger:
        stamp = T0 + timedelta(hours=5, microseconds=250)
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order_at(5, stamp), Tab.ORDERS, False, False)]))
        ledger.commit_page(
            PageBatch(STORE, NOW, updates=[UpdateWrite("5", order_at(5, T0 + timedelta(days=9)), _change("x"))])
        )
        stored = ledger.seen(STORE, ["5"])["5"]
        assert stored.updated_at == stamp  # the row's copy, not the pending one
        assert stored.updated_at.tzinfo is not None
        assert stored.updated_at == stored.order.updated_at


def test_known_keys_is_fast_for_twenty_thousand_orders() -> None:
    count = 20_000
    with SQLiteLedger() as ledger:
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(1), Tab.ORDERS, False, False)]))
        template = ledger._conn.execute("SELECT * FROM orders").fetchone()
        names = [r[1] for r in ledger._conn.execute("PRAGMA table_info(orders)")]
        at_id, at_stamp = names.index("order_id"), names.index("updated_at")
        rows = []
        for n in range(count):
            row = list(template)
            row[at_id], row[at_stamp] = str(n), (T0 + timedelta(seconds=n)).isoformat()
            rows.append(row)
        with ledger._transaction() as conn:
            conn.execute("DELETE FROM orders")
            conn.executemany(f"INSERT INTO orders VALUES ({','.join('?' * len(names))})", rows)
        newer = [  # a few pending updates as well
            UpdateWrite(str(n), order_at(n, T0 + timedelta(seconds=n, milliseconds=1)), _change("x"))
            for n in range(0, count, 1000)
        ]
        ledger.commit_page(PageBatch(STORE, NOW, updates=newer))

        plan = " ".join(
            str(r[-1])
            for r in ledger._conn.execute(
                "EXPLAIN QUERY PLAN SELECT order_id, updated_at FROM orders "
                "WHERE store = ? AND replaced_by IS NULL AND updated_at BETWEEN ? AND ?",
                (STORE, "", "~"),
            )
        )
        assert "USING COVERING INDEX orders_by_update" in plan

        timings = []
        for _ in range(5):
            began = time.perf_counter()
            keys = ledger.known_keys(STORE)
            timings.append(time.perf_counter() - began)
        assert len(keys) == count
        assert keys["19999"] == T0 + timedelta(seconds=19_999)
        assert keys["1000"] == T0 + timedelta(seconds=1000, milliseconds=1)
        window = ledger.known_keys(STORE, T0 + timedelta(seconds=100), T0 + timedelta(seconds=199))
        assert len(window) == 100
        print(f"known_keys over {count} orders: best {min(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms")
        assert min(timings) < 0.1


# ---------------------------------------------------------------------------------------------------------
# Typed storage errors


def test_a_lock_held_past_the_timeout_is_a_connector_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger._conn.execute("PRAGMA busy_timeout=50")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(ConnectorError, match=r"^ledger: commit_page failed: database is locked") as caught:
                ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(1), Tab.ORDERS, False, False)]))
            assert type(caught.value) is ConnectorError
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
            with pytest.raises(ConnectorError, match="begin_action failed"):
                ledger.begin_action(STORE, "1", "ship", "k", {}, NOW)
        finally:
            other.execute("ROLLBACK")
            other.close()
        # The ledger is usable once the lock is gone; nothing was half-written.
        assert ledger.get(STORE, "1") is None
        ledger.commit_page(PageBatch(STORE, NOW, rows=[RowWrite(order(1), Tab.ORDERS, False, False)]))
        assert ledger.get(STORE, "1") is not None


def test_a_corrupt_file_is_a_connector_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    with pytest.raises(ConnectorError, match=r"ledger: opening .*ledger\.db failed: file is not a database") as caught:
        SQLiteLedger(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
