"""The I/O interpreters: retries, waits, writes, limits, auth, timeouts, logging."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import httpx
import pytest

from ecc_connectors._driver import Flow, Limits, RetryHint, mark_idempotent
from ecc_connectors._errors import RateLimited, StoreError, TransportError
from ecc_connectors._io import AsyncIO, IOPolicy, RateLimiter, SyncIO
from fakedriver import SECRET, FakeDriver
from plugin_engine import Sleeps

URL = "https://fake.test"


class Script:
    """A mock store answering from a list of steps: a Response factory, or an exception type to raise."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted", request=request)
        return httpx.Response(step[0], headers=step[1] if len(step) > 1 else {}, json={"ok": step[0] < 400})


def get(path: str = "/orders") -> Flow[int]:
    response = yield httpx.Request("GET", f"{URL}{path}", params={"key": SECRET})
    if response.status_code >= 400:
        raise StoreError("store said no", http_status=response.status_code)
    return response.status_code


def post(idempotent: bool = False) -> Flow[int]:
    request = httpx.Request("POST", f"{URL}/orders/1/shipments", json={"tracking": ["T"]})
    response = yield mark_idempotent(request) if idempotent else request
    if response.status_code >= 400:
        raise StoreError("store said no", http_status=response.status_code)
    return response.status_code


def sync_io(script: Script, sleeps: Sleeps, **limits: Any) -> SyncIO:
    driver = FakeDriver(**limits)
    return SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps)


def test_retry_after_is_honoured_exactly(sleeps: Sleeps) -> None:
    script = Script((429, {"Retry-After": "7"}), (503, {"Retry-After": "2"}), (200,))
    assert sync_io(script, sleeps).run(get()) == 200
    assert sleeps == [7.0, 2.0]
    assert len(script.seen) == 3


def test_rate_limited_after_the_retries_run_out_carries_the_wait(sleeps: Sleeps) -> None:
    script = Script((429, {"Retry-After": "3"}))
    with pytest.raises(RateLimited) as caught:
        sync_io(script, sleeps, max_attempts=3).run(get())
    assert caught.value.retry_after == 3.0
    assert sleeps == [3.0, 3.0]
    assert len(script.seen) == 3


