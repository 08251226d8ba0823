"""The ledger conformance suite: the checks every :class:`~ecc_connectors.ledger.Ledger` must pass.

Each check exercises one family of promises of the protocol (the docstrings of :mod:`ecc_connectors.ledger`)
through the protocol alone: no SQL, no dump, nothing a second backend would not have. The checks run against
a **factory** (:class:`LedgerFactory`): ``fresh()`` opens a new ledger on new, empty storage, and ``reopen``,
when the backend can, opens a second instance on the storage of a given ledger, as another process would (the
checks of leases and of racing ``begin_action`` then use two instances; without it they race threads on one).

**With pytest** (no plugin needed): subclass :class:`LedgerContract` in a test module under a name pytest
collects, and provide a ``ledger_factory`` fixture; every check is a test method ``test_<check name>``. For
the built-in ledger, in memory and on a file::

    import itertools

    import pytest

    from ecc_connectors.ledger import SQLiteLedger
    from ecc_connectors.testing.ledger_suite import LedgerContract, LedgerFactory


    @pytest.fixture(params=["memory", "file"])
    def ledger_factory(request, tmp_path):
        if request.param == "memory":
            return LedgerFactory(fresh=SQLiteLedger)  # no second instance on one in-memory database
        paths = (tmp_path / f"ledger-{n}.db" for n in itertools.count())
        return LedgerFactory(
            fresh=lambda: SQLiteLedger(next(paths)),  # new, empty storage each time
            reopen=lambda ledger: SQLiteLedger(ledger.path),  # a second instance on the same file
        )


    class TestSQLiteLedger(LedgerContract):
        pass

For a server database (PostgreSQL), ``fresh`` creates a new database or schema each time, and ``reopen``
connects again to the one the given ledger uses.

Parametrised fixtures run the suite over several configurations, as above. A check that does not apply can be
switched off by overriding its method in the subclass (``pytest.mark.skip``).

**Without pytest:** :func:`ledger_checks` returns the same checks as named callables::

    for check in ledger_checks():
        check(factory)  # raises AssertionError naming the broken promise

The checks use ``assert``: do not run them under ``python -O`` (they refuse to).

:class:`SQLiteMigrationContract` and :func:`sqlite_migration_checks` are a SQLite-specific extra: files
written by schema versions 1 to 3 open with the current code, their data intact (fixtures ``sqlite_opener``,
a callable taking a path and returning the ledger, and pytest's ``tmp_path``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import attrs

from .._convert import fingerprint, snapshot_json
from .._errors import ActionInProgress, ConnectorError, PayloadError
from .._model import ChangeKind, Customer, FieldChange, Order, OrderLine, RawJSON, Totals
from .._outcomes import Tab
from ..ledger import (
    ActionRecord,
    HighWater,
    Ledger,
    PageBatch,
    RowWrite,
    SQLiteLedger,
    StoredOrder,
    UpdateWrite,
)
from ..ledger.sqlite import migrate

__all__ = [
    "LedgerCheck",
    "LedgerContract",
    "LedgerFactory",
    "SQLiteMigrationContract",
    "ledger_checks",
    "sqlite_migration_checks",
]

L = TypeVar("L", bound=Ledger)


@attrs.frozen
class LedgerFactory(Generic[L]):
    """How the suite opens ledgers of the implementation under test."""

    fresh: Callable[[], L]
    """A new ledger on new, empty storage, every call (a file in a temporary directory, a new schema...)."""
    reopen: Callable[[L], L] | None = None
    """Another instance on the same storage as the given ledger (which may be closed already), as a second
    process would open it; ``None`` when the backend cannot (an in-memory database)."""


@attrs.frozen
class LedgerCheck:
    """One check of the suite: ``check(factory)`` returns, or raises ``AssertionError`` naming the broken
    promise. ``family`` groups the checks of one part of the protocol."""

    name: str
    family: str
    run: Callable[[LedgerFactory[Any]], None]

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()

    def __call__(self, factory: LedgerFactory[Any]) -> None:
        self.run(factory)


def _need_asserts() -> None:
    if not __debug__:  # pragma: no cover - only under python -O
        raise RuntimeError("the ledger suite checks with assert: run it without python -O")


_CHECKS: list[LedgerCheck] = []


def _check(family: str) -> Callable[[Callable[[LedgerFactory[Any]], None]], Callable[[LedgerFactory[Any]], None]]:
    def register(run: Callable[[LedgerFactory[Any]], None]) -> Callable[[LedgerFactory[Any]], None]:
        _CHECKS.append(LedgerCheck(run.__name__.removeprefix("check_"), family, run))
        return run

    return register


def ledger_checks() -> tuple[LedgerCheck, ...]:
    """Every check of the suite, in a stable order (the methods of :class:`LedgerContract`)."""
    return tuple(_CHECKS)


# ---------------------------------------------------------------------------------------------------------
# Test data and helpers

STORE = "suite-store"
OTHER = "suite-other-store"
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def make_order(
    n: int,
    *,
    hours: float | None = None,
    updated: datetime | None = None,
    status: str = "processing",
    replaces: str | None = None,
    store: str = STORE,
) -> Order:
    """Order ``n`` of the suite: updated at ``T0 + hours`` (default ``n`` hours), with a raw payload."""
    stamp = updated if updated is not None else T0 + timedelta(hours=n if hours is None else hours)
    raw = RawJSON(f'{{"entity_id": {n}, "status": "{status}", "grand_total": 9.50, "name": "Zoë Ångström"}}')
    return Order(
        store=store,
        order_id=str(n),
        number=f"{n:09d}",
        status=status,
        created_at=T0,
        updated_at=stamp,
        currency="EUR",
        customer=Customer(name="Zoë Ångström", email=f"buyer{n}@example.com"),
        lines=(
            OrderLine(
                line_id="1", sku="SKU-1", name="Mug", quantity=Decimal("2"), unit_price=Decimal("4.75"),
                row_total=Decimal("9.50"),
            ),
        ),
        totals=Totals(subtotal=Decimal("9.50"), grand_total=Decimal("9.50")),
        replaces=replaces,
        raw=raw,
    )


def _row(n: int, tab: Tab = Tab.ORDERS, paid: bool = False, shipped: bool = False, **kw: Any) -> RowWrite:
    return RowWrite(make_order(n, **kw), tab, paid, shipped)


def _changes(path: str = "status") -> tuple[FieldChange, ...]:
    return (FieldChange(ChangeKind.STATUS, path, "processing", "changed"),)


def _raw(value: Any) -> Any:
    assert isinstance(value, RawJSON), f"a raw payload should come back as RawJSON, got {type(value).__name__}"
    return value.data()


class _Crash(Exception):
    """Raised by a poisoned part of a batch: a crash in the middle of a write."""


class _Poison:
    """Stands in for a part of a batch (a row, an update, a failure, a mark): reading any field it was not
    given raises :class:`_Crash`, as a crash would in the middle of writing it."""

    def __init__(self, what: str, **fields: Any) -> None:
        self.__dict__.update(fields)
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise _Crash(f"injected crash while reading {name!r} of {self._what}")


@contextmanager
def _fresh(factory: LedgerFactory[Any]) -> Iterator[Ledger]:
    _need_asserts()  # every check opens its ledgers here
    ledger: Ledger = factory.fresh()
    try:
        yield ledger
    finally:
        ledger.close()


@contextmanager
def _another(factory: LedgerFactory[Any], ledger: Ledger) -> Iterator[Ledger]:
    """A second instance on the same storage when the factory can open one, else the same instance."""
    if factory.reopen is None:
        yield ledger
        return
    other: Ledger = factory.reopen(ledger)
    try:
        yield other
    finally:
        other.close()


def _stored(stored: StoredOrder) -> tuple[Any, ...]:
    return (
        stored.order_id, stored.tab, stored.paid, stored.shipped, stored.fingerprint, stored.replaced_by,
        stored.dismissed, stored.updated_at, stored.order,
    )


def _visible(ledger: Ledger, store: str, ids: list[str]) -> dict[str, Any]:
    """Everything the protocol shows of a store's download state."""
    return {
        "high_water": ledger.high_water(store),
        "rows": {order_id: ledger.get(store, order_id) for order_id in ids},
        "seen": {order_id: _stored(s) for order_id, s in ledger.seen(store, ids).items()},
        "orders": [r.order_id for r in ledger.orders(store)],
        "ignore": [r.order_id for r in ledger.orders(store, Tab.IGNORE)],
        "updates": [(u.order_id, u.order, u.replaces, u.changes) for u in ledger.updates(store)],
        "failures": [(f.order_ref, f.field, f.problem) for f in ledger.failures(store)],
        "known_keys": ledger.known_keys(store),
        "phone_orders": [(p.reference, p.order_id) for p in ledger.phone_orders(store)],
    }


