"""The values a ledger stores and hands back: its rows (:class:`OrderRecord`, :class:`StoredOrder`,
:class:`PendingUpdate`, :class:`FailureRecord`, :class:`ActionRecord`, :class:`PhoneOrderRecord`,
:class:`HighWater`) and what a page writes (:class:`PageBatch` of :class:`RowWrite` and :class:`UpdateWrite`).

Every backend uses these same types; they are plain values, independent of the storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._convert import order_from_snapshot
from .._errors import PayloadError
from .._model import FieldChange, Order
from .._outcomes import Seen, Tab
from ._codec import _loads

__all__ = [
    "ActionRecord",
    "ActionState",
    "FailureRecord",
    "HighWater",
    "OrderRecord",
    "PageBatch",
    "PendingUpdate",
    "PhoneOrderRecord",
    "RowWrite",
    "StoredOrder",
    "UpdateWrite",
]


@attrs.frozen
class OrderRecord:
    """One row of the Orders or Ignore tab: the copy taken at download and its local state.

    ``replaced_by`` is set when an edited order (a new store entity) was accepted in this one's place; such a
    row is kept for the audit trail and leaves the tabs.
    """

    store: str
    order_id: str
    number: str
    status: str
    tab: Tab
    paid: bool
    shipped: bool
    order: Order
    fingerprint: str
    first_seen: datetime
    last_changed: datetime
    replaced_by: str | None = None
    dismissed: str | None = None
    """The fingerprint of a store copy the user dismissed: that same copy is not raised as an update again."""

    @property
    def seen(self) -> Seen:
        return Seen(self.order, self.tab, self.paid, self.shipped)


class StoredOrder:
    """A ledger row as the engine needs it to decide: the small fields at once, the stored copy parsed only
    when asked for (without its raw payload), since most re-read orders turn out unchanged."""

    __slots__ = (
        "_order",
        "_snapshot",
        "dismissed",
        "fingerprint",
        "order_id",
        "paid",
        "replaced_by",
        "shipped",
        "tab",
        "updated_at",
    )

    def __init__(
        self,
        order_id: str,
        tab: Tab,
        paid: bool,
        shipped: bool,
        fingerprint: str,
        replaced_by: str | None,
        dismissed: str | None,
        snapshot: str,
        updated_at: datetime,
    ) -> None:
        self.order_id = order_id
        self.tab = tab
        self.paid = paid
        self.shipped = shipped
        self.fingerprint = fingerprint
        self.replaced_by = replaced_by
        self.dismissed = dismissed
        self._snapshot = snapshot
        self._order: Order | None = None
        self.updated_at = updated_at
        """The store's ``updated_at`` of the row's stored copy (not of a pending update): a copy of the order
        older than this one arriving later (a lagging replica, a re-read page) is not news."""

    @property
    def order(self) -> Order:
        if self._order is None:
            self._order = order_from_snapshot(_loads(self._snapshot))
        return self._order

    @property
    def seen(self) -> Seen:
        return Seen(self.order, self.tab, self.paid, self.shipped)

    def __repr__(self) -> str:
        return f"StoredOrder(order_id={self.order_id!r}, tab={self.tab.value!r})"


@attrs.frozen
class PendingUpdate:
    """An order changed in the store after download, waiting for the user: redownload or dismiss.

    ``order_id`` is the ledger row it applies to; ``order`` is the store's current copy, whose own id differs
    when it is an edited order that ``replaces`` the downloaded one.
    """

    store: str
    order_id: str
    order: Order
    changes: tuple[FieldChange, ...]
    replaces: str | None
    detected_at: datetime


@attrs.frozen
class FailureRecord:
    """An order whose payload could not be understood, with the payload as the store sent it."""

    store: str
    order_ref: str | None
    field: str
    problem: str
    raw: Any
    at: datetime


class ActionState:
    """The states of an :class:`ActionRecord`: ``started`` (an attempt holds or held a lease), ``done`` (the
    result stands; the action is never run again) and ``failed`` (the next caller takes it over)."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen
class ActionRecord:
    """One post-back, acknowledgement, cancellation, status change or invoice, by idempotency key.

    ``owner`` is the caller that began the latest attempt and ``lease_until`` how long it holds the action
    (``None`` once finished). ``checkpoint`` is a small string an attempt left for the next one (a cart reserved
    for a phone order). ``log`` has one entry per attempt, oldest first: ``attempt``, ``owner``, ``started``,
    ``after`` (why a retry took over: ``"failed: <error>"`` or ``"lease of <owner> expired at <t>"``), and once
    finished ``finished``, ``ok``, ``error`` and ``note`` (what the write checked in the store and found); a
    holder that finished after losing its lease adds an entry with ``late`` instead of overwriting the row.
    """

    id: int
    store: str
    order_id: str
    kind: str
    key: str
    request: Any
    state: str
    result: Any
    error: str | None
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    owner: str | None = None
    lease_until: datetime | None = None
    checkpoint: str | None = None
    log: tuple[Mapping[str, Any], ...] = ()

    @property
    def resumed(self) -> bool:
        """Whether this is a later attempt (an earlier one failed, or its holder's lease expired)."""
        return self.attempts > 1


@attrs.frozen
class PhoneOrderRecord:
    """A phone order created in the store: the caller's ``reference``, the order it became and the payload
    sent to create it."""

    store: str
    reference: str
    order_id: str
    number: str
    payload: Any
    created_at: datetime


@attrs.frozen
class HighWater:
    """The newest store ``updated_at`` committed for a store, and the download scope it belongs to (a mark
    taken under another range start or starting number does not apply)."""

    mark: datetime
    scope: str


@attrs.frozen
class RowWrite:
    """Put ``order`` in ``tab`` (insert, or overwrite its own row). ``supersedes`` names a row the order takes
    the place of (an edited order that is a new entity): that row records ``replaced_by``."""

    order: Order
    tab: Tab
    paid: bool
    shipped: bool
    supersedes: str | None = None


@attrs.frozen
class UpdateWrite:
    """Hold ``order`` as a pending update of row ``target``. A replacement's update is never overwritten by a
    plain update of the same row (the edited entity is what the user must decide on)."""

    target: str
    order: Order
    changes: tuple[FieldChange, ...]
    replaces: str | None = None


@attrs.define
class PageBatch:
    """Everything one page changes, written in one transaction by :meth:`Ledger.commit_page`."""

    store: str
    now: datetime
    rows: list[RowWrite] = attrs.field(factory=list)
    updates: list[UpdateWrite] = attrs.field(factory=list)
    failures: list[PayloadError] = attrs.field(factory=list)
    high_water: HighWater | None = None
