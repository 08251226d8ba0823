"""How an order's lines change in place as a Magento store ships, invoices, refunds and cancels them, and
amounts as Magento prints them. Shared by the seed (``_magento_seed``) and the store's writes and edits.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "CENT",
    "ZERO",
    "cancel_all",
    "invoice_all",
    "invoice_lines",
    "iter_item_views",
    "money",
    "num",
    "refund_all",
    "related_item_ids",
    "set_item_field",
    "ship_all",
    "ship_item",
]

CENT = Decimal("0.01")
ZERO = Decimal(0)


def num(value: Decimal | int) -> int | float:
    """A JSON number the way Magento prints it: ``5`` for whole amounts, ``396.87`` otherwise."""
    if isinstance(value, int):
        return value
    value = value.quantize(CENT, rounding=ROUND_HALF_UP) if value != value.to_integral_value() else value
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def iter_item_views(order: dict[str, Any], item_id: int) -> Iterator[dict[str, Any]]:
    """Every copy of one order line in the payload: ``items``, shipping assignment, nested ``parent_item``."""
    lists: list[Any] = [order.get("items") or []]
    extension = order.get("extension_attributes")
    if isinstance(extension, dict):
        for assignment in extension.get("shipping_assignments") or []:
            if isinstance(assignment, dict):
                lists.append(assignment.get("items") or [])
    seen: set[int] = set()
    for entries in lists:
        for item in entries:
            if not isinstance(item, dict):
                continue
            for view in (item, item.get("parent_item")):
                if isinstance(view, dict) and view.get("item_id") == item_id and id(view) not in seen:
                    seen.add(id(view))
                    yield view


def set_item_field(order: dict[str, Any], item_id: int, key: str, value: Any) -> None:
    for view in iter_item_views(order, item_id):
        view[key] = value


def related_item_ids(order: dict[str, Any], item_id: int) -> list[int]:
    """An item together with its configurable parent or children: Magento ships and invoices them together."""
    ids = [item_id]
    for item in order.get("items", []):
        if item.get("parent_item_id") == item_id:
            ids.append(item["item_id"])
        elif item.get("item_id") == item_id and item.get("parent_item_id") is not None:
            ids.append(item["parent_item_id"])
    return ids


def ship_item(order: dict[str, Any], item: dict[str, Any], qty: int | float) -> None:
    for item_id in related_item_ids(order, item["item_id"]):
        current = next(iter_item_views(order, item_id))
        set_item_field(order, item_id, "qty_shipped", num(_d(current.get("qty_shipped")) + _d(qty)))


def ship_all(order: dict[str, Any]) -> None:
    for item in order["items"]:
        remaining = (
            _d(item["qty_ordered"])
            - _d(item.get("qty_shipped"))
            - _d(item.get("qty_canceled"))
            - _d(item.get("qty_refunded"))
        )
        if remaining > 0:
            set_item_field(order, item["item_id"], "qty_shipped", num(_d(item.get("qty_shipped")) + remaining))


def _uninvoiced(item: dict[str, Any]) -> Decimal:
    """The units of a line neither invoiced nor canceled yet."""
    return _d(item.get("qty_ordered")) - _d(item.get("qty_invoiced")) - _d(item.get("qty_canceled"))


# An order total a whole-order invoice, refund or cancel sets -> the amount it copies, in both currencies.
_INVOICED_TOTALS = {
    "subtotal_invoiced": "subtotal",
    "tax_invoiced": "tax_amount",
    "shipping_invoiced": "shipping_amount",
    "discount_invoiced": "discount_amount",
}
_REFUNDED_TOTALS = {
    "subtotal_refunded": "subtotal",
    "tax_refunded": "tax_amount",
    "shipping_refunded": "shipping_amount",
}
_CANCELED_TOTALS = {
    "discount_canceled": "discount_amount",
    "shipping_canceled": "shipping_amount",
    "subtotal_canceled": "subtotal",
    "tax_canceled": "tax_amount",
    "total_canceled": "grand_total",
}


def _copy_totals(order: dict[str, Any], prefix: str, totals: dict[str, str]) -> None:
    """Set each total of ``totals`` (with ``prefix``: ``base_`` or none) to the amount it copies (0 when absent)."""
    for target, source in totals.items():
        order[f"{prefix}{target}"] = order.get(f"{prefix}{source}", 0)


def invoice_all(order: dict[str, Any]) -> Decimal:
    """Invoice every remaining line; sets the ``*_paid``/``*_invoiced`` keys a paid order carries."""
    for item in order["items"]:
        remaining = _uninvoiced(item)
        if remaining > 0:
            set_item_field(order, item["item_id"], "qty_invoiced", num(_d(item.get("qty_invoiced")) + remaining))
            for source, key in (
                ("row_total", "row_invoiced"),
                ("tax_amount", "tax_invoiced"),
                ("discount_amount", "discount_invoiced"),
            ):
                set_item_field(order, item["item_id"], key, item.get(source, 0))
                set_item_field(order, item["item_id"], f"base_{key}", item.get(f"base_{source}", 0))
    grand = _d(order.get("grand_total"))
    already = _d(order.get("total_paid"))
    amount = grand - already
    for prefix in ("base_", ""):
        order[f"{prefix}total_paid"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_invoiced"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_due"] = 0
        _copy_totals(order, prefix, _INVOICED_TOTALS)
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_paid"] = order["grand_total"]
        payment["base_amount_paid"] = order["base_grand_total"]
        payment["base_amount_paid_online"] = 0
    return amount


_INVOICED = {
    "row_total": "row_invoiced",
    "tax_amount": "tax_invoiced",
    "discount_amount": "discount_invoiced",
    "base_row_total": "base_row_invoiced",
    "base_tax_amount": "base_tax_invoiced",
    "base_discount_amount": "base_discount_invoiced",
}


def _share(item: dict[str, Any], key: str, qty: Decimal, last: bool) -> Decimal:
    """The part of line amount ``key`` that ``qty`` units carry; the last units take what is left, so a line
    invoiced in parts adds up to the line exactly."""
    total = _d(item.get(key))
    if last:
        return total - _d(item.get(_INVOICED[key]))
    ordered = _d(item.get("qty_ordered"))
    return money(total * qty / ordered) if ordered else ZERO


def invoice_lines(order: dict[str, Any], wanted: dict[int, Decimal] | None) -> dict[str, Any]:
    """Invoice top-level lines ``{item_id: qty}`` (``None``: everything left), the way ``Invoice::register()``
    and an offline capture change the order; children of a configurable line follow their parent's quantity.

    Line ``qty_invoiced`` and ``row/tax/discount_invoiced`` grow; the order's ``*_invoiced`` and ``*_paid``
    totals grow by the invoice (the first invoice carries the whole shipping amount), ``total_due`` shrinks.
    Returns the invoice's amounts and lines: ``{"lines": [(order item, qty, amounts)], "subtotal", "tax",
    "discount", "shipping", "grand_total"}`` (Decimals). ``amounts`` is the line's share of ``row_total``,
    ``tax_amount`` and ``discount_amount`` (and their ``base_``), ``None`` for a configurable's child line,
    which follows its parent in ``lines``."""
    top = [i for i in order.get("items", []) if "parent_item_id" not in i]
    subtotal = tax = discount = ZERO
    lines: list[tuple[dict[str, Any], Decimal, dict[str, Decimal] | None]] = []
    for item in top:
        left = _uninvoiced(item)
        qty = min(left if wanted is None else wanted.get(int(item["item_id"]), ZERO), left)
        if qty <= 0:
            continue
        parts = {key: _share(item, key, qty, qty >= left) for key in _INVOICED}
        subtotal += parts["row_total"]
        tax += parts["tax_amount"]
        discount += parts["discount_amount"]
        for key, target in _INVOICED.items():
            set_item_field(order, item["item_id"], target, num(_d(item.get(target)) + parts[key]))
        lines.append((item, qty, parts))
        for item_id in related_item_ids(order, item["item_id"]):
            view = next(iter_item_views(order, item_id))
            set_item_field(order, item_id, "qty_invoiced", num(_d(view.get("qty_invoiced")) + qty))
            if item_id != item["item_id"]:
                lines.append((view, qty, None))
    shipping = ZERO if _d(order.get("shipping_invoiced")) else _d(order.get("shipping_amount"))
    grand = subtotal - discount + tax + shipping
    for prefix in ("base_", ""):
        for key, amount in (
            ("subtotal_invoiced", subtotal),
            ("tax_invoiced", tax),
            ("shipping_invoiced", shipping),
            ("discount_invoiced", -discount),
            ("total_invoiced", grand),
            ("total_paid", grand),
        ):
            order[f"{prefix}{key}"] = num(_d(order.get(f"{prefix}{key}")) + amount)
        due = _d(order.get(f"{prefix}grand_total")) - _d(order.get(f"{prefix}total_paid"))
        order[f"{prefix}total_due"] = num(max(due, ZERO))
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_paid"] = order["total_paid"]
        payment["base_amount_paid"] = order["base_total_paid"]
        payment.setdefault("base_amount_paid_online", 0)
    return {
        "lines": lines,
        "subtotal": subtotal,
        "tax": tax,
        "discount": discount,
        "shipping": shipping,
        "grand_total": grand,
    }


def refund_all(order: dict[str, Any]) -> None:
    for item in order["items"]:
        set_item_field(order, item["item_id"], "qty_refunded", item.get("qty_invoiced", 0))
        set_item_field(order, item["item_id"], "amount_refunded", item.get("row_invoiced", 0))
        set_item_field(order, item["item_id"], "base_amount_refunded", item.get("base_row_invoiced", 0))
    for prefix in ("base_", ""):
        order[f"{prefix}total_refunded"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_offline_refunded"] = order[f"{prefix}grand_total"]
        _copy_totals(order, prefix, _REFUNDED_TOTALS)
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_refunded"] = order["grand_total"]
        payment["base_amount_refunded"] = order["base_grand_total"]


def cancel_all(order: dict[str, Any]) -> None:
    """What ``Order::cancel()`` leaves behind: canceled quantities and the ``*_canceled`` totals."""
    for item in order["items"]:
        remaining = _uninvoiced(item)
        if remaining > 0:
            set_item_field(order, item["item_id"], "qty_canceled", num(_d(item.get("qty_canceled")) + remaining))
    if "total_paid" in order:
        return
    for prefix in ("base_", ""):
        _copy_totals(order, prefix, _CANCELED_TOTALS)
