"""Shopify's recorded REST sample orders, served by the fake over GraphQL, read by the driver: every value the
driver returns is checked against the fixture file itself (field meanings), not against the fake's seed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from _shared import shared_path
from ecc_connectors import Connector, SQLiteLedger
from ecc_connectors.testing.shopify import FakeShopify
from test_shopify_support import fake_shop, policy, shopify_driver


def _load(name: str) -> Any:
    return json.loads(shared_path("fixtures", "shopify", *name.split("/")).read_text())


def _rest_orders() -> list[dict[str, Any]]:
    found = [_load("order.json")["order"]]
    found += _load("rest-2024-07/orders_list_status_any.json")["response_body"]["orders"]
    found.append(_load("rest-2024-07/orders_list_since_id.json")["response_body"]["orders"][0])
    return found


@pytest.fixture
def store() -> Iterator[FakeShopify]:
    with fake_shop() as fake:
        yield fake


@pytest.mark.parametrize("index", range(3))
def test_recorded_orders_read_back_with_their_own_values(store: FakeShopify, index: int) -> None:
    rest = _rest_orders()[index]
    store.add_rest_order(rest)
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        order = connector.get_order(str(rest["id"]))
    assert order.order_id == str(rest["id"])
    assert order.number == rest["name"]
    assert order.currency == rest["currency"]
    assert order.customer.email == rest["customer"]["email"]
    assert order.shipping_address is not None
    assert order.shipping_address.city == rest["shipping_address"]["city"]
    assert order.shipping_address.postcode == rest["shipping_address"]["zip"]
    skus = [line["sku"] for line in rest["line_items"]]
    assert [line.sku for line in order.lines] == skus
    for line, item in zip(order.lines, rest["line_items"], strict=True):
        assert line.unit_price == Decimal(item["price"])
        assert line.quantity == Decimal(item.get("current_quantity", item["quantity"]))
        assert line.tax == sum((Decimal(t["price"]) for t in item.get("tax_lines") or ()), Decimal(0))
    total = rest.get("current_total_price") or rest["total_price"]
    assert order.totals.grand_total == Decimal(total)
    assert isinstance(order.totals.grand_total, Decimal)
    numbers = [n for f in rest.get("fulfillments") or () for n in f.get("tracking_numbers") or ()]
    assert [n for s in order.shipments for n in s.tracking_numbers] == numbers
    financial = str(rest["financial_status"]).upper()
    assert order.status.split("|")[0] in (financial, "CANCELLED")
    assert order.created_at.tzinfo is not None
    assert order.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert order.payments[0].method == (rest.get("payment_gateway_names") or [rest.get("gateway")])[0]


def test_a_removed_line_keeps_its_original_quantity_in_raw(store: FakeShopify) -> None:
    """The 2024-07 sample has a line whose current quantity is 0 (removed after an edit or refund): the order
    shows 0 and the payload keeps the quantity first ordered."""
    rest = _load("rest-2024-07/orders_list_status_any.json")["response_body"]["orders"][0]
    store.add_rest_order(rest)
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        order = connector.get_order(str(rest["id"]))
    removed = [i for i in rest["line_items"] if i["current_quantity"] != i["quantity"]]
    assert removed, "the fixture has a line changed after the order was placed"
    line = next(line for line in order.lines if line.line_id == str(removed[0]["id"]))
    assert line.quantity == Decimal(removed[0]["current_quantity"])
    raw_line = next(n for n in order.raw["lineItems"]["nodes"] if n["id"].endswith(str(removed[0]["id"])))
    assert raw_line["quantity"] == removed[0]["quantity"]
    assert order.raw["totalPriceSet"]["presentmentMoney"]["currencyCode"] == rest["presentment_currency"]
