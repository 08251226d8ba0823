"""The fake-store base (``ecc_connectors.testing.base``) on its own, through a tiny store built on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from _shared import in_threads
from ecc_connectors.testing.base import Answer, FakeStore, HttpError, ReceivedRequest, Route

KEY = "secret-key"


class FakeAcme(FakeStore):
    """Orders by id, a listing that counts as one, writes that apply, an anonymous health route."""

    name = "fake-acme"
    description = "fake Acme store"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(auth=lambda r: r.headers.get("x-api-key") == KEY, **kwargs)
        self.orders: dict[int, dict[str, Any]] = {i: {"id": i, "status": "new", "notes": []} for i in (1, 2, 3)}
        self.route("GET", r"/orders", self.list_orders)
        self.route("GET", r"/orders/(\d+)", self.get_order)
        self.route("POST", r"/orders/(\d+)/notes", self.add_note)
        self.route("GET", r"/health", lambda request: {"ok": True}, auth=None)
        self.route("GET", r"/boom", self.boom)
        self.route("GET", r"/text", lambda request: Answer(200, b"plain", content_type="text/plain"))

    def list_orders(self, request: ReceivedRequest) -> Any:
        with self.lock:
            failed = self.listing_request()
            if failed is not None:
                return failed
            return {"orders": sorted(self.orders.values(), key=lambda o: o["id"])}

    def get_order(self, request: ReceivedRequest, order_id: str) -> Any:
        with self.lock:
            if int(order_id) not in self.orders:
                raise HttpError(404, "no order %1", [order_id])
            return self.orders[int(order_id)]

    def add_note(self, request: ReceivedRequest, order_id: str) -> Any:
        with self.lock:
            self.orders[int(order_id)]["notes"].append(request.json()["text"])
            return {"saved": True, "padding": "x" * 40}

    def boom(self, request: ReceivedRequest) -> Any:
        raise ZeroDivisionError("a bug in the fake")


@pytest.fixture
def store() -> Iterator[FakeAcme]:
    with FakeAcme() as started:
        yield started


@pytest.fixture
def client(store: FakeAcme) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=store.base_url, headers={"x-api-key": KEY}, timeout=10) as c:
        yield c


def test_routes_auth_and_errors(store: FakeAcme, client: httpx.Client) -> None:
    assert store.base_url.startswith("http://127.0.0.1:")
    assert client.get("/orders/2").json()["id"] == 2
    missing = client.get("/orders/9")
    assert (missing.status_code, missing.json()) == (404, {"message": "no order %1", "parameters": ["9"]})
    assert client.get("/nowhere").status_code == 404
    assert client.post("/orders").status_code == 404  # no route for that method
    assert httpx.get(f"{store.base_url}/orders").status_code == 401
    assert httpx.get(f"{store.base_url}/health").json() == {"ok": True}  # anonymous route
    crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert "ZeroDivisionError: a bug in the fake" in crashed.text
    text = client.get("/text")
    assert (text.headers["content-type"], text.content) == ("text/plain", b"plain")
    assert [r.method for r in store.routes] == ["GET", "GET", "POST", "GET", "GET", "GET"]
    assert isinstance(store.routes[0], Route)


def test_request_log_is_bounded_and_hooks_see_every_request() -> None:
    seen: list[ReceivedRequest] = []
    with FakeAcme(request_log_size=3) as store, httpx.Client(base_url=store.base_url) as c:
        store.on_request(seen.append)
        for _ in range(5):
            c.get("/health", params={"a": "1", "b": "x y"})
        assert len(store.requests) == 3
        assert store.request_count == 5
        assert len(seen) == 5
        last = store.requests[-1]
        assert (last.method, last.path, last.query) == ("GET", "/health", (("a", "1"), ("b", "x y")))
        assert last.param("b") == "x y"
        assert last.raw_url == f"{store.base_url}/health?a=1&b=x+y"
        store.clear_requests()
        assert store.requests == []

        def failing(_: ReceivedRequest) -> None:
            raise ValueError("the check said no")

        store.on_request(failing)
        refused = c.get("/health")
        assert (refused.status_code, refused.json()["parameters"]) == (500, ["the check said no"])
        assert [str(e) for e in store.hook_errors] == ["the check said no"]
        store.clear_hooks()
        assert c.get("/health").status_code == 200


def test_injected_faults(store: FakeAcme, client: httpx.Client) -> None:
    store.inject_429(1, retry_after=4)
    store.inject_5xx(1, status=502)
    limited = client.get("/orders")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "4")
    assert client.get("/orders").status_code == 502
    store.drop_connections(1)
    with pytest.raises(httpx.TransportError):
        client.get("/orders")
    assert client.get("/orders").status_code == 200
    assert store.dropped_connections == 1
    assert store.stats["injected"] == 2
    store.inject_5xx(3)
    store.clear_faults()
    assert client.get("/orders").status_code == 200


def test_short_bodies_and_lost_write_answers(store: FakeAcme, client: httpx.Client) -> None:
    whole = client.get("/orders").content
    store.short_bodies(1, fraction=0.5)
    cut = client.get("/orders")
    assert cut.status_code == 200
    assert cut.content == whole[: len(whole) // 2]
    assert int(cut.headers["content-length"]) == len(cut.content)
    store.lose_write_answers(1, mode="500")
    assert client.post("/orders/1/notes", json={"text": "a"}).status_code == 500
    store.lose_write_answers(1, mode="drop")
    with pytest.raises(httpx.TransportError):
        client.post("/orders/1/notes", json={"text": "b"})
    store.lose_write_answers(1, mode="short")
    short = client.post("/orders/1/notes", json={"text": "c"})
    assert short.status_code == 200
    with pytest.raises(ValueError, match=r"."):
        short.json()
    assert store.orders[1]["notes"] == ["a", "b", "c"]  # every write was applied
    assert store.stats["lost_answers"] == 3
    # A refused write uses none up; reads never do.
    store.lose_write_answers(1)
    assert client.get("/orders/1").status_code == 200
    assert client.post("/orders/9/notes", json={"text": "d"}).status_code == 500  # the handler's own crash
    assert client.post("/orders/2/notes", json={"text": "e"}).status_code == 500
    with pytest.raises(ValueError, match="unknown mode"):
        store.lose_write_answers(1, mode="lost")  # type: ignore[arg-type]


def test_latency_does_not_serialise_connections(store: FakeAcme) -> None:
    store.latency = 0.2

    def fetch() -> None:
        httpx.get(f"{store.base_url}/health", timeout=5).raise_for_status()

    assert in_threads(fetch, 4) == []
    assert store.latency_applied == pytest.approx(0.8)
    assert store.peak_concurrent_latency >= 2


def test_sliding_window_rate_limit() -> None:
    now = [10.0]
    with FakeAcme(rate_limit=2, monotonic=lambda: now[0]) as store, httpx.Client(base_url=store.base_url) as c:
        assert [c.get("/health").status_code for _ in range(3)] == [200, 200, 429]
        refused = c.get("/health")
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
        now[0] = 11.0
        assert c.get("/health").status_code == 200
        assert store.throttled == 2
        store.rate_limit = None
        assert [c.get("/health").status_code for _ in range(5)] == [200] * 5
        with pytest.raises(ValueError, match="positive"):
            store.rate_limit = -1


def test_date_header_is_the_store_clock() -> None:
    behind = datetime(2020, 5, 17, 12, 30, tzinfo=timezone.utc)
    with FakeAcme(clock=lambda: behind) as store:
        response = httpx.get(f"{store.base_url}/health")
        assert response.headers.get_list("date") == ["Sun, 17 May 2020 12:30:00 GMT"]
        assert parsedate_to_datetime(response.headers["date"]) == behind
        store.set_clock(lambda: behind + timedelta(hours=1))
        assert store.now() == behind + timedelta(hours=1)
        assert httpx.get(f"{store.base_url}/health").headers["date"] == "Sun, 17 May 2020 13:30:00 GMT"


def test_listing_hooks_and_schedule(store: FakeAcme, client: httpx.Client) -> None:
    seen: list[int] = []
    hook = store.on_listing(seen.append)
    assert hook is not None

    def add_order(s: FakeAcme) -> None:
        s.orders[4] = {"id": 4, "status": "new", "notes": []}

    store.schedule(1, add_order)
    assert len(client.get("/orders").json()["orders"]) == 3
    assert len(client.get("/orders").json()["orders"]) == 4  # changed before the second listing was computed
    client.get("/orders/1")  # not a listing
    assert seen == [1, 2]
    assert (hook.calls, store.listing_requests) == (2, 2)
    hook.stop()
    client.get("/orders")
    assert seen == [1, 2]
    store.on_listing(lambda n: seen.append(10 + n))
    store.on_listing(lambda n: seen.append(20 + n))
    client.get("/orders")
    store.on_listing(None)
    client.get("/orders")
    assert seen == [1, 2, 11, 21]

    def broken(n: int) -> None:
        raise RuntimeError("scheduled change failed")

    store.on_listing(broken)
    failed = client.get("/orders")
    assert failed.status_code == 500
    assert "scheduled change failed" in failed.text
    assert any("scheduled change failed" in str(e) for e in store.hook_errors)


def test_stop_hangs_up_and_restarts_are_refused_cleanly() -> None:
    store = FakeAcme()
    with pytest.raises(RuntimeError, match="fake Acme store is not running"):
        _ = store.base_url
    store.start()
    assert store.start() is store
    assert store.running
    with httpx.Client(base_url=store.base_url) as c:
        assert c.get("/health").status_code == 200
        store.stop()
        assert not store.running
        with pytest.raises(httpx.TransportError):
            c.get("/health")
    store.stop()  # a no-op
    assert re.fullmatch(r"<FakeAcme stopped>", repr(store))
