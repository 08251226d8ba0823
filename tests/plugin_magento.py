"""Pytest fixtures for the magento tests.

``fake_magento`` is a started :class:`FakeMagentoStore` whose every received request is checked against
Adobe's schema (``magento_schema``); an invalid request fails the test at teardown, listing the requests and
what is wrong with them. ``fake_magento_factory(**store_kwargs)`` starts more (or differently seeded) stores
the same way; ``validate=False`` opts a store out (for tests that send invalid requests on purpose).

Without ``shared/`` the stores still run, unchecked (the suite outside CI); under CI a missing spec fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import magento_schema
from ecc_connectors.testing import FakeMagentoStore, ReceivedRequest


@pytest.fixture(scope="session")
def magento_schema_validator() -> magento_schema.MagentoSchema:
    """Adobe's Magento admin schema with ``validate_request`` / ``validate_raw`` / ``request_errors``."""
    return magento_schema.magento_schema()


def _schema_or_none() -> magento_schema.MagentoSchema | None:
    try:
        return magento_schema.magento_schema()
    except pytest.skip.Exception:
        return None


@pytest.fixture
def fake_magento_factory() -> Iterator[Callable[..., FakeMagentoStore]]:
    stores: list[FakeMagentoStore] = []
    problems: list[tuple[ReceivedRequest, list[str]]] = []
    schema = _schema_or_none()

    def check(received: ReceivedRequest) -> None:
        assert schema is not None
        errors = schema.request_errors(
            received.method, received.path, received.query, received.headers, received.body or None
        )
        if errors:
            problems.append((received, errors))

    def make(*, validate: bool = True, **kwargs: Any) -> FakeMagentoStore:
        store = FakeMagentoStore(**kwargs)
        if validate and schema is not None:
            store.on_request(check)
        stores.append(store)
        return store.start()

    yield make
    for store in stores:
        store.stop()
    if problems:
        lines = [f"{len(problems)} request(s) sent to the fake Magento store do not match Adobe's schema:"]
        for received, errors in problems:
            lines.append(f"- {received.method} {received.url}")
            lines.extend(f"    {error}" for error in errors)
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture
def fake_magento(fake_magento_factory: Callable[..., FakeMagentoStore]) -> FakeMagentoStore:
    """A started fake store (seed 1, the default generated orders), every request schema-checked."""
    return fake_magento_factory(seed=1)
