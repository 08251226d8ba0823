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

from ..._errors import PayloadError
from ..._model import Order, RawJSON
from ._errors import decode_bytes
from ._mapping import map_order, order_ref

__all__ = ["decode_order"]

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


def decode_order(content: bytes, store: str) -> Order | PayloadError:
    """One order's JSON text as an :class:`Order`, or the :class:`PayloadError` naming what is wrong.

    The order keeps ``content`` as its ``raw`` payload (:class:`RawJSON`)."""
    raw = RawJSON(content.decode("utf-8", "replace"))
    try:
        data = _order_decoder.decode(content)
    except msgspec.ValidationError as exc:
        # "Expected `decimal | null`, got `str` - at `$.items[0].qty_ordered`": split the path off.
        message, _, where = str(exc).rpartition(" - at ")
        field = where.strip("`").removeprefix("$.") if message else "(order)"
        try:
            ref = order_ref(decode_bytes(content))
        except ValueError:
            ref = None
        return PayloadError(store, ref, field or "(order)", message or str(exc), raw=raw)
    except msgspec.DecodeError as exc:
        return PayloadError(store, None, "(order)", f"not JSON: {exc}", raw=raw)
    try:
        return map_order(data, store, raw)
    except PayloadError as bad:
        return bad