def _unchanged(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    for part, value in before.items():
        assert after[part] == value, f"{what}: {part} changed from {value!r} to {after[part]!r}"


def _crashes(call: Callable[[], object], what: str) -> None:
    try:
        call()
    except Exception:  # the poison's own _Crash, or the implementation's wrapping of it
        return
    raise AssertionError(f"{what}: the call returned although reading its argument raised")


# ---------------------------------------------------------------------------------------------------------
# Pages and the mark


@_check("commit_page")
def check_commit_page_writes_a_whole_page(factory: LedgerFactory[Any]) -> None:
    """A page's rows (in their tabs, with local state, fingerprint and raw payload), pending update, failure
    and mark are all there after ``commit_page``; a row written again keeps ``first_seen``; stores are
    apart."""
    with _fresh(factory) as ledger:
        one, two = make_order(1), make_order(2)
        changed = make_order(1, status="on_hold", hours=30)
        failure = PayloadError(STORE, "9", "total", "not a number", {"id": "9", "total": "nine"})
        mark = HighWater(T0 + timedelta(hours=2), "scope")
        ledger.commit_page(
            PageBatch(
                STORE, NOW,
                rows=[RowWrite(one, Tab.ORDERS, True, False), RowWrite(two, Tab.IGNORE, False, True)],
                updates=[UpdateWrite("1", changed, _changes())],
                failures=[failure],
                high_water=mark,
            )
        )
        record = ledger.get(STORE, "1")
        assert record is not None, "a row committed with its page is not there"
        assert (record.store, record.order_id, record.number, record.status, record.tab) == (
            STORE, "1", one.number, one.status, Tab.ORDERS,
        )
        assert (record.paid, record.shipped) == (True, False), "the row's local state was not kept"
        assert record.order == one, "the stored copy differs from the order written"
        assert record.fingerprint == fingerprint(one), "the stored fingerprint is not ecc_connectors.fingerprint"
        assert _raw(record.order.raw) == _raw(one.raw), "the raw payload was not kept"
        assert (record.first_seen, record.last_changed) == (NOW, NOW)
        assert (record.replaced_by, record.dismissed) == (None, None)
        ignored = ledger.get(STORE, "2")
        assert ignored is not None
        assert (ignored.tab, ignored.paid, ignored.shipped) == (Tab.IGNORE, False, True)
        assert [r.order_id for r in ledger.orders(STORE)] == ["1"]
        assert [r.order_id for r in ledger.orders(STORE, Tab.IGNORE)] == ["2"]

        pending = ledger.pending(STORE, "1")
        assert pending is not None, "the page's pending update is not there"
        assert (pending.store, pending.order_id, pending.order, pending.replaces) == (STORE, "1", changed, None)
        assert pending.changes == _changes()
        assert pending.detected_at == NOW
        assert _raw(pending.order.raw) == _raw(changed.raw)

        (recorded,) = ledger.failures(STORE)
        assert (recorded.store, recorded.order_ref, recorded.field, recorded.problem) == (
            STORE, "9", "total", "not a number",
        )
        assert _raw(recorded.raw) == {"id": "9", "total": "nine"}
        assert recorded.at == NOW
        assert ledger.high_water(STORE) == mark

        later = NOW + timedelta(hours=1)
        newer = make_order(1, status="complete", hours=40)
        ledger.commit_page(PageBatch(STORE, later, rows=[RowWrite(newer, Tab.ORDERS, True, True)]))
        again = ledger.get(STORE, "1")
        assert again is not None
        assert again.order == newer, "a row written again was not overwritten"
        assert (again.first_seen, again.last_changed) == (NOW, later), "first_seen must stay, last_changed move"
        assert (again.paid, again.shipped) == (True, True)

        assert ledger.get(OTHER, "1") is None, "a row leaked into another store"
        assert ledger.orders(OTHER) == []
        assert ledger.updates(OTHER) == []
        assert ledger.failures(OTHER) == []
        assert ledger.high_water(OTHER) is None


def _page_a() -> PageBatch:
    return PageBatch(
        STORE, NOW,
        rows=[_row(1), _row(2, Tab.IGNORE), _row(4, paid=True)],
        failures=[PayloadError(STORE, "5", "total", "not a number", {"id": "5"})],
        high_water=HighWater(T0 + timedelta(hours=2), "scope"),
    )


def _page_b() -> PageBatch:
    return PageBatch(
        STORE, NOW + timedelta(hours=1),
        rows=[
            _row(1, paid=True, shipped=True, status="complete", hours=20),
            _row(3),
            _row(5, Tab.IGNORE),  # clears the failure recorded for 5
            RowWrite(make_order(104, replaces="4"), Tab.ORDERS, True, False, supersedes="4"),
        ],
        updates=[UpdateWrite("2", make_order(2, status="canceled", hours=30), _changes())],
        failures=[PayloadError(STORE, "6", "total", "not a number", {"id": "6"})],
        high_water=HighWater(T0 + timedelta(hours=200), "scope"),
    )


_IDS = ["1", "2", "3", "4", "5", "6", "104"]


def _poisoned(batch: PageBatch, where: str) -> PageBatch:
    if where == "its mark":
        return attrs.evolve(batch, high_water=cast(HighWater, _Poison(where)))
    if where == "its last row":
        return attrs.evolve(batch, rows=[*batch.rows, cast(RowWrite, _Poison(where))])
    if where == "its last update":
        return attrs.evolve(batch, updates=[*batch.updates, cast(UpdateWrite, _Poison(where))])
    assert where == "its last failure"
    return attrs.evolve(batch, failures=[*batch.failures, cast(PayloadError, _Poison(where))])


@_check("commit_page")
def check_commit_page_is_atomic(factory: LedgerFactory[Any]) -> None:
    """A crash inside ``commit_page`` (here: reading a part of the batch raises, wherever the implementation
    reads it) leaves nothing of the page, its mark included; the ledger stays usable and the same page then
    commits whole."""
    for where in ("its mark", "its last row", "its last update", "its last failure"):
        with _fresh(factory) as ledger:
            ledger.commit_page(_page_a())
            before = _visible(ledger, STORE, _IDS)
            _crashes(partial(ledger.commit_page, _poisoned(_page_b(), where)), f"commit_page crashing at {where}")
            _unchanged(before, _visible(ledger, STORE, _IDS), f"a page that crashed at {where}")

            ledger.commit_page(_page_b())
            after = _visible(ledger, STORE, _IDS)
            assert after["high_water"] == HighWater(T0 + timedelta(hours=200), "scope")
            assert after["orders"] == ["3", "1", "104"], after["orders"]
            assert after["ignore"] == ["2", "5"], after["ignore"]
            assert after["failures"] == [("6", "total", "not a number")], after["failures"]
            assert [u[0] for u in after["updates"]] == ["2"]
            replaced = after["rows"]["4"]
            assert replaced is not None
            assert replaced.replaced_by == "104"


@_check("resume")
def check_mark_moves_only_with_its_page(factory: LedgerFactory[Any]) -> None:
    """The high-water mark is the one the store's latest committed page carried: a page without a mark keeps
    it, another store's mark is apart, a page that crashed leaves it where it was (so the page is read again),
    and a mark is stored as given (another scope, an earlier stamp, microseconds)."""
    with _fresh(factory) as ledger:
        assert ledger.high_water(STORE) is None
        first = HighWater(T0 + timedelta(hours=1), "scope-a")
        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(1)], high_water=first))
        assert ledger.high_water(STORE) == first
        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(2)]))
        assert ledger.high_water(STORE) == first, "a page without a mark moved it"
        theirs = HighWater(T0 + timedelta(hours=50), "x")
        ledger.commit_page(PageBatch(OTHER, NOW, rows=[_row(50, store=OTHER)], high_water=theirs))
        assert (ledger.high_water(STORE), ledger.high_water(OTHER)) == (first, theirs), "marks of two stores mixed"

        third = HighWater(T0 + timedelta(hours=3), "scope-a")

        def page_three() -> PageBatch:
            return PageBatch(
                STORE, NOW, rows=[_row(3)], updates=[UpdateWrite("1", make_order(1, hours=9), _changes())],
                failures=[PayloadError(STORE, "7", "total", "bad", {"id": "7"})], high_water=third,
            )

        for where in ("its last row", "its last update", "its last failure"):
            _crashes(partial(ledger.commit_page, _poisoned(page_three(), where)), f"commit_page crashing at {where}")
            assert ledger.high_water(STORE) == first, f"the mark moved without its page (crash at {where})"
            assert ledger.get(STORE, "3") is None, f"a row of a crashed page is there (crash at {where})"

        ledger.commit_page(page_three())  # the next run reads the page again, from the old mark
        assert ledger.high_water(STORE) == third
        assert ledger.get(STORE, "3") is not None

        back_fill = HighWater(T0 - timedelta(days=30), "scope-b")
        ledger.commit_page(PageBatch(STORE, NOW, high_water=back_fill))
        assert ledger.high_water(STORE) == back_fill, "a mark must be stored as given (the engine decides)"
        precise = HighWater(T0 + timedelta(hours=5, microseconds=250), "scope-b")
        ledger.commit_page(PageBatch(STORE, NOW, high_water=precise))
        stored = ledger.high_water(STORE)
        assert stored is not None
        assert stored == precise, f"{stored!r} != {precise!r}"
        assert stored.mark.tzinfo is not None


