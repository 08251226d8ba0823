"""The access token and cost-based pacing, as one ``httpx.Auth``.

Theory of operation
-------------------
Shopify's GraphQL Admin API limits a token by query cost, not by request count: a bucket of
``maximumAvailable`` points refilled at ``restoreRate`` points a second; each query is charged its
``requestedQueryCost`` up front (the difference to ``actualQueryCost`` is refunded). Every answer reports the
bucket in ``extensions.cost.throttleStatus``; a query the bucket cannot pay is not run and is answered 200 with
an ``errors`` entry whose ``extensions.code`` is ``THROTTLED``.

A driver does no I/O, but the engine runs the driver's ``auth()`` around every send, retries included, on the
sending thread (or task): that is where pacing can wait without the driver sleeping in a flow. So
:class:`ShopifyAuth` does two things per send:

1. before it, :class:`CostPacer` estimates the bucket now (the last reported level plus the refill since,
   minus what requests in flight were charged) and waits until the query's expected cost (the last requested
   cost seen for the same operation; a default for a first one) fits above a reserve, so the bucket is never
   emptied by this client;
2. it adds ``X-Shopify-Access-Token``, only for the shop's own host (a bulk operation's result URL is on
   another host and must not receive the token), and after the answer it reads ``extensions.cost`` back into
   the pacer.

A ``THROTTLED`` answer still happens when another app spends the same bucket: the driver's ``retry_hint`` turns
it into a wait of exactly the time the bucket needs for the query's cost. The token is held only here; the
``repr`` never shows it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any

import httpx

from ...driver import Secret

__all__ = ["OPERATION_HEADER", "CostPacer", "ShopifyAuth", "cost_of", "throttle_wait", "throttled"]

OPERATION_HEADER = "X-Ecc-Operation"
"""A header the driver puts on each GraphQL request naming its operation, so the pacer can expect its cost."""


def cost_of(body: Any) -> Mapping[str, Any] | None:
    """``extensions.cost`` of a decoded answer, when present and well formed."""
    if not isinstance(body, Mapping):
        return None
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    return cost if isinstance(cost, Mapping) else None


def throttled(body: Any) -> bool:
    """Whether a decoded answer is Shopify's ``THROTTLED`` (the query was not run)."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, Mapping)
        and isinstance(e.get("extensions"), Mapping)
        and e["extensions"].get("code") == "THROTTLED"
        for e in errors
    )


def throttle_wait(cost: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Seconds until the bucket holds the query's requested cost again (``default`` when it cannot be told)."""
    if cost is None:
        return default
    status = cost.get("throttleStatus")
    try:
        requested = float(cost["requestedQueryCost"])
        available = float(status["currentlyAvailable"])  # type: ignore[index]
        rate = float(status["restoreRate"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return default
    if rate <= 0:
        return default
    return max(0.0, (requested - available) / rate) + 0.05


class CostPacer:
    """A thread-safe estimate of the shop's cost bucket (module notes). ``reserve``: the share of the bucket
    left unspent for other clients of the same token; ``default_cost``: expected for an operation not yet seen."""

    def __init__(
        self,
        *,
        reserve: float = 0.1,
        default_cost: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.reserve = reserve
        self.default_cost = default_cost
        self.maximum: float | None = None
        self.rate = 0.0
        self._level = 0.0
        self._at = 0.0
        self._expected: dict[str, float] = {}
        self.waited = 0.0
        self.points_used = 0.0
        self.requests = 0

    def _now_level(self, now: float) -> float:
        if self.maximum is None:
            return float("inf")
        return min(self.maximum, self._level + (now - self._at) * self.rate)

    def take(self, operation: str) -> float:
        """Reserve the operation's expected cost; returns how long to wait first (0: send now)."""
        with self._lock:
            cost = self._expected.get(operation, self.default_cost)
            now = self._clock()
            level = self._now_level(now)
            if self.maximum is None:
                return 0.0
            floor = self.maximum * self.reserve
            cost = min(cost, self.maximum - floor)
            wait = 0.0 if level - cost >= floor else (cost + floor - level) / max(self.rate, 1e-9)
            # Charged now, in the future's refill: concurrent senders see one another's share.
            self._level = level - cost
            self._at = now
            return wait

    def observe(self, operation: str, cost: Mapping[str, Any] | None) -> None:
        """Read ``extensions.cost`` of an answer back into the estimate."""
        if cost is None:
            return
        status = cost.get("throttleStatus")
        with self._lock:
            try:
                requested = float(cost["requestedQueryCost"])
                self._expected[operation] = requested
                actual = cost.get("actualQueryCost")
                if actual is not None:
                    self.points_used += float(actual)
                    self.requests += 1
                if isinstance(status, Mapping):
                    self.maximum = float(status["maximumAvailable"])
                    self.rate = float(status["restoreRate"])
                    self._level = float(status["currentlyAvailable"])
                    self._at = self._clock()
            except (KeyError, TypeError, ValueError):
                return

    def __repr__(self) -> str:
        return f"CostPacer(maximum={self.maximum}, rate={self.rate})"


class ShopifyAuth(httpx.Auth):
    """``X-Shopify-Access-Token`` for the shop's host, and cost pacing around every send (module notes)."""

    requires_response_body = True

    def __init__(self, token: str | Secret, host: str, pacer: CostPacer | None = None) -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.host = host
        self.pacer = pacer or CostPacer()

    def __repr__(self) -> str:
        return f"ShopifyAuth(host={self.host!r}, token=***)"

    def _sign(self, request: httpx.Request) -> str:
        if request.url.host == self.host:
            request.headers["X-Shopify-Access-Token"] = self._token.reveal()
        return str(request.headers.get(OPERATION_HEADER, ""))

    def _read(self, operation: str, response: httpx.Response) -> None:
        if not operation or response.status_code != 200:
            return
        try:
            body = json.loads(response.content)
        except ValueError:
            return
        self.pacer.observe(operation, cost_of(body))

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        operation = self._sign(request)
        if operation:
            wait = self.pacer.take(operation)
            if wait > 0:
                self.pacer.waited += wait
                time.sleep(wait)
        response = yield request
        response.read()
        self._read(operation, response)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        operation = self._sign(request)
        if operation:
            wait = self.pacer.take(operation)
            if wait > 0:
                self.pacer.waited += wait
                await asyncio.sleep(wait)
        response = yield request
        await response.aread()
        self._read(operation, response)
