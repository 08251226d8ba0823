"""Pytest fixtures for the engine tests (I/O interpreters, ledger, engine)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ecc_connectors import (
    Acknowledgement,
    DownloadRange,
    Incremental,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.ledger import SQLiteLedger
from fakedriver import FakeStore, make_order

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sleeps(list[float]):
    """A fake ``sleep`` that records the waits it was asked for (sync and async)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


def make_policy(**changes: Any) -> SyncPolicy:
    """Processing: download, already paid. Pending: download, unpaid. Complete: not selected."""
    base = SyncPolicy(
        statuses=StatusMapping(
            (
                StatusRule("processing", download=True, process_payment=False, process_shipping=True),
                StatusRule("pending", download=True, process_payment=True, process_shipping=True),
                StatusRule("complete", download=False),
            )
        ),
        range=DownloadRange(start=datetime(2024, 1, 1, tzinfo=timezone.utc)),
        unselected=Unselected.SKIP,
        acknowledgement=Acknowledgement(status="acknowledged"),
        incremental=Incremental(lookback=timedelta(minutes=5)),
    )
    import attrs

    return attrs.evolve(base, **changes)


def standard_orders(count: int = 14) -> list[dict[str, Any]]:
    """``count`` orders an hour apart; every fifth is complete (unselected), every seventh pending."""
    orders = []
    for n in range(1, count + 1):
        status = "complete" if n % 5 == 0 else "pending" if n % 7 == 0 else "processing"
        orders.append(make_order(n, updated=T0 + timedelta(hours=n), status=status))
    return orders


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy() -> SyncPolicy:
    return make_policy()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(standard_orders())


@pytest.fixture
def ledger() -> Iterator[SQLiteLedger]:
    with SQLiteLedger() as opened:
        yield opened
