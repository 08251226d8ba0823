"""Every recorded BigCommerce example in ``../shared/fixtures/bigcommerce`` maps to the right values.

The fixtures are BigCommerce's own documentation examples (orders v2 spec and orders guide, see their
SOURCE.md). Each test names the fields it checks. Responses go through the driver's flows, answered by hand
from the files (a small router standing in for the store); request examples go through the spec check the fake
store uses, and through the fake store itself.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from _shared import shared_path
from ecc_connectors.driver import Order, PayloadError
from ecc_connectors.drivers.bigcommerce import BigCommerceDriver, Pieces, parse_order, parse_time
from ecc_connectors.testing.bigcommerce import FakeBigCommerce, load_spec

UTC = timezone.utc


def fixture(name: str) -> Any:
    return json.loads((shared_path("fixtures", "bigcommerce") / name).read_text(encoding="utf-8"))


def every_fixture() -> list[str]:
    folder = Path(shared_path("fixtures", "bigcommerce"))
    return sorted(p.name for p in folder.glob("*.json"))


def run(flow: Generator[httpx.Request, httpx.Response, Any], answers: dict[str, Any]) -> tuple[Any, list[str]]:
    """Answer each request of ``flow`` from ``answers`` (path suffix -> JSON body; ``None``: 204)."""
    seen: list[str] = []
    try:
        request = next(flow)
        while True:
            path = request.url.path
            seen.append(f"{request.method} {path}")
            body = next((value for suffix, value in answers.items() if path.endswith(suffix)), "missing")
            if body == "missing":
                response = httpx.Response(404, json=[{"status": 404, "message": "not found"}], request=request)
            elif body is None:
                response = httpx.Response(204, request=request)
            else:
                response = httpx.Response(200, json=body, request=request)
            request = flow.send(response)
    except StopIteration as done:
        return done.value, seen


DRIVER = BigCommerceDriver("abc123", "token", base_url="https://api.bigcommerce.test")


def test_the_order_row_of_get_orders_id_maps_money_times_status_and_billing() -> None:
    """``get_orders_id__200__response.json`` (order 218): id, number, status_id 7, RFC 2822 dates, money
    strings with four decimals, discount = discount_amount + coupon_discount, payment_status authorized (not
    paid), billing address, the sub-resources fetched by their own paths."""
    row = fixture("get_orders_id__200__response.json")
    order, seen = run(DRIVER.get_order("218"), {"/orders/218": row, "/products": None, "/shipping_addresses": None})
    assert isinstance(order, Order)
    assert seen == [
        "GET /stores/abc123/v2/orders/218",
        "GET /stores/abc123/v2/orders/218/products",
        "GET /stores/abc123/v2/orders/218/shipping_addresses",  # shipping_address_count 1; items_shipped 0
    ]
    assert (order.order_id, order.number, order.status, order.state) == ("218", "218", "7", "Awaiting Payment")
    assert order.created_at == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert order.updated_at == datetime(2019, 3, 11, 15, 17, 25, tzinfo=UTC)
    assert order.currency == "USD"
    totals = order.totals
    assert totals.subtotal == Decimal("62.6793")  # subtotal_ex_tax, exact
    assert totals.shipping == Decimal("11.0900")  # shipping_cost_ex_tax
    assert totals.tax == Decimal("5.3100")  # total_tax
    assert totals.discount == Decimal("10.0000")  # discount_amount 5 + coupon_discount 5
    assert totals.grand_total == Decimal("69.8400")  # total_inc_tax
    assert (totals.paid, totals.due) == (Decimal(0), Decimal("69.8400"))  # authorized, not captured
    assert order.payments[0].method == "Cash"
    assert order.payments[0].amount_authorized == Decimal("69.8400")
    assert order.customer.store_customer_id == "11"
    assert not order.customer.is_guest
    billing = order.billing_address
    assert billing is not None
    assert (billing.name, billing.street, billing.city, billing.region, billing.postcode, billing.country) == (
        "Jane Doe",
        ("555 East Street",),
        "Austin",
        "Texas",
        "78108",
        "US",
    )
    assert billing.email == "janedoe@example.com"
    assert order.customer.email == "janedoe@example.com"
    assert order.raw["order"]["fees"][0]["base_cost"] == "12.3000"  # fees kept as they came


def test_the_listing_example_maps_each_row() -> None:
    """``get_orders__200__response.json``: the one row (order 100): status 11, authorized, totals."""
    (row,) = fixture("get_orders__200__response.json")
    parsed = parse_order("bigcommerce:abc123", Pieces(row))
    assert isinstance(parsed, Order)
    assert (parsed.order_id, parsed.status) == ("100", "11")
    assert parsed.updated_at == datetime(2018, 12, 5, 20, 16, 55, tzinfo=UTC)
    assert parsed.totals.grand_total == Decimal("361.9500")
    assert parsed.totals.subtotal == Decimal("336.3200")
    assert parsed.customer.store_customer_id == "20"


@pytest.mark.parametrize("name", ["put_orders_id__200__response.json", "put_orders_id__200__multiple_items.json"])
def test_the_update_answers_map_too(name: str) -> None:
    """The PUT examples answer the order row; ``multiple_items`` writes money with two decimals and no
    trailing zeros (``"924.47"``, ``"8"``): read exactly as written."""
    parsed = parse_order("bigcommerce:abc123", Pieces(fixture(name)))
    assert isinstance(parsed, Order), parsed
    row = fixture(name)
    assert parsed.totals.grand_total == Decimal(row["total_inc_tax"])
    assert parsed.totals.subtotal == Decimal(row["subtotal_ex_tax"])
    assert parsed.status == str(row["status_id"])
    if name.endswith("multiple_items.json"):
        assert parsed.totals.subtotal == Decimal("924.47")
        assert parsed.totals.shipping == Decimal("7.39")


def test_products_addresses_and_shipments_map_onto_lines_address_and_shipments() -> None:
    """``get_orders_id_products`` (order 149), ``get_orders_id_shipping_addresses`` (order 229) and
    ``get_orders_id_shipments`` (order 225) as the pieces of one order: line id, sku, name, quantity, unit
    price ex tax, line tax, discounts from ``applied_discounts``, a bundled child not counted; the first
    shipping address and its method; each shipment's id, tracking number, carrier and RFC 2822 time."""
    row = dict(fixture("get_orders_id__200__response.json"), items_shipped=1)
    products = fixture("get_orders_id_products__200__response.json")
    addresses = fixture("get_orders_id_shipping_addresses__200__response.json")
    shipments = fixture("get_orders_id_shipments__200__application_json.json")
    order, _ = run(
        DRIVER.get_order("218"),
        {"/orders/218": row, "/products": products, "/shipping_addresses": addresses, "/shipments": shipments},
    )
    first, child = order.lines
    assert (first.line_id, first.sku, first.name) == ("65", "S-ORAN", "Fog Linen Chambray Towel - Beige Stripe")
    assert (first.quantity, first.unit_price, first.tax, first.row_total) == (
        Decimal(1),
        Decimal("55.9900"),
        Decimal("9.2400"),
        Decimal("55.9900"),
    )
    assert first.discount == Decimal("1.5900")  # the manual discount applied to the line
    assert first.counts
    assert first.parent_line_id is None
    assert child.parent_line_id == "65"
    assert not child.counts
    shipping = order.shipping_address
    assert shipping is not None
    assert (shipping.name, shipping.company, shipping.street, shipping.city, shipping.postcode) == (
        "Trishy Smith",
        "Acme Pty Ltd",
        ("666 Sussex St",),
        "San Antonio",
        "78251",
    )
    assert order.shipping_method == ""  # "None" is BigCommerce's word for no method
    assert [(s.shipment_id, s.tracking_numbers, s.carrier) for s in order.shipments] == [
        ("6", ("EJ958083578US",), "usps"),
        ("7", ("EJ958083578UK",), "usps"),
    ]
    assert order.shipments[0].created_at == datetime(2019, 3, 11, 17, 22, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["post_orders_id_shipments__201__application_json.json", "put_orders_id_shipments_id__200__application_json.json"],
)
def test_a_created_or_updated_shipment_maps_as_a_shipment(name: str) -> None:
    shipment = fixture(name)
    row = dict(fixture("get_orders_id__200__response.json"), items_shipped=1)
    order, _ = run(
        DRIVER.get_order("218"),
        {"/orders/218": row, "/products": None, "/shipping_addresses": None, "/shipments": [shipment]},
    )
    (mapped,) = order.shipments
    assert mapped.shipment_id == str(shipment["id"])
    assert mapped.tracking_numbers == (shipment["tracking_number"],)
    assert mapped.created_at == parse_time(shipment["date_created"])


