"""The request pipeline of the fake-store base: what ``FakeStore.handle`` does with a request between its
arrival and the answer ``FakeStore.finish`` puts on the wire, in the order the base's module notes list.

These functions are the store's own request path, kept apart from its public knobs: they read and change its
bookkeeping (request log, counters, rate window, pending faults) under the store lock, as the knobs do, and call
the hooks a subclass overrides (``route_path``, ``check_auth``, ``dispatch``, ``error_answer`` ...).
"""

from __future__ import annotations

import collections
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._base_faults import AnswerFaults, Fault, RateWindow, Stats
from ._base_http import Answer, HttpError, ReceivedRequest, Route


class PipelineStore(Protocol):
    """What the pipeline reads and calls of the store (``base.FakeStore``): its bookkeeping, guarded by its
    lock, and the hooks a subclass overrides."""

    _lock: threading.RLock
    _requests: collections.deque[ReceivedRequest]
    _stats: Stats
    _hooks: list[Callable[[ReceivedRequest], None]]
    _window: RateWindow
    _faults: collections.deque[Fault]
    _latency: float
    _answer_faults: AnswerFaults
    _routes: list[Route]
    hook_errors: list[BaseException]

    def route_path(self, request: ReceivedRequest) -> str: ...

    def check_auth(self, request: ReceivedRequest, route: Route) -> None: ...

    def dispatch(self, route: Route, found: re.Match[str], request: ReceivedRequest) -> Any: ...

    def json_answer(self, value: Any, status: int = 200) -> Answer: ...

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer: ...

    def internal_error_answer(self) -> Answer: ...

    def is_write(self, request: ReceivedRequest) -> bool: ...

    def finish(self, answer: Answer, request: ReceivedRequest) -> Answer: ...


__all__ = ["answer_request"]


def answer_request(store: PipelineStore, request: ReceivedRequest) -> Answer | None:
    """Steps 1 to 6 of the base's module notes for one request: its answer before ``store.finish``, or
    ``None`` to drop the connection."""
    with store._lock:
        store._requests.append(request)
        store._stats.requests += 1
        hooks = list(store._hooks)
        refused_for = store._window.admit()
        if refused_for is not None:
            store._stats.throttled += 1
        # A refused request never reaches the store behind the limit: no fault is used up, no latency.
        fault = store._faults.popleft() if store._faults and refused_for is None else None
        latency = store._latency if refused_for is None else 0.0
        if latency:
            store._stats.latency_seconds += latency
        if fault is not None:
            if fault.kind == "drop":
                store._stats.dropped += 1
            else:
                store._stats.injected += 1
    for hook in hooks:
        try:
            hook(request)
        except Exception as exc:  # a hook is a test's check: keep what it said, answer loudly
            with store._lock:
                store.hook_errors.append(exc)
            return store.error_answer(500, "Request hook failed: %1", [str(exc)])
    if refused_for is not None:
        seconds = str(max(1, math.ceil(refused_for)))
        return store.error_answer(
            429, "Too many requests. Try again in %1 seconds.", [seconds], {"Retry-After": seconds}
        )
    if latency:
        _wait(store, latency)
    if fault is not None:
        if fault.kind == "drop":
            return None
        if fault.kind == "429":
            return store.error_answer(429, "Too Many Requests", [], {"Retry-After": str(fault.value)})
        return store.error_answer(
            int(fault.value or 503), "Service temporarily unavailable: fault injected by the test.", []
        )
    try:
        answer = _route(store, request)
    except HttpError as error:
        answer = store.error_answer(error.status, error.message, error.parameters, error.headers)
    return _answer_faults_for(store, request, answer)


def _wait(store: PipelineStore, latency: float) -> None:
    # Sleeping here blocks only this connection's thread, never the other requests.
    with store._lock:
        store._stats.in_flight += 1
        store._stats.peak_in_flight = max(store._stats.peak_in_flight, store._stats.in_flight)
    try:
        time.sleep(latency)
    finally:
        with store._lock:
            store._stats.in_flight -= 1


def _route(store: PipelineStore, request: ReceivedRequest) -> Answer:
    path = store.route_path(request)
    with store._lock:
        routes = list(store._routes)
    for entry in routes:
        if entry.method != request.method:
            continue
        found = entry.pattern.fullmatch(path)
        if found is None:
            continue
        if entry.auth is not None:
            store.check_auth(request, entry)
        result = store.dispatch(entry, found, request)
        return result if isinstance(result, Answer) else store.json_answer(result)
    raise HttpError(404, "Request does not match any route.")


def _answer_faults_for(store: PipelineStore, request: ReceivedRequest, answer: Answer) -> Answer | None:
    """Apply a pending ``lose_write_answers`` or ``short_bodies`` fault to a successful answer."""
    if not 200 <= answer.status < 300:
        return answer
    with store._lock:
        lost = store._answer_faults.take_lost_write() if store.is_write(request) else None
        if lost is not None:
            store._stats.lost_answers += 1
            mode, fraction = lost
            if mode == "drop":
                store._stats.dropped += 1
                return None
            if mode == "500":
                return store.internal_error_answer()
            answer.truncate_to = fraction
            return answer
        short = store._answer_faults.take_short(request.method)
        if short is not None:
            store._stats.truncated += 1
            answer.truncate_to = short.fraction
    return answer