def test_a_retry_after_beyond_the_cap_fails_at_once(sleeps: Sleeps) -> None:
    script = Script((429, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as caught:
        sync_io(script, sleeps).run(get())
    assert caught.value.retry_after == 3600.0
    assert sleeps == []
    assert len(script.seen) == 1


def test_server_errors_back_off_exponentially_with_a_cap_then_the_flow_maps_the_answer(
    sleeps: Sleeps,
) -> None:
    script = Script((500,))
    driver = FakeDriver(max_attempts=6)
    policy = IOPolicy(driver.limits(), backoff_initial=1.0, backoff_max=5.0, backoff_jitter=0.5)
    io = SyncIO(
        driver, client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps, policy=policy
    )
    with pytest.raises(StoreError) as caught:
        io.run(get())
    assert caught.value.http_status == 500
    assert len(script.seen) == 6
    assert len(sleeps) == 5
    floors = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert all(floor <= wait <= min(floor + 0.5, 5.0) for floor, wait in zip(floors, sleeps, strict=False))


def test_network_faults_on_reads_are_retried_then_become_transport_errors(sleeps: Sleeps) -> None:
    script = Script(httpx.ReadTimeout, httpx.ConnectError, (200,))
    assert sync_io(script, sleeps).run(get()) == 200
    assert len(sleeps) == 2

    failing = Script(httpx.ConnectTimeout)
    with pytest.raises(TransportError, match="retries exhausted"):
        sync_io(failing, Sleeps(), max_attempts=2).run(get())
    assert len(failing.seen) == 2


def test_a_write_is_not_resent_after_the_store_may_have_acted(sleeps: Sleeps) -> None:
    script = Script(httpx.ReadTimeout, (201,))
    with pytest.raises(TransportError, match="not resent"):
        sync_io(script, sleeps).run(post())
    assert len(script.seen) == 1
    assert sleeps == []


def test_a_write_is_not_resent_after_a_500(sleeps: Sleeps) -> None:
    script = Script((500,), (201,))
    with pytest.raises(StoreError):
        sync_io(script, sleeps).run(post())
    assert len(script.seen) == 1


@pytest.mark.parametrize(
    "first", [httpx.ConnectError, httpx.ConnectTimeout, (503, {"Retry-After": "1"}), (429, {})]
)
def test_a_write_is_resent_when_the_store_cannot_have_acted(sleeps: Sleeps, first: Any) -> None:
    script = Script(first, (201,))
    assert sync_io(script, sleeps).run(post()) == 201
    assert len(script.seen) == 2


def test_a_write_marked_idempotent_is_resent_after_a_read_timeout(sleeps: Sleeps) -> None:
    script = Script(httpx.ReadTimeout, (201,))
    assert sync_io(script, sleeps).run(post(idempotent=True)) == 201
    assert len(script.seen) == 2


def test_the_driver_decides_which_answers_are_worth_retrying(sleeps: Sleeps) -> None:
    class Picky(FakeDriver):
        def retry_hint(self, response: httpx.Response) -> RetryHint | None:
            return RetryHint("store busy", 1.5) if response.status_code == 409 else None

    script = Script((409,), (200,))
    io = SyncIO(Picky(), client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps)
    assert io.run(get()) == 200
    assert sleeps == [1.5]


def test_secrets_stay_out_of_logs_and_errors(caplog: pytest.LogCaptureFixture, sleeps: Sleeps) -> None:
    caplog.set_level(logging.DEBUG, logger="ecc_connectors")
    script = Script((429, {"Retry-After": "1"}), httpx.ReadTimeout, (200,))
    io = sync_io(script, sleeps)
    assert io.run(get()) == 200
    with pytest.raises(TransportError) as caught:
        sync_io(Script(httpx.ReadTimeout), Sleeps()).run(post())

    assert script.seen[0].headers["X-Api-Key"] == SECRET  # the key was really sent
    assert "key=" in str(script.seen[0].url)
    assert "GET /orders -> 429" in caplog.text
    assert "GET /orders -> 200" in caplog.text
    for text in (caplog.text, str(caught.value), repr(caught.value)):
        assert SECRET not in text
        assert "key=" not in text


def test_timeouts_come_from_the_limits(sleeps: Sleeps) -> None:
    script = Script((200,))
    driver = FakeDriver()
    driver._limits = Limits(connect_timeout=3.0, read_timeout=42.0)
    io = SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps)
    io.run(get())
    timeout = script.seen[0].extensions["timeout"]
    assert timeout["connect"] == 3.0
    assert timeout["read"] == 42.0


def test_a_flow_may_handle_an_error_and_carry_on(sleeps: Sleeps) -> None:
    def tolerant() -> Flow[str]:
        try:
            yield httpx.Request("POST", f"{URL}/orders/1/shipments")
        except TransportError:
            response = yield httpx.Request("GET", f"{URL}/orders/1/shipments")
            return f"checked {response.status_code}"
        return "sent"

    script = Script(httpx.ReadTimeout, (200,))
    assert sync_io(script, sleeps).run(tolerant()) == "checked 200"


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, burst=1, monotonic=lambda: now[0])
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.5)
    assert limiter.reserve() == pytest.approx(1.0)
    now[0] = 10.0
    assert limiter.reserve() == 0.0
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_sync_interpreter_waits_for_the_rate_limiter(sleeps: Sleeps) -> None:
    script = Script((200,))
    driver = FakeDriver(rate=1.0)
    limiter = RateLimiter(1.0, burst=1, monotonic=lambda: 0.0)
    io = SyncIO(
        driver, client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps, limiter=limiter
    )
    for _ in range(3):
        io.run(get())
    assert sleeps == [1.0, 2.0]


def test_concurrency_limit_caps_requests_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    gate = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            if state["most"] >= 2:
                gate.set()
        gate.wait(timeout=5)  # hold until two are in flight, so the cap is actually reached
        with lock:
            state["now"] -= 1
        return httpx.Response(200)

    driver = FakeDriver(concurrency=2)
    io = SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(handler)), sleep=Sleeps())
    futures = [io.submit(get()) for _ in range(8)]
    assert [f.result() for f in futures] == [200] * 8
    io.close()
    assert state["most"] == 2


def test_async_interpreter_shares_the_policy() -> None:
    sleeps = Sleeps()
    script = Script((429, {"Retry-After": "5"}), httpx.ConnectError, (200,))

    async def main() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
            io = AsyncIO(FakeDriver(), client=client, sleep=sleeps.async_sleep)
            return await io.run(get())

    assert asyncio.run(main()) == 200
    assert sleeps[0] == 5.0
    assert len(sleeps) == 2
    assert script.seen[0].headers["X-Api-Key"] == SECRET


def test_async_write_not_resent_and_limit_respected() -> None:
    state = {"now": 0, "most": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        for _ in range(3):
            await asyncio.sleep(0)
        state["now"] -= 1
        return httpx.Response(200)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            io = AsyncIO(FakeDriver(concurrency=2), client=client, sleep=Sleeps().async_sleep)
            assert await asyncio.gather(*(io.submit(get()) for _ in range(6))) == [200] * 6
        script = Script(httpx.ReadTimeout)
        async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
            io = AsyncIO(FakeDriver(), client=client, sleep=Sleeps().async_sleep)
            with pytest.raises(TransportError):
                await io.run(post())
        assert len(script.seen) == 1

    asyncio.run(main())
    assert state["most"] == 2


def test_a_borrowed_client_is_left_open_and_an_owned_one_closed() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    borrowed = SyncIO(FakeDriver(), client=client)
    borrowed.close()
    assert not client.is_closed
    owned = SyncIO(FakeDriver())
    owned.close()
    assert owned.client.is_closed
    client.close()