def test_order_statuses_keep_the_custom_labels() -> None:
    """``get_order_statuses``: 15 ids as strings, a custom label wins over the system one."""
    statuses, _ = run(DRIVER.list_statuses(), {"/order_statuses": fixture("get_order_statuses__200__response.json")})
    assert [s.code for s in statuses] == [str(i) for i in range(15)]
    labels = {s.code: s.label for s in statuses}
    assert labels["0"] == "Incomplete - Testing"
    assert labels["10"] == "Completed - Testing"
    assert labels["11"] == "Awaiting Fulfillment"


def test_messages_are_not_read_but_their_times_are_rfc_2822() -> None:
    """The driver does not read ``/orders/{id}/messages`` (customer messages are not order notes); the example
    still parses with the same time reader."""
    (message,) = fixture("get_orders_id_messages__200__response.json")
    assert parse_time(message["date_created"]) == datetime(2018, 9, 26, 15, 52, 3, tzinfo=UTC)


def test_a_broken_fixture_row_is_a_payload_error_naming_the_field() -> None:
    row = dict(fixture("get_orders_id__200__response.json"), total_inc_tax="sixty")
    parsed = parse_order("bigcommerce:abc123", Pieces(row))
    assert isinstance(parsed, PayloadError)
    assert parsed.order_ref == "218"
    assert parsed.field == "totals"
    assert "total_inc_tax" in str(parsed)
    assert parsed.raw["order"]["total_inc_tax"] == "sixty"


