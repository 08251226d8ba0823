"""FakeSuiteTalk on the FakeStore base: the base's knobs (request log, store clock, HTTP faults, rate limit, lost
write answers, listing hooks) work on the SOAP endpoint, in the SOAP dialect."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from ecc_connectors import CancelRequest, ConnectorError, OrderQuery
from ecc_connectors.drivers.netsuite import NetSuiteDriver
from ecc_connectors.testing import FakeStore, FakeSuiteTalk
from ecc_connectors.testing.base import LostAnswerMode
from ecc_connectors.testing.netsuite import operation_of
from plugin_netsuite import Runner, collect_orders


def test_it_is_a_fake_store_with_the_soap_endpoint(fake_suitetalk: FakeSuiteTalk) -> None:
    assert isinstance(fake_suitetalk, FakeStore)
    assert fake_suitetalk.url == f"{fake_suitetalk.base_url}/services/NetSuitePort_2023_2"
    assert sorted(r.pattern.pattern for r in fake_suitetalk.routes) == sorted(
        ["search", "searchMoreWithId", "get", "getList", "add", "update", "initialize"]
    )


def test_the_request_log_and_the_store_clock(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    fake_suitetalk.set_clock(lambda: moment)
    ns_run(ns_driver.get_order("1505"))
    assert [operation_of(r) for r in fake_suitetalk.requests] == ["get"]
    assert not fake_suitetalk.is_write(fake_suitetalk.requests[0])
    fake_suitetalk.touch("1505", memo="edited")
    assert fake_suitetalk.sales_orders["1505"]["lastModifiedDate"] == moment
    with httpx.Client() as client:
        response = client.post(fake_suitetalk.url, content=b"<not-xml")
    assert response.status_code == 400
    assert response.headers["Date"] == "Wed, 02 Jan 2030 03:04:05 GMT"


def test_an_injected_5xx_is_an_html_page(fake_suitetalk: FakeSuiteTalk) -> None:
    fake_suitetalk.inject_5xx(1, status=503)
    with httpx.Client() as client:
        response = client.post(fake_suitetalk.url, content=b"<x/>")
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")


def test_the_rate_limit_answers_429(fake_suitetalk: FakeSuiteTalk) -> None:
    fake_suitetalk.rate_limit = 1
    with httpx.Client() as client:
        statuses = [client.post(fake_suitetalk.url, content=b"<x/>").status_code for _ in range(3)]
    assert statuses.count(429) >= 1
    assert fake_suitetalk.throttled >= 1


def test_an_unknown_operation_is_a_soap_fault(fake_suitetalk: FakeSuiteTalk) -> None:
    envelope = (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        b"<attach/></soapenv:Body></soapenv:Envelope>"
    )
    with httpx.Client() as client:
        response = client.post(fake_suitetalk.url, content=envelope)
    assert response.status_code == 500
    assert b"unexpectedErrorFault" in response.content  # routed by operation: none serves it


@pytest.mark.parametrize("mode", ["500", "drop", "short"])
def test_lose_write_answers_loses_an_add_or_update_never_a_search(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, mode: LostAnswerMode
) -> None:
    fake_suitetalk.cancel_by_status = True  # the cancel is one update, the write whose answer is lost
    fake_suitetalk.lose_write_answers(1, mode=mode)
    collect_orders(ns_run, ns_driver, OrderQuery())  # searches: not writes, the loss waits
    with pytest.raises((httpx.HTTPError, ConnectorError)):
        ns_run(ns_driver.cancel(CancelRequest("1506")))
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_cancelled"  # applied all the same
    assert fake_suitetalk.stats["lost_answers"] == 1


def test_sales_order_searches_are_listing_requests(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    seen: list[int] = []
    fake_suitetalk.on_listing(seen.append)
    fake_suitetalk.schedule(0, lambda fake: fake.touch("1505", memo="between"))
    orders, pages = collect_orders(ns_run, ns_driver, OrderQuery())
    assert seen == list(range(1, pages + 1))
    assert fake_suitetalk.listing_requests == pages
    assert fake_suitetalk.sales_orders["1505"]["memo"] == "between"
    assert len(orders) == 3
