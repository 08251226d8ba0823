"""Real recorded Magento responses (../shared/fixtures/magento) parse into the right Orders."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from _shared import shared_path
from ecc_connectors import Order, ShipmentRequest, StatusChange, WriteResult
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver


def fixture(name: str) -> Path:
    return shared_path("fixtures", "magento", name)


def load(name: str) -> Order:
    """Through the driver's own flow, from the recorded body bytes."""
    body = fixture(name).read_bytes()
    driver = Magento2Driver("http://magento", auth=BearerToken("t"))
    entity = json.loads(body)["entity_id"]
    flow = driver.get_order(str(entity))
    request = next(flow)
    assert request.url.path == f"/rest/default/V1/orders/{entity}"
    with pytest.raises(StopIteration) as done:
        flow.send(httpx.Response(200, content=body, request=request))
    order = done.value.value
    assert isinstance(order, Order)
    return order


def counted_row_total(order: Order) -> Decimal:
    return sum((line.row_total for line in order.lines if line.counts), Decimal(0))


def order_fixture_names() -> list[str]:
    folder = fixture("")
    return sorted(p.name for p in folder.glob("order_get_*.json"))


def test_every_recorded_order_parses() -> None:
    names = order_fixture_names()
    assert len(names) >= 7
    for name in names:
        order = load(name)
        raw = json.loads(fixture(name).read_text())
        assert order.order_id == str(raw["entity_id"])
        assert order.number == raw["increment_id"]
        assert order.status == raw["status"]
        assert order.state == raw["state"]
        assert order.currency == raw["order_currency_code"]
        assert order.created_at.tzinfo is not None
        assert len(order.lines) == len(raw["items"])
        assert order.totals.grand_total == Decimal(str(raw["grand_total"]))


def test_order_9_is_unpaid_with_absent_paid_keys() -> None:
    order = load("order_get_9_new_pending_configurable.json")
    raw = json.loads(fixture("order_get_9_new_pending_configurable.json").read_text())
    assert "total_paid" not in raw
    assert (order.state, order.status) == ("new", "pending")
    assert order.totals.paid == Decimal(0)
    assert order.totals.due == Decimal("396.87")
    assert order.totals.grand_total == Decimal("396.87")
    assert order.totals.tax == Decimal("29.87")
    assert order.totals.shipping == Decimal(5)
    assert not order.fully_paid
    assert order.payments[0].method == "checkmo"
    assert order.payments[0].amount_paid == Decimal(0)
    assert order.shipping_method == "tablerate_bestway"
    assert order.shipping_address is not None
    assert order.shipping_address.street == ("6146 Honey Bluff Parkway",)
    assert order.customer.name == "Veronica Costello"
    assert order.customer.store_customer_id == "1"
    assert not order.customer.is_guest
    assert order.replaces is None


@pytest.mark.parametrize(
    "name",
    [
        "order_get_9_new_pending_configurable.json",
        "order_get_10_edited_child_of_9.json",
        "order_get_16_guest.json",
    ],
)
def test_configurable_lines_are_not_double_counted(name: str) -> None:
    order = load(name)
    assert counted_row_total(order) == order.totals.subtotal
    # The simple child repeats its parent's price and quantity: counting it would overstate the order.
    counted = sum((line.unit_price * line.quantity for line in order.lines if line.counts), Decimal(0))
    everything = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    assert counted == order.totals.subtotal < everything
    assert all(line.parent_line_id for line in order.lines if not line.counts)


def test_order_9_configurable_parent_and_child() -> None:
    order = load("order_get_9_new_pending_configurable.json")
    by_id = {line.line_id: line for line in order.lines}
    parent, child, dress = by_id["16"], by_id["17"], by_id["18"]
    assert (parent.product_type, parent.counts, parent.quantity, parent.row_total) == (
        "configurable",
        True,
        Decimal(2),
        Decimal(138),
    )
    assert (child.parent_line_id, child.counts, child.product_type) == ("16", False, "simple")
    assert dress.counts
    assert dress.parent_line_id is None
    assert sum(line.quantity for line in order.lines if line.counts) == Decimal(3)


def test_guest_order_16() -> None:
    order = load("order_get_16_guest.json")
    assert order.customer.is_guest
    assert order.customer.store_customer_id is None
    assert order.customer.email == "guest@guest.com"
    assert order.customer.name == "Guest Guester"
    assert order.shipping_method == "flatrate_flatrate"
    assert order.totals.due == Decimal(54)


