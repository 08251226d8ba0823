"""The I/O interpreters: retries, waits, writes, limits, auth, timeouts, logging."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import logging
import selectors
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from ecc_connectors import IOPolicy
from ecc_connectors.driver import Flow, Limits, RateLimited, RetryHint, StoreError, TransportError, mark_idempotent
from ecc_connectors.testing import AsyncIO, RateLimiter, SyncIO
from fakedriver import SECRET, FakeDriver
from plugin_engine import Sleeps

URL = "https://fake.test"
T = TypeVar("T")


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
    io = SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps, policy=policy)
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


@pytest.mark.parametrize("first", [httpx.ConnectError, httpx.ConnectTimeout, (503, {"Retry-After": "1"}), (429, {})])
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


def test_a_quiet_hint_is_logged_at_debug_and_a_fault_at_warning(
    caplog: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    class Polling(FakeDriver):
        def retry_hint(self, response: httpx.Response) -> RetryHint | None:
            if response.status_code == 202:
                return RetryHint("job still running", 0.5, quiet=True)
            return super().retry_hint(response)

    caplog.set_level(logging.DEBUG, logger="ecc_connectors")
    script = Script((202,), (202,), (503,), (200,))
    io = SyncIO(Polling(), client=httpx.Client(transport=httpx.MockTransport(script)), sleep=sleeps)
    assert io.run(get()) == 200
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [(r.levelno, "job still running" in r.getMessage()) for r in retries] == [
        (logging.DEBUG, True), (logging.DEBUG, True), (logging.WARNING, False),
    ]


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


# -- rate limiter ------------------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only the test's sleeps move."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing is ready, so ``asyncio.sleep`` takes
    no wall time. Fit for code that does no real I/O (httpx over ``MockTransport``)."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now


class _JumpingSelector(selectors.SelectSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("every task waits and no timer is set: deadlock")
        self._loop._virtual_now += max(0.0, timeout)
        return super().select(0)


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


def most_in_any_window(times: list[float], span: float = 1.0) -> int:
    """The largest number of ``times`` inside any closed window of ``span`` seconds."""
    ordered = sorted(times)
    return max(bisect.bisect_right(ordered, t + span) - i for i, t in enumerate(ordered))


def paced(limiter: RateLimiter, clock: FakeTime, count: int) -> list[float]:
    """``count`` sends one after another, each taking the waits the limiter asks for."""
    sent = []
    for _ in range(count):
        for wait in limiter.waits():
            clock.sleep(wait)
        sent.append(clock.now)
    return sent


def test_no_second_holds_more_than_the_rate_and_sends_are_spread_out() -> None:
    clock = FakeTime()
    sent = paced(RateLimiter(10, monotonic=clock), clock, 60)
    assert most_in_any_window(sent) == 10
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps == [pytest.approx(0.105)] * 59  # burst 1: evenly spread, with a share of the 50 ms margin
    assert most_in_any_window(sent, 1.049) == 10  # eleven sends span the margin too


def test_a_burst_goes_back_to_back_then_the_rate_applies() -> None:
    clock = FakeTime()
    limiter = RateLimiter(10, burst=4, monotonic=clock)
    sent = paced(limiter, clock, 30)
    assert sent[:4] == [0.0] * 4
    assert sent[4] == pytest.approx(0.105)
    assert most_in_any_window(sent) == 10
    assert most_in_any_window(sent, 1.049) == 10  # eleven sends span the margin too
    # After a quiet spell the burst is available again.
    clock.now += 5.0
    quiet_until = clock.now
    again = paced(limiter, clock, 5)
    assert again[:4] == [quiet_until] * 4
    assert again[4] == pytest.approx(quiet_until + 0.105)


def test_whole_and_fractional_rates_and_bad_settings() -> None:
    clock = FakeTime()
    sent = paced(RateLimiter(0.5, monotonic=clock), clock, 4)
    assert [b - a for a, b in itertools.pairwise(sent)] == [pytest.approx(2.05)] * 3
    clock = FakeTime()
    limiter = RateLimiter(2.0, burst=1, monotonic=clock)
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.525)
    assert limiter.reserve() == pytest.approx(1.05)  # two in any second, plus the margin
    clock.now = 10.0
    assert limiter.reserve() == 0.0
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(5, burst=0)


def test_concurrent_senders_with_latency_stay_under_the_rate_and_a_pause_holds_every_one() -> None:
    """Eight senders share one limiter, each sending, waiting 250 ms for the answer, then going again; the
    store refuses the 12th send with Retry-After 2. A discrete-event run over the limiter's own clock."""
    clock = FakeTime()
    limiter = RateLimiter(10, monotonic=clock)
    sent: list[float] = []
    refused_at: list[float] = []
    # (time, order, sender's waits, send number of that sender)
    queue: list[tuple[float, int, Iterator[float] | None]] = [(0.0, n, None) for n in range(8)]
    order = 8
    while queue and len(sent) < 80:
        when, _, waits = heapq.heappop(queue)
        clock.now = max(clock.now, when)
        if waits is None:
            waits = limiter.waits()
        wait = next(waits, None)
        order += 1
        if wait is not None:
            heapq.heappush(queue, (clock.now + wait, order, waits))
            continue
        sent.append(clock.now)
        if len(sent) == 12:
            refused_at.append(clock.now)
            limiter.pause(2.0)
        heapq.heappush(queue, (clock.now + 0.25, order, None))

    assert len(sent) == 80
    assert most_in_any_window(sent) == 10
    (refused,) = refused_at
    assert not [t for t in sent if refused < t < refused + 2.0]
    assert min(t for t in sent if t > refused) == pytest.approx(refused + 2.0)