# ---------------------------------------------------------------------------------------------------------
# What the ledger knows


@_check("seen")
def check_seen_returns_rows_with_their_stored_stamp(factory: LedgerFactory[Any]) -> None:
    """``seen`` returns the rows asked for (any tab, replaced ones included; absent ids left out, repeats
    answered once), each with its own copy's fingerprint, state and store ``updated_at`` (never a pending
    update's), for a thousand ids and more."""
    with _fresh(factory) as ledger:
        precise = T0 + timedelta(hours=1, microseconds=250)
        one = make_order(1, updated=precise)
        ledger.commit_page(
            PageBatch(
                STORE, NOW,
                rows=[RowWrite(one, Tab.ORDERS, True, False), _row(2, Tab.IGNORE, shipped=True), _row(3)],
            )
        )
        ledger.commit_page(
            PageBatch(STORE, NOW, rows=[RowWrite(make_order(103, replaces="3"), Tab.ORDERS, False, False,
                                                 supersedes="3")])
        )
        newer = make_order(1, status="on_hold", hours=90)
        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("1", newer, _changes())]))

        found = ledger.seen(STORE, ["1", "2", "3", "103", "404", "1"])
        assert sorted(found) == ["1", "103", "2", "3"], sorted(found)
        first = found["1"]
        assert (first.order_id, first.tab, first.paid, first.shipped) == ("1", Tab.ORDERS, True, False)
        assert first.fingerprint == fingerprint(one)
        assert first.updated_at == precise, f"seen gave {first.updated_at!r}, the row's copy was {precise!r}"
        assert first.updated_at.tzinfo is not None
        assert first.order == one
        assert first.order.updated_at == first.updated_at
        assert (first.replaced_by, first.dismissed) == (None, None)
        assert (found["2"].tab, found["2"].shipped) == (Tab.IGNORE, True)
        assert found["3"].replaced_by == "103", "a replaced row must be seen, with replaced_by"
        assert found["103"].replaced_by is None
        assert ledger.seen(STORE, []) == {}
        assert ledger.seen(OTHER, ["1"]) == {}

        assert ledger.dismiss_update(STORE, "1")
        assert ledger.seen(STORE, ["1"])["1"].dismissed == fingerprint(newer)

        many = [_row(n) for n in range(1000, 2200)]
        ledger.commit_page(PageBatch(STORE, NOW, rows=many))
        wanted = [str(n) for n in range(900, 2300)]
        big = ledger.seen(STORE, wanted)
        assert len(big) == 1200, f"seen over {len(wanted)} ids found {len(big)} of 1200 rows"
        assert big["2199"].updated_at == T0 + timedelta(hours=2199)


