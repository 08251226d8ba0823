"""Downloading sales orders: paging with search ids that expire and pages that move, and the order mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
import zeep
from lxml import etree

from ecc_connectors import BrokenAnswer, Capability, ConfigurationError, FollowCursor, OrderQuery, PayloadError
from ecc_connectors.drivers.netsuite import (
    ORDER_STATUSES,
    NetSuiteDriver,
    NetSuiteSettings,
    order_from_record,
    packaged_wsdl,
)
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import Runner, collect_orders, run_flow

BASE = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twelve(clock: Clock) -> Iterator[FakeSuiteTalk]:
    """A fake with twelve orders pending fulfilment (three pages of five) and a controllable clock."""
    with FakeSuiteTalk(seed=False, search_clock=clock) as fake:
        fake.add_customer("Abe Simpson", "87")
        item = fake.add_item("TD-100", "Tongue Depressor", price="14.00")
        for n in range(12):
            fake.add_sales_order(
                [(item, n + 1, "14.00")],
                status="_pendingFulfillment",
                created=BASE + timedelta(minutes=n),
                internal_id=str(2000 + n),
            )
        yield fake


@pytest.fixture
def run12(twelve: FakeSuiteTalk) -> Iterator[tuple[NetSuiteDriver, Runner]]:
    driver = NetSuiteDriver(twelve.credentials, NetSuiteSettings(endpoint=twelve.url, page_size=5))
    with httpx.Client(timeout=10) as client:
        yield driver, (lambda flow: run_flow(flow, client, driver.auth()))


ALL_IDS = {str(2000 + n) for n in range(12)}


def test_pages_through_twelve_orders_in_ranges_of_internal_ids(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    orders, pages = collect_orders(run, driver, OrderQuery(page_size=5))
    assert [o.order_id for o in orders] == sorted(ALL_IDS)
    # Every answer is a fresh search over a range of internal ids: no search id, no searchMoreWithId.
    assert set(twelve.calls) == {"search"}
    assert pages == len(twelve.calls) == 6  # measured: the first answer, then ranges of up to 3 orders (pages of 5)
    assert driver.sorts_by_updated is False


def test_first_page_reports_total_and_a_cursor(run12: tuple) -> None:
    driver, run = run12
    page = run(driver.first_page(OrderQuery(page_size=5)))
    assert page.total == 12
    assert len(page.orders) == 5
    assert isinstance(page.next, FollowCursor)
    later = run(page.next.fetch())
    assert later.total is None  # later answers count ranges, not the listing


def test_an_expired_search_id_cannot_cost_an_order(twelve: FakeSuiteTalk, run12: tuple, clock: Clock) -> None:
    driver, run = run12
    page = run(driver.first_page(OrderQuery(page_size=5)))
    ids = [o.order_id for o in page.orders]
    while page.next is not None:
        clock.now += 16 * 60  # search ids live 15 minutes after last use
        twelve.expire_searches()
        page = run(page.next.fetch())
        ids += [o.order_id for o in page.orders]
    assert sorted(ids) == sorted(ALL_IDS)
    assert len(ids) == len(set(ids))
    assert "searchMoreWithId" not in twelve.calls


def test_an_answer_short_of_its_count_is_asked_again(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    page = run(driver.first_page(OrderQuery(page_size=5)))
    ids = [o.order_id for o in page.orders]
    twelve.empty_page(1)  # the next answer counts its records but carries none (the "empty page" of NetSuite)
    calls = len(twelve.calls)
    page = run(page.next.fetch())
    assert twelve.calls[calls:] == ["search", "search"]
    ids += [o.order_id for o in page.orders]
    while page.next is not None:
        page = run(page.next.fetch())
        ids += [o.order_id for o in page.orders]
    assert sorted(ids) == sorted(ALL_IDS)
    assert len(ids) == len(set(ids))


def test_answers_that_stay_short_are_a_broken_answer(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    twelve.empty_page(1, times=50)
    with pytest.raises(BrokenAnswer, match="counted 12") as raised:
        run(driver.first_page(OrderQuery(page_size=5)))
    assert raised.value.code == "SHORT_PAGE"
    assert twelve.calls.count("search") == 1 + driver.settings.max_search_restarts


def test_records_moving_between_pages_are_not_lost(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    query = OrderQuery(page_size=5, statuses=("_pendingFulfillment",))
    page = run(driver.first_page(query))
    first_ids = [o.order_id for o in page.orders]
    # A user approves/cancels an order already read: it leaves the result set and every later record moves
    # one place up, so order 2005 would slip from page 2 to page 1 behind our back.
    twelve.touch(first_ids[0], orderStatus="_cancelled")
    ids = list(first_ids)
    while page.next is not None:
        page = run(page.next.fetch())
        ids += [o.order_id for o in page.orders]
    assert len(ids) == len(set(ids))
    assert set(ids) == ALL_IDS


def test_query_becomes_transaction_search_criteria(twelve: FakeSuiteTalk, run12: tuple) -> None:
    ceiling, _run = run12
    capped = next(ceiling.first_page(OrderQuery(page_size=7)))
    assert b">5</" in capped.content  # the query asked for 7; the driver is set to pages of at most 5
    driver = NetSuiteDriver(twelve.credentials, NetSuiteSettings(endpoint=twelve.url))
    start, end = BASE, BASE + timedelta(days=1)
    request = next(
        driver.first_page(
            OrderQuery(
                updated_from=start,
                updated_to=end,
                created_from=start,
                statuses=("_pendingFulfillment", "_fullyBilled"),
                page_size=7,
            )
        )
    )
    root = etree.fromstring(request.content)

    def texts(path: str) -> list[str]:
        return [str(t) for t in root.xpath(path + "/text()")]

    def local(name: str) -> str:
        return f"//*[local-name()='{name}']"

    assert texts(local("searchPreferences") + local("pageSize")) == ["7"]
    assert texts(local("searchPreferences") + local("bodyFieldsOnly")) == ["false"]
    assert texts(local("searchPreferences") + local("returnSearchColumns")) == ["false"]
    record = root.xpath(local("searchRecord"))[0]
    assert record.get("{http://www.w3.org/2001/XMLSchema-instance}type").endswith(":TransactionSearchBasic")
    assert texts(local("searchRecord") + "/*[local-name()='type']" + local("searchValue")) == ["_salesOrder"]
    assert texts(local("searchRecord") + "/*[local-name()='status']" + local("searchValue")) == [
        "_salesOrderPendingFulfillment",
        "_salesOrderBilled",
    ]
    modified = root.xpath(local("lastModifiedDate"))[0]
    assert modified.get("operator") == "within"
    assert [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in texts(local("lastModifiedDate") + "/*")] == [
        start,
        end,
    ]
    assert root.xpath(local("dateCreated"))[0].get("operator") == "onOrAfter"
    assert not root.xpath(local("tranDate"))  # the order date is not what Order.created_at is
    assert not root.xpath(local("internalIdNumber"))  # the first answer is not bounded
    assert request.extensions.get("ecc_connectors.idempotent") is True


def test_status_search_values_pass_through_and_undefined_means_all(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    twelve.touch("2003", orderStatus="_fullyBilled")
    billed, _ = collect_orders(run, driver, OrderQuery(statuses=("_salesOrderBilled",)))
    assert [o.order_id for o in billed] == ["2003"]
    everything, _ = collect_orders(run, driver, OrderQuery(statuses=("_undefined",)))
    assert len(everything) == 12
    with pytest.raises(ConfigurationError, match="unknown NetSuite sales order status"):
        next(driver.first_page(OrderQuery(statuses=("shipped",))))


def test_date_range_and_starting_number(twelve: FakeSuiteTalk, run12: tuple) -> None:
    driver, run = run12
    for n in range(12):
        twelve.sales_orders[str(2000 + n)]["lastModifiedDate"] = BASE + timedelta(hours=n)
    window, _ = collect_orders(
        run, driver, OrderQuery(updated_from=BASE + timedelta(hours=3), updated_to=BASE + timedelta(hours=5))
    )
    assert [o.order_id for o in window] == ["2003", "2004", "2005"]
    numbered, _ = collect_orders(run, driver, OrderQuery(starting_number="SO2010"))
    assert [o.number for o in numbered] == ["SO2010", "SO2011"]


@pytest.mark.parametrize("status", [s.code for s in ORDER_STATUSES])
def test_every_order_status_maps(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, status: str
) -> None:
    fake_suitetalk.touch("1505", orderStatus=status)
    order = ns_run(ns_driver.get_order("1505"))
    assert order.status == status
    assert order.state == {s.code: s.state for s in ORDER_STATUSES}[status]
    if status != "_undefined":
        listed, _ = collect_orders(ns_run, ns_driver, OrderQuery(statuses=(status,)))
        assert "1505" in [o.order_id for o in listed]


def test_status_table(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    statuses = ns_run(ns_driver.list_statuses())
    assert [s.code for s in statuses] == [
        "_pendingApproval",
        "_pendingFulfillment",
        "_cancelled",
        "_partiallyFulfilled",
        "_pendingBillingPartFulfilled",
        "_pendingBilling",
        "_fullyBilled",
        "_closed",
        "_undefined",
    ]
    assert all(s.label for s in statuses)
    assert Capability.LIST_STATUSES in ns_driver.capabilities


def test_sales_order_maps_completely(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    order = ns_run(ns_driver.get_order("1505"))
    assert (order.order_id, order.number, order.currency) == ("1505", "SO1505", "USD")
    assert order.created_at == datetime(2024, 3, 1, 15, 0, tzinfo=timezone.utc)
    assert order.updated_at.tzinfo is timezone.utc
    assert order.customer.name == "Abe Simpson"
    assert order.customer.store_customer_id == "87"
    assert order.customer.email == "asimpson@example.com"
    assert order.customer.phone == "406-555-0101"
    assert [(ln.line_id, ln.sku, ln.quantity, ln.unit_price, ln.row_total) for ln in order.lines] == [
        ("1", "TD-100", Decimal("2"), Decimal("14.00"), Decimal("28.00")),
        ("2", "KIT-FA", Decimal("1"), Decimal("39.95"), Decimal("39.95")),
    ]
    assert all(isinstance(ln.quantity_shipped, Decimal) for ln in order.lines)
    assert order.shipping_address is not None
    assert order.shipping_address.street == ("34 Elm St",)
    assert (order.shipping_address.city, order.shipping_address.country) == ("Great Falls", "US")
    assert order.billing_address == order.shipping_address
    assert order.totals.subtotal == Decimal("67.95")
    assert order.totals.shipping == Decimal("5.00")
    assert order.totals.grand_total == Decimal("72.95")
    assert order.shipping_method == "UPS Ground"
    assert order.raw["customFields"] == {"custbody_channel": "web"}
    assert order.raw["tranId"] == "SO1505"
    assert len(order.raw["itemList"]["item"]) == 2


# The order NetSuite writes elements in is not always the schema's: here itemList comes before the totals
# and tranId after it. zeep with strict=False alone drops the list silently; the driver's settings keep it.
OUT_OF_ORDER = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><getResponse xmlns="urn:messages_2023_2.platform.webservices.netsuite.com">
  <readResponse><platformCore:status xmlns:platformCore="urn:core_2023_2.platform.webservices.netsuite.com"
     isSuccess="true"/>
   <record internalId="77" xsi:type="s:SalesOrder"
     xmlns:s="urn:sales_2023_2.transactions.webservices.netsuite.com"
     xmlns:c="urn:core_2023_2.platform.webservices.netsuite.com"
     xmlns:m="urn:common_2023_2.platform.webservices.netsuite.com">
    <s:createdDate>2024-01-02T03:04:05.000-08:00</s:createdDate>
    <s:lastModifiedDate>2024-01-03T03:04:05.000-08:00</s:lastModifiedDate>
    <s:orderStatus>_partiallyFulfilled</s:orderStatus>
    <s:itemList><s:item><s:item internalId="15"><c:name>TD-100</c:name></s:item><s:line>1</s:line>
      <s:amount>28.0</s:amount><s:quantity>2.0</s:quantity><s:rate>14.00</s:rate>
      <s:quantityFulfilled>1.0</s:quantityFulfilled></s:item></s:itemList>
    <s:shippingAddress><m:zip>59401</m:zip><m:addr1>34 Elm St</m:addr1><m:country>_canada</m:country>
    </s:shippingAddress>
    <s:total>28.0</s:total>
    <s:salesRep internalId="43"><c:name>Jon Baker</c:name></s:salesRep>
    <s:tranId>SO77</s:tranId>
    <s:customFieldList><c:customField scriptId="custbody_gift" xsi:type="c:BooleanCustomFieldRef">
      <c:value>true</c:value></c:customField>
     <c:customField scriptId="custbody_src" xsi:type="c:SelectCustomFieldRef">
      <c:value internalId="3"><c:name>Phone</c:name></c:value></c:customField></s:customFieldList>
   </record></readResponse></getResponse></soapenv:Body></soapenv:Envelope>"""


