"""Bookkeeping of the fake-store base (``base.FakeStore``): pending faults, the sliding-window rate limit, the
server's counters, and changes scheduled against listing requests.

Nothing here does I/O or knows a store's dialect; the store owns one of each and touches them only under its
lock. The public knobs that feed them are methods of ``FakeStore``, documented there.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Literal

import attrs

__all__ = [
    "AnswerFaults",
    "Fault",
    "ListingHook",
    "ListingSchedule",
    "LostAnswerMode",
    "RateWindow",
    "ShortBody",
    "Stats",
    "Stoppable",
    "Trigger",
    "checked_rate",
]

LostAnswerMode = Literal["500", "drop", "short"]
"""How a write's answer is lost after the store applied it: an HTTP 500, a closed connection, a cut body."""


@attrs.frozen
class Fault:
    """A fault drawn by the next admitted request: ``429`` (``value``: its Retry-After), ``5xx`` (``value``: the
    status), or ``drop`` (the connection is closed without an answer)."""

    kind: Literal["429", "5xx", "drop"]
    value: float | str | int | None = None


@attrs.frozen
class ShortBody:
    methods: frozenset[str]
    fraction: float


@attrs.define
class AnswerFaults:
    """Pending answer-level faults, each used up by one answer (FIFO within its kind)."""

    short: list[ShortBody] = attrs.field(factory=list)
    lost_writes: list[tuple[LostAnswerMode, float]] = attrs.field(factory=list)

    def take_short(self, method: str) -> ShortBody | None:
        for index, fault in enumerate(self.short):
            if method in fault.methods:
                return self.short.pop(index)
        return None

    def take_lost_write(self) -> tuple[LostAnswerMode, float] | None:
        return self.lost_writes.pop(0) if self.lost_writes else None

    def clear(self) -> None:
        self.short.clear()
        self.lost_writes.clear()


@attrs.define
class Stats:
    requests: int = 0
    latency_seconds: float = 0.0
    dropped: int = 0
    injected: int = 0
    throttled: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    truncated: int = 0
    lost_answers: int = 0

    def snapshot(self, listing_requests: int) -> dict[str, float]:
        return {
            "requests": self.requests,
            "throttled": self.throttled,
            "injected": self.injected,
            "dropped": self.dropped,
            "truncated": self.truncated,
            "lost_answers": self.lost_answers,
            "listing_requests": listing_requests,
            "latency_seconds": self.latency_seconds,
            "peak_in_flight": self.peak_in_flight,
        }


def checked_rate(per_second: float | None) -> float | None:
    if per_second is None:
        return None
    if per_second <= 0:
        raise ValueError("rate_limit must be positive (None: no limit)")
    return float(per_second)


class RateWindow:
    """A sliding-window limit, the way a proxy in front of a store counts: ``n = max(1, floor(rate))`` requests
    admitted in any ``n / rate`` seconds (one second for a whole-number rate). Not thread-safe on its own: the
    store calls it under its lock."""

    def __init__(self, rate: float | None, monotonic: Callable[[], float]) -> None:
        self._rate = checked_rate(rate)
        self._monotonic = monotonic
        self._admitted: collections.deque[float] = collections.deque()

    @property
    def rate(self) -> float | None:
        return self._rate

    @rate.setter
    def rate(self, per_second: float | None) -> None:
        self._rate = checked_rate(per_second)

    def admit(self) -> float | None:
        """``None`` when a request may pass now (and it takes a place), else the seconds until one frees. A
        refused request takes no place."""
        rate = self._rate
        if rate is None:
            return None
        places = max(1, int(rate))
        span = places / rate
        now = self._monotonic()
        admitted = self._admitted
        while admitted and now - admitted[0] >= span:
            admitted.popleft()
        if len(admitted) >= places:
            return span - (now - admitted[-places])
        admitted.append(now)
        return None


@attrs.define
class Trigger:
    """Runs ``action(n)`` before listing request number ``n`` (absolute, 1-based) is answered, when
    ``due(n)``; a ``once`` trigger is dropped after it ran, any trigger once ``finished()`` says so."""

    due: Callable[[int], bool]
    action: Callable[[int], object]
    once: bool
    finished: Callable[[], bool] = lambda: False


@attrs.define
class ListingSchedule:
    """Listing requests seen, and the triggers waiting on them."""

    seen: int = 0
    triggers: list[Trigger] = attrs.field(factory=list)

    def add(self, trigger: Trigger) -> None:
        self.triggers.append(trigger)

    def advance(self) -> list[Trigger]:
        """Count one more listing request; the triggers due for it, in the order they were added."""
        self.seen += 1
        due = [t for t in self.triggers if not t.finished() and t.due(self.seen)]
        spent = {id(t) for t in due if t.once}
        self.triggers = [t for t in self.triggers if id(t) not in spent and not t.finished()]
        return due

    def clear(self) -> None:
        self.triggers.clear()

    def add_hook(self, callback: Callable[[int], object], lock: threading.RLock) -> ListingHook:
        """Call ``callback(n)`` before every listing from now on (``n`` counted from now) until the returned
        hook is stopped."""
        hook = ListingHook(lock)
        base = self.seen

        def call(n: int) -> None:
            hook.called()
            callback(n - base)

        self.add(Trigger(lambda n: True, call, once=False, finished=_HookFinished(hook)))
        return hook

    def stop_hooks(self) -> None:
        """Stop every hook set with :meth:`add_hook` (other triggers stay)."""
        for trigger in self.triggers:
            if isinstance(trigger.finished, _HookFinished):
                trigger.finished.hook.stop()
        self.triggers = [t for t in self.triggers if not isinstance(t.finished, _HookFinished)]


class Stoppable:
    """A handle on something a store keeps doing until told otherwise (a listing hook, a churn): ``stop()``,
    and ``stopped``, read and set under the store's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._stopped = False

    @property
    def stopped(self) -> bool:
        with self._lock:
            return self._stopped

    def stop(self) -> None:
        """Nothing more from this handle (what it did so far stays)."""
        with self._lock:
            self._stopped = True


class ListingHook(Stoppable):
    """Handle on a callback set with ``FakeStore.on_listing``: ``calls`` so far, and ``stop()``."""

    def __init__(self, lock: threading.RLock) -> None:
        super().__init__(lock)
        self._calls = 0

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    def called(self) -> None:
        self._calls += 1

    def __repr__(self) -> str:
        return f"<ListingHook calls={self._calls} stopped={self._stopped}>"


@attrs.frozen
class _HookFinished:
    """``Trigger.finished`` of a hook (so ``stop_hooks`` can find them)."""

    hook: ListingHook

    def __call__(self) -> bool:
        return self.hook.stopped
