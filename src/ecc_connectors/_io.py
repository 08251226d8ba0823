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

Each attempt waits for a slot under the per-store concurrency limit and a token from the rate limiter. Logs
carry the method, the URL path and the status only: never headers or query strings, which may carry keys.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
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

__all__ = ["AsyncIO", "IOPolicy", "Pending", "RateLimiter", "SyncIO"]

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


class RateLimiter:
    """A token bucket: ``rate`` requests per second on average, bursts of up to ``burst``.

    :meth:`reserve` takes a token and says how long the caller must wait before using it (it may run the
    bucket into debt, so waiting callers queue up fairly). It never sleeps itself, which is what lets one
    limiter serve both the thread-based and the asyncio interpreters: each sleeps in its own way.
    """

    def __init__(
        self, rate: float, burst: float | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (None in Limits means unlimited)")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._monotonic = monotonic
        self._last = monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


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
        if isinstance(exc, _RetryResponse):
            what = f"{_where(exc.response.request)} -> {exc.response.status_code} ({exc.hint.reason})"
        else:
            what = str(exc)
        logger.warning(
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
    ) -> None:
        self.driver = driver
        self.policy = policy or IOPolicy(driver.limits())
        limits = self.policy.limits
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=self.policy.timeout)
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, limits.concurrency))
        self._limiter = limiter or (RateLimiter(limits.rate) if limits.rate else None)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        if self._limiter is not None:
            wait = self._limiter.reserve()
            if wait > 0:
                self._sleep(wait)
        auth = self.driver.auth()
        with self._slots:
            try:
                response = self.client.send(
                    request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
                )
            except httpx.TransportError as exc:
                raise self.policy.classify_error(request, exc) from None
        return self.policy.classify_response(self.driver, response)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send one request under the retry policy."""
        self.policy.prepare(request)
        try:
            return self.policy.retrying(self._sleep)(self._attempt, request)
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

    def cancel(self) -> None:
        if self._sent is not None:
            self._sent.cancel()
        self._flow.close()


class AsyncIO:
    """Runs flows on an ``httpx.AsyncClient``; :meth:`submit` runs one as an asyncio task."""

    def __init__(
        self,
        driver: Driver,
        *,
        client: httpx.AsyncClient | None = None,
        policy: IOPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.driver = driver
        self.policy = policy or IOPolicy(driver.limits())
        limits = self.policy.limits
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=self.policy.timeout)
        self._sleep = sleep
        self._limiter = limiter or (RateLimiter(limits.rate) if limits.rate else None)
        # asyncio primitives belong to one event loop; made on first use so a connector can outlive a loop.
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(max(1, self.policy.limits.concurrency)))
        return self._slots[1]

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        if self._limiter is not None:
            wait = self._limiter.reserve()
            if wait > 0:
                await self._sleep(wait)
        auth = self.driver.auth()
        async with self._semaphore():
            try:
                response = await self.client.send(
                    request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
                )
            except httpx.TransportError as exc:
                raise self.policy.classify_error(request, exc) from None
        return self.policy.classify_response(self.driver, response)

    async def send(self, request: httpx.Request) -> httpx.Response:
        self.policy.prepare(request)
        try:
            response: httpx.Response = await self.policy.async_retrying(self._sleep)(self._attempt, request)
            return response
        except (_RetryResponse, _RetryTransport) as exc:
            return self.policy.give_up(exc)

    async def run(self, flow: Flow[T]) -> T:
        try:
            request = next(flow)
            while True:
                try:
                    response = await self.send(request)
                except Exception as exc:
                    request = flow.throw(exc)
                else:
                    request = flow.send(response)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    def submit(self, flow: Flow[T]) -> asyncio.Task[T]:
        return asyncio.ensure_future(self.run(flow))

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
