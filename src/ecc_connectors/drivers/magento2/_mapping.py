"""Magento order, product and address JSON to and from the SDK's model.

Amounts go through ``Decimal(str(value))``; bodies are decoded with ``parse_float=Decimal`` (see
``_errors.decode_json``), so no amount ever passes through a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ...driver import Address, Customer, Item, Note, Order, OrderLine, PayloadError, Payment, Totals

__all__ = ["DEFAULT_STATUSES", "address_to_magento", "map_order", "map_product", "order_ref"]

ZERO = Decimal("0")


class _Bad(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


# Magento keeps amounts in DECIMAL(20,4) columns and quantities in DECIMAL(12,4): nothing it stores reaches
# 10^25 or needs more than 30 places. A number beyond that is poison (``1e1000000`` overflows the first sum
# made with it), refused here with its field named, before any arithmetic.
_MAX_ADJUSTED = 24
_MIN_ADJUSTED = -30


def _finite(value: Decimal, field: str) -> Decimal:
    if not value.is_finite():
        raise _Bad(field, f"not a finite number: {value!r}")
    if value and not _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED:
        raise _Bad(field, f"out of range: {_short(value)}")
    return value


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


# The helpers below take the field's path as a prefix (``"items[2]."``) and join it to the key only when they
# report a problem: a download maps about forty amounts and texts per order, nearly all of them good.


def _money(data: Mapping[str, Any], key: str, prefix: str = "") -> Decimal | None:
    """The amount under ``key``; ``None`` when absent or null (Magento leaves unset amounts out)."""
    value = data.get(key)
    if value is None:
        return None
    # Fast path: bodies are decoded with exact Decimals, so most amounts arrive ready to use.
    if (
        type(value) is Decimal
        and value.is_finite()
        and (not value or _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED)
    ):
        return value
    return _other_money(value, prefix + key)


def _other_money(value: Any, field: str) -> Decimal:
    kind = type(value)
    if kind is Decimal:
        return _finite(value, field)
    if kind is int:
        if not -(10**_MAX_ADJUSTED) < value < 10**_MAX_ADJUSTED:
            raise _Bad(field, f"out of range: {_short(value)}")
        return Decimal(value)
    if isinstance(value, bool):
        raise _Bad(field, f"expected a number, got {value!r}")
    if isinstance(value, (int, Decimal, str, float)):
        text = str(value).strip()
        if len(text) > 100:
            raise _Bad(field, f"not a number: {_short(text)!r}")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise _Bad(field, f"not a number: {value!r}") from None
        return _finite(result, field)
    raise _Bad(field, f"expected a number, got {type(value).__name__}")


def _amount(data: Mapping[str, Any], key: str, prefix: str = "") -> Decimal:
    value = _money(data, key, prefix)
    return ZERO if value is None else value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if type(value) is str:
        return value
    return "" if value is None else str(value)


def _required_text(data: Mapping[str, Any], key: str, prefix: str = "") -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, (dict, list)):
        raise _Bad(prefix + key, "missing" if value is None else f"unusable value {value!r}")
    return str(value)


def _id(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


def parse_magento_datetime(value: Any, field: str) -> datetime:
    """Magento writes ``"2020-04-24 15:50:17"`` in UTC whatever the store's time zone; an ISO string with an
    offset is accepted too."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(field, "missing" if value is None else f"expected a date-time string, got {value!r}")
    try:
        # Magento's own form parses as it is; the copies that tidy other forms are made only when it does not.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(field, f"not a date-time: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _mapping(value: Any, field: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Bad(field, f"expected an object, got {type(value).__name__}")
    return value


def _address(data: Mapping[str, Any] | None, field: str) -> Address | None:
    if data is None:
        return None
    street = data.get("street")
    if street is None:
        lines: tuple[str, ...] = ()
    elif isinstance(street, list):
        lines = tuple(str(s) for s in street if s is not None)
    elif isinstance(street, str):
        lines = tuple(street.splitlines())
    else:
        raise _Bad(f"{field}.street", f"expected a list of lines, got {type(street).__name__}")
    parts = (_text(data, "firstname"), _text(data, "middlename"), _text(data, "lastname"))
    name = " ".join(p for p in parts if p)
    return Address(
        name=name,
        company=_text(data, "company"),
        street=lines,
        city=_text(data, "city"),
        region=_text(data, "region") or _text(data, "region_code"),
        postcode=_text(data, "postcode"),
        country=_text(data, "country_id"),
        phone=_text(data, "telephone"),
        email=_text(data, "email"),
    )


