"""Take a phone order from NetSuite items: search the items, build the order, create it in NetSuite, print it.

Runs on a fresh clone with no credentials, against the local fake SuiteTalk endpoint::

    python examples/netsuite_items_phone_order.py

With a real account (token-based authentication; see docs/drivers/netsuite.md for the setup), set
NETSUITE_ACCOUNT, NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID and
NETSUITE_TOKEN_SECRET, plus NETSUITE_CUSTOMER_ID (the internal id of the customer the order is for) and
optionally NETSUITE_ITEM_TEXT
(what to search items for). That creates a real sales order: use a sandbox account (``1234567_SB1``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

from ecc_connectors import (
    Address,
    Connector,
    Customer,
    DownloadRange,
    ItemQuery,
    ItemSource,
    NewOrder,
    NewOrderLine,
    PhoneOrders,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings

REAL = all(
    os.environ.get(f"NETSUITE_{name}")
    for name in ("ACCOUNT", "CONSUMER_KEY", "CONSUMER_SECRET", "TOKEN_ID", "TOKEN_SECRET")
)


@contextlib.contextmanager
def netsuite() -> Iterator[tuple[NetSuiteDriver, str, str]]:
    """The driver, the customer id and the item search text: a real account (from the environment) or the
    fake."""
    if REAL:
        customer = os.environ.get("NETSUITE_CUSTOMER_ID")
        if not customer:
            sys.exit("set NETSUITE_CUSTOMER_ID to the internal id of the customer the phone order is for")
        yield NetSuiteDriver.from_env(), customer, os.environ.get("NETSUITE_ITEM_TEXT", "")
        return
    from ecc_connectors.testing import FakeSuiteTalk

    with FakeSuiteTalk() as fake:
        print(f"(no NETSUITE_* credentials: using the fake SuiteTalk endpoint at {fake.url})")
        yield NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url)), "88", ""


def connector_for(driver: NetSuiteDriver) -> Connector:
    """NetSuite is both the item source and the store the phone order goes to."""
    policy = SyncPolicy(
        statuses=StatusMapping((StatusRule("_pendingFulfillment"), StatusRule("_pendingApproval"))),
        range=DownloadRange(start=datetime(2024, 1, 1, tzinfo=timezone.utc)),
        phone_orders=PhoneOrders(item_source=ItemSource.NETSUITE),
    )
    return Connector(driver, policy, SQLiteLedger(":memory:"))


def main() -> None:
    with netsuite() as (driver, customer_id, text), connector_for(driver) as connector:
        items = connector.search_items(ItemQuery(text=text, limit=10), source_driver=driver)
        print(f"{len(items)} items in NetSuite:")
        for item in items:
            stock = "" if item.available is None else f", {item.available.normalize():f} available"
            print(f"  {item.sku:<10} {item.name:<24} {item.price:>8} {item.currency}{stock}")
        in_stock = [i for i in items if i.available is None or i.available > 0][:2]
        if not in_stock:
            sys.exit("no sellable items found")
        address = Address(
            name="Bart Simpson",
            street=("742 Evergreen Terrace",),
            city="Springfield",
            region="OR",
            postcode="97403",
            country="US",
            phone="555-0113",
        )
        phone_order = NewOrder(
            reference=f"PHONE-{uuid.uuid4().hex[:8].upper()}",
            customer=Customer(name="Bart Simpson", email="bart@example.com", store_customer_id=customer_id),
            billing_address=address,
            shipping_address=address,
            lines=tuple(NewOrderLine(i.sku, Decimal(n), item_id=i.item_id) for n, i in enumerate(in_stock, 1)),
        )
        order = connector.create_phone_order(phone_order)
    print(f"created sales order {order.number} (internal id {order.order_id}), status {order.status}:")
    for line in order.lines:
        print(f"  {line.quantity.normalize():f} x {line.sku} @ {line.unit_price} = {line.row_total}")
    print(f"  total {order.totals.grand_total} {order.currency}, ref {phone_order.reference}")


if __name__ == "__main__":
    main()
