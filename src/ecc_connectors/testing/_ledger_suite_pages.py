"""Ledger checks: pages, the mark and what the ledger knows (``commit_page``, ``seen``, ``known_keys``).

A page is written whole or not at all, whatever part of it fails; the high-water mark moves only with the
page that earned it, so a crash between pages resumes where the last whole page ended.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any, cast

import attrs

from .._convert import fingerprint
from .._errors import PayloadError
from .._outcomes import Tab
from ..ledger import (
    HighWater,
    PageBatch,
    RowWrite,
    UpdateWrite,
)
from ._ledger_suite_kit import (
    NOW,
    OTHER,
    STORE,
    T0,
    LedgerFactory,
    _changes,
    _check,
    _crashes,
    _fresh,
    _Poison,
    _raw,
    _row,
    _unchanged,
    _visible,
    make_order,
)

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
                STORE,
                NOW,
                rows=[RowWrite(one, Tab.ORDERS, True, False), RowWrite(two, Tab.IGNORE, False, True)],
                updates=[UpdateWrite("1", changed, _changes())],
                failures=[failure],
                high_water=mark,
            )
        )
        record = ledger.get(STORE, "1")
        assert record is not None, "a row committed with its page is not there"
        assert (record.store, record.order_id, record.number, record.status, record.tab) == (
            STORE,
            "1",
            one.number,
            one.status,
            Tab.ORDERS,
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
            STORE,
            "9",
            "total",
            "not a number",
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
        STORE,
        NOW,
        rows=[_row(1), _row(2, Tab.IGNORE), _row(4, paid=True)],
        failures=[PayloadError(STORE, "5", "total", "not a number", {"id": "5"})],
        high_water=HighWater(T0 + timedelta(hours=2), "scope"),
    )


def _page_b() -> PageBatch:
    return PageBatch(
        STORE,
        NOW + timedelta(hours=1),
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
                STORE,
                NOW,
                rows=[_row(3)],
                updates=[UpdateWrite("1", make_order(1, hours=9), _changes())],
                failures=[PayloadError(STORE, "7", "total", "bad", {"id": "7"})],
                high_water=third,
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
                STORE,
                NOW,
                rows=[RowWrite(one, Tab.ORDERS, True, False), _row(2, Tab.IGNORE, shipped=True), _row(3)],
            )
        )
        ledger.commit_page(
            PageBatch(
                STORE, NOW, rows=[RowWrite(make_order(103, replaces="3"), Tab.ORDERS, False, False, supersedes="3")]
            )
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
                STORE,
                NOW,
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
            "1": at[1],
            "2": at[10],
            "3": at[103],
            "103": at[103],
            "4": at[4],
            "5": at[5],
            "7": half_second,
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
