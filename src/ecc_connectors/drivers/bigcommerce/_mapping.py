"""BigCommerce v2 orders onto the SDK's model: pure functions, no I/O.

Theory of operation
-------------------
A v2 order comes in pieces. ``GET /v2/orders`` (and ``/v2/orders/{id}``) gives the order row: money as strings
with four decimals (``"62.6793"``), times in RFC 2822 (``"Tue, 05 Mar 2019 21:40:11 +0000"``), the billing
address inline, and the line items, shipping addresses and coupons only as links (``{"url", "resource"}``).
The driver fetches the sub-resources it needs (``products``, ``shipping_addresses``, ``shipments``) and hands
the pieces here as one :class:`Pieces`; :func:`parse_order` maps them, and a piece that cannot be read becomes a
:class:`PayloadError` naming the order and the field, holding every piece as it came (``raw``).

Choices, each because BigCommerce says so or because it is the only exact reading:

* money strings go through ``Decimal`` as written (never ``float``); a number (JSON) is accepted too, since
  ``JsonRest.decode`` already reads JSON numbers as ``Decimal``;
* an RFC 2822 time without a zone, or with ``-0000`` (RFC 2822's "zone unknown"), is taken as UTC, which is
  how BigCommerce writes every v2 time; an ISO 8601 time (v3, the request examples) is read too;
* ``Order.status`` is ``status_id`` as a string (``"11"``): the policy's status rows are strings, and the
  store's labels (custom labels included) come from ``/v2/order_statuses``;
* the grand total is ``total_inc_tax``; the discount is ``discount_amount`` plus ``coupon_discount``; what
  was paid follows ``payment_status`` (``captured``, ``paid``, ``partially refunded``, ``refunded``: the whole
  total was taken; anything else: nothing yet), and store credit and gift certificates count as paid;
* the first shipping address is the order's shipping address (most orders have one; the others stay in
  ``raw``), and its ``shipping_method`` is the order's.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ...driver import (
    Address,
    Item,
    Note,
    Order,
    OrderLine,
    PayloadError,
    Payment,
    Shipment,
    Totals,
)
from .._common import billing_customer

__all__ = [
    "PAID_STATES",
    "Pieces",
    "format_time",
    "money",
    "parse_item",
    "parse_order",
    "parse_time",
    "staff_lines",
]

PAID_STATES = frozenset({"captured", "paid", "partially refunded", "refunded"})
"""``payment_status`` values (the spec's enum) that mean the total was taken."""

ZERO = Decimal(0)


@attrs.frozen
class Pieces:
    """One order as fetched: the order row and its sub-resources (``None``: not fetched)."""

    order: Mapping[str, Any]
    products: Sequence[Mapping[str, Any]] = ()
    shipping_addresses: Sequence[Mapping[str, Any]] = ()
    shipments: Sequence[Mapping[str, Any]] = ()

    def raw(self) -> dict[str, Any]:
        """Every piece as it came, for the ledger (audit and the Updates tab)."""
        return {
            "order": dict(self.order),
            "products": [dict(p) for p in self.products],
            "shipping_addresses": [dict(a) for a in self.shipping_addresses],
            "shipments": [dict(s) for s in self.shipments],
        }


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def money(value: Any, field: str = "amount") -> Decimal:
    """A v2 amount (``"12.3400"``, or a JSON number already a ``Decimal``/``int``) as ``Decimal``; missing or
    empty is zero. A ``float`` or text that is not a number raises ``ValueError`` naming ``field``."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, (bool, float)):
        raise ValueError(f"{field}: {value!r} is not an exact amount")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite amount")
    return amount


def parse_time(value: Any, field: str = "date") -> datetime:
    """An RFC 2822 (v2) or ISO 8601 time as an aware UTC ``datetime``; a time without a zone is UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: {value!r} is not a time")
    text = value.strip()
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field}: {value!r} is neither RFC 2822 nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """A filter value BigCommerce reads (ISO 8601, whole seconds, UTC): ``2024-05-01T05:26:28+00:00``."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _optional_time(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    return parse_time(value, field)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _address(row: Any) -> Address | None:
    if not isinstance(row, Mapping):
        return None
    name = " ".join(part for part in (_text(row.get("first_name")), _text(row.get("last_name"))) if part)
    street = tuple(s for s in (_text(row.get("street_1")), _text(row.get("street_2"))) if s)
    return Address(
        name=name,
        company=_text(row.get("company")),
        street=street,
        city=_text(row.get("city")),
        region=_text(row.get("state")),
        postcode=_text(row.get("zip")),
        country=_text(row.get("country_iso2") or row.get("country")),
        phone=_text(row.get("phone")),
        email=_text(row.get("email")),
    )


def _line(row: Mapping[str, Any]) -> OrderLine:
    discounts = row.get("applied_discounts") or ()
    discount = sum(
        (money(d.get("amount"), "applied_discounts.amount") for d in discounts if isinstance(d, Mapping)), ZERO
    )
    parent = row.get("parent_order_product_id")
    return OrderLine(
        line_id=str(int(row["id"])),
        sku=_text(row.get("sku")),
        name=_text(row.get("name_merchant") or row.get("name")),
        quantity=Decimal(int(row["quantity"])),
        unit_price=money(row.get("price_ex_tax"), "price_ex_tax"),
        tax=money(row.get("total_tax"), "total_tax"),
        discount=discount,
        row_total=money(row.get("total_ex_tax"), "total_ex_tax"),
        quantity_shipped=Decimal(int(row.get("quantity_shipped") or 0)),
        parent_line_id=None if parent in (None, "", 0) else str(parent),
        product_type=_text(row.get("type")),
        # A bundled product's parts are priced in the parent line: counting them would ship the bundle twice.
        counts=not bool(row.get("is_bundled_product")),
    )


def _shipment(row: Mapping[str, Any]) -> Shipment:
    number = _text(row.get("tracking_number"))
    return Shipment(
        shipment_id=str(row["id"]),
        tracking_numbers=(number,) if number else (),
        carrier=_text(row.get("tracking_carrier") or row.get("shipping_provider")),
        method=_text(row.get("shipping_method")),
        created_at=_optional_time(row.get("date_created"), "shipments.date_created"),
    )


def staff_lines(order: Mapping[str, Any]) -> list[str]:
    """The lines of the order's ``staff_notes`` (where this driver writes its comments)."""
    return [line for line in _text(order.get("staff_notes")).splitlines() if line.strip()]


