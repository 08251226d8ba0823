"""BigCommerce's order statuses: fixed ``status_id`` numbers, labelled by the store.

**Statuses** are ``status_id`` as strings (``"0"`` to ``"14"``); labels (custom labels included) come from
``/v2/order_statuses``. With exactly one status asked for, ``status_id`` filters the listing; with more, the
listing is not filtered (v2 takes one id) and the engine's rules sort the orders. A status that is not one of
the fixed ids is refused before any request (:class:`StatusNotAllowed`, naming the order).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...driver import BrokenAnswer, Flow, StatusNotAllowed, StoreStatus
from ._rest import BigCommerceRest

__all__ = ["CANCELLED", "PARTIALLY_SHIPPED", "SHIPPED", "STATUS_NAMES", "Statuses"]

CANCELLED = 5
SHIPPED = 2
PARTIALLY_SHIPPED = 3
STATUS_NAMES: Mapping[int, str] = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
"""BigCommerce's fixed status ids (the labels are the system labels; a store may show custom ones)."""


class Statuses(BigCommerceRest):
    """``list_statuses``, and reading a status the caller names as a BigCommerce status id."""

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """``/v2/order_statuses``: the fixed ids with the store's labels (a custom label wins)."""
        response = yield self._get(self._v2("/order_statuses"))
        rows = self._list(response, "the order statuses")
        statuses = []
        for row in rows:
            if not isinstance(row, Mapping) or row.get("id") is None:
                continue
            label = str(row.get("custom_label") or row.get("name") or STATUS_NAMES.get(int(row["id"]), ""))
            statuses.append(StoreStatus(str(int(row["id"])), label))
        if not statuses:
            raise BrokenAnswer("the order statuses answered an empty list", store=self.store_id)
        return tuple(statuses)

    def _status_id(self, status: str, order_id: str) -> int:
        text = str(status).strip()
        if not text.isdigit() or int(text) not in STATUS_NAMES:
            raise StatusNotAllowed(
                f"{status!r} is not a BigCommerce status id (0 to 14: {', '.join(map(str, STATUS_NAMES))})",
                store=self.store_id,
                order_id=order_id,
            )
        return int(text)
