"""The driver conformance suite as a pytest plugin (entry point ``ecc_connectors`` in the ``pytest11`` group, so
pytest loads it wherever ecc-connectors is installed).

Subclass :class:`DriverConformance` in a test module, give it the two factories, and every check of
:mod:`ecc_connectors.testing.conformance` runs as a test of your driver::

    from ecc_connectors.testing.pytest_plugin import DriverConformance

    class TestAcmeDriver(DriverConformance):
        store_factory = FakeAcme.started            # () -> a started ConformanceStore
        driver_factory = lambda store: AcmeDriver(store.base_url, api_key="k", page_size=5)

A check the driver declares no capability for is skipped with the reason. The factories may be plain
functions, lambdas, classes or ``staticmethod``s; they are never bound to the test instance.

Fixtures, for tests of your own: ``conformance_store`` (a started store from the class's ``store_factory``, or
from a ``conformance_store_factory`` fixture you define; stopped after the test) and ``conformance_driver`` (the
driver made for it by ``driver_factory`` / a ``conformance_driver_factory`` fixture).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from .._driver import Driver
from .conformance import CHECKS, ConformanceStore, DriverFactory, NotApplicable, StoreFactory

__all__ = ["DriverConformance", "conformance_driver", "conformance_store"]


def _unwrap(owner: type, name: str) -> Any:
    """A factory set as a class attribute, as set: a function is not bound to the instance."""
    value = inspect.getattr_static(owner, name)
    if isinstance(value, staticmethod):
        return value.__func__
    if isinstance(value, classmethod):
        return getattr(owner, name)
    return value


class DriverConformance:
    """Every conformance check as a test. Set ``store_factory`` (makes and starts a fake store implementing
    ``ConformanceStore``) and ``driver_factory`` (makes the driver under test for that store) on a subclass
    named ``Test...``."""

    store_factory: ClassVar[StoreFactory]
    driver_factory: ClassVar[DriverFactory]

    def conformance_factories(self) -> tuple[DriverFactory, StoreFactory]:
        owner = type(self)
        missing = [name for name in ("driver_factory", "store_factory") if not hasattr(owner, name)]
        if missing:
            raise TypeError(f"{owner.__name__} must set {' and '.join(missing)}")
        return _unwrap(owner, "driver_factory"), _unwrap(owner, "store_factory")

    def run_conformance_check(self, name: str) -> None:
        """Run one check of :data:`CHECKS`; a check that does not apply to the driver is skipped."""
        driver_factory, store_factory = self.conformance_factories()
        try:
            CHECKS[name](driver_factory, store_factory)
        except NotApplicable as exc:
            pytest.skip(f"{name}: {exc}")

    def test_capabilities_match_what_is_implemented(self) -> None:
        self.run_conformance_check("capabilities")

    def test_listing_is_complete_under_edits_during_the_download(self) -> None:
        self.run_conformance_check("listing_complete_under_edits")

    def test_a_write_whose_answer_was_lost_is_not_resent_blindly(self) -> None:
        self.run_conformance_check("writes_not_resent_blindly")

    def test_ship_acknowledge_cancel_exactly_once_under_lost_answers(self) -> None:
        self.run_conformance_check("writes_exactly_once")

    def test_money_is_decimal_and_times_are_utc(self) -> None:
        self.run_conformance_check("money_and_times")

    def test_the_ledger_reads_back_the_store_copy_after_a_write(self) -> None:
        self.run_conformance_check("read_back_after_write")

    def test_statuses_round_trip_through_the_policy(self) -> None:
        self.run_conformance_check("statuses_round_trip")


def _factory(request: pytest.FixtureRequest, name: str) -> Any:
    owner = request.cls
    if owner is not None and hasattr(owner, name):
        return _unwrap(owner, name)
    try:
        return request.getfixturevalue(f"conformance_{name}")
    except pytest.FixtureLookupError:
        raise pytest.UsageError(
            f"set {name} on the test class (a DriverConformance subclass) or define a conformance_{name} fixture"
        ) from None


@pytest.fixture
def conformance_store(request: pytest.FixtureRequest) -> Iterator[ConformanceStore]:
    """A started fake store from ``store_factory`` (the class's, or the ``conformance_store_factory``
    fixture), stopped after the test."""
    store: ConformanceStore = _factory(request, "store_factory")()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def conformance_driver(request: pytest.FixtureRequest, conformance_store: ConformanceStore) -> Iterator[Driver]:
    """The driver under test, made by ``driver_factory`` for ``conformance_store``."""
    driver: Driver = _factory(request, "driver_factory")(conformance_store)
    try:
        yield driver
    finally:
        driver.close()
