"""A base for fake stores: a real HTTP server on ``127.0.0.1`` with the hostile-store knobs every fake needs.

A plugin author writes the store's dialect (its routes and payloads) and gets the rest::

    from ecc_connectors.testing.base import FakeStore, HttpError, ReceivedRequest

    class FakeAcme(FakeStore):
        name = "fake-acme"

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(auth=lambda r: r.headers.get("x-api-key") == "secret", **kwargs)
            self.orders = {1: {"id": 1, "status": "new"}}
            self.route("GET", r"/orders", self.list_orders)
            self.route("GET", r"/orders/(\\d+)", self.get_order)
            self.route("GET", r"/health", lambda request: {"ok": True}, auth=None)

        def list_orders(self, request: ReceivedRequest) -> Any:
            with self.lock:
                failed = self.listing_request()      # counts it and runs on_listing / schedule changes
                if failed is not None:
                    return failed
                return {"orders": list(self.orders.values())}

        def get_order(self, request: ReceivedRequest, order_id: str) -> Any:
            with self.lock:
                if int(order_id) not in self.orders:
                    raise HttpError(404, "no such order")
                return self.orders[int(order_id)]

    with FakeAcme(latency=0.05) as store:
        httpx.get(f"{store.base_url}/orders", headers={"x-api-key": "secret"})

What every request goes through, in this order (:meth:`FakeStore.handle`):

1. it is logged (:attr:`FakeStore.requests`, bounded) and counted;
2. the sliding-window ``rate_limit`` admits it or not; an admitted request draws the next injected fault
   (``inject_429`` / ``inject_5xx`` / ``drop_connections``);
3. the ``on_request`` hooks see it (an exception in a hook is kept in ``hook_errors`` and answered 500);
4. a refused request is answered 429 with ``Retry-After`` at once; otherwise ``latency`` is waited out (on the
   connection's own thread: other connections are not held up) and the drawn fault is answered;
5. the route table: the first route whose method matches and whose pattern matches :meth:`route_path` in full;
   a protected route (``auth`` not ``None``) is checked by :meth:`check_auth` first; :meth:`dispatch` calls the
   handler, whose return value is an :class:`Answer` or any JSON value (answered 200); an :class:`HttpError`
   becomes :meth:`error_answer`;
6. answer faults: a write (:meth:`is_write`) that succeeded may lose its answer (``lose_write_answers``: the
   write stays applied), a success may come back cut short (``short_bodies``);
7. :meth:`finish` turns the answer into what goes on the wire (override it to add an encoding); the ``Date``
   header comes from the store's own clock (``clock`` / ``set_clock``).

Every knob is thread-safe and may change while the store serves.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol, TypeVar

from ._base_faults import (
    AnswerFaults,
    Fault,
    ListingHook,
    ListingSchedule,
    LostAnswerMode,
    RateWindow,
    ShortBody,
    Stats,
    Trigger,
)
from ._base_http import (
    JSON_CONTENT_TYPE,
    Answer,
    Handler,
    HttpError,
    ReceivedRequest,
    Route,
    Server,
    dumps,
    http_date,
    loads,
    truncate,
)
from ._base_pipeline import answer_request

__all__ = [
    "JSON_CONTENT_TYPE",
    "Answer",
    "FakeStore",
    "HttpError",
    "ListingHook",
    "LostAnswerMode",
    "ReceivedRequest",
    "Route",
    "dumps",
    "http_date",
    "loads",
    "truncate",
]

S = TypeVar("S", bound="FakeStore")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SampleOrders(Protocol):
    """What holds a fake's orders and can make sample ones (``seed``), as :meth:`FakeStore.seed_orders` needs."""

    def seed(self, count: int, *, start: datetime, end: datetime, seed: int = ...) -> object: ...


