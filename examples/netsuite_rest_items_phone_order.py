"""Take a phone order from NetSuite items over REST: search items with SuiteQL, create the sales order through the
REST record service, download it back, print it.

Runs on a fresh clone with no credentials, against the local fake NetSuite REST endpoint::

    python examples/netsuite_rest_items_phone_order.py

With a real account (OAuth 2.0 client credentials; see docs/drivers/netsuite-rest.md for the setup), set
NETSUITE_ACCOUNT, NETSUITE_CLIENT_ID, NETSUITE_CERTIFICATE_ID and NETSUITE_PRIVATE_KEY (the PEM text of the
certificate's private key), NETSUITE_TIME_ZONE (the time zone of the integration user's preferences, e.g.
America/Los_Angeles) and NETSUITE_CUSTOMER_ID (the internal id of the customer the order is for); optionally
NETSUITE_ITEM_TEXT (what to search items for). For TBA instead, set NETSUITE_AUTH=tba and NETSUITE_CONSUMER_KEY,
NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID, NETSUITE_TOKEN_SECRET. That creates a real sales order: use a sandbox
account (``1234567_SB1``).
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
from ecc_connectors.drivers.netsuite_rest import ClientCredentials, NetSuiteRestDriver, NetSuiteRestSettings

REAL = bool(os.environ.get("NETSUITE_ACCOUNT")) and (
    bool(os.environ.get("NETSUITE_CLIENT_ID")) or os.environ.get("NETSUITE_AUTH") == "tba"
)


@contextlib.contextmanager
def netsuite() -> Iterator[tuple[NetSuiteRestDriver, str, str]]:
    """The driver, the customer id and the item search text: a real account (from the environment) or the fake."""
    if REAL:
        customer = os.environ.get("NETSUITE_CUSTOMER_ID")
        if not customer:
            sys.exit("set NETSUITE_CUSTOMER_ID to the internal id of the customer the phone order is for")
        yield NetSuiteRestDriver.from_env(), customer, os.environ.get("NETSUITE_ITEM_TEXT", "")
        return
    from ecc_connectors.testing.netsuite_rest import FakeNetSuiteRest

    with FakeNetSuiteRest() as fake:
        print(f"(no NETSUITE_* credentials: using the fake NetSuite REST endpoint at {fake.base_url})")
        credentials = ClientCredentials(fake.account, fake.client_id, fake.certificate_id, fake.private_key_pem)
        settings = NetSuiteRestSettings(endpoint=fake.base_url, time_zone=fake.time_zone)
        yield NetSuiteRestDriver(credentials, settings), "88", "TD"


def connector_for(driver: NetSuiteRestDriver) -> Connector:
    """NetSuite is both the item source and the store the phone order goes to; the same policy as the SOAP
    example (statuses are the SOAP driver's codes, so a policy works with either driver)."""
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
        again = connector.create_phone_order(phone_order)  # a retry with the same reference: the same order
        assert again.order_id == order.order_id
        report = connector.download()
    print(f"created sales order {order.number} (internal id {order.order_id}), status {order.status}:")
    for line in order.lines:
        print(f"  {line.quantity.normalize():f} x {line.sku} @ {line.unit_price} = {line.row_total}")
    print(f"  total {order.totals.grand_total} {order.currency}, ref {phone_order.reference}")
    print(f"download afterwards: {report.downloaded} new, {report.unchanged} unchanged")


if __name__ == "__main__":
    main()