def _shipping(data: Mapping[str, Any]) -> tuple[Address | None, str]:
    ext = _mapping(data.get("extension_attributes"), "extension_attributes") or {}
    assignments = ext.get("shipping_assignments") or []
    if not isinstance(assignments, list):
        raise _Bad("extension_attributes.shipping_assignments", "expected a list")
    method = ""
    address = None
    if assignments:
        first = _mapping(assignments[0], "extension_attributes.shipping_assignments[0]") or {}
        shipping = _mapping(first.get("shipping"), "shipping_assignments[0].shipping") or {}
        address = _address(
            _mapping(shipping.get("address"), "shipping_assignments[0].shipping.address"), "shipping_address"
        )
        method = _text(shipping, "method")
    return address, method or _text(data, "shipping_description")


def _lines(items: Any) -> tuple[OrderLine, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _Bad("items", f"expected a list, got {type(items).__name__}")
    rows = []
    for index, item in enumerate(items):
        row = _mapping(item, f"items[{index}]")
        if row is None:
            raise _Bad(f"items[{index}]", "null item")
        rows.append(row)
    types = {_id(row.get("item_id")): _text(row, "product_type") for row in rows}
    children: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        parent = _id(row.get("parent_item_id"))
        if parent is not None:
            children.setdefault(parent, []).append(row)
    lines = []
    for index, row in enumerate(rows):
        where = f"items[{index}]."
        line_id = _required_text(row, "item_id", where)
        parent = _id(row.get("parent_item_id"))
        if parent is not None:
            # A configurable's simple child repeats the parent's price and quantity with a zero row total.
            counts = types.get(parent) != "configurable"
        else:
            # A dynamic-price bundle's children carry the amounts; then the bundle line itself must not count.
            kids = children.get(line_id, [])
            counts = not (types.get(line_id) == "bundle" and any(_amount(k, "row_total") != ZERO for k in kids))
        quantity = _money(row, "qty_ordered", where)
        if quantity is None:
            raise _Bad(f"{where}qty_ordered", "missing")
        lines.append(
            OrderLine(
                line_id=line_id,
                sku=_text(row, "sku"),
                name=_text(row, "name"),
                quantity=quantity,
                unit_price=_amount(row, "price", where),
                tax=_amount(row, "tax_amount", where),
                discount=_amount(row, "discount_amount", where),
                row_total=_amount(row, "row_total", where),
                quantity_shipped=_amount(row, "qty_shipped", where),
                parent_line_id=parent,
                product_type=_text(row, "product_type"),
                counts=counts,
            )
        )
    return tuple(lines)


def _totals(data: Mapping[str, Any]) -> Totals:
    grand_total = _amount(data, "grand_total")
    # Magento leaves total_paid / total_due out (not 0) until something is invoiced.
    paid = _amount(data, "total_paid")
    due = _money(data, "total_due")
    return Totals(
        subtotal=_amount(data, "subtotal"),
        shipping=_amount(data, "shipping_amount"),
        tax=_amount(data, "tax_amount"),
        discount=_amount(data, "discount_amount"),
        grand_total=grand_total,
        paid=paid,
        due=grand_total - paid if due is None else due,
        refunded=_amount(data, "total_refunded"),
    )


def _payments(data: Mapping[str, Any]) -> tuple[Payment, ...]:
    payment = _mapping(data.get("payment"), "payment")
    if payment is None:
        return ()
    return (
        Payment(
            method=_text(payment, "method"),
            amount_paid=_amount(payment, "amount_paid", "payment."),
            amount_authorized=_amount(payment, "amount_authorized", "payment."),
            transaction_id=_id(payment.get("last_trans_id")),
        ),
    )


def _notes(data: Mapping[str, Any]) -> tuple[Note, ...]:
    histories = data.get("status_histories") or []
    if not isinstance(histories, list):
        raise _Bad("status_histories", "expected a list")
    notes = []
    for index, entry in enumerate(histories):
        row = _mapping(entry, f"status_histories[{index}]") or {}
        created = row.get("created_at")
        notes.append(
            Note(
                text=_text(row, "comment"),
                created_at=None
                if created is None
                else parse_magento_datetime(created, f"status_histories[{index}].created_at"),
                customer_visible=bool(row.get("is_visible_on_front")),
                status=_id(row.get("status")),
            )
        )
    return tuple(notes)


def _customer(data: Mapping[str, Any], billing: Address | None) -> Customer:
    name = " ".join(p for p in (_text(data, "customer_firstname"), _text(data, "customer_lastname")) if p)
    is_guest = bool(data.get("customer_is_guest"))
    return Customer(
        name=name or (billing.name if billing else ""),
        email=_text(data, "customer_email") or (billing.email if billing else ""),
        phone=billing.phone if billing else "",
        is_guest=is_guest,
        store_customer_id=None if is_guest else _id(data.get("customer_id")),
    )


def order_ref(data: Any) -> str | None:
    """What to call an order in an error: its increment id, else its entity id (``None`` when neither is a
    plain value)."""
    if isinstance(data, Mapping):
        for key in ("increment_id", "entity_id"):
            value = data.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                text = _short(value)
                if text.strip():
                    return text
    return None


def map_order(data: Any, store: str, raw: Any = None) -> Order:
    """One Magento order (``GET /V1/orders/{id}`` or an item of ``GET /V1/orders``) as an :class:`Order`.

    Raises :class:`PayloadError` naming the field at fault. ``raw`` is kept on the order (and on the error):
    the order's JSON text as received when the caller has it, else ``data`` itself.
    """
    if raw is None:
        raw = data
    try:
        if not isinstance(data, Mapping):
            raise _Bad("(order)", f"expected an object, got {type(data).__name__}")
        billing = _address(_mapping(data.get("billing_address"), "billing_address"), "billing_address")
        shipping_address, shipping_method = _shipping(data)
        currency = _text(data, "order_currency_code") or _text(data, "base_currency_code")
        if not currency:
            raise _Bad("order_currency_code", "missing")
        return Order(
            store=store,
            order_id=_required_text(data, "entity_id"),
            number=_required_text(data, "increment_id"),
            status=_required_text(data, "status"),
            state=_id(data.get("state")),
            created_at=parse_magento_datetime(data.get("created_at"), "created_at"),
            updated_at=parse_magento_datetime(data.get("updated_at") or data.get("created_at"), "updated_at"),
            currency=currency,
            customer=_customer(data, billing),
            billing_address=billing,
            shipping_address=shipping_address,
            shipping_method=shipping_method,
            lines=_lines(data.get("items")),
            totals=_totals(data),
            payments=_payments(data),
            notes=_notes(data),
            replaces=_id(data.get("relation_parent_id")),
            raw=raw,
        )
    except _Bad as bad:
        raise PayloadError(store, order_ref(data), bad.field, bad.problem, raw=raw) from None
    except Exception as exc:
        # Whatever else one order's data can do to the mapping (an arithmetic trap, a value nested too deep to
        # print, a type no field expects) stays that order's problem: it never escapes to its page.
        raise PayloadError(store, order_ref(data), "(order)", _problem(exc), raw=raw) from None


def _problem(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {_short(text)}" if text else type(exc).__name__


def map_product(data: Any, source: str = "magento2") -> Item:
    """One product of ``GET /V1/products`` as an :class:`Item`."""
    if not isinstance(data, Mapping):
        problem = f"expected an object, got {type(data).__name__}"
        raise PayloadError(source, None, "(product)", problem, raw=data)
    try:
        return Item(
            source=source,
            item_id=_required_text(data, "id"),
            sku=_required_text(data, "sku"),
            name=_text(data, "name"),
            price=_amount(data, "price"),
            item_type=_text(data, "type_id"),
        )
    except _Bad as bad:
        raise PayloadError(source, _id(data.get("sku")), bad.field, bad.problem, raw=data) from None


def address_to_magento(address: Address, email: str) -> dict[str, Any]:
    """An :class:`Address` as Magento's ``quote-data-address-interface``.

    The schema requires ``region``, ``region_id`` and ``region_code``; the model has one ``region`` string,
    sent as both name and code, with ``region_id`` 0 so that Magento looks the region up from code and
    country.
    """
    first, _, last = address.name.strip().partition(" ")
    return {
        "firstname": first or "-",
        "lastname": last.strip() or first or "-",
        "company": address.company,
        "street": list(address.street) or [""],
        "city": address.city,
        "region": address.region,
        "region_id": 0,
        "region_code": address.region,
        "postcode": address.postcode,
        "country_id": address.country,
        "telephone": address.phone,
        "email": address.email or email,
    }


# Magento has no REST call listing order statuses; these are the statuses a fresh store ships with, each with
# the state it belongs to (Stores > Settings > Order Status).
DEFAULT_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("pending", "Pending", "new"),
    ("pending_payment", "Pending Payment", "pending_payment"),
    ("payment_review", "Payment Review", "payment_review"),
    ("fraud", "Suspected Fraud", "payment_review"),
    ("processing", "Processing", "processing"),
    ("complete", "Complete", "complete"),
    ("closed", "Closed", "closed"),
    ("canceled", "Canceled", "canceled"),
    ("holded", "On Hold", "holded"),
)
