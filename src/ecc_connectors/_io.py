"""Running driver flows over HTTP: the one place that owns I/O policy.

A driver flow is a generator that yields ``httpx.Request`` and receives ``httpx.Response`` (see ``_driver``).
Two interpreters run flows: :class:`SyncIO` over ``httpx.Client`` and :class:`AsyncIO` over
``httpx.AsyncClient``. Both take every decision from one :class:`IOPolicy`, so sync and async code retry, wait
and give up in exactly the same way:

=============================================  ==================================  =========================
What happened                                  Reads (idempotent requests)         Writes
=============================================  ==================================  =========================
connect error / connect timeout / pool wait    retried                             retried (never sent)
read timeout, dropped connection after send    retried                             not resent: TransportError
response with a ``RetryHint`` from the driver  retried, waiting ``Retry-After``    retried (429/503: the store
                                               or backing off with jitter          did not act)
retries run out on 429                         ``RateLimited(retry_after)``        same
retries run out on a network fault             ``TransportError``                  same
retries run out on another hinted response     the flow gets the last response     same
=============================================  ==================================  =========================

Each attempt takes a slot under the per-store concurrency limit, then waits its turn from the rate limiter and
sends at once. A 429 or 503 with ``Retry-After`` pauses every sender of the store until then. Logs carry the
method, the URL path and the status only: never headers or query strings, which may carry keys.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import email.utils
import functools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import attrs
import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ._driver import Driver, Flow, Limits, RetryHint, is_idempotent
from ._errors import RateLimited, TransportError

__all__ = ["AsyncIO", "IOPolicy", "Offload", "Pending", "RateLimiter", "StoreClock", "SyncIO", "advance"]

T = TypeVar("T")
logger = logging.getLogger("ecc_connectors.io")

# Raised before the request left this machine: the store cannot have acted, so even a write may go again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _where(request: httpx.Request) -> str:
    # The path only: query strings carry keys on some carts (WooCommerce consumer_key, signed OAuth 1 URLs).
    return f"{request.method} {request.url.path}"


class _RetryResponse(Exception):
    """An answer worth another attempt (internal: carries the response through tenacity)."""

    def __init__(self, response: httpx.Response, hint: RetryHint) -> None:
        super().__init__(hint.reason)
        self.response = response
        self.hint = hint


class _RetryTransport(Exception):
    """A network fault worth another attempt (internal)."""

    def __init__(self, where: str, cause: httpx.TransportError) -> None:
        super().__init__(f"{where}: {type(cause).__name__}")
        self.where = where
        self.cause_name = type(cause).__name__


class StoreClock:
    """The store's own time, read off the ``Date`` header of its answers.

    Each answer bounds the store clock from below: ``Date`` was written before the answer left the store, and
    it is truncated to the second, so ``Date - (our clock when the answer arrived)`` never exceeds the true
    offset between the two clocks. The estimate is the largest such bound seen lately, so it errs early,
    which is the safe side for the upper bound of a download window (an order the store stamps after the
    window's end can never be mistaken for one inside it). Shared by every interpreter of one store.
    """

    def __init__(self, wall: Callable[[], float] = time.time, keep: int = 32) -> None:
        self._wall = wall
        self._bounds: collections.deque[float] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        self.round_trip: float | None = None
        """Seconds the latest answer took, from sending its request to its last byte (``None`` before any)."""

    def observe(self, response: httpx.Response) -> None:
        # A streamed answer not yet read to its end has no round trip.
        with contextlib.suppress(RuntimeError):
            self.round_trip = response.elapsed.total_seconds()
        header = response.headers.get("date")
        if not header:
            return
        try:
            stamp = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError, OverflowError):
            return  # a Date we cannot read tells us nothing
        if stamp.tzinfo is None:
            return
        with self._lock:
            self._bounds.append(stamp.timestamp() - self._wall())

    @property
    def offset(self) -> float | None:
        """Seconds the store's clock runs ahead of ours (negative: behind), as a lower bound; ``None``
        before any answer with a ``Date``."""
        with self._lock:
            return max(self._bounds) if self._bounds else None

    def now(self) -> datetime | None:
        """The store's time now (erring early), or ``None`` when no answer has said it."""
        offset = self.offset
        if offset is None:
            return None
        return datetime.fromtimestamp(self._wall() + offset, timezone.utc)


class RateLimiter:
    """Paces the sends to one store, shared by every thread or task that talks to it.

    With ``rate`` R and ``burst`` B (1 <= B <= R): no window of ``n / R`` seconds plus ``margin`` holds more
    than ``n = max(1, floor(R))`` sends. For a whole-number rate that is: never more than R sends in any
    second, the shape of the sliding-window limit many stores and proxies enforce; the margin absorbs the
    jitter between leaving here and arriving there. Within that, up to B sends may go back to back, then they
    are spaced one n-th of the window apart (a leaky bucket of B, the shape of nginx's ``limit_req``).
    ``rate=None`` paces nothing but still pauses.

    :meth:`pause` pushes a shared "not before" time forward when the store says ``Retry-After``: every sender,
    also one that already holds a reservation, waits for it, so the others stop hammering a store that just
    refused one of them.

    The limiter never sleeps itself: :meth:`waits` yields how long to sleep and each interpreter sleeps its
    own way (``time.sleep`` or ``asyncio.sleep``, injectable in tests), which is what lets one object, with
    one lock, serve both the thread-based and the asyncio interpreters.
    """

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        margin: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (None in Limits means unlimited)")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.window_sends = max(1, int(rate)) if rate else 0
        self.burst = min(int(burst or 1), self.window_sends) if rate else 0
        self.window = self.window_sends / rate + margin if rate else 0.0
        self._monotonic = monotonic
        # Send times, oldest first: the last ``window_sends`` reservations (the moment their caller may send),
        # each replaced by the moment it did proceed once the caller is through (see _settle).
        self._log: list[float] = []
        self._not_before = -math.inf
        self._lock = threading.Lock()

    @property
    def not_before(self) -> float:
        """No send before this ``monotonic`` time (pushed forward by :meth:`pause`)."""
        with self._lock:
            return self._not_before

    def reserve(self) -> float:
        """Take the next send time and return how long to wait for it (no re-check after a pause)."""
        return self._reserve(-math.inf)[1]

    def waits(self, ready: float | None = None) -> Iterator[float]:
        """Yield the sleeps to take before sending; when it ends, send at once.

        ``ready``: the caller has already waited until then (a retry that slept out ``Retry-After``), so that
        wait is not taken twice, also under a test's clock that sleeps do not move.
        """
        ready_at = -math.inf if ready is None else ready
        while True:
            at, wait = self._reserve(ready_at)
            if wait > 0:
                yield wait
            if self._settle(at):
                return
            ready_at = at  # a pause came in while waiting: reserve again, from where this caller stands

    def pause(self, seconds: float, ready: float | None = None) -> float:
        """The store said: no requests for ``seconds``. Returns when the caller itself may try again."""
        with self._lock:
            now = self._monotonic()
            self._not_before = max(self._not_before, now + seconds)
            return max(now, -math.inf if ready is None else ready) + seconds

    def _reserve(self, ready: float) -> tuple[float, float]:
        with self._lock:
            start = max(self._monotonic(), ready)
            at = max(start, self._not_before)
            if self.rate:
                log = self._log
                spacing = self.window / self.window_sends  # 1/R, and its share of the margin
                if log:
                    at = max(at, log[-1])
                # B sends may share a moment; each one beyond needs another spacing (over the whole window).
                for back in range(self.burst, min(len(log), self.window_sends - 1) + 1):
                    at = max(at, log[-back] + (back + 1 - self.burst) * spacing)
                if len(log) >= self.window_sends:
                    at = max(at, log[-self.window_sends] + self.window)
                log.append(at)
                del log[: -self.window_sends]
            return at, at - start

    def _settle(self, at: float) -> bool:
        """The caller is about to send for the reservation ``at``: false when a pause since then moved it."""
        with self._lock:
            moved = self._not_before > at
            if self.rate and at in self._log:
                self._log.remove(at)
                if not moved:
                    # Record when the send really goes: a caller that woke late must not let the next
                    # window start early.
                    bisect.insort(self._log, max(at, self._monotonic()))
            return not moved


@attrs.frozen
class IOPolicy:
    """Retry, timeout and pacing settings for one store, shared by the sync and the async interpreter.

    ``max_retry_after``: a ``Retry-After`` longer than this is not waited out; the call fails at once with
    :class:`RateLimited` carrying the wait, so a batch job can reschedule rather than hang.
    """

    limits: Limits = attrs.field(factory=Limits)
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5
    max_retry_after: float = 300.0

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            self.limits.read_timeout, connect=self.limits.connect_timeout, pool=self.limits.connect_timeout
        )

    def _wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max) + wait_random(
            0, self.backoff_jitter
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryResponse) and exc.hint.after is not None:
                return exc.hint.after
            return min(float(backoff(state)), self.backoff_max)

        return wait

    def _stop(self) -> Callable[[RetryCallState], bool]:
        attempts = stop_after_attempt(max(1, self.limits.max_attempts))

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryResponse) and (exc.hint.after or 0.0) > self.max_retry_after:
                return True
            return bool(attempts(state))

        return stop

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        quiet = False
        if isinstance(exc, _RetryResponse):
            what = f"{_where(exc.response.request)} -> {exc.response.status_code} ({exc.hint.reason})"
            quiet = exc.hint.quiet
        else:
            what = str(exc)
        logger.log(
            logging.DEBUG if quiet else logging.WARNING,
            "%s; retrying in %.2f s (attempt %d of %d)",
            what, wait, state.attempt_number, self.limits.max_attempts,
        )

    def retrying(self, sleep: Callable[[float], None]) -> Retrying:
        return Retrying(
            stop=self._stop(),
            wait=self._wait(),
            retry=retry_if_exception_type((_RetryResponse, _RetryTransport)),
            sleep=sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def async_retrying(self, sleep: Callable[[float], Awaitable[None]]) -> AsyncRetrying:
        return AsyncRetrying(
            stop=self._stop(),
            wait=self._wait(),
            retry=retry_if_exception_type((_RetryResponse, _RetryTransport)),
            sleep=sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def prepare(self, request: httpx.Request) -> None:
        if "timeout" not in request.extensions:
            request.extensions = {**request.extensions, "timeout": self.timeout.as_dict()}

    def classify_response(self, driver: Driver, response: httpx.Response) -> httpx.Response:
        """Log the answer; raise :class:`_RetryResponse` when the driver says it is worth another attempt."""
        logger.debug("%s -> %d", _where(response.request), response.status_code)
        hint = driver.retry_hint(response)
        if hint is not None:
            raise _RetryResponse(response, hint)
        return response

    def classify_error(self, request: httpx.Request, exc: httpx.TransportError) -> Exception:
        """A network fault is retryable when the store cannot have acted, or when resending is safe."""
        where = _where(request)
        if isinstance(exc, _NOT_SENT) or is_idempotent(request):
            return _RetryTransport(where, exc)
        logger.warning("%s: %s after sending; a write is not resent blindly", where, type(exc).__name__)
        return TransportError(
            f"{where}: {type(exc).__name__} after the request was sent; not resent because the store may "
            "have acted on it (check the store before trying again)"
        )

    def give_up(self, exc: BaseException) -> httpx.Response:
        """Retries ran out: raise the typed error, or hand the last response back to the flow to map."""
        if isinstance(exc, _RetryResponse):
            if exc.response.status_code == 429:
                raise RateLimited(
                    f"{_where(exc.response.request)}: still rate limited after retries", exc.hint.after
                ) from None
            return exc.response
        if isinstance(exc, _RetryTransport):
            raise TransportError(f"{exc.where}: {exc.cause_name}; retries exhausted") from None
        raise exc


# Where a refused request notes when it may try again (the limiter's clock), so that its retry does not wait
# the pause it caused on top of the Retry-After it already slept.
_READY_AT = "ecc_connectors.ready_at"
# Answers whose Retry-After speaks for the whole store (throttled, down for maintenance), not one request.
_STORE_WIDE = frozenset({429, 503})


def _classified(
    policy: IOPolicy, driver: Driver, limiter: RateLimiter, request: httpx.Request, response: httpx.Response
) -> httpx.Response:
    """:meth:`IOPolicy.classify_response`, and a store-wide ``Retry-After`` pauses every sender."""
    try:
        return policy.classify_response(driver, response)
    except _RetryResponse as exc:
        after = exc.hint.after
        if response.status_code in _STORE_WIDE and after is not None and 0 < after <= policy.max_retry_after:
            ready = limiter.pause(after, request.extensions.get(_READY_AT))
            request.extensions = {**request.extensions, _READY_AT: ready}
        raise


def _limiter_for(limits: Limits) -> RateLimiter:
    burst = limits.burst if limits.burst is not None else limits.rate
    return RateLimiter(limits.rate, burst)


class SyncIO:
    """Runs flows on a thread-safe ``httpx.Client``; :meth:`submit` sends a flow's first request from a worker
    thread so several flows can wait on the network at once.

    The client is borrowed when given (the caller closes it) and owned otherwise. ``sleep`` is injectable so
    tests can observe waits without waiting.
    """

    def __init__(
        self,
        driver: Driver,
        *,
        client: httpx.Client | None = None,
        policy: IOPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
        store_clock: StoreClock | None = None,
    ) -> None:
        self.driver = driver
        self.store_clock = store_clock or StoreClock()
        self.policy = policy or IOPolicy(driver.limits())
        limits = self.policy.limits
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=self.policy.timeout)
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, limits.concurrency))
        self._limiter = limiter or _limiter_for(limits)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        # Set by close(): sends still on worker threads (a failed download leaves some) stop at their next
        # attempt or wait instead of retrying on against the store while close() waits for them.
        self._stopping = threading.Event()

    def _pause(self, seconds: float) -> None:
        if self._sleep is time.sleep:
            self._stopping.wait(seconds)
        else:
            self._sleep(seconds)
        self._check_open()

    def _check_open(self) -> None:
        if self._stopping.is_set():
            raise TransportError("the connector was closed before this request could be sent")

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        auth = self.driver.auth()
        self._check_open()
        with self._slots:
            # Paced inside the slot, so the send follows its turn at once (a turn taken before waiting for
            # a slot could come due while still queued, and sends would bunch up past the store's window).
            for wait in self._limiter.waits(request.extensions.get(_READY_AT)):
                self._pause(wait)
            self._check_open()
            try:
                response = self.client.send(
                    request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
                )
            except httpx.TransportError as exc:
                raise self.policy.classify_error(request, exc) from None
        self.store_clock.observe(response)
        return _classified(self.policy, self.driver, self._limiter, request, response)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send one request under the retry policy."""
        self.policy.prepare(request)
        try:
            return self.policy.retrying(self._pause)(self._attempt, request)
        except (_RetryResponse, _RetryTransport) as exc:
            return self.policy.give_up(exc)

    def run(self, flow: Flow[T]) -> T:
        """Run ``flow`` to its end on this thread and return its result."""
        try:
            request = next(flow)
        except StopIteration as stop:
            flow.close()
            result: T = stop.value
            return result
        return self._finish(flow, request, None)

    def _finish(self, flow: Flow[T], request: httpx.Request, sent: Future[httpx.Response] | None) -> T:
        """Drive ``flow`` on this thread from its pending ``request`` (already being sent when ``sent``)."""
        try:
            while True:
                try:
                    response = sent.result() if sent is not None else self.send(request)
                except Exception as exc:
                    # The flow may handle the error (and carry on); if it does not, it comes straight back.
                    request = flow.throw(exc)
                else:
                    request = flow.send(response)
                sent = None
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    def submit(self, flow: Flow[T]) -> Pending[T]:
        """Start ``flow``: its first request goes to a worker thread at once; the rest of the flow (parsing
        the answer, any further request) runs on the thread that asks for :meth:`Pending.result`.

        Workers only wait on the network, so the CPU work of parsing stays on the caller's thread and does not
        fight it for the GIL (which would slow the caller's short SQLite calls to a crawl).
        """
        return Pending(self, flow)

    def _send_later(self, request: httpx.Request) -> Future[httpx.Response]:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=max(1, self.policy.limits.concurrency), thread_name_prefix="ecc-io"
                )
            return self._executor.submit(self.send, request)

    def close(self) -> None:
        self._stopping.set()
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
        if self._owns_client:
            self.client.close()


class Pending(Generic[T]):
    """A flow started by :meth:`SyncIO.submit`; :meth:`result` finishes it on the calling thread."""

    def __init__(self, io: SyncIO, flow: Flow[T]) -> None:
        self._io = io
        self._flow = flow
        self._sent: Future[httpx.Response] | None = None
        self._request: httpx.Request | None = None
        self._outcome: tuple[bool, Any] | None = None
        try:
            self._request = next(flow)
        except StopIteration as stop:
            flow.close()
            self._outcome = (True, stop.value)
        except Exception as exc:
            # Kept for result(), so a flow that fails at once fails where its result is awaited, in order.
            self._outcome = (False, exc)
        else:
            self._sent = io._send_later(self._request)

    def result(self) -> T:
        if self._outcome is not None:
            ok, value = self._outcome
            if ok:
                result: T = value
                return result
            raise value
        assert self._request is not None
        try:
            value = self._io._finish(self._flow, self._request, self._sent)
        except Exception as exc:
            self._outcome = (False, exc)
            raise
        self._outcome = (True, value)
        return value

    def done(self) -> bool:
        """Whether the flow's answer is in: :meth:`result` has nothing to wait for but the flow's own later
        requests, if it sends more than one."""
        return self._outcome is not None or (self._sent is not None and self._sent.done())

    def cancel(self) -> None:
        if self._sent is not None:
            self._sent.cancel()
        self._flow.close()


Offload = Callable[[Callable[[], Any]], Awaitable[Any]]
"""Runs a CPU-bound step somewhere other than the event loop (e.g. a one-thread executor) and awaits it."""


def advance(gen: Generator[Any, Any, Any], value: Any = None, error: BaseException | None = None) -> tuple[bool, Any]:
    """One step of a generator: ``(True, its return value)`` when it finished, else ``(False, what it yielded)``.

    A plain function, so the step can run on another thread: a StopIteration crossing a future into a coroutine
    would turn into RuntimeError."""
    try:
        out = gen.throw(error) if error is not None else gen.send(value)
    except StopIteration as stop:
        return True, stop.value
    return False, out


class AsyncIO:
    """Runs flows on an ``httpx.AsyncClient``; :meth:`submit` runs one as an asyncio task.

    ``offload``, when given, runs each step of a flow after its first (parsing answers, building any further
    request) off the event loop, so the loop keeps sending and reading while a page is parsed."""

    def __init__(
        self,
        driver: Driver,
        *,
        client: httpx.AsyncClient | None = None,
        policy: IOPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limiter: RateLimiter | None = None,
        offload: Offload | None = None,
        store_clock: StoreClock | None = None,
    ) -> None:
        self._offload = offload
        self.store_clock = store_clock or StoreClock()
        self.driver = driver
        self.policy = policy or IOPolicy(driver.limits())
        limits = self.policy.limits
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=self.policy.timeout)
        self._sleep = sleep
        self._limiter = limiter or _limiter_for(limits)
        # asyncio primitives belong to one event loop; made on first use so a connector can outlive a loop.
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(max(1, self.policy.limits.concurrency)))
        return self._slots[1]

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        auth = self.driver.auth()
        async with self._semaphore():
            for wait in self._limiter.waits(request.extensions.get(_READY_AT)):
                await self._sleep(wait)
            try:
                response = await self.client.send(
                    request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
                )
            except httpx.TransportError as exc:
                raise self.policy.classify_error(request, exc) from None
        self.store_clock.observe(response)
        return _classified(self.policy, self.driver, self._limiter, request, response)

    async def send(self, request: httpx.Request) -> httpx.Response:
        self.policy.prepare(request)
        try:
            response: httpx.Response = await self.policy.async_retrying(self._sleep)(self._attempt, request)
            return response
        except (_RetryResponse, _RetryTransport) as exc:
            return self.policy.give_up(exc)

    async def _step(self, flow: Flow[T], value: Any, error: BaseException | None) -> tuple[bool, Any]:
        if self._offload is None:
            return advance(flow, value, error)
        return await self._offload(functools.partial(advance, flow, value, error))  # type: ignore[no-any-return]

    async def run(self, flow: Flow[T]) -> T:
        try:
            # A flow's first step only builds its first request: taken here on the loop, the request goes out
            # at once instead of queueing on the offload worker behind the pages being parsed there.
            done, out = advance(flow, None, None)
            while not done:
                try:
                    response = await self.send(out)
                except Exception as exc:
                    done, out = await self._step(flow, None, exc)
                else:
                    done, out = await self._step(flow, response, None)
            result: T = out
            return result
        finally:
            flow.close()

    def submit(self, flow: Flow[T]) -> asyncio.Task[T]:
        return asyncio.ensure_future(self.run(flow))

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
