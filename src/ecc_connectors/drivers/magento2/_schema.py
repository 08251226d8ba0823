"""The parts of a Magento order the driver reads, as typed dicts for msgspec.

A Magento order is about 10 kB of JSON of which the mapping reads perhaps a tenth. Decoding straight into these
shapes skips the rest in C and turns amounts into ``Decimal`` from their own text (never through a float), about
three times faster than decoding everything. The result is still a plain ``dict``, so ``_mapping`` reads it the
same way it reads a fully decoded order; the complete payload is kept as text in ``Order.raw``.

Amounts are typed ``Decimal | None`` (Magento sends numbers, and leaves unset amounts out or null); a value of
another kind is reported with its path (``items[0].qty_ordered``). Lists also accept an object, since PHP writes
an empty array as ``{}``, and null entries; everything else is ``Any``. The mapping checks all of it as it
checks a fully decoded order, so both decodings accept and refuse the same payloads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

import msgspec

from ...driver import Order, OrderKey, PayloadError, RawJSON
from . import _scan
from ._mapping import map_order, order_ref, parse_magento_datetime

__all__ = ["decode_order", "decode_row", "make_key", "read_key"]

Amount = Decimal | None


class _Address(TypedDict, total=False):
    firstname: Any
    middlename: Any
    lastname: Any
    company: Any
    street: Any
    city: Any
    region: Any
    region_code: Any
    postcode: Any
    country_id: Any
    telephone: Any
    email: Any


class _Item(TypedDict, total=False):
    item_id: Any
    parent_item_id: Any
    sku: Any
    name: Any
    product_type: Any
    qty_ordered: Amount
    qty_shipped: Amount
    price: Amount
    tax_amount: Amount
    discount_amount: Amount
    row_total: Amount


class _Payment(TypedDict, total=False):
    method: Any
    amount_paid: Amount
    amount_authorized: Amount
    last_trans_id: Any


class _History(TypedDict, total=False):
    comment: Any
    created_at: Any
    is_visible_on_front: Any
    status: Any


class _Shipping(TypedDict, total=False):
    address: _Address | None
    method: Any


class _Assignment(TypedDict, total=False):
    shipping: _Shipping | None


class _Extension(TypedDict, total=False):
    shipping_assignments: list[_Assignment | None] | dict[str, Any] | None


class _Order(TypedDict, total=False):
    entity_id: Any
    increment_id: Any
    status: Any
    state: Any
    created_at: Any
    updated_at: Any
    order_currency_code: Any
    base_currency_code: Any
    customer_id: Any
    customer_is_guest: Any
    customer_email: Any
    customer_firstname: Any
    customer_lastname: Any
    relation_parent_id: Any
    shipping_description: Any
    subtotal: Amount
    shipping_amount: Amount
    tax_amount: Amount
    discount_amount: Amount
    grand_total: Amount
    total_paid: Amount
    total_due: Amount
    total_refunded: Amount
    items: list[_Item | None] | dict[str, Any] | None
    billing_address: _Address | None
    payment: _Payment | None
    status_histories: list[_History | None] | dict[str, Any] | None
    extension_attributes: _Extension | None


_order_decoder = msgspec.json.Decoder(_Order, float_hook=Decimal)


class _Key(TypedDict, total=False):
    entity_id: Any
    updated_at: Any


_key_decoder = msgspec.json.Decoder(_Key)


def decode_order(content: bytes, store: str) -> Order | PayloadError:
    """One order's JSON text as an :class:`Order`, or the :class:`PayloadError` naming what is wrong.

    The order keeps ``content`` as its ``raw`` payload (:class:`RawJSON`). Nothing one order holds makes this
    raise: see :func:`decode_row`."""
    return decode_row(content, store)[0]


def decode_row(content: bytes, store: str) -> tuple[Order | PayloadError, OrderKey | None]:
    """One listed order and its :class:`OrderKey` (``None`` when ``entity_id``/``updated_at`` cannot be read).

    Any failure while decoding or mapping the order (bytes that are not UTF-8, JSON nested deeper than a decoder
    recurses, an amount that overflows, a field of the wrong type...) becomes a :class:`PayloadError` naming
    the order and, when it can be told, the field; its ``raw`` keeps the text, undecodable bytes written as
    ``\\xNN`` escapes (JSON has no such escape, so they cannot be mistaken for the store's own text). The key
    is still read, from the order's top level alone, so a cursor can move past an order that cannot be read.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = RawJSON(content.decode("utf-8", "backslashreplace"))
        top = _top_level(content)
        problem = f"not UTF-8: byte 0x{content[exc.start]:02x} at offset {exc.start}"
        field = _field_at(top, exc.start)
        return PayloadError(store, _ref(content, top), field, problem, raw=raw), _key_from_top(content, top)
    raw = RawJSON(text)
    try:
        data = _order_decoder.decode(content)
    except msgspec.ValidationError as exc:
        # "Expected `decimal | null`, got `str` - at `$.items[0].qty_ordered`": split the path off.
        message, _, where = str(exc).rpartition(" - at ")
        field = where.strip("`").removeprefix("$.") if message else "(order)"
        top = _top_level(content)
        error = PayloadError(store, _ref(content, top), field or "(order)", message or str(exc), raw=raw)
        return error, _key_from_top(content, top)
    except msgspec.DecodeError as exc:
        top = _top_level(content)
        return PayloadError(store, _ref(content, top), "(order)", f"not JSON: {exc}", raw=raw), _key_from_top(
            content, top
        )
    except Exception as exc:
        # RecursionError (a field nested thousands deep), or anything else the decoder may raise: name the
        # deepest field, which is the likely culprit for a recursion limit.
        top = _top_level(content)
        field = _deepest(top) if isinstance(exc, RecursionError) else "(order)"
        problem = f"{type(exc).__name__}: {exc}"
        return PayloadError(store, _ref(content, top), field, problem, raw=raw), _key_from_top(content, top)
    key = make_key(data.get("entity_id"), data.get("updated_at"))
    try:
        return map_order(data, store, raw), key
    except PayloadError as bad:
        return bad, key


def read_key(content: bytes) -> OrderKey | None:
    """The :class:`OrderKey` of one listed row (``entity_id``, ``updated_at``), read as tolerantly as possible:
    the fast typed decoding, else the structural scan of the row's top level. ``None`` when it cannot be read."""
    try:
        data = _key_decoder.decode(content)
    except Exception:
        return _key_from_top(content, _top_level(content))
    return make_key(data.get("entity_id"), data.get("updated_at"))


def make_key(entity_id: Any, updated_at: Any) -> OrderKey | None:
    """An :class:`OrderKey` from a row's raw ``entity_id`` (an integer, or its digits as text) and
    ``updated_at`` (Magento's UTC stamp); ``None`` when either is unusable."""
    if isinstance(entity_id, bool):
        return None
    if isinstance(entity_id, str):
        text = entity_id.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 20):
            return None
        entity_id = int(text)
    if not isinstance(entity_id, int) or entity_id < 0:
        return None
    try:
        when = parse_magento_datetime(updated_at, "updated_at")
    except Exception:
        return None
    return OrderKey(when, entity_id)


