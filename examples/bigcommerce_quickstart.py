"""Quickstart: download BigCommerce orders through a policy, then post back, acknowledge, cancel and place a
phone order.

With no settings it starts the testing kit's fake BigCommerce store on 127.0.0.1 and runs everything there:

    python examples/bigcommerce_quickstart.py

With ``BIGCOMMERCE_STORE_HASH`` and ``BIGCOMMERCE_ACCESS_TOKEN`` in the environment (see
docs/drivers/bigcommerce.md) it downloads from that store instead, read-only: nothing is written unless
``ECC_QUICKSTART_WRITE=1`` is set too.
"""

from __future__ import annotations

import os
import sys
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
from ecc_connectors.drivers.bigcommerce import BigCommerceDriver
from ecc_connectors.testing.bigcommerce import FakeBigCommerce

# BigCommerce statuses are numeric ids, written as strings in the policy (labels from /v2/order_statuses).
POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            StatusRule("11", process_payment=False, process_shipping=True),  # Awaiting Fulfillment: paid, to ship
            StatusRule("9", process_payment=False, process_shipping=True),  # Awaiting Shipment
            StatusRule("7", process_payment=True, process_shipping=True),  # Awaiting Payment
            StatusRule("0", download=False, unselected=Unselected.SKIP),  # Incomplete: abandoned checkouts
        )
    ),
    range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=365)),
    unselected=Unselected.IGNORE_TAB,  # every other status goes to the Ignore tab
    post_back=PostBack(status="2", send_email=True),  # Shipped (BigCommerce sets it itself from the shipment)
    acknowledgement=Acknowledgement(status="9", comment="Taken by the warehouse."),
    cancellation=Cancellation(status="5", send_email=True, comment="Cancelled at your request."),
)


@contextmanager
def store_driver() -> Iterator[tuple[BigCommerceDriver, bool]]:
    """The driver, and whether writes are allowed: a real store from the environment, else the fake."""
    if os.environ.get("BIGCOMMERCE_STORE_HASH") and os.environ.get("BIGCOMMERCE_ACCESS_TOKEN"):
        yield BigCommerceDriver.from_env(), os.environ.get("ECC_QUICKSTART_WRITE") == "1"
        return
    with FakeBigCommerce(40, seed=1) as fake:
        # The fake has no quota unless asked: read as fast as it answers.
        yield BigCommerceDriver(fake.store_hash, fake.token, base_url=fake.base_url, requests_per_30s=0), True


def main() -> int:
    with store_driver() as (driver, writes), tempfile.TemporaryDirectory() as folder:
        ledger = SQLiteLedger(Path(folder) / "ledger.sqlite")
        with Connector(driver, POLICY, ledger) as connector:
            problems = connector.check_policy()
            for problem in problems:
                print(f"policy: {problem}")
            report = connector.download()
            print(
                f"downloaded {report.downloaded}, ignored {report.ignored}, updates {report.updates},"
                f" unreadable {report.failures}; next run reads from {report.high_water_mark}"
            )
            orders = connector.orders()
            for row in orders[:5]:
                order = row.order
                money = f"{order.totals.grand_total} {order.currency}"
                print(f"  #{order.order_id} status {order.status} ({order.state}) {money}")
            if not writes:
                print("read-only: set ECC_QUICKSTART_WRITE=1 to post back")
                return 0
            if len(orders) >= 3:
                first, second, third = (row.order_id for row in orders[:3])
                shipped = connector.ship(first, Tracking("1Z999AA10123456784", carrier_code="ups"))
                print(f"shipped #{first}: {shipped}")
                connector.acknowledge(second)
                print(f"acknowledged #{second}")
                connector.cancel(third)
                print(f"cancelled #{third}")
            items = connector.search_items("Orbit") if not os.environ.get("BIGCOMMERCE_STORE_HASH") else ()
            if items:
                address = Address(
                    name="Ana Silva",
                    street=("1 Main St",),
                    city="Austin",
                    region="Texas",
                    postcode="78751",
                    country="US",
                    email="ana@example.com",
                )
                placed = connector.create_phone_order(
                    NewOrder(
                        reference="PHONE-1001",
                        customer=Customer(name="Ana Silva", email="ana@example.com"),
                        billing_address=address,
                        shipping_address=address,
                        lines=(NewOrderLine(items[0].sku, Decimal(1)),),
                    )
                )
                print(f"phone order #{placed.order_id}: {placed.totals.grand_total} {placed.currency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
