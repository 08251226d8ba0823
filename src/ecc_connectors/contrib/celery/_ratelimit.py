"""A store's API quota shared by every process that talks to the store: a token bucket in Redis.

Theory of operation:

* **The quota is per store, not per process.** Four workers and a web app talking to one store must together
  stay under its quota; a limit inside each process would allow five times too much. So the bucket lives in
  Redis under ``<prefix><store>``, and every request to the store takes a token from it first.
* **One round trip, one atomic script.** A Lua script refills the bucket for the time elapsed (``per_second``
  tokens a second, at most ``burst``) and *reserves* one token, letting the count go below zero when the bucket
  is empty; it returns how long the caller must wait for its token (``-tokens / per_second``). The caller sleeps
  that long and sends: no polling, and callers are served in the order they asked.
* **Redis's clock, not the callers'.** The script reads ``TIME`` on the Redis server, so workers on machines
  with skewed clocks share one timeline.
* **Idle buckets vanish** (a key expiry of the time to refill plus a second), so ten thousand stores cost
  nothing while they sleep.
* **Redis down is not an outage.** If Redis does not answer, the request goes out unthrottled and a warning is
  logged (once a minute): the store's own 429 answers and the SDK's retry rules still protect it.

:class:`FleetTransport` wraps an ``httpx`` transport with the bucket (and, for tests and audits, a header
naming the syncer), so a :class:`~ecc_connectors.Connector` built with ``httpx.Client(transport=...)`` is
throttled without the driver knowing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import httpx
import redis

__all__ = ["FleetTransport", "RedisTokenBucket"]

logger = logging.getLogger("ecc_connectors.contrib.celery")

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
if tokens >= 0 then
  return '0'
end
return tostring(-tokens / rate)
"""


class RedisTokenBucket:
    """Token buckets in Redis, one per key (a store): :meth:`take` reserves a token and returns the seconds to
    wait for it; :meth:`acquire` waits them out."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "ecc:rate:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._sleep = sleep
        self._script = client.register_script(_TAKE)
        self._warned_at = 0.0

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisTokenBucket:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, **kwargs)  # type: ignore[arg-type]

    def take(self, key: str, per_second: float, burst: int) -> float:
        """Reserve one token of ``key``'s bucket; the seconds until it is ours (0 when at once)."""
        answer = self._script(keys=[self._prefix + key], args=[repr(float(per_second)), str(int(burst))])
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return max(0.0, float(text))

    def acquire(self, key: str, per_second: float, burst: int) -> float:
        """Wait for one token of ``key``'s bucket; returns how long it waited. Without Redis, returns at once
        (logged): the store's own limits and the SDK's retries still apply."""
        try:
            wait = self.take(key, per_second, burst)
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                logger.warning("rate limit for %s not applied: Redis did not answer (%s)", key, type(exc).__name__)
            return 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def close(self) -> None:
        self._client.close()


class FleetTransport(httpx.BaseTransport):
    """An ``httpx`` transport that takes a token of the store's shared bucket before each request, and adds
    ``headers`` (for instance ``X-Ecc-Syncer``, naming the worker, when the registry asks for it)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        bucket: RedisTokenBucket | None = None,
        key: str = "",
        per_second: float = 0.0,
        burst: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._inner = inner
        self._bucket = bucket
        self._key = key
        self._per_second = per_second
        self._burst = burst
        self._headers = dict(headers or {})
        self.waited = 0.0
        """Seconds spent waiting for tokens, in total (for reports and tests)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._bucket is not None and self._per_second > 0:
            self.waited += self._bucket.acquire(self._key, self._per_second, self._burst)
        for name, value in self._headers.items():
            request.headers[name] = value
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
