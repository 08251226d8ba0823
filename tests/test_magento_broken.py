"""Answers that cannot be read: a 2xx to a read that is cut short, not JSON, or not the envelope is
BrokenAnswer (the engine asks again); the same body answering a write stays a StoreError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

import test_magento_driver
from ecc_connectors import (
    BrokenAnswer,
    NumberedPages,
    OrderQuery,
    PayloadError,
    Probe,
    Seek,
    ShipmentRequest,
    StatusChange,
    StoreError,
    Tracking,
)
from ecc_connectors.drivers.magento2 import Magento2Driver
from test_magento_driver import (
    V1,
    new_order,
    order_json,
    page_json,
    run,
)

# The respx-mocked client and the Bearer-token driver of test_magento_driver, as this module's fixtures.
client = test_magento_driver.client
driver = test_magento_driver.driver

GOOD_PAGE = json.dumps(page_json(range(1, 4), 3)).encode()
GOOD_ORDER = json.dumps(order_json(12)).encode()

BROKEN_BODIES: dict[str, bytes] = {
    "cut short": GOOD_PAGE[: len(GOOD_PAGE) // 2],
    "cut in a string": GOOD_PAGE[: GOOD_PAGE.index(b"Costello") + 3],
    "empty": b"",
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "json but an array": b"[]",
    "json but a string": b'"ok"',
    "no items": b'{"total_count": 3}',
    "items an object": b'{"items": {"a": 1}, "total_count": 1}',
    "no total_count": b'{"items": []}',
    "total_count as text": b'{"items": [], "total_count": "3"}',
    "total_count true": b'{"items": [], "total_count": true}',
    "items null with rows counted": b'{"items": null, "total_count": 4}',
    "junk after the object": GOOD_PAGE + b"<!-- cache -->",
}


def broken(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def order_with(**extra: Any) -> httpx.Response:
    return httpx.Response(200, json=order_json(12, **extra))


ListingFlow = Callable[[Magento2Driver], Any]
LISTINGS: dict[str, ListingFlow] = {
    "first_page": lambda d: d.first_page(OrderQuery()),
    "seek_page": lambda d: d.seek_page(OrderQuery(), Seek(), 10),
    "probe": lambda d: d.probe(OrderQuery(), 0),
    "list_keys": lambda d: d.list_keys(OrderQuery(), Seek(), 10),
}


@pytest.mark.parametrize("body", list(BROKEN_BODIES.values()), ids=list(BROKEN_BODIES))
@pytest.mark.parametrize("listing", list(LISTINGS.values()), ids=list(LISTINGS))
def test_a_listing_that_cannot_be_read_is_broken(
    driver: Magento2Driver, client: httpx.Client, listing: ListingFlow, body: bytes
) -> None:
    respx.get(f"{V1}/orders").mock(return_value=broken(body))
    with pytest.raises(BrokenAnswer) as caught:
        run(listing(driver), client, driver)
    assert caught.value.store == driver.store_id
    assert caught.value.http_status == 200


def test_a_later_numbered_page_cut_short_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    full = httpx.Response(200, json=page_json(range(1, 101), 250))
    respx.get(f"{V1}/orders").mock(side_effect=[full, broken(BROKEN_BODIES["cut short"])])
    first = run(driver.first_page(OrderQuery()), client, driver)
    assert isinstance(first.next, NumberedPages)
    with pytest.raises(BrokenAnswer):
        run(first.next.fetch(2), client, driver)


@pytest.mark.parametrize("total", [-1, -(10**6), 2**32, 10**12])
def test_a_count_no_search_can_return_is_not_used(driver: Magento2Driver, client: httpx.Client, total: int) -> None:
    # An integer, so the page is read; but nothing is planned from it and it is not passed on.
    full = page_json(range(1, 101), total)
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=full))
    first = run(driver.first_page(OrderQuery()), client, driver)
    assert (len(first.orders), first.total, first.next) == (100, None, None)
    page = run(driver.seek_page(OrderQuery(), Seek(), 100), client, driver)
    assert (len(page.orders), len(page.keys), page.total) == (100, 100, None)
    keys = run(driver.list_keys(OrderQuery(), Seek(), 100), client, driver)
    assert (len(keys.keys), keys.total) == (100, None)
    assert run(driver.probe(OrderQuery(), 3), client, driver) == Probe(None, None)


def test_a_large_but_possible_count_plans_its_pages(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=page_json(range(1, 101), 2**32 - 1)))
    first = run(driver.first_page(OrderQuery()), client, driver)
    assert isinstance(first.next, NumberedPages)
    assert first.next.numbers == range(2, 42949674)
    assert first.next.page_size == 100


def test_items_null_with_nothing_counted_is_an_empty_page(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=broken(b'{"items": null, "total_count": 0}'))
    page = run(driver.first_page(OrderQuery()), client, driver)
    assert (page.orders, page.total, page.next) == ((), 0, None)


@pytest.mark.parametrize(
    "body",
    [GOOD_ORDER[:-40], GOOD_ORDER[:1], b"", b"<html>oops</html>", b"[]", b"null", b'"12"'],
    ids=["cut short", "one byte", "empty", "html", "array", "null", "string"],
)
def test_get_order_that_cannot_be_read_is_broken(driver: Magento2Driver, client: httpx.Client, body: bytes) -> None:
    respx.get(f"{V1}/orders/12").mock(return_value=broken(body))
    with pytest.raises(BrokenAnswer) as caught:
        run(driver.get_order("12"), client, driver)
    assert (caught.value.store, caught.value.order_id) == (driver.store_id, "12")


def test_get_order_of_a_poisoned_but_complete_order_is_a_payload_error(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    body = GOOD_ORDER.replace(b'"grand_total": 74', b'"grand_total": 1e1000000')
    respx.get(f"{V1}/orders/12").mock(return_value=broken(body))
    with pytest.raises(PayloadError) as caught:
        run(driver.get_order("12"), client, driver)
    assert not isinstance(caught.value, BrokenAnswer)
    assert (caught.value.order_ref, caught.value.field) == ("000000012", "grand_total")


# The look-ups made before a write ---------------------------------------------------------------------------
CUT = BROKEN_BODIES["cut short"]


def test_comment_check_reading_a_cut_order_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders/12").mock(return_value=broken(GOOD_ORDER[:-30]))
    post = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    with pytest.raises(BrokenAnswer) as caught:
        run(driver.set_status(StatusChange("12", "processing")), client, driver)
    assert caught.value.order_id == "12"
    assert not post.called


def test_shipment_look_up_cut_short_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=broken(CUT))
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="3"))
    with pytest.raises(BrokenAnswer):
        run(driver.ship(ShipmentRequest("12", tracking=(Tracking("T1"),))), client, driver)
    assert not post.called


def test_shipment_look_up_without_envelope_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    shipped = order_json(12)
    shipped["items"][0]["qty_shipped"] = 1
    respx.get(f"{V1}/orders/12").mock(return_value=httpx.Response(200, json=shipped))
    respx.get(f"{V1}/shipments").mock(return_value=broken(b'{"total_count": 1}'))
    with pytest.raises(BrokenAnswer):
        run(driver.ship(ShipmentRequest("12")), client, driver)


def test_invoice_look_up_cut_short_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    invoiced = order_json(12)
    invoiced["items"][0]["qty_invoiced"] = 1
    respx.get(f"{V1}/orders/12").mock(return_value=httpx.Response(200, json=invoiced))
    respx.get(f"{V1}/invoices").mock(return_value=broken(CUT))
    post = respx.post(f"{V1}/order/12/invoice").mock(return_value=httpx.Response(200, json="4"))
    with pytest.raises(BrokenAnswer):
        run(driver.invoice("12"), client, driver)
    assert not post.called


def test_placed_order_look_up_cut_short_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=broken(CUT))
    place = respx.put(f"{V1}/carts/42/order").mock(return_value=httpx.Response(200, json="21"))
    with pytest.raises(BrokenAnswer):
        run(driver.create_order(new_order("1"), "customer:42:42"), client, driver)
    assert not place.called


def test_guest_cart_read_cut_short_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    cart = "maskedcartid"
    respx.post(f"{V1}/guest-carts").mock(return_value=httpx.Response(200, json=cart))
    respx.post(f"{V1}/guest-carts/{cart}/items").mock(return_value=httpx.Response(200, json={}))
    respx.post(f"{V1}/guest-carts/{cart}/shipping-information").mock(return_value=httpx.Response(200, json={}))
    respx.get(f"{V1}/guest-carts/{cart}").mock(return_value=broken(b'{"id": 5, "items_co'))
    with pytest.raises(BrokenAnswer):
        run(driver.reserve_order(new_order()), client, driver)


# Writes keep StoreError -------------------------------------------------------------------------------------
def test_a_write_answered_with_a_broken_body_is_a_store_error_not_broken(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    respx.get(f"{V1}/orders/12").mock(return_value=order_with())
    respx.post(f"{V1}/order/12/invoice").mock(return_value=broken(b'"4'))
    respx.post(f"{V1}/orders/12/comments").mock(return_value=broken(b"<html>"))
    with pytest.raises(StoreError) as invoice:
        run(driver.invoice("12"), client, driver)
    assert not isinstance(invoice.value, BrokenAnswer)
    with pytest.raises(StoreError) as comment:
        run(driver.set_status(StatusChange("12", "processing")), client, driver)
    assert not isinstance(comment.value, BrokenAnswer)


def test_placing_answered_with_a_broken_body_is_a_store_error(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json={"items": [], "total_count": 0}))
    respx.put(f"{V1}/carts/42/order").mock(return_value=broken(b'"2'))
    with pytest.raises(StoreError) as caught:
        run(driver.create_order(new_order("1"), "customer:42:42"), client, driver)
    assert not isinstance(caught.value, BrokenAnswer)


def test_broken_answer_keeps_no_more_than_the_start_of_the_body(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=broken(b"<html>" + b"x" * 10_000))
    with pytest.raises(BrokenAnswer) as caught:
        run(driver.first_page(OrderQuery()), client, driver)
    assert caught.value.detail["bytes"] == 10_006
    assert len(caught.value.detail["start"]) == 120