def test_a_pause_moves_a_reservation_already_taken() -> None:
    clock = FakeTime()
    limiter = RateLimiter(10, monotonic=clock)
    first = limiter.waits()
    assert next(first, None) is None  # goes at once
    second = limiter.waits()
    assert next(second) == pytest.approx(0.105)
    limiter.pause(3.0)  # the store refused the first while the second slept
    clock.now = 0.105
    assert next(second) == pytest.approx(2.895)
    clock.now = 3.0
    assert next(second, None) is None
    assert limiter.not_before == 3.0


def test_sync_interpreter_waits_for_the_rate_limiter_retries_included() -> None:
    clock = FakeTime()
    script = Script((200,))
    driver = FakeDriver(rate=1.0)
    io = SyncIO(
        driver,
        client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=clock.sleep,
        limiter=RateLimiter(1.0, monotonic=clock, margin=0.0),
    )
    for _ in range(3):
        io.run(get())
    assert clock.sleeps == [1.0, 1.0]

    class Busy(FakeDriver):
        def retry_hint(self, response: httpx.Response) -> RetryHint | None:
            return RetryHint("busy", 0.0) if response.status_code == 409 else None

    clock = FakeTime()
    retried = Script((409,), (200,))
    io = SyncIO(
        Busy(rate=1.0),
        client=httpx.Client(transport=httpx.MockTransport(retried)),
        sleep=clock.sleep,
        limiter=RateLimiter(1.0, monotonic=clock, margin=0.0),
    )
    assert io.run(get()) == 200
    assert clock.sleeps == [0.0, 1.0]  # the retry's own wait, then its turn from the limiter


def test_sync_interpreter_a_429_pauses_the_other_senders_but_not_its_own_retry_twice() -> None:
    clock = FakeTime()
    script = Script((429, {"Retry-After": "5"}), (200,))
    driver = FakeDriver()  # no rate: pausing works without pacing
    io = SyncIO(
        driver,
        client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=clock.sleep,
        limiter=RateLimiter(None, monotonic=clock),
    )
    assert io.run(get()) == 200
    assert clock.sleeps == [5.0]  # Retry-After once, not again as a pause

    clock = FakeTime()
    arrived: list[float] = []

    def store(request: httpx.Request) -> httpx.Response:
        arrived.append(clock.now)
        if request.url.path == "/first":
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200)

    io = SyncIO(
        FakeDriver(max_attempts=1),
        client=httpx.Client(transport=httpx.MockTransport(store)),
        sleep=clock.sleep,
        limiter=RateLimiter(None, monotonic=clock),
    )
    with pytest.raises(RateLimited):
        io.run(get("/first"))
    assert io.run(get("/second")) == 200
    assert arrived == [0.0, 5.0]


def test_the_default_limiter_follows_the_limits_and_pauses_on_429() -> None:
    driver = FakeDriver()
    driver._limits = Limits(rate=10, burst=3)
    limiter = SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(Script((200,)))))._limiter
    assert (limiter.rate, limiter.burst, limiter.window_sends) == (10, 3, 10)
    unpaced = SyncIO(FakeDriver(), client=httpx.Client(transport=httpx.MockTransport(Script((200,)))))
    assert unpaced._limiter.rate is None
    # No burst given: a whole second's worth may go at once (the one-second window still holds).
    driver._limits = Limits(rate=10)
    limiter = SyncIO(driver, client=httpx.Client(transport=httpx.MockTransport(Script((200,)))))._limiter
    assert (limiter.burst, limiter.window_sends) == (10, 10)