@_check("known_keys")
def check_known_keys_reports_the_newest_copy(factory: LedgerFactory[Any]) -> None:
    """``known_keys`` reports every row not replaced with the stamp of the newest copy the ledger holds
    (a pending update's when newer), an edited order waiting as a replacement under its own id too, and keeps
    ``start <= stamp <= end`` (inclusive, instants, sub-second) when a window is given."""
    with _fresh(factory) as ledger:
        rows = [_row(n, Tab.ORDERS if n % 2 else Tab.IGNORE) for n in range(1, 7)]
        half_second = T0 + timedelta(hours=7, milliseconds=500)
        rows.append(RowWrite(make_order(7, updated=half_second), Tab.ORDERS, False, False))
        ledger.commit_page(PageBatch(STORE, NOW, rows=rows))
        ledger.commit_page(PageBatch(OTHER, NOW, rows=[_row(50, store=OTHER)]))
        ledger.commit_page(
            PageBatch(
                STORE, NOW,
                updates=[
                    UpdateWrite("2", make_order(2, status="canceled", hours=10), _changes()),  # newer copy
                    UpdateWrite("3", make_order(103, replaces="3"), _changes("lines"), replaces="3"),
                    UpdateWrite("4", make_order(4, status="on_hold", hours=0), _changes()),  # not newer
                ],
            )
        )
        ledger.commit_page(
            PageBatch(STORE, NOW, rows=[RowWrite(make_order(106), Tab.ORDERS, False, False, supersedes="6")])
        )
        at = {n: T0 + timedelta(hours=n) for n in (1, 4, 5, 10, 103, 106)}
        expected = {
            "1": at[1], "2": at[10], "3": at[103], "103": at[103], "4": at[4], "5": at[5], "7": half_second,
            "106": at[106],
        }
        keys = ledger.known_keys(STORE)
        assert keys == expected, f"known_keys: {keys!r}, expected {expected!r}"
        assert ledger.known_keys(STORE, T0 + timedelta(hours=1), T0 + timedelta(hours=4)) == {"1": at[1], "4": at[4]}
        assert ledger.known_keys(STORE, T0 + timedelta(hours=2), T0 + timedelta(hours=2)) == {}, (
            "order 2 is known at hour 10 (its pending copy), not at its row's hour 2"
        )
        assert ledger.known_keys(STORE, T0 + timedelta(hours=10), T0 + timedelta(hours=10)) == {"2": at[10]}
        assert set(ledger.known_keys(STORE, None, T0 + timedelta(hours=5))) == {"1", "4", "5"}
        assert set(ledger.known_keys(STORE, T0 + timedelta(hours=100), None)) == {"3", "103", "106"}
        assert "7" not in ledger.known_keys(STORE, T0 + timedelta(hours=7), T0 + timedelta(hours=7))
        assert ledger.known_keys(STORE, half_second, half_second) == {"7": half_second}
        assert ledger.known_keys(OTHER) == {"50": T0 + timedelta(hours=50)}
        assert ledger.known_keys("no-such-store") == {}

        ledger.accept_update(STORE, "2", NOW)
        ledger.dismiss_update(STORE, "4")
        keys = ledger.known_keys(STORE)
        assert (keys["2"], keys["4"]) == (at[10], at[4]), "after accepting 2 and dismissing 4"


# ---------------------------------------------------------------------------------------------------------
# Updates, failures, local state


@_check("updates")
def check_a_replacement_update_wins_over_a_plain_one(factory: LedgerFactory[Any]) -> None:
    """A replacement's pending update (an edited order that is a new entity) is never overwritten by a plain
    update of the same row, whichever comes first; accepting it makes the new entity a row with the old row's
    tab and local state, and the old row records ``replaced_by``."""
    for replacement_first in (True, False):
        with _fresh(factory) as ledger:
            ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(3, Tab.IGNORE, paid=True, shipped=True)]))
            plain = UpdateWrite("3", make_order(3, status="canceled", hours=20), _changes())
            replacement = UpdateWrite("3", make_order(103, replaces="3"), _changes("lines"), replaces="3")
            for update in (replacement, plain) if replacement_first else (plain, replacement):
                ledger.commit_page(PageBatch(STORE, NOW, updates=[update]))
            (pending,) = ledger.updates(STORE)
            order = "replacement first" if replacement_first else "plain first"
            assert (pending.order_id, pending.order.order_id, pending.replaces) == ("3", "103", "3"), (
                f"{order}: the pending update is {pending.order.order_id} replacing {pending.replaces}"
            )
            assert [c.path for c in pending.changes] == ["lines"]

            later = NOW + timedelta(hours=1)
            accepted = ledger.accept_update(STORE, "3", later)
            assert accepted.order_id == "103"
            assert (accepted.tab, accepted.paid, accepted.shipped) == (Tab.IGNORE, True, True)
            assert accepted.first_seen == NOW, "the new entity keeps the old row's first_seen"
            assert accepted.last_changed == later
            old = ledger.get(STORE, "3")
            assert old is not None
            assert old.replaced_by == "103"
            assert [r.order_id for r in ledger.orders(STORE, Tab.IGNORE)] == ["103"]
            assert ledger.updates(STORE) == []
            assert ledger.pending(STORE, "3") is None


