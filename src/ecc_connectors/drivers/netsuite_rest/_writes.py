"""The ``netsuite_rest`` driver's writes to existing sales orders: shipments, approvals, free-text statuses,
cancellation.

Theory of operation
-------------------
Approval and comments are ``PATCH /record/v1/salesOrder/{id}``; cancellation closes the open lines
(``isClosed``, the way that works in every status); a shipment is
``POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`` with packages and tracking numbers. Each flow reads
the order first and writes only what it does not show yet (a comment already in the memo is not written twice).
A fulfilment carries an external id derived from the request (:meth:`ship_key`), so a later attempt finds it with
one SuiteQL look-up before writing, and NetSuite's answer that it saw the create already (``IDEMPOTENCY_ERROR``,
``DUP_RCRD``) is taken as "it is there", not as a failure.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from ...driver import (
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    Flow,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    WriteResult,
)
from .._netsuite_common import lines_to_fulfil, memo_with, status_field, to_decimal
from ._client import _ALREADY_CREATED, _location_id, _plain
from ._mapping import LETTER_TO_CODE
from ._reads import NetSuiteRestReads

__all__ = ["NetSuiteRestWrites"]

_APPROVE = frozenset({"_pendingFulfillment", "B", "SalesOrd:B", "approved", "approve"})
_CANCEL = frozenset({"_cancelled", "_closed", "C", "H", "SalesOrd:C", "SalesOrd:H", "canceled", "cancelled", "closed"})
_DERIVED = frozenset({"_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled"})
_APPROVED = frozenset({"B", "D", "E", "F", "G"})


class NetSuiteRestWrites(NetSuiteRestReads):
    """The write flows on existing orders of :class:`~ecc_connectors.drivers.netsuite_rest.NetSuiteRestDriver`."""

    # writes ------------------------------------------------------------------------------------------------
    def ship_key(self, request: ShipmentRequest) -> str:
        """The external id of the fulfilment made for ``request``: its order and tracking numbers (or, without
        any, its lines and first attempt), so every attempt of one shipment names the same record."""
        parts = [request.order_id, *sorted(t.number for t in request.tracking)]
        if not request.tracking:
            parts += [f"{line}:{qty}" for line, qty in request.lines]
            parts.append(request.since.isoformat() if request.since else "")
        return "ecc-ship-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Transform the order into an item fulfilment with the tracking numbers as packages, unless the
        fulfilment with this request's external id exists already (an attempt whose answer was lost)."""
        key = self.ship_key(request)
        existing = yield from self._find("ItemShip", key)
        if existing is not None:
            return ShipmentResult(str(existing.get("id")), already_shipped=True)
        record = yield from self._sales_order(request.order_id)
        open_lines = []
        for line in self._lines(record):
            remaining = (to_decimal(line.get("quantity")) or Decimal("0")) - (
                to_decimal(line.get("quantityFulfilled")) or Decimal("0")
            )
            if not line.get("isClosed") and remaining > 0:
                open_lines.append((str(line.get("line")), remaining))
        requested = lines_to_fulfil(request, {line_id for line_id, _ in open_lines}, self.store_id)
        items = []
        for line_id, remaining in open_lines:
            receive = not requested or line_id in requested
            item: dict[str, Any] = {"orderLine": int(line_id), "itemReceive": receive}
            if receive:
                item["quantity"] = _plain(requested.get(line_id, remaining))
            items.append(item)
        body: dict[str, Any] = {"externalId": key, "item": {"items": items}}
        if self.settings.pick_pack_ship:
            body["shipStatus"] = {"id": "C"}  # shipped; without Pick, Pack and Ship every fulfilment is shipped
        if request.comment:
            body["memo"] = request.comment
        if request.tracking:
            body["package"] = {
                "items": [
                    {"packageTrackingNumber": t.number, "packageDescr": t.title or t.carrier_code}
                    for t in request.tracking
                ]
            }
        path = f"/salesOrder/{int(request.order_id)}/!transform/itemFulfillment"
        try:
            response = yield from self._write("POST", path, body, request.order_id, "fulfil order", key)
        except StoreError as error:
            if error.code not in _ALREADY_CREATED:
                raise
            # NetSuite saw this create already: the fulfilment is there (or about to be); report it.
            found = yield from self._find("ItemShip", key)
            if found is None:
                raise
            return ShipmentResult(str(found.get("id")), already_shipped=True)
        shipment_id = _location_id(response)
        if shipment_id is None:
            found = yield from self._find("ItemShip", key)
            shipment_id = str(found.get("id")) if found else ""
        yield from self._status_after_shipping(request)
        return ShipmentResult(shipment_id)

    def _status_after_shipping(self, request: ShipmentRequest) -> Flow[None]:
        """A status asked for with a shipment: the ones NetSuite derives from fulfilments are its own doing;
        anything else (an approval, free text into ``status_field``) is set once, like :meth:`set_status`."""
        status = request.status
        if not status or status in _DERIVED or status in _APPROVE:
            return
        yield from self.set_status(StatusChange(request.order_id, status, "", False, request.since))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Approve (``_pendingFulfillment`` from pending approval), cancel (see :meth:`cancel`), or write free text
        into the custom body field ``settings.status_field``. The order is read first; what it already shows is
        not written again."""
        status = change.status
        if status in _CANCEL:
            return (
                yield from self.cancel(
                    CancelRequest(change.order_id, status, change.comment, change.notify, change.since)
                )
            )
        if status in _DERIVED or status == "_undefined":
            raise CapabilityNotSupported(
                self.name, Capability.SET_STATUS.value, f"NetSuite sets {status} itself from fulfilments and billing"
            )
        if status in _APPROVE:
            record = yield from self._sales_order(change.order_id)
            letter = self._letter(record)
            memo = memo_with(str(record.get("memo") or ""), change.comment)
            if letter in _APPROVED:
                found = f"the order is already approved ({LETTER_TO_CODE.get(letter, letter)})"
                if memo is None:
                    return WriteResult(already_done=True, found=found)
                yield from self._write(
                    "PATCH", f"/salesOrder/{int(change.order_id)}", {"memo": memo}, change.order_id, "add comment"
                )
                return WriteResult(found=found)
            if letter != "A":
                raise StatusNotAllowed(
                    f"NetSuite approves only orders pending approval; this one is {LETTER_TO_CODE.get(letter, letter)}",
                    code="NOT_PENDING_APPROVAL",
                    store=self.store_id,
                    order_id=change.order_id,
                )
            body: dict[str, Any] = {"orderStatus": {"id": "B"}}
            if memo is not None:
                body["memo"] = memo
            yield from self._write(
                "PATCH", f"/salesOrder/{int(change.order_id)}", body, change.order_id, "approve order"
            )
            return WriteResult(found="the order was pending approval")
        field_id = status_field(self.name, self.settings.status_field, status, "NetSuiteRestSettings.status_field")
        record = yield from self._sales_order(change.order_id)
        current = record.get(field_id)
        memo = memo_with(str(record.get("memo") or ""), change.comment)
        if current == status and memo is None:
            return WriteResult(already_done=True, found=f"{field_id} already reads {status!r}")
        body = {field_id: status}
        if memo is not None:
            body["memo"] = memo
        yield from self._write(
            "PATCH", f"/salesOrder/{int(change.order_id)}", body, change.order_id, "set status field"
        )
        return WriteResult(found=f"{field_id} read {current!r}")

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Close every open line (``isClosed``): NetSuite then shows the order as closed. Orders already cancelled
        or closed, or without an open line, are ``already_done``; fully fulfilled ones cannot be cancelled."""
        record = yield from self._sales_order(request.order_id)
        letter = self._letter(record)
        memo = memo_with(str(record.get("memo") or ""), request.comment)
        open_lines = [line.get("line") for line in self._lines(record) if not line.get("isClosed") and line.get("line")]
        path = f"/salesOrder/{int(request.order_id)}"
        if letter in ("C", "H") or not open_lines:
            found = (
                f"the order is already {LETTER_TO_CODE.get(letter, letter)}"
                if letter in ("C", "H")
                else ("every line of the order is closed")
            )
            if memo is None:
                return WriteResult(already_done=True, found=found)
            yield from self._write("PATCH", path, {"memo": memo}, request.order_id, "add comment")
            return WriteResult(found=found)
        if letter in ("F", "G"):
            raise StatusNotAllowed(
                f"NetSuite: the order is fully fulfilled ({LETTER_TO_CODE[letter]}) and cannot be closed",
                code="ALREADY_FULFILLED",
                store=self.store_id,
                order_id=request.order_id,
            )
        body: dict[str, Any] = {"item": {"items": [{"line": int(str(line)), "isClosed": True} for line in open_lines]}}
        if memo is not None:
            body["memo"] = memo
        yield from self._write("PATCH", path, body, request.order_id, "close order lines")
        return WriteResult(found=f"open lines {', '.join(str(line) for line in open_lines)}")
