"""Items for phone orders, and creating the phone order in NetSuite."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ecc_connectors import (
    Address,
    ConfigurationError,
    Customer,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    StoreError,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import Runner

ADDRESS = Address(
    name="Bart Simpson",
    company="Kwik-E-Mart",
    street=("742 Evergreen Terrace", "Apt 2"),
    city="Springfield",
    region="OR",
    postcode="97403",
    country="US",
    phone="555-0113",
)


def test_search_by_text_finds_active_items_of_every_sellable_kind(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    items = ns_run(ns_driver.search_items(ItemQuery(text="")))
    by_sku = {item.sku: item for item in items}
    assert set(by_sku) == {"TD-100", "KIT-FA", "SVC-FIT", "NI-GLOVE", "ASM-CHAIR"}  # TD-OLD is inactive
    assert {item.item_type for item in items} == {
        "inventoryItem",
        "kitItem",
        "serviceSaleItem",
        "nonInventorySaleItem",
        "assemblyItem",
    }
    assert by_sku["TD-100"].price == Decimal("14.00")  # base price level of the pricing matrix
    assert by_sku["SVC-FIT"].price == Decimal("75.00")  # no matrix: the record's rate
    assert by_sku["TD-100"].available == Decimal("120")
    assert by_sku["ASM-CHAIR"].available == Decimal("3")
    assert by_sku["KIT-FA"].available is None  # kits do not track stock of their own
    assert all(isinstance(item.price, Decimal) and item.source == "netsuite" for item in items)
    assert by_sku["TD-100"].item_id == "15"


def test_text_matches_item_id_or_display_name(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    by_name = ns_run(ns_driver.search_items(ItemQuery(text="gloves")))
    assert [item.sku for item in by_name] == ["NI-GLOVE"]
    by_id = ns_run(ns_driver.search_items(ItemQuery(text="td-")))
    assert [item.sku for item in by_id] == ["TD-100"]
    assert fake_suitetalk.calls == ["search"] * 4  # two criteria each: basic searches cannot OR fields


def test_search_by_exact_skus_and_limit(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    items = ns_run(ns_driver.search_items(ItemQuery(skus=("KIT-FA", "ASM-CHAIR", "TD-OLD"))))
    assert sorted(item.sku for item in items) == ["ASM-CHAIR", "KIT-FA"]
    assert len(ns_run(ns_driver.search_items(ItemQuery(limit=2)))) == 2


def test_phone_order_from_searched_items(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    items = {item.sku: item for item in ns_run(ns_driver.search_items(ItemQuery(text="")))}
    new = NewOrder(
        reference="PHONE-1001",
        customer=Customer(name="Bart Simpson", email="bart@example.com", store_customer_id="87"),
        billing_address=ADDRESS,
        shipping_address=ADDRESS,
        lines=(
            NewOrderLine(items["TD-100"].sku, Decimal("3"), item_id=items["TD-100"].item_id),
            NewOrderLine("KIT-FA", Decimal("1"), unit_price=Decimal("35.00"), name="First Aid Kit (phone price)"),
        ),
    )
    order = ns_run(ns_driver.create_order(new))
    # look-up by externalId (none yet), KIT-FA resolved by sku, then add and get
    assert fake_suitetalk.calls[-4:] == ["get", "search", "add", "get"]
    assert order.status == "_pendingFulfillment"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("TD-100", Decimal("3"), Decimal("14.00")),
        ("KIT-FA", Decimal("1"), Decimal("35.00")),
    ]
    assert order.lines[1].name == "First Aid Kit (phone price)"
    assert order.totals.grand_total == Decimal("77.00")
    assert order.customer.store_customer_id == "87"
    assert order.shipping_address is not None
    assert order.shipping_address.street == ("742 Evergreen Terrace", "Apt 2")
    assert order.shipping_address.country == "US"
    stored = fake_suitetalk.sales_orders[order.order_id]
    assert stored["externalId"] == NetSuiteDriver.order_key("PHONE-1001")
    assert stored["otherRefNum"] == "PHONE-1001"
    assert stored["shippingAddress"]["country"] == "_unitedStates"
    assert stored["shippingAddress"]["attention"] == "Kwik-E-Mart"


def test_creating_the_same_phone_order_twice_returns_the_first(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    new = NewOrder(
        "PHONE-7",
        Customer(store_customer_id="88"),
        ADDRESS,
        ADDRESS,
        (NewOrderLine("TD-100", Decimal("1"), item_id="15"),),
    )
    first = ns_run(ns_driver.create_order(new))
    calls = len(fake_suitetalk.calls)
    again = ns_run(ns_driver.create_order(new))
    assert again.order_id == first.order_id
    assert fake_suitetalk.calls[calls:] == ["get"]  # found by its externalId: nothing added
    key = NetSuiteDriver.order_key("PHONE-7")
    assert key.startswith("ecc-order-")
    assert sum(1 for o in fake_suitetalk.sales_orders.values() if o["externalId"] == key) == 1


def test_phone_order_needs_a_customer_and_known_items(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    no_customer = NewOrder("PHONE-8", Customer(name="Guest"), ADDRESS, ADDRESS, (NewOrderLine("TD-100", Decimal("1")),))
    with pytest.raises(ConfigurationError, match="default_customer_id"):
        ns_run(ns_driver.create_order(no_customer))
    unknown = NewOrder(
        "PHONE-9", Customer(store_customer_id="87"), ADDRESS, ADDRESS, (NewOrderLine("NOPE-1", Decimal("1")),)
    )
    with pytest.raises(StoreError) as raised:
        ns_run(ns_driver.create_order(unknown))
    assert raised.value.code == "UNKNOWN_ITEM"
    assert "NOPE-1" in str(raised.value)


def test_the_example_runs_against_the_fake_without_credentials() -> None:
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSUITE_")}
    result = subprocess.run(
        [sys.executable, str(root / "examples" / "netsuite_items_phone_order.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "items in NetSuite" in result.stdout
    assert "created sales order SO" in result.stdout
    assert len(result.stdout.splitlines()) < 15
