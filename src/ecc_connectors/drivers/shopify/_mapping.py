"""Shopify GraphQL orders onto the SDK's model.

Theory of operation
-------------------
* **Status** is two axes joined with ``|``: ``displayFinancialStatus`` and ``displayFulfillmentStatus``. Two
  facts override an axis, because a merchant sorts on them first: a cancelled order (``cancelledAt`` set) shows
  ``CANCELLED`` on the financial axis, an archived one (``closed``) ``CLOSED`` on the fulfilment axis. So
  ``PAID|*`` is every paid order still open or archived, ``CANCELLED|*`` every cancelled one, ``*|CLOSED`` every
  archived one. ``Order.state`` says ``open``, ``closed`` or ``cancelled``.
* **Money** comes from the ``*Set`` money bags in the shop's currency (``shopMoney``), read as ``Decimal`` from
  Shopify's decimal strings; the presentment currency (what the buyer saw) stays in ``raw``.
* **Lines**: ``currentQuantity`` is the quantity now (after edits and removals), ``quantity`` the one ordered;
  an edited order keeps its id, so it is an Update of the same order, with line-level changes. Shipped is
  current minus ``unfulfilledQuantity``.
* **Ids**: ``order_id`` is ``legacyResourceId`` (the number in the global id, also the keyset tie-breaker),
  ``number`` is ``name`` (``#1001``).

One order that cannot be read is a :class:`PayloadError` holding the node, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ...driver import (
    Address,
    Customer,
    Note,
    Order,
    OrderKey,
    OrderLine,
    PayloadError,
    Payment,
    Shipment,
    Totals,
)

__all__ = ["order_key", "parse_order", "parse_time", "status_of"]

ZERO = Decimal(0)


def parse_time(text: Any) -> datetime:
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a DateTime: {text!r}")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a DateTime without a zone: {text!r}")
    return moment


def status_of(node: Mapping[str, Any]) -> str:
    """``FINANCIAL|FULFILLMENT`` with ``CANCELLED`` / ``CLOSED`` overriding an axis (module notes)."""
    financial = "CANCELLED" if node.get("cancelledAt") else str(node["displayFinancialStatus"])
    fulfilment = "CLOSED" if node.get("closed") else str(node["displayFulfillmentStatus"])
    return f"{financial}|{fulfilment}"


def order_key(node: Mapping[str, Any]) -> OrderKey:
    return OrderKey(parse_time(node["updatedAt"]), int(node["legacyResourceId"]))


def _money(bag: Any, field: str) -> Decimal:
    if bag is None:
        return ZERO
    try:
        amount = bag["shopMoney"]["amount"]
    except (KeyError, TypeError):
        raise ValueError(f"{field} has no shopMoney.amount") from None
    if isinstance(amount, float):
        raise TypeError(f"{field} is a float")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"{field} is not a decimal: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"{field} is not finite")
    return value


def _address(found: Any, email: str) -> Address | None:
    if not isinstance(found, Mapping):
        return None
    street = tuple(str(found[k]) for k in ("address1", "address2") if found.get(k))
    name = str(found.get("name") or " ".join(str(found.get(k) or "") for k in ("firstName", "lastName")).strip())
    return Address(
        name=name,
        company=str(found.get("company") or ""),
        street=street,
        city=str(found.get("city") or ""),
        region=str(found.get("provinceCode") or found.get("province") or ""),
        postcode=str(found.get("zip") or ""),
        country=str(found.get("countryCodeV2") or ""),
        phone=str(found.get("phone") or ""),
        email=email,
    )


def _line(row: Mapping[str, Any]) -> OrderLine:
    current = Decimal(int(row["currentQuantity"]))
    unfulfilled = Decimal(int(row.get("unfulfilledQuantity") or 0))
    unit = _money(row.get("originalUnitPriceSet"), "lineItems.originalUnitPriceSet")
    discount = _money(row.get("totalDiscountSet"), "lineItems.totalDiscountSet")
    tax = sum((_money(t.get("priceSet"), "lineItems.taxLines.priceSet") for t in row.get("taxLines") or ()), ZERO)
    return OrderLine(
        line_id=str(row["id"]).rsplit("/", 1)[-1],
        sku=str(row.get("sku") or ""),
        name=str(row.get("name") or ""),
        quantity=current,
        unit_price=unit,
        tax=tax,
        discount=discount,
        row_total=unit * current - discount + tax,
        quantity_shipped=max(ZERO, current - unfulfilled),
    )


def _notes(node: Mapping[str, Any]) -> tuple[Note, ...]:
    text = node.get("note")
    return (Note(str(text)),) if text else ()


def parse_order(node: Any, store: str, lines: Sequence[Mapping[str, Any]] | None = None) -> Order | PayloadError:
    """One ``Order`` node (``lines``: every line item when the node's own page of them was not all)."""
    ref = str(node.get("legacyResourceId") or node.get("id") or "?") if isinstance(node, Mapping) else None
    field = "order"
    try:
        if not isinstance(node, Mapping):
            raise TypeError("an order is a JSON object")
        field = "legacyResourceId"
        order_id = str(int(node["legacyResourceId"]))
        field = "createdAt"
        created = parse_time(node["createdAt"])
        field = "updatedAt"
        updated = parse_time(node["updatedAt"])
        field = "displayFinancialStatus"
        status = status_of(node)
        field = "lineItems"
        rows = lines if lines is not None else (node.get("lineItems") or {}).get("nodes") or ()
        order_lines = tuple(_line(row) for row in rows)
        field = "totals"
        grand = _money(node.get("currentTotalPriceSet"), "currentTotalPriceSet")
        paid = _money(node.get("totalReceivedSet"), "totalReceivedSet")
        refunded = _money(node.get("totalRefundedSet"), "totalRefundedSet")
        totals = Totals(
            subtotal=_money(node.get("subtotalPriceSet"), "subtotalPriceSet"),
            shipping=_money(node.get("totalShippingPriceSet"), "totalShippingPriceSet"),
            tax=_money(node.get("totalTaxSet"), "totalTaxSet"),
            discount=_money(node.get("totalDiscountsSet"), "totalDiscountsSet"),
            grand_total=grand,
            paid=paid,
            due=max(ZERO, grand - paid + refunded),
            refunded=refunded,
        )
        field = "fulfillments"
        shipments = tuple(
            Shipment(
                str(f["legacyResourceId"]),
                tuple(str(t["number"]) for t in f.get("trackingInfo") or () if t.get("number")),
                carrier=next((str(t["company"]) for t in f.get("trackingInfo") or () if t.get("company")), ""),
                created_at=parse_time(f["createdAt"]) if f.get("createdAt") else None,
            )
            for f in node.get("fulfillments") or ()
        )
        field = "customer"
        email = str(node.get("email") or "")
        billing = _address(node.get("billingAddress"), email)
        shipping = _address(node.get("shippingAddress"), email)
        buyer = node.get("customer") if isinstance(node.get("customer"), Mapping) else None
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return PayloadError(store, ref, field, f"{type(exc).__name__}: {exc}", raw=node)
    state = "cancelled" if node.get("cancelledAt") else "closed" if node.get("closed") else "open"
    method = node.get("shippingLine") or {}
    gateways = [str(g) for g in node.get("paymentGatewayNames") or ()]
    return Order(
        store=store,
        order_id=order_id,
        number=str(node.get("name") or order_id),
        status=status,
        state=state,
        created_at=created,
        updated_at=updated,
        currency=str(node.get("currencyCode") or ""),
        customer=Customer(
            name=str((buyer or {}).get("displayName") or (billing.name if billing else "")),
            email=str((buyer or {}).get("email") or email),
            phone=str((buyer or {}).get("phone") or node.get("phone") or ""),
            is_guest=buyer is None,
            store_customer_id=str(buyer["legacyResourceId"]) if buyer and buyer.get("legacyResourceId") else None,
        ),
        billing_address=billing,
        shipping_address=shipping,
        shipping_method=str(method.get("title") or method.get("code") or "") if isinstance(method, Mapping) else "",
        lines=order_lines,
        totals=totals,
        payments=tuple(Payment(g, paid if i == 0 else ZERO) for i, g in enumerate(gateways)),
        shipments=shipments,
        notes=_notes(node),
        raw=node,
    )
