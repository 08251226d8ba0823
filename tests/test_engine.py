"""The sync engine against the fake store: tabs, resume, updates, post-backs, phone orders, streaming."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from ecc_connectors import (
    ActionInProgress,
    Address,
    Capability,
    CapabilityNotSupported,
    ChangeDetection,
    ChangeKind,
    ConfigurationError,
    Connector,
    Customer,
    DownloadRange,
    DownloadReport,
    ItemQuery,
    ItemSource,
    NewOrder,
    NewOrderLine,
    PayloadError,
    PhoneOrders,
    Seen,
    StoreError,
    SyncPolicy,
    Tab,
    Tracking,
    TransportError,
    Unchanged,
    Unselected,
    fingerprint,
    rules,
)
from ecc_connectors.ledger import PageBatch, SQLiteLedger
from fakedriver import SECRET, FakeDriver, FakeStore, InjectedCrash, iso, make_order
from plugin_engine import NOW, T0, Clock, Sleeps, make_policy, standard_orders

Make = Callable[..., tuple[Connector, FakeDriver]]


@pytest.fixture
def make(clock: Clock, sleeps: Sleeps) -> Iterator[Make]:
    """Build connectors over a fake store; everything is closed at teardown."""
    opened: list[Any] = []

    def build(
        store: FakeStore, ledger: Any, policy: SyncPolicy | None = None, **driver_options: Any
    ) -> tuple[Connector, FakeDriver]:
        driver = FakeDriver(**driver_options)
        client = httpx.Client(transport=store.transport())
        connector = Connector(
            driver, policy or make_policy(), ledger, client=client, clock=clock, sleep=sleeps
        )
        opened.extend([connector, client])
        return connector, driver

    yield build
    for thing in opened:
        thing.close()


def ids(records: Any) -> list[str]:
    return sorted((r.order_id for r in records), key=int)


# ---------------------------------------------------------------------------------------------------------
# Tabs


def test_download_puts_selected_orders_in_the_orders_tab_with_local_state(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    report = connector.download()

    assert ids(connector.orders()) == ["1", "2", "3", "4", "6", "7", "8", "9", "11", "12", "13", "14"]
    states = {r.order_id: (r.paid, r.shipped) for r in connector.orders()}
    assert states["1"] == (True, False)  # processing: "No, mark as paid"; shipping processed locally
    assert states["7"] == (False, False)  # pending: payment processed locally
    assert connector.ignored() == []
    assert (report.downloaded, report.skipped, report.pages, report.failures) == (12, 2, 5, 0)
    assert report.high_water_mark == T0 + timedelta(hours=14)
    record = ledger.get("fake-store", "3")
    assert record is not None
    assert record.order.raw is not None
    assert record.order.raw.data() == store.orders["3"]


def test_unselected_orders_go_to_ignore_tab_or_nowhere(make: Make, store: FakeStore) -> None:
    with SQLiteLedger() as ignoring, SQLiteLedger() as skipping:
        first, _ = make(store, ignoring, make_policy(unselected=Unselected.IGNORE_TAB))
        second, _ = make(store, skipping, make_policy(unselected=Unselected.SKIP))
        ignore_report, skip_report = first.download(), second.download()

        assert ids(first.ignored()) == ["5", "10"]
        assert (ignore_report.ignored, ignore_report.skipped) == (2, 0)
        assert second.ignored() == []
        assert skipping.get("fake-store", "5") is None
        assert (skip_report.ignored, skip_report.skipped) == (0, 2)
        assert "5" not in ids(first.orders())
        assert "5" not in ids(second.orders())

        # A skipped order is decided afresh when it comes back; an ignored one is promoted by the rules.
        store.put(make_order(5, updated=T0 + timedelta(days=2), created=T0 + timedelta(hours=5)))
        first.download()
        second.download()
        assert "5" in ids(first.orders())
        assert "5" not in ids(first.ignored())
        assert "5" in ids(second.orders())


# ---------------------------------------------------------------------------------------------------------
# Resume


class CrashingLedger(SQLiteLedger):
    """Dies while committing the ``crash_at``-th page (its transaction rolls back)."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.crash_at = crash_at
        self.commits = 0

    def commit_page(self, batch: PageBatch) -> None:
        self.commits += 1
        if self.commits == self.crash_at:
            with self._transaction() as conn:
                self._write_page(conn, batch)
                raise InjectedCrash("crash inside the page's transaction")
        super().commit_page(batch)


