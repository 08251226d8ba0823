"""Posting back: fulfilments (never twice), approval, cancel/close, and what NetSuite cannot do."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ecc_connectors import (
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    ShipmentRequest,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    Tracking,
    WriteResult,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import Runner


def test_ship_fulfils_with_tracking_and_ship_status(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    result = ns_run(
        ns_driver.ship(
            ShipmentRequest("1505", tracking=(Tracking("1Z999AA1", "ups", "UPS"),), comment="Left the warehouse")
        )
    )
    assert result.already_shipped is False
    fulfilment = fake_suitetalk.fulfilments[result.shipment_id]
    assert fulfilment["packages"] == [("1Z999AA1", "UPS")]
    assert fulfilment["shipStatus"] == "_shipped"
    assert fulfilment["memo"] == "Left the warehouse"
    assert [(ln["orderLine"], ln["quantity"]) for ln in fulfilment["lines"]] == [
        (1, Decimal("2")),
        (2, Decimal("1")),
    ]
    assert fake_suitetalk.calls == ["search", "initialize", "add"]
    order = ns_run(ns_driver.get_order("1505"))
    assert order.status == "_pendingBilling"
    assert order.fully_shipped


def test_ship_twice_fulfils_once(fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    request = ShipmentRequest("1505", tracking=(Tracking("1Z1"),))
    first = ns_run(ns_driver.ship(request))
    again = ns_run(ns_driver.ship(request))
    assert again.already_shipped is True
    assert again.shipment_id == first.shipment_id
    assert len(fake_suitetalk.fulfilments) == 1
    assert fake_suitetalk.calls[-1] == "search"  # the retry stopped at the check


def test_retry_after_a_lost_answer_finds_the_fulfilment(
    fake_suitetalk: FakeSuiteTalk, ns_client: httpx.Client, ns_driver: NetSuiteDriver, ns_run: Runner
) -> None:
    request = ShipmentRequest("1505", tracking=(Tracking("1Z-LOST"),))
    flow = ns_driver.ship(request)
    outgoing = next(flow)
    while outgoing.headers["SOAPAction"] != '"add"':
        outgoing = flow.send(ns_client.send(outgoing, auth=ns_driver.auth()))
    ns_client.send(outgoing, auth=ns_driver.auth())  # NetSuite acts, the answer is lost on the way back
    flow.close()
    assert len(fake_suitetalk.fulfilments) == 1
    result = ns_run(ns_driver.ship(request))
    assert result.already_shipped is True
    assert result.shipment_id in fake_suitetalk.fulfilments
    assert len(fake_suitetalk.fulfilments) == 1


def test_a_shared_tracking_number_counts_as_shipped(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    first = ns_run(ns_driver.ship(ShipmentRequest("1505", tracking=(Tracking("1Z-A"),), comment="first")))
    # Same parcel reported again with a different comment: not a second fulfilment.
    again = ns_run(ns_driver.ship(ShipmentRequest("1505", tracking=(Tracking("1Z-A"), Tracking("1Z-B")))))
    assert (again.shipment_id, again.already_shipped) == (first.shipment_id, True)


def test_partial_shipment_of_chosen_lines(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    result = ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("1")),))))
    fulfilment = fake_suitetalk.fulfilments[result.shipment_id]
    assert [(ln["orderLine"], ln["quantity"]) for ln in fulfilment["lines"]] == [(1, Decimal("1"))]
    order = ns_run(ns_driver.get_order("1505"))
    assert order.status == "_partiallyFulfilled"
    assert [ln.quantity_shipped for ln in order.lines] == [Decimal("1"), Decimal("0")]
    # The rest, later: a different request, so a second fulfilment.
    rest = ns_run(ns_driver.ship(ShipmentRequest("1505")))
    assert rest.already_shipped is False
    assert ns_run(ns_driver.get_order("1505")).status == "_pendingBilling"
    # Shipping "everything" again finds nothing left and reports the last fulfilment.
    again = ns_run(ns_driver.ship(ShipmentRequest("1505", tracking=(Tracking("NEW"),))))
    assert again.already_shipped is True


def test_unknown_line_and_unfulfillable_orders(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    with pytest.raises(StatusNotAllowed, match="order lines 9"):
        ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("9", Decimal("1")),))))
    with pytest.raises(StoreError) as raised:
        ns_run(ns_driver.ship(ShipmentRequest("1506")))  # pending approval: NetSuite will not initialize
    assert raised.value.code == "INVALID_INITIALIZE_REF"
    assert raised.value.order_id == "1506"


def test_acknowledge_approves_a_pending_order(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    first = ns_run(ns_driver.set_status(StatusChange("1506", "_pendingFulfillment")))
    assert first == WriteResult(found="the order was pending approval")
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_pendingFulfillment"
    calls = len(fake_suitetalk.calls)
    again = ns_run(ns_driver.set_status(StatusChange("1506", "approved")))  # already approved: nothing to write
    assert again.already_done is True
    assert fake_suitetalk.calls[calls:] == ["get"]
    # Fulfilled since: approved long ago, so nothing to do either.
    later = ns_run(ns_driver.set_status(StatusChange("1507", "_pendingFulfillment")))
    assert (later.already_done, later.found) == (True, "the order is already approved (_pendingBilling)")
    fake_suitetalk.touch("1505", orderStatus="_cancelled")
    with pytest.raises(StatusNotAllowed, match="only orders pending approval"):
        ns_run(ns_driver.set_status(StatusChange("1505", "_pendingFulfillment")))


def test_free_text_status_needs_a_custom_field(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    with pytest.raises(CapabilityNotSupported, match="status_field"):
        ns_run(ns_driver.set_status(StatusChange("1505", "Received by warehouse")))
    with pytest.raises(CapabilityNotSupported, match="sets _fullyBilled itself"):
        ns_run(ns_driver.set_status(StatusChange("1505", "_fullyBilled")))
    assert fake_suitetalk.calls == []  # refused before any request
    driver = NetSuiteDriver(
        fake_suitetalk.credentials,
        NetSuiteSettings(endpoint=fake_suitetalk.url, status_field="custbody_ecc_status"),
    )
    with httpx.Client() as client:
        from plugin_netsuite import run_flow

        run_flow(driver.set_status(StatusChange("1505", "Received by warehouse")), client, driver.auth())
    assert fake_suitetalk.sales_orders["1505"]["customFields"]["custbody_ecc_status"] == "Received by warehouse"
    assert fake_suitetalk.sales_orders["1505"]["customFields"]["custbody_channel"] == "web"  # others untouched


def test_cancel_pending_approval_sets_cancelled_where_the_account_takes_it(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.cancel_by_status = True
    ns_run(ns_driver.cancel(CancelRequest("1506")))
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_cancelled"
    calls = len(fake_suitetalk.calls)
    ns_run(ns_driver.cancel(CancelRequest("1506")))  # again: nothing to do
    assert fake_suitetalk.calls[calls:] == ["get"]


def test_cancel_pending_approval_closes_its_lines_where_the_status_is_refused(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    """No Oracle page says SuiteTalk takes orderStatus=_cancelled; the default fake refuses it with Oracle's
    INVALID_ORD_STATUS, and the driver closes the order's lines instead (NetSuite's "Close Order")."""
    result = ns_run(ns_driver.cancel(CancelRequest("1506", comment="customer called")))
    order = fake_suitetalk.sales_orders["1506"]
    assert order["orderStatus"] == "_closed"
    assert all(line["isClosed"] for line in order["lines"])
    assert order["memo"] == "customer called"
    assert result.found == "the order was pending approval; orderStatus=_cancelled INVALID_ORD_STATUS: lines closed"
    assert [c for c in fake_suitetalk.calls if c == "update"] == ["update", "update"]
    again = ns_run(ns_driver.cancel(CancelRequest("1506", comment="customer called")))
    assert again.already_done


def test_cancel_an_approved_order_closes_its_open_lines(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("2")),))))
    ns_run(ns_driver.set_status(StatusChange("1505", "_closed")))
    order = fake_suitetalk.sales_orders["1505"]
    assert [line["isClosed"] for line in order["lines"]] == [True, True]
    assert order["orderStatus"] == "_closed"
    assert ns_run(ns_driver.get_order("1505")).status == "_closed"


def test_a_fully_fulfilled_order_cannot_be_cancelled(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    with pytest.raises(StatusNotAllowed, match="fully fulfilled"):
        ns_run(ns_driver.cancel(CancelRequest("1507")))


def test_invoice_is_not_offered(ns_driver: NetSuiteDriver) -> None:
    assert Capability.INVOICE not in ns_driver.capabilities
    with pytest.raises(CapabilityNotSupported):
        ns_driver.require(Capability.INVOICE)
    with pytest.raises(CapabilityNotSupported):
        next(ns_driver.invoice("1505"))


def test_reads_are_marked_idempotent_and_writes_are_not(ns_client: httpx.Client, ns_driver: NetSuiteDriver) -> None:
    from ecc_connectors import is_idempotent

    seen: dict[str, bool] = {}
    flow = ns_driver.ship(ShipmentRequest("1505"))
    try:
        outgoing = next(flow)
        while True:
            seen[outgoing.headers["SOAPAction"].strip('"')] = is_idempotent(outgoing)
            outgoing = flow.send(ns_client.send(outgoing, auth=ns_driver.auth()))
    except StopIteration:
        pass
    assert seen == {"search": True, "initialize": True, "add": False}
    assert is_idempotent(next(ns_driver.get_order("1505")))