def test_order_10_is_the_edited_replacement_of_9() -> None:
    edited = load("order_get_10_edited_child_of_9.json")
    original = load("order_get_9_canceled_after_edit.json")
    assert edited.replaces == "9"
    assert edited.replaces == original.order_id
    assert edited.number == "000000013-1"
    assert (original.state, original.status) == ("canceled", "canceled")
    assert original.replaces is None
    assert edited.totals.due == Decimal("322.17")


def test_order_12_shipped_quantities_and_history() -> None:
    before = load("order_get_12_processing.json")
    after = load("order_get_12_shipped_with_status_histories.json")
    assert [line.quantity_shipped for line in before.lines] == [Decimal(0), Decimal(0)]
    assert not before.fully_shipped
    assert [(line.line_id, line.quantity_shipped) for line in after.lines] == [
        ("24", Decimal(1)),
        ("25", Decimal(1)),
    ]
    assert after.fully_shipped
    assert [note.text for note in after.notes] == ["pending", "canceled", "pending", "canceled"]
    assert all(note.created_at is not None and note.created_at.tzinfo for note in after.notes)
    assert after.totals.discount == Decimal("-58.6")
    # In this recording each row total is already net of its discount: the subtotal ties to them with it.
    assert sum((line.row_total + line.discount for line in after.lines), Decimal(0)) == after.totals.subtotal


def recorded_calls() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(fixture("write_calls_recorded.json").read_text())
    return data


def test_recorded_ship_answer_parses_as_the_shipment_id() -> None:
    ship_calls = [c for c in recorded_calls() if c["path"].endswith("/ship")]
    assert [c["response_raw"] for c in ship_calls] == ['"3"', '"5"']
    driver = Magento2Driver("http://magento", auth=BearerToken("t"))
    for call, expected in zip(ship_calls, ["3", "5"], strict=True):
        flow = driver.ship(ShipmentRequest(order_id="12"))
        # Without tracking numbers the flow first reads the order's lines: nothing shipped yet, so it ships.
        check = next(flow)
        assert (check.method, check.url.path) == ("GET", "/rest/default/V1/orders/12")
        unshipped = fixture("order_get_12_processing.json").read_bytes()
        request = flow.send(httpx.Response(200, content=unshipped, request=check))
        assert (request.method, request.url.path) == ("POST", "/rest/default/V1/order/12/ship")
        response = httpx.Response(
            call["status"],
            content=call["response_raw"].encode(),
            headers={"Content-Type": call["content_type"]},
            request=request,
        )
        with pytest.raises(StopIteration) as done:
            flow.send(response)
        assert done.value.value.shipment_id == expected
        assert not done.value.value.already_shipped


def test_recorded_invoice_and_comment_answers() -> None:
    calls = {c["path"]: c for c in recorded_calls()}
    driver = Magento2Driver("http://magento", auth=BearerToken("t"))
    invoice = driver.invoice("16")
    check = next(invoice)
    assert (check.method, check.url.path) == ("GET", "/rest/default/V1/orders/16")
    request = invoice.send(httpx.Response(200, content=fixture("order_get_16_guest.json").read_bytes(), request=check))
    assert (request.method, request.url.path) == ("POST", "/rest/default/V1/order/16/invoice")
    with pytest.raises(StopIteration) as done:
        invoice.send(
            httpx.Response(200, content=calls["/rest/V1/order/16/invoice"]["response_raw"].encode(), request=request)
        )
    assert done.value.value == WriteResult(reference="4")
    comment = driver.set_status(StatusChange("12", "pending"))
    check = next(comment)
    assert (check.method, check.url.path) == ("GET", "/rest/default/V1/orders/12")
    # The recorded history has no entry with status "pending" and an empty comment: the comment is posted.
    history = fixture("order_get_12_shipped_with_status_histories.json").read_bytes()
    request = comment.send(httpx.Response(200, content=history, request=check))
    assert (request.method, request.url.path) == ("POST", "/rest/default/V1/orders/12/comments")
    with pytest.raises(StopIteration) as done:
        comment.send(
            httpx.Response(200, content=calls["/rest/V1/orders/12/comments"]["response_raw"].encode(), request=request)
        )
    assert done.value.value == WriteResult()
