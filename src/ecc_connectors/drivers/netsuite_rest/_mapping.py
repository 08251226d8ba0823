"""From SuiteQL rows to the SDK's model, and the status tables.

Theory of operation: an order is read as SuiteQL rows (one ``transaction`` row, its ``transactionline`` rows, and
its shipping and billing address rows) and mapped here, the same way whether the rows came from a listing page or
from ``get_order``, so a copy read back after a write compares equal to the copy the next download lists.

Statuses: SuiteQL's ``transaction.status`` of a sales order is a letter (``SalesOrd:A`` ... ``SalesOrd:H`` in
searches); the driver names them by the SOAP record's ``orderStatus`` codes (``_pendingApproval`` ...), so one
policy works with the ``netsuite`` and the ``netsuite_rest`` driver alike. The letters follow the order of the
``SalesOrderOrderStatus`` enumeration of Oracle's schema (A is its first value, H its eighth); ``_undefined`` has
no letter.

Signs: SuiteQL reports a sales order's item lines as the postings they make, so ``quantity`` and
``foreignamount`` are negative; the model's quantities and amounts are positive, so their magnitude is taken.
Amounts are read as text into ``Decimal`` (never through ``float``). Countries are ISO 3166 codes in SuiteQL and in
the REST record service, so no table of SOAP country names is needed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ...driver import Address, Customer, Item, Order, OrderLine, PayloadError, Totals
from .._netsuite_common import to_decimal
from ..netsuite import ORDER_STATUSES
from ._suiteql import parse_stamp

__all__ = [
    "CODE_TO_LETTER",
    "LETTER_TO_CODE",
    "ORDER_STATUSES",
    "item_from_rows",
    "order_from_rows",
    "status_letters",
]

# The record's status codes are the SOAP driver's, one table for both: a ledger moves between them unchanged.
_STATE = {status.code: status.state for status in ORDER_STATUSES}
LETTER_TO_CODE: dict[str, str] = {
    letter: status.code for letter, status in zip("ABCDEFGH", ORDER_STATUSES[:8], strict=True)
}
CODE_TO_LETTER: dict[str, str] = {code: letter for letter, code in LETTER_TO_CODE.items()}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def status_letters(statuses: Sequence[str] | None) -> list[str] | None:
    """SuiteQL letters for the statuses a policy names: SOAP record codes (``_pendingFulfillment``), search
    values of either driver (``SalesOrd:B``) or letters. ``None``: do not filter (no statuses, or ``_undefined``,
    which has no letter and so stands for "whatever the status"). Unknown names raise ``ValueError``."""
    if statuses is None:
        return None
    letters: list[str] = []
    for status in statuses:
        text = status.strip()
        if text.startswith("SalesOrd:"):
            text = text[len("SalesOrd:") :]
        if text == "_undefined":
            return None
        letter = CODE_TO_LETTER.get(text, text if text in LETTER_TO_CODE else None)
        if letter is None:
            known = ", ".join(CODE_TO_LETTER)
            raise ValueError(f"unknown NetSuite sales order status {status!r} (known: {known}, or SalesOrd:A..H)")
        if letter not in letters:
            letters.append(letter)
    return letters


def _money(row: Mapping[str, Any], name: str, field: str, order_id: str, store: str) -> Decimal:
    value = row.get(name)
    result = to_decimal(value, None)
    if result is None:
        if value is None or value == "":
            return Decimal("0")
        raise PayloadError(store, order_id, field, f"{name} is not an amount: {value!r}", dict(row))
    if not result.is_finite():
        raise PayloadError(store, order_id, field, f"{name} is not a finite amount: {value!r}", dict(row))
    return result


def _text(row: Mapping[str, Any] | None, name: str) -> str:
    if row is None:
        return ""
    value = row.get(name)
    return "" if value is None else str(value)


def _address(row: Mapping[str, Any] | None) -> Address | None:
    if row is None:
        return None
    street = tuple(part for part in (_text(row, "addr1"), _text(row, "addr2"), _text(row, "addr3")) if part)
    return Address(
        name=_text(row, "addressee"),
        company=_text(row, "attention"),
        street=street,
        city=_text(row, "city"),
        region=_text(row, "state"),
        postcode=_text(row, "zip"),
        country=_text(row, "country").upper(),
        phone=_text(row, "addrphone"),
    )


def _line(row: Mapping[str, Any], order_id: str, store: str) -> OrderLine:
    line_id = _text(row, "id")
    where = f"lines[{line_id}]"
    quantity = abs(_money(row, "quantity", f"{where}.quantity", order_id, store))
    amount = abs(_money(row, "foreignamount", f"{where}.row_total", order_id, store))
    rate = to_decimal(row.get("rate"), None)
    if rate is None or not rate.is_finite():
        rate = amount / quantity if quantity else Decimal("0")  # a line without a rate: its own arithmetic
    sku = _text(row, "itemname")
    return OrderLine(
        line_id=line_id,
        sku=sku,
        name=_text(row, "memo") or sku,
        quantity=quantity,
        unit_price=abs(rate),
        row_total=amount,
        quantity_shipped=abs(_money(row, "quantityshiprecv", f"{where}.quantity_shipped", order_id, store)),
    )


def order_key_of(row: Mapping[str, Any], zone: ZoneInfo) -> tuple[int, datetime] | None:
    """The ``(id, lastmodifieddate)`` of a transaction row, or ``None`` when either cannot be read."""
    try:
        return int(str(row.get("id"))), parse_stamp(str(row.get("modified")), zone)
    except (TypeError, ValueError):
        return None


def order_from_rows(
    header: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    shipping: Mapping[str, Any] | None,
    billing: Mapping[str, Any] | None,
    *,
    store: str,
    default_currency: str,
    zone: ZoneInfo,
) -> Order:
    """One sales order. Raises :class:`PayloadError` (raw rows kept) naming the field that cannot be read."""
    order_id = _text(header, "id")
    raw = {
        "transaction": dict(header),
        "lines": [dict(line) for line in lines],
        "shippingAddress": dict(shipping) if shipping is not None else None,
        "billingAddress": dict(billing) if billing is not None else None,
    }
    letter = _text(header, "status")
    status = LETTER_TO_CODE.get(letter)
    if status is None:
        raise PayloadError(store, order_id, "status", f"unknown sales order status letter {letter!r}", raw)
    try:
        updated = parse_stamp(_text(header, "modified"), zone)
    except ValueError:
        raise PayloadError(store, order_id, "updated_at", "lastmodifieddate cannot be read", raw) from None
    try:
        created = parse_stamp(_text(header, "created"), zone) if header.get("created") else updated
    except ValueError:
        raise PayloadError(store, order_id, "created_at", "createddate cannot be read", raw) from None
    try:
        order_lines = tuple(_line(line, order_id, store) for line in lines)
        total = _money(header, "foreigntotal", "totals.grand_total", order_id, store)
        tax = _money(header, "taxtotal", "totals.tax", order_id, store)
        shipping_cost = _money(header, "shippingcost", "totals.shipping", order_id, store)
        discount = _money(header, "discounttotal", "totals.discount", order_id, store)
    except PayloadError as error:
        raise PayloadError(store, order_id, error.field, error.problem, raw) from None
    currency = _text(header, "currencyname")
    billing_address = _address(billing)
    return Order(
        store=store,
        order_id=order_id,
        number=_text(header, "tranid"),
        status=status,
        state=_STATE.get(status),
        created_at=created,
        updated_at=updated,
        currency=currency if _CURRENCY_CODE.match(currency) else default_currency,
        customer=Customer(
            name=_text(header, "entityname"),
            email=_text(header, "email"),
            phone=billing_address.phone if billing_address else "",
            store_customer_id=_text(header, "entity") or None,
        ),
        billing_address=billing_address,
        shipping_address=_address(shipping),
        shipping_method=_text(header, "shipmethodname"),
        lines=order_lines,
        totals=Totals(
            subtotal=sum((line.row_total for line in order_lines), Decimal("0")),
            shipping=shipping_cost,
            tax=tax,
            discount=abs(discount),  # NetSuite writes discounts as negative amounts
            grand_total=total,
        ),
        raw=raw,
    )


def item_from_rows(
    row: Mapping[str, Any],
    prices: Sequence[Mapping[str, Any]],
    stock: Sequence[Mapping[str, Any]],
    currency: str,
) -> Item:
    """An item for phone orders: its price at the lowest quantity break of the price level asked for, and the
    quantity available summed over the locations asked for (``None`` for kinds that keep no stock)."""
    ranked = sorted(prices, key=lambda p: to_decimal(p.get("priceqty")) or Decimal("0"))
    price = to_decimal(ranked[0].get("unitprice"), None) if ranked else None
    kind = _text(row, "itemtype")
    available: Decimal | None = None
    if kind in ("InvtPart", "Assembly"):
        available = sum((to_decimal(s.get("quantityavailable")) or Decimal("0") for s in stock), Decimal("0"))
    sku = _text(row, "itemid")
    return Item(
        source="netsuite",
        item_id=_text(row, "id"),
        sku=sku,
        name=_text(row, "displayname") or sku,
        price=price if price is not None and price.is_finite() else Decimal("0"),
        currency=currency,
        available=available,
        item_type=kind,
    )
