"""Writing back to BigCommerce: shipments, status changes and cancellations, each looking first.

**Writes look first.** A shipment is ``POST /orders/{id}/shipments`` (BigCommerce emails the customer and
moves the order to Shipped / Partially Shipped), after looking for a shipment carrying the tracking number.
A status change is ``PUT /orders/{id} {status_id, staff_notes}``: the comment is a line of the order's staff
notes, unless that line is there already. The ``PUT`` is never resent blindly (its body was computed from a
read), and a ``POST`` never is (HTTP's rule). Shipping leaves Shipped / Partially Shipped to the store, which
knows whether everything left; another status asked for is set after the shipment, only if the order is not in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...driver import (
    CancelRequest,
    Flow,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    WriteResult,
    mark_idempotent,
)
from ._mapping import parse_time, staff_lines
from ._pieces import OrderReads
from ._statuses import CANCELLED, PARTIALLY_SHIPPED, SHIPPED, Statuses

__all__ = ["PostBack"]


class PostBack(Statuses, OrderReads):
    """``ship``, ``set_status`` and ``cancel`` (see the module notes)."""

    def _put_order(self, order_id: str, body: Mapping[str, Any], *, status: bool) -> Flow[dict[str, Any]]:
        # Not safe to resend blindly: the staff notes were computed from a read just before (a merchant's edit
        # in between would be overwritten); a retry runs the whole flow again, which looks first.
        request = mark_idempotent(self._json("PUT", self._v2(f"/orders/{order_id}"), dict(body)), False)
        response = yield request
        if status and response.status_code in (400, 422):
            message, code = self.error_message(response)
            raise StatusNotAllowed(
                f"order {order_id}: BigCommerce refused status_id {body.get('status_id')}: {message}",
                code=code,
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            )
        return self._object(response, f"the update of order {order_id}", order_id)

    def _change(self, order_id: str, status_id: int, comment: str) -> Flow[WriteResult]:
        current = yield from self._read(order_id)
        lines = staff_lines(current)
        comment = comment.strip()
        has_status = int(current.get("status_id", -1)) == status_id
        has_comment = not comment or comment in lines
        if has_status and has_comment:
            return WriteResult(
                already_done=True,
                reference=str(order_id),
                found=f"status_id {status_id}" + (f" and staff note {comment!r}" if comment else ""),
            )
        body: dict[str, Any] = {}
        if not has_status:
            body["status_id"] = status_id
        if not has_comment:
            notes = str(current.get("staff_notes") or "").rstrip("\n")
            body["staff_notes"] = f"{notes}\n{comment}" if notes else comment
        yield from self._put_order(order_id, body, status="status_id" in body)
        return WriteResult(reference=str(order_id))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """``PUT /orders/{id}`` with the status and the comment as a staff note line, unless both are there.
        BigCommerce emails the customer on a status change as the store's settings say (``notify`` cannot
        change that per request)."""
        status_id = self._status_id(change.status, change.order_id)
        result = yield from self._change(change.order_id, status_id, change.comment)
        return result

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Status 5 (Cancelled) with the comment as a staff note; then ``request.status`` if it is another."""
        result = yield from self._change(request.order_id, CANCELLED, request.comment)
        if request.status is not None and str(request.status).strip() != str(CANCELLED):
            after = yield from self._change(request.order_id, self._status_id(request.status, request.order_id), "")
            if not after.already_done:
                return WriteResult(reference=str(request.order_id))
        return result

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """``POST /orders/{id}/shipments`` per shipping address with unshipped lines, after looking for a
        shipment that already carries the tracking number (or, without one, shipments made since the first
        attempt that cover the lines). BigCommerce emails the customer and sets Shipped / Partially Shipped."""
        order_id = request.order_id
        status_id = self._status_id(request.status, order_id) if request.status is not None else None
        current = yield from self._read(order_id)
        products = yield from self._sub(order_id, "products")
        shipments = yield from self._sub(order_id, "shipments")
        numbers = [t.number for t in request.tracking if t.number]
        tracking = numbers[0] if numbers else ""
        # Each address's shipment carries the tracking number: one found for an address means it was shipped.
        mine = [s for s in shipments if tracking and str(s.get("tracking_number") or "") == tracking]
        if not tracking and request.since is not None:
            mine = [s for s in shipments if _made_since(s, request.since)]
        shipped_addresses = {int(s.get("order_address_id") or 0) for s in mine}
        wanted = {str(line): qty for line, qty in request.lines}
        groups: dict[int, list[dict[str, int]]] = {}
        for product in products:
            line_id = str(product.get("id"))
            if product.get("is_bundled_product"):
                continue  # shipped with its parent line
            if wanted and line_id not in wanted:
                continue
            left = int(product.get("quantity") or 0) - int(product.get("quantity_shipped") or 0)
            quantity = min(left, int(wanted[line_id])) if wanted else left
            if quantity <= 0:
                continue
            address = int(product.get("order_address_id") or 0)
            if address in shipped_addresses:
                continue
            groups.setdefault(address, []).append({"order_product_id": int(line_id), "quantity": quantity})
        if not groups:
            if mine or shipments:
                found = mine[-1] if mine else shipments[-1]
                yield from self._after_ship(order_id, current, status_id)
                return ShipmentResult(str(found.get("id")), already_shipped=True)
            raise StoreError(
                f"order {order_id} has nothing left to ship", http_status=400, store=self.store_id, order_id=order_id
            )
        comment = request.comment
        if len(numbers) > 1:
            comment = "\n".join(filter(None, [comment, "Tracking: " + ", ".join(numbers)]))
        first_id = ""
        for address, items in groups.items():
            body: dict[str, Any] = {"order_address_id": address, "items": items}
            if tracking:
                body["tracking_number"] = tracking
            carrier = request.tracking[0].carrier_code if request.tracking else ""
            if carrier and carrier != "custom":
                body["tracking_carrier"] = carrier
            if comment:
                body["comments"] = comment
            response = yield self._json("POST", self._v2(f"/orders/{order_id}/shipments"), body)
            made = self._object(response, f"the shipment of order {order_id}", order_id)
            first_id = first_id or str(made.get("id", ""))
        yield from self._after_ship(order_id, current, status_id)
        return ShipmentResult(first_id)

    def _after_ship(self, order_id: str, before: Mapping[str, Any], status_id: int | None) -> Flow[None]:
        if status_id is None or status_id in (SHIPPED, PARTIALLY_SHIPPED):
            return  # BigCommerce sets these itself from the shipments: forcing 2 would hide a partial shipment
        current = yield from self._read(order_id)
        if int(current.get("status_id", -1)) != status_id:
            yield from self._put_order(order_id, {"status_id": status_id}, status=True)


def _made_since(shipment: Mapping[str, Any], since: datetime) -> bool:
    try:
        return parse_time(shipment.get("date_created"), "date_created") >= since
    except ValueError:
        return False
