"""Pieces several built-in cart drivers use alike and a plugin has no need of: the capability set of a driver that
offers everything but invoices, the page-size check every driver's constructor makes, the buyer of a store
whose order names its customer only through the billing address, and bounds moved onto a store's whole-second
stamps.

Each is one rule the drivers hold in common; what differs between stores stays in the driver.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..driver import Address, Capability, ConfigurationError, Customer, OrderKey

__all__ = ["ALL_BUT_INVOICES", "billing_customer", "ceil_second", "floor_second", "page_size_up_to", "whole_second"]

ALL_BUT_INVOICES: frozenset[Capability] = frozenset(
    {
        Capability.LIST_STATUSES,
        Capability.LIST_ORDERS,
        Capability.SEEK_ORDERS,
        Capability.LIST_KEYS,
        Capability.GET_ORDER,
        Capability.SHIP,
        Capability.SET_STATUS,
        Capability.CANCEL,
        Capability.SEARCH_ITEMS,
        Capability.CREATE_ORDER,
    }
)
"""Every capability but ``INVOICE``, written out (a capability added to the SDK later is not claimed by default):
the set of a driver whose store lists by keyset and takes every write but an invoice, which it has no object for."""


def page_size_up_to(page_size: int, largest: int) -> int:
    """``page_size`` as a driver keeps it: at most ``largest`` (the store's own ceiling, which a bigger setting
    would only make the store refuse or ignore); below 1 is a :class:`ConfigurationError`."""
    if page_size < 1:
        raise ConfigurationError("page_size must be at least 1")
    return min(page_size, largest)


def billing_customer(billing: Address | None, customer_id: object) -> Customer:
    """The buyer of an order that names its customer only by an account id: the billing contact's name, e-mail
    and phone, and a guest unless ``customer_id`` is set (a store writes ``0``, ``null`` or nothing for a guest)."""
    return Customer(
        name=billing.name if billing else "",
        email=billing.email if billing else "",
        phone=billing.phone if billing else "",
        is_guest=not customer_id,
        store_customer_id=str(customer_id) if customer_id else None,
    )


def floor_second(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to its whole second."""
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def ceil_second(moment: datetime) -> datetime:
    """``moment`` in UTC, raised to the next whole second unless it is one."""
    floor = floor_second(moment)
    return floor if floor == moment else floor + timedelta(seconds=1)


def whole_second(key: OrderKey) -> OrderKey:
    """``key`` as an equivalent key on a store's whole-second stamps.

    A stamp with a fraction lies strictly between two seconds, so for every row (whose stamp is whole)
    ``row > (t, id)`` and ``row <= (t, id)`` hold exactly when they hold for ``(ceil(t), 0)`` (ids start at 1):
    the bounds stay exact instead of being truncated to the second below, which would drop the rows of that
    second from a ``through`` bound."""
    when = key.updated_at.astimezone(timezone.utc)
    if not when.microsecond:
        return OrderKey(when, key.id)
    return OrderKey(ceil_second(when), 0)
