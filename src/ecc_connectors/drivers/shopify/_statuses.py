"""Shopify's status codes: the two axes, every pair the store can show, and reading what a write asks for.

A status is ``FINANCIAL|FULFILLMENT`` (how an order's node becomes one is in :mod:`._mapping`); a write may name
both axes or one of them. Shopify's statuses are a fixed enumeration, so listing them needs no request.
"""

from __future__ import annotations

from ...driver import StatusNotAllowed, StoreStatus

__all__ = ["FINANCIAL", "FULFILLMENT", "SHIPPED", "axis", "check_known", "every_status", "shows"]

FINANCIAL = ("AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "VOIDED")
"""``OrderDisplayFinancialStatus`` (Admin API 2025-10), plus ``CANCELLED`` on this axis for a cancelled order."""
FULFILLMENT = (
    "FULFILLED",
    "IN_PROGRESS",
    "ON_HOLD",
    "OPEN",
    "PARTIALLY_FULFILLED",
    "PENDING_FULFILLMENT",
    "REQUEST_DECLINED",
    "RESTOCKED",
    "SCHEDULED",
    "UNFULFILLED",
)
"""``OrderDisplayFulfillmentStatus`` (Admin API 2025-10), plus ``CLOSED`` on this axis for an archived order."""
_FINANCIAL_AXIS = (*FINANCIAL, "CANCELLED")
_FULFILLMENT_AXIS = (*FULFILLMENT, "CLOSED")
SHIPPED = ("FULFILLED", "PARTIALLY_FULFILLED")
"""The fulfilment statuses a shipment can leave an order in."""


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _state(financial: str, fulfilment: str) -> str:
    if financial == "CANCELLED":
        return "cancelled"
    if fulfilment == "CLOSED":
        return "closed"
    return "open"


def every_status() -> tuple[StoreStatus, ...]:
    """Every ``FINANCIAL|FULFILLMENT`` pair, with ``CANCELLED`` and ``CLOSED`` on their axes."""
    return tuple(
        StoreStatus(f"{f}|{g}", f"{_label(f)} / {_label(g)}", state=_state(f, g))
        for f in _FINANCIAL_AXIS
        for g in _FULFILLMENT_AXIS
    )


def axis(status: str, index: int) -> str:
    """One axis of a two-axis status (0: financial, 1: fulfilment); a one-axis status as it is."""
    parts = status.split("|")
    if len(parts) == 2:
        return parts[index]
    return status


def check_known(status: str, order_id: str) -> None:
    """Refuse a status that is neither a pair of the two axes nor a code of one of them."""
    parts = status.split("|")
    valid = (len(parts) == 2 and parts[0] in _FINANCIAL_AXIS and parts[1] in _FULFILLMENT_AXIS) or (
        len(parts) == 1 and (status in _FINANCIAL_AXIS or status in _FULFILLMENT_AXIS)
    )
    if not valid:
        raise StatusNotAllowed(f"order {order_id}: {status!r} is not a Shopify status (FINANCIAL|FULFILLMENT)")


def shows(current: str, wanted: str) -> bool:
    """Whether an order showing ``current`` already shows ``wanted`` (a pair, or one axis of it)."""
    if "|" in wanted:
        return current == wanted
    return wanted in current.split("|")
