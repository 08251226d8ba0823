"""Every setting of the order-download screen, as one frozen value: :class:`SyncPolicy`.

Loading and saving (dict, JSON, TOML) lives in ``_convert.py``.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from ._model import ChangeKind, _aware

__all__ = [
    "Acknowledgement",
    "Cancellation",
    "ChangeDetection",
    "DownloadRange",
    "Incremental",
    "ItemSource",
    "PhoneOrders",
    "PostBack",
    "StatusMapping",
    "StatusRule",
    "SyncPolicy",
    "Unselected",
]


class Unselected(str, enum.Enum):
    """What happens to orders whose store status has no downloaded row."""

    SKIP = "skip"
    IGNORE_TAB = "ignore_tab"


class ItemSource(str, enum.Enum):
    NETSUITE = "netsuite"
    STORE = "store"


@attrs.frozen
class StatusRule:
    """One status row.

    ``process_payment=True`` is the screen's "Yes": the order arrives unpaid and payment is processed locally;
    ``False`` is "No, mark as paid". ``process_shipping`` reads the same way for shipping.
    ``status`` matches an order's status exactly (case-sensitive, as stores are); for two-axis statuses
    (``"PAID|UNFULFILLED"``) an axis may be ``*``.
    ``unselected`` (only for a row with ``download=False``) overrides the policy's choice for this one status,
    so one status can go to the Ignore tab while another is not downloaded at all.
    """

    status: str
    download: bool = True
    process_payment: bool = True
    process_shipping: bool = True
    unselected: Unselected | None = None

    def matches(self, status: str) -> bool:
        if self.status == status:
            return True
        if "*" not in self.status:
            return False
        want = self.status.split("|")
        have = status.split("|")
        return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


@attrs.frozen
class StatusMapping:
    """The status rows. An exact row wins over a wildcard row; among wildcard rows the first listed wins."""

    rules: tuple[StatusRule, ...] = ()

    def rule_for(self, status: str) -> StatusRule | None:
        for rule in self.rules:
            if rule.status == status:
                return rule
        for rule in self.rules:
            if rule.matches(status):
                return rule
        return None

    def selected(self) -> tuple[str, ...]:
        """The status codes marked for download (wildcard rows included as written)."""
        return tuple(rule.status for rule in self.rules if rule.download)


@attrs.frozen
class DownloadRange:
    """What to download: orders created from ``start`` (and before ``end``, if given) numbered from
    ``starting_number`` on. ``statuses`` narrows the store query further when not empty."""

    start: datetime = attrs.field(validator=_aware)
    end: datetime | None = attrs.field(default=None, validator=_aware)
    starting_number: str | None = None
    statuses: tuple[str, ...] = ()


@attrs.frozen
class PostBack:
    """What to do in the store when an order ships."""

    status: str | None = "complete"
    send_email: bool = True


@attrs.frozen
class Acknowledgement:
    """Change the store's status when an order is taken. ``status=None`` turns acknowledgement off."""

    status: str | None = None
    comment: str = "Order received by the back office."
    notify_customer: bool = False


@attrs.frozen
class Cancellation:
    status: str | None = "canceled"
    send_email: bool = False
    comment: str = "Order cancelled."


@attrs.frozen
class PhoneOrders:
    item_source: ItemSource = ItemSource.STORE


@attrs.frozen
class ChangeDetection:
    """The Updates tab: which kinds of change count, and from when (``watch_from``; ``None`` = always)."""

    enabled: bool = True
    kinds: frozenset[ChangeKind] = frozenset(ChangeKind)
    watch_from: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen
class Incremental:
    """Each run re-reads ``lookback`` before the last high-water mark, and leaves orders changed within the last
    ``settle_delay`` to the next run (stores may still be writing them)."""

    lookback: timedelta = timedelta(minutes=5)
    settle_delay: timedelta = timedelta(0)

    def __attrs_post_init__(self) -> None:
        if self.lookback < timedelta(0) or self.settle_delay < timedelta(0):
            raise ValueError("lookback and settle_delay must not be negative")


@attrs.frozen
class SyncPolicy:
    statuses: StatusMapping
    range: DownloadRange
    unselected: Unselected = Unselected.SKIP
    post_back: PostBack = PostBack()
    acknowledgement: Acknowledgement = Acknowledgement()
    cancellation: Cancellation = Cancellation()
    phone_orders: PhoneOrders = PhoneOrders()
    change_detection: ChangeDetection = ChangeDetection()
    incremental: Incremental = Incremental()

    def store_statuses_to_request(self) -> tuple[str, ...] | None:
        """The statuses to ask the store for, or ``None`` for all.

        All statuses are needed when unselected orders go to the Ignore tab, when change detection is on (an
        order that moved to an unselected status must still be seen), or when a row uses a wildcard.
        """
        if self.range.statuses:
            return self.range.statuses
        if self.unselected is Unselected.IGNORE_TAB or self.change_detection.enabled:
            return None
        selected = self.statuses.selected()
        if any("*" in s for s in selected):
            return None
        return selected
