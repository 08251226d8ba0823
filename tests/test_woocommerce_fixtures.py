"""Every recorded WooCommerce response in ``shared/fixtures/woocommerce`` through the driver, each field checked by
name: orders (retrieve, list, create, delete, batch), order notes (the write flows' look-before-write reads
them) and refunds (their amounts add up to the refunds an order carries)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from _shared import shared_path
from ecc_connectors import BrokenAnswer, Order, PayloadError
from ecc_connectors.driver import OrderQuery, Seek
from ecc_connectors.drivers.woocommerce import WooCommerceDriver, order_from_payload

STORE = "woocommerce:example.com"


def fixture(name: str) -> Any:
    text = Path(shared_path("fixtures", "woocommerce", name)).read_bytes()
    # Through the driver's own decoder: non-integer JSON numbers (a line's price) become Decimal, never float.
    return WooCommerceDriver("https://example.com", "ck_x", "cs_y").decode(httpx.Response(200, content=text))


def orders_in(name: str) -> list[Any]:
    body = fixture(name)
    if isinstance(body, list):
        return body
    if "id" in body:
        return [body]
    return [row for rows in body.values() for row in rows]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


ORDER_FILES = [
    "orders__retrieve_an_order.json",
    "orders__list_all_orders.json",
    "orders__create_an_order.json",
    "orders__delete_an_order.json",
    "orders__batch_update_orders.json",
]


@pytest.mark.parametrize("name", ORDER_FILES)
def test_every_recorded_order_maps_without_a_payload_error(name: str) -> None:
    for payload in orders_in(name):
        order = order_from_payload(STORE, payload)
        assert isinstance(order, Order), order
        assert order.order_id == str(payload["id"])
        assert order.status == payload["status"]
        assert order.currency == payload["currency"]
        assert order.created_at == utc(payload["date_created_gmt"])  # the _gmt field, not the site's local time
        assert order.updated_at == utc(payload["date_modified_gmt"])
        assert order.totals.grand_total == Decimal(payload["total"])
        assert all(isinstance(line.unit_price, Decimal) for line in order.lines)


def test_order_727_field_by_field() -> None:
    order = order_from_payload(STORE, fixture("orders__retrieve_an_order.json"))
    assert isinstance(order, Order)
    assert (order.order_id, order.number, order.status, order.currency) == ("727", "727", "processing", "USD")
    assert order.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=timezone.utc)  # date_created is 16:28 local
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=timezone.utc)
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount) == (
        Decimal("18.00"),
        Decimal("10.00"),
        Decimal("1.35"),
        Decimal("0.00"),
    )
    assert (totals.grand_total, totals.paid, totals.due, totals.refunded) == (
        Decimal("29.35"),
        Decimal("29.35"),
        Decimal("0"),
        Decimal("0"),
    )  # date_paid_gmt is set: paid in full
    single, variation = order.lines
    assert (single.line_id, single.sku, single.quantity, single.unit_price, single.tax) == (
        "315",
        "",
        Decimal(2),
        Decimal(3),
        Decimal("0.45"),
    )
    assert (variation.sku, variation.quantity, variation.unit_price, variation.row_total, variation.product_type) == (
        "Bar3",
        Decimal(1),
        Decimal(12),
        Decimal("12.00"),
        "variation",
    )
    assert single.quantity_shipped == 0  # processing: nothing fulfilled yet
    billing = order.billing_address
    assert billing is not None
    assert (billing.name, billing.street, billing.city, billing.region, billing.postcode, billing.country) == (
        "John Doe",
        ("969 Market",),
        "San Francisco",
        "CA",
        "94103",
        "US",
    )
    assert (order.customer.email, order.customer.phone, order.customer.is_guest) == (
        "john.doe@example.com",
        "(555) 555-5555",
        True,
    )
    assert order.shipping_method == "Flat Rate"
    assert order.payments[0].method == "Direct Bank Transfer"
    assert order.payments[0].transaction_id is None
    assert order.shipments == ()


def test_order_723_completed_with_refunds_and_unpaid_date() -> None:
    payload = next(o for o in orders_in("orders__list_all_orders.json") if o["id"] == 723)
    order = order_from_payload(STORE, payload)
    assert isinstance(order, Order)
    assert order.status == "completed"
    assert order.totals.refunded == Decimal("19.00")  # refunds[].total -10.00 and -9.00
    assert order.totals.paid == 0  # date_paid_gmt is null: the store does not say it was paid
    assert all(line.quantity_shipped == line.quantity for line in order.lines)  # completed = fulfilled
    (shipment,) = order.shipments
    assert shipment.created_at == utc(payload["date_completed_gmt"])
    assert shipment.tracking_numbers == ()


def test_refund_fixtures_add_up_to_the_refunds_order_723_carries() -> None:
    listed = fixture("order-refunds__list_all_refunds.json")
    created = fixture("order-refunds__create_a_refund.json")
    order = order_from_payload(STORE, next(o for o in orders_in("orders__list_all_orders.json") if o["id"] == 723))
    assert isinstance(order, Order)
    assert sum(Decimal(r["amount"]) for r in listed) == order.totals.refunded
    assert Decimal(created["amount"]) in {Decimal(r["amount"]) for r in listed}


def test_note_fixtures_are_what_the_write_flows_look_for() -> None:
    driver = WooCommerceDriver("https://example.com", "ck_x", "cs_y")
    notes = fixture("order-notes__list_all_order_notes.json")
    created = fixture("order-notes__create_an_order_note.json")
    found = driver._note_found(notes, "Order ok!!!", False, None)
    assert found is not None
    assert found["id"] == created["id"] == 281
    assert driver._note_found(notes, "Order ok!!!", True, None) is None  # visibility must match too
    assert driver._note_found(notes, "Order ok!!!", False, utc("2017-03-21T19:46:42")) is None  # older than since


def test_a_recorded_listing_served_as_a_page() -> None:
    """The list fixture as the store's answer to a keyset request: keys sorted, both orders returned."""
    driver = WooCommerceDriver("https://example.com", "ck_x", "cs_y")
    body = Path(shared_path("fixtures", "woocommerce", "orders__list_all_orders.json")).read_bytes()
    flow = driver.seek_page(OrderQuery(), Seek(), 100)
    request = next(flow)
    assert request.url.params["orderby"] == "modified"
    # The recorded answer is newest first (WooCommerce's default order): the driver refuses it as unsorted,
    # then accepts the same rows sorted as it asked.
    with pytest.raises(BrokenAnswer, match="did not sort"):
        flow.send(httpx.Response(200, content=body, headers={"X-WP-Total": "2", "X-WP-TotalPages": "1"}))
    rows = sorted(json.loads(body), key=lambda o: o["date_modified_gmt"])
    flow = driver.seek_page(OrderQuery(), Seek(), 100)
    next(flow)
    try:
        flow.send(httpx.Response(200, json=rows, headers={"X-WP-Total": "2", "X-WP-TotalPages": "1"}))
    except StopIteration as done:
        page = done.value
    assert [k.id for k in page.keys] == [723, 727]
    assert page.total == 2
    assert not [o for o in page.orders if isinstance(o, PayloadError)]
