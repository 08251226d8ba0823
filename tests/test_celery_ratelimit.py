"""The per-store rate limit shared in Redis (a token bucket): every process that talks to a store draws from one
bucket, so together they stay under the store's quota; the store's own limiter (a fake with a rate limit) sees
no 429 through it, and does without it. Real Redis, keys under a prefix of this run only."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ecc_connectors.contrib.celery import FleetTransport, RedisTokenBucket
from ecc_connectors.contrib.services import require_redis, unique_name
from ecc_connectors.testing.base import FakeStore, ReceivedRequest


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    run = unique_name("ecc_rate") + ":"
    yield run
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{run}*"):
        client.delete(key)
    client.close()


def bucket(redis_url: str, prefix: str, **kwargs: Any) -> RedisTokenBucket:
    return RedisTokenBucket(redis.Redis.from_url(redis_url), prefix=prefix, **kwargs)


def test_a_burst_goes_at_once_then_tokens_come_at_the_rate(redis_url: str, prefix: str) -> None:
    limiter = bucket(redis_url, prefix)
    waits = [limiter.take("acme", per_second=10, burst=5) for _ in range(8)]
    assert waits[:5] == [0.0] * 5, waits
    # Reserved in order: the 6th waits ~0.1 s, the 7th ~0.2 s, the 8th ~0.3 s (less the time the calls took).
    for n, wait in enumerate(waits[5:], start=1):
        assert 0.1 * n - 0.05 < wait <= 0.1 * n + 0.001, waits
    limiter.close()


def test_stores_have_buckets_of_their_own(redis_url: str, prefix: str) -> None:
    limiter = bucket(redis_url, prefix)
    for _ in range(3):
        limiter.take("acme", per_second=1, burst=3)
    assert limiter.take("acme", per_second=1, burst=3) > 0.5
    assert limiter.take("globex", per_second=1, burst=3) == 0.0
    limiter.close()


_TAKER = """
import sys, time, redis
from ecc_connectors.contrib.celery import RedisTokenBucket
limiter = RedisTokenBucket(redis.Redis.from_url(sys.argv[1]), prefix=sys.argv[2])
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
started = time.monotonic()
for _ in range(int(sys.argv[3])):
    limiter.acquire("shared", per_second=20, burst=5)
print(time.monotonic() - started, flush=True)
"""


def test_two_processes_share_one_quota(redis_url: str, prefix: str) -> None:
    """Two processes take 15 tokens each from one store's bucket (20/s, burst 5): together they need about
    (30 - 5) / 20 = 1.25 s; each alone would have needed 0.5 s."""
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", _TAKER, redis_url, prefix, "15"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for taker in takers:
        assert taker.stdout is not None
        assert taker.stdout.readline().strip() == "ready"
    started = time.monotonic()
    for taker in takers:
        assert taker.stdin is not None
        taker.stdin.write("go\n")
        taker.stdin.flush()
    times = []
    for taker in takers:
        out, _ = taker.communicate(timeout=30)
        times.append(float(out.strip()))
    took = time.monotonic() - started
    assert max(times) >= 1.25 - 0.1, f"two processes drew 30 tokens in {max(times):.2f} s: the quota was not shared"
    assert took < 5


class Limited(FakeStore):
    """A store behind a proxy that admits 10 requests a second (every excess answered 429)."""

    name = "fake-limited"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(rate_limit=10, **kwargs)
        self.route("GET", r"/orders", self.list_orders, auth=None)

    def list_orders(self, request: ReceivedRequest) -> Any:
        return {"orders": []}


def _hammer(url: str, transport_for: Any, threads: int, each: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(transport=transport_for()) as client:
            for _ in range(each):
                status = client.get(f"{url}/orders").status_code
                with lock:
                    statuses.append(status)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return statuses


def test_the_stores_own_limiter_sees_no_excess_through_the_shared_bucket(redis_url: str, prefix: str) -> None:
    """Four clients (each with its own Redis connection, as four processes have) send 8 requests each to a
    store that admits 10 a second: through the bucket (8/s, burst 1) no request is refused; without it, most
    are. The bucket, not luck, keeps them under."""
    with Limited() as store:
        unthrottled = _hammer(store.base_url, httpx.HTTPTransport, threads=4, each=8)
        assert unthrottled.count(429) > 0, "the store's limiter did not bite: the test proves nothing"
        time.sleep(1.1)  # the store's window forgets the burst
        store.clear_requests()

        def throttled() -> FleetTransport:
            return FleetTransport(
                httpx.HTTPTransport(), bucket=bucket(redis_url, prefix), key="limited", per_second=8, burst=1
            )

        started = time.monotonic()
        statuses = _hammer(store.base_url, throttled, threads=4, each=8)
        took = time.monotonic() - started
        assert statuses.count(200) == 32, f"refused through the bucket: {statuses.count(429)} of 32"
        assert took >= (32 - 1) / 8 - 0.2, f"32 requests at 8/s took only {took:.2f} s"


def test_without_redis_requests_go_out_and_a_warning_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    limiter = RedisTokenBucket(down)
    with caplog.at_level("WARNING", logger="ecc_connectors.contrib.celery"):
        assert limiter.acquire("acme", per_second=1, burst=1) == 0.0
        assert limiter.acquire("acme", per_second=1, burst=1) == 0.0
    warnings = [r for r in caplog.records if "not applied" in r.getMessage()]
    assert len(warnings) == 1, "warned once, not at every request"


def test_the_transport_adds_the_syncer_header() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    transport = FleetTransport(httpx.MockTransport(answer), headers={"X-Ecc-Syncer": "host:1 task"})
    with httpx.Client(transport=transport) as client:
        client.send(client.build_request("GET", "http://store.test/orders"))
    assert seen[0].headers["x-ecc-syncer"] == "host:1 task"
    assert transport.waited == 0.0
