"""What the command line sees on the wire: request counts, the store's clock, its rate-limit headers, API versions.

The engine owns all I/O and offers no hook for this, but it accepts an ``httpx.Client`` of the caller's
(``Connector(..., client=...)``), and httpx calls a client's event hooks on every request and answer, retries
included. So the command line builds its own client with two hooks and an :class:`Observer` behind them. It keeps
only what it needs and nothing a secret travels in: method, path (never the query string), status, the ``Date``
header, rate-limit headers and API-version headers. Request headers are never read (they carry the credentials).

Clock skew: ``Date`` is written while the store answers and truncated to the second, so each exchange bounds the
offset between the store's clock and ours; :meth:`Observer.clock_skew` intersects the bounds of every answer.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
import httpx

__all__ = ["Exchange", "Observer"]

_SENT = "ecc_cli_sent_at"
_RATE_HEADER = re.compile(r"rate-?limit|call-?limit|retry-after|throttl|api-call|quota", re.IGNORECASE)
_VERSION_HEADER = re.compile(r"api-?version", re.IGNORECASE)
# A path segment that names an API version: V1, v3, 2024-07, 2023_2, NetSuitePort_2023_2.
_VERSION_SEGMENT = re.compile(r"^(?:[vV]\d+(?:\.\d+)*|\d{4}-\d{2}|\d{4}_\d+|\w+Port_\d{4}_\d+)$")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@attrs.frozen
class Exchange:
    """One answer the store gave."""

    method: str
    path: str
    status: int
    sent_at: datetime
    received_at: datetime
    date: datetime | None


class Observer:
    """Collects :class:`Exchange` values from a client's event hooks (thread-safe: the engine sends from worker
    threads)."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.rate_headers: dict[str, str] = {}
        self.version_headers: dict[str, str] = {}
        self.versions: dict[str, None] = {}

    def client(self, timeout: httpx.Timeout) -> httpx.Client:
        """A client that reports to this observer (the caller closes it)."""
        return httpx.Client(timeout=timeout, event_hooks={"request": [self._request], "response": [self._response]})

    def _request(self, request: httpx.Request) -> None:
        request.extensions[_SENT] = self._clock()

    def _response(self, response: httpx.Response) -> None:
        now = self._clock()
        request = response.request
        sent = request.extensions.get(_SENT, now)
        date = _parse_date(response.headers.get("date"))
        path = request.url.path
        with self._lock:
            self.exchanges.append(Exchange(request.method, path, response.status_code, sent, now, date))
            for name, value in response.headers.items():
                if _RATE_HEADER.search(name):
                    self.rate_headers[name.lower()] = value
                elif _VERSION_HEADER.search(name):
                    self.version_headers[name.lower()] = value
            version = _path_version(path)
            if version:
                self.versions.setdefault(version)

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.exchanges)

    def statuses(self) -> dict[int, int]:
        """How many answers had each HTTP status."""
        with self._lock:
            return dict(sorted(Counter(e.status for e in self.exchanges).items()))

    def throttled(self) -> int:
        """Answers that said "slow down" (429)."""
        with self._lock:
            return sum(1 for e in self.exchanges if e.status == 429)

    def clock_skew(self) -> tuple[timedelta, timedelta] | None:
        """How far the store's clock is ahead of ours (negative: behind), and how sure that is (plus or minus);
        ``None`` without a ``Date`` header.

        Each answer bounds the offset: ``Date`` was written between our send and our receipt and is truncated to
        the second, so the offset lies in ``[date - received, date + 1 s - sent]``. The bounds of all answers
        are intersected; an empty intersection (a store whose clock jumped) falls back to the median of the
        midpoints, with the spread of the bounds as the uncertainty.
        """
        with self._lock:
            bounds = [
                ((e.date - e.received_at).total_seconds(), (e.date - e.sent_at).total_seconds() + 1.0)
                for e in self.exchanges
                if e.date is not None
            ]
        if not bounds:
            return None
        low = max(b[0] for b in bounds)
        high = min(b[1] for b in bounds)
        if low > high:
            middle = statistics.median((b[0] + b[1]) / 2 for b in bounds)
            spread = max(b[1] for b in bounds) - min(b[0] for b in bounds)
            return timedelta(seconds=round(middle, 1)), timedelta(seconds=round(spread / 2, 1))
        return timedelta(seconds=round((low + high) / 2, 1)), timedelta(seconds=round((high - low) / 2, 1))

    def api_versions(self) -> list[str]:
        """API versions seen in paths (``/rest/default/V1``) and headers (``x-shopify-api-version: 2024-07``)."""
        with self._lock:
            found = list(self.versions)
            found += [f"{name}: {value}" for name, value in sorted(self.version_headers.items())]
        return found

    def summary(self) -> dict[str, Any]:
        skew = self.clock_skew()
        return {
            "clock_skew_margin_seconds": None if skew is None else skew[1].total_seconds(),
            "requests": self.requests,
            "statuses": {str(k): v for k, v in self.statuses().items()},
            "throttled": self.throttled(),
            "clock_skew_seconds": None if skew is None else skew[0].total_seconds(),
            "rate_limit_headers": dict(sorted(self.rate_headers.items())),
            "api_versions": self.api_versions(),
        }


def _parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _path_version(path: str) -> str | None:
    """The path up to and including its first version-like segment: ``/rest/default/V1``."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if _VERSION_SEGMENT.match(segment):
            return "/".join(segments[: index + 1])
    return None
