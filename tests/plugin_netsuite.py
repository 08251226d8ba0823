"""Fixtures for the netsuite tests: the fake SuiteTalk endpoint, drivers pointed at it, a flow runner."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from ecc_connectors import FollowCursor, Order, OrderQuery, PayloadError
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk

T = TypeVar("T")
Runner = Callable[..., Any]

VERSION_IN_URN = re.compile(r"_(20\d\d_\d)\.")


def rewrite_to_2023_2(text: str) -> str:
    """Fixtures come from older endpoints (2011_2 .. 2021_2): move their namespaces to 2023_2."""
    return VERSION_IN_URN.sub("_2023_2.", text)


def run_flow(flow: Any, client: httpx.Client, auth: httpx.Auth | None) -> Any:
    """The smallest flow runner: each request sent once, with the driver's auth."""
    try:
        request = next(flow)
        while True:
            request = flow.send(client.send(request, auth=auth) if auth else client.send(request))
    except StopIteration as stop:
        return stop.value


def collect_orders(run: Runner, driver: NetSuiteDriver, query: OrderQuery) -> tuple[list[Order], int]:
    """Every order of a download, following the cursor; also the number of pages read."""
    page = run(driver.first_page(query))
    pages = 1
    orders = list(page.orders)
    while page.next is not None:
        assert isinstance(page.next, FollowCursor)
        page = run(page.next.fetch())
        pages += 1
        orders += page.orders
    bad = [o for o in orders if isinstance(o, PayloadError)]
    assert not bad, bad
    return [o for o in orders if isinstance(o, Order)], pages


@pytest.fixture
def fake_suitetalk() -> Iterator[FakeSuiteTalk]:
    with FakeSuiteTalk() as fake:
        yield fake


@pytest.fixture
def ns_driver(fake_suitetalk: FakeSuiteTalk) -> NetSuiteDriver:
    return NetSuiteDriver(fake_suitetalk.credentials, NetSuiteSettings(endpoint=fake_suitetalk.url, page_size=5))


@pytest.fixture
def ns_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def ns_run(ns_driver: NetSuiteDriver, ns_client: httpx.Client) -> Runner:
    def run(flow: Any) -> Any:
        return run_flow(flow, ns_client, ns_driver.auth())

    return run


@pytest.fixture(scope="session")
def oracle_wsdl_path() -> Path:
    """Oracle's full 2023_2 WSDL under shared/ (skips outside CI when shared/ is absent)."""
    from _shared import shared_path

    return shared_path("specs", "netsuite", "2023_2", "netsuite.wsdl")


@pytest.fixture(scope="session")
def netsuite_fixtures_dir() -> Path:
    from _shared import shared_path

    return shared_path("fixtures", "netsuite")
