"""The WooCommerce fake shop's tables and clock: what every part of the shop (``_woocommerce_shop``) builds on.

Theory of operation: everything follows WooCommerce's own documentation and the wc/v3 OpenAPI tables copied in
``_woocommerce_spec`` (field names, statuses, filters), never the driver. What the tables do as WooCommerce does:

* stamps are whole seconds; ``date_*_gmt`` are UTC without an offset, the plain ``date_*`` the site's local time
  (``utc_offset``); every change to an order (status, meta, a field) moves ``date_modified``; a note does not
  (notes are comments, the order is not saved);
* an order is shown with the spec's fields only (``ORDER_FIELDS``) and a ``_links`` object; an unknown id is
  404 ``woocommerce_rest_shop_order_invalid_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from . import _woocommerce_spec as spec
from .base import HttpError

__all__ = ["CENT", "CORE_LABELS", "TRACKING_META", "WooTables", "bad_param", "money", "to_second"]

CORE_LABELS: dict[str, str] = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
}
"""Labels of the spec's statuses (``ORDER_STATUSES``) and of ``checkout-draft`` (WooCommerce 6.3+)."""
TRACKING_META = "_wc_shipment_tracking_items"
CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def to_second(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def bad_param(name: str, problem: str) -> HttpError:
    return HttpError(400, f"Invalid parameter(s): {name}", {"code": "rest_invalid_param", "params": {name: problem}})


class WooTables:
    """The shop's tables (filled by ``WooShop.__init__``), its ids and its clock."""

    clock: Callable[[], datetime]
    utc_offset: timedelta
    statuses: dict[str, str]
    tracking: bool
    currency: str
    orders: dict[int, dict[str, Any]]
    notes: dict[int, list[dict[str, Any]]]
    products: dict[int, dict[str, Any]]
    variations: dict[int, list[dict[str, Any]]]
    emails: list[tuple[str, int, str]]
    ignore_orderby: bool
    _ids: int
    _note_ids: int
    _item_ids: int

    def _next(self, kind: str) -> int:
        if kind == "note":
            self._note_ids += 1
            return self._note_ids
        if kind == "item":
            self._item_ids += 1
            return self._item_ids
        self._ids += 1
        return self._ids

    def now(self) -> datetime:
        return to_second(self.clock())

    def _stamp(self, order: dict[str, Any], field: str, moment: datetime | None) -> None:
        if moment is None:
            order[field], order[f"{field}_gmt"] = None, None
            return
        moment = to_second(moment)
        order[f"{field}_gmt"] = moment.strftime("%Y-%m-%dT%H:%M:%S")
        order[field] = (moment + self.utc_offset).strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def gmt_of(order: Mapping[str, Any], field: str) -> datetime:
        return datetime.fromisoformat(order[f"{field}_gmt"]).replace(tzinfo=timezone.utc)

    def touch(self, order: dict[str, Any], moment: datetime | None = None) -> None:
        """Save the order: its modified stamp moves to now (or ``moment``)."""
        self._stamp(order, "date_modified", moment or self.now())

    def shown(self, order: Mapping[str, Any], fields: Sequence[str] = ()) -> dict[str, Any]:
        copy = {k: order[k] for k in spec.ORDER_FIELDS if k in order and k != "set_paid"}
        copy["_links"] = {"self": [{"href": f"/wp-json/wc/v3/orders/{order['id']}"}]}
        return {k: v for k, v in copy.items() if k in fields} if fields else copy

    def find(self, order_id: str | int) -> dict[str, Any]:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError):
            raise HttpError(404, "Invalid ID.", {"code": "woocommerce_rest_shop_order_invalid_id"}) from None
