"""Each check of the conformance suite catches a deliberately broken twin of the WooCommerce driver, against the
same fake store (every request still checked against the wc/v3 OpenAPI document)."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import pytest

from ecc_connectors import (
    Capability,
    Driver,
    Flow,
    NumberedPages,
    OrderQuery,
    Page,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreStatus,
    WriteResult,
    mark_idempotent,
)
from ecc_connectors.drivers.woocommerce import WooCommerceDriver, order_from_payload
from ecc_connectors.testing.conformance import (
    ACK_COMMENT,
    CHECKS,
    check_capabilities,
    check_listing_complete_under_edits,
    check_money_and_times,
    check_read_back_after_write,
    check_statuses_round_trip,
    check_writes_exactly_once,
    check_writes_not_resent_blindly,
)
from plugin_woocommerce import factory_for, woo_store

pytestmark = pytest.mark.usefixtures("quiet_retries", "woocommerce_spec_clean")


# Broken drivers, one per check


class CancelsWithoutDeclaring(WooCommerceDriver):
    """Leaves CANCEL out of its capabilities, but its cancel() still writes."""

    capabilities = WooCommerceDriver.capabilities - {Capability.CANCEL}


class OffsetPages(WooCommerceDriver):
    """Lists by offset pages (``page=2, 3, ...``) sorted by date modified, with nothing to verify them."""

    capabilities = WooCommerceDriver.capabilities - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}
    seek_page = Driver.seek_page
    list_keys = Driver.list_keys

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        page = yield from self._numbered(query, 1)
        return page

    def _numbered(self, query: OrderQuery, number: int) -> Flow[Page]:
        params = self._filters(query, None, None) | {"per_page": str(self.page_size), "page": str(number)}
        response = yield self._get("/orders", params)
        rows = self._json(response)
        orders = tuple(order_from_payload(self.store_id, row) for row in rows)
        pages = int(response.headers["x-wp-totalpages"])
        following = None
        if number == 1 and pages > 1:
            following = NumberedPages(range(2, pages + 1), lambda n: self._numbered(query, n), self.page_size)
        return Page(orders, following, total=int(response.headers["x-wp-total"]))


class ResendsWritesBlindly(WooCommerceDriver):
    """Marks every write safe to resend, so the engine sends it again after a dropped connection."""

    def _send(self, method: str, path: str, body: Any, *, site: bool = False) -> httpx.Request:
        return mark_idempotent(super()._send(method, path, body, site=site))


class PostsStatusWithoutLooking(WooCommerceDriver):
    """set_status adds its note without looking for one an earlier attempt made."""

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        yield from self._add_note(change.order_id, change.comment, change.notify)
        return WriteResult()


class ShipsWithoutLooking(WooCommerceDriver):
    """ship adds its tracking item without looking for one an earlier attempt made."""

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        body = {"tracking_number": request.tracking[0].number, "custom_tracking_provider": "UPS"}
        path = f"/wp-json/wc-shipment-tracking/v3/orders/{request.order_id}/shipment-trackings"
        response = yield self._send("POST", path, body, site=True)
        return ShipmentResult(str(self._json(response).get("tracking_id")))


class FloatMoney(WooCommerceDriver):
    """Hands out grand totals as floats (bypassing the model's validators)."""

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        page = yield from super().seek_page(query, seek, size)
        for order in page.orders:
            totals = attrs.evolve(order.totals)  # type: ignore[union-attr]
            object.__setattr__(totals, "grand_total", float(totals.grand_total))
            object.__setattr__(order, "totals", totals)
        return page


class ThinReadBack(WooCommerceDriver):
    """get_order leaves the shipments out (a thinner read than the listing's)."""

    def get_order(self, order_id: str) -> Flow[Any]:
        order = yield from super().get_order(order_id)
        return attrs.evolve(order, shipments=(), shipping_method="")


class StatusLabels(WooCommerceDriver):
    """list_statuses gives the labels ("Processing") where orders carry slugs ("processing")."""

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        statuses = yield from super().list_statuses()
        return tuple(StoreStatus(s.label, s.label) for s in statuses)


BROKEN = [
    pytest.param(
        check_capabilities,
        CancelsWithoutDeclaring,
        "CANCEL is not declared, but cancel\\(\\) is overridden",
        id="capabilities",
    ),
    pytest.param(
        check_listing_complete_under_edits, OffsetPages, "never changed were not downloaded", id="offset-pages"
    ),
    pytest.param(
        check_writes_not_resent_blindly, ResendsWritesBlindly, "was sent 2 times in one call", id="resent-blindly"
    ),
    pytest.param(
        check_writes_exactly_once,
        PostsStatusWithoutLooking,
        f"acknowledge .* 2 x comment '{ACK_COMMENT}'",
        id="exactly-once-status",
    ),
    pytest.param(check_writes_exactly_once, ShipsWithoutLooking, "ship .* 2 x shipment", id="exactly-once-ship"),
    pytest.param(check_money_and_times, FloatMoney, "totals.grand_total is a float", id="money-floats"),
    pytest.param(check_read_back_after_write, ThinReadBack, "shows an Update for our own change", id="read-back"),
    pytest.param(
        check_statuses_round_trip,
        StatusLabels,
        r"status 'processing' .* which list_statuses\(\) does not",
        id="statuses-labels",
    ),
]


@pytest.mark.parametrize(("check", "driver_class", "message"), BROKEN)
def test_each_check_catches_its_broken_driver(check: Any, driver_class: type[WooCommerceDriver], message: str) -> None:
    with pytest.raises(AssertionError, match=message) as caught:
        check(factory_for(driver_class), woo_store)
    assert driver_class.__name__ in str(caught.value)


def test_every_check_has_a_broken_driver() -> None:
    assert {param.values[0] for param in BROKEN} == set(CHECKS.values())