@_check("updates")
def check_accept_and_dismiss(factory: LedgerFactory[Any]) -> None:
    """Pending updates come by row id; accepting a plain one overwrites the row's copy and keeps tab, local
    state and ``first_seen``; dismissing keeps the copy and records the dismissed copy's fingerprint; both
    raise ``KeyError`` (changing nothing) when there is nothing to accept."""
    with _fresh(factory) as ledger:
        ledger.commit_page(
            PageBatch(STORE, NOW, rows=[_row(1), _row(2, Tab.IGNORE, paid=True), _row(3)])
        )
        changed = {n: make_order(n, status="on_hold", hours=50 + n) for n in (1, 2, 3)}
        ledger.commit_page(
            PageBatch(STORE, NOW, updates=[UpdateWrite(str(n), changed[n], _changes()) for n in (3, 1, 2)])
        )
        assert [u.order_id for u in ledger.updates(STORE)] == ["1", "2", "3"], "updates must come by order_id"
        one = ledger.pending(STORE, "2")
        assert one is not None
        assert (one.order, one.replaces) == (changed[2], None)
        assert ledger.pending(STORE, "9") is None

        later = NOW + timedelta(hours=1)
        accepted = ledger.accept_update(STORE, "2", later)
        assert accepted.order == changed[2], "accepting must take the pending copy"
        assert _raw(accepted.order.raw) == _raw(changed[2].raw)
        assert (accepted.order_id, accepted.tab, accepted.paid, accepted.shipped) == ("2", Tab.IGNORE, True, False)
        assert (accepted.first_seen, accepted.last_changed) == (NOW, later)
        assert accepted.fingerprint == fingerprint(changed[2])
        assert ledger.get(STORE, "2") == accepted
        assert ledger.pending(STORE, "2") is None

        assert ledger.dismiss_update(STORE, "1") is True
        kept = ledger.get(STORE, "1")
        assert kept is not None
        assert kept.order == make_order(1), "dismissing must keep the downloaded copy"
        assert kept.dismissed == fingerprint(changed[1]), "the dismissed copy's fingerprint was not recorded"
        assert ledger.pending(STORE, "1") is None
        assert ledger.dismiss_update(STORE, "1") is False
        assert ledger.dismiss_update(STORE, "404") is False
        try:
            ledger.accept_update(STORE, "1", later)
        except KeyError:
            pass
        else:
            raise AssertionError("accept_update without a pending update must raise KeyError")

        # A pending update whose row is missing: KeyError, and the update stays.
        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("77", make_order(77), _changes())]))
        try:
            ledger.accept_update(STORE, "77", later)
        except KeyError:
            pass
        else:
            raise AssertionError("accept_update of a row not in the ledger must raise KeyError")
        assert ledger.pending(STORE, "77") is not None, "a refused accept_update changed something"
        assert [u.order_id for u in ledger.updates(STORE)] == ["3", "77"]


@_check("failures")
def check_failures_clear_when_the_order_reads(factory: LedgerFactory[Any]) -> None:
    """A failure keeps the raw payload (amounts exact, odd values as text), one per (order, field, problem);
    it stays until the order is written as a row (matched by id or number), also when the row and the failure
    come in one page; other stores keep theirs."""
    with _fresh(factory) as ledger:
        raw = {"id": "4", "total": "four", "nested": {"amount": Decimal("1.10")}}
        error = PayloadError(STORE, "4", "total", "not a number", raw)
        by_number = PayloadError(STORE, "000000005", "lines", "missing", {"id": "5"})
        nameless = PayloadError(STORE, None, "entity_id", "missing", {"oops": True})
        theirs = PayloadError(OTHER, "4", "total", "not a number", raw)
        ledger.commit_page(PageBatch(STORE, NOW, failures=[error, by_number, nameless, error]))
        ledger.commit_page(PageBatch(OTHER, NOW, failures=[theirs]))
        recorded = ledger.failures(STORE)
        assert len(recorded) == 3, f"{len(recorded)} failures recorded for 3 distinct ones"
        by_ref = {f.order_ref: f for f in recorded}
        assert set(by_ref) == {None, "4", "000000005"}
        four = by_ref["4"]
        assert (four.store, four.field, four.problem, four.at) == (STORE, "total", "not a number", NOW)
        assert _raw(four.raw) == {"id": "4", "total": "four", "nested": {"amount": "1.10"}}
        assert [f.order_ref for f in recorded if f.order_ref is not None] == ["000000005", "4"], (
            "failures must come by order_ref"
        )

        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(4), _row(5)]))
        assert [f.order_ref for f in ledger.failures(STORE)] == [None], (
            "failures of orders that now read must be cleared (by id and by number)"
        )
        assert len(ledger.failures(OTHER)) == 1, "a row of one store cleared another store's failure"

        again = PayloadError(STORE, "8", "total", "not a number", {"id": "8"})
        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(8)], failures=[again]))
        assert "8" in {f.order_ref for f in ledger.failures(STORE)}, (
            "a failure committed with a row of its order is recorded after the row, so it stays"
        )


@_check("tabs")
def check_local_state_and_refresh(factory: LedgerFactory[Any]) -> None:
    """``orders`` lists a tab oldest update first (ties by id), replaced rows left out; ``set_local_state``
    sets only what it is given; ``refresh`` takes our own post-back's answer as the copy (tab and state kept),
    but not over a pending update nor for an unknown order."""
    with _fresh(factory) as ledger:
        tie = T0 + timedelta(hours=1)
        ledger.commit_page(
            PageBatch(
                STORE, NOW,
                rows=[_row(3), RowWrite(make_order(12, updated=tie), Tab.ORDERS, False, False), _row(1),
                      _row(2, Tab.IGNORE), _row(6)],
            )
        )
        ledger.commit_page(
            PageBatch(STORE, NOW, rows=[RowWrite(make_order(106), Tab.ORDERS, False, False, supersedes="6")])
        )
        assert [r.order_id for r in ledger.orders(STORE)] == ["1", "12", "3", "106"], (
            "orders() must list oldest updated_at first, ties by order_id, replaced rows left out"
        )
        assert [r.order_id for r in ledger.orders(STORE, Tab.IGNORE)] == ["2"]
        assert ledger.get(STORE, "6") is not None, "a replaced row must still be readable with get()"

        ledger.set_local_state(STORE, "3", paid=True)
        record = ledger.get(STORE, "3")
        assert record is not None
        assert (record.paid, record.shipped) == (True, False)
        ledger.set_local_state(STORE, "3", shipped=True)
        ledger.set_local_state(STORE, "3")
        record = ledger.get(STORE, "3")
        assert record is not None
        assert (record.paid, record.shipped) == (True, True), "set_local_state changed a flag it was not given"
        assert record.order == make_order(3)
        ledger.set_local_state(STORE, "404", paid=True)  # no error
        assert ledger.get(STORE, "404") is None

        later = NOW + timedelta(hours=2)
        shipped = make_order(3, status="complete", hours=30)
        assert ledger.refresh(STORE, shipped, later) is True
        record = ledger.get(STORE, "3")
        assert record is not None
        assert record.order == shipped
        assert (record.tab, record.paid, record.shipped, record.first_seen, record.last_changed) == (
            Tab.ORDERS, True, True, NOW, later,
        )
        assert record.fingerprint == fingerprint(shipped)
        assert ledger.known_keys(STORE)["3"] == shipped.updated_at

        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("1", make_order(1, hours=40), _changes())]))
        assert ledger.refresh(STORE, make_order(1, status="complete", hours=41), later) is False, (
            "refresh must not overwrite a row whose update the user has not seen"
        )
        record = ledger.get(STORE, "1")
        assert record is not None
        assert record.order == make_order(1)
        assert ledger.refresh(STORE, make_order(404), later) is False
        assert ledger.get(STORE, "404") is None

        ledger.commit_page(PageBatch(STORE, NOW, updates=[UpdateWrite("12", make_order(12, hours=40), _changes())]))
        ledger.dismiss_update(STORE, "12")
        assert ledger.refresh(STORE, make_order(12, status="complete", hours=42), later) is True
        record = ledger.get(STORE, "12")
        assert record is not None
        assert record.dismissed is None, "a refreshed copy clears the dismissed fingerprint"


