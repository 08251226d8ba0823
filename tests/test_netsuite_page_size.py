"""The default page: 200 whole orders, measured against the fake with realistic orders; and replies parsed with
lxml's limits on (no ``huge_tree``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree

from ecc_connectors import BrokenAnswer, Order, OrderQuery
from ecc_connectors.drivers.netsuite import DEFAULT_PAGE_SIZE, NetSuiteDriver, NetSuiteSettings

# private: the limits of the parser replies go through, checked on a document no fake store would send
from ecc_connectors.drivers.netsuite._soap import _strict_parser
from ecc_connectors.testing import FakeSuiteTalk
from ecc_connectors.testing.netsuite import operation_of
from plugin_netsuite import run_flow

LINES = 8  # lines per order: a realistic B2B order (most web orders have fewer)


@pytest.fixture(scope="module")
def busy_account() -> Iterator[FakeSuiteTalk]:
    with FakeSuiteTalk(seed=False) as fake:
        fake.add_customer("Customer", "1")
        items = [fake.add_item(f"SKU-{i}", f"Item number {i}", price="9.99") for i in range(LINES)]
        address = {
            "addressee": "Abe Simpson",
            "addr1": "34 Elm St",
            "city": "Great Falls",
            "state": "MT",
            "zip": "59401",
            "country": "_unitedStates",
            "addrPhone": "406-555-0101",
        }
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        for n in range(DEFAULT_PAGE_SIZE + 20):
            fake.add_sales_order(
                [(item, 2, "9.99") for item in items],
                billing=address,
                shipping=address,
                created=start + timedelta(minutes=n),
                email="asimpson@example.com",
            )
        yield fake


def test_the_default_page_is_200_orders() -> None:
    assert DEFAULT_PAGE_SIZE == 200
    assert NetSuiteSettings().page_size == 200
    with pytest.raises(ValueError, match="between 5 and 1000"):
        NetSuiteSettings(page_size=1001)


def test_a_default_page_of_realistic_orders_is_small_and_quick(busy_account: FakeSuiteTalk) -> None:
    driver = NetSuiteDriver(busy_account.credentials, NetSuiteSettings(endpoint=busy_account.url))
    sizes: list[int] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        sizes.append(len(response.content))

    with httpx.Client(timeout=60, event_hooks={"response": [keep]}) as client:
        started = time.perf_counter()
        # A query may ask for more (up to SuiteTalk's 1000); the driver's ceiling holds it at 200.
        page = run_flow(driver.first_page(OrderQuery(page_size=1000)), client, driver.auth())
        seconds = time.perf_counter() - started
    searches = [r for r in busy_account.requests if operation_of(r) == "search"]
    assert b"pageSize>200</" in searches[-1].body
    orders = [o for o in page.orders if isinstance(o, Order)]
    # A range aims at 90% of a page, so the first answer holds most of a page and the walk goes on.
    assert 100 <= len(orders) <= DEFAULT_PAGE_SIZE
    assert all(len(o.lines) == LINES for o in orders)
    per_order = sizes[-1] / len(orders)
    print(f"\n{len(orders)} orders of {LINES} lines: {per_order / 1000:.1f} KB per order, {seconds:.2f} s for the page")
    # 1000 per page (SuiteTalk's ceiling, the old default) would be about 5x this in one request.
    assert per_order * DEFAULT_PAGE_SIZE < 3_000_000


def test_a_reply_nested_past_lxmls_limit_is_refused_not_parsed() -> None:
    """``huge_tree`` lifts lxml's depth and text-size limits; replies are parsed without it."""
    deep = b"<a>" * 1000 + b"x" + b"</a>" * 1000
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(deep, parser=_strict_parser())
    assert etree.fromstring(deep, parser=etree.XMLParser(huge_tree=True)) is not None  # what it used to allow


def test_a_deep_search_answer_is_a_broken_answer(busy_account: FakeSuiteTalk) -> None:
    driver = NetSuiteDriver(busy_account.credentials, NetSuiteSettings(endpoint=busy_account.url))
    body = (
        b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body><searchResponse>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</searchResponse></soapenv:Body>"
        b"</soapenv:Envelope>"
    )
    response = httpx.Response(200, content=body, request=httpx.Request("POST", busy_account.url))
    with pytest.raises(BrokenAnswer, match="does not parse"):
        driver._soap.reply("search", response, read=True)
