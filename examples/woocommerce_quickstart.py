"""WooCommerce quickstart: download orders through a policy (status rows, Ignore tab, Updates), ship one with its
tracking number, acknowledge one, cancel one, then place a phone order from store items.

With no settings it starts the testing kit's fake WooCommerce store on 127.0.0.1 (OAuth 1.0a over plain HTTP,
the Shipment Tracking extension on) and runs everything against it:

    python examples/woocommerce_quickstart.py

With ``WOOCOMMERCE_URL``, ``WOOCOMMERCE_CONSUMER_KEY`` and ``WOOCOMMERCE_CONSUMER_SECRET`` in the environment (see
docs/drivers/woocommerce.md) it downloads from that store instead, read-only: nothing is written unless
``ECC_QUICKSTART_WRITE=1`` is set too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ecc_connectors import (
    Acknowledgement,
    Address,
    Cancellation,
    Connector,
    Customer,
    DownloadRange,
    NewOrder,
    NewOrderLine,
    PostBack,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.woocommerce import FakeWooCommerce

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            # status          "process payment" (True: arrives unpaid)   "process shipping"
            StatusRule("pending", process_payment=True, process_shipping=True),
            StatusRule("processing", process_payment=False, process_shipping=True),  # paid, to ship
            StatusRule("shipped", process_payment=False, process_shipping=False),  # a plugin's status, kept as is
            StatusRule("on-hold", download=False, unselected=Unselected.IGNORE_TAB),
            StatusRule("checkout-draft", download=False, unselected=Unselected.SKIP),
        )
    ),
    range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=365)),
    unselected=Unselected.IGNORE_TAB,  # completed, cancelled, refunded, failed: the Ignore tab
    post_back=PostBack(status="completed", send_email=True),  # completed + a customer note with the tracking
    acknowledgement=Acknowledgement(status="processing", comment="Taken by the warehouse."),
    cancellation=Cancellation(status="cancelled", send_email=True, comment="Cancelled at your request."),
)


@contextmanager
def woocommerce() -> Iterator[tuple[WooCommerceDriver, FakeWooCommerce | None]]:
    """The store from the environment, else a fake one with 150 orders."""
    if os.environ.get("WOOCOMMERCE_URL"):
        yield WooCommerceDriver.from_env(), None
        return
    with FakeWooCommerce(orders=150, latency=0.01) as store:
        yield WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret), store


def main() -> None:
    with woocommerce() as (driver, fake), tempfile.TemporaryDirectory() as folder:
        writes = fake is not None or os.environ.get("ECC_QUICKSTART_WRITE") == "1"
        with SQLiteLedger(Path(folder) / "ledger.sqlite") as ledger, Connector(driver, POLICY, ledger) as connector:
            problems = connector.check_policy()
            print("policy problems:", problems or "none")
            report = connector.download()
            print(
                f"downloaded {report.downloaded}, ignored {report.ignored}, skipped {report.skipped},"
                f" unreadable {report.failures}; mark {report.high_water_mark}"
            )
            if fake is not None:  # the merchant edits an order between two runs: it shows in the Updates tab
                first = connector.orders()[0].order_id
                with fake.lock:
                    fake.shop.edit(int(first), customer_note="Please ring twice")
                connector.download()
                print("updates:", [(u.order_id, [c.path for c in u.changes]) for u in connector.updates()])
            if not writes:
                print("read-only run: set ECC_QUICKSTART_WRITE=1 to post back")
                return
            to_ship = [r.order_id for r in connector.orders() if r.order.status == "processing"][:3]
            if len(to_ship) < 3:
                print("fewer than three processing orders: nothing posted back")
                return
            shipped = connector.ship(to_ship[0], Tracking("1Z999AA10123456784", title="UPS"))
            print("shipped", to_ship[0], "->", shipped)
            connector.acknowledge(to_ship[1])
            connector.cancel(to_ship[2])
            print("acknowledged", to_ship[1], "and cancelled", to_ship[2])
            items = connector.search_items("mug") if fake is not None else ()
            if items:
                address = Address(
                    name="Rita Lopes",
                    street=("Rua Nova 1",),
                    city="Porto",
                    postcode="4000-001",
                    country="PT",
                    email="rita@example.com",
                    phone="+351222000000",
                )
                phone = NewOrder(
                    "PHONE-0001",
                    Customer(name="Rita Lopes", email="rita@example.com"),
                    address,
                    address,
                    (NewOrderLine(items[0].sku, Decimal(2), item_id=items[0].item_id),),
                    shipping_method="flat_rate",
                    payment_method="cod",
                    currency="EUR",
                )
                placed = connector.create_phone_order(phone)
                print("phone order", placed.order_id, placed.status, placed.totals.grand_total, placed.currency)
            if fake is not None:
                print("emails the store sent:", sorted({kind for kind, _, _ in fake.shop.emails}))


if __name__ == "__main__":
    main()
