"""The ledger conformance suite (``ecc_connectors.testing.ledger_suite``) run for ``SQLiteLedger``, in memory
and on a file, and proven able to fail: for every check, a deliberately broken ledger fails it."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from ecc_connectors import ActionInProgress, Order, PayloadError, Tab
from ecc_connectors.ledger import (
    ActionRecord,
    PageBatch,
    RowWrite,
    SQLiteLedger,
    StoredOrder,
)
from ecc_connectors.ledger.sqlite import MIGRATIONS, migrate, schema_version
from ecc_connectors.testing.ledger_suite import (
    LedgerContract,
    LedgerFactory,
    SQLiteMigrationContract,
    ledger_checks,
    sqlite_migration_checks,
)

KINDS = ["memory", "file"]


def _ts(value: datetime) -> str:
    """A time as the SQLite ledger stores it (UTC, ISO 8601), for the broken ledgers' own SQL."""
    return value.astimezone(timezone.utc).isoformat()


def _dumps(value: Any) -> str:
    return json.dumps(value)


def factory_for(kind: str, tmp_path: Path, cls: type[SQLiteLedger] = SQLiteLedger) -> LedgerFactory[SQLiteLedger]:
    if kind == "memory":
        return LedgerFactory(fresh=cls)  # one connection per database: no second instance
    names = itertools.count()
    return LedgerFactory(
        fresh=lambda: cls(tmp_path / f"ledger-{next(names)}.db"),
        reopen=lambda ledger: cls(ledger.path),
    )


