"""Phone orders on Shopify: items from ``productVariants`` (SKU, title, price, inventory), the order through a
tagged draft order completed once, paid or pending as set, never twice when answers are lost."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from ecc_connectors import (
    Address,
    Connector,
    ConnectorError,
    Customer,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    SQLiteLedger,
)
from ecc_connectors.testing.shopify import FakeShopify
from test_shopify_support import fake_shop, policy, shopify_driver

pytestmark = pytest.mark.usefixtures("quiet_retries")


@pytest.fixture
def store() -> Iterator[FakeShopify]:
    with fake_shop() as fake:
        yield fake


def _new_order(reference: str, variant_id: str) -> NewOrder:
    address = Address(
        name="Ada Lovelace", street=("12 Analytical Row",), city="London", postcode="N1 9GU", country="GB"
    )
    return NewOrder(
        reference=reference,
        customer=Customer(name="Ada Lovelace", email="ada@example.com"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine("MUG-001", Decimal(2), item_id=variant_id),),
        currency="USD",
    )


def test_items_by_sku_and_by_text(store: FakeShopify) -> None:
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        by_sku = connector.search_items(ItemQuery(skus=("MUG-001", "SOCK-3PK")))
        by_text = connector.search_items("nano")
    assert {i.sku for i in by_sku} == {"MUG-001", "SOCK-3PK"}
    mug = next(i for i in by_sku if i.sku == "MUG-001")
    assert mug.price == Decimal("12.99")
    assert mug.available == Decimal(25)
    assert {i.sku for i in by_text} == {"IPOD2008GREEN", "IPOD2008RED"}


@pytest.mark.parametrize("lost", ["draftOrderCreate", "draftOrderComplete"])
def test_a_phone_order_is_created_once_when_an_answer_is_lost(store: FakeShopify, lost: str) -> None:
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        mug = connector.search_items(ItemQuery(skus=("MUG-001",)))[0]
        order = _new_order(f"PHONE-{lost}", mug.item_id)
        hits = [0]

        def lose(request: object) -> None:
            body = getattr(request, "body", b"")
            if lost.encode() in body and hits[0] == 0:
                hits[0] += 1
                store.lose_write_answers(1, mode="500")

        store.on_request(lose)  # type: ignore[arg-type]
        with pytest.raises(ConnectorError):
            connector.create_phone_order(order)
        store.clear_hooks()
        made = connector.create_phone_order(order)
        again = connector.create_phone_order(order)
    assert made.order_id == again.order_id
    assert len(store.shop.drafts) == 1
    created = [o for o in store.shop.orders.values() if f"ecc-ref-PHONE-{lost}" in o["tags"]]
    assert len(created) == 1
    assert created[0]["legacyResourceId"] == made.order_id
    assert made.status == "PENDING|UNFULFILLED"  # pending unless phone_orders_paid
    assert [(line.sku, line.quantity) for line in made.lines] == [("MUG-001", Decimal(2))]


def test_a_paid_phone_order(store: FakeShopify) -> None:
    with Connector(shopify_driver(store, phone_orders_paid=True), policy(), SQLiteLedger()) as connector:
        mug = connector.search_items(ItemQuery(skus=("MUG-001",)))[0]
        made = connector.create_phone_order(_new_order("PHONE-PAID", mug.item_id))
    assert made.status == "PAID|UNFULFILLED"