# ---------------------------------------------------------------------------------------------------------
# Actions

SHIP = {"tracking": ["1Z-SECRET-BODY"]}


@_check("actions")
def check_an_action_runs_once_and_logs_every_attempt(factory: LedgerFactory[Any]) -> None:
    """A new action goes (attempt 1); a failed one is taken over at once as the next attempt (the log says
    after what); a done one does not go again and returns its result; every attempt is on the log, and
    ``actions`` lists the rows oldest first, per store and per order."""
    with _fresh(factory) as ledger:
        first, go = ledger.begin_action(STORE, "1", "ship", "ship:1", SHIP, NOW, owner="p1")
        assert go, "a new action must go"
        assert (first.store, first.order_id, first.kind, first.key, first.request) == (
            STORE, "1", "ship", "ship:1", SHIP,
        )
        assert (first.state, first.attempts, first.resumed, first.owner) == ("started", 1, False, "p1")
        assert (first.result, first.error, first.finished_at, first.checkpoint) == (None, None, None, None)
        assert first.started_at == NOW
        assert first.lease_until == NOW + timedelta(minutes=5)
        assert first.log == ({"attempt": 1, "owner": "p1", "started": NOW.isoformat()},)

        failed = ledger.finish_action(first.id, ok=False, error="TransportError: timeout", now=NOW, owner="p1")
        assert (failed.state, failed.error, failed.lease_until, failed.finished_at) == (
            "failed", "TransportError: timeout", None, NOW,
        )
        assert (failed.log[0]["ok"], failed.log[0]["error"], failed.log[0]["finished"]) == (
            False, "TransportError: timeout", NOW.isoformat(),
        )

        soon = NOW + timedelta(seconds=1)
        second, go = ledger.begin_action(STORE, "1", "ship", "ship:1", SHIP, soon, owner="p1")
        assert go, "a failed action must be taken over at once, even within the old lease"
        assert second.id == first.id
        assert (second.attempts, second.resumed, second.error, second.state) == (2, True, None, "started")
        assert second.log[1] == {
            "attempt": 2, "owner": "p1", "started": soon.isoformat(), "after": "failed: TransportError: timeout",
        }

        done = ledger.finish_action(
            second.id, ok=True, result={"shipment_id": "S1"}, now=soon, note="no shipment yet: created one",
            owner="p1",
        )
        assert (done.state, done.result, done.error, done.lease_until) == ("done", {"shipment_id": "S1"}, None, None)
        assert done.log[1] == {**second.log[1], "finished": soon.isoformat(), "ok": True,
                               "note": "no shipment yet: created one"}
        assert done.log[0] == failed.log[0]

        third, go = ledger.begin_action(STORE, "1", "ship", "ship:1", SHIP, NOW + timedelta(hours=1), owner="p2")
        assert not go, "a done action must not go again"
        assert (third.result, third.attempts, third.state) == ({"shipment_id": "S1"}, 2, "done")
        assert third.log == done.log, "a caller that did not go must write nothing"

        ledger.begin_action(STORE, "2", "acknowledge", "ack:2", {}, NOW, owner="p1")
        ledger.begin_action(STORE, "1", "invoice", "inv:1", {}, NOW, owner="p1")
        ledger.begin_action(OTHER, "1", "ship", "ship:1", SHIP, NOW, owner="p1")  # another store, same key
        assert [a.key for a in ledger.actions(STORE)] == ["ship:1", "ack:2", "inv:1"]
        assert [a.key for a in ledger.actions(STORE, "1")] == ["ship:1", "inv:1"]
        assert [a.state for a in ledger.actions(OTHER)] == ["started"]


@_check("actions")
def check_a_live_lease_refuses_and_an_expired_one_is_taken_over(factory: LedgerFactory[Any]) -> None:
    """While the holder's lease runs, another caller (a second instance on the same storage when the factory
    can open one) gets ``ActionInProgress`` naming kind, order, holder and lease end but never the request,
    and nothing is written; once the lease expired it takes the action over, and the first holder coming back
    later finds the result."""
    with _fresh(factory) as first, _another(factory, first) as second:
        mine, go = first.begin_action(STORE, "7", "ship", "ship:7", SHIP, NOW, owner="worker-a")
        assert go
        until = NOW + timedelta(minutes=5)
        busy: ActionInProgress | None = None
        try:
            second.begin_action(STORE, "7", "ship", "ship:7", SHIP, NOW + timedelta(minutes=4), owner="worker-b")
        except ActionInProgress as exc:
            busy = exc
        assert busy is not None, "begin_action under a live lease must raise ActionInProgress"
        assert isinstance(busy, ConnectorError)
        assert (busy.key, busy.owner, busy.lease_until) == ("ship:7", "worker-a", until)
        message = str(busy)
        assert "ship" in message
        assert "7" in message
        assert until.isoformat() in message
        assert "SECRET" not in message, "ActionInProgress must not show the request"
        (row,) = first.actions(STORE, "7")
        assert (row.owner, row.attempts, row.log, row.lease_until) == ("worker-a", 1, mine.log, until), (
            "a refused begin_action wrote something"
        )

        later = NOW + timedelta(minutes=6)
        taken, go = second.begin_action(STORE, "7", "ship", "ship:7", SHIP, later, owner="worker-b")
        assert go, "an expired lease must be taken over"
        assert taken.id == mine.id
        assert (taken.state, taken.owner, taken.attempts, taken.resumed) == ("started", "worker-b", 2, True)
        assert taken.lease_until == later + timedelta(minutes=5)
        assert taken.log[0] == mine.log[0]
        assert taken.log[1] == {
            "attempt": 2, "owner": "worker-b", "started": later.isoformat(),
            "after": f"lease of worker-a expired at {until.isoformat()}",
        }
        done = second.finish_action(taken.id, ok=True, result={"shipment_id": "S1"}, now=later, owner="worker-b")
        assert done.state == "done"

        again, go = first.begin_action(STORE, "7", "ship", "ship:7", SHIP, later + timedelta(minutes=1), owner="a2")
        assert not go
        assert (again.result, again.attempts) == ({"shipment_id": "S1"}, 2)

        short, go = first.begin_action(
            STORE, "8", "cancel", "cancel:8", {}, NOW, owner="a", lease=timedelta(seconds=30)
        )
        assert go
        assert short.lease_until == NOW + timedelta(seconds=30), "the lease given must be used"
        _, go = second.begin_action(STORE, "8", "cancel", "cancel:8", {}, NOW + timedelta(seconds=31), owner="b")
        assert go, "a 30-second lease must have expired after 31 seconds"


