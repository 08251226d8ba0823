"""Ledger checks: the action log (leases, attempts, checkpoints, racing writers), phone orders and threads.

These are the promises exactly-once writes rest on: one holder at a time under a lease, an expired lease taken
over, a late finish never overwriting the new holder, every attempt logged, and exactly one of many racing
``begin_action`` calls going ahead (two instances on one storage when the factory can open them).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, cast

from .._errors import ActionInProgress, ConnectorError
from .._outcomes import Tab
from ..ledger import (
    Ledger,
    PageBatch,
    RowWrite,
)
from ._ledger_suite_kit import (
    NOW,
    OTHER,
    STORE,
    LedgerFactory,
    _another,
    _check,
    _crashes,
    _fresh,
    _Poison,
    _row,
    make_order,
)

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
            STORE,
            "1",
            "ship",
            "ship:1",
            SHIP,
        )
        assert (first.state, first.attempts, first.resumed, first.owner) == ("started", 1, False, "p1")
        assert (first.result, first.error, first.finished_at, first.checkpoint) == (None, None, None, None)
        assert first.started_at == NOW
        assert first.lease_until == NOW + timedelta(minutes=5)
        assert first.log == ({"attempt": 1, "owner": "p1", "started": NOW.isoformat()},)

        failed = ledger.finish_action(first.id, ok=False, error="TransportError: timeout", now=NOW, owner="p1")
        assert (failed.state, failed.error, failed.lease_until, failed.finished_at) == (
            "failed",
            "TransportError: timeout",
            None,
            NOW,
        )
        assert (failed.log[0]["ok"], failed.log[0]["error"], failed.log[0]["finished"]) == (
            False,
            "TransportError: timeout",
            NOW.isoformat(),
        )

        soon = NOW + timedelta(seconds=1)
        second, go = ledger.begin_action(STORE, "1", "ship", "ship:1", SHIP, soon, owner="p1")
        assert go, "a failed action must be taken over at once, even within the old lease"
        assert second.id == first.id
        assert (second.attempts, second.resumed, second.error, second.state) == (2, True, None, "started")
        assert second.log[1] == {
            "attempt": 2,
            "owner": "p1",
            "started": soon.isoformat(),
            "after": "failed: TransportError: timeout",
        }

        done = ledger.finish_action(
            second.id,
            ok=True,
            result={"shipment_id": "S1"},
            now=soon,
            note="no shipment yet: created one",
            owner="p1",
        )
        assert (done.state, done.result, done.error, done.lease_until) == ("done", {"shipment_id": "S1"}, None, None)
        assert done.log[1] == {
            **second.log[1],
            "finished": soon.isoformat(),
            "ok": True,
            "note": "no shipment yet: created one",
        }
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
            "attempt": 2,
            "owner": "worker-b",
            "started": later.isoformat(),
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
            first.id,
            ok=True,
            result={"state": "canceled"},
            now=later + timedelta(seconds=1),
            note="order was open",
            owner="slow",
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
            taken.id,
            ok=True,
            result={"state": "canceled"},
            now=later + timedelta(seconds=2),
            note="already canceled in the store",
            owner="fresh",
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

                def race(
                    n: int,
                    key: str = key,
                    barrier: threading.Barrier = barrier,
                    outcomes: list[str] = outcomes,
                    lock: threading.Lock = lock,
                ) -> None:
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
            STORE,
            "PH-1",
            "900",
            created.number,
            {"lines": 1},
        )
        assert recorded.created_at == NOW
        row = ledger.get(STORE, "900")
        assert row is not None, "the phone order's row is not there"
        assert (row.order, row.tab, row.paid) == (created, Tab.ORDERS, True)
        assert "900" in ledger.seen(STORE, ["900"])
        assert ledger.phone_order(STORE, "PH-2") is None
        assert ledger.phone_order(OTHER, "PH-1") is None

        ledger.record_phone_order(
            STORE,
            "PH-0",
            {"lines": 2},
            RowWrite(make_order(901), Tab.ORDERS, False, False),
            NOW + timedelta(minutes=1),
        )
        ledger.record_phone_order(
            STORE,
            "PH-1",
            {"lines": 3},
            RowWrite(make_order(902), Tab.ORDERS, False, False),
            NOW + timedelta(minutes=2),
        )
        listed = ledger.phone_orders(STORE)
        assert [(p.reference, p.order_id, p.payload) for p in listed] == [
            ("PH-1", "902", {"lines": 3}),
            ("PH-0", "901", {"lines": 2}),
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
