"""Governance: one request at a time by default, concurrency faults retried, other faults as typed errors."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ecc_connectors import (
    Address,
    AuthenticationError,
    Customer,
    Limits,
    NewOrder,
    NewOrderLine,
    OrderQuery,
    RateLimited,
    StoreError,
)
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk, SyncIO
from plugin_netsuite import Runner, rewrite_to_2023_2


def answer(fake: FakeSuiteTalk, driver: NetSuiteDriver, request: httpx.Request) -> httpx.Response:
    with httpx.Client() as client:
        response = client.send(request, auth=driver.auth())
        response.read()
        return response


def test_limits_default_to_one_request_at_a_time_and_are_configurable() -> None:
    from ecc_connectors.drivers.netsuite import TokenCredentials

    creds = TokenCredentials("123456", "ck", "cs", "tok", "ts")
    limits = NetSuiteDriver(creds).limits()
    assert isinstance(limits, Limits)
    assert limits.concurrency == 1
    assert limits.read_timeout > limits.connect_timeout
    tuned = NetSuiteDriver(creds, NetSuiteSettings(concurrency=5, connect_timeout=3, read_timeout=90)).limits()
    assert (tuned.concurrency, tuned.connect_timeout, tuned.read_timeout) == (5, 3, 90)
    with pytest.raises(ValueError, match="page_size"):
        NetSuiteSettings(page_size=2)


@pytest.mark.parametrize("kind", ["concurrency", "request_blocked"])
def test_concurrency_faults_are_worth_retrying_even_for_writes(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver, kind: str
) -> None:
    fake_suitetalk.fail_next(kind)
    record = ns_driver._sales_order(internalId="1506", memo="hello")
    write = ns_driver._soap.request("update", {"record": record})
    response = answer(fake_suitetalk, ns_driver, write)
    assert response.status_code == 500
    hint = ns_driver.retry_hint(response)
    assert hint is not None
    assert "concurrency" in hint.reason
    with pytest.raises(RateLimited):
        ns_driver._soap.reply("update", response)


def test_other_faults_are_not_retried(fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver) -> None:
    fake_suitetalk.fail_next("permission")
    read = next(ns_driver.get_order("1505"))
    response = answer(fake_suitetalk, ns_driver, read)
    assert ns_driver.retry_hint(response) is None  # HTTP 500, but a permission fault will not go away
    fake_suitetalk.fail_next("unexpected")
    assert ns_driver.retry_hint(answer(fake_suitetalk, ns_driver, next(ns_driver.get_order("1505")))) is not None
    fake_suitetalk.fail_next("unexpected")
    write = ns_driver._soap.request("update", {"record": ns_driver._sales_order(internalId="1505")})
    assert ns_driver.retry_hint(answer(fake_suitetalk, ns_driver, write)) is None  # it may have acted
    fake_suitetalk.fail_next("unavailable")
    hint = ns_driver.retry_hint(answer(fake_suitetalk, ns_driver, next(ns_driver.get_order("1505"))))
    assert hint is not None
    assert hint.reason == "service unavailable"


def test_end_to_end_a_download_survives_concurrency_faults(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.fail_next("concurrency", times=2)
    fake_suitetalk.fail_next("request_blocked", times=1)
    waits: list[float] = []
    io = SyncIO(ns_driver, sleep=waits.append)
    try:
        page = io.run(ns_driver.first_page(OrderQuery()))
    finally:
        io.close()
    assert [o.order_id for o in page.orders] == ["1505", "1506", "1507"]
    assert fake_suitetalk.calls == ["search"] * 4
    assert len(waits) == 3
    assert all(w > 0 for w in waits)


def test_end_to_end_a_write_blocked_by_the_limit_is_sent_again(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.fail_next("request_blocked", operation="add")
    address = Address(name="Bart", street=("1 Main St",), city="Springfield", country="US")
    io = SyncIO(ns_driver, sleep=lambda _s: None)
    try:
        order = io.run(
            ns_driver.create_order(
                NewOrder(
                    "PHONE-42",
                    Customer(store_customer_id="87"),
                    address,
                    address,
                    (NewOrderLine("TD-100", Decimal("1"), item_id="15"),),
                )
            )
        )
    finally:
        io.close()
    # look-up by externalId (none yet), the add refused by the limit, the add again, the get of the new order
    assert fake_suitetalk.calls == ["get", "add", "add", "get"]
    assert order.lines[0].sku == "TD-100"
    key = NetSuiteDriver.order_key("PHONE-42")
    assert sum(1 for o in fake_suitetalk.sales_orders.values() if o["externalId"] == key) == 1


def test_a_real_concurrency_limit_is_met_by_retrying() -> None:
    with FakeSuiteTalk(concurrency_limit=1, latency=0.05) as fake:
        driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, concurrency=3))
        io = SyncIO(driver, sleep=lambda _s: None)
        try:
            with ThreadPoolExecutor(max_workers=3) as pool:
                orders = list(pool.map(lambda oid: io.run(driver.get_order(oid)), ("1505", "1506", "1507") * 2))
        finally:
            io.close()
        numbers = sorted(order.number for order in orders)
    assert numbers == ["SO1505", "SO1505", "SO1506", "SO1506", "SO1507", "SO1507"]


def test_permission_fault_is_a_readable_store_error(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.fail_next("permission")
    with pytest.raises(StoreError) as raised:
        ns_run(ns_driver.get_order("1505"))
    assert raised.value.code == "INSUFFICIENT_PERMISSION"
    assert "Permission Violation" in str(raised.value)
    assert "INSUFFICIENT_PERMISSION" in str(raised.value)


def test_unknown_record_is_a_store_error_with_netsuite_code(ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    with pytest.raises(StoreError) as raised:
        ns_run(ns_driver.get_order("999999"))
    assert raised.value.code == "INVALID_KEY_OR_REF"
    assert raised.value.order_id == "999999"


# Real captured faults (NetSweet fixtures), namespaces moved to 2023_2.
def fixture_response(base: Path, name: str, status: int = 200) -> httpx.Response:
    text = rewrite_to_2023_2((base / "netsweet" / name).read_text())
    return httpx.Response(status, content=text.encode(), request=httpx.Request("POST", "https://x/"))


def test_real_concurrency_fault_is_retried_then_rate_limited(
    netsuite_fixtures_dir: Path, ns_driver: NetSuiteDriver
) -> None:
    response = fixture_response(netsuite_fixtures_dir, "login/failure_concurrent_requests.xml", 500)
    hint = ns_driver.retry_hint(response)
    assert hint is not None
    assert "WS_CONCUR_SESSION_DISALLWD" in hint.reason
    with pytest.raises(RateLimited, match="Only one request may be made against a session at a time"):
        ns_driver._soap.reply("get", response)


def test_real_invalid_credentials_fault_is_an_authentication_error(
    netsuite_fixtures_dir: Path, ns_driver: NetSuiteDriver
) -> None:
    response = fixture_response(netsuite_fixtures_dir, "login/failure_invalid_credentials.xml", 500)
    assert ns_driver.retry_hint(response) is None  # its faultstring is a stale copy; the detail decides
    with pytest.raises(AuthenticationError, match="invalid email address or account number"):
        ns_driver._soap.reply("get", response)


def test_real_permission_error_on_update_is_a_typed_error(
    netsuite_fixtures_dir: Path, ns_driver: NetSuiteDriver
) -> None:
    response = fixture_response(netsuite_fixtures_dir, "update/update_customer_error.xml")
    flow = ns_driver._write("update", ns_driver._sales_order(internalId="329"), "329", "update")
    next(flow)
    with pytest.raises(StoreError) as raised:
        flow.send(response)
    assert raised.value.code == "INSUFFICIENT_PERMISSION"
    assert "You do not have permissions to set a value for element addrtext" in str(raised.value)


def test_real_add_error_carries_netsuite_code(netsuite_fixtures_dir: Path, ns_driver: NetSuiteDriver) -> None:
    response = fixture_response(netsuite_fixtures_dir, "add/add_invoice_error.xml")
    flow = ns_driver._write("add", ns_driver._sales_order(), None, "add")
    next(flow)
    with pytest.raises(StoreError) as raised:
        flow.send(response)
    assert raised.value.code == "INVALID_INITIALIZE_REF"


def test_async_engine_io_runs_the_same_flows_with_fresh_passports(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver
) -> None:
    from ecc_connectors.testing import AsyncIO

    fake_suitetalk.fail_next("concurrency")

    async def main() -> list[str]:
        async def no_wait(_seconds: float) -> None:
            return None

        io = AsyncIO(ns_driver, sleep=no_wait)
        try:
            page = await io.run(ns_driver.first_page(OrderQuery()))
        finally:
            await io.aclose()
        return [o.order_id for o in page.orders]

    assert asyncio.run(main()) == ["1505", "1506", "1507"]
    assert fake_suitetalk.calls == ["search", "search"]
    assert len(set(fake_suitetalk.nonces)) == 2