def _mutate(store: FakeStore) -> None:
    """Changes between two runs: an edited order, a new one, a status change, a newly malformed one."""
    store.orders["2"]["lines"][0]["qty"] = "3"
    store.orders["2"]["updated"] = iso(T0 + timedelta(days=3, hours=1))
    store.orders["6"]["status"] = "complete"
    store.orders["6"]["updated"] = iso(T0 + timedelta(days=3, hours=2))
    store.put(make_order(15, updated=T0 + timedelta(days=3, hours=3)))
    store.put(make_order(16, updated=T0 + timedelta(days=3, hours=4), total="oops"))
    store.put(make_order(17, updated=T0 + timedelta(days=3, hours=5), status="pending"))
    for n in range(18, 22):
        store.put(make_order(n, updated=T0 + timedelta(days=3, hours=n)))


PAGES_AFTER_MUTATION = 5  # 8 orders changed since the mark (+1 re-read in the lookback... see the assertion)


@pytest.mark.parametrize("mode", ["numbered", "cursor", "keyset"])
@pytest.mark.parametrize("how", ["driver", "ledger"])
@pytest.mark.parametrize("gap", [1, 2, 3, 4])
def test_crash_between_any_two_pages_resumes_without_loss_or_duplicates(
    make: Make, mode: str, how: str, gap: int
) -> None:
    """Run 1 on the first store state; run 2 after changes crashes after page ``gap``; run 3 resumes. The
    ledger must equal that of two clean runs. A cursor or keyset run resumes from the mark its committed pages
    moved; numbered (offset) pages move the mark only once a whole run is verified, so run 3 starts where run 2
    did."""
    orders = standard_orders()
    clean_store, crash_store = FakeStore(copy.deepcopy(orders)), FakeStore(copy.deepcopy(orders))
    clean_ledger = SQLiteLedger()
    crash_ledger: SQLiteLedger = CrashingLedger(crash_at=-1) if how == "ledger" else SQLiteLedger()
    clean, _ = make(clean_store, clean_ledger, page_size=2, mode=mode)
    crashing, driver = make(crash_store, crash_ledger, page_size=2, mode=mode)

    clean.download()
    crashing.download()  # 14 orders, 7 pages: commits 1..7
    if how == "ledger":
        assert isinstance(crash_ledger, CrashingLedger)
        crash_ledger.commits = 0
        crash_ledger.crash_at = gap + 1
    else:
        driver.crash_before_page = gap + 1
    _mutate(clean_store)
    _mutate(crash_store)
    clean.download()

    mark_before_crash = crash_ledger.high_water("fake-store")
    with pytest.raises(InjectedCrash):
        crashing.download()
    mark_after_crash = crash_ledger.high_water("fake-store")
    driver.crash_before_page = None
    if isinstance(crash_ledger, CrashingLedger):
        crash_ledger.crash_at = -1
    resumed = crashing.download()

    assert crash_ledger.dump() == clean_ledger.dump()
    # The resumed run started from the mark the crashed run committed (minus the lookback), not from scratch.
    assert mark_after_crash is not None
    assert resumed.updated_from == mark_after_crash.mark - timedelta(minutes=5)
    if mode == "numbered":
        assert mark_after_crash == mark_before_crash
    elif mode == "keyset" and how == "driver" and gap <= 2:
        # The keyset walk commits a page once the requests it allows are out: a run that dies while the second
        # and third requests go out has committed nothing, and is read again from the earlier mark.
        assert mark_after_crash == mark_before_crash
    else:
        assert resumed.updated_from > T0 + timedelta(days=3)
    # Nothing of the crashed page was half-written: its orders appear once, with the outcome of a clean run.
    assert ids(crashing.orders()) == ids(clean.orders())
    assert [u.order_id for u in crashing.updates()] == [u.order_id for u in clean.updates()] == ["2", "6"]
    crash_ledger.close()
    clean_ledger.close()


