"""The BigCommerce driver against a hostile store: flows answered by hand where a store's misbehaviour is the
point, the engine against the fake BigCommerce store (every request checked against BigCommerce's OpenAPI)
where the whole path is."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from _shared import shared_path
from ecc_connectors import (
    Acknowledgement,
    Address,
    AuthenticationError,
    BrokenAnswer,
    Cancellation,
    ConfigurationError,
    Connector,
    ConnectorError,
    Customer,
    DownloadRange,
    NewOrder,
    NewOrderLine,
    PostBack,
    SettingsError,
    SQLiteLedger,
    StatusMapping,
    StatusNotAllowed,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.driver import OrderKey, OrderQuery, Page, PayloadError, Seek, StatusChange
from ecc_connectors.drivers.bigcommerce import BigCommerceDriver, BigCommerceSettings
from ecc_connectors.testing.bigcommerce import FakeBigCommerce

UTC = timezone.utc
START = datetime(2020, 1, 1, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("quiet_retries")


@pytest.fixture
def make_store() -> Iterator[Callable[..., FakeBigCommerce]]:
    """Fake stores that check every request against BigCommerce's OpenAPI; a violation fails the test."""
    stores: list[FakeBigCommerce] = []
    spec_dir = shared_path("specs", "bigcommerce")

    def make(orders: int = 0, **kwargs: Any) -> FakeBigCommerce:
        store = FakeBigCommerce(orders, spec_dir=spec_dir, **kwargs).start()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.stop()
    for store in stores:
        store.assert_valid()


def driver_for(store: FakeBigCommerce, **kwargs: Any) -> BigCommerceDriver:
    kwargs.setdefault("requests_per_30s", 0)
    return BigCommerceDriver(store.store_hash, store.token, base_url=store.base_url, **kwargs)


def policy(*rules: str, **kwargs: Any) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping(tuple(StatusRule(r) for r in rules or ("*",))),
        range=kwargs.pop("range", DownloadRange(start=START)),
        unselected=Unselected.IGNORE_TAB,
        **kwargs,
    )


def run(flow: Generator[httpx.Request, httpx.Response, Any], answer: Callable[[httpx.Request], httpx.Response]) -> Any:
    try:
        request = next(flow)
        while True:
            request = flow.send(answer(request))
    except StopIteration as done:
        return done.value


# -- listing: the keyset ----------------------------------------------------------------------------------