def test_the_turn_is_taken_while_holding_a_slot() -> None:
    held: list[bool] = []

    class Spy(RateLimiter):
        def waits(self, ready: float | None = None) -> Iterator[float]:
            held.append(check())
            return super().waits(ready)

    driver = FakeDriver(concurrency=1, rate=100.0)
    transport = httpx.MockTransport(Script((200,)))
    sync = SyncIO(driver, client=httpx.Client(transport=transport), limiter=Spy(100))

    def sync_slot_taken() -> bool:
        free = sync._slots.acquire(blocking=False)
        if free:
            sync._slots.release()
        return not free

    check = sync_slot_taken
    sync.run(get())
    assert held == [True]

    async def main() -> None:
        nonlocal check
        async with httpx.AsyncClient(transport=httpx.MockTransport(Script((200,)))) as client:
            aio = AsyncIO(driver, client=client, limiter=Spy(100))
            check = lambda: aio._semaphore().locked()  # noqa: E731
            await aio.run(get())

    asyncio.run(main())
    assert held == [True, True]


def test_async_interpreter_paces_concurrent_sends_and_a_429_pauses_them_all() -> None:
    """40 page reads at concurrency 8 against a store with 250 ms latency, 10 req/s limit on the SDK side; the
    store answers the 12th request 429 with Retry-After 2. Runs on virtual time."""
    arrived: list[float] = []
    answered: dict[str, int] = {}

    async def store(request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        arrived.append(loop.time())
        number = len(arrived)
        await asyncio.sleep(0.25)
        if number == 12:
            return httpx.Response(429, headers={"Retry-After": "2"})
        answered[request.url.path] = answered.get(request.url.path, 0) + 1
        return httpx.Response(200)

    async def main() -> tuple[list[int], float]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(10, monotonic=loop.time)
        async with httpx.AsyncClient(transport=httpx.MockTransport(store)) as client:
            io = AsyncIO(FakeDriver(concurrency=8, rate=10), client=client, limiter=limiter)
            results = await asyncio.gather(*(io.submit(get(f"/orders/{n}")) for n in range(40)))
        return results, loop.time()

    results, finished = run_virtual(main())
    assert results == [200] * 40
    assert len(answered) == 40
    assert len(arrived) == 41
    assert most_in_any_window(arrived) <= 10
    refused = arrived[11]
    # Requests already on the wire when the 429 came back (sent before refused + 0.25 s) may land; nothing
    # new leaves until Retry-After has passed.
    assert not [t for t in arrived if refused + 0.25 <= t < refused + 0.25 + 2.0]
    assert finished < 41 * 0.105 + 2.0 + 0.25 + 0.5


def test_sync_interpreter_paces_a_run_of_reads() -> None:
    clock = FakeTime()
    arrived: list[float] = []

    def store(request: httpx.Request) -> httpx.Response:
        arrived.append(clock.now)
        return httpx.Response(200)

    io = SyncIO(
        FakeDriver(rate=5),
        client=httpx.Client(transport=httpx.MockTransport(store)),
        sleep=clock.sleep,
        limiter=RateLimiter(5, monotonic=clock),
    )
    for _ in range(23):
        io.run(get())
    assert most_in_any_window(arrived) == 5
    assert arrived[1] == pytest.approx(0.21)


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


def test_close_stops_a_send_that_is_waiting_to_retry() -> None:
    script = Script((503, {"Retry-After": "30"}))
    io = SyncIO(FakeDriver(), client=httpx.Client(transport=httpx.MockTransport(script)))
    pending = io.submit(get("/slow"))
    while not script.seen:  # the first attempt has been answered; the send now waits 30 s to retry
        threading.Event().wait(0.01)
    io.close()  # does not wait out the Retry-After, and nothing more is sent
    with pytest.raises(TransportError, match="closed"):
        pending.result()
    assert len(script.seen) == 1


def test_a_put_marked_not_idempotent_is_not_resent_after_a_dropped_connection() -> None:
    from ecc_connectors.driver import is_idempotent, mark_idempotent

    put = httpx.Request("PUT", "https://s.test/orders/1")
    assert is_idempotent(put)
    assert not is_idempotent(mark_idempotent(put, False))
    post = mark_idempotent(httpx.Request("POST", "https://s.test/search"))
    assert is_idempotent(post)
