"""The WooCommerce listing cannot skip an order: churn between every listing request, seconds holding more orders
than a page (read by ``exclude``, never by offset), a store that does not sort, bounds that are whole seconds,
a store clock far from ours, and reconcile finding an order a download could not see."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from _shared import shared_path
from ecc_connectors import (
    BrokenAnswer,
    Connector,
    DownloadRange,
    Incremental,
    OrderQuery,
    Seek,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.woocommerce import FakeWooCommerce

START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def policy(**kwargs: object) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping((StatusRule("*"),)),
        range=DownloadRange(start=START),
        unselected=Unselected.IGNORE_TAB,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def store() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(60, seed=5, spec=shared_path("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")) as fake:
        yield fake
        assert fake.spec_violations == []


def driver_for(store: FakeWooCommerce, page_size: int = 4) -> WooCommerceDriver:
    return WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret, page_size=page_size)


def ids_in(connector: Connector) -> set[str]:
    return {r.order_id for r in connector.orders()} | {r.order_id for r in connector.ignored()}


def test_churn_between_every_listing_request_loses_no_untouched_order(store: FakeWooCommerce) -> None:
    """Before each listing request, the oldest order not yet edited is edited (it jumps to the end of the sort)
    and a new order is created: every order untouched throughout is in the ledger after that one run."""
    with store.lock:
        before = [o["id"] for o in sorted(store.shop.orders.values(), key=lambda o: (o["date_modified_gmt"], o["id"]))]
    edited: list[int] = []

    def churn(n: int) -> None:
        # Orders edited in the window's last second are still inside it and are read again, so a run can make
        # more listing requests than there are orders: once every order was edited, the churn only creates.
        target = next((i for i in before if i not in edited), None)
        if target is not None:
            store.shop.edit(target)
            edited.append(target)
        store.shop.new_order("pending")

    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(), ledger) as connector:
        store.on_listing(churn)
        try:
            connector.download()
        finally:
            store.on_listing(None)
        assert len(edited) >= 10  # the churn really ran between many requests
        missing = [i for i in before if i not in edited and str(i) not in ids_in(connector)]
        assert missing == []
        connector.download()
        with store.lock:
            everything = {str(i) for i in store.shop.orders}
        assert everything <= ids_in(connector)


def test_a_second_holding_more_orders_than_a_page_is_read_by_exclude_not_offset(store: FakeWooCommerce) -> None:
    """25 orders stamped in one second, 4 a page: the driver reads that second by id excluding what it read;
    orders of that second edited meanwhile leave it, and the others are all still read."""
    with store.lock:
        crowded = store.shop.crowd(25, store.now() - timedelta(minutes=30))
    edited: list[int] = []

    def churn(n: int) -> None:
        if len(edited) < 5:
            store.shop.edit(crowded[len(edited) * 3])
            edited.append(crowded[len(edited) * 3])

    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(), ledger) as connector:
        store.on_listing(churn)
        try:
            connector.download()
        finally:
            store.on_listing(None)
        got = ids_in(connector)
    assert {str(i) for i in crowded if i not in edited} <= got
    excluded = [r for r in store.requests if r.param("exclude")]
    assert excluded, "the crowded second was not read with exclude="
    assert not [
        r
        for r in store.requests
        if r.path.endswith("/orders") and (r.param("page") or "1") != "1" and r.param("per_page") != "1"
    ], "an order page other than the first was read (an offset)"


def test_a_store_that_does_not_sort_by_modified_fails_loudly(store: FakeWooCommerce) -> None:
    store.shop.ignore_orderby = True
    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(), ledger) as connector:
        logging.disable(logging.WARNING)
        try:
            with pytest.raises(BrokenAnswer, match="did not sort by date modified"):
                connector.download()
        finally:
            logging.disable(logging.NOTSET)
        assert ledger.high_water(connector.store) is None


def test_window_bounds_include_their_second_and_nothing_outside(store: FakeWooCommerce) -> None:
    """WooCommerce filters ``modified_after`` exclusively; the driver asks a second wider and keeps exactly
    ``[updated_from, updated_to]``: orders stamped on either bound are in, those a second outside are out."""
    base = (store.now() - timedelta(days=40)).replace(microsecond=0)
    with store.lock:
        on_start = store.shop.new_order(modified=base)["id"]
        before = store.shop.new_order(modified=base - timedelta(seconds=1))["id"]
        on_end = store.shop.new_order(modified=base + timedelta(seconds=10))["id"]
        after = store.shop.new_order(modified=base + timedelta(seconds=11))["id"]
    driver = driver_for(store, page_size=100)
    query = OrderQuery(updated_from=base, updated_to=base + timedelta(seconds=10))
    with SQLiteLedger() as ledger, Connector(driver, policy(), ledger) as connector:
        page = connector.run(driver.seek_page(query, Seek(), 100))
    found = {k.id for k in page.keys}
    assert {on_start, on_end} <= found
    assert not {before, after} & found
    assert page.total == len(page.keys)
    listing = [r for r in store.requests if r.path.endswith("/orders")][-1]
    assert listing.param("dates_are_gmt") == "true"
    assert listing.param("orderby") == "modified"
    assert listing.param("order") == "asc"


def test_a_store_clock_hours_behind_ours_still_loses_no_edit(store: FakeWooCommerce) -> None:
    """The window ends at the store's own time (its Date header): an order edited right after a run, stamped by
    a store clock two hours behind the client's, is read by the next run."""
    store.set_clock(lambda: datetime.now(timezone.utc) - timedelta(hours=2))
    with SQLiteLedger() as ledger, Connector(driver_for(store, 100), policy(), ledger) as connector:
        connector.download()
        target = next(iter(store.shop.orders))
        with store.lock:
            store.shop.edit(target, customer_note="call before delivery")
        report = connector.download()
        assert report.updates == 1
        pending = ledger.pending(connector.store, str(target))
        assert pending is not None
        assert pending.order.notes[0].text == "call before delivery"