@_check("actions")
def check_a_late_finish_does_not_overwrite_the_new_holder(factory: LedgerFactory[Any]) -> None:
    """A holder that finishes after losing its lease (``owner`` given) leaves the new holder's state and adds
    a ``late`` log entry with its outcome; the new holder then finishes its own attempt."""
    with _fresh(factory) as slow, _another(factory, slow) as fresh:
        first, _ = slow.begin_action(
            STORE, "3", "cancel", "cancel:3", {}, NOW, owner="slow", lease=timedelta(seconds=30)
        )
        later = NOW + timedelta(minutes=1)
        taken, go = fresh.begin_action(STORE, "3", "cancel", "cancel:3", {}, later, owner="fresh")
        assert go
        stale = slow.finish_action(
            first.id, ok=True, result={"state": "canceled"}, now=later + timedelta(seconds=1),
            note="order was open", owner="slow",
        )
        assert (stale.state, stale.owner, stale.result, stale.finished_at) == ("started", "fresh", None, None), (
            "a holder that lost its lease overwrote the new holder's state"
        )
        assert stale.lease_until == taken.lease_until
        assert stale.log[:2] == taken.log
        assert len(stale.log) == 3, "the late finish must be logged"
        late = stale.log[2]
        assert (late["attempt"], late["owner"], late["ok"], late["note"]) == (1, "slow", True, "order was open")
        assert late["result"] == {"state": "canceled"}
        assert "fresh" in late["late"]

        done = fresh.finish_action(
            taken.id, ok=True, result={"state": "canceled"}, now=later + timedelta(seconds=2),
            note="already canceled in the store", owner="fresh",
        )
        assert (done.state, done.owner, done.result) == ("done", "fresh", {"state": "canceled"})
        assert len(done.log) == 3
        assert (done.log[1]["note"], done.log[1]["owner"]) == ("already canceled in the store", "fresh")
        assert done.log[2] == late


@_check("actions")
def check_a_checkpoint_survives_for_the_next_attempt(factory: LedgerFactory[Any]) -> None:
    """A checkpoint replaces the previous one and is read back by a later attempt (after a take-over, on
    another instance) and after finishing; unknown action ids raise ``KeyError``."""
    with _fresh(factory) as ledger:
        action, _ = ledger.begin_action(STORE, "PH-1", "create_order", "create:PH-1", {}, NOW, owner="a")
        assert action.checkpoint is None
        ledger.checkpoint_action(action.id, "cart:41")
        ledger.checkpoint_action(action.id, "cart:42")
        (row,) = ledger.actions(STORE)
        assert row.checkpoint == "cart:42"
        with _another(factory, ledger) as other:  # the holder crashed; another process comes along later
            resumed, go = other.begin_action(
                STORE, "PH-1", "create_order", "create:PH-1", {}, NOW + timedelta(hours=1), owner="b"
            )
            assert go
            assert resumed.resumed
            assert resumed.checkpoint == "cart:42", "a checkpoint must survive a take-over"
            done = other.finish_action(resumed.id, ok=True, result={"order_id": "900"}, now=NOW, owner="b")
            assert done.checkpoint == "cart:42"
            for call in (
                lambda: other.checkpoint_action(987_654, "cart:1"),
                lambda: other.finish_action(987_654, ok=True, now=NOW),
            ):
                try:
                    call()
                except KeyError:
                    pass
                else:
                    raise AssertionError("an unknown action id must raise KeyError")


@_check("race")
def check_racing_begin_action_exactly_one_goes(factory: LedgerFactory[Any]) -> None:
    """Callers racing on one key (each on its own instance of the same storage when the factory can open
    them, else threads sharing one instance) are served one after the other: exactly one goes, the others
    get ``ActionInProgress``, and the row holds one attempt."""
    racers = 4
    with _fresh(factory) as ledger:
        extra: list[Ledger] = []
        try:
            if factory.reopen is not None:
                extra = [factory.reopen(ledger) for _ in range(racers - 1)]
            handles = [ledger, *extra] if extra else [ledger] * racers
            for round_ in range(3):
                key = f"ship:race-{round_}"
                barrier = threading.Barrier(racers)
                outcomes: list[str] = []
                lock = threading.Lock()

                def race(n: int, key: str = key, barrier: threading.Barrier = barrier,
                         outcomes: list[str] = outcomes, lock: threading.Lock = lock) -> None:
                    barrier.wait()
                    try:
                        _, go = handles[n].begin_action(STORE, "5", "ship", key, {"n": 1}, NOW, owner=f"racer-{n}")
                        outcome = "go" if go else "skip"
                    except ActionInProgress:
                        outcome = "busy"
                    except Exception as exc:  # any other error is a broken promise too
                        outcome = f"error: {exc!r}"
                    with lock:
                        outcomes.append(outcome)

                threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
                assert sorted(outcomes) == ["busy"] * (racers - 1) + ["go"], (
                    f"{racers} callers raced begin_action on one key: {sorted(outcomes)}"
                )
                rows = [a for a in ledger.actions(STORE) if a.key == key]
                assert len(rows) == 1
                assert (rows[0].attempts, len(rows[0].log)) == (1, 1), "the race left more than one attempt"
        finally:
            for other in extra:
                other.close()


# ---------------------------------------------------------------------------------------------------------
# Phone orders and threads


