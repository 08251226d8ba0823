"""The ``netsuite_rest`` driver against the fake endpoint: the keyset listing under a hostile store, time zones,
lines and signs, statuses shared with the SOAP driver, malformed orders, writes that happen once, phone orders
and items."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from lxml import etree

from ecc_connectors import (
    CapabilityNotSupported,
    ConfigurationError,
    Connector,
    ConnectorError,
    DownloadRange,
    ItemQuery,
    OrderKey,
    OrderQuery,
    Seek,
    SQLiteLedger,
    StatusMapping,
    StatusNotAllowed,
    StatusRule,
    StoreError,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.driver import Address, Customer, NewOrder, NewOrderLine, ShipmentRequest
from ecc_connectors.drivers.netsuite_rest import (
    LETTER_TO_CODE,
    ORDER_STATUSES,
    ClientCredentials,
    NetSuiteRestDriver,
    NetSuiteRestSettings,
    status_letters,
)
from ecc_connectors.testing.netsuite_rest import FakeNetSuiteRest

START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def policy(*rules: str) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping(tuple(StatusRule(r) for r in rules or ("*",))),
        range=DownloadRange(start=START),
        unselected=Unselected.IGNORE_TAB,
    )


@pytest.fixture
def fake() -> Iterator[FakeNetSuiteRest]:
    with FakeNetSuiteRest(12) as store:
        yield store


def make_driver(fake: FakeNetSuiteRest, **settings: object) -> NetSuiteRestDriver:
    credentials = ClientCredentials(fake.account, fake.client_id, fake.certificate_id, fake.private_key_pem)
    values: dict[str, object] = {"endpoint": fake.base_url, "time_zone": fake.time_zone, "page_size": 5}
    values.update(settings)
    return NetSuiteRestDriver(credentials, NetSuiteRestSettings(**values))  # type: ignore[arg-type]


@pytest.fixture
def driver(fake: FakeNetSuiteRest) -> NetSuiteRestDriver:
    return make_driver(fake)


pytestmark = pytest.mark.usefixtures("quiet_retries")


# -- statuses --------------------------------------------------------------------------------------------------


def test_status_codes_are_the_soap_records_codes_so_one_policy_serves_both() -> None:
    from _shared import shared_path

    xsd = etree.parse(str(shared_path("specs", "netsuite", "2023_2", "xsd", "transactions.saleTypes.xsd")))
    node = xsd.find(".//{http://www.w3.org/2001/XMLSchema}simpleType[@name='SalesOrderOrderStatus']")
    assert node is not None
    values = [e.get("value") for e in node.iter("{http://www.w3.org/2001/XMLSchema}enumeration")]
    assert [s.code for s in ORDER_STATUSES] == values
    assert "".join(LETTER_TO_CODE) == "ABCDEFGH"
    assert LETTER_TO_CODE["E"] == "_pendingBillingPartFulfilled"


def test_status_names_become_letters() -> None:
    assert status_letters(["_pendingFulfillment", "SalesOrd:A", "B", "_closed"]) == ["B", "A", "H"]
    assert status_letters(["_pendingApproval", "_undefined"]) is None  # no letter: do not filter
    assert status_letters(None) is None
    assert status_letters([]) == []
    with pytest.raises(ValueError, match="_salesOrderPendingFulfillment"):
        status_letters(["_salesOrderPendingFulfillment"])


def test_a_policy_selects_by_status_and_an_unknown_status_is_a_configuration_error(
    fake: FakeNetSuiteRest, driver: NetSuiteRestDriver
) -> None:
    approval = fake.add_sales_order([("15", 1, "14.00")], status="A")
    with Connector(driver, policy("_pendingApproval"), SQLiteLedger()) as connector:
        report = connector.download()
        assert [r.order_id for r in connector.orders()] == [approval]
        assert report.ignored == 12
        assert connector.check_policy() == []
    bad = SyncPolicy(statuses=StatusMapping((StatusRule("pendingFulfillment"),)), range=DownloadRange(start=START))
    with Connector(driver, bad, SQLiteLedger()) as connector:
        assert [p.path for p in connector.check_policy()] == ["statuses.rules[0].status"]
        with pytest.raises(ConfigurationError, match="pendingFulfillment"):
            connector.run(driver.seek_page(OrderQuery(statuses=("pendingFulfillment",)), Seek(), 5))


# -- listing ---------------------------------------------------------------------------------------------------


def test_keyset_listing_loses_nothing_when_orders_move_between_pages(
    fake: FakeNetSuiteRest, driver: NetSuiteRestDriver
) -> None:
    ids = sorted(fake.sales_orders, key=int)
    edited: list[str] = []

    def churn(n: int) -> None:
        # Before each listing request: edit the oldest order not yet edited (it jumps to the end of the sort,
        # every row behind it moves up one place) and add a new one.
        if n >= 2 and len(edited) < 6:
            target = next(i for i in ids if i not in edited)
            fake.touch(target, memo=f"edited {n}")
            edited.append(target)
            fake.add_sales_order([("15", 1, "14.00")])

    with Connector(driver, policy(), SQLiteLedger()) as connector:
        fake.on_listing(churn)
        connector.download()
        fake.on_listing(None)
        held = {r.order_id for r in connector.orders()}
        assert set(ids) - set(edited) <= held  # every order that never changed was read in this run
        connector.download()
        assert {r.order_id for r in connector.orders()} == set(fake.sales_orders)


def test_orders_stamped_in_the_same_second_are_all_read(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    moment = fake.now().replace(microsecond=0) - timedelta(hours=1)
    same = [fake.add_sales_order([("15", 1, "14.00")], created=moment) for _ in range(11)]
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        assert set(same) <= {r.order_id for r in connector.orders()}


def test_keyset_pages_are_sorted_and_bounded(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        query = OrderQuery(updated_from=START)
        first = connector.run(driver.seek_page(query, Seek(), 5))
        assert len(first.keys) == 5
        assert list(first.keys) == sorted(first.keys)
        assert first.total == 12
        after = connector.run(driver.seek_page(query, Seek(after=first.keys[-1], through=first.keys[-1]), 5))
        assert after.keys == ()
        # A bound with a fraction of a second is exact on whole-second stamps.
        nudged = OrderKey(first.keys[1].updated_at + timedelta(microseconds=1), 0)
        rest = connector.run(driver.seek_page(query, Seek(after=nudged), 50))
        assert all(k.updated_at > first.keys[1].updated_at for k in rest.keys)
        probe = connector.run(driver.probe(query, 7))
        everything = connector.run(driver.list_keys(query, Seek(), 100))
        assert probe.key == everything.keys[7]
        assert probe.total == 12
        assert connector.run(driver.probe(query, 12)).key is None
        assert connector.run(driver.probe(query, 200_000)).key is None


def test_times_are_read_in_the_users_time_zone_and_reported_in_utc(fake: FakeNetSuiteRest) -> None:
    # Orders on both sides of the spring DST change in Los Angeles (2026-03-08 10:00 UTC).
    before = fake.add_sales_order([("15", 1, "14.00")], created=datetime(2026, 3, 8, 9, 30, tzinfo=timezone.utc))
    after = fake.add_sales_order([("15", 1, "14.00")], created=datetime(2026, 3, 8, 10, 30, tzinfo=timezone.utc))
    right = make_driver(fake)
    with Connector(right, policy(), SQLiteLedger()) as connector:
        assert connector.get_order(before).updated_at == datetime(2026, 3, 8, 9, 30, tzinfo=timezone.utc)
        assert connector.get_order(after).created_at == datetime(2026, 3, 8, 10, 30, tzinfo=timezone.utc)
        window = OrderQuery(
            updated_from=datetime(2026, 3, 8, 9, 0, tzinfo=timezone.utc),
            updated_to=datetime(2026, 3, 8, 10, 0, tzinfo=timezone.utc),
        )
        assert [str(k.id) for k in connector.run(right.list_keys(window, Seek(), 10)).keys] == [before]
    wrong = make_driver(fake, time_zone="UTC")  # misconfigured: the stamps shift by the zone's offset
    with Connector(wrong, policy(), SQLiteLedger()) as connector:
        assert connector.get_order(before).updated_at == datetime(2026, 3, 8, 1, 30, tzinfo=timezone.utc)


def test_lines_signs_tax_lines_and_totals(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    order_id = fake.add_sales_order([("15", 2, "14.00"), ("17", 1, "3.00")], tax="2.48", shipping="7.50")
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        order = connector.get_order(order_id)
    assert [(line.sku, line.quantity, line.unit_price, line.row_total) for line in order.lines] == [
        ("TD-100", Decimal("2"), Decimal("14.00"), Decimal("28.00")),
        ("GIFT-WRAP", Decimal("1"), Decimal("3.00"), Decimal("3.00")),
    ]
    assert order.totals.subtotal == Decimal("31.00")
    assert order.totals.tax == Decimal("2.48")
    assert order.totals.shipping == Decimal("7.50")
    assert order.totals.grand_total == Decimal("40.98")
    assert order.shipping_address is not None
    assert order.shipping_address.country == "US"
    assert order.raw["transaction"]["id"] == order_id


@pytest.mark.parametrize("deny_more", [False, True])
def test_more_lines_than_one_answer_holds_are_all_read(
    fake: FakeNetSuiteRest, driver: NetSuiteRestDriver, deny_more: bool
) -> None:
    fake.deny_more = deny_more  # hostile: every answer says there is nothing more
    big = [fake.add_sales_order([("15", 1, "1.00")] * 450) for _ in range(3)]  # 1350 lines, 1000 an answer
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        for order_id in big:
            record = connector.ledger.get(connector.store, order_id)
            assert record is not None
            assert len(record.order.lines) == 450


def test_a_malformed_order_is_kept_and_the_rest_lands(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    broken = next(iter(fake.sales_orders))
    fake.sales_orders[broken]["total"] = "12,50"  # not an amount
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        report = connector.download()
        assert report.failures == 1
        assert report.downloaded == 11
        (failure,) = connector.failures()
        assert failure.order_ref == broken
        assert failure.field == "totals.grand_total"


def test_cut_and_refused_answers_are_retried(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    fake.short_bodies(2, methods=("POST",))
    fake.inject_429(1, retry_after=0)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        assert connector.download().downloaded == 12


def test_totals_that_lie_cannot_end_a_listing_early(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    fake.understate_totals = 7  # every SuiteQL answer says there are 7 fewer rows than there are
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        assert {r.order_id for r in connector.orders()} == set(fake.sales_orders)


@pytest.mark.parametrize("skew", [timedelta(hours=-5), timedelta(hours=5)])
def test_the_stores_clock_bounds_the_window_whatever_ours_says(fake: FakeNetSuiteRest, skew: timedelta) -> None:
    fake.set_clock(lambda: datetime.now(timezone.utc) + skew)
    fresh = fake.add_sales_order([("15", 1, "14.00")])  # stamped by the store's clock, hours off ours
    driver = make_driver(fake)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        late = fake.add_sales_order([("15", 1, "14.00")])
        connector.download()
        held = {r.order_id for r in connector.orders()}
    assert {fresh, late} <= held
    assert held == set(fake.sales_orders)


def test_an_unknown_order_is_a_404(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        for order_id in ("999999", "12;DROP"):
            with pytest.raises(StoreError) as caught:
                connector.get_order(order_id)
            assert caught.value.http_status == 404


# -- writes ----------------------------------------------------------------------------------------------------


def test_ship_creates_one_fulfilment_with_packages(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    order_id = next(iter(fake.sales_orders))
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        connector.ship(order_id, Tracking("1Z999", "ups", "UPS"))
        again = connector.run(driver.ship(ShipmentRequest(order_id, (Tracking("1Z999", "ups", "UPS"),))))
    assert again.already_shipped
    (fulfilment,) = fake.fulfilments.values()
    assert fulfilment["packages"] == [{"packageTrackingNumber": "1Z999", "packageDescr": "UPS"}]
    assert fulfilment["shipStatus"] == "C"
    assert fake.status_of(order_id) == "F"
    creates = [r for r in fake.requests if r.path.endswith("/!transform/itemFulfillment")]
    assert len(creates) == 1
    assert "shipStatus" not in creates[0].json()  # only with Pick, Pack and Ship


def test_pick_pack_ship_accounts_get_a_ship_status(fake: FakeNetSuiteRest) -> None:
    driver = make_driver(fake, pick_pack_ship=True)
    order_id = next(iter(fake.sales_orders))
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.ship(order_id, Tracking("1Z1"))
    (create,) = [r for r in fake.requests if r.path.endswith("/!transform/itemFulfillment")]
    assert create.json()["shipStatus"] == {"id": "C"}


def test_a_create_retried_after_a_refused_answer_carries_the_same_idempotency_key(
    fake: FakeNetSuiteRest, driver: NetSuiteRestDriver
) -> None:
    order_id = next(iter(fake.sales_orders))
    request = ShipmentRequest(order_id, (Tracking("1ZKEY"),))
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        fake.lose_write_answers(1, mode="drop")
        with pytest.raises(ConnectorError):
            connector.run(driver.ship(request))
        assert connector.run(driver.ship(request)).already_shipped
    keys = [
        {k.lower(): v for k, v in r.headers.items()}.get("x-netsuite-idempotency-key")
        for r in fake.requests
        if r.method == "POST" and "/record/" in r.path
    ]
    assert len(keys) == 1
    assert keys[0]
    assert len(fake.fulfilments) == 1


def test_partial_shipments_and_lines_with_nothing_left(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    order_id = fake.add_sales_order([("15", 3, "14.00"), ("16", 1, "19.50")])
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.run(driver.ship(ShipmentRequest(order_id, (Tracking("1ZA"),), lines=(("1", Decimal("2")),))))
        assert fake.status_of(order_id) == "E"
        line = fake.sales_orders[order_id]["item"][0]
        assert line["quantityFulfilled"] == Decimal("2")
        connector.run(driver.ship(ShipmentRequest(order_id, (Tracking("1ZB"),))))
        assert fake.status_of(order_id) == "F"
        with pytest.raises(StatusNotAllowed):
            connector.run(driver.ship(ShipmentRequest(order_id, (Tracking("1ZC"),))))


def test_approve_cancel_and_free_text_statuses(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    pending = fake.add_sales_order([("15", 1, "14.00")], status="A")
    other = fake.add_sales_order([("15", 1, "14.00")], status="A")
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.set_status(pending, "_pendingFulfillment", comment="approved by phone")
        assert fake.status_of(pending) == "B"
        assert fake.sales_orders[pending]["memo"] == "approved by phone"
        connector.cancel(other)
        assert fake.status_of(other) == "H"  # every line closed
        assert all(line["isClosed"] for line in fake.sales_orders[other]["item"])
        with pytest.raises(CapabilityNotSupported):
            connector.set_status(pending, "Packed at warehouse 2")
        with pytest.raises(CapabilityNotSupported):
            connector.set_status(pending, "_fullyBilled")
    shipped = next(iter(fake.sales_orders))
    with Connector(make_driver(fake, status_field="custbody_ecc_status"), policy(), SQLiteLedger()) as connector:
        connector.set_status(pending, "Packed at warehouse 2")
        assert fake.sales_orders[pending]["custbody_ecc_status"] == "Packed at warehouse 2"
        connector.ship(shipped, Tracking("1ZDONE"))
        with pytest.raises(StatusNotAllowed):
            connector.cancel(shipped)


# -- items and phone orders ------------------------------------------------------------------------------------


def test_items_by_text_and_sku_with_price_and_stock(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        found = connector.run(driver.search_items(ItemQuery(text="drink")))
        assert [i.sku for i in found] == ["TD-100", "TD-200"]  # the retired one is inactive
        assert found[0].price == Decimal("14.00")  # the lowest quantity break
        assert found[0].available == Decimal("42")
        wrap = connector.run(driver.search_items(ItemQuery(skus=("GIFT-WRAP", "KIT-1"))))
        assert {i.sku: i.available for i in wrap} == {"GIFT-WRAP": None, "KIT-1": None}
        assert connector.run(driver.search_items(ItemQuery(text="x' OR '1'='1"))) == ()
    at_one = make_driver(fake, location_id=2)
    with Connector(at_one, policy(), SQLiteLedger()) as connector:
        (item,) = connector.run(at_one.search_items(ItemQuery(skus=("TD-100",))))
        assert item.available == Decimal("2")


def _phone_order(reference: str, sku: str = "TD-100") -> NewOrder:
    address = Address(
        name="Bart", street=("742 Evergreen Terrace",), city="Springfield", region="OR", postcode="97403", country="US"
    )
    return NewOrder(
        reference=reference,
        customer=Customer(name="Bart", email="bart@example.com", store_customer_id="88"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine(sku, Decimal("2"), unit_price=Decimal("12.50")),),
    )


@pytest.mark.parametrize("mode", ["500", "drop", "short"])
def test_a_phone_order_is_created_once_when_the_answer_is_lost(
    fake: FakeNetSuiteRest, driver: NetSuiteRestDriver, mode: str
) -> None:
    before = set(fake.sales_orders)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        fake.lose_write_answers(1, mode=mode)  # type: ignore[arg-type]
        order = None
        for _ in range(3):
            try:
                order = connector.create_phone_order(_phone_order("PHONE-1"))
                break
            except ConnectorError:
                continue
        assert order is not None
    (created,) = set(fake.sales_orders) - before
    assert order.order_id == created
    assert order.lines[0].unit_price == Decimal("12.50")
    assert fake.sales_orders[created]["otherRefNum"] == "PHONE-1"
    assert fake.sales_orders[created]["shippingAddress"]["country"] == "US"


def test_a_phone_order_for_an_unknown_item_is_refused(fake: FakeNetSuiteRest, driver: NetSuiteRestDriver) -> None:
    with Connector(driver, policy(), SQLiteLedger()) as connector, pytest.raises(StoreError, match="OLD-1"):
        connector.create_phone_order(_phone_order("PHONE-2", sku="OLD-1"))
    no_customer = NewOrder(
        reference="PHONE-3",
        customer=Customer(name="x"),
        billing_address=Address(),
        shipping_address=Address(),
        lines=(),
    )
    with Connector(driver, policy(), SQLiteLedger()) as connector, pytest.raises(ConfigurationError):
        connector.create_phone_order(no_customer)
