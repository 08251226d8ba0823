"""From SuiteTalk records to the SDK's model, and the status tables.

Records arrive as zeep objects; they are read through :func:`field` so that a field the schema in use does
not declare is simply absent, never an error. ``Order.raw`` keeps the whole record as JSON-safe data (custom
fields included), as zeep parsed it.
"""

from __future__ import annotations

import importlib
import re
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from ...driver import Address, Customer, Item, Order, OrderLine, StoreStatus, Totals
from .._netsuite_common import to_decimal
from ._countries import iso_from_country

__all__ = [
    "ORDER_STATUSES",
    "SEARCH_STATUS",
    "field",
    "item_from_record",
    "order_from_record",
    "search_status_values",
    "to_decimal",
]

# The record's orderStatus codes, with NetSuite's labels and a coarse state.
ORDER_STATUSES: tuple[StoreStatus, ...] = (
    StoreStatus("_pendingApproval", "Pending Approval", "new"),
    StoreStatus("_pendingFulfillment", "Pending Fulfillment", "processing"),
    StoreStatus("_cancelled", "Cancelled", "canceled"),
    StoreStatus("_partiallyFulfilled", "Partially Fulfilled", "processing"),
    StoreStatus("_pendingBillingPartFulfilled", "Pending Billing/Partially Fulfilled", "processing"),
    StoreStatus("_pendingBilling", "Pending Billing", "complete"),
    StoreStatus("_fullyBilled", "Billed", "complete"),
    StoreStatus("_closed", "Closed", "closed"),
    StoreStatus("_undefined", "Undefined", None),
)
_STATE = {status.code: status.state for status in ORDER_STATUSES}

# Searches filter on the transaction status enumeration, whose names differ from the record's codes.
SEARCH_STATUS: dict[str, str | None] = {
    "_pendingApproval": "_salesOrderPendingApproval",
    "_pendingFulfillment": "_salesOrderPendingFulfillment",
    "_cancelled": "_salesOrderCancelled",
    "_partiallyFulfilled": "_salesOrderPartiallyFulfilled",
    "_pendingBillingPartFulfilled": "_salesOrderPendingBillingPartiallyFulfilled",
    "_pendingBilling": "_salesOrderPendingBilling",
    "_fullyBilled": "_salesOrderBilled",
    "_closed": "_salesOrderClosed",
    "_undefined": None,  # no search value exists: asking for it means "do not filter by status"
}
_SEARCH_VALUES = {value for value in SEARCH_STATUS.values() if value}


def search_status_values(statuses: Iterable[str]) -> list[str] | None:
    """Search enumeration values for record codes (search values pass through); ``None``: do not filter."""
    values: list[str] = []
    for status in statuses:
        if status in _SEARCH_VALUES:
            value: str | None = status
        elif status in SEARCH_STATUS:
            value = SEARCH_STATUS[status]
        else:
            known = ", ".join(SEARCH_STATUS)
            raise ValueError(f"unknown NetSuite sales order status {status!r} (known: {known})")
        if value is None:
            return None
        if value not in values:
            values.append(value)
    return values


def field(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        value = obj.get(name, default)
    else:
        try:
            value = obj[name]
        except (KeyError, IndexError, TypeError, AttributeError):
            value = getattr(obj, name, default)
    return default if value is None else value


def _money(value: Any) -> Decimal:
    result = to_decimal(value)
    return result if result is not None else Decimal("0")


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        # NetSuite always sends an offset; a bare value would be the account's time zone, unknown here.
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=timezone.utc)
    return None


def _ref_name(ref: Any) -> str:
    return str(field(ref, "name", "") or "")


def _ref_id(ref: Any) -> str | None:
    value = field(ref, "internalId")
    return str(value) if value is not None else None


def _address(addr: Any, name: str) -> Address | None:
    """The model's address; ``name`` (``billingAddress``...) names the field in an :class:`UnknownCountry`."""
    if addr is None:
        return None
    street = tuple(str(part) for part in (field(addr, "addr1"), field(addr, "addr2"), field(addr, "addr3")) if part)
    country = str(field(addr, "country", "") or "")
    return Address(
        name=str(field(addr, "addressee", "") or ""),
        company=str(field(addr, "attention", "") or ""),
        street=street,
        city=str(field(addr, "city", "") or ""),
        region=str(field(addr, "state", "") or ""),
        postcode=str(field(addr, "zip", "") or ""),
        country=iso_from_country(country, f"{name}.country"),
        phone=str(field(addr, "addrPhone", "") or ""),
    )


_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def _currency(record: Any, default: str) -> str:
    for candidate in (_ref_name(field(record, "currency")), str(field(record, "currencyName", "") or "")):
        if _CURRENCY_CODE.match(candidate):
            return candidate
    return default


def _line(item: Any) -> OrderLine:
    ref = field(item, "item")
    quantity = _money(field(item, "quantity"))
    amount = _money(field(item, "amount"))
    rate = to_decimal(field(item, "rate"), None)
    if rate is None and quantity:
        rate = amount / quantity  # a rate given as a percentage or left out: the line's own arithmetic
    sku = _ref_name(ref)
    return OrderLine(
        line_id=str(field(item, "line", "") or ""),
        sku=sku,
        name=str(field(item, "description", "") or sku),
        quantity=quantity,
        unit_price=rate if rate is not None else Decimal("0"),
        tax=_money(field(item, "taxAmount")),
        row_total=amount,
        quantity_shipped=_money(field(item, "quantityFulfilled")),
    )


