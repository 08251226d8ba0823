"""WooCommerce payloads (REST ``wc/v3``) onto the SDK's model: orders, keys and catalogue items.

Theory of operation: every function here is pure (a decoded JSON value in, a model value out) so the mapping is
tested on the recorded fixtures without a store. Facts relied on (WooCommerce REST API docs, "Orders"):

* times: ``date_*_gmt`` are UTC written without an offset (``2017-03-22T19:28:08``); the plain ``date_*`` are
  the site's local time and are never used for a stamp;
* money is a decimal *string* in the order's ``currency`` (``"29.35"``); a line's ``price`` is a JSON number,
  decoded exactly (``JsonRest.decode`` turns non-integers into ``Decimal``), and a float never reaches the model;
* ``status`` is the order status slug without WooCommerce's internal ``wc-`` prefix; plugin-registered statuses
  (``wc-shipped`` is served as ``shipped``) are kept exactly as the store sends them;
* ``line_items`` carry ``subtotal`` (before coupons) and ``total`` (after); ``fee_lines``, ``shipping_lines``,
  ``coupon_lines``, ``tax_lines`` and ``refunds`` (each with a negative ``total``) complete the order.

WooCommerce core has no shipment object: an order is fulfilled when it is ``completed`` (``date_completed_gmt``).
So every line counts as shipped in a completed order, and the order carries one :class:`Shipment` per tracking
item of the Shipment Tracking extension (order meta ``_wc_shipment_tracking_items``) or, without any, one
untracked shipment dated ``date_completed_gmt``. Paid means ``date_paid_gmt`` is set: ``Totals.paid`` is then the
order total. Coupons and fees become lines that do not count for shipping (``counts=False``), so the Updates tab
sees a coupon added or removed. ``customer_note`` (the shopper's checkout note) is the order's one note: order
notes are a separate resource, read only by the write flows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ...driver import (
    Address,
    Item,
    Note,
    Order,
    OrderKey,
    OrderLine,
    PayloadError,
    Payment,
    Shipment,
    Totals,
)
from .._common import billing_customer

__all__ = ["TRACKING_META", "gmt", "item_from_product", "key_of", "money", "order_from_payload", "tracking_items"]

ZERO = Decimal(0)
TRACKING_META = "_wc_shipment_tracking_items"
"""The order meta key under which the Shipment Tracking extension keeps its items."""


class _Bad(ValueError):
    """A field that cannot be read; carries the field's name for the PayloadError."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(problem)


def gmt(value: Any, field: str) -> datetime:
    """A ``*_gmt`` time (``2017-03-22T19:28:08``, perhaps with ``Z`` or an offset) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise _Bad(field, f"expected a GMT time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(field, f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _gmt_or_none(value: Any, field: str) -> datetime | None:
    return None if value in (None, "") else gmt(value, field)


def money(value: Any, field: str) -> Decimal:
    """A WooCommerce amount: a decimal string (``"29.35"``), an integer or an exact ``Decimal``; ``""`` and
    ``None`` are zero. A float is refused (it would already have lost the amount)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool | float):
        raise _Bad(field, f"an amount must be a decimal string, got {type(value).__name__} {value!r}")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise _Bad(field, f"not an amount: {value!r}") from None
    else:
        raise _Bad(field, f"not an amount: {value!r}")
    if not amount.is_finite():
        raise _Bad(field, f"not a finite amount: {value!r}")
    return amount


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _rows(payload: Mapping[str, Any], field: str) -> Sequence[Any]:
    rows = payload.get(field)
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise _Bad(field, f"expected a list, got {type(rows).__name__}")
    return rows


def _address(data: Any, field: str) -> Address | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise _Bad(field, f"expected an object, got {type(data).__name__}")
    name = " ".join(p for p in (_text(data.get("first_name")), _text(data.get("last_name"))) if p)
    street = tuple(s for s in (_text(data.get("address_1")), _text(data.get("address_2"))) if s)
    address = Address(
        name=name,
        company=_text(data.get("company")),
        street=street,
        city=_text(data.get("city")),
        region=_text(data.get("state")),
        postcode=_text(data.get("postcode")),
        country=_text(data.get("country")),
        phone=_text(data.get("phone")),
        email=_text(data.get("email")),
    )
    return None if address == Address() else address