def test_unsorted_driver_moves_the_mark_only_after_a_complete_run(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, driver = make(store, ledger, sorted_pages=False, page_size=3)
    driver.crash_before_page = 3
    with pytest.raises(InjectedCrash):
        connector.download()
    assert ledger.high_water("fake-store") is None
    assert len(connector.orders()) > 0  # the pages before the crash are kept

    driver.crash_before_page = None
    report = connector.download()
    mark = ledger.high_water("fake-store")
    assert mark is not None
    assert mark.mark == T0 + timedelta(hours=14) == report.high_water_mark
    assert len(connector.orders()) == 12


def test_query_reads_from_the_mark_minus_lookback_up_to_now_minus_settle_delay(
    make: Make, store: FakeStore, ledger: SQLiteLedger, clock: Clock
) -> None:
    policy = make_policy(
        incremental=attrs.evolve(make_policy().incremental, settle_delay=timedelta(minutes=10)),
        change_detection=ChangeDetection(enabled=False),
    )
    connector, driver = make(store, ledger, policy)
    connector.download()
    clock.now = NOW + timedelta(hours=1)
    connector.download()

    first, second = driver.queries
    assert first.updated_from == policy.range.start
    assert first.updated_to == NOW - timedelta(minutes=10)
    assert second.updated_from == T0 + timedelta(hours=14) - timedelta(minutes=5)
    assert second.updated_to == NOW + timedelta(minutes=50)
    # Detection off and unselected orders skipped: only the selected statuses are asked for.
    assert first.statuses == ("processing", "pending")


def test_moving_the_range_start_back_reads_from_the_new_start(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _driver = make(store, ledger)
    connector.download()
    earlier = make_policy(range=DownloadRange(start=datetime.fromisoformat("2023-06-01T00:00:00+00:00")))
    backfill, driver2 = make(store, ledger, earlier)
    backfill.download()
    assert driver2.queries[0].updated_from == earlier.range.start


def test_progress_is_reported_after_each_page(make: Make, store: FakeStore, ledger: SQLiteLedger) -> None:
    calls: list[tuple[int, int | None]] = []
    connector, _ = make(store, ledger, page_size=4)
    connector.download(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 14), (8, 14), (12, 14), (14, 14)]


# ---------------------------------------------------------------------------------------------------------
# Updates


def _edit(store: FakeStore, n: int, hours: int, **fields: Any) -> None:
    order = store.orders[str(n)]
    for name, value in fields.items():
        if name == "qty":
            order["lines"][0]["qty"] = value
        else:
            order[name] = value
    order["updated"] = iso(T0 + timedelta(days=5, hours=hours))


def test_updates_hold_field_changes_and_redownload_clears_them(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    _edit(store, 3, 1, qty="2", ship_city="York", status="complete")
    report = connector.download()

    assert report.updates == 1
    (update,) = connector.updates()
    assert update.order_id == "3"
    assert update.replaces is None
    found = {(c.kind, c.path, c.old, c.new) for c in update.changes}
    assert (ChangeKind.STATUS, "status", "processing", "complete") in found
    assert (ChangeKind.QUANTITIES, "lines[1].quantity", "1", "2") in found
    assert (ChangeKind.SHIPPING_ADDRESS, "shipping_address.city", "Leeds", "York") in found
    kept = ledger.get("fake-store", "3")
    assert kept is not None
    assert kept.order.status == "processing"

    record = connector.redownload("3")
    assert connector.updates() == []
    assert record.order.status == "complete"
    assert record.order.lines[0].quantity == Decimal("2")
    assert (record.paid, record.shipped, record.tab) == (True, False, Tab.ORDERS)  # local state is kept
    assert connector.download().updates == 0


def test_dismiss_keeps_the_old_copy_and_the_same_change_does_not_come_back(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    policy = make_policy(incremental=attrs.evolve(make_policy().incremental, lookback=timedelta(days=30)))
    connector, _ = make(store, ledger, policy)
    connector.download()
    _edit(store, 4, 1, ship_city="Hull")
    connector.download()
    assert [u.order_id for u in connector.updates()] == ["4"]

    assert connector.dismiss("4") is True
    assert connector.updates() == []
    kept = ledger.get("fake-store", "4")
    assert kept is not None
    assert kept.order.shipping_address is not None
    assert kept.order.shipping_address.city == "Leeds"

    assert connector.download().updates == 0  # the long lookback re-reads the same copy: still dismissed
    _edit(store, 4, 2, ship_city="Ripon")
    connector.download()
    (again,) = connector.updates()
    assert [(c.old, c.new) for c in again.changes] == [("Leeds", "Ripon")]
    assert connector.dismiss("4") is True
    assert connector.dismiss("4") is False


@pytest.mark.parametrize("replacement_first", [True, False])
def test_an_edited_order_replaces_the_old_one_and_takes_its_place(
    make: Make, store: FakeStore, ledger: SQLiteLedger, replacement_first: bool
) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    ledger.set_local_state("fake-store", "3", shipped=True)
    edited = make_order(
        103, updated=T0 + timedelta(days=5, hours=1), qty="4", replaces="3", number="000000003-1"
    )
    store.put(edited)
    _edit(store, 3, 0 if replacement_first is False else 2, status="canceled")

    connector.download()
    (update,) = connector.updates()
    assert update.order_id == "3"
    assert update.replaces == "3"
    assert update.order.order_id == "103"
    assert any(c.kind is ChangeKind.QUANTITIES for c in update.changes)

    record = connector.redownload("3")
    assert record.order_id == "103"
    assert (record.paid, record.shipped) == (True, True)
    assert "103" in ids(connector.orders())
    assert "3" not in ids(connector.orders())
    old = ledger.get("fake-store", "3")
    assert old is not None
    assert old.replaced_by == "103"
    report = connector.download()
    assert report.updates == 0
    assert report.downloaded == 0
    assert connector.updates() == []


# ---------------------------------------------------------------------------------------------------------
# Payload errors


def test_a_malformed_order_is_kept_with_its_payload_and_the_rest_downloads(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    bad = make_order(99, updated=T0 + timedelta(hours=2, minutes=30), total="twelve pounds")
    store.put(bad)
    connector, _ = make(store, ledger)
    report = connector.download()

    assert report.failures == 1
    assert report.downloaded == 12
    (failure,) = connector.failures()
    assert (failure.order_ref, failure.field) == ("99", "total")
    assert failure.raw is not None
    assert failure.raw.data() == bad
    assert "99" not in ids(connector.orders())

    store.orders["99"]["total"] = "12.00"
    store.orders["99"]["updated"] = iso(T0 + timedelta(days=1))
    connector.download()
    assert connector.failures() == []
    assert "99" in ids(connector.orders())


# ---------------------------------------------------------------------------------------------------------
# Streaming and concurrency


def test_download_keeps_a_bounded_window_of_pages_and_respects_the_limit(
    make: Make, ledger: SQLiteLedger
) -> None:
    store = FakeStore([make_order(n, updated=T0 + timedelta(minutes=n)) for n in range(1, 61)], delay=0.002)
    connector, driver = make(store, ledger, page_size=2, concurrency=3)
    committed = {"pages": 0}
    widest = {"pages": 0}
    real_commit = ledger.commit_page

    def counting_commit(batch: PageBatch) -> None:
        real_commit(batch)
        committed["pages"] += 1

    def on_start(_number: int) -> None:
        # Pages started but not yet committed: the most the engine holds at once.
        widest["pages"] = max(widest["pages"], driver.pages_started - committed["pages"])

    ledger.commit_page = counting_commit  # type: ignore[method-assign]
    driver.on_page_start = on_start
    report = connector.download()

    assert report.pages == 30
    assert report.downloaded == 60
    # The window is full, and no fuller: twice `concurrency` pages submitted (only `concurrency` requests in
    # flight), one being decided and at most one more still being written on the ledger thread.
    assert 2 * 3 + 1 <= widest["pages"] <= 2 * 3 + 2
    assert store.max_in_flight <= 3


# ---------------------------------------------------------------------------------------------------------
# Post back


def test_a_retried_post_back_ships_once(make: Make, store: FakeStore, ledger: SQLiteLedger) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    # The store records the shipment, then the connection drops before the answer arrives.
    store.fail("POST", "/orders/3/shipments", error=httpx.ReadTimeout, act_first=True)

    with pytest.raises(TransportError):
        connector.ship("3", ["1Z999"])
    assert len(store.sent("POST", "/orders/3/shipments")) == 1  # the write was not resent blindly
    (action,) = connector.actions("3")
    assert action.state == "failed"
    assert "ReadTimeout" in (action.error or "")

    result = connector.ship("3", ["1Z999"])  # the user retries: the driver finds the shipment first
    assert result.already_shipped is True
    assert len(store.shipments["3"]) == 1
    assert len(store.sent("POST", "/orders/3/shipments")) == 1

    before = len(store.requests)
    again = connector.ship("3", [Tracking("1Z999")])  # done in the log: recorded result, no I/O
    assert again == result
    assert len(store.requests) == before
    (action,) = connector.actions("3")
    assert (action.state, action.attempts) == ("done", 2)
    record = ledger.get("fake-store", "3")
    assert record is not None
    assert record.shipped is True


def test_ship_sends_the_policy_status_and_email_setting(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    result = connector.ship("4", "TRACK-4")
    assert result.already_shipped is False
    (post,) = store.sent("POST", "/orders/4/shipments")
    import json

    body = json.loads(post.content)
    assert body == {"tracking": ["TRACK-4"], "notify": True, "status": "complete"}


def test_acknowledge_cancel_status_and_invoice_are_logged(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    connector.acknowledge("1")
    connector.acknowledge("1")  # same key: done already, not sent again
    connector.set_status("2", "on_hold", comment="waiting for stock")
    connector.cancel("6")
    invoice = connector.invoice("7")

    assert store.status_log == [("1", "acknowledged", False), ("2", "on_hold", False)]
    assert store.cancelled == ["6"]
    assert store.orders["6"]["status"] == "canceled"
    assert invoice == "INV-7"
    record = ledger.get("fake-store", "7")
    assert record is not None
    assert record.paid is True
    kinds = [(a.order_id, a.kind, a.state) for a in connector.actions()]
    assert kinds == [
        ("1", "acknowledge", "done"),
        ("2", "set_status", "done"),
        ("6", "cancel", "done"),
        ("7", "invoice", "done"),
    ]


def test_acknowledgement_off_is_a_configuration_error_before_any_io(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(
        store, ledger, make_policy(acknowledgement=attrs.evolve(make_policy().acknowledgement, status=None))
    )
    with pytest.raises(ConfigurationError, match="acknowledgement is off"):
        connector.acknowledge("1")
    assert store.requests == []
    assert connector.actions() == []


def test_a_failed_store_write_is_logged_with_the_store_message(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    with pytest.raises(StoreError, match="no order 404"):
        connector.cancel("404")
    (action,) = connector.actions("404")
    assert action.state == "failed"
    assert "no order 404" in (action.error or "")


@pytest.mark.parametrize(
    ("capability", "call"),
    [
        (Capability.LIST_ORDERS, lambda c: c.download()),
        (Capability.SHIP, lambda c: c.ship("1", ["T"])),
        (Capability.SET_STATUS, lambda c: c.acknowledge("1")),
        (Capability.SET_STATUS, lambda c: c.set_status("1", "x")),
        (Capability.CANCEL, lambda c: c.cancel("1")),
        (Capability.INVOICE, lambda c: c.invoice("1")),
        (Capability.SEARCH_ITEMS, lambda c: c.search_items("widget")),
        (Capability.CREATE_ORDER, lambda c: c.create_phone_order(_new_order("R-1"))),
    ],
)
def test_a_missing_capability_fails_before_any_request(
    make: Make,
    store: FakeStore,
    ledger: SQLiteLedger,
    capability: Capability,
    call: Callable[[Connector], Any],
) -> None:
    connector, _ = make(store, ledger, capabilities=frozenset(Capability) - {capability})
    with pytest.raises(CapabilityNotSupported) as caught:
        call(connector)
    assert caught.value.capability == capability.value
    assert store.requests == []
    assert ledger.dump()["actions"] == []
    assert ledger.dump()["orders"] == []


# ---------------------------------------------------------------------------------------------------------
# Phone orders


def _new_order(reference: str) -> NewOrder:
    address = Address(name="Ann", city="Bath")
    return NewOrder(
        reference=reference,
        customer=Customer(name="Ann"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine("WID-1", Decimal("2")),),
    )


def test_items_come_from_the_source_the_policy_names(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    assert [i.sku for i in connector.search_items("widget")] == ["WID-1"]

    netsuite_store = FakeStore()
    netsuite_store.items = [{"id": "ns1", "sku": "NS-1", "name": "Widget (NetSuite)", "price": "8.00"}]
    netsuite = FakeDriver(store_id="netsuite", base_url="https://netsuite.test")
    routed = FakeStore()
    both = httpx.MockTransport(
        lambda r: (netsuite_store if r.url.host == "netsuite.test" else routed).handle(r)
    )
    policy = make_policy(phone_orders=PhoneOrders(item_source=ItemSource.NETSUITE))
    with httpx.Client(transport=both) as client:
        ns_connector = Connector(FakeDriver(), policy, ledger, client=client)
        with pytest.raises(ConfigurationError, match="NetSuite"):
            ns_connector.search_items("widget")
        items = ns_connector.search_items(ItemQuery(text="widget"), source_driver=netsuite)
        ns_connector.close()
    assert [(i.source, i.sku) for i in items] == [("netsuite", "NS-1")]
    assert routed.requests == []


def test_a_phone_order_is_created_once_and_is_not_downloaded_again_as_new(
    make: Make, store: FakeStore, ledger: SQLiteLedger
) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    order = connector.create_phone_order(_new_order("PH-1"))
    again = connector.create_phone_order(_new_order("PH-1"))

    assert again.order_id == order.order_id
    assert len(store.sent("POST", "/orders")) == 1
    (phone,) = connector.phone_orders()
    assert (phone.reference, phone.order_id) == ("PH-1", order.order_id)
    record = ledger.get("fake-store", order.order_id)
    assert record is not None
    assert record.tab is Tab.ORDERS
    assert record.paid is False

    report = connector.download()
    assert report.downloaded == 0
    assert report.unchanged >= 1


def test_a_phone_order_logged_before_a_crash_is_not_created_twice(
    make: Make, store: FakeStore, ledger: SQLiteLedger, clock: Clock
) -> None:
    connector, _ = make(store, ledger)
    real_finish = ledger.finish_action

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        ledger.finish_action = real_finish  # type: ignore[method-assign]
        raise InjectedCrash("died before logging done")

    ledger.finish_action = crash_once  # type: ignore[method-assign]
    with pytest.raises(InjectedCrash):
        connector.create_phone_order(_new_order("PH-2"))
    # The "dead" caller still holds the action's lease: nobody else creates the order meanwhile.
    with pytest.raises(ActionInProgress):
        connector.create_phone_order(_new_order("PH-2"))
    clock.now += timedelta(minutes=6)  # the lease of the dead caller runs out
    order = connector.create_phone_order(_new_order("PH-2"))
    assert len(store.sent("POST", "/orders")) == 1
    assert order.order_id == connector.phone_orders()[0].order_id
    (action,) = connector.actions()
    assert action.state == "done"


def test_the_secret_key_is_not_kept_in_the_ledger(make: Make, store: FakeStore, ledger: SQLiteLedger) -> None:
    connector, _ = make(store, ledger)
    connector.download()
    store.fail("POST", "/orders/1/shipments", status=500)
    with pytest.raises(StoreError):
        connector.ship("1", ["T"])
    assert SECRET not in repr(ledger.dump())


def test_report_counts_add_up(make: Make, store: FakeStore, ledger: SQLiteLedger) -> None:
    connector, _ = make(store, ledger)
    report = connector.download()
    assert isinstance(report, DownloadReport)
    assert report.seen == 14


@pytest.mark.parametrize(
    "detection",
    [
        ChangeDetection(),
        ChangeDetection(enabled=False),
        ChangeDetection(kinds=frozenset({ChangeKind.NOTES})),
        ChangeDetection(watch_from=T0 + timedelta(days=300)),
    ],
)
@pytest.mark.parametrize("status", ["processing", "pending", "complete", "unknown"])
def test_a_copy_equal_to_the_stored_one_is_unchanged_as_the_rules_say(
    make: Make, store: FakeStore, ledger: SQLiteLedger, detection: ChangeDetection, status: str
) -> None:
    """The engine skips parsing the stored copy when the fingerprints match; this pins that the rules would
    have said Unchanged for such a copy in the Orders tab, whatever the policy."""
    policy = make_policy(change_detection=detection)
    stored = FakeDriver().parse(make_order(3, updated=T0, status=status))
    assert not isinstance(stored, PayloadError)
    touched = attrs.evolve(stored, updated_at=T0 + timedelta(days=1))
    assert fingerprint(stored) == fingerprint(touched)
    for paid, shipped in [(True, False), (False, True)]:
        assert isinstance(rules.decide(touched, policy, Seen(stored, Tab.ORDERS, paid, shipped)), Unchanged)

    connector, _ = make(store, ledger, policy)
    connector.download()
    store.orders["3"]["updated"] = iso(T0 + timedelta(days=9))  # touched, nothing else changed
    report = connector.download()
    assert report.unchanged >= 1
    assert report.updates == 0
