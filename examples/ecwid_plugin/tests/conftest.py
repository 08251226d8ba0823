"""Shared helpers: drive a flow against the in-memory shop (no socket), and a hand-moved store clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx
import pytest
from ecc_connectors_ecwid import EcwidDriver
from ecc_connectors_ecwid.testing import EcwidShop, route

from ecc_connectors.driver import Flow

T = TypeVar("T")
NOW = 1_760_000_000  # the shop's "now" in these tests (UNIX seconds)


class Clock:
    """A store clock a test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        """The same time as an aware ``datetime``: the fake store's ``clock``."""
        return datetime.fromtimestamp(self.now, timezone.utc)


def answer(shop: EcwidShop, request: httpx.Request) -> httpx.Response:
    """What the shop answers to ``request``, as an httpx response (the driver's auth applied first)."""
    headers = {key.lower(): value for key, value in request.headers.items()}
    body = json.loads(request.content) if request.content else None
    found = route(shop, request.method, request.url.path, dict(request.url.params), body, headers)
    return httpx.Response(found.status, json=found.body, headers=dict(found.headers), request=request)


def drive(flow: Flow[T], shop: EcwidShop, driver: EcwidDriver) -> T:
    """Run a flow to its end, each request answered by ``shop``."""
    auth = driver.auth()
    try:
        request = next(flow)
        while True:
            signed = next(auth.auth_flow(request))
            request = flow.send(answer(shop, signed))
    except StopIteration as done:
        value: T = done.value
        return value


def run_all(flow: Flow[Any], responses: Iterator[httpx.Response]) -> Any:
    """Run a flow against canned responses, in order."""
    try:
        next(flow)
        while True:
            flow.send(next(responses))
    except StopIteration as done:
        return done.value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(clock: Clock) -> EcwidShop:
    return EcwidShop(1003, "secret_unit_token", clock)


@pytest.fixture
def driver(shop: EcwidShop) -> EcwidDriver:
    return EcwidDriver(shop.store_id, shop.token, base_url="http://ecwid.test/api/v3")
