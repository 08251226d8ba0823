"""The driver conformance suite against the Magento driver and the fake Magento store, and proof that each check
can fail: for every check, a deliberately broken Magento driver that it catches."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from datetime import timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from ecc_connectors import (
    Capability,
    Driver,
    Flow,
    Order,
    OrderQuery,
    Page,
    PayloadError,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreStatus,
    WriteResult,
    mark_idempotent,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.testing import MagentoConformanceStore
from ecc_connectors.testing.conformance import (
    ACK_COMMENT,
    CHECKS,
    NotApplicable,
    check_capabilities,
    check_listing_complete_under_edits,
    check_money_and_times,
    check_read_back_after_write,
    check_statuses_round_trip,
    check_writes_exactly_once,
    check_writes_not_resent_blindly,
    run_checks,
)
from ecc_connectors.testing.pytest_plugin import DriverConformance

pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers and dropped connections are the point


def magento_store() -> MagentoConformanceStore:
    return MagentoConformanceStore(seed=3)


def factory_for(driver_class: type[Magento2Driver]) -> Any:
    def make(store: MagentoConformanceStore) -> Magento2Driver:
        return driver_class(store.base_url, auth=BearerToken(store.token), page_size=5)

    return make


class TestMagento2Conformance(DriverConformance):
    """The built-in driver passes every check (this is the class a plugin author writes for theirs)."""

    store_factory = staticmethod(magento_store)
    driver_factory = factory_for(Magento2Driver)


# ---------------------------------------------------------------------------------------------------------
# Broken drivers, one (or two) per check


class DeclaresInvoiceWithoutIt(Magento2Driver):
    """Declares every capability, but invoicing is the Driver default (it raises CapabilityNotSupported)."""

    invoice = Driver.invoice  # type: ignore[assignment]


class CancelsWithoutDeclaring(Magento2Driver):
    """Leaves CANCEL out of its capabilities, but its cancel() still posts."""

    capabilities = frozenset(Capability) - {Capability.CANCEL}


class RefusesAfterLooking(Magento2Driver):
    """Does not declare CANCEL, lets the engine past its check, and reads the order before refusing."""

    capabilities = frozenset(Capability) - {Capability.CANCEL}

    def require(self, capability: Capability) -> None:
        pass

    def cancel(self, request: Any) -> Flow[WriteResult | None]:
        yield self._get(f"/V1/orders/{request.order_id}")
        return self._unsupported(Capability.CANCEL)  # type: ignore[no-any-return]


class OffsetPages(Magento2Driver):
    """Lists with offset pages (currentPage) and nothing to verify them with: no keyset, no key listing."""

    capabilities = frozenset(Capability) - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}
    seek_page = Driver.seek_page  # type: ignore[assignment]
    probe = Driver.probe  # type: ignore[assignment]
    list_keys = Driver.list_keys  # type: ignore[assignment]


class PagesOffByOne(Magento2Driver):
    """Answers page n + 1 when asked for page n by number."""

    def listing_page(self, query: OrderQuery, number: int, size: int) -> Flow[Page]:
        return super().listing_page(query, number + 1, size)


class IgnoresBefore(Magento2Driver):
    """Drops ``Seek.before``: the slices between pages read by number run on to the window's end."""

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        return super().seek_page(query, Seek(seek.after, seek.through), size)


class ResendsWritesBlindly(Magento2Driver):
    """Marks every write safe to resend, so the engine sends it again after a dropped connection."""

    def _send_json(self, method: str, path: str, body: Any = None) -> httpx.Request:
        return mark_idempotent(super()._send_json(method, path, body))


class PostsStatusWithoutLooking(Magento2Driver):
    """set_status posts its comment without looking for one an earlier attempt made."""

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        yield from self._comment(change.order_id, change.comment, status=change.status, notify=change.notify)
        return WriteResult()


class ShipsWithoutLooking(Magento2Driver):
    """ship posts the shipment without looking for one an earlier attempt made."""

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        tracks = [
            {"track_number": t.number, "title": t.title, "carrier_code": t.carrier_code} for t in request.tracking
        ]
        body = {"notify": request.notify, "tracks": tracks}
        response = yield self._send_json("POST", f"/V1/order/{request.order_id}/ship", body)
        return ShipmentResult(str(self._answer(response, request.order_id)))


