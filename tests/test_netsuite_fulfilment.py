"""Fulfilments an account with more setup would accept: line locations (multi-location inventory), lot and serial
numbers (inventory detail), the integrated carrier's package list, and a ship status only with Pick, Pack and Ship.
The fake checks each the way such an account does; the driver before this change failed every one of them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ecc_connectors import ConnectorError, ShipmentRequest, StatusNotAllowed, StoreError, Tracking
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk
from ecc_connectors.testing.netsuite import operation_of
from plugin_netsuite import run_flow

UPS = Tracking("1Z999AA10123456784", "ups", "UPS Ground")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def runner(fake: FakeSuiteTalk, client: httpx.Client, **settings: Any) -> tuple[NetSuiteDriver, Any]:
    driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, **settings))
    return driver, lambda flow: run_flow(flow, client, driver.auth())


def add_order(fake: FakeSuiteTalk, **kwargs: Any) -> str:
    return fake.add_sales_order([("15", 2, "14.00"), ("16", 1, "39.95")], **kwargs)


def test_each_line_ships_from_the_location_netsuite_initialized(client: httpx.Client) -> None:
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, locations={1: "7", 2: "8"})
        driver, run = runner(fake, client)
        result = run(driver.ship(ShipmentRequest(oid, tracking=(UPS,))))
        lines = fake.fulfilments[result.shipment_id]["lines"]
        assert [(ln["orderLine"], ln["location"]) for ln in lines] == [(1, "7"), (2, "8")]


def test_without_the_location_the_account_refuses_the_fulfilment(client: httpx.Client) -> None:
    """What the driver sent before: lines without their location."""
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, locations={1: "7"})
        driver, run = runner(fake, client)
        bare = driver._soap.type("sales", "ItemFulfillment")(
            createdFrom={"internalId": oid},
            itemList={"replaceAll": False, "item": [{"itemReceive": True, "orderLine": 1, "quantity": 2}]},
        )
        with pytest.raises(StoreError, match="Location") as raised:
            run(driver._write("add", bare, oid, "add fulfilment"))
        assert raised.value.code == "LOCATION_REQD"


def test_lot_numbers_netsuite_assigned_are_carried_over(client: httpx.Client) -> None:
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, lots={1: {"501": "1", "502": "5"}}, locations={1: "7", 2: "7"})
        driver, run = runner(fake, client)
        result = run(driver.ship(ShipmentRequest(oid)))
        assert fake.sales_orders[oid]["orderStatus"] == "_pendingBilling"
        assert fake.fulfilments[result.shipment_id]["lines"][0]["quantity"] == Decimal("2")
        sent = [r.body.decode() for r in fake.requests if operation_of(r) == "add"]
        assert len(sent) == 1
        assert "issueInventoryNumber" in sent[0]
        assert 'internalId="501"' in sent[0]
        assert 'internalId="502"' in sent[0]


def test_a_lot_line_shipped_in_part_is_refused_before_anything_is_written(client: httpx.Client) -> None:
    """Which lots go out is a choice the request does not make: a typed error naming the order and line."""
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, lots={1: {"501": "1", "502": "5"}})
        driver, run = runner(fake, client)
        with pytest.raises(StatusNotAllowed, match="order line 1 has lot or serial numbers") as raised:
            run(driver.ship(ShipmentRequest(oid, lines=(("1", Decimal("1")),))))
        assert (raised.value.code, raised.value.order_id) == ("INVENTORY_DETAIL_NEEDED", oid)
        assert "add" not in fake.calls
        # The line without lots ships in part as before.
        result = run(driver.ship(ShipmentRequest(oid, lines=(("2", Decimal("1")),))))
        assert [ln["orderLine"] for ln in fake.fulfilments[result.shipment_id]["lines"]] == [2]


@pytest.mark.parametrize(
    ("carrier", "list_name", "description"),
    [
        ("ups", "packageUpsList", "UPS Ground"),
        ("fedex", "packageFedExList", ""),
        ("usps", "packageUspsList", "UPS Ground"),
    ],
)
def test_an_integrated_carriers_packages_go_in_its_own_list(
    client: httpx.Client, carrier: str, list_name: str, description: str
) -> None:
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, carrier=carrier)
        driver, run = runner(fake, client)
        result = run(driver.ship(ShipmentRequest(oid, tracking=(UPS,))))
        fulfilment = fake.fulfilments[result.shipment_id]
        assert (fulfilment["packageList"], fulfilment["packages"]) == (list_name, [(UPS.number, description)])
        # Read back from that list: the same request again is recognised as shipped.
        again = run(driver.ship(ShipmentRequest(oid, tracking=(UPS,))))
        assert (again.already_shipped, again.shipment_id) == (True, result.shipment_id)


def test_the_plain_package_list_is_refused_where_a_carrier_is_integrated(client: httpx.Client) -> None:
    """What the driver sent before, whatever the carrier."""
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, carrier="fedex")
        driver, run = runner(fake, client)
        plain = driver._soap.type("sales", "ItemFulfillment")(
            createdFrom={"internalId": oid},
            packageList={"package": [{"packageTrackingNumber": "7946"}]},
            itemList={"replaceAll": False, "item": [{"itemReceive": True, "orderLine": 1}]},
        )
        with pytest.raises(StoreError, match="packageFedExList"):
            run(driver._write("add", plain, oid, "add fulfilment"))


def test_a_lost_answer_with_an_integrated_carrier_does_not_ship_twice(client: httpx.Client) -> None:
    with FakeSuiteTalk() as fake:
        oid = add_order(fake, carrier="ups")
        driver, run = runner(fake, client)
        fake.lose_answers(operation="add", mode="drop")
        with pytest.raises((httpx.HTTPError, ConnectorError)):
            run(driver.ship(ShipmentRequest(oid, tracking=(UPS,))))
        again = run(driver.ship(ShipmentRequest(oid, tracking=(UPS,))))
        assert again.already_shipped
        assert len(fake.fulfilments) == 1


def test_ship_status_only_where_pick_pack_and_ship_is_on(client: httpx.Client) -> None:
    with FakeSuiteTalk(pick_pack_ship=False) as fake:
        driver, run = runner(fake, client)
        result = run(driver.ship(ShipmentRequest("1505", tracking=(UPS,))))
        assert fake.fulfilments[result.shipment_id]["shipStatus"] is None
        assert "shipStatus" not in [r for r in fake.requests if operation_of(r) == "add"][-1].body.decode()
        # Sent all the same (the driver before this change always did): the account refuses it.
        forced, run_forced = runner(fake, client, pick_pack_ship=True)
        fake.add_sales_order([("15", 1, "14.00")], internal_id="2001")
        with pytest.raises(StoreError, match="Pick, Pack and Ship is not enabled"):
            run_forced(forced.ship(ShipmentRequest("2001")))
    with FakeSuiteTalk(pick_pack_ship=True) as fake:
        driver, run = runner(fake, client)
        result = run(driver.ship(ShipmentRequest("1505")))
        assert fake.fulfilments[result.shipment_id]["shipStatus"] == "_shipped"
        # Told the account has it off, the driver leaves the status to NetSuite: the fulfilment is only picked.
        off, run_off = runner(fake, client, pick_pack_ship=False)
        fake.add_sales_order([("15", 1, "14.00")], internal_id="2002")
        result = run_off(off.ship(ShipmentRequest("2002")))
        assert fake.fulfilments[result.shipment_id]["shipStatus"] == "_picked"
