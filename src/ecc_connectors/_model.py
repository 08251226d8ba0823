"""The typed order model: what every driver maps a store's order into.

All classes are frozen and slotted. Amounts are ``Decimal`` in the order's ``currency`` (every cart we support
prices one order in one currency); timestamps are timezone-aware and stored in UTC (an aware time in another
offset is converted; a naive one is refused). Converters to and from plain data live in
``_convert.py``, not here.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "Address",
    "ChangeKind",
    "Customer",
    "FieldChange",
    "Item",
    "Note",
    "Order",
    "OrderLine",
    "Payment",
    "RawJSON",
    "Shipment",
    "StoreStatus",
    "Totals",
    "utc",
]

ZERO = Decimal("0")


class RawJSON(str):
    """A payload kept exactly as the store sent it: its JSON text, unparsed.

    Keeping the text (instead of a parsed copy) is the faithful record for audit, and spares re-encoding each
    order when the ledger stores it. :meth:`data` parses it with every non-integer number as a ``Decimal``.
    """

    __slots__ = ()

    def data(self) -> Any:
        return json.loads(self, parse_float=Decimal)

    def __repr__(self) -> str:
        return f"RawJSON({len(self)} characters)"


def utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes, whose meaning depends on the machine."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; give one (stores differ)")
    return value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)


def _aware(_inst: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware, got {value.isoformat()}")


def _as_utc(value: datetime | None) -> datetime | None:
    # One representation per instant: equal orders then encode (and fingerprint) the same way.
    return None if value is None else utc(value)


def _decimal(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{attribute.name} must be a Decimal, got {type(value).__name__}")


class ChangeKind(str, enum.Enum):
    """The kinds of change a user can choose to watch for the Updates tab."""

    STATUS = "status"
    LINE_ITEMS = "line_items"
    QUANTITIES = "quantities"
    PRICES_TOTALS = "prices_totals"
    SHIPPING_ADDRESS = "shipping_address"
    BILLING_ADDRESS = "billing_address"
    SHIPPING_METHOD = "shipping_method"
    CUSTOMER_CONTACT = "customer_contact"
    PAYMENT = "payment"
    NOTES = "notes"


@attrs.frozen
class StoreStatus:
    """One status as the store names it.

    ``code`` is what orders carry and what status rows match on: a string even where the store uses numbers
    (BigCommerce ``"11"``). Two-axis stores (Shopify) join their axes with ``|``, e.g. ``"PAID|UNFULFILLED"``,
    and status rows may use ``*`` for one axis.
    """

    code: str
    label: str = ""
    state: str | None = None


@attrs.frozen
class Address:
    name: str = ""
    company: str = ""
    street: tuple[str, ...] = ()
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


@attrs.frozen
class Customer:
    name: str = ""
    email: str = ""
    phone: str = ""
    is_guest: bool = False
    store_customer_id: str | None = None


@attrs.frozen
class OrderLine:
    """One line. ``parent_line_id`` links a child (a configurable's simple, a bundle's part) to its parent line.

    ``counts`` says whether the line carries its own price and quantity; a child of a configurable does not, so
    totals and shipped quantities are not counted twice.
    """

    line_id: str
    sku: str
    name: str
    quantity: Decimal = attrs.field(validator=_decimal)
    unit_price: Decimal = attrs.field(default=ZERO, validator=_decimal)
    tax: Decimal = attrs.field(default=ZERO, validator=_decimal)
    discount: Decimal = attrs.field(default=ZERO, validator=_decimal)
    row_total: Decimal = attrs.field(default=ZERO, validator=_decimal)
    quantity_shipped: Decimal = attrs.field(default=ZERO, validator=_decimal)
    parent_line_id: str | None = None
    product_type: str = ""
    counts: bool = True


@attrs.frozen
class Totals:
    subtotal: Decimal = attrs.field(default=ZERO, validator=_decimal)
    shipping: Decimal = attrs.field(default=ZERO, validator=_decimal)
    tax: Decimal = attrs.field(default=ZERO, validator=_decimal)
    discount: Decimal = attrs.field(default=ZERO, validator=_decimal)
    grand_total: Decimal = attrs.field(default=ZERO, validator=_decimal)
    paid: Decimal = attrs.field(default=ZERO, validator=_decimal)
    due: Decimal = attrs.field(default=ZERO, validator=_decimal)
    refunded: Decimal = attrs.field(default=ZERO, validator=_decimal)


@attrs.frozen
class Payment:
    method: str
    amount_paid: Decimal = attrs.field(default=ZERO, validator=_decimal)
    amount_authorized: Decimal = attrs.field(default=ZERO, validator=_decimal)
    transaction_id: str | None = None


@attrs.frozen
class Shipment:
    shipment_id: str | None
    tracking_numbers: tuple[str, ...] = ()
    carrier: str = ""
    method: str = ""
    created_at: datetime | None = attrs.field(default=None, converter=_as_utc)


@attrs.frozen
class Note:
    text: str
    created_at: datetime | None = attrs.field(default=None, converter=_as_utc)
    customer_visible: bool = False
    status: str | None = None


@attrs.frozen
class Order:
    """An order as the store has it now.

    ``order_id`` is the store's own key (Magento ``entity_id``, NetSuite ``internalId``); ``number`` is what
    people see (Magento ``increment_id``, NetSuite ``tranId``). ``replaces`` holds the ``order_id`` of the order
    this one replaces when the store makes an edited order a new entity (Magento admin edits). ``raw`` is the
    payload exactly as the store sent it, kept for audit and diffing.
    """

    store: str
    order_id: str
    number: str
    status: str
    created_at: datetime = attrs.field(converter=utc)
    updated_at: datetime = attrs.field(converter=utc)
    currency: str
    state: str | None = None
    customer: Customer = Customer()
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_method: str = ""
    lines: tuple[OrderLine, ...] = ()
    totals: Totals = Totals()
    payments: tuple[Payment, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    notes: tuple[Note, ...] = ()
    replaces: str | None = None
    raw: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def fully_paid(self) -> bool:
        """The store says nothing is left to pay (informative: tabs follow the status rows, not this)."""
        return self.totals.grand_total > ZERO and self.totals.due <= ZERO and self.totals.paid > ZERO

    @property
    def fully_shipped(self) -> bool:
        """Every counted line is shipped in full (informative, like ``fully_paid``)."""
        counted = [line for line in self.lines if line.counts]
        return bool(counted) and all(line.quantity_shipped >= line.quantity for line in counted)


@attrs.frozen
class Item:
    """A sellable item for phone orders, from the back office (NetSuite) or the store's catalogue."""

    source: str
    item_id: str
    sku: str
    name: str
    price: Decimal = attrs.field(validator=_decimal)
    currency: str = ""
    available: Decimal | None = None
    item_type: str = ""


@attrs.frozen
class FieldChange:
    """One field that differs between the downloaded copy and the store's current order.

    ``path`` names the field (``"lines[24-MB01].quantity"``, ``"shipping_address.city"``); ``old`` and ``new``
    are display strings (``None`` where the field is absent on that side).
    """

    kind: ChangeKind
    path: str
    old: str | None
    new: str | None
