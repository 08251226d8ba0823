"""Post-back on Shopify: fulfilments from fulfilment orders (whole and by line, tracking, the completion email),
acknowledgement as a tag and a note line, cancellation with its job, all exactly once when answers are lost;
reads are safe to resend, mutations never; invoices are not a Shopify concept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ecc_connectors import (
    CancelRequest,
    CapabilityNotSupported,
    Connector,
    ConnectorError,
    ShipmentRequest,
    SQLiteLedger,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    Tracking,
    is_idempotent,
)
from ecc_connectors.testing.shopify import FakeShopify
from test_shopify_support import fake_shop, policy, shopify_driver

pytestmark = pytest.mark.usefixtures("quiet_retries")


@pytest.fixture
def store() -> Iterator[FakeShopify]:
    with fake_shop() as fake:
        yield fake


def _new(store: FakeShopify, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("lines", (("MUG-001", 2), ("SOCK-3PK", 1)))
    with store.lock:
        return store.shop.add_order(**kwargs)


def test_ship_everything_with_tracking_and_the_completion_email(store: FakeShopify) -> None:
    order = _new(store, financial="PAID")
    number = order["legacyResourceId"]
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        result = connector.ship(number, Tracking("1Z999AA10123456784", title="UPS"))
        shipped = connector.get_order(number)
    assert shipped.status == "PAID|FULFILLED"
    assert [s.tracking_numbers for s in shipped.shipments] == [("1Z999AA10123456784",)]
    fulfillment = store.order(number)["fulfillments"][0]
    assert result.shipment_id == fulfillment["legacyResourceId"]
    assert fulfillment["_notified"] is True
    assert fulfillment["trackingInfo"][0]["company"] == "UPS"
    assert all(line.quantity_shipped == line.quantity for line in shipped.lines)


def test_a_partial_shipment_by_line_then_the_rest(store: FakeShopify) -> None:
    order = _new(store)
    number = order["legacyResourceId"]
    mug = next(li for li in order["lineItems"] if li["sku"] == "MUG-001")["id"].rsplit("/", 1)[-1]
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        connector.ship(number, Tracking("TRACK-1"), lines=((mug, Decimal(1)),))
        partial = connector.get_order(number)
        connector.ship(number, Tracking("TRACK-2"))
        done = connector.get_order(number)
    assert partial.status.endswith("|PARTIALLY_FULFILLED")
    assert {line.sku: line.quantity_shipped for line in partial.lines} == {"MUG-001": 1, "SOCK-3PK": 0}
    assert done.status.endswith("|FULFILLED")
    assert len(store.order(number)["fulfillments"]) == 2


def test_ship_finds_its_own_fulfilment_after_a_lost_answer(store: FakeShopify) -> None:
    number = _new(store)["legacyResourceId"]
    driver = shopify_driver(store)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        store.lose_write_answers(1, mode="drop")
        request = ShipmentRequest(number, (Tracking("1ZLOST"),))
        with pytest.raises(ConnectorError):
            connector.run(driver.ship(request))
        again = connector.run(driver.ship(request))
    assert again.already_shipped is True
    assert len(store.order(number)["fulfillments"]) == 1
    mutations = [r for r in store.requests if store.is_write(r)]
    assert len(mutations) == 1  # the lost mutation was not resent: the second call found it instead


def test_a_shipment_cannot_ask_for_a_status_shopify_does_not_set(store: FakeShopify) -> None:
    number = _new(store)["legacyResourceId"]
    driver = shopify_driver(store)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        store.clear_requests()
        with pytest.raises(StatusNotAllowed):
            connector.run(driver.ship(ShipmentRequest(number, (Tracking("X"),), status="PAID|ON_HOLD")))
    assert store.requests == []


def test_acknowledge_adds_the_tag_and_the_note_line_once(store: FakeShopify) -> None:
    order = _new(store, financial="PENDING", note="Gift wrap please")
    number = order["legacyResourceId"]
    driver = shopify_driver(store, acknowledge_tag="erp-received")
    with Connector(driver, policy(acknowledge="PENDING|UNFULFILLED"), SQLiteLedger()) as connector:
        connector.acknowledge(number)
        again = connector.run(driver.set_status(StatusChange(number, "UNFULFILLED", "Received by the back office")))
    shop_order = store.order(number)
    assert shop_order["tags"].count("erp-received") == 1
    assert shop_order["note"] == "Gift wrap please\nReceived by the back office"
    assert again.already_done is True
    assert len([r for r in store.requests if store.is_write(r)]) == 1  # tag and note: one mutation document


def test_a_status_shopify_cannot_set_is_refused(store: FakeShopify) -> None:
    number = _new(store, financial="PENDING")["legacyResourceId"]
    driver = shopify_driver(store)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        with pytest.raises(StatusNotAllowed, match="cannot set"):
            connector.run(driver.set_status(StatusChange(number, "PAID")))
        store.clear_requests()
        with pytest.raises(StatusNotAllowed, match="not a Shopify status"):
            connector.run(driver.set_status(StatusChange(number, "processing")))
    assert store.requests == []  # an unknown status is refused before any request


def test_cancel_refunds_restocks_notifies_and_polls_its_job(store: FakeShopify) -> None:
    order = _new(store, financial="PAID")
    number = order["legacyResourceId"]
    store.shop.cancel_job_polls = 3
    driver = shopify_driver(store, refund_on_cancel="original", restock_on_cancel=True)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        result = connector.run(driver.cancel(CancelRequest(number, comment="Out of stock", notify=True)))
        again = connector.run(driver.cancel(CancelRequest(number, comment="Out of stock", notify=True)))
        cancelled = connector.get_order(number)
    shop_order = store.order(number)
    assert cancelled.status == "CANCELLED|CLOSED"
    assert cancelled.state == "cancelled"
    assert shop_order["displayFinancialStatus"] == "REFUNDED"
    assert shop_order["_cancel"] == {"notify": True, "restock": True}
    assert shop_order["cancellation"]["staffNote"] == "Out of stock"
    assert result is not None
    assert result.found == ""  # the job was done within the polls
    job_reads = [r for r in store.requests if b"query Job" in r.body]
    assert len(job_reads) == 3
    assert again is not None
    assert again.already_done is True


def test_invoices_are_refused_before_any_request(store: FakeShopify) -> None:
    number = _new(store)["legacyResourceId"]
    with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        store.clear_requests()
        with pytest.raises(CapabilityNotSupported):
            connector.invoice(number)
    assert store.requests == []


def test_queries_are_safe_to_resend_and_mutations_are_not(store: FakeShopify) -> None:
    number = _new(store)["legacyResourceId"]
    driver = shopify_driver(store)
    flags: list[tuple[str, bool]] = []
    with httpx.Client(auth=driver.auth()) as client:
        flow = driver.ship(ShipmentRequest(number, (Tracking("IDEM"),)))
        request = next(flow)
        try:
            while True:
                flags.append((json.loads(request.content)["query"].split()[0], is_idempotent(request)))
                request = flow.send(client.send(request))
        except StopIteration:
            pass
    assert flags == [("query", True), ("mutation", False)]


def test_shipping_a_line_the_order_does_not_have_is_refused_before_writing(store: FakeShopify) -> None:
    number = _new(store)["legacyResourceId"]
    driver = shopify_driver(store)
    request = ShipmentRequest(number, (Tracking("T"),), lines=(("999", Decimal(1)),))
    with Connector(driver, policy(), SQLiteLedger()) as connector, pytest.raises(StoreError, match="no line item 999"):
        connector.run(driver.ship(request))
    assert not [r for r in store.requests if store.is_write(r)]
