"""The asyncio entry point: same core, same ledger as the sync one."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from ecc_connectors import (
    Address,
    AsyncConnector,
    Capability,
    CapabilityNotSupported,
    Connector,
    Customer,
    NewOrder,
    NewOrderLine,
    RateLimited,
)
from ecc_connectors.ledger import PageBatch, SQLiteLedger
from fakedriver import FakeDriver, FakeStore, InjectedCrash, iso, make_order
from plugin_engine import T0, Clock, Sleeps, make_policy, standard_orders

T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


def _phone_order() -> NewOrder:
    address = Address(name="Bo", city="Wells")
    return NewOrder("PH-9", Customer(name="Bo"), address, address, (NewOrderLine("GAD-2", Decimal("1")),))


def _mutate(store: FakeStore) -> None:
    store.orders["3"]["lines"][0]["qty"] = "5"
    store.orders["3"]["updated"] = iso(T0 + timedelta(days=2))
    store.orders["8"]["ship_city"] = "Truro"
    store.orders["8"]["updated"] = iso(T0 + timedelta(days=2, hours=1))
    store.orders["11"]["status"] = "on_hold"
    store.orders["11"]["updated"] = iso(T0 + timedelta(days=2, hours=1, minutes=30))
    store.put(make_order(20, updated=T0 + timedelta(days=2, hours=2), status="pending"))
    store.put(make_order(21, updated=T0 + timedelta(days=2, hours=3), total="n/a"))


def _sync_scenario(store: FakeStore, ledger: SQLiteLedger, mode: str) -> list[Any]:
    reports: list[Any] = []
    with (
        httpx.Client(transport=store.transport()) as client,
        Connector(
            FakeDriver(mode=mode, page_size=2),
            make_policy(),
            ledger,
            client=client,
            clock=Clock(),
            sleep=Sleeps(),
        ) as connector,
    ):
        reports.append(connector.download())
        _mutate(store)
        reports.append(connector.download())
        connector.redownload("3")
        connector.dismiss("8")
        reports.append(connector.ship("4", ["1Z4"]))
        connector.acknowledge("6")
        connector.cancel("9")
        reports.append(connector.invoice("7"))
        reports.append(connector.search_items("gad"))
        reports.append(connector.create_phone_order(_phone_order()).order_id)
        reports.append(connector.download())
    return reports


async def _async_scenario(store: FakeStore, ledger: SQLiteLedger, mode: str) -> list[Any]:
    reports: list[Any] = []
    sleeps = Sleeps()
    async with (
        httpx.AsyncClient(transport=store.async_transport()) as client,
        AsyncConnector(
            FakeDriver(mode=mode, page_size=2),
            make_policy(),
            ledger,
            client=client,
            clock=Clock(),
            sleep=sleeps.async_sleep,
        ) as connector,
    ):
        reports.append(await connector.download())
        _mutate(store)
        reports.append(await connector.download())
        connector.redownload("3")
        connector.dismiss("8")
        reports.append(await connector.ship("4", ["1Z4"]))
        await connector.acknowledge("6")
        await connector.cancel("9")
        reports.append(await connector.invoice("7"))
        reports.append(await connector.search_items("gad"))
        reports.append((await connector.create_phone_order(_phone_order())).order_id)
        reports.append(await connector.download())
    return reports


@pytest.mark.parametrize("mode", ["numbered", "cursor"])
def test_sync_and_async_entry_points_produce_the_same_ledger(mode: str) -> None:
    sync_store, async_store = FakeStore(standard_orders()), FakeStore(standard_orders())
    with SQLiteLedger() as sync_ledger, SQLiteLedger() as async_ledger:
        sync_results = _sync_scenario(sync_store, sync_ledger, mode)
        async_results = run(_async_scenario(async_store, async_ledger, mode))

        assert sync_results == async_results
        assert sync_ledger.dump() == async_ledger.dump()
        dump = sync_ledger.dump()
        # The scenario really exercised every table.
        assert {name for name, rows in dump.items() if rows} == {
            "orders",
            "pending_updates",
            "failures",
            "high_water",
            "actions",
            "phone_orders",
        }
        assert [row[1] for row in dump["pending_updates"]] == ["11"]
    assert sync_store.orders == async_store.orders
    assert sync_store.shipments == async_store.shipments


@pytest.mark.parametrize("gap", [1, 3, 5])
def test_async_crash_between_pages_resumes_like_a_clean_run(gap: int) -> None:
    async def scenario() -> None:
        clean_store, crash_store = FakeStore(standard_orders()), FakeStore(copy.deepcopy(standard_orders()))
        with SQLiteLedger() as clean_ledger, SQLiteLedger() as crash_ledger:
            async with (
                httpx.AsyncClient(transport=clean_store.async_transport()) as c1,
                httpx.AsyncClient(transport=crash_store.async_transport()) as c2,
            ):
                clean = AsyncConnector(
                    FakeDriver(page_size=2), make_policy(), clean_ledger, client=c1, clock=Clock()
                )
                driver = FakeDriver(page_size=2, concurrency=3)
                crashing = AsyncConnector(driver, make_policy(), crash_ledger, client=c2, clock=Clock())
                await clean.download()
                driver.crash_before_page = gap + 1
                with pytest.raises(InjectedCrash):
                    await crashing.download()
                assert len(crashing.orders()) < len(clean.orders())
                driver.crash_before_page = None
                await crashing.download()
                assert crash_ledger.dump() == clean_ledger.dump()

    run(scenario())


def test_async_window_is_bounded_and_uses_the_concurrency_it_is_given() -> None:
    async def scenario() -> tuple[int, int, int]:
        store = FakeStore([make_order(n, updated=T0 + timedelta(minutes=n)) for n in range(1, 41)])
        driver = FakeDriver(page_size=2, concurrency=3)
        with SQLiteLedger() as ledger:
            committed = [0]
            widest = [0]
            real_commit = ledger.commit_page

            def counting_commit(batch: PageBatch) -> None:
                real_commit(batch)
                committed[0] += 1

            def on_start(_number: int) -> None:
                widest[0] = max(widest[0], driver.pages_started - committed[0])

            ledger.commit_page = counting_commit  # type: ignore[method-assign]
            driver.on_page_start = on_start
            async with httpx.AsyncClient(transport=store.async_transport()) as client:
                report = await AsyncConnector(
                    driver, make_policy(), ledger, client=client, clock=Clock()
                ).download()
            return report.downloaded, widest[0], store.max_in_flight

    downloaded, widest, in_flight = run(scenario())
    assert downloaded == 40
    assert widest <= 2 * 3 + 2  # the window, the page being decided, at most one page being written
    assert in_flight == 3  # the window really runs pages side by side, and never more than the limit


def test_async_capability_missing_sends_nothing() -> None:
    async def scenario() -> FakeStore:
        store = FakeStore(standard_orders())
        driver = FakeDriver(capabilities=frozenset(Capability) - {Capability.SHIP})
        with SQLiteLedger() as ledger:
            async with httpx.AsyncClient(transport=store.async_transport()) as client:
                connector = AsyncConnector(driver, make_policy(), ledger, client=client)
                with pytest.raises(CapabilityNotSupported):
                    await connector.ship("1", ["T"])
        return store

    assert run(scenario()).requests == []


def test_async_retry_after_is_honoured_through_the_injected_sleep() -> None:
    async def scenario() -> tuple[Sleeps, float | None]:
        store = FakeStore(standard_orders())
        store.fail("GET", "/orders", status=429, headers={"Retry-After": "4"}, times=10)
        sleeps = Sleeps()
        with SQLiteLedger() as ledger:
            async with httpx.AsyncClient(transport=store.async_transport()) as client:
                connector = AsyncConnector(
                    FakeDriver(max_attempts=3), make_policy(), ledger, client=client, sleep=sleeps.async_sleep
                )
                with pytest.raises(RateLimited) as caught:
                    await connector.download()
        return sleeps, caught.value.retry_after

    sleeps, retry_after = run(scenario())
    assert sleeps == [4.0, 4.0]
    assert retry_after == 4.0