def test_item_list_is_not_silently_emptied(ns_driver: NetSuiteDriver) -> None:
    response = httpx.Response(200, content=OUT_OF_ORDER.encode(), request=httpx.Request("POST", "http://x"))
    record = ns_driver._soap.reply("get", response).readResponse.record
    order = order_from_record(record, "netsuite:test", "USD")
    assert order.number == "SO77"
    assert [(ln.sku, ln.quantity, ln.quantity_shipped) for ln in order.lines] == [
        ("TD-100", Decimal("2.0"), Decimal("1.0"))
    ]
    assert order.shipping_address is not None
    assert (order.shipping_address.postcode, order.shipping_address.country) == ("59401", "CA")
    assert order.raw["customFields"] == {
        "custbody_gift": True,
        "custbody_src": {"name": "Phone", "internalId": "3"},
    }
    # A field the compact WSDL does not declare is still in raw, as the XML NetSuite sent.
    assert any("Jon Baker" in text and "salesRep" in text for text in order.raw["_unparsed"])
    # The trap the driver avoids: strict=False alone reads the same payload with no lines at all.
    lax = zeep.Client(str(packaged_wsdl()), settings=zeep.Settings(strict=False))
    from zeep.loader import parse_xml

    doc = parse_xml(OUT_OF_ORDER.encode(), lax.transport, settings=lax.settings)
    lax_record = lax.service._binding.get("get").process_reply(doc).body.readResponse.record
    lax_items = (lax_record.itemList.item if lax_record.itemList is not None else None) or []
    assert len(lax_items) == 0


def test_a_bad_record_is_a_payload_error_not_a_lost_page(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.sales_orders["1506"]["createdDate"] = None
    fake_suitetalk.sales_orders["1506"]["tranDate"] = None
    page = ns_run(ns_driver.first_page(OrderQuery()))
    bad = [o for o in page.orders if isinstance(o, PayloadError)]
    good = [o.order_id for o in page.orders if not isinstance(o, PayloadError)]
    assert [b.order_ref for b in bad] == ["1506"]
    assert good == ["1505", "1507"]
    assert json.loads(json.dumps(bad[0].raw))["internalId"] == "1506"  # raw stays storable
