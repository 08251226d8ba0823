"""Status changes: approval, cancel or close, and free-text statuses in a custom field.

NetSuite derives most sales order statuses from fulfilments and billing; a request can only approve an order
pending approval (``orderStatus=_pendingFulfillment``), cancel one (``orderStatus=_cancelled``, where the account
takes it) or close lines (``isClosed``). Any other status text goes into a custom body field
(``NetSuiteSettings.status_field``) when one is set. Every change reads the order first, so a change whose answer
was lost is found done and not written again; a comment becomes a line of the order's ``memo``, once.
"""

from __future__ import annotations

from typing import Any

from ...driver import (
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    Flow,
    Order,
    StatusChange,
    StatusNotAllowed,
    WriteResult,
)
from .._netsuite_common import memo_with, status_field
from ._calls import SoapCalls
from ._mapping import field
from ._soap import AUTH_CODES, raise_for_status, status_codes

__all__ = ["StatusChanges"]

# Statuses NetSuite derives from fulfilments and billing; no request can set them.
_DERIVED = frozenset(
    {"_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled", "_undefined"}
)
_APPROVE = frozenset({"_pendingFulfillment", "approved", "approve"})
_CANCEL = frozenset({"_cancelled", "_closed", "canceled", "cancelled", "closed"})
# Statuses an order reaches only after it was approved: an approval asked for again is already done.
_APPROVED = frozenset(
    {"_pendingFulfillment", "_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled"}
)


def _memo_with(order: Order, comment: str | None) -> str | None:
    """:func:`memo_with` on the memo of the order as read."""
    return memo_with(str(order.raw.get("memo") or ""), comment)


class StatusChanges(SoapCalls):
    """``set_status`` and ``cancel``."""

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Approve (``_pendingFulfillment`` from ``_pendingApproval``), cancel/close (see :meth:`cancel`), or
        write any other text into the custom body field ``settings.status_field``; NetSuite has no free
        status. The order is read first: when it already shows the change, nothing is written and the result
        says ``already_done``."""
        status = change.status
        if status in _CANCEL:
            return (
                yield from self.cancel(
                    CancelRequest(change.order_id, status, change.comment, change.notify, change.since)
                )
            )
        if status in _DERIVED:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite sets {status} itself from fulfilments and billing",
            )
        if status in _APPROVE:
            order = yield from self.get_order(change.order_id)
            memo = _memo_with(order, change.comment)
            if order.status in _APPROVED:
                found = f"the order is already approved ({order.status})"
                if memo is None:
                    return WriteResult(already_done=True, found=found)
                record = self._sales_order(internalId=change.order_id, memo=memo)
                yield from self._write("update", record, change.order_id, "add comment")
                return WriteResult(found=found)
            if order.status != "_pendingApproval":
                raise StatusNotAllowed(
                    f"NetSuite approves only orders pending approval; this one is {order.status}",
                    code="NOT_PENDING_APPROVAL",
                    store=self.store_id,
                    order_id=change.order_id,
                )
            record = self._sales_order(internalId=change.order_id, orderStatus="_pendingFulfillment", memo=memo)
            yield from self._write("update", record, change.order_id, "approve order")
            return WriteResult(found="the order was pending approval")
        field_id = status_field(self.name, self.settings.status_field, status, "NetSuiteSettings.status_field")
        order = yield from self.get_order(change.order_id)
        current = (order.raw.get("customFields") or {}).get(field_id)
        memo = _memo_with(order, change.comment)
        if current == status and memo is None:
            return WriteResult(already_done=True, found=f"{field_id} already reads {status!r}")
        custom = self._soap.type("core", "StringCustomFieldRef")(scriptId=field_id, value=status)
        record = self._sales_order(internalId=change.order_id, customFieldList={"customField": [custom]}, memo=memo)
        yield from self._write("update", record, change.order_id, "set status field")
        return WriteResult(found=f"{field_id} read {current!r}")

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Cancel or close the order. Pending approval: ``orderStatus=_cancelled`` first (NetSuite's "Cancel
        Order"); where the account refuses that update, every line is closed instead, as for any other order
        (``isClosed``, NetSuite's "Close Order"; the order then reads ``_closed``). Orders fully fulfilled cannot
        be cancelled (:class:`StatusNotAllowed`). The order is read first: one already cancelled or closed, or
        without an open line, is ``already_done``."""
        order = yield from self.get_order(request.order_id)
        memo = _memo_with(order, request.comment)
        raw_items = field(field(order.raw, "itemList"), "item", []) or []
        open_lines = [item.get("line") for item in raw_items if not item.get("isClosed") and item.get("line")]
        if order.status in ("_cancelled", "_closed") or (not open_lines and order.status != "_pendingApproval"):
            found = (
                f"the order is already {order.status}"
                if order.status in ("_cancelled", "_closed")
                else "every line of the order is closed"
            )
            if memo is None:
                return WriteResult(already_done=True, found=found)
            record = self._sales_order(internalId=request.order_id, memo=memo)
            yield from self._write("update", record, request.order_id, "add comment")
            return WriteResult(found=found)
        if order.status == "_pendingApproval":
            record = self._sales_order(internalId=request.order_id, orderStatus="_cancelled", memo=memo)
            body = yield from self._call("update", {"record": record})
            status = body.writeResponse.status
            if status.isSuccess is not False:
                return WriteResult(found="the order was pending approval")
            if status_codes(status) & AUTH_CODES:
                raise_for_status(status, order_id=request.order_id, what="cancel order")
            # Refused (nothing was written): close its lines instead, which NetSuite documents for every order
            # it has not fulfilled. The reason stays in the result.
            refused = "; ".join(sorted(status_codes(status) - {""})) or "refused"
            yield from self._close_lines(request.order_id, open_lines, memo)
            return WriteResult(found=f"the order was pending approval; orderStatus=_cancelled {refused}: lines closed")
        if order.status in ("_pendingBilling", "_fullyBilled"):
            raise StatusNotAllowed(
                f"NetSuite: the order is fully fulfilled ({order.status}) and cannot be closed",
                code="ALREADY_FULFILLED",
                store=self.store_id,
                order_id=request.order_id,
            )
        yield from self._close_lines(request.order_id, open_lines, memo)
        return WriteResult(found=f"open lines {', '.join(str(line) for line in open_lines)}")

    def _close_lines(self, order_id: str, lines: list[Any], memo: str | None) -> Flow[None]:
        if not lines:
            raise StatusNotAllowed(
                "NetSuite: the order has no open line to close",
                code="NO_OPEN_LINE",
                store=self.store_id,
                order_id=order_id,
            )
        record = self._sales_order(
            internalId=order_id,
            memo=memo,
            itemList={"replaceAll": False, "item": [{"line": int(line), "isClosed": True} for line in lines]},
        )
        yield from self._write("update", record, order_id, "close order lines")