@_check("phone_orders")
def check_a_phone_order_and_its_row_are_written_together(factory: LedgerFactory[Any]) -> None:
    """``record_phone_order`` records the reference and writes the created order's row in one transaction
    (a crash leaves neither); a reference recorded again is replaced, ``created_at`` kept; phone orders come
    oldest first."""
    with _fresh(factory) as ledger:
        created = make_order(900)
        torn = cast(RowWrite, _Poison("the created order's row", order=created))
        _crashes(
            lambda: ledger.record_phone_order(STORE, "PH-1", {"lines": 1}, torn, NOW),
            "record_phone_order crashing while writing its row",
        )
        assert ledger.phone_order(STORE, "PH-1") is None, "a phone order was recorded without its row"
        assert ledger.get(STORE, "900") is None, "the row of a phone order that crashed is there"

        ledger.record_phone_order(STORE, "PH-1", {"lines": 1}, RowWrite(created, Tab.ORDERS, True, False), NOW)
        recorded = ledger.phone_order(STORE, "PH-1")
        assert recorded is not None
        assert (recorded.store, recorded.reference, recorded.order_id, recorded.number, recorded.payload) == (
            STORE, "PH-1", "900", created.number, {"lines": 1},
        )
        assert recorded.created_at == NOW
        row = ledger.get(STORE, "900")
        assert row is not None, "the phone order's row is not there"
        assert (row.order, row.tab, row.paid) == (created, Tab.ORDERS, True)
        assert "900" in ledger.seen(STORE, ["900"])
        assert ledger.phone_order(STORE, "PH-2") is None
        assert ledger.phone_order(OTHER, "PH-1") is None

        ledger.record_phone_order(
            STORE, "PH-0", {"lines": 2}, RowWrite(make_order(901), Tab.ORDERS, False, False),
            NOW + timedelta(minutes=1),
        )
        ledger.record_phone_order(
            STORE, "PH-1", {"lines": 3}, RowWrite(make_order(902), Tab.ORDERS, False, False),
            NOW + timedelta(minutes=2),
        )
        listed = ledger.phone_orders(STORE)
        assert [(p.reference, p.order_id, p.payload) for p in listed] == [
            ("PH-1", "902", {"lines": 3}), ("PH-0", "901", {"lines": 2}),
        ], "phone_orders: one record per reference, oldest created_at first"
        assert listed[0].created_at == NOW, "recording a reference again keeps its created_at"
        assert ledger.phone_orders(OTHER) == []


@_check("threads")
def check_threads_can_share_one_ledger(factory: LedgerFactory[Any]) -> None:
    """Calls from several threads at once on one instance (pages committed while others read and run
    actions) all succeed and all land."""
    with _fresh(factory) as ledger:
        errors: list[str] = []

        def write(start: int) -> None:
            try:
                for n in range(start, start + 15):
                    ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(n)]))
                    ledger.seen(STORE, [str(n)])
                    ledger.known_keys(STORE)
                    action, go = ledger.begin_action(STORE, str(n), "ack", f"ack:{n}", {}, NOW, owner=f"t{start}")
                    if go:
                        ledger.finish_action(action.id, ok=True, now=NOW)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == [], f"calls from other threads failed: {errors[:3]}"
        assert len(ledger.orders(STORE)) == 60
        assert len(ledger.actions(STORE)) == 60
        assert all(a.state == "done" for a in ledger.actions(STORE))


# ---------------------------------------------------------------------------------------------------------
# pytest


class LedgerContract:
    """The checks of :func:`ledger_checks` as pytest test methods.

    Subclass it under a name pytest collects (``class TestMyLedger(LedgerContract): pass``) in a module that
    provides a ``ledger_factory`` fixture returning a :class:`LedgerFactory`. Each method runs one check;
    override a method to skip it.
    """

    def test_commit_page_writes_a_whole_page(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_commit_page_writes_a_whole_page(ledger_factory)

    def test_commit_page_is_atomic(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_commit_page_is_atomic(ledger_factory)

    def test_mark_moves_only_with_its_page(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_mark_moves_only_with_its_page(ledger_factory)

    def test_seen_returns_rows_with_their_stored_stamp(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_seen_returns_rows_with_their_stored_stamp(ledger_factory)

    def test_known_keys_reports_the_newest_copy(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_known_keys_reports_the_newest_copy(ledger_factory)

    def test_a_replacement_update_wins_over_a_plain_one(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_replacement_update_wins_over_a_plain_one(ledger_factory)

    def test_accept_and_dismiss(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_accept_and_dismiss(ledger_factory)

    def test_failures_clear_when_the_order_reads(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_failures_clear_when_the_order_reads(ledger_factory)

    def test_local_state_and_refresh(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_local_state_and_refresh(ledger_factory)

    def test_an_action_runs_once_and_logs_every_attempt(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_an_action_runs_once_and_logs_every_attempt(ledger_factory)

    def test_a_live_lease_refuses_and_an_expired_one_is_taken_over(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_live_lease_refuses_and_an_expired_one_is_taken_over(ledger_factory)

    def test_a_late_finish_does_not_overwrite_the_new_holder(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_late_finish_does_not_overwrite_the_new_holder(ledger_factory)

    def test_a_checkpoint_survives_for_the_next_attempt(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_checkpoint_survives_for_the_next_attempt(ledger_factory)

    def test_racing_begin_action_exactly_one_goes(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_racing_begin_action_exactly_one_goes(ledger_factory)

    def test_a_phone_order_and_its_row_are_written_together(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_phone_order_and_its_row_are_written_together(ledger_factory)

    def test_threads_can_share_one_ledger(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_threads_can_share_one_ledger(ledger_factory)


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
                STORE, order.order_id, order.number, order.status, tab.value, int(paid), 0, fingerprint(order),
                order.updated_at.isoformat(), snapshot_json(order).decode(), str(order.raw) if raw_in_row else None,
                NOW.isoformat(), NOW.isoformat(), None, None,
            )

        columns = (
            "store, order_id, number, status, tab, paid, shipped, fingerprint, updated_at, snapshot, raw, "
            "first_seen, last_changed, replaced_by, dismissed"
        )
        one, two = make_order(1), make_order(2)
        for order, tab, paid in ((one, Tab.ORDERS, True), (two, Tab.IGNORE, False)):
            conn.execute(f"INSERT INTO orders ({columns}) VALUES ({','.join('?' * 15)})",
                         order_row(order, tab, paid, True))
        changed = make_order(2, status="canceled", hours=48)
        conn.execute(
            "INSERT INTO pending_updates (store, order_id, new_order_id, replaces, changes, snapshot, raw, "
            "detected_at) VALUES (?, '2', '2', NULL, ?, ?, ?, ?)",
            (STORE, '[["status", "status", "processing", "canceled"]]', snapshot_json(changed).decode(),
             str(changed.raw), NOW.isoformat()),
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
            conn.execute(f"INSERT INTO orders ({columns}) VALUES ({','.join('?' * 15)})",
                         order_row(three, Tab.ORDERS, False, False))
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
                {"attempt": 1, "owner": None, "started": NOW.isoformat(),
                 "finished": (NOW + timedelta(seconds=5)).isoformat(), "ok": True, "note": ""},
            )
            _, go = ledger.begin_action(STORE, "1", "ship", "ship:1", {}, NOW + timedelta(hours=1), owner="new")
            assert not go, f"{what}: a done action would run again"
            taken, go = ledger.begin_action(STORE, "2", "cancel", "cancel:2", {}, NOW + timedelta(minutes=1),
                                            owner="new")
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
