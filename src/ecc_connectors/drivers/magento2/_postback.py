"""Writing back: status comments, shipments, cancellations and invoices, each safe to run again.

Every write that would do its work twice if sent twice (a comment, an invoice, a shipment) first reads the
store for that work, so running a flow again after an attempt whose answer was lost finds it and sends nothing.
The writes themselves are not marked idempotent: the engine never resends one blindly, it runs the whole flow
again, check included. What counts as "already there" is decided by the pure functions of ``_writes``; the
reads use Magento's ``fields`` filter, so the rest of a 10 kB order stays in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...driver import (
    CancelRequest,
    Flow,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreError,
    WriteResult,
)
from . import _writes
from ._rest import MagentoRest, entity_id, scalar_id
from ._search import MAX_PAGE_SIZE, Filter, SearchCriteria

__all__ = ["PostBack"]

# What the write checks read of an order (Magento's ``fields`` filter).
HISTORY_FIELDS = "entity_id,increment_id,state,status,status_histories"
LINE_FIELDS = "items[item_id,parent_item_id,product_type,is_virtual,qty_ordered,qty_shipped,qty_invoiced,qty_canceled]"


class PostBack(MagentoRest):
    """The write flows of the Magento 2 driver, each looking in the store before it writes."""

    def _order_view(self, order_id: str, fields: str) -> Flow[Mapping[str, Any]]:
        """The parts of an order a write check needs (Magento's ``fields`` filter)."""
        entity = entity_id(order_id)
        response = yield self._get(f"/V1/orders/{entity}", [("fields", fields)])
        return self._read_object(response, order_id)

    def _comment(self, order_id: str, comment: str, *, status: str | None, notify: bool) -> Flow[None]:
        entity = entity_id(order_id)
        # A comment the customer is emailed is also shown in their account; a silent one stays internal.
        history: dict[str, Any] = {
            "comment": comment,
            "is_customer_notified": 1 if notify else 0,
            "is_visible_on_front": 1 if notify else 0,
            "parent_id": entity,
        }
        if status:
            history["status"] = status
        response = yield self._send_json("POST", f"/V1/orders/{entity}/comments", {"statusHistory": history})
        self._answer(response, order_id)

    def _comment_once(
        self,
        order_id: str,
        comment: str,
        *,
        status: str | None,
        notify: bool,
        since: datetime | None,
        view: Mapping[str, Any] | None = None,
    ) -> Flow[WriteResult]:
        """Post a status comment unless the order's history already holds an equal one made since ``since``."""
        if view is None:
            view = yield from self._order_view(order_id, HISTORY_FIELDS)
        found = _writes.find_comment(
            view.get("status_histories"), status=status, comment=comment, notify=notify, since=since
        )
        if found is not None:
            reference = _writes.record_id(found)
            return WriteResult(
                already_done=True,
                reference=reference,
                found=f"comment {reference} ({found.get('status') or 'no status'}, {found.get('created_at')})"
                " already in the order's history",
            )
        yield from self._comment(order_id, comment, status=status, notify=notify)
        return WriteResult()

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        """Order comment carrying the status, unless an equal comment is already in the order's history.
        Magento 2.4.7+ refuses a status outside the order's current state: that is :class:`StatusNotAllowed`."""
        return (
            yield from self._comment_once(
                change.order_id, change.comment, status=change.status, notify=change.notify, since=change.since
            )
        )

    def _records_of_order(self, path: str, entity: int, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        criteria = SearchCriteria(
            groups=((Filter("order_id", str(entity), "eq"),),), page_size=MAX_PAGE_SIZE, current_page=1
        )
        return self._read_records((yield self._get(path, criteria.params())), order_id)

    def _existing_shipments(self, entity: int, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        return (yield from self._records_of_order("/V1/shipments", entity, order_id))

    def _status_after_shipping(
        self, request: ShipmentRequest, view: Mapping[str, Any] | None, shipment_id: str
    ) -> Flow[None]:
        """The status comment that follows a shipment (``request.status``), sent once."""
        if not request.status:
            return
        if view is not None and view.get("status") == request.status:
            return
        try:
            yield from self._comment_once(
                request.order_id,
                request.comment,
                status=request.status,
                notify=False,
                since=request.since,
                view=view,
            )
        except StoreError as exc:
            exc.detail["shipment_id"] = shipment_id
            raise

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Ship, after looking for the shipment an earlier attempt may have made, so the same parcel is never
        shipped twice: with tracking numbers, a shipment that carries them all; without, when the requested
        lines (all lines when none are given) are already shipped, the shipment holding them."""
        entity = entity_id(request.order_id)
        requested: dict[str, Decimal] = {}
        for line_id, qty in request.lines:
            line = str(entity_id(line_id, "order line id"))
            requested[line] = requested.get(line, Decimal(0)) + Decimal(qty)
        wanted = {t.number for t in request.tracking}
        if wanted:
            for shipment in (yield from self._existing_shipments(entity, request.order_id)):
                tracks = shipment.get("tracks") or []
                numbers = {str(t.get("track_number")) for t in tracks if isinstance(t, Mapping)}
                if wanted <= numbers and _writes.record_id(shipment) is not None:
                    shipment_id = str(_writes.record_id(shipment))
                    if request.status:
                        view = yield from self._order_view(request.order_id, HISTORY_FIELDS)
                        yield from self._status_after_shipping(request, view, shipment_id)
                    return ShipmentResult(shipment_id, already_shipped=True)
        else:
            view = yield from self._order_view(request.order_id, f"{HISTORY_FIELDS},{LINE_FIELDS}")
            items = view.get("items")
            shipped = (
                _writes.requested_lines_done(items, requested)
                if requested
                else _writes.lines_done(items, "qty_shipped", skip_virtual=True)
            )
            if shipped:
                shipments = yield from self._existing_shipments(entity, request.order_id)
                match = _writes.find_shipment(shipments, items, requested, request.since)
                if match is not None:
                    shipment_id = str(_writes.record_id(match))
                    yield from self._status_after_shipping(request, view, shipment_id)
                    return ShipmentResult(shipment_id, already_shipped=True)
        body: dict[str, Any] = {"notify": request.notify}
        if request.lines:
            body["items"] = [
                {"order_item_id": entity_id(line_id, "order line id"), "qty": qty} for line_id, qty in request.lines
            ]
        if request.comment:
            body["appendComment"] = True
            body["comment"] = {"comment": request.comment, "is_visible_on_front": 1 if request.notify else 0}
        if request.tracking:
            body["tracks"] = [
                {"track_number": t.number, "title": t.title or t.carrier_code, "carrier_code": t.carrier_code}
                for t in request.tracking
            ]
        response = yield self._send_json("POST", f"/V1/order/{entity}/ship", body)
        answer = self._answer(response, request.order_id)
        shipment_id = scalar_id(answer, "shipment id", self.store_id)
        # The status comment is checked against a fresh read: shipping changed the order.
        yield from self._status_after_shipping(request, None, shipment_id)
        return ShipmentResult(shipment_id)

    def cancel(self, request: CancelRequest) -> Flow[WriteResult]:
        """Cancel, then (when asked) a comment with the cancellation status and the customer notified: Magento
        sends no cancellation email of its own, the comment email is the one the customer gets. The comment is
        not posted again when the order's history already holds it."""
        entity = entity_id(request.order_id)
        response = yield self._send_json("POST", f"/V1/orders/{entity}/cancel")
        answer = self._answer(response, request.order_id)
        view: Mapping[str, Any] | None = None
        if answer is not True:
            # false: Magento's canCancel() said no. An order canceled by an earlier attempt says no too.
            view = yield from self._order_view(request.order_id, HISTORY_FIELDS)
            if view.get("state") != "canceled":
                raise StoreError(
                    f"order cannot be cancelled in state {view.get('state')!r} (status {view.get('status')!r})",
                    store=self.store_id,
                    order_id=request.order_id,
                    http_status=200,
                )
        already = answer is not True
        found = "the order was already canceled" if already else ""
        if not (request.status or request.comment or request.notify):
            return WriteResult(already_done=already, found=found)
        result = yield from self._comment_once(
            request.order_id,
            request.comment,
            status=request.status,
            notify=request.notify,
            since=request.since,
            view=view,
        )
        return WriteResult(
            already_done=already and result.already_done,
            reference=result.reference,
            found="; ".join(text for text in (found, result.found) if text),
        )

    def invoice(self, order_id: str, notify: bool = False) -> Flow[WriteResult]:
        """Invoice (and capture) the whole order, unless every line is already invoiced: then the invoice that
        did it is returned with ``already_done``."""
        entity = entity_id(order_id)
        view = yield from self._order_view(order_id, f"entity_id,state,status,{LINE_FIELDS}")
        if _writes.lines_done(view.get("items"), "qty_invoiced"):
            invoices = yield from self._records_of_order("/V1/invoices", entity, order_id)
            found = _writes.latest(invoices)
            if found is not None:
                reference = _writes.record_id(found)
                return WriteResult(
                    already_done=True,
                    reference=reference,
                    found=f"every line is invoiced; invoice {reference} ({found.get('created_at')})",
                )
        response = yield self._send_json("POST", f"/V1/order/{entity}/invoice", {"capture": True, "notify": notify})
        return WriteResult(reference=scalar_id(self._answer(response, order_id), "invoice id", self.store_id))