class FakeStore:
    """A fake store's server, request log, hooks, faults, rate limit, clock and route table (see the module
    notes). Subclasses add routes with :meth:`route` and override the hooks they need: :meth:`route_path`,
    :meth:`check_auth`, :meth:`dispatch`, :meth:`error_answer`, :meth:`internal_error_answer`,
    :meth:`crash_answer`, :meth:`json_answer`, :meth:`is_write`, :meth:`finish`.

    ``auth``: a check of each request to a protected route (``True`` to let it through); without one, every
    request passes. ``rate_limit``: requests per second (see the property); its window runs on ``monotonic``,
    which a test may replace with a clock it moves by hand. ``clock``: the store's own time (default the host's
    UTC time), sent in the ``Date`` header of every answer. ``request_log_size``: how many requests
    :attr:`requests` keeps (the oldest are dropped first).
    """

    name: ClassVar[str] = "fake-store"
    """Names the server thread."""
    description: ClassVar[str] = "fake store"
    """Names the store in messages."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] | None = None,
        request_log_size: int = 10_000,
        auth: Callable[[ReceivedRequest], bool] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._host = host
        self._port = port
        self._latency = max(0.0, float(latency))
        self._window = RateWindow(rate_limit, monotonic)
        self._clock: Callable[[], datetime] = clock or _utc_now
        self._auth = auth
        self._faults: collections.deque[Fault] = collections.deque()
        self._answer_faults = AnswerFaults()
        self._schedule = ListingSchedule()
        # Bounded so a long benchmark run does not grow without limit.
        self._requests: collections.deque[ReceivedRequest] = collections.deque(maxlen=request_log_size)
        self._hooks: list[Callable[[ReceivedRequest], None]] = []
        self.hook_errors: list[BaseException] = []
        self._stats = Stats()
        self._routes: list[Route] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    def started(cls: type[S], *args: Any, **kwargs: Any) -> S:
        """A store made with these arguments and started (for a ``store_factory``)."""
        return cls(*args, **kwargs).start()

    def start(self: S) -> S:
        """Serve from a thread of its own (a no-op when already serving); returns the store."""
        if self._server is not None:
            return self
        server = Server((self._host, self._port), Handler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and hang up on kept-alive clients (a no-op when stopped)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve from the calling thread until interrupted."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.description} is not running: call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._host

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def lock(self) -> threading.RLock:
        """The store's lock (reentrant): hold it while reading or changing what the store keeps."""
        return self._lock

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<{type(self).__name__} {where}>"

    # -- routes ----------------------------------------------------------------------------------------------

    def route(
        self, method: str, pattern: str | re.Pattern[str], handler: Callable[..., Any], *, auth: object = True
    ) -> Route:
        """Add a route: ``handler(request, *groups)`` answers ``method`` on paths ``pattern`` matches in full
        (with :meth:`dispatch` overridden, whatever it passes). ``auth=None``: anonymous."""
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        entry = Route(method.upper(), compiled, handler, auth)
        with self._lock:
            self._routes.append(entry)
        return entry

    @property
    def routes(self) -> tuple[Route, ...]:
        with self._lock:
            return tuple(self._routes)

    # -- the request log and hooks ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received, oldest first (the last ``request_log_size``)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def request_count(self) -> int:
        """Every request received since the store was made (the log may hold fewer)."""
        with self._lock:
            return self._stats.requests

    def on_request(self, callback: Callable[[ReceivedRequest], None]) -> Callable[[ReceivedRequest], None]:
        """Call ``callback`` with every request received, before it is answered. Exceptions it raises are kept
        in ``hook_errors`` and answered as 500, so a failing check cannot go unnoticed. Faults are drawn before
        hooks run: a fault set in a hook hits the next request."""
        with self._lock:
            self._hooks.append(callback)
        return callback

    def clear_hooks(self) -> None:
        """Remove every ``on_request`` hook."""
        with self._lock:
            self._hooks.clear()

    # -- counters --------------------------------------------------------------------------------------------

    @property
    def latency_applied(self) -> float:
        """Total seconds of artificial latency the server has applied (its own accounting, not wall time)."""
        with self._lock:
            return self._stats.latency_seconds

    @property
    def peak_concurrent_latency(self) -> int:
        """The most requests that were waiting out their latency at the same moment."""
        with self._lock:
            return self._stats.peak_in_flight

    @property
    def dropped_connections(self) -> int:
        with self._lock:
            return self._stats.dropped

    @property
    def throttled(self) -> int:
        """Requests answered 429 by the ``rate_limit`` knob (not counting ``inject_429``)."""
        with self._lock:
            return self._stats.throttled

    @property
    def stats(self) -> dict[str, float]:
        """The server's own counters at one moment: ``requests`` (every request received), ``throttled``,
        ``injected`` (faults answered), ``dropped`` (connections closed without an answer, lost write answers
        in ``drop`` mode included), ``truncated`` (``short_bodies`` used), ``lost_answers``
        (``lose_write_answers`` used), ``listing_requests``, ``latency_seconds``, ``peak_in_flight``."""
        with self._lock:
            return self._stats.snapshot(listing_requests=self._schedule.seen)

    # -- knobs: latency, rate limit, clock -------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds added to every admitted request's answer, waited on the connection's own thread."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(seconds))

    @property
    def rate_limit(self) -> float | None:
        """Requests per second the store accepts, the way a proxy in front of a store limits (``None``: no
        limit). Every request counts, whatever its path or credentials: one that would make more than
        ``n = max(1, floor(rate_limit))`` accepted in the last ``n / rate_limit`` seconds (the last second,
        for a whole-number rate) is answered 429 at once, before latency, with ``Retry-After`` (whole
        seconds until a place frees, at least 1) and counted in :attr:`throttled`. A refused request takes no
        place."""
        with self._lock:
            return self._window.rate

    @rate_limit.setter
    def rate_limit(self, per_second: float | None) -> None:
        with self._lock:
            self._window.rate = per_second

    def seed_orders(self, shop: SampleOrders, count: int, seed: int) -> None:
        """``count`` sample orders (none for 0) made by ``shop.seed``, drawn from ``seed``, spread over the
        thirty days before the store's clock, the newest an hour old."""
        if count:
            now = self.now()
            shop.seed(count, start=now - timedelta(days=30), end=now - timedelta(hours=1), seed=seed)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Replace the store's clock: the ``Date`` header of its answers (and what a subclass stamps with it)."""
        with self._lock:
            self._clock = clock

    def now(self) -> datetime:
        """The store's clock, now, in UTC."""
        return self._clock().astimezone(timezone.utc)

    def http_date(self) -> str:
        """The ``Date`` header the store would send now: RFC 7231 IMF-fixdate of its own clock."""
        return http_date(self._clock())

    # -- knobs: faults ---------------------------------------------------------------------------------------

    def inject_429(self, count: int = 1, retry_after: float | str = 1) -> None:
        """The next ``count`` admitted requests answer 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._faults.extend([Fault("429", retry_after)] * count)

    def inject_5xx(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` admitted requests answer ``status``."""
        with self._lock:
            self._faults.extend([Fault("5xx", status)] * count)

    def drop_connections(self, count: int = 1) -> None:
        """The next ``count`` requests get their connection closed without an answer."""
        with self._lock:
            self._faults.extend([Fault("drop")] * count)

    def short_bodies(self, count: int = 1, methods: Iterable[str] = ("GET",), fraction: float = 0.6) -> None:
        """The next ``count`` successful (2xx) answers to requests with one of ``methods`` come with their body
        cut to the first ``fraction`` of its bytes and a ``Content-Length`` that matches the cut body: what a
        proxy or a worker killed mid-output leaves. The client reads a complete HTTP message whose JSON is
        broken. Writes the request asked for are applied."""
        if count < 0 or not 0 <= fraction < 1:
            raise ValueError("count must be >= 0 and fraction in [0, 1)")
        fault = ShortBody(frozenset(m.upper() for m in methods), float(fraction))
        with self._lock:
            self._answer_faults.short.extend([fault] * count)

    def lose_write_answers(self, count: int = 1, mode: LostAnswerMode = "500", fraction: float = 0.6) -> None:
        """The next ``count`` write requests (:meth:`is_write`) that succeed are fully applied to the store,
        then their answer is lost, as when the application times out or a proxy gives up after the database
        committed: ``mode="500"`` answers :meth:`internal_error_answer`, ``"drop"`` closes the connection
        without an answer, ``"short"`` answers 2xx with the body cut to ``fraction`` (Content-Length
        matching). A write the store refuses (non-2xx) is answered normally and uses none up."""
        if mode not in ("500", "drop", "short"):
            raise ValueError(f"unknown mode {mode!r}: '500', 'drop' or 'short'")
        with self._lock:
            self._answer_faults.lost_writes.extend([(mode, float(fraction))] * count)

    def clear_faults(self) -> None:
        """Forget every pending fault: injected answers, drops, short bodies, lost write answers."""
        with self._lock:
            self._faults.clear()
            self._answer_faults.clear()

    # -- knobs: changes between listing requests -------------------------------------------------------------

    @property
    def listing_requests(self) -> int:
        """Listing requests (those whose handler called :meth:`listing_request`) answered or being answered."""
        with self._lock:
            return self._schedule.seen

    def listing_request(self) -> Answer | None:
        """For a listing handler, once it knows the request is a valid listing: count it and run, under the
        store lock, what :meth:`schedule` and :meth:`on_listing` set for it, before the handler computes its
        answer. Returns the answer to give instead when one of them raised (kept in ``hook_errors``)."""
        with self._lock:
            for trigger in self._schedule.advance():
                try:
                    trigger.action(self._schedule.seen)
                except Exception as exc:  # a scheduled change is a test's own code: keep what it said
                    self.hook_errors.append(exc)
                    return self.error_answer(500, "Scheduled store change failed: %1", [str(exc)])
        return None

    def schedule(self: S, after_listing_requests: int, action: Callable[[S], object]) -> None:
        """Run ``action(store)`` once, under the store lock, after ``after_listing_requests`` more listings
        were answered: before the next one is (``0``: before the very next listing is answered). The change is
        in place before that listing is computed, never in the middle of an answer. An action that raises is
        kept in ``hook_errors`` and that listing is answered 500."""
        if after_listing_requests < 0:
            raise ValueError("after_listing_requests must be >= 0")
        with self._lock:
            target = self._schedule.seen + after_listing_requests + 1
            self._schedule.add(Trigger(lambda n: n == target, lambda _n: action(self), once=True))

    def on_listing(self, callback: Callable[[int], object] | None) -> ListingHook | None:
        """Call ``callback(n)`` before the ``n``-th listing request from now (1 = the next one) is answered,
        under the store lock, for every listing until the returned handle is stopped. ``None`` stops every
        callback set this way. A callback that raises is kept in ``hook_errors`` and that listing is
        answered 500."""
        with self._lock:
            if callback is None:
                self._schedule.stop_hooks()
                return None
            return self._schedule.add_hook(callback, self._lock)

    # -- hooks for subclasses --------------------------------------------------------------------------------

    def route_path(self, request: ReceivedRequest) -> str:
        """The path the route table is matched against (default: the request's path). Raise
        :class:`HttpError` to refuse the request before routing (an unknown store code, ...)."""
        return request.path

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        """Refuse a request to a protected route by raising :class:`HttpError` (default: 401 when the
        ``auth`` check given to the constructor says no)."""
        if self._auth is not None and not self._auth(request):
            raise HttpError(401, "Unauthorized")

    def dispatch(self, route: Route, found: re.Match[str], request: ReceivedRequest) -> Any:
        """Call the route's handler: ``handler(request, *groups)`` (override to pass what the store's handlers
        take). Returns an :class:`Answer` or a JSON value."""
        return route.handler(request, *found.groups())

    def json_answer(self, value: Any, status: int = 200) -> Answer:
        """A JSON value a handler returned, as an answer."""
        return Answer(status, dumps(value))

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """The store's error body (default ``{"message": ..., "parameters": [...]}``)."""
        body = {"message": message, "parameters": [] if parameters is None else parameters}
        return Answer(status, dumps(body), dict(headers or {}))

    def internal_error_answer(self) -> Answer:
        """The 500 a write whose answer is lost gets in ``mode="500"``."""
        return self.error_answer(500, "Internal Server Error")

    def crash_answer(self, exc: BaseException) -> Answer:
        """What to answer when the fake itself failed on a request (a bug in a handler)."""
        return self.error_answer(500, "The fake store failed: %1", [f"{type(exc).__name__}: {exc}"])

    def is_write(self, request: ReceivedRequest) -> bool:
        """Whether ``lose_write_answers`` applies to this request (default: POST, PUT, PATCH, DELETE)."""
        return request.method in WRITE_METHODS

    def finish(self, answer: Answer, request: ReceivedRequest) -> Answer:
        """The answer as it goes on the wire (default: cut short where a fault says so). Override to add an
        encoding, calling :meth:`cut` where the cut belongs (before a compression, after an escaping)."""
        return self.cut(answer)

    @staticmethod
    def cut(answer: Answer) -> Answer:
        """Apply a pending cut (``truncate_to``) to the body."""
        if answer.truncate_to is not None:
            answer.body = truncate(answer.body, answer.truncate_to)
            answer.truncate_to = None
        return answer

    # -- the request path ------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, raw_url: str = ""
    ) -> Answer | None:
        """Answer one request (``target``: the raw path and query as sent). ``None``: drop the connection."""
        path, _, query_string = target.partition("?")
        query = tuple(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        request = ReceivedRequest(method, urllib.parse.unquote(path), query, dict(headers), body, time.time(), raw_url)
        answer = answer_request(self, request)
        return None if answer is None else self.finish(answer, request)