def _notes(order: Mapping[str, Any]) -> tuple[Note, ...]:
    notes = [Note(line) for line in staff_lines(order)]
    message = _text(order.get("customer_message")).strip()
    if message:
        notes.append(Note(message, customer_visible=True))
    return tuple(notes)


def _totals(order: Mapping[str, Any]) -> Totals:
    grand = money(order.get("total_inc_tax"), "total_inc_tax")
    refunded = money(order.get("refunded_amount"), "refunded_amount")
    credit = money(order.get("store_credit_amount"), "store_credit_amount") + money(
        order.get("gift_certificate_amount"), "gift_certificate_amount"
    )
    taken = str(order.get("payment_status") or "").lower() in PAID_STATES
    paid = grand if taken else min(grand, credit)
    return Totals(
        subtotal=money(order.get("subtotal_ex_tax"), "subtotal_ex_tax"),
        shipping=money(order.get("shipping_cost_ex_tax"), "shipping_cost_ex_tax"),
        tax=money(order.get("total_tax"), "total_tax"),
        discount=money(order.get("discount_amount"), "discount_amount")
        + money(order.get("coupon_discount"), "coupon_discount"),
        grand_total=grand,
        paid=paid,
        due=max(ZERO, grand - paid),
        refunded=refunded,
    )


def parse_order(store: str, pieces: Pieces) -> Order | PayloadError:
    """One order from its pieces, or a :class:`PayloadError` (naming the order and the field) keeping them."""
    order = pieces.order
    ref = str(order.get("id", "?")) if isinstance(order, Mapping) else None
    field = "order"
    try:
        if not isinstance(order, Mapping):
            raise TypeError("an order is a JSON object")
        field = "id"
        order_id = str(int(order["id"]))
        field = "date_created"
        created = parse_time(order.get("date_created"), field)
        field = "date_modified"
        updated = parse_time(order.get("date_modified"), field)
        field = "status_id"
        status = str(int(order["status_id"]))
        field = "totals"
        totals = _totals(order)
        field = "products"
        lines = tuple(_line(row) for row in pieces.products)
        field = "billing_address"
        billing = _address(order.get("billing_address"))
        field = "shipping_addresses"
        first = pieces.shipping_addresses[0] if pieces.shipping_addresses else None
        shipping = _address(first)
        field = "shipments"
        shipments = tuple(_shipment(row) for row in pieces.shipments)
        field = "currency_code"
        currency = _text(order.get("currency_code") or order.get("default_currency_code")).upper()
        if len(currency) != 3:
            raise ValueError(f"currency_code: {currency!r} is not an ISO 4217 code")
    except (KeyError, TypeError, ValueError, ArithmeticError, IndexError) as exc:
        return PayloadError(store, ref, field, f"{type(exc).__name__}: {exc}", raw=pieces.raw())
    customer_id = order.get("customer_id") or 0
    method = _text(first.get("shipping_method")) if isinstance(first, Mapping) else ""
    return Order(
        store=store,
        order_id=order_id,
        number=order_id,
        status=status,
        state=_text(order.get("custom_status") or order.get("status")) or None,
        created_at=created,
        updated_at=updated,
        currency=currency,
        customer=billing_customer(billing, customer_id),
        billing_address=billing,
        shipping_address=shipping,
        shipping_method="" if method == "None" else method,
        lines=lines,
        totals=totals,
        payments=(
            Payment(
                _text(order.get("payment_method")),
                amount_paid=totals.paid,
                amount_authorized=totals.grand_total
                if str(order.get("payment_status") or "").lower() == "authorized"
                else ZERO,
                transaction_id=_text(order.get("payment_provider_id")) or None,
            ),
        ),
        shipments=shipments,
        notes=_notes(order),
        raw=pieces.raw(),
    )


def parse_item(store: str, product: Mapping[str, Any], variant: Mapping[str, Any] | None, currency: str) -> Item:
    """A catalog v3 product (or one of its variants) as an :class:`Item` for a phone order. ``item_id`` is
    ``"<product_id>"`` for a product without variants of its own, else ``"<product_id>:<variant_id>"``."""
    source = variant if variant is not None else product
    price = source.get("calculated_price") if source.get("price") in (None, "") else source.get("price")
    if price in (None, ""):
        price = product.get("price")
    item_id = str(int(product["id"]))
    if variant is not None and not _is_base(product, variant):
        item_id = f"{item_id}:{int(variant['id'])}"
    level = source.get("inventory_level")
    tracking = _text(product.get("inventory_tracking"))
    return Item(
        source=store,
        item_id=item_id,
        sku=_text(source.get("sku") or product.get("sku")),
        name=_text(product.get("name")),
        price=money(price, "price"),
        currency=currency,
        available=Decimal(int(level)) if tracking not in ("", "none") and level is not None else None,
        item_type=_text(product.get("type")),
    )


def _is_base(product: Mapping[str, Any], variant: Mapping[str, Any]) -> bool:
    return bool(variant.get("id") == product.get("base_variant_id") and not variant.get("option_values"))
