"""Writing back: fulfilments, acknowledgements and cancellations, each safe to run again.

Shopify has no settable order status (how an order shows one is in :mod:`._mapping`): acknowledging adds a tag
(a setting) and the comment as a line of the order's note; shipping creates a fulfilment from the open
fulfilment orders; cancelling is ``orderCancel`` and a poll of its job. Invoices are not a Shopify concept (no
``INVOICE``).

Mutations are never resent blindly (:mod:`._graphql`): the engine runs the whole flow again instead, and every
flow here first reads the order's state and reports work it finds done, so an attempt whose answer was lost is
not done twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
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
)
from . import _queries as q
from ._graphql import ShopifyGraphQL, gid, number_of
from ._mapping import parse_time, status_of
from ._statuses import SHIPPED, axis, check_known, shows

__all__ = ["PostBack"]

_JOB_POLLS = 10


def _plan(node: Mapping[str, Any], wanted: Sequence[tuple[str, Decimal]]) -> list[dict[str, Any]]:
    """``lineItemsByFulfillmentOrder`` for the open fulfilment orders: every remaining line, or the quantities
    asked for by line id (spread over the fulfilment orders holding that line)."""
    left = {line_id: int(quantity) for line_id, quantity in wanted}
    groups: list[dict[str, Any]] = []
    for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or ():
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        items = []
        for li in (fo.get("lineItems") or {}).get("nodes") or ():
            remaining = int(li.get("remainingQuantity") or 0)
            line_id = number_of(li["lineItem"]["id"])
            if remaining <= 0:
                continue
            if not wanted:
                items.append({"id": li["id"], "quantity": remaining})
            elif left.get(line_id, 0) > 0:
                take = min(remaining, left[line_id])
                left[line_id] -= take
                items.append({"id": li["id"], "quantity": take})
        if items:
            groups.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
    return groups


class PostBack(ShopifyGraphQL):
    """The write flows of the Shopify driver, each reading the order before it writes (module notes)."""

    acknowledge_tag: str
    refund_on_cancel: str
    restock_on_cancel: bool
    cancel_reason: str

    def _order_state(self, operation: str, document: str, order_id: str) -> Flow[Mapping[str, Any]]:
        """The parts of an order a write reads first; an order the store does not have is a 404."""
        data = yield from self._call(operation, document, {"id": gid("Order", order_id)}, order_id=order_id)
        node = data.get("order")
        if not isinstance(node, Mapping):
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        return node

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """A fulfilment from the order's open fulfilment orders (every unshipped line, or ``request.lines``),
        with the tracking numbers; first, a fulfilment already carrying them (or, without tracking, made since
        ``request.since``) is this shipment, done by an attempt whose answer was lost."""
        if request.status is not None and axis(request.status, 1) not in SHIPPED:
            raise StatusNotAllowed(
                f"order {request.order_id}: Shopify sets the fulfilment status itself; a shipment can only leave it"
                f" FULFILLED or PARTIALLY_FULFILLED, not {request.status!r}"
            )
        order_id = request.order_id
        node = yield from self._order_state("FulfillmentState", q.FULFILLMENT_STATE, order_id)
        if node.get("cancelledAt"):
            raise StoreError(f"order {order_id} is cancelled: nothing to ship", store=self.store_id, order_id=order_id)
        numbers = [t.number for t in request.tracking if t.number]
        existing = list(node.get("fulfillments") or ())
        for fulfillment in existing:
            have = {str(t.get("number")) for t in fulfillment.get("trackingInfo") or ()}
            if numbers and set(numbers) <= have:
                return ShipmentResult(str(fulfillment["legacyResourceId"]), already_shipped=True)
            if not numbers and request.since is not None and parse_time(fulfillment["createdAt"]) >= request.since:
                return ShipmentResult(str(fulfillment["legacyResourceId"]), already_shipped=True)
        known = {
            number_of(li["lineItem"]["id"])
            for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or ()
            for li in (fo.get("lineItems") or {}).get("nodes") or ()
        }
        unknown = [line_id for line_id, _ in request.lines if line_id not in known]
        if unknown:
            raise StoreError(
                f"order {order_id}: no line item {unknown[0]} to ship (lines: {sorted(known)})",
                store=self.store_id,
                order_id=order_id,
            )
        groups = _plan(node, request.lines)
        if not groups:
            if existing:
                return ShipmentResult(str(existing[-1]["legacyResourceId"]), already_shipped=True)
            raise StoreError(f"order {order_id}: nothing left to fulfil", store=self.store_id, order_id=order_id)
        given: dict[str, Any] = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": request.notify}
        if numbers:
            carrier = next(
                (t.title or t.carrier_code for t in request.tracking if t.title or t.carrier_code != "custom"), None
            )
            tracking: dict[str, Any] = {"numbers": numbers}
            if carrier:
                tracking["company"] = carrier
            given["trackingInfo"] = tracking
        variables = {"fulfillment": given, "message": request.comment or None}
        data = yield from self._call("Ship", q.FULFILLMENT_CREATE, variables, order_id=order_id)
        payload = data.get("fulfillmentCreate")
        self._user_errors("fulfillmentCreate", payload, order_id)
        made = (payload or {}).get("fulfillment") or {}
        return ShipmentResult(str(made.get("legacyResourceId") or ""))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Shopify has no settable status: a change to the status the order already shows (or to one of its
        axes) is an acknowledgement, written as the tag and a note line once; any other is refused."""
        check_known(change.status, change.order_id)
        order_id = change.order_id
        node = yield from self._order_state("NoteState", q.NOTE_STATE, order_id)
        current = status_of(node)
        if not shows(current, change.status):
            raise StatusNotAllowed(
                f"order {order_id} is {current}: Shopify cannot set an order's status to {change.status!r} (its"
                " statuses follow payments, fulfilments and cancellation)"
            )
        tags = [str(t) for t in node.get("tags") or ()]
        note = str(node.get("note") or "")
        need_tag = bool(self.acknowledge_tag) and self.acknowledge_tag not in tags
        need_note = bool(change.comment) and change.comment not in note.split("\n")
        if not need_tag and not need_note:
            return WriteResult(already_done=True, found=f"tag {self.acknowledge_tag!r} and the note line are there")
        order_gid = gid("Order", order_id)
        if need_note:
            text = f"{note}\n{change.comment}" if note else change.comment
            variables: dict[str, Any] = {
                "id": order_gid,
                "tags": [self.acknowledge_tag] if need_tag else [],
                "input": {"id": order_gid, "note": text},
            }
            data = yield from self._call("Acknowledge", q.NOTE_AND_TAGS, variables, order_id=order_id)
            self._user_errors("tagsAdd", data.get("tagsAdd"), order_id)
            self._user_errors("orderUpdate", data.get("orderUpdate"), order_id)
        else:
            data = yield from self._call(
                "Tag", q.TAGS_ONLY, {"id": order_gid, "tags": [self.acknowledge_tag]}, order_id=order_id
            )
            self._user_errors("tagsAdd", data.get("tagsAdd"), order_id)
        return WriteResult(reference=order_id)

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """``orderCancel`` (reason, restock, refund as set, ``notifyCustomer``, the comment as the staff note),
        then its job polled; an order already cancelled is done (its comment added to the note if missing)."""
        if request.status is not None and axis(request.status, 0) != "CANCELLED":
            raise StatusNotAllowed(
                f"order {request.order_id}: a cancelled Shopify order shows CANCELLED, not {request.status!r}"
            )
        order_id = request.order_id
        order_gid = gid("Order", order_id)
        node = yield from self._order_state("CancelState", q.CANCEL_STATE, order_id)
        if node.get("cancelledAt"):
            note = str(node.get("note") or "")
            staff = str((node.get("cancellation") or {}).get("staffNote") or "")
            if request.comment and request.comment != staff and request.comment not in note.split("\n"):
                text = f"{note}\n{request.comment}" if note else request.comment
                data = yield from self._call(
                    "Acknowledge",
                    q.NOTE_AND_TAGS,
                    {"id": order_gid, "tags": [], "input": {"id": order_gid, "note": text}},
                    order_id=order_id,
                )
                self._user_errors("orderUpdate", data.get("orderUpdate"), order_id)
            return WriteResult(already_done=True, found=f"cancelled at {node['cancelledAt']}")
        variables: dict[str, Any] = {
            "orderId": order_gid,
            "reason": self.cancel_reason,
            "restock": self.restock_on_cancel,
            "notifyCustomer": request.notify,
            "staffNote": request.comment[:255] or None,
        }
        if self.refund_on_cancel == "original":
            variables["refundMethod"] = {"originalPaymentMethodsRefund": True}
        data = yield from self._call("Cancel", q.CANCEL, variables, order_id=order_id)
        payload = data.get("orderCancel")
        self._user_errors("orderCancel", payload, order_id, key="orderCancelUserErrors")
        job = (payload or {}).get("job") or {}
        job_id = job.get("id")
        done = bool(job.get("done"))
        polls = 0
        while job_id and not done and polls < _JOB_POLLS:
            polls += 1
            found = yield from self._call("Job", q.JOB, {"id": job_id}, order_id=order_id)
            done = bool((found.get("job") or {}).get("done"))
        return WriteResult(reference=str(job_id or order_id), found="" if done else "the cancel job was still running")