def _spoil(order: Order | PayloadError, how: str) -> Order | PayloadError:
    """Bypass the model's validators, as a driver building orders by hand could."""
    if not isinstance(order, Order):
        return order
    if how == "float":
        totals = attrs.evolve(order.totals)
        object.__setattr__(totals, "grand_total", float(totals.grand_total))
        object.__setattr__(order, "totals", totals)
    else:
        object.__setattr__(order, "updated_at", order.updated_at.astimezone(timezone.utc).replace(tzinfo=None))
    return order


class FloatMoney(Magento2Driver):
    """Hands out grand totals as floats."""

    spoil = "float"

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        page = yield from super().seek_page(query, seek, size)
        return attrs.evolve(page, orders=tuple(_spoil(o, self.spoil) for o in page.orders))


class NaiveTimes(FloatMoney):
    """Hands out update stamps without a time zone."""

    spoil = "naive"


class ThinReadBack(Magento2Driver):
    """get_order leaves the status history out (a thinner read than the listing's)."""

    def get_order(self, order_id: str) -> Flow[Order]:
        order = yield from super().get_order(order_id)
        return attrs.evolve(order, notes=())


class StatusLabels(Magento2Driver):
    """list_statuses gives the labels ("Pending") where orders carry codes ("pending")."""

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        statuses = yield from super().list_statuses()
        return tuple(StoreStatus(s.label, s.label, s.state) for s in statuses)


BROKEN = [
    pytest.param(
        check_capabilities,
        DeclaresInvoiceWithoutIt,
        "declares INVOICE but does not implement invoice",
        id="capabilities-declared-not-implemented",
    ),
    pytest.param(
        check_capabilities,
        CancelsWithoutDeclaring,
        "CANCEL is not declared, but cancel\\(\\) is overridden",
        id="capabilities-implemented-not-declared",
    ),
    pytest.param(
        check_capabilities,
        RefusesAfterLooking,
        "sent 1 request\\(s\\) before refusing",
        id="capabilities-io-before-refusing",
    ),
    pytest.param(
        check_listing_complete_under_edits, OffsetPages, "never changed were not downloaded", id="listing-offset-pages"
    ),
    pytest.param(
        check_listing_complete_under_edits, PagesOffByOne, r"listing_page\(1\) holds", id="listing-page-number"
    ),
    pytest.param(
        check_listing_complete_under_edits, IgnoresBefore, r"Seek\(after=.*, before=.*\) gave", id="listing-before"
    ),
    pytest.param(
        check_writes_not_resent_blindly,
        ResendsWritesBlindly,
        "was sent 2 times in one call",
        id="writes-resent-blindly",
    ),
    pytest.param(
        check_writes_exactly_once,
        PostsStatusWithoutLooking,
        f"acknowledge .* 2 x comment '{ACK_COMMENT}'",
        id="exactly-once-set-status",
    ),
    pytest.param(
        check_writes_exactly_once,
        ShipsWithoutLooking,
        "ship after a lost answer .* still failed",
        id="exactly-once-ship",
    ),
    pytest.param(check_money_and_times, FloatMoney, "totals.grand_total is a float", id="money-floats"),
    pytest.param(check_money_and_times, NaiveTimes, "updated_at is naive", id="times-naive"),
    pytest.param(
        check_read_back_after_write, ThinReadBack, "shows an Update for our own change", id="read-back-thin-get-order"
    ),
    pytest.param(
        check_statuses_round_trip,
        StatusLabels,
        r"status 'pending' .* which list_statuses\(\) does not",
        id="statuses-labels-as-codes",
    ),
]


@pytest.mark.parametrize(("check", "driver_class", "message"), BROKEN)
def test_each_check_catches_its_broken_driver(check: Any, driver_class: type[Magento2Driver], message: str) -> None:
    with pytest.raises(AssertionError, match=message) as caught:
        check(factory_for(driver_class), magento_store)
    assert driver_class.__name__ in str(caught.value)  # the message names the driver


def test_every_check_has_a_broken_driver() -> None:
    covered = {param.values[0] for param in BROKEN}
    assert covered == set(CHECKS.values())