@pytest.fixture(params=KINDS)
def ledger_factory(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerFactory[SQLiteLedger]:
    return factory_for(request.param, tmp_path)


@pytest.fixture
def sqlite_opener() -> type[SQLiteLedger]:
    return SQLiteLedger


class TestSQLiteLedger(LedgerContract):
    """Every check of the suite, for the built-in ledger (memory and file)."""


class TestSQLiteMigrations(SQLiteMigrationContract):
    """Files of schema versions 1 to 3 open with the current code."""


# ---------------------------------------------------------------------------------------------------------
# Broken ledgers: each breaks one promise, and the check of that promise must catch it.


class DropsUpdates(SQLiteLedger):
    """commit_page forgets the page's pending updates."""

    def commit_page(self, batch: PageBatch) -> None:
        super().commit_page(attrs.evolve(batch, updates=[]))


class NotAtomicCommit(SQLiteLedger):
    """commit_page without a transaction: each statement commits on its own (autocommit)."""

    def commit_page(self, batch: PageBatch) -> None:
        with self._lock:
            self._write_page(self._conn, batch)


class MarkFirst(SQLiteLedger):
    """The mark is committed in a transaction of its own, before the page."""

    def commit_page(self, batch: PageBatch) -> None:
        if batch.high_water is not None:
            super().commit_page(PageBatch(batch.store, batch.now, high_water=batch.high_water))
        super().commit_page(attrs.evolve(batch, high_water=None))


class SeenGivesThePendingStamp(SQLiteLedger):
    """seen reports a pending update's stamp instead of the row's own copy's."""

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        found = super().seen(store, order_ids)
        for order_id, stored in found.items():
            pending = self.pending(store, order_id)
            if pending is not None:
                stored.updated_at = pending.order.updated_at
        return found


class KnownKeysWithoutPending(SQLiteLedger):
    """known_keys reports the rows' own stamps only: newer pending copies and replacements are missing."""

    def known_keys(self, store: str, start: datetime | None = None, end: datetime | None = None) -> dict[str, datetime]:
        keys = {}
        for tab in Tab:
            for record in self.orders(store, tab):
                stamp = record.order.updated_at
                if (start is None or start <= stamp) and (end is None or stamp <= end):
                    keys[record.order_id] = stamp
        return keys


class PlainOverwritesReplacement(SQLiteLedger):
    """A plain update replaces a pending replacement of the same row."""

    def commit_page(self, batch: PageBatch) -> None:
        with self._transaction("commit_page") as conn:
            for update in batch.updates:
                if update.replaces is None:
                    conn.execute(
                        "DELETE FROM pending_updates WHERE store = ? AND order_id = ?", (batch.store, update.target)
                    )
            self._write_page(conn, batch)


class DismissForgets(SQLiteLedger):
    """dismiss_update drops the pending update without remembering the dismissed copy."""

    def dismiss_update(self, store: str, order_id: str) -> bool:
        with self._transaction("dismiss_update") as conn:
            cursor = conn.execute("DELETE FROM pending_updates WHERE store = ? AND order_id = ?", (store, order_id))
            return cursor.rowcount == 1


class FailuresNeverClear(SQLiteLedger):
    """A failure stays although its order now reads."""

    def commit_page(self, batch: PageBatch) -> None:
        kept = [PayloadError(f.store, f.order_ref, f.field, f.problem, f.raw) for f in self.failures(batch.store)]
        super().commit_page(attrs.evolve(batch, failures=[*kept, *batch.failures]))


class RefreshOverPending(SQLiteLedger):
    """refresh overwrites a row whose update the user has not seen yet."""

    def refresh(self, store: str, order: Order, now: datetime) -> bool:
        record = self.get(store, order.order_id)
        if record is None or self.pending(store, order.order_id) is None:
            return super().refresh(store, order, now)
        self.commit_page(PageBatch(store, now, rows=[RowWrite(order, record.tab, record.paid, record.shipped)]))
        return True


def _key(ledger: SQLiteLedger, store: str, key: str) -> ActionRecord:
    (row,) = [a for a in ledger.actions(store) if a.key == key]
    return row


class DoneRunsAgain(SQLiteLedger):
    """A done action is run again."""

    def begin_action(
        self, store: str, order_id: str, kind: str, key: str, request: Any, now: datetime, **kw: Any
    ) -> tuple[ActionRecord, bool]:
        record, go = super().begin_action(store, order_id, kind, key, request, now, **kw)
        if not go:
            self.finish_action(record.id, ok=False, error="forgot it was done", now=now)
            return super().begin_action(store, order_id, kind, key, request, now, **kw)
        return record, go


class LeaseIgnored(SQLiteLedger):
    """A live lease does not keep another caller out."""

    def begin_action(
        self, store: str, order_id: str, kind: str, key: str, request: Any, now: datetime, **kw: Any
    ) -> tuple[ActionRecord, bool]:
        try:
            return super().begin_action(store, order_id, kind, key, request, now, **kw)
        except ActionInProgress:
            self.finish_action(_key(self, store, key).id, ok=False, error="lease ignored", now=now)
            return super().begin_action(store, order_id, kind, key, request, now, **kw)


class LateFinishOverwrites(SQLiteLedger):
    """finish_action ignores who holds the action: a holder that lost its lease overwrites the new one."""

    def finish_action(self, action_id: int, **kw: Any) -> ActionRecord:
        return super().finish_action(action_id, **{**kw, "owner": None})


class CheckpointLostOnTakeover(SQLiteLedger):
    """A take-over starts without the earlier attempt's checkpoint."""

    def begin_action(
        self, store: str, order_id: str, kind: str, key: str, request: Any, now: datetime, **kw: Any
    ) -> tuple[ActionRecord, bool]:
        record, go = super().begin_action(store, order_id, kind, key, request, now, **kw)
        if go and record.attempts > 1:
            with self._transaction() as conn:
                conn.execute("UPDATE actions SET checkpoint = NULL WHERE id = ?", (record.id,))
            record = attrs.evolve(record, checkpoint=None)
        return record, go


class BeginNotAtomic(SQLiteLedger):
    """begin_action reads, then writes in a separate step: callers racing on one key all go."""

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
        known = [a for a in self.actions(store) if a.key == key]
        if known:
            return super().begin_action(store, order_id, kind, key, request, now, owner=owner, lease=lease)
        time.sleep(0.05)  # the window between the read and the write
        log = [{"attempt": 1, "owner": owner, "started": _ts(now)}]
        with self._lock:
            self._conn.execute(
                "INSERT INTO actions (store, order_id, kind, idempotency_key, request, state, started_at, owner, "
                "lease_until, log) VALUES (?, ?, ?, ?, ?, 'started', ?, ?, ?, ?) "
                "ON CONFLICT (store, idempotency_key) DO UPDATE SET owner = excluded.owner, "
                "lease_until = excluded.lease_until",
                (store, order_id, kind, key, _dumps(request), _ts(now), owner, _ts(now + lease), _dumps(log)),
            )
        return _key(self, store, key), True


class PhoneOrderInTwoSteps(SQLiteLedger):
    """The phone order and its row are written in two transactions."""

    def record_phone_order(self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime) -> None:
        with self._transaction("record_phone_order") as conn:
            conn.execute(
                "INSERT INTO phone_orders (store, reference, order_id, number, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store, reference) DO UPDATE SET "
                "order_id = excluded.order_id, number = excluded.number, payload = excluded.payload",
                (store, reference, row.order.order_id, row.order.number, _dumps(payload), _ts(now)),
            )
        self.commit_page(PageBatch(store, now, rows=[row]))


class OneThreadOnly(SQLiteLedger):
    """The connection refuses calls from any thread but the one that opened it."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        super().__init__(path)
        self._conn.close()
        self._conn = sqlite3.connect(self.path, isolation_level=None)  # check_same_thread=True
        self._conn.execute("PRAGMA busy_timeout=5000")
        migrate(self._conn)


BROKEN: dict[str, tuple[type[SQLiteLedger], str]] = {
    # check: (the ledger that breaks its promise, what the check must say)
    "commit_page_writes_a_whole_page": (DropsUpdates, "the page's pending update is not there"),
    "commit_page_is_atomic": (NotAtomicCommit, "a page that crashed at its mark: rows changed"),
    "mark_moves_only_with_its_page": (MarkFirst, "the mark moved without its page"),
    "seen_returns_rows_with_their_stored_stamp": (SeenGivesThePendingStamp, "the row's copy was"),
    "known_keys_reports_the_newest_copy": (KnownKeysWithoutPending, "known_keys: .* expected"),
    "a_replacement_update_wins_over_a_plain_one": (
        PlainOverwritesReplacement,
        "replacement first: the pending update is 3 replacing None",
    ),
    "accept_and_dismiss": (DismissForgets, "the dismissed copy's fingerprint was not recorded"),
    "failures_clear_when_the_order_reads": (FailuresNeverClear, "failures of orders that now read must be cleared"),
    "local_state_and_refresh": (RefreshOverPending, "refresh must not overwrite a row whose update"),
    "an_action_runs_once_and_logs_every_attempt": (DoneRunsAgain, "a done action must not go again"),
    "a_live_lease_refuses_and_an_expired_one_is_taken_over": (LeaseIgnored, "must raise ActionInProgress"),
    "a_late_finish_does_not_overwrite_the_new_holder": (LateFinishOverwrites, "overwrote the new holder's state"),
    "a_checkpoint_survives_for_the_next_attempt": (CheckpointLostOnTakeover, "must survive a take-over"),
    "racing_begin_action_exactly_one_goes": (
        BeginNotAtomic,
        r"4 callers raced begin_action on one key: \['go', 'go', 'go', 'go'\]",
    ),
    "a_phone_order_and_its_row_are_written_together": (PhoneOrderInTwoSteps, "recorded without its row"),
    "threads_can_share_one_ledger": (OneThreadOnly, "calls from other threads failed: \\['ProgrammingError"),
}
CHECKS = {check.name: check for check in ledger_checks()}


def test_every_check_has_a_broken_ledger_and_a_test_method() -> None:
    assert sorted(BROKEN) == sorted(CHECKS)
    methods = {name for name in dir(LedgerContract) if name.startswith("test_")}
    assert methods == {f"test_{name}" for name in CHECKS}
    assert {check.family for check in CHECKS.values()} == {
        "commit_page",
        "resume",
        "seen",
        "known_keys",
        "updates",
        "failures",
        "tabs",
        "actions",
        "race",
        "phone_orders",
        "threads",
    }
    assert all(check.doc for check in CHECKS.values())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_check_fails_for_a_ledger_that_breaks_its_promise(name: str, kind: str, tmp_path: Path) -> None:
    broken, says = BROKEN[name]
    with pytest.raises(AssertionError, match=says):
        CHECKS[name](factory_for(kind, tmp_path, broken))


@pytest.mark.parametrize("name", ["commit_page_is_atomic", "racing_begin_action_exactly_one_goes"])
def test_the_plain_callables_pass_for_the_real_ledger(name: str, tmp_path: Path) -> None:
    CHECKS[name](factory_for("file", tmp_path))


class StartsAfresh(SQLiteLedger):
    """An older file is not migrated but replaced by an empty one: its data is lost."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        conn = sqlite3.connect(path)
        version = schema_version(conn)
        conn.close()
        if 0 < version < len(MIGRATIONS):
            Path(path).unlink()
        super().__init__(path)


@pytest.mark.parametrize("check", sqlite_migration_checks(), ids=lambda c: c.name)
def test_each_migration_check_fails_for_a_ledger_that_loses_old_data(check: Any, tmp_path: Path) -> None:
    broken, real = tmp_path / "broken", tmp_path / "real"
    broken.mkdir()
    real.mkdir()
    lost = r"a version-\d file opened with the current code: the orders tab holds \[\]"
    with pytest.raises(AssertionError, match=lost):
        check(StartsAfresh, broken)
    check(SQLiteLedger, real)  # the same check, as a plain callable, passes for the real ledger


def test_the_suite_does_not_need_pytest() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "from ecc_connectors.ledger import SQLiteLedger\n"
        "from ecc_connectors.testing.ledger_suite import LedgerFactory, ledger_checks\n"
        "check = {c.name: c for c in ledger_checks()}['commit_page_is_atomic']\n"
        "check(LedgerFactory(fresh=SQLiteLedger)); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr
