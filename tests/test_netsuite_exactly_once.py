"""Writes exactly once: every write reads the store first, and an attempt whose answer was lost (NetSuite acted,
then the connection dropped or a proxy answered 500) is found again instead of being written twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ecc_connectors import (
    Address,
    CancelRequest,
    ConnectorError,
    Customer,
    NewOrder,
    NewOrderLine,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreError,
    Tracking,
    WriteResult,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import Runner

ADDRESS = Address(name="Bart Simpson", street=("742 Evergreen Terrace",), city="Springfield", country="US")
MODES = ["drop", "500"]


def lost(fake: FakeSuiteTalk, run: Runner, flow: Any, operation: str, mode: str) -> None:
    """Run ``flow`` with the answer to its ``operation`` lost: NetSuite acts, the caller sees an error."""
    fake.lose_answers(operation=operation, mode=mode)
    with pytest.raises((httpx.HTTPError, ConnectorError)):
        run(flow)


def writes(fake: FakeSuiteTalk) -> list[str]:
    return [c for c in fake.calls if c in ("add", "update")]


@pytest.mark.parametrize("mode", MODES)
def test_approval_whose_answer_was_lost_is_not_written_again(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    change = StatusChange("1506", "_pendingFulfillment")
    lost(fake_suitetalk, ns_run, ns_driver.set_status(change), "update", mode)
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_pendingFulfillment"  # it was applied
    again = ns_run(ns_driver.set_status(change))
    assert again == WriteResult(already_done=True, found="the order is already approved (_pendingFulfillment)")
    assert writes(fake_suitetalk) == ["update"]


@pytest.mark.parametrize("mode", MODES)
def test_cancel_whose_answer_was_lost_is_not_written_again(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    """An account that takes orderStatus=_cancelled: the one update is found done after its answer was lost."""
    fake_suitetalk.cancel_by_status = True
    lost(fake_suitetalk, ns_run, ns_driver.cancel(CancelRequest("1506")), "update", mode)
    again = ns_run(ns_driver.cancel(CancelRequest("1506")))
    assert (again.already_done, again.found) == (True, "the order is already _cancelled")
    assert writes(fake_suitetalk) == ["update"]


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_cancel_closes_the_lines_once_even_when_that_answer_was_lost(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    """The default account refuses orderStatus=_cancelled (INVALID_ORD_STATUS): the lines are closed instead.
    When the answer to that close is lost, the next attempt finds the order closed and writes nothing."""
    armed: list[str] = []

    def lose_the_close(operation: str, fake: FakeSuiteTalk) -> None:
        if operation == "update" and not armed:  # the refusal was answered: lose the answer to the next update
            armed.append(operation)
            fake.lose_answers(operation="update", mode=mode)

    fake_suitetalk.on_answer(lose_the_close)
    with pytest.raises((httpx.HTTPError, ConnectorError)):
        ns_run(ns_driver.cancel(CancelRequest("1506")))
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_closed"  # the close was applied
    again = ns_run(ns_driver.cancel(CancelRequest("1506")))
    assert (again.already_done, again.found) == (True, "the order is already _closed")
    assert writes(fake_suitetalk) == ["update", "update"]  # the refused status update, then one close


@pytest.mark.parametrize("mode", MODES)
def test_closing_lines_whose_answer_was_lost_is_not_written_again(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("2")),))))  # partly shipped: lines close
    lost(fake_suitetalk, ns_run, ns_driver.set_status(StatusChange("1505", "closed")), "update", mode)
    assert fake_suitetalk.sales_orders["1505"]["orderStatus"] == "_closed"
    again = ns_run(ns_driver.set_status(StatusChange("1505", "closed")))
    assert again.already_done is True
    assert writes(fake_suitetalk) == ["add", "update"]


def test_closing_lines_when_every_line_is_closed_already_writes_nothing(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    for line in fake_suitetalk.sales_orders["1505"]["lines"]:
        line["isClosed"] = True  # closed by hand; NetSuite still shows the order as pending fulfilment here
    result = ns_run(ns_driver.cancel(CancelRequest("1505")))
    assert (result.already_done, result.found) == (True, "every line of the order is closed")
    assert writes(fake_suitetalk) == []


@pytest.mark.parametrize("mode", MODES)
def test_status_field_whose_answer_was_lost_is_not_written_again(fake_suitetalk: FakeSuiteTalk, mode: str) -> None:
    driver = NetSuiteDriver(
        fake_suitetalk.credentials, NetSuiteSettings(endpoint=fake_suitetalk.url, status_field="custbody_ecc")
    )
    with httpx.Client(timeout=10) as client:
        from plugin_netsuite import run_flow

        def run(flow: Any) -> Any:
            return run_flow(flow, client, driver.auth())

        change = StatusChange("1505", "Picked")
        lost(fake_suitetalk, run, driver.set_status(change), "update", mode)
        again = run(driver.set_status(change))
        assert again == WriteResult(already_done=True, found="custbody_ecc already reads 'Picked'")
        moved = run(driver.set_status(StatusChange("1505", "Packed")))
        assert moved == WriteResult(found="custbody_ecc read 'Picked'")
    assert fake_suitetalk.sales_orders["1505"]["customFields"]["custbody_ecc"] == "Packed"
    assert writes(fake_suitetalk) == ["update", "update"]


# Fulfilments ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "request_",
    [
        ShipmentRequest("1505", tracking=(Tracking("1Z-LOST"),)),
        ShipmentRequest("1505", lines=(("1", Decimal("1")),)),  # no tracking: known by lines and quantities
        ShipmentRequest("1505"),  # everything, no tracking
    ],
    ids=["tracking", "lines", "everything"],
)
def test_a_fulfilment_whose_answer_was_lost_is_not_made_again(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str, request_: ShipmentRequest
) -> None:
    lost(fake_suitetalk, ns_run, ns_driver.ship(request_), "add", mode)
    assert len(fake_suitetalk.fulfilments) == 1
    again: ShipmentResult = ns_run(ns_driver.ship(request_))
    assert again.already_shipped is True
    assert again.shipment_id in fake_suitetalk.fulfilments
    assert len(fake_suitetalk.fulfilments) == 1
    assert writes(fake_suitetalk) == ["add"]


def untagged(fake: FakeSuiteTalk) -> None:
    """Fulfilments lose the externalId the driver gave them (made by hand, by an older driver, or NetSuite did
    not keep it): only their lines, quantities and tracking numbers are left to recognise them by."""
    for fulfilment in fake.fulfilments.values():
        fulfilment["externalId"] = None


def test_a_fulfilment_without_tracking_is_recognised_by_its_lines_and_quantities(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    request = ShipmentRequest("1505", lines=(("1", Decimal("1")),), since=since)
    lost(fake_suitetalk, ns_run, ns_driver.ship(request), "add", "drop")
    untagged(fake_suitetalk)
    again = ns_run(ns_driver.ship(request))
    assert again.already_shipped is True
    assert len(fake_suitetalk.fulfilments) == 1
    # The same lines with another quantity are another shipment.
    other = ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("1.0")), ("2", Decimal("1"))))))
    assert other.already_shipped is False
    assert len(fake_suitetalk.fulfilments) == 2


def test_an_identical_shipment_made_before_the_request_was_first_tried_is_another_one(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("1")),))))
    untagged(fake_suitetalk)
    for fulfilment in fake_suitetalk.fulfilments.values():
        fulfilment["createdDate"] = datetime(2024, 3, 2, tzinfo=timezone.utc)  # yesterday's parcel
    later = ShipmentRequest("1505", lines=(("1", Decimal("1")),), since=datetime(2024, 3, 3, tzinfo=timezone.utc))
    result = ns_run(ns_driver.ship(later))
    assert result.already_shipped is False
    assert len(fake_suitetalk.fulfilments) == 2


def test_a_fulfilment_with_other_tracking_is_not_taken_for_one_without(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    ns_run(ns_driver.ship(ShipmentRequest("1505", tracking=(Tracking("1Z-A"),), lines=(("1", Decimal("1")),))))
    untagged(fake_suitetalk)
    result = ns_run(ns_driver.ship(ShipmentRequest("1505", lines=(("1", Decimal("1")),))))
    assert result.already_shipped is False


# Phone orders -----------------------------------------------------------------------------------------------------
def new_order(reference: str = "PHONE-77") -> NewOrder:
    return NewOrder(
        reference,
        Customer(name="Bart Simpson", store_customer_id="87"),
        ADDRESS,
        ADDRESS,
        (NewOrderLine("TD-100", Decimal("2"), item_id="15"),),
    )


def keyed(fake: FakeSuiteTalk, reference: str) -> list[str]:
    key = NetSuiteDriver.order_key(reference)
    return [oid for oid, order in fake.sales_orders.items() if order["externalId"] == key]


@pytest.mark.parametrize("mode", MODES)
def test_a_phone_order_whose_answer_was_lost_is_not_created_again(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    lost(fake_suitetalk, ns_run, ns_driver.create_order(new_order()), "add", mode)
    assert len(keyed(fake_suitetalk, "PHONE-77")) == 1
    calls = len(fake_suitetalk.calls)
    order = ns_run(ns_driver.create_order(new_order()))
    assert [order.order_id] == keyed(fake_suitetalk, "PHONE-77")
    assert fake_suitetalk.calls[calls:] == ["get"]  # found by externalId: nothing added
    assert writes(fake_suitetalk) == ["add"]


def test_the_reservation_is_the_external_id_and_is_honoured(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    reservation = ns_run(ns_driver.reserve_order(new_order()))
    assert reservation == NetSuiteDriver.order_key("PHONE-77")
    assert fake_suitetalk.calls == []  # fixed before anything is placed: no I/O
    order = ns_run(ns_driver.create_order(new_order(), reservation))
    assert fake_suitetalk.sales_orders[order.order_id]["externalId"] == reservation
    assert fake_suitetalk.sales_orders[order.order_id]["otherRefNum"] == "PHONE-77"
    assert ns_run(ns_driver.create_order(new_order(), reservation)).order_id == order.order_id


def test_an_order_placed_between_the_look_up_and_the_add_is_returned(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    """Another attempt places the order right after this one looked: NetSuite refuses the second add with
    DUP_RCRD, and the driver returns the order that is there."""
    key = NetSuiteDriver.order_key("PHONE-77")
    placed: list[str] = []

    def meanwhile(operation: str, fake: FakeSuiteTalk) -> None:
        if operation == "get" and not placed:
            placed.append(fake.add_sales_order([("15", 2, "14.00")], customer="87", external_id=key))

    fake_suitetalk.on_answer(meanwhile)
    order = ns_run(ns_driver.create_order(new_order()))
    assert order.order_id == placed[0]
    assert fake_suitetalk.calls == ["get", "add", "get"]
    assert keyed(fake_suitetalk, "PHONE-77") == placed


def test_the_fake_refuses_a_second_record_with_the_same_external_id(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    def record() -> Any:
        items = {"item": [{"item": {"internalId": "15"}, "quantity": 1}]}
        return ns_driver._sales_order(entity={"internalId": "87"}, itemList=items, externalId="X-1")

    ns_run(ns_driver._write("add", record(), None, "add"))
    with pytest.raises(StoreError) as raised:
        ns_run(ns_driver._write("add", record(), None, "add"))
    assert raised.value.code == "DUP_RCRD"
    assert len([o for o in fake_suitetalk.sales_orders.values() if o["externalId"] == "X-1"]) == 1
    found = ns_run(ns_driver._find_record({"externalId": "X-1", "type": "salesOrder"}, "get"))
    assert found.externalId == "X-1"
    assert ns_run(ns_driver._find_record({"externalId": "X-2", "type": "salesOrder"}, "get")) is None


@pytest.mark.parametrize("mode", [*MODES, "short"])
def test_a_comment_goes_into_the_memo_once_even_when_its_answer_was_lost(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: str
) -> None:
    """Acknowledging an order already approved still records the comment (the memo), exactly once."""
    change = StatusChange("1505", "_pendingFulfillment", comment="Acknowledged by ECC")
    lost(fake_suitetalk, ns_run, ns_driver.set_status(change), "update", mode)
    assert fake_suitetalk.sales_orders["1505"]["memo"] == "Acknowledged by ECC"  # it was applied
    again = ns_run(ns_driver.set_status(change))
    assert again == WriteResult(already_done=True, found="the order is already approved (_pendingFulfillment)")
    assert writes(fake_suitetalk) == ["update"]


def test_a_cancel_comment_is_a_new_memo_line_in_the_same_update(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.cancel_by_status = True
    fake_suitetalk.touch("1506", memo="Called the customer")
    result = ns_run(ns_driver.cancel(CancelRequest("1506", comment="Cancelled by ECC")))
    assert result is not None
    assert not result.already_done
    order = fake_suitetalk.sales_orders["1506"]
    assert (order["orderStatus"], order["memo"]) == ("_cancelled", "Called the customer\nCancelled by ECC")
    assert writes(fake_suitetalk) == ["update"]
    # Asked again with another comment: the order is cancelled already, the comment alone is added.
    again = ns_run(ns_driver.cancel(CancelRequest("1506", comment="Refunded")))
    assert again is not None
    assert (again.already_done, again.found) == (False, "the order is already _cancelled")
    assert order["memo"].splitlines() == ["Called the customer", "Cancelled by ECC", "Refunded"]
