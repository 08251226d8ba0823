"""The packaged compact WSDL against Oracle's full 2023_2 WSDL, real fixtures, WSDL loading and caching."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

from ecc_connectors import (
    Address,
    CancelRequest,
    Customer,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    OrderQuery,
    ShipmentRequest,
    StatusChange,
    StoreError,
    Tracking,
)
from ecc_connectors.drivers.netsuite import (
    NetSuiteDriver,
    NetSuiteSettings,
    order_from_record,
    packaged_wsdl,
    wsdl_location,
)

# private: the zeep side itself: the process-wide client cache (emptied to load afresh) and the status check on
# answers parsed by the real WSDL, neither of which a driver's user touches
from ecc_connectors.drivers.netsuite._soap import _clients, load_zeep_client, raise_for_status
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import rewrite_to_2023_2, run_flow

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
PASSPORT_VOLATILE = {"nonce", "timestamp", "signature"}


def canonical(content: bytes) -> Any:
    """The envelope as nested tuples of namespace-qualified names: prefixes (which zeep numbers as it goes) do
    not count, xsi:type values are resolved to qualified names, and the passport's nonce, timestamp and
    signature are fixed."""
    root = etree.fromstring(content)

    def walk(element: Any, in_passport: bool) -> Any:
        name = etree.QName(element)
        attributes = []
        for key, value in sorted(element.attrib.items()):
            if key == XSI_TYPE:
                prefix, _, local = value.rpartition(":")
                value = f"{{{element.nsmap.get(prefix or None)}}}{local}"
            attributes.append((key, value))
        text = (element.text or "").strip()
        if in_passport and name.localname in PASSPORT_VOLATILE:
            text = "<fixed>"
        passport = in_passport or name.localname == "tokenPassport"
        return (
            name.text,
            tuple(attributes),
            text,
            tuple(walk(child, passport) for child in element if isinstance(child.tag, str)),
        )

    return walk(root, False)


def scenario(driver: NetSuiteDriver, client: httpx.Client, record: Callable[[httpx.Request], None]) -> None:
    """Every operation the driver performs, each request handed to ``record`` before it is sent."""

    def run(flow: Any) -> Any:
        try:
            request = next(flow)
            while True:
                record(request)
                request = flow.send(client.send(request, auth=driver.auth()))
        except StopIteration as stop:
            return stop.value

    moment = datetime(2024, 3, 1, tzinfo=timezone.utc)
    page = run(
        driver.first_page(
            OrderQuery(
                updated_from=moment,
                updated_to=datetime(2030, 1, 1, tzinfo=timezone.utc),
                created_from=moment,
                statuses=("_pendingFulfillment", "_pendingApproval"),
                page_size=5,
            )
        )
    )
    assert len(page.orders) == 2
    run(driver.first_page(OrderQuery(created_to=datetime(2030, 1, 1, tzinfo=timezone.utc), page_size=5)))
    run(driver.list_statuses())
    run(driver.get_order("1505"))
    items = run(driver.search_items(ItemQuery(text="Depressor")))
    run(driver.search_items(ItemQuery(skus=("TD-100",))))
    address = Address(
        name="Bart",
        company="Kwik-E-Mart",
        street=("742 Evergreen", "Apt 2"),
        city="Springfield",
        region="OR",
        postcode="97403",
        country="US",
        phone="555-0113",
    )
    run(
        driver.create_order(
            NewOrder(
                "PHONE-EQ",
                Customer(email="bart@example.com", store_customer_id="87"),
                address,
                address,
                (
                    NewOrderLine("TD-100", Decimal("2"), item_id=items[0].item_id),
                    NewOrderLine("KIT-FA", Decimal("1"), unit_price=Decimal("35.00"), name="Kit"),
                ),
            )
        )
    )
    run(
        driver.ship(
            ShipmentRequest(
                "1505",
                tracking=(Tracking("1Z1", "ups", "UPS"),),
                comment="sent",
                lines=(("1", Decimal("1")),),
            )
        )
    )
    run(driver.set_status(StatusChange("1506", "_pendingFulfillment")))
    run(driver.ship(ShipmentRequest("1506")))  # quantities as NetSuite's initialize gave them
    run(driver.set_status(StatusChange("1505", "Picked")))
    run(driver.cancel(CancelRequest("1505")))
    # An account with an integrated carrier, locations and lots: the carrier's package list and the lines'
    # location and inventory detail carried over from initialize.
    run(driver.ship(ShipmentRequest("2001", tracking=(Tracking("1Z2", "ups", "UPS"),))))
    run(driver.ship(ShipmentRequest("2002", tracking=(Tracking("7946", "fedex", "FedEx"),))))


def capture(wsdl: str) -> list[tuple[str, Any]]:
    captured: list[tuple[str, Any]] = []
    with FakeSuiteTalk() as fake, httpx.Client(timeout=10) as client:
        lines = [("15", 2, "14.00"), ("16", 1, "39.95")]
        old = datetime(2023, 1, 1, tzinfo=timezone.utc)  # outside the scenario's listing windows
        fake.add_sales_order(
            lines, internal_id="2001", created=old, carrier="ups", locations={1: "7", 2: "8"}, lots={1: {"501": "2"}}
        )
        fake.add_sales_order(lines, internal_id="2002", created=old, carrier="fedex", lots={2: {"77": "1"}})
        driver = NetSuiteDriver(
            fake.credentials,
            NetSuiteSettings(endpoint=fake.url, wsdl=wsdl, status_field="custbody_ecc_status"),
        )
        scenario(driver, client, lambda r: captured.append((r.headers["SOAPAction"], canonical(r.content))))
    return captured


def test_subset_and_oracle_wsdl_build_the_same_envelopes(oracle_wsdl_path: Path) -> None:
    ours = capture(str(packaged_wsdl()))
    oracle = capture(str(oracle_wsdl_path))
    operations = {action.strip('"') for action, _ in ours}
    assert operations == {"search", "get", "add", "update", "initialize"}  # the other two: next test
    assert len(ours) == len(oracle) >= 15
    for (action, mine), (oracle_action, theirs) in zip(ours, oracle, strict=True):
        assert action == oracle_action
        assert mine == theirs, action


def test_subset_and_oracle_agree_on_search_more_and_get_list(oracle_wsdl_path: Path) -> None:
    def build(wsdl: str) -> list[Any]:
        driver = NetSuiteDriver(
            FakeSuiteTalk(seed=False).credentials,
            NetSuiteSettings(endpoint="http://127.0.0.1:9/services/NetSuitePort_2023_2", wsdl=wsdl),
        )
        ref = driver._soap.type("core", "RecordRef")
        requests = [
            driver._soap.request(
                "searchMoreWithId",
                {"searchId": "WEBSERVICES_1_2", "pageIndex": 3},
                search_preferences={"bodyFieldsOnly": False, "returnSearchColumns": False, "pageSize": 50},
            ),
            driver._soap.request(
                "getList",
                {
                    "baseRef": [
                        ref(internalId="1", type="salesOrder"),
                        ref(externalId="x", type="itemFulfillment"),
                    ]
                },
            ),
        ]
        return [canonical(r.content) for r in requests]

    assert build(str(packaged_wsdl())) == build(str(oracle_wsdl_path))


def test_fake_answers_parse_with_oracle_wsdl_too(oracle_wsdl_path: Path) -> None:
    with FakeSuiteTalk() as fake, httpx.Client(timeout=10) as client:
        driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, wsdl=str(oracle_wsdl_path)))
        order = run_flow(driver.get_order("1505"), client, driver.auth())
        items = run_flow(driver.search_items(ItemQuery()), client, driver.auth())
    assert len(order.lines) == 2
    assert order.raw["customFields"] == {"custbody_channel": "web"}
    assert {item.sku for item in items} >= {"TD-100", "KIT-FA"}


# Real captured responses through the driver -----------------------------------------------------------------
def fixture(base: Path, name: str, status: int = 200) -> httpx.Response:
    text = rewrite_to_2023_2((base / "netsweet" / name).read_text())
    return httpx.Response(status, content=text.encode(), request=httpx.Request("POST", "https://x/"))


@pytest.fixture(scope="module")
def oracle_driver(oracle_wsdl_path: Path) -> NetSuiteDriver:
    return NetSuiteDriver(FakeSuiteTalk(seed=False).credentials, NetSuiteSettings(wsdl=str(oracle_wsdl_path)))


def test_real_search_responses_parse(netsuite_fixtures_dir: Path, oracle_driver: NetSuiteDriver) -> None:
    result = oracle_driver._soap.reply("search", fixture(netsuite_fixtures_dir, "search/single_search_result.xml"))
    search = result.searchResult
    assert (search.totalRecords, search.totalPages, search.pageIndex) == (1, 1, 1)
    account = search.recordList.record[0]
    assert account.acctName == "Selling Fees/Commissions - COS"
    assert len(account.customFieldList.customField) == 3
    contact = oracle_driver._soap.reply("search", fixture(netsuite_fixtures_dir, "search/basic_search_contact.xml"))
    assert contact.searchResult.recordList.record[0].entityId == "Mary"
    saved = oracle_driver._soap.reply("search", fixture(netsuite_fixtures_dir, "search/saved_search_item.xml"))
    rows = saved.searchResult.searchRowList.searchRow
    assert saved.searchResult.totalRecords == 49
    assert rows[0].basic.itemId[0].searchValue == "9781945179747"


def test_real_get_keeps_the_item_list(
    netsuite_fixtures_dir: Path, oracle_driver: NetSuiteDriver, oracle_wsdl_path: Path
) -> None:
    response = fixture(netsuite_fixtures_dir, "get/get_invoice.xml")
    record = oracle_driver._soap.reply("get", response).readResponse.record
    items = record.itemList.item
    assert len(items) == 1
    assert items[0].item.name == "Dummy Item For Import"
    assert Decimal(repr(items[0].amount)) == Decimal("15993.6")
    # 2011-era elements the 2023_2 schema no longer has are kept aside by zeep, not dropped.
    assert "transactionBillAddress" in [etree.QName(e).localname for e in record._raw_elements]
    assert record.customFieldList.customField[0].internalId == "custbody_3rd_party"
    # strict=False alone reads the same fixture with an empty item list (the trap the settings avoid).
    lax = zeep.Client(str(oracle_wsdl_path), settings=zeep.Settings(strict=False))
    from zeep.loader import parse_xml

    doc = parse_xml(response.content, lax.transport, settings=lax.settings)
    lax_record = lax.service._binding.get("get").process_reply(doc).body.readResponse.record
    assert not (lax_record.itemList.item if lax_record.itemList is not None else None)


def test_real_initialize_and_write_responses_parse(netsuite_fixtures_dir: Path, oracle_driver: NetSuiteDriver) -> None:
    init = oracle_driver._soap.reply(
        "initialize", fixture(netsuite_fixtures_dir, "initialize/initialize_invoice_from_customer.xml")
    )
    assert init.readResponse.status.isSuccess is True
    assert init.readResponse.record.entity.internalId == "988"
    update = oracle_driver._soap.reply("update", fixture(netsuite_fixtures_dir, "update/update_invoice.xml"))
    assert update.writeResponse.baseRef.internalId == "439"
    raise_for_status(update.writeResponse.status)
    denied = oracle_driver._soap.reply(
        "getAll", fixture(netsuite_fixtures_dir, "get_all/get_all_insufficient_permissions.xml")
    )
    with pytest.raises(StoreError) as raised:
        raise_for_status(denied.getAllResult.status)
    assert raised.value.code == "INSUFFICIENT_PERMISSION"
    assert "Lists -> Currency" in str(raised.value)


@pytest.mark.parametrize("use_oracle", [False, True])
def test_oracle_sales_order_sample_maps_through_both_wsdls(
    netsuite_fixtures_dir: Path, oracle_wsdl_path: Path, use_oracle: bool
) -> None:
    fragment = netsuite_fixtures_dir / "oracle-help-samples" / "get_salesOrder_response_2017_1.fragment.txt"
    text = rewrite_to_2023_2(fragment.read_text()).replace("<br>", "&lt;br&gt;")
    envelope = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + text + "</soapenv:Envelope>"
    )
    wsdl = str(oracle_wsdl_path) if use_oracle else None
    driver = NetSuiteDriver(FakeSuiteTalk(seed=False).credentials, NetSuiteSettings(wsdl=wsdl))
    response = httpx.Response(200, content=envelope.encode(), request=httpx.Request("POST", "https://x/"))
    order = order_from_record(driver._soap.reply("get", response).readResponse.record, "netsuite:x", "USD")
    assert (order.order_id, order.number, order.status) == ("1505", "SORD10069", "_pendingFulfillment")
    assert order.customer.name == "Abe Simpson"
    assert order.customer.email == "asimpson@boo.com"
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.row_total) for ln in order.lines] == [
        ("Tongue Depressor", Decimal("1.0"), Decimal("14.00"), Decimal("14.0"))
    ]
    assert order.totals.grand_total == Decimal("14.0")
    assert order.created_at == datetime(2006, 8, 22, 7, 0, tzinfo=timezone.utc)
    assert order.updated_at == datetime(2006, 8, 22, 22, 49, tzinfo=timezone.utc)


# WSDL loading -----------------------------------------------------------------------------------------------
@pytest.fixture
def wsdl_server() -> Iterator[tuple[str, list[str]]]:
    """Serves the packaged WSDL directory over HTTP and records every path fetched."""
    fetched: list[str] = []
    directory = str(packaged_wsdl().parent)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            fetched.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=directory))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/netsuite.wsdl", fetched
    finally:
        server.shutdown()
        server.server_close()


def test_remote_wsdl_is_cached_on_disk(tmp_path: Path, wsdl_server: tuple[str, list[str]]) -> None:
    url, fetched = wsdl_server
    cache = tmp_path / "zeep.sqlite"
    first = load_zeep_client(url, cache)
    assert cache.exists()
    assert len(fetched) == 7  # the WSDL and its six schemas
    _clients.clear()  # as if in a new process: only the disk cache is left
    second = load_zeep_client(url, cache)
    assert second is not first
    assert len(fetched) == 7  # nothing fetched again
    assert second.get_type("{urn:sales_2023_2.transactions.webservices.netsuite.com}SalesOrder") is not None


def test_wsdl_load_times(oracle_wsdl_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports how long a cold load takes (no assertion on time: the figures go to the test output)."""
    timings = {}
    for label, wsdl in (("packaged subset", str(packaged_wsdl())), ("Oracle 2023_2", str(oracle_wsdl_path))):
        started = time.perf_counter()
        client = zeep.Client(wsdl, settings=zeep.Settings(strict=False, xsd_ignore_sequence_order=True))
        timings[label] = time.perf_counter() - started
        assert client.get_type("{urn:sales_2023_2.transactions.webservices.netsuite.com}ItemFulfillment")
    with capsys.disabled():
        print("\nWSDL load:", ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))


def test_where_the_wsdl_comes_from() -> None:
    assert wsdl_location("1234567_SB1", "2023_2", None) == str(packaged_wsdl())
    assert wsdl_location("1234567_SB1", "2023_2", "account") == (
        "https://1234567-sb1.suitetalk.api.netsuite.com/wsdl/v2023_2_0/netsuite.wsdl"
    )
    # A version the project does not package is loaded from the account (then cached on disk).
    assert wsdl_location("1234567", "2025_2", None) == (
        "https://1234567.suitetalk.api.netsuite.com/wsdl/v2025_2_0/netsuite.wsdl"
    )
    assert wsdl_location("1234567", "2023_2", "/opt/netsuite.wsdl") == "/opt/netsuite.wsdl"


def test_the_driver_is_registered_under_netsuite(fake_suitetalk: FakeSuiteTalk) -> None:
    from ecc_connectors import available_drivers, create_driver

    assert available_drivers()["netsuite"] is NetSuiteDriver
    driver = create_driver(
        "netsuite",
        credentials=fake_suitetalk.credentials,
        settings=NetSuiteSettings(endpoint=fake_suitetalk.url),
    )
    assert isinstance(driver, NetSuiteDriver)
    assert driver.store_id == "netsuite:TSTDRV1234567"