class ReadOnly(Magento2Driver):
    """Lists and reads only: every write capability left out, and its flow left to the Driver default."""

    capabilities = frozenset(
        {
            Capability.LIST_STATUSES,
            Capability.LIST_ORDERS,
            Capability.GET_ORDER,
            Capability.GET_ORDERS,
            Capability.SEEK_ORDERS,
            Capability.LIST_KEYS,
        }
    )
    ship = Driver.ship  # type: ignore[assignment]
    set_status = Driver.set_status  # type: ignore[assignment]
    cancel = Driver.cancel  # type: ignore[assignment]
    invoice = Driver.invoice  # type: ignore[assignment]
    search_items = Driver.search_items  # type: ignore[assignment]
    create_order = Driver.create_order  # type: ignore[assignment]
    reserve_order = Driver.reserve_order  # type: ignore[assignment]


def test_a_read_only_driver_conforms_and_the_write_checks_do_not_apply() -> None:
    outcomes = run_checks(factory_for(ReadOnly), magento_store)
    assert outcomes["capabilities"] == "passed"  # undeclared writes are refused before any request
    assert outcomes["listing_complete_under_edits"] == "passed"
    assert outcomes["money_and_times"] == "passed"
    assert outcomes["statuses_round_trip"] == "passed"
    for name in ("writes_not_resent_blindly", "writes_exactly_once", "read_back_after_write"):
        assert outcomes[name].startswith("not applicable:"), outcomes[name]
    with pytest.raises(NotApplicable):
        check_writes_exactly_once(factory_for(ReadOnly), magento_store)


def test_run_checks_reports_failures_without_raising() -> None:
    outcomes = run_checks(factory_for(StatusLabels), magento_store, ["capabilities", "statuses_round_trip"])
    assert outcomes["capabilities"] == "passed"
    assert outcomes["statuses_round_trip"].startswith("failed: StatusLabels")


def test_a_store_that_is_not_a_conformance_store_is_named() -> None:
    class NotAStore:
        def stop(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"not a ConformanceStore.*order_ids"):
        check_capabilities(factory_for(Magento2Driver), NotAStore)  # type: ignore[arg-type]


def test_the_pytest_plugin_gives_a_plugin_author_every_check_as_a_test(tmp_path: Path) -> None:
    """In a project of its own (no conftest, no import of the plugin module by hand): the plugin is found
    through its pytest11 entry point, its fixtures work, and a DriverConformance subclass runs every check."""
    (tmp_path / "test_acme.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
            from ecc_connectors.testing import MagentoConformanceStore
            from ecc_connectors.testing.pytest_plugin import DriverConformance


            class TestAcme(DriverConformance):
                store_factory = MagentoConformanceStore
                driver_factory = lambda store: Magento2Driver(
                    store.base_url, auth=BearerToken(store.token), page_size=5
                )

                def test_fixtures(self, conformance_store, conformance_driver):
                    assert conformance_driver.base_url == conformance_store.base_url
                    assert len(conformance_store.order_ids()) == 30


            @pytest.fixture
            def conformance_store_factory():
                return lambda: MagentoConformanceStore(order_count=12)


            def test_fixture_factories_work_without_a_class(conformance_store):
                assert len(conformance_store.order_ids()) == 12
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed" in result.stdout, result.stdout


def test_the_entry_point_is_registered() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "ecc_connectors"]
    assert plugin.value == "ecc_connectors.testing.pytest_plugin"


def test_factories_are_not_bound_to_the_test_instance() -> None:
    made: list[Any] = []

    class TestPlain(DriverConformance):
        store_factory = magento_store  # a plain function: it must not receive the test instance

        def driver_factory(store: Any) -> Magento2Driver:  # a factory, not a method
            made.append(store)
            return factory_for(Magento2Driver)(store)

    driver_factory, store_factory = TestPlain().conformance_factories()
    store = store_factory()
    try:
        assert isinstance(driver_factory(store), Magento2Driver)
        assert made == [store]
    finally:
        store.stop()
    partial = functools.partial(MagentoConformanceStore, order_count=11)

    class TestPartial(DriverConformance):
        store_factory = partial
        driver_factory = staticmethod(factory_for(Magento2Driver))

    assert TestPartial().conformance_factories()[1] is partial