def _quantity(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _Bad(field, f"not a quantity: {value!r}")
    return money(value, field)


def _line(row: Any, index: int, completed: bool) -> OrderLine:
    field = f"line_items[{index}]"
    if not isinstance(row, Mapping):
        raise _Bad(field, "a line item is a JSON object")
    quantity = _quantity(row.get("quantity"), f"{field}.quantity")
    subtotal = money(row.get("subtotal"), f"{field}.subtotal")
    total = money(row.get("total"), f"{field}.total")
    if "price" in row and row["price"] not in (None, ""):
        unit = money(row["price"], f"{field}.price")
    else:
        unit = (total / quantity) if quantity else ZERO
    return OrderLine(
        line_id=str(row.get("id")),
        sku=_text(row.get("sku")),
        name=_text(row.get("name")),
        quantity=quantity,
        unit_price=unit,
        tax=money(row.get("total_tax"), f"{field}.total_tax"),
        discount=subtotal - total,
        row_total=total,
        quantity_shipped=quantity if completed else ZERO,
        product_type="variation" if row.get("variation_id") else "product",
    )


def _fee(row: Any, index: int) -> OrderLine:
    field = f"fee_lines[{index}]"
    if not isinstance(row, Mapping):
        raise _Bad(field, "a fee line is a JSON object")
    total = money(row.get("total"), f"{field}.total")
    return OrderLine(
        line_id=f"fee:{row.get('id')}",
        sku="",
        name=_text(row.get("name")),
        quantity=Decimal(1),
        unit_price=total,
        tax=money(row.get("total_tax"), f"{field}.total_tax"),
        row_total=total,
        product_type="fee",
        counts=False,
    )


def _coupon(row: Any, index: int) -> OrderLine:
    field = f"coupon_lines[{index}]"
    if not isinstance(row, Mapping):
        raise _Bad(field, "a coupon line is a JSON object")
    discount = money(row.get("discount"), f"{field}.discount")
    return OrderLine(
        line_id=f"coupon:{row.get('id')}",
        sku=_text(row.get("code")),
        name=_text(row.get("code")),
        quantity=Decimal(1),
        unit_price=-discount,
        tax=-money(row.get("discount_tax"), f"{field}.discount_tax"),
        row_total=-discount,
        product_type="coupon",
        counts=False,
    )


def tracking_items(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The Shipment Tracking extension's items kept in the order's ``meta_data`` (none without the extension)."""
    found: list[Mapping[str, Any]] = []
    for meta in payload.get("meta_data") or ():
        if isinstance(meta, Mapping) and meta.get("key") == TRACKING_META and isinstance(meta.get("value"), list):
            found += [item for item in meta["value"] if isinstance(item, Mapping)]
    return found


def _shipped_on(value: Any) -> datetime | None:
    """``date_shipped`` of a tracking item: a Unix time (stored meta) or ``YYYY-MM-DD`` (the extension's API)."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | Decimal) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), timezone.utc)
        return gmt(str(value)[:10] + "T00:00:00", "date_shipped")
    except (ValueError, OverflowError, OSError):
        return None


def _shipments(payload: Mapping[str, Any], completed_at: datetime | None, method: str) -> tuple[Shipment, ...]:
    shipments = [
        Shipment(
            _text(item.get("tracking_id")) or None,
            (_text(item.get("tracking_number")),) if _text(item.get("tracking_number")) else (),
            carrier=_text(item.get("tracking_provider")) or _text(item.get("custom_tracking_provider")),
            method=method,
            created_at=_shipped_on(item.get("date_shipped")),
        )
        for item in tracking_items(payload)
    ]
    if not shipments and completed_at is not None:
        shipments.append(Shipment(None, (), method=method, created_at=completed_at))
    return tuple(shipments)


def order_from_payload(store: str, payload: Any) -> Order | PayloadError:
    """One order of an answer, or a :class:`PayloadError` naming the field and keeping the payload whole."""
    ref = _text(payload.get("id")) or None if isinstance(payload, Mapping) else None
    field = "order"
    try:
        if not isinstance(payload, Mapping):
            raise _Bad("order", "an order is a JSON object")
        field = "id"
        order_id = str(int(payload["id"]))
        field = "currency"
        currency = _text(payload.get("currency")).upper()
        if not currency:
            raise _Bad("currency", "the order has no currency")
        status = _text(payload.get("status"))
        if not status:
            raise _Bad("status", "the order has no status")
        created = gmt(payload.get("date_created_gmt"), "date_created_gmt")
        updated = gmt(payload.get("date_modified_gmt"), "date_modified_gmt")
        paid_at = _gmt_or_none(payload.get("date_paid_gmt"), "date_paid_gmt")
        completed_at = _gmt_or_none(payload.get("date_completed_gmt"), "date_completed_gmt")
        completed = status == "completed"
        lines = [_line(row, i, completed) for i, row in enumerate(_rows(payload, "line_items"))]
        subtotal = sum(
            (
                money(row.get("subtotal"), f"line_items[{i}].subtotal")
                for i, row in enumerate(_rows(payload, "line_items"))
            ),
            ZERO,
        )
        lines += [_fee(row, i) for i, row in enumerate(_rows(payload, "fee_lines"))]
        lines += [_coupon(row, i) for i, row in enumerate(_rows(payload, "coupon_lines"))]
        methods = [
            _text(row.get("method_title")) or _text(row.get("method_id"))
            for row in _rows(payload, "shipping_lines")
            if isinstance(row, Mapping)
        ]
        refunded = sum(
            (
                abs(money(row.get("total"), f"refunds[{i}].total"))
                for i, row in enumerate(_rows(payload, "refunds"))
                if isinstance(row, Mapping)
            ),
            ZERO,
        )
        grand = money(payload.get("total"), "total")
        paid = grand if paid_at is not None else ZERO
        totals = Totals(
            subtotal=subtotal,
            shipping=money(payload.get("shipping_total"), "shipping_total"),
            tax=money(payload.get("total_tax"), "total_tax"),
            discount=money(payload.get("discount_total"), "discount_total"),
            grand_total=grand,
            paid=paid,
            due=grand - paid,
            refunded=refunded,
        )
        billing = _address(payload.get("billing"), "billing")
        shipping = _address(payload.get("shipping"), "shipping")
        method = ", ".join(m for m in methods if m)
        shipments = _shipments(payload, completed_at, method)
    except _Bad as exc:
        return PayloadError(store, ref, exc.field, str(exc), raw=payload)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return PayloadError(store, ref, field, f"{type(exc).__name__}: {exc}", raw=payload)
    customer_id = payload.get("customer_id")
    note = _text(payload.get("customer_note"))
    payment_name = _text(payload.get("payment_method_title")) or _text(payload.get("payment_method"))
    return Order(
        store=store,
        order_id=order_id,
        number=_text(payload.get("number")) or order_id,
        status=status,
        created_at=created,
        updated_at=updated,
        currency=currency,
        customer=billing_customer(billing, customer_id),
        billing_address=billing,
        shipping_address=shipping,
        shipping_method=method,
        lines=tuple(lines),
        totals=totals,
        payments=(Payment(payment_name, paid, transaction_id=_text(payload.get("transaction_id")) or None),)
        if payment_name or paid
        else (),
        shipments=shipments,
        notes=(Note(note, created_at=created, customer_visible=False),) if note else (),
        raw=payload,
    )


def key_of(row: Any) -> OrderKey:
    """``(date_modified_gmt, id)`` of a listed row; ``ValueError`` (or ``KeyError``/``TypeError``) when absent."""
    if not isinstance(row, Mapping):
        raise TypeError("a listed order is a JSON object")
    return OrderKey(gmt(row.get("date_modified_gmt"), "date_modified_gmt"), int(row["id"]))


def item_from_product(source: str, product: Mapping[str, Any], parent: Mapping[str, Any] | None = None) -> Item:
    """A product (or a variation of ``parent``) as a catalogue :class:`Item`. ``item_id`` is the product id, or
    ``"<product id>:<variation id>"`` for a variation, which is how a phone order names it again."""
    price = money(product.get("price"), "price")
    stock = product.get("stock_quantity")
    available = None if stock in (None, "") or isinstance(stock, bool) else money(stock, "stock_quantity")
    if parent is not None:
        item_id = f"{parent.get('id')}:{product.get('id')}"
        attributes = ", ".join(
            _text(a.get("option")) for a in product.get("attributes") or () if isinstance(a, Mapping)
        )
        name = _text(parent.get("name")) + (f" - {attributes}" if attributes else "")
        kind = "variation"
    else:
        item_id = str(product.get("id"))
        name = _text(product.get("name"))
        kind = _text(product.get("type")) or "simple"
    return Item(
        source=source,
        item_id=item_id,
        sku=_text(product.get("sku")),
        name=name,
        price=price,
        available=available,
        item_type=kind,
    )