def jsonable(value: Any) -> Any:
    """zeep objects as JSON-safe data: Decimals and dates as strings, floats as their shortest text.

    Elements the WSDL in use does not declare (the compact WSDL knows only what the driver reads) are kept
    under ``"_unparsed"`` as XML text, so ``raw`` still holds every field NetSuite sent.
    """
    from lxml import etree

    helpers: Any = importlib.import_module("zeep.helpers")

    def convert(obj: Any) -> Any:
        if isinstance(obj, dict):
            converted = {}
            for key, item in obj.items():
                if item is None:
                    continue
                converted["_unparsed" if key == "_raw_elements" else str(key)] = convert(item)
            return converted
        if isinstance(obj, (list, tuple, deque)):
            return [convert(v) for v in obj]
        if isinstance(obj, etree._Element):
            return etree.tostring(obj, encoding="unicode")
        if isinstance(obj, (datetime, date)):
            return obj.isoformat()
        if isinstance(obj, Decimal):
            return str(obj)
        if isinstance(obj, float):
            return repr(obj)
        if isinstance(obj, (str, int, bool)) or obj is None:
            return obj
        return str(obj)

    return convert(helpers.serialize_object(value, dict))


def custom_fields(record: Any) -> dict[str, Any]:
    """Custom body fields by script id (or internal id), with their values as JSON-safe data."""
    result: dict[str, Any] = {}
    for custom in field(field(record, "customFieldList"), "customField", []) or []:
        key = field(custom, "scriptId") or field(custom, "internalId")
        if key:
            result[str(key)] = jsonable(field(custom, "value"))
    return result


def order_from_record(record: Any, store: str, default_currency: str) -> Order:
    """One SuiteTalk ``SalesOrder`` record (as zeep reads it, or the same fields in mappings) as an :class:`Order`
    of ``store``, in ``default_currency`` when the record names none.

    Raises :class:`ValueError` for a record without a date, and :class:`UnknownCountry` for an address whose
    country NetSuite's enumeration does not have (the driver turns it into a :class:`PayloadError`)."""
    status = str(field(record, "orderStatus", "") or "_undefined")
    created = _utc(field(record, "createdDate")) or _utc(field(record, "tranDate"))
    updated = _utc(field(record, "lastModifiedDate")) or created
    if created is None or updated is None:
        raise ValueError("the sales order has neither createdDate nor tranDate")
    entity = field(record, "entity")
    items = field(field(record, "itemList"), "item", []) or []
    discount = _money(field(record, "discountTotal"))
    raw = jsonable(record)
    raw["customFields"] = custom_fields(record)
    billing = _address(field(record, "billingAddress"), "billingAddress")
    return Order(
        store=store,
        order_id=str(field(record, "internalId")),
        number=str(field(record, "tranId", "") or ""),
        status=status,
        state=_STATE.get(status),
        created_at=created,
        updated_at=updated,
        currency=_currency(record, default_currency),
        customer=Customer(
            name=_ref_name(entity),
            email=str(field(record, "email", "") or ""),
            phone=billing.phone if billing else "",
            store_customer_id=_ref_id(entity),
        ),
        billing_address=billing,
        shipping_address=_address(field(record, "shippingAddress"), "shippingAddress"),
        shipping_method=_ref_name(field(record, "shipMethod")),
        lines=tuple(_line(item) for item in items),
        totals=Totals(
            subtotal=_money(field(record, "subTotal")),
            shipping=_money(field(record, "shippingCost")),
            tax=_money(field(record, "taxTotal")),
            discount=abs(discount),  # NetSuite writes discounts as negative amounts
            grand_total=_money(field(record, "total")),
        ),
        raw=raw,
    )


def record_type_name(record: Any) -> str:
    xsd_type = getattr(record, "_xsd_type", None)
    name = getattr(xsd_type, "name", None) or type(record).__name__
    return str(name)


def _base_price(record: Any, currency_id: str | None, price_level: str) -> Decimal | None:
    """The price for quantity 0 at ``price_level`` (internal id, or name such as "Base Price")."""
    matrix = field(field(record, "pricingMatrix"), "pricing", []) or []
    candidates = []
    for pricing in matrix:
        level = field(pricing, "priceLevel")
        if price_level not in (_ref_id(level), _ref_name(level)):
            continue
        if currency_id is not None and _ref_id(field(pricing, "currency")) not in (None, currency_id):
            continue
        prices = field(field(pricing, "priceList"), "price", []) or []
        ranked = sorted(prices, key=lambda p: to_decimal(field(p, "quantity")) or Decimal("0"))
        if ranked:
            candidates.append(to_decimal(field(ranked[0], "value"), None))
    return next((c for c in candidates if c is not None), None)


def item_from_record(record: Any, currency: str, currency_id: str | None = None, price_level: str = "1") -> Item:
    """An item for phone orders. Price: the base price level of the pricing matrix (quantity 0) when the
    account uses price levels, else the record's ``rate``; availability: ``quantityAvailable`` where the item
    kind tracks stock (inventory and assembly items), else ``None``."""
    price = _base_price(record, currency_id, price_level)
    if price is None:
        price = to_decimal(field(record, "rate"), None)
    available = field(record, "quantityAvailable")
    type_name = record_type_name(record)
    item_id = str(field(record, "itemId", "") or "")
    return Item(
        source="netsuite",
        item_id=str(field(record, "internalId")),
        sku=item_id,
        name=str(field(record, "displayName", "") or item_id),
        price=price if price is not None else Decimal("0"),
        currency=currency,
        available=to_decimal(available, None) if available is not None else None,
        item_type=type_name[:1].lower() + type_name[1:],
    )
