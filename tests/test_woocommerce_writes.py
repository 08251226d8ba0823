"""WooCommerce post-backs against the fake store: ship (tracking items when the Shipment Tracking extension
answers, a customer note, the status), acknowledge and cancel, each looked for before it is written, so lost
answers never double a note, a tracking item or an email; phone orders from store items, placed once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from _shared import shared_path
from ecc_connectors import (
    Acknowledgement,
    Address,
    Cancellation,
    Connector,
    ConnectorError,
    Customer,
    DownloadRange,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    PostBack,
    ShipmentRequest,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.woocommerce import REFERENCE_META, WooCommerceDriver
from ecc_connectors.testing.base import ReceivedRequest
from ecc_connectors.testing.woocommerce import FakeWooCommerce

SPEC = ("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")


def policy(**kwargs: object) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping((StatusRule("*"),)),
        range=DownloadRange(start=datetime(2020, 1, 1, tzinfo=timezone.utc)),
        unselected=Unselected.IGNORE_TAB,
        **kwargs,  # type: ignore[arg-type]
    )


pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers are the point here


@pytest.fixture
def store() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(4, spec=shared_path(*SPEC)) as fake:
        yield fake
        assert fake.spec_violations == []


def driver_for(store: FakeWooCommerce, **kwargs: object) -> WooCommerceDriver:
    return WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret, **kwargs)  # type: ignore[arg-type]


def fresh(store: FakeWooCommerce) -> str:
    with store.lock:
        return str(store.shop.new_order("processing")["id"])


def writes(store: FakeWooCommerce) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in store.requests if r.method != "GET"]


def test_ship_adds_tracking_note_and_completes_once_and_a_second_call_writes_nothing(store: FakeWooCommerce) -> None:
    order_id = fresh(store)
    driver = driver_for(store)
    with SQLiteLedger() as ledger, Connector(driver, policy(), ledger) as connector:
        result = connector.ship(order_id, Tracking("1Z999AA1", title="UPS"))
        # The policy left the post-back status at the SDK's default: the driver's own default, completed.
        assert not result.already_shipped
        request = ShipmentRequest(order_id, (Tracking("1Z999AA1", title="UPS"),), status="completed")
        again = connector.run(driver.ship(request))
    assert again.already_shipped
    with store.lock:
        order = store.shop.orders[int(order_id)]
        notes = [n for n in store.shop.notes[int(order_id)] if n["customer_note"]]
        tracks = store.shop.trackings(order_id)
        emails = [e[0] for e in store.shop.emails if e[1] == int(order_id)]
    assert order["status"] == "completed"
    assert [(t["tracking_number"], t["custom_tracking_provider"]) for t in tracks] == [("1Z999AA1", "UPS")]
    assert [n["note"] for n in notes] == ["Tracking number: 1Z999AA1 (UPS)"]
    assert sorted(emails) == ["customer_completed_order", "customer_note"]
    assert writes(store).count(("PUT", f"/wp-json/wc/v3/orders/{order_id}")) == 1


def test_without_the_extension_the_note_carries_the_tracking_alone() -> None:
    with FakeWooCommerce(2, tracking=False, spec=shared_path(*SPEC)) as store:
        order_id = fresh(store)
        with SQLiteLedger() as ledger, Connector(driver_for(store), policy(), ledger) as connector:
            connector.ship(order_id, "1ZNOEXT")
        probes = [r for r in store.requests if "shipment-trackings" in r.path]
        assert [r.method for r in probes] == ["GET"]  # detected (404 rest_no_route), never assumed
        assert [n["note"] for n in store.shop.notes[int(order_id)] if n["customer_note"]] == [
            "Tracking number: 1ZNOEXT"
        ]
        assert store.spec_violations == []


def test_tracking_detection_can_be_turned_off(store: FakeWooCommerce) -> None:
    order_id = fresh(store)
    with SQLiteLedger() as ledger, Connector(driver_for(store, shipment_tracking="off"), policy(), ledger) as c:
        c.ship(order_id, "1ZOFF")
    assert not [r for r in store.requests if "shipment-trackings" in r.path]
    assert store.shop.trackings(order_id) == []


@pytest.mark.parametrize("mode", ["500", "drop", "short"])
def test_ship_after_each_write_loses_its_answer_ends_with_one_of_each(store: FakeWooCommerce, mode: str) -> None:
    """A ship is up to three writes (tracking item, status, note): the answer of each in turn is lost after the
    store applied it, and the caller calls again until it succeeds. One of each, one email each."""
    for victim in range(3):
        order_id = fresh(store)
        seen: list[object] = []

        def lose_the_nth_write(request: ReceivedRequest, n: int = victim, seen: list[object] = seen) -> None:
            if request.method != "GET":
                seen.append(request)
                if len(seen) == n + 1:
                    store.lose_write_answers(1, mode=mode)  # type: ignore[arg-type]

        store.on_request(lose_the_nth_write)
        try:
            with SQLiteLedger() as ledger, Connector(driver_for(store), policy(), ledger) as connector:
                calls = 0
                while True:
                    calls += 1
                    try:
                        connector.ship(order_id, "1ZLOST")
                        break
                    except ConnectorError:
                        assert calls < 4
        finally:
            store.clear_hooks()
        # The status PUT needs nothing from its answer's body, so a cut body (short) does not fail that call.
        expected = 1 if (mode, victim) == ("short", 1) else 2
        assert calls == expected, f"write {victim}: {calls} calls"
        with store.lock:
            assert len(store.shop.trackings(order_id)) == 1
            assert sum(1 for n in store.shop.notes[int(order_id)] if n["customer_note"]) == 1
            assert store.shop.orders[int(order_id)]["status"] == "completed"
            kinds = [e[0] for e in store.shop.emails if e[1] == int(order_id)]
        assert sorted(kinds) == ["customer_completed_order", "customer_note"]


def test_acknowledge_sets_its_status_and_an_internal_note_once(store: FakeWooCommerce) -> None:
    order_id = fresh(store)
    ack = Acknowledgement(status="on-hold", comment="Received by the office", notify_customer=False)
    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(acknowledgement=ack), ledger) as connector:
        store.lose_write_answers(1, mode="500")
        with pytest.raises(ConnectorError):
            connector.acknowledge(order_id)
        connector.acknowledge(order_id)
    with store.lock:
        ours = [n for n in store.shop.notes[int(order_id)] if n["note"] == "Received by the office"]
        assert store.shop.orders[int(order_id)]["status"] == "on-hold"
    assert len(ours) == 1
    assert ours[0]["customer_note"] is False


def test_cancel_with_and_without_a_customer_note(store: FakeWooCommerce) -> None:
    loud, quiet = fresh(store), fresh(store)
    told = Cancellation(status=None, send_email=True, comment="Out of stock, sorry")
    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(cancellation=told), ledger) as connector:
        connector.cancel(loud)
    silent = Cancellation(status=None, send_email=False, comment="")
    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(cancellation=silent), ledger) as connector:
        connector.cancel(quiet)
    with store.lock:
        assert store.shop.orders[int(loud)]["status"] == store.shop.orders[int(quiet)]["status"] == "cancelled"
        assert [n["note"] for n in store.shop.notes[int(loud)] if n["customer_note"]] == ["Out of stock, sorry"]
        assert not [n for n in store.shop.notes[int(quiet)] if n["customer_note"]]
        emails = [(kind, oid) for kind, oid, _ in store.shop.emails]
    assert ("customer_note", int(loud)) in emails
    assert ("customer_note", int(quiet)) not in emails


def test_post_back_without_status_keeps_the_status(store: FakeWooCommerce) -> None:
    order_id = fresh(store)
    with SQLiteLedger() as ledger, Connector(driver_for(store), policy(post_back=PostBack(status=None)), ledger) as c:
        c.ship(order_id, "1ZKEEP")
    assert store.shop.orders[int(order_id)]["status"] == "processing"


def new_order(reference: str, *lines: NewOrderLine) -> NewOrder:
    address = Address(
        name="Rita Lopes",
        street=("Rua Nova 1",),
        city="Porto",
        postcode="4000-001",
        country="PT",
        email="rita@example.com",
        phone="+351222",
    )
    return NewOrder(
        reference,
        Customer(name="Rita Lopes", email="rita@example.com"),
        address,
        address,
        lines,
        shipping_method="flat_rate",
        payment_method="cod",
        currency="EUR",
    )


def test_phone_order_from_skus_and_variations_is_placed_once_after_a_lost_answer(store: FakeWooCommerce) -> None:
    driver = driver_for(store, phone_orders_paid=True)
    with SQLiteLedger() as ledger, Connector(driver, policy(), ledger) as connector:
        items = connector.search_items("t-shirt")
        assert {i.sku for i in items} == {"WOO-TEE-S", "WOO-TEE-L"}
        assert all(i.item_type == "variation" for i in items)
        by_sku = connector.run(driver.search_items(ItemQuery(skus=("WOO-001", "WOO-TEE-L"))))
        assert {(i.sku, i.price) for i in by_sku} == {("WOO-001", Decimal("9.50")), ("WOO-TEE-L", Decimal("19.50"))}
        tee = next(i for i in items if i.sku == "WOO-TEE-S")
        wanted = new_order(
            "PH-1", NewOrderLine("WOO-001", Decimal(2)), NewOrderLine(tee.sku, Decimal(1), item_id=tee.item_id)
        )
        store.lose_write_answers(1, mode="drop")
        with pytest.raises(ConnectorError):
            connector.create_phone_order(wanted)
        placed = connector.create_phone_order(wanted)
    with store.lock:
        made = [o for o in store.shop.orders.values() if any(m.get("key") == REFERENCE_META for m in o["meta_data"])]
    assert len(made) == 1
    assert placed.order_id == str(made[0]["id"])
    assert placed.status == "processing"  # set_paid, as the setting says
    assert [(line.sku, line.quantity) for line in placed.lines] == [("WOO-001", Decimal(2)), ("WOO-TEE-S", Decimal(1))]
    assert made[0]["created_via"] == "rest-api"
    assert made[0]["billing"]["email"] == "rita@example.com"