def test_reconcile_finds_an_order_stamped_behind_the_mark(store: FakeWooCommerce) -> None:
    """An import that writes an old modified stamp lands behind the high-water mark, out of every incremental
    window: reconcile's key walk (``_fields=id,date_modified_gmt,date_created_gmt``) finds it and reads it by id."""
    quick = policy(incremental=Incremental(lookback=timedelta(0)))
    with SQLiteLedger() as ledger, Connector(driver_for(store, 10), quick, ledger) as connector:
        connector.download()
        with store.lock:
            ghost = store.shop.new_order(modified=store.now() - timedelta(days=20))["id"]
        connector.download()
        assert ledger.get(connector.store, str(ghost)) is None
        report = connector.reconcile()
        assert (report.missing, report.downloaded) == (1, 1)
        assert ledger.get(connector.store, str(ghost)) is not None
    keys = [r for r in store.requests if r.param("_fields") == "id,date_modified_gmt,date_created_gmt"]
    assert keys, "reconcile did not use the key listing"


# -- hostile answers, flows answered by hand from the fake's shop ---------------------------------------------

Lie = Callable[[list[dict[str, Any]], dict[str, str], dict[str, str]], tuple[list[dict[str, Any]], dict[str, str]]]


def keys_through(store: FakeWooCommerce, lie: Lie, size: int = 5) -> tuple[list[int], int]:
    """Walk the driver's key listing to its end, each request answered by the shop and bent by ``lie``."""
    driver = driver_for(store, page_size=size)
    query = OrderQuery(updated_from=START, updated_to=store.now())
    found: list[int] = []
    seek = Seek()
    requests = 0
    for _ in range(500):
        flow = driver.list_keys(query, seek, size)
        request = next(flow)
        try:
            while True:
                requests += 1
                params = dict(request.url.params)
                rows, headers = store.shop.list_orders(list(request.url.params.multi_items()))
                rows, headers = lie(rows, headers, params)
                request = flow.send(httpx.Response(200, json=rows, headers=headers))
        except StopIteration as done:
            page = done.value
        found += [k.id for k in page.keys]
        if not page.keys or (page.total is not None and len(page.keys) >= page.total):
            return found, requests
        seek = Seek(after=page.keys[-1])
    raise AssertionError("the walk did not end")


def honest(rows: list[dict[str, Any]], headers: dict[str, str], params: dict[str, str]) -> Any:
    return rows, headers


def test_a_count_that_lies_low_or_a_capped_page_size_loses_nothing(store: FakeWooCommerce) -> None:
    with store.lock:
        store.shop.crowd(8, store.now() - timedelta(hours=2))
        everything = sorted(store.shop.orders)

    def low_count(rows: list[dict[str, Any]], headers: dict[str, str], params: dict[str, str]) -> Any:
        return rows, {**headers, "X-WP-Total": str(len(rows))}  # "that is all there is", on every page

    def capped(rows: list[dict[str, Any]], headers: dict[str, str], params: dict[str, str]) -> Any:
        return rows[:3], headers  # a plugin caps per_page at 3 but counts honestly

    for lie in (honest, low_count, capped):
        found, _ = keys_through(store, lie)
        assert sorted(set(found)) == everything, lie.__name__
        assert len(found) == len(set(found)), lie.__name__


def test_a_store_that_ignores_exclude_in_a_crowded_second_fails_loudly(store: FakeWooCommerce) -> None:
    with store.lock:
        store.shop.crowd(12, store.now() - timedelta(hours=2))

    def no_exclude(rows: list[dict[str, Any]], headers: dict[str, str], params: dict[str, str]) -> Any:
        if "exclude" in params:
            query = [(k, v) for k, v in params.items() if k != "exclude"]
            return store.shop.list_orders(query)
        return rows, headers

    with pytest.raises(BrokenAnswer, match="ignored exclude"):
        keys_through(store, no_exclude)