def test_a_burst_of_orders_in_one_second_larger_than_a_page_is_read_whole(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    """23 orders stamped in the same second, 4 a page: the second is read by id (``sort=id:asc``, ``min_id``),
    since the store's order of ties under ``sort=date_modified`` is not by id."""
    store = make_store()
    second = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    ids = {str(store.shop.add_order(stamp=second)["id"]) for _ in range(23)}
    ids |= {str(store.shop.add_order(stamp=second + timedelta(seconds=s))["id"]) for s in (1, 1, 2)}
    with Connector(driver_for(store, page_size=4), policy(), SQLiteLedger()) as connector:
        report = connector.download()
        assert report.downloaded + report.ignored == 26
        assert {r.order_id for r in [*connector.orders(), *connector.ignored()]} == ids
    by_id = [r for r in store.requests if r.param("sort") == "id:asc"]
    assert by_id, "the crowded second was not read by id"
    assert all(r.param("min_date_modified") == r.param("max_date_modified") for r in by_id)


def test_seek_pages_keep_whole_seconds_and_rise_strictly(make_store: Callable[..., FakeBigCommerce]) -> None:
    """Walking the keyset by hand: every page's keys rise strictly, no key repeats, and the walk returns every
    order of the window whatever the tie order of the store."""
    store = make_store(60, seed=11)
    driver = driver_for(store, page_size=7)
    query = OrderQuery(updated_from=START, updated_to=store.now())
    seen: list[OrderKey] = []
    after: OrderKey | None = None
    with httpx.Client(auth=driver.auth()) as client:
        while True:
            page: Page = run(driver.seek_page(query, Seek(after), 7), client.send)
            if not page.keys:
                break
            assert list(page.keys) == sorted(set(page.keys))
            assert after is None or page.keys[0] > after
            seen += page.keys
            after = page.keys[-1]
    assert [str(k.id) for k in seen] == [str(k.id) for k in sorted(seen)]
    assert {str(k.id) for k in seen} == {str(o) for o in store.shop.orders}


def answer_rows(rows: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders"):
            return httpx.Response(200, json=rows)
        return httpx.Response(204)

    return answer


def row(order_id: int, stamp: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "date_created": stamp,
        "date_modified": stamp,
        "status_id": 11,
        "currency_code": "USD",
        "total_inc_tax": "1.0000",
        "shipping_address_count": 0,
        "items_shipped": 0,
    }


def test_a_store_that_does_not_sort_as_asked_is_a_broken_answer() -> None:
    """Stamps going down under ``sort=date_modified:asc``: the page is refused (asked again, then the run
    fails loudly), never trusted to move a cursor."""
    driver = BigCommerceDriver("abc123", "t")
    rows = [row(5, "Wed, 01 May 2024 12:00:05 +0000"), row(3, "Wed, 01 May 2024 12:00:01 +0000")]
    query = OrderQuery(updated_from=START, updated_to=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(BrokenAnswer, match="date_modified:asc"):
        run(driver.seek_page(query, Seek(), 10), answer_rows(rows))


def test_a_full_page_leaves_its_last_second_for_the_next_page() -> None:
    driver = BigCommerceDriver("abc123", "t")
    rows = [
        row(9, "Wed, 01 May 2024 12:00:01 +0000"),
        row(4, "Wed, 01 May 2024 12:00:01 +0000"),
        row(2, "Wed, 01 May 2024 12:00:02 +0000"),
    ]
    query = OrderQuery(updated_from=START, updated_to=datetime(2025, 1, 1, tzinfo=UTC))
    page = run(driver.seek_page(query, Seek(), 3), answer_rows(rows))
    assert [k.id for k in page.keys] == [4, 9]  # second :01 whole, sorted by id; :02 may be cut: left out


def test_a_second_that_fills_a_page_is_read_by_id_then_the_walk_goes_on_after_it() -> None:
    """Three pages' worth of orders in second :01. From a cursor inside it, a stamp page shows only :01 (full):
    the rest of :01 is read by id; when it has nothing left, the walk goes on from :02."""
    driver = BigCommerceDriver("abc123", "t")
    crowded = [row(i, "Wed, 01 May 2024 12:00:01 +0000") for i in (7, 3, 9)]
    sent: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/orders"):
            return httpx.Response(204)  # the rows carry no consignments: lines by sub-resource, none here
        sent.append(request)
        params = request.url.params
        if params.get("sort") == "id:asc":
            low = int(params.get("min_id", "0"))
            return answer_rows([r for r in sorted(crowded, key=lambda r: r["id"]) if r["id"] >= low][:3])(request)
        if params["min_date_modified"] == "2024-05-01T12:00:01+00:00":
            return answer_rows(crowded)(request)
        return answer_rows([row(1, "Wed, 01 May 2024 12:00:02 +0000")])(request)

    query = OrderQuery(updated_from=START, updated_to=datetime(2025, 1, 1, tzinfo=UTC))
    inside = OrderKey(datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC), 3)
    page = run(driver.seek_page(query, Seek(inside), 3), store)
    assert [k.id for k in page.keys] == [7, 9]
    by_id = sent[1].url.params
    assert (by_id["sort"], by_id["min_id"], by_id["min_date_modified"], by_id["max_date_modified"]) == (
        "id:asc",
        "4",
        "2024-05-01T12:00:01+00:00",
        "2024-05-01T12:00:01+00:00",
    )
    sent.clear()
    done = OrderKey(datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC), 9)
    page = run(driver.seek_page(query, Seek(done), 3), store)
    assert [k.id for k in page.keys] == [1]  # :01 exhausted by id, then :02 by stamp
    assert [r.url.params.get("sort") for r in sent] == ["date_modified:asc", "id:asc", "date_modified:asc"]
    assert sent[2].url.params["min_date_modified"] == "2024-05-01T12:00:02+00:00"


def test_an_empty_listing_answered_204_is_an_empty_page() -> None:
    driver = BigCommerceDriver("abc123", "t")
    page = run(driver.seek_page(OrderQuery(updated_from=START), Seek(), 10), lambda r: httpx.Response(204))
    assert page.orders == ()
    assert page.keys == ()


def test_churn_between_every_listing_request_loses_nothing(make_store: Callable[..., FakeBigCommerce]) -> None:
    """Before every listing request an order already read is edited and a new one created; a second run
    must then hold every order, each with the store's status."""
    store = make_store(30, seed=5)
    before = set(map(str, store.shop.orders))
    edited: list[int] = []

    def churn(n: int) -> None:
        target = sorted(set(store.shop.orders) - set(edited))[n % 7]
        store.shop.edit(target, {"staff_notes": f"touched {n}"})
        edited.append(target)
        store.shop.add_order(status_id=11)

    with Connector(driver_for(store, page_size=4), policy(), SQLiteLedger()) as connector:
        store.on_listing(churn)
        connector.download()
        store.on_listing(None)
        untouched = before - set(map(str, edited))
        assert all(connector.ledger.get(connector.store, i) is not None for i in untouched)
        connector.download()
        for order_id, _order in store.shop.orders.items():
            record = connector.ledger.get(connector.store, str(order_id))
            assert record is not None, order_id


def test_the_first_page_counts_what_follows_so_slices_run_concurrently(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store(40, seed=2, latency=0.01)
    with Connector(driver_for(store, page_size=5, concurrency=4), policy(), SQLiteLedger()) as connector:
        report = connector.download()
    assert report.downloaded + report.ignored == 40
    assert store.peak_concurrent_latency >= 2  # several slices in flight at once
    probes = [r for r in store.requests if r.param("limit") == "1"]
    assert probes  # the count (galloping) and the probes are one-row pages


def test_an_order_deleted_between_the_listing_and_its_lines_is_kept_as_a_payload_error(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store(12, seed=4)
    victim = next(i for i in sorted(store.shop.orders) if store.shop.orders[i]["items_shipped"])
    deleted = []

    def delete_first(request: Any) -> None:
        if request.path.endswith(f"/orders/{victim}/shipments") and not deleted:
            deleted.append(victim)
            store.shop.delete(victim)

    store.on_request(delete_first)
    driver = driver_for(store, page_size=50)
    query = OrderQuery(updated_from=START, updated_to=store.now())
    with httpx.Client(auth=driver.auth()) as client:
        page: Page = run(driver.seek_page(query, Seek(), 50), client.send)
    failed = [o for o in page.orders if isinstance(o, PayloadError)]
    assert [f.order_ref for f in failed] == [str(victim)]
    assert failed[0].field == "shipments"
    assert failed[0].raw["order"]["id"] == victim
    assert len(page.orders) == 12


def test_lines_and_addresses_come_inline_so_only_shipped_orders_cost_a_request(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    """``include=consignments.line_items``: an order's lines and shipping addresses come with the listing;
    only an order with something shipped costs one more request (its shipments)."""
    store = make_store(30, seed=12)
    with Connector(driver_for(store, page_size=50), policy(), SQLiteLedger()) as connector:
        connector.download()
        order = next(r.order for r in [*connector.orders(), *connector.ignored()] if r.order.shipping_address)
    assert order.lines
    assert order.lines[0].sku == store.shop.products[int(order.order_id)][0]["sku"]
    assert order.shipping_address is not None
    subs = [r for r in store.requests if r.path.rsplit("/", 1)[-1] in ("products", "shipping_addresses", "shipments")]
    shipped = sum(1 for o in store.shop.orders.values() if o["items_shipped"])
    assert {r.path.rsplit("/", 1)[-1] for r in subs} <= {"shipments"}
    assert len(subs) == shipped


def test_one_status_filters_the_listing_several_do_not(make_store: Callable[..., FakeBigCommerce]) -> None:
    store = make_store(20, seed=8)
    driver = driver_for(store)
    with httpx.Client(auth=driver.auth()) as client:
        one = OrderQuery(updated_from=START, updated_to=store.now(), statuses=("11",))
        page = run(driver.seek_page(one, Seek(), 50), client.send)
        assert {o.status for o in page.orders} == {"11"}
        assert all(r.param("status_id") == "11" for r in store.requests if r.path.endswith("/orders"))
        store.clear_requests()
        two = OrderQuery(updated_from=START, updated_to=store.now(), statuses=("11", "7"))
        run(driver.seek_page(two, Seek(), 50), client.send)
        assert all(r.param("status_id") is None for r in store.requests if r.path.endswith("/orders"))


def test_starting_number_and_created_range_become_min_id_and_created_filters(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store(20, seed=9)
    start = sorted(store.shop.orders)[10]
    with Connector(
        driver_for(store), policy(range=DownloadRange(start=START, starting_number=str(start))), SQLiteLedger()
    ) as connector:
        connector.download()
        got = {int(r.order_id) for r in [*connector.orders(), *connector.ignored()]}
    assert got == {i for i in store.shop.orders if i >= start}
    listing = [r for r in store.requests if r.path.endswith("/orders")]
    assert all(int(r.param("min_id") or 0) >= start for r in listing)
    assert all(r.param("min_date_created") == "2020-01-01T00:00:00+00:00" for r in listing)


def test_a_store_clock_hours_ahead_still_reads_every_order(make_store: Callable[..., FakeBigCommerce]) -> None:
    """The window's end is the store's own time (its ``Date``), so a clock 3 hours ahead of ours loses nothing
    and orders edited during the run are stamped after the window."""
    ahead = timedelta(hours=3)
    store = make_store(0, clock=lambda: datetime.now(UTC) + ahead)
    for _ in range(15):
        store.shop.add_order(status_id=11)
    with Connector(driver_for(store, page_size=4), policy(), SQLiteLedger()) as connector:
        report = connector.download()
        assert report.downloaded == 15
        assert report.high_water_mark is not None
        assert report.high_water_mark > datetime.now(UTC) + timedelta(hours=2)


def test_reconcile_walks_the_keys_and_finds_an_order_the_listing_never_saw(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    """An order that appears with an old stamp (an import, a restored backup) lies behind the mark: the next
    download does not look there, ``reconcile`` (the key listing) does."""
    store = make_store(15, seed=6)
    with Connector(driver_for(store, page_size=4), policy(), SQLiteLedger()) as connector:
        connector.download()
        late = store.shop.add_order(status_id=11, stamp=datetime(2024, 1, 2, tzinfo=UTC))
        report = connector.reconcile(start=START)
        assert (report.listed, report.known, report.missing) == (16, 15, 1)
        assert connector.ledger.get(connector.store, str(late["id"])) is not None


# -- rate limits and errors -------------------------------------------------------------------------------


def test_a_429_waits_the_quota_reset_from_its_header() -> None:
    driver = BigCommerceDriver("abc123", "t")
    throttled = httpx.Response(
        429,
        headers={"X-Rate-Limit-Time-Reset-Ms": "1500", "X-Rate-Limit-Requests-Left": "0"},
        request=httpx.Request("GET", "https://x/stores/abc123/v2/orders"),
    )
    hint = driver.retry_hint(throttled)
    assert hint is not None
    assert hint.after == pytest.approx(1.5)


def test_the_store_quota_is_honoured_end_to_end(make_store: Callable[..., FakeBigCommerce]) -> None:
    """A quota of 4 requests per 300 ms window, no ``Retry-After``: the 429s are waited out with the reset."""
    store = make_store(10, seed=3)
    store.quota(4, window_ms=300)
    with Connector(driver_for(store, page_size=5), policy(), SQLiteLedger()) as connector:
        report = connector.download()
    assert report.downloaded + report.ignored == 10
    assert store.quota_refusals > 0
    assert driver_for(store, requests_per_30s=450).limits().rate == pytest.approx(15.0)


def test_a_refused_token_is_an_authentication_error_without_the_token(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store(3)
    driver = BigCommerceDriver(store.store_hash, "wrong-secret-token", base_url=store.base_url)
    assert "wrong-secret-token" not in repr(driver)
    assert "wrong-secret-token" not in repr(driver.auth())
    with Connector(driver, policy(), SQLiteLedger()) as connector, pytest.raises(AuthenticationError) as caught:
        connector.download()
    assert "wrong-secret-token" not in str(caught.value)
    assert "X-Auth-Token" in str(caught.value)  # BigCommerce's own message, from v2's error list


def test_a_missing_order_is_a_404_store_error(make_store: Callable[..., FakeBigCommerce]) -> None:
    store = make_store(1)
    with Connector(driver_for(store), policy(), SQLiteLedger()) as connector, pytest.raises(ConnectorError) as caught:
        connector.get_order("999999")
    assert getattr(caught.value, "http_status", None) == 404


def test_settings_load_from_the_environment_and_report_every_bad_value() -> None:
    driver = BigCommerceDriver.from_env(
        {
            "BIGCOMMERCE_STORE_HASH": "abc123",
            "BIGCOMMERCE_ACCESS_TOKEN": "tok",
            "BIGCOMMERCE_REQUESTS_PER_30S": "450",
        }
    )
    assert driver.api_root == "https://api.bigcommerce.com/stores/abc123"
    assert driver.limits().rate == pytest.approx(15.0)
    with pytest.raises(SettingsError) as caught:
        BigCommerceDriver.from_settings(
            {
                "store_hash": "not a hash",
                "access_token": "two words",
                "acknowledgement_status_id": "42",
            }
        )
    assert set(caught.value.problems) == {"store_hash", "access_token", "acknowledgement_status_id"}
    assert "two words" not in str(caught.value)
    assert BigCommerceSettings.__name__ == "BigCommerceSettings"
    with pytest.raises(ConfigurationError):
        BigCommerceDriver("abc123", "t", phone_order_status_id=99)


# -- writes -----------------------------------------------------------------------------------------------


def write_policy(**kwargs: Any) -> SyncPolicy:
    return policy(
        acknowledgement=Acknowledgement(status="9", comment="Received by the back office"),
        cancellation=Cancellation(comment="Out of stock"),
        **kwargs,
    )


def test_ship_posts_one_shipment_with_the_tracking_and_the_store_moves_the_status(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store()
    order = store.shop.add_order(status_id=11, lines=2)
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        connector.ship(str(order["id"]), Tracking("1Z999AA1", carrier_code="ups"), comment="Left today")
        (shipment,) = store.shop.shipments[order["id"]]
        assert (shipment["tracking_number"], shipment["tracking_carrier"], shipment["comments"]) == (
            "1Z999AA1",
            "ups",
            "Left today",
        )
        assert store.shop.orders[order["id"]]["status_id"] == 2
        again = connector.ship(str(order["id"]), "1Z999AA1")  # same tracking: found, not sent again
        assert len(store.shop.shipments[order["id"]]) == 1
        assert again is not None
    posts = [r for r in store.requests if r.method == "POST"]
    assert len(posts) == 1


def test_partial_lines_ship_only_those_and_leave_the_order_partially_shipped(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store()
    order = store.shop.add_order(status_id=11, lines=2)
    first = store.shop.products[order["id"]][0]
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        connector.ship(str(order["id"]), "1ZPART", lines=[(str(first["id"]), Decimal(1))])
    (shipment,) = store.shop.shipments[order["id"]]
    assert shipment["items"] == [{"order_product_id": first["id"], "product_id": first["product_id"], "quantity": 1}]
    assert store.shop.orders[order["id"]]["status_id"] == 3  # the default post-back status "2" is not forced


def test_acknowledge_and_cancel_write_a_status_and_a_staff_note_once(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store()
    order = store.shop.add_order(status_id=11)
    order_id = str(order["id"])
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        connector.acknowledge(order_id)
        assert store.shop.orders[order["id"]]["status_id"] == 9
        store.lose_write_answers(1, mode="drop")
        with pytest.raises(ConnectorError):
            connector.cancel(order_id)
        connector.cancel(order_id)  # looks first: the lost write was applied
    notes = store.shop.orders[order["id"]]["staff_notes"].splitlines()
    assert notes == ["Received by the back office", "Out of stock"]
    assert store.shop.orders[order["id"]]["status_id"] == 5
    puts = [json.loads(r.body) for r in store.requests if r.method == "PUT"]
    assert puts == [
        {"status_id": 9, "staff_notes": "Received by the back office"},
        {"status_id": 5, "staff_notes": "Received by the back office\nOut of stock"},
    ]


def test_a_status_that_is_not_an_id_is_refused_before_any_request() -> None:
    driver = BigCommerceDriver("abc123", "t")
    flow = driver.set_status(StatusChange("5", "shipped"))
    with pytest.raises(StatusNotAllowed, match="not a BigCommerce status id"):
        next(flow)


def test_search_items_by_variant_sku_and_by_text(make_store: Callable[..., FakeBigCommerce]) -> None:
    store = make_store()
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        (variant,) = connector.search_items(connector_query(skus=("SKU-001-M",)))
        assert (variant.sku, variant.name, variant.available) == ("SKU-001-M", "Orbit Terrarium", Decimal(12))
        assert ":" in variant.item_id  # product:variant
        plain = connector.search_items(connector_query(skus=("SKU-002",)))
        assert [i.sku for i in plain] == ["SKU-002"]
        assert ":" not in plain[0].item_id
        assert {i.name for i in connector.search_items("canvas")} == {"Canvas Tote"}
        assert isinstance(variant.price, Decimal)
    sku_in = [r for r in store.requests if r.param("sku:in")]
    assert sku_in


def connector_query(**kwargs: Any) -> Any:
    from ecc_connectors import ItemQuery

    return ItemQuery(**kwargs)


def test_a_phone_order_is_never_placed_twice_when_its_answer_is_lost(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    store = make_store()
    address = Address(
        name="Ana Silva",
        street=("1 Main St",),
        city="Austin",
        region="Texas",
        postcode="78751",
        country="US",
        email="ana@example.com",
    )
    new = NewOrder(
        reference="PO-1001",
        customer=Customer(name="Ana Silva", email="ana@example.com"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine("SKU-001-L", Decimal(2)), NewOrderLine("SKU-002", Decimal(1), unit_price=Decimal("9.99"))),
    )
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        store.lose_write_answers(1, mode="500")
        with pytest.raises(ConnectorError):
            connector.create_phone_order(new)
        placed = connector.create_phone_order(new)
    made = [o for o in store.shop.orders.values() if o["external_order_id"] == "PO-1001"]
    assert len(made) == 1
    assert placed.order_id == str(made[0]["id"])
    assert [(line.sku, line.quantity) for line in placed.lines] == [("SKU-001-L", 2), ("SKU-002", 1)]
    assert placed.lines[1].unit_price == Decimal("9.99")
    assert placed.status == "11"
    post = next(r for r in store.requests if r.method == "POST" and r.path.endswith("/v2/orders"))
    assert b'"price_ex_tax":9.99' in post.body  # the Decimal written exactly, as a JSON number
    assert PostBack is not None


def test_the_quickstart_runs_on_the_fake_without_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy
    from pathlib import Path

    for name in ("BIGCOMMERCE_STORE_HASH", "BIGCOMMERCE_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    example = Path(__file__).resolve().parents[1] / "examples" / "bigcommerce_quickstart.py"
    module = runpy.run_path(str(example))
    assert module["main"]() == 0
    out = capsys.readouterr().out
    assert "shipped #" in out
    assert "phone order #" in out


def test_the_driver_is_found_through_its_entry_point() -> None:
    import ecc_connectors

    assert "bigcommerce" in ecc_connectors.available_drivers()
    driver = ecc_connectors.create_driver("bigcommerce", store_hash="abc123", access_token="secret-token-1")
    assert isinstance(driver, BigCommerceDriver)
    assert repr(driver) == "BigCommerceDriver(store_hash='abc123', base_url='https://api.bigcommerce.com')"


def test_first_page_walks_the_same_keyset_as_a_cursor(make_store: Callable[..., FakeBigCommerce]) -> None:
    """For callers that list by pages: ``first_page`` and its ``FollowCursor`` chain return every order once,
    sorted by key; the key listing asks for no consignments."""
    store = make_store(25, seed=13)
    burst = datetime(2024, 6, 1, 8, 0, 0, tzinfo=UTC)
    for _ in range(9):  # a second that fills two pages: read by id
        store.shop.add_order(stamp=burst)
    driver = driver_for(store, page_size=4)
    query = OrderQuery(updated_from=START, updated_to=store.now())
    seen: list[str] = []
    with httpx.Client(auth=driver.auth()) as client:
        page: Page = run(driver.first_page(query), client.send)
        while True:
            seen += [o.order_id for o in page.orders if not isinstance(o, PayloadError)]
            if page.next is None:
                break
            page = run(page.next.fetch(), client.send)  # type: ignore[call-arg,union-attr]
        store.clear_requests()
        keys: list[OrderKey] = []
        after = None
        while True:
            found = run(driver.list_keys(query, Seek(after), 4), client.send)
            if not found.keys:
                break
            keys += found.keys
            after = found.keys[-1]
    assert sorted(seen) == sorted(str(i) for i in store.shop.orders)
    assert len(seen) == len(set(seen))
    assert keys == sorted(set(keys))
    assert len(keys) == len(store.shop.orders)
    assert any(r.param("sort") == "id:asc" for r in store.requests)
    assert all(r.param("include") is None for r in store.requests)


def test_the_benchmark_scenario_reads_every_order_and_reports_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    import runpy
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "benchmarks" / "bigcommerce.py"
    module = runpy.run_path(str(example))
    assert module["main"](["--orders", "40", "--latency", "0.005", "--concurrency", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["read"] == 40
    assert result["requests"] == sum(result["by_kind"].values())
    assert result["bound_seconds"] == pytest.approx(result["requests"] * 0.005 / 4, abs=0.01)


def test_a_count_that_lies_low_loses_nothing(
    make_store: Callable[..., FakeBigCommerce], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page's count only plans the slices: told there is 1 order when there are 30, the download
    still reads all 30 (the page's total is never below what it held plus one)."""
    store = make_store(30, seed=14)

    def lying_count(
        self: BigCommerceDriver, query: OrderQuery, shown: int
    ) -> Generator[httpx.Request, httpx.Response, int]:
        return 1
        yield  # pragma: no cover - a flow that sends nothing

    monkeypatch.setattr(BigCommerceDriver, "_count", lying_count)
    with Connector(driver_for(store, page_size=4), policy(), SQLiteLedger()) as connector:
        report = connector.download()
    assert report.downloaded + report.ignored + report.skipped == 30


def test_a_store_that_ignores_include_is_read_by_sub_resource(
    make_store: Callable[..., FakeBigCommerce], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(12, seed=15)
    monkeypatch.setattr(store.shop, "_shown", lambda order, query: dict(order))  # answers without consignments
    with Connector(driver_for(store), policy(), SQLiteLedger()) as connector:
        connector.download()
        orders = [r.order for r in [*connector.orders(), *connector.ignored()]]
    assert len(orders) == 12
    assert all(o.lines for o in orders)
    for order in orders:
        assert [line.line_id for line in order.lines] == [
            str(p["id"]) for p in sorted(store.shop.products[int(order.order_id)], key=lambda p: p["id"])
        ]
    kinds = {r.path.rsplit("/", 1)[-1] for r in store.requests}
    assert {"products", "shipping_addresses"} <= kinds


def test_an_order_shipped_to_two_addresses_gets_one_shipment_each_exactly_once(
    make_store: Callable[..., FakeBigCommerce],
) -> None:
    """BigCommerce takes one address per shipment: the driver sends one per address with lines left. The first
    one's connection drops after the store made it (so the call fails before the second); called again, the
    driver finds that address shipped (its tracking number) and ships only the other, and a third call finds
    everything done."""
    store = make_store()
    order = store.shop.add_order(status_id=11, lines=3, addresses=2)
    order_id = str(order["id"])
    with Connector(driver_for(store), write_policy(), SQLiteLedger()) as connector:
        store.on_request(lambda r: store.lose_write_answers(1, mode="drop") if _first_post(store) else None)
        with pytest.raises(ConnectorError):
            connector.ship(order_id, "1ZTWO")
        store.clear_hooks()
        assert len(store.shop.shipments[order["id"]]) == 1
        connector.ship(order_id, "1ZTWO")
        connector.ship(order_id, "1ZTWO")
    shipments = store.shop.shipments[order["id"]]
    assert len([r for r in store.requests if r.method == "POST"]) == 2
    assert sorted(s["order_address_id"] for s in shipments) == sorted(
        a["id"] for a in store.shop.addresses[order["id"]]
    )
    assert all(s["tracking_number"] == "1ZTWO" for s in shipments)
    assert store.shop.orders[order["id"]]["status_id"] == 2


def _first_post(store: FakeBigCommerce) -> bool:
    posts = [r for r in store.requests if r.method == "POST"]
    return len(posts) == 1 and store.requests[-1] is posts[-1]
