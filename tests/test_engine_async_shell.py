"""The async shell runs CPU-bound steps on a worker thread: cancellation and callbacks must still behave as
asyncio code expects."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from ecc_connectors import (
    AsyncConnector,
    Capability,
    DownloadRange,
    Driver,
    Limits,
    NumberedPages,
    Order,
    OrderQuery,
    Page,
    SQLiteLedger,
    StatusChange,
    StatusMapping,
    StatusRule,
    SyncPolicy,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _order(n: int) -> Order:
    return Order(
        store="s", order_id=str(n), number=f"{n:09d}", status="processing",
        created_at=T0, updated_at=T0 + timedelta(minutes=n), currency="USD",
    )


class SlowParsingDriver(Driver):
    """Each answer takes ``parse_seconds`` of (simulated) parsing on the CPU thread."""

    name = "slow"
    capabilities = frozenset(Capability) - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}
    store_id = "s"

    def __init__(self, pages: int = 1, parse_seconds: float = 0.0) -> None:
        self.pages = pages
        self.parse_seconds = parse_seconds

    def limits(self) -> Limits:
        return Limits(concurrency=2)

    def _page(self, n: int) -> Generator[httpx.Request, httpx.Response, Page]:
        yield httpx.Request("GET", f"https://store.test/pages/{n}")
        time.sleep(self.parse_seconds)
        return Page(orders=(_order(n),), total=self.pages)

    def first_page(self, query: OrderQuery) -> Generator[httpx.Request, httpx.Response, Page]:
        first = yield from self._page(1)
        following = NumberedPages(range(2, self.pages + 1), self._page) if self.pages > 1 else None
        return Page(first.orders, following, self.pages)

    def set_status(self, change: StatusChange) -> Generator[httpx.Request, httpx.Response, None]:
        yield httpx.Request("POST", f"https://store.test/status/{change.order_id}")
        time.sleep(self.parse_seconds)


POLICY = SyncPolicy(statuses=StatusMapping((StatusRule("processing"),)), range=DownloadRange(start=T0))


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})))


def test_a_timeout_during_a_step_on_the_worker_thread_is_a_timeout() -> None:
    async def scenario() -> BaseException | None:
        async with AsyncConnector(SlowParsingDriver(parse_seconds=0.5), POLICY, SQLiteLedger(), client=_client()) as c:
            try:
                await asyncio.wait_for(c.set_status("1", "complete"), timeout=0.1)
            except BaseException as exc:
                return exc
        return None

    error = asyncio.run(scenario())
    # Not "ValueError: generator already executing": the running step finished before the generator closed.
    assert isinstance(error, (asyncio.TimeoutError, TimeoutError))


def test_cancelling_a_download_mid_step_cancels_it() -> None:
    async def scenario() -> BaseException | None:
        async with AsyncConnector(SlowParsingDriver(pages=3, parse_seconds=0.3), POLICY, SQLiteLedger(),
                                  client=_client()) as c:
            task = asyncio.ensure_future(c.download())
            await asyncio.sleep(0.1)
            task.cancel()
            try:
                await task
            except BaseException as exc:
                return exc
        return None

    assert isinstance(asyncio.run(scenario()), asyncio.CancelledError)


def test_progress_is_reported_on_the_event_loop_thread() -> None:
    seen: list[tuple[str, int]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int | None) -> None:
            assert asyncio.get_running_loop() is loop  # callable from asyncio code: it runs on the loop
            seen.append((threading.current_thread().name, done))

        async with AsyncConnector(SlowParsingDriver(pages=3), POLICY, SQLiteLedger(), client=_client()) as c:
            report = await c.download(progress=progress)
        assert report.downloaded == 3

    asyncio.run(scenario())
    assert [done for _, done in seen] == [1, 2, 3]
    assert {name for name, _ in seen} == {threading.main_thread().name}


@pytest.mark.parametrize("pages", [1, 4])
def test_the_worker_threads_are_stopped_by_aclose(pages: int) -> None:
    before = set(threading.enumerate())

    async def scenario() -> None:
        connector = AsyncConnector(SlowParsingDriver(pages=pages), POLICY, SQLiteLedger(), client=_client())
        await connector.download()
        await connector.aclose()

    asyncio.run(scenario())
    left: set[Any] = {t.name for t in set(threading.enumerate()) - before}
    assert not any(str(n).startswith(("ecc-core", "ecc-ledger")) for n in left), left