def test_the_request_examples_against_the_spec_and_the_fake() -> None:
    """The orders guide's status change fits the spec; its shipment example sends ``order_address_id`` as the
    string ``"128"``, which the spec types as integer: the spec check reports it and the fake refuses it."""
    spec = load_spec(str(shared_path("specs", "bigcommerce")))
    headers = {"Accept": "application/json", "Content-Type": "application/json", "X-Auth-Token": "t"}
    for name in ("put_orders_id__request__change_status_orders_guide.json", "put_orders_id__request__requests.json"):
        body = json.dumps(fixture(name)).encode()
        assert spec.request_errors("PUT", "/stores/abc123/v2/orders/5", [], headers, body) == [], name
    shipment = json.dumps(fixture("post_orders_id_shipments__request__orders_guide.json")).encode()
    errors = spec.request_errors("POST", "/stores/abc123/v2/orders/5/shipments", [], headers, shipment)
    assert any("integer" in e for e in errors), errors
    with FakeBigCommerce() as store:
        order = store.shop.add_order(status_id=11, lines=1)
        answer = httpx.post(
            f"{store.base_url}/stores/{store.store_hash}/v2/orders/{order['id']}/shipments",
            content=shipment,
            headers={**headers, "X-Auth-Token": store.token},
        )
        assert answer.status_code == 400
        assert "order_address_id" in answer.json()[0]["message"]


def test_every_fixture_file_is_used_here() -> None:
    """A new fixture file must get a test: this lists the ones the tests above read."""
    used = {
        "get_order_statuses__200__response.json",
        "get_orders__200__response.json",
        "get_orders_id__200__response.json",
        "get_orders_id_messages__200__response.json",
        "get_orders_id_products__200__response.json",
        "get_orders_id_shipments__200__application_json.json",
        "get_orders_id_shipping_addresses__200__response.json",
        "post_orders_id_shipments__201__application_json.json",
        "post_orders_id_shipments__request__orders_guide.json",
        "put_orders_id__200__multiple_items.json",
        "put_orders_id__200__response.json",
        "put_orders_id__request__change_status_orders_guide.json",
        "put_orders_id__request__requests.json",
        "put_orders_id_shipments_id__200__application_json.json",
        "put_orders_id_shipments_id__request__application_json.json",
    }
    assert set(every_fixture()) == used


def test_the_shipment_update_request_example_fits_the_spec() -> None:
    spec = load_spec(str(shared_path("specs", "bigcommerce")))
    body = json.dumps(fixture("put_orders_id_shipments_id__request__application_json.json")).encode()
    headers = {"Accept": "application/json", "Content-Type": "application/json", "X-Auth-Token": "t"}
    assert spec.request_errors("PUT", "/stores/abc123/v2/orders/5/shipments/3", [], headers, body) == []
