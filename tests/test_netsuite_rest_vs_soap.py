"""One policy, one kind of ledger, either NetSuite driver: the same sales orders are put in the fake SuiteTalk
(SOAP) endpoint and the fake REST endpoint, downloaded through ``netsuite`` and ``netsuite_rest`` with the same
policy, and the two ledgers compared order by order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ecc_connectors import (
    Connector,
    DownloadRange,
    Order,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.drivers.netsuite_rest import ClientCredentials, NetSuiteRestDriver, NetSuiteRestSettings
from ecc_connectors.testing import FakeSuiteTalk
from ecc_connectors.testing.netsuite_rest import FakeNetSuiteRest

POLICY = SyncPolicy(
    statuses=StatusMapping((StatusRule("_pendingFulfillment"), StatusRule("_pendingApproval"))),
    range=DownloadRange(start=datetime(2024, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)
STATUSES = (
    "_pendingApproval",
    "_pendingFulfillment",
    "_pendingFulfillment",
    "_cancelled",
    "_closed",
    "_pendingBilling",
)


pytestmark = pytest.mark.usefixtures("quiet_retries")


def _seed(soap: FakeSuiteTalk, rest: FakeNetSuiteRest) -> list[str]:
    soap.add_customer("Acme Corp", "87")
    soap.add_item("TD-100", "Trail Drink 100", price="14.00", available="40", internal_id="15")
    base = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
    ids = []
    for n in range(12):
        order_id = str(2000 + n)
        created = base + timedelta(hours=n)
        modified = created + timedelta(minutes=30)
        lines = [("15", n % 3 + 1, "14.00")]
        street = {
            "addressee": "Acme Corp",
            "addr1": f"{n} Elm St",
            "city": "Great Falls",
            "state": "MT",
            "zip": "59401",
            "addrPhone": "406-555-0101",
        }
        common: dict[str, Any] = {"created": created, "modified": modified, "email": f"buyer{n}@example.com"}
        soap.add_sales_order(
            lines,
            customer="87",
            status=STATUSES[n % len(STATUSES)],
            internal_id=order_id,
            tran_id=f"SO{order_id}",
            shipping_cost="5.00",
            tax_total="1.00",
            billing={**street, "country": "_unitedStates"},
            shipping={**street, "country": "_unitedStates"},
            **common,
        )
        rest.add_sales_order(
            lines,
            customer="87",
            status=STATUSES[n % len(STATUSES)],
            internal_id=order_id,
            tran_id=f"SO{order_id}",
            shipping="5.00",
            tax="1.00",
            address={**street, "country": "US"},
            **common,
        )
        ids.append(order_id)
    return ids


def _shape(order: Order) -> tuple[Any, ...]:
    """What both drivers must agree on (the raw payloads and display names differ by nature)."""
    address = order.shipping_address
    return (
        order.order_id,
        order.number,
        order.status,
        order.state,
        order.created_at,
        order.updated_at,
        order.currency,
        order.customer.email,
        order.customer.store_customer_id,
        tuple((line.line_id, line.sku, line.quantity, line.unit_price, line.row_total) for line in order.lines),
        (order.totals.subtotal, order.totals.shipping, order.totals.tax, order.totals.grand_total),
        None if address is None else (address.street, address.city, address.region, address.postcode, address.country),
    )


def test_both_drivers_download_the_same_orders_into_the_same_tabs() -> None:
    with FakeSuiteTalk(seed=False) as soap, FakeNetSuiteRest() as rest:
        ids = _seed(soap, rest)
        soap_driver = NetSuiteDriver(soap.credentials, NetSuiteSettings(endpoint=soap.url, page_size=5))
        credentials = ClientCredentials(rest.account, rest.client_id, rest.certificate_id, rest.private_key_pem)
        rest_driver = NetSuiteRestDriver(
            credentials, NetSuiteRestSettings(endpoint=rest.base_url, time_zone=rest.time_zone, page_size=5)
        )
        tabs = []
        orders = []
        for driver in (soap_driver, rest_driver):
            with Connector(driver, POLICY, SQLiteLedger()) as connector:
                report = connector.download()
                assert report.downloaded + report.ignored == len(ids)
                tabs.append(({r.order_id for r in connector.orders()}, {r.order_id for r in connector.ignored()}))
                orders.append({r.order_id: _shape(r.order) for r in connector.orders() + connector.ignored()})
    assert tabs[0] == tabs[1]
    assert tabs[0][0] == {
        i for n, i in enumerate(ids) if STATUSES[n % len(STATUSES)] in ("_pendingFulfillment", "_pendingApproval")
    }
    assert orders[0] == orders[1]


def test_switching_a_ledger_from_soap_to_rest_changes_nothing(tmp_path: Any) -> None:
    """Both drivers name the store ``netsuite:<ACCOUNT>`` and orders by internal id, so the REST driver continues
    a ledger the SOAP driver filled: the same orders come back Unchanged, none twice, and only a real change is
    an Update."""
    path = tmp_path / "ledger.sqlite"
    with FakeSuiteTalk(seed=False, account="1234567_SB1") as soap, FakeNetSuiteRest() as rest:
        ids = _seed(soap, rest)
        soap_driver = NetSuiteDriver(soap.credentials, NetSuiteSettings(endpoint=soap.url, page_size=5))
        credentials = ClientCredentials(rest.account, rest.client_id, rest.certificate_id, rest.private_key_pem)
        rest_driver = NetSuiteRestDriver(
            credentials, NetSuiteRestSettings(endpoint=rest.base_url, time_zone=rest.time_zone, page_size=5)
        )
        assert soap_driver.store_id == rest_driver.store_id
        with Connector(soap_driver, POLICY, SQLiteLedger(path)) as connector:
            assert connector.download().seen == len(ids)
        # One order really differs (its e-mail changed without a new stamp): that one, and only that one, is an
        # Update, so the comparison can see a difference.
        rest.sales_orders[ids[1]]["email"] = "changed@example.com"
        with Connector(rest_driver, POLICY, SQLiteLedger(path)) as connector:
            report = connector.reconcile(start=datetime(2024, 1, 1, tzinfo=timezone.utc), compare_content=True)
            pending = [connector.ledger.pending(connector.store, i) for i in ids]
    assert report.listed == len(ids)
    assert report.missing == 0
    assert report.updates == 1
    assert [i for i, p in zip(ids, pending, strict=True) if p is not None] == [ids[1]]
