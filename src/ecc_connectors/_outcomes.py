"""What the rules decide for one order, and what they are told about its past."""

from __future__ import annotations

import enum

import attrs

from ._model import FieldChange, Order

__all__ = [
    "Download",
    "Ignore",
    "Outcome",
    "Seen",
    "Skip",
    "Tab",
    "Unchanged",
    "Update",
]


class Tab(str, enum.Enum):
    """Where a downloaded order sits in the back office."""

    ORDERS = "orders"
    IGNORE = "ignore"


@attrs.frozen
class Seen:
    """What the ledger remembers of an order downloaded before: the copy taken then, and its place."""

    order: Order
    tab: Tab
    paid: bool = False
    shipped: bool = False


@attrs.frozen
class Download:
    """Put the order in the Orders tab; ``paid`` / ``shipped`` are its local state on arrival."""

    paid: bool
    shipped: bool


@attrs.frozen
class Ignore:
    """Download the order into the Ignore tab (its status is not selected)."""


@attrs.frozen
class Skip:
    """Do not download. ``reason`` says why, for logs and the audit trail."""

    reason: str


@attrs.frozen
class Update:
    """The order changed in the store after download: hold it in Updates with these field changes.

    ``replaces`` is set when the changed order is a new store entity standing in for the downloaded one.
    """

    changes: tuple[FieldChange, ...]
    replaces: str | None = None


@attrs.frozen
class Unchanged:
    """Seen before and nothing watched has changed."""


Outcome = Download | Ignore | Skip | Update | Unchanged
