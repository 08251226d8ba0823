"""Ledger checks: updates, failures and local state (the tabs a back office reads and acts on).

A replacement update wins over a plain one, accepting or dismissing an update moves the rows it names, a
failure clears when its order reads again, and local state (shipped, refreshed) survives the next download.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from .._convert import fingerprint
from .._errors import PayloadError
from .._outcomes import Tab
from ..ledger import (
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
    _fresh,
    _raw,
    _row,
    make_order,
)

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
        ledger.commit_page(PageBatch(STORE, NOW, rows=[_row(1), _row(2, Tab.IGNORE, paid=True), _row(3)]))
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
                STORE,
                NOW,
                rows=[
                    _row(3),
                    RowWrite(make_order(12, updated=tie), Tab.ORDERS, False, False),
                    _row(1),
                    _row(2, Tab.IGNORE),
                    _row(6),
                ],
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
            Tab.ORDERS,
            True,
            True,
            NOW,
            later,
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