def _top_level(content: bytes) -> dict[bytes, _scan.Member] | None:
    try:
        return _scan.top_level(content)
    except _scan.ScanError:
        return None


def _key_from_top(content: bytes, top: dict[bytes, _scan.Member] | None) -> OrderKey | None:
    if top is None:
        return None
    return make_key(_scan.scalar(content, top.get(b"entity_id")), _scan.scalar(content, top.get(b"updated_at")))


def _ref(content: bytes, top: dict[bytes, _scan.Member] | None) -> str | None:
    if top is None:
        return None
    return order_ref(
        {
            "increment_id": _scan.scalar(content, top.get(b"increment_id")),
            "entity_id": _scan.scalar(content, top.get(b"entity_id")),
        }
    )


def _name(key: bytes | None) -> str:
    return "(order)" if key is None else key.decode("utf-8", "backslashreplace")


def _field_at(top: dict[bytes, _scan.Member] | None, offset: int) -> str:
    """The top-level field whose value holds byte ``offset`` (``(order)`` when none does, e.g. a key)."""
    for member in (top or {}).values():
        if member.start <= offset < member.end:
            return _name(member.key)
    return "(order)"


def _deepest(top: dict[bytes, _scan.Member] | None) -> str:
    if not top:
        return "(order)"
    member = max(top.values(), key=lambda m: m.depth)
    return _name(member.key) if member.depth else "(order)"
