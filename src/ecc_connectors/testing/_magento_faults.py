"""Faults of the fake Magento store that act on answers, and changes scheduled against its order listing.

The store owns one ``AnswerFaults`` and one ``ListingSchedule`` and touches them only under its lock; the
public knobs (``short_bodies``, ``lose_write_answers``, ``stamp_outside_window``, ``schedule``, ``churn``) are
methods of ``FakeMagentoStore``, documented there. Kept apart so the store class stays about Magento.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

import attrs

__all__ = [
    "AnswerFaults",
    "Churn",
    "ChurnEvent",
    "ListingSchedule",
    "LostAnswerMode",
    "ShortBody",
    "Trigger",
]

LostAnswerMode = Literal["500", "drop", "short"]


@attrs.frozen
class ShortBody:
    methods: frozenset[str]
    fraction: float


@attrs.define
class AnswerFaults:
    """Pending answer-level faults, each used up by one answer (FIFO within its kind)."""

    short: list[ShortBody] = attrs.field(factory=list)
    lost_writes: list[tuple[LostAnswerMode, float]] = attrs.field(factory=list)
    stamps: list[str] = attrs.field(factory=list)

    def take_short(self, method: str) -> ShortBody | None:
        for index, fault in enumerate(self.short):
            if method in fault.methods:
                return self.short.pop(index)
        return None

    def take_lost_write(self) -> tuple[LostAnswerMode, float] | None:
        return self.lost_writes.pop(0) if self.lost_writes else None

    def take_stamp(self) -> str | None:
        return self.stamps.pop(0) if self.stamps else None

    def clear(self) -> None:
        self.short.clear()
        self.lost_writes.clear()
        self.stamps.clear()


@attrs.frozen
class ChurnEvent:
    """One change ``churn`` made: before listing request ``listing_request`` (counted from the ``churn`` call,
    1 = the first listing request after it) was answered, ``kind`` (``edit``, ``create`` or ``leave``)
    happened to order ``entity_id``; ``updated_at`` is the stamp the order carries since."""

    listing_request: int
    kind: Literal["edit", "create", "leave"]
    entity_id: int
    updated_at: str


class Churn:
    """Handle on a running ``churn``: what it changed so far (``events``), and ``stop()``."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._events: list[ChurnEvent] = []
        self._stopped = False

    @property
    def events(self) -> list[ChurnEvent]:
        with self._lock:
            return list(self._events)

    def entity_ids(self, kind: str | None = None) -> list[int]:
        """Ids of the orders changed (of one ``kind``), in the order the changes happened."""
        with self._lock:
            return [e.entity_id for e in self._events if kind in (None, e.kind)]

    @property
    def stopped(self) -> bool:
        with self._lock:
            return self._stopped

    def stop(self) -> None:
        """No more changes from this churn (those made stay)."""
        with self._lock:
            self._stopped = True

    def record(self, event: ChurnEvent) -> None:
        self._events.append(event)

    def __repr__(self) -> str:
        return f"<Churn events={len(self._events)} stopped={self._stopped}>"


@attrs.define
class Trigger:
    """Runs ``action(n)`` before listing request number ``n`` (absolute, 1-based) is answered, when
    ``due(n)``; a ``once`` trigger is dropped after it ran, any trigger once ``finished()`` says so."""

    due: Callable[[int], bool]
    action: Callable[[int], object]
    once: bool
    finished: Callable[[], bool] = lambda: False


@attrs.define
class ListingSchedule:
    """Listing requests seen, and the triggers waiting on them."""

    seen: int = 0
    triggers: list[Trigger] = attrs.field(factory=list)

    def add(self, trigger: Trigger) -> None:
        self.triggers.append(trigger)

    def advance(self) -> list[Trigger]:
        """Count one more listing request; the triggers due for it, in the order they were added."""
        self.seen += 1
        due = [t for t in self.triggers if not t.finished() and t.due(self.seen)]
        spent = {id(t) for t in due if t.once}
        self.triggers = [t for t in self.triggers if id(t) not in spent and not t.finished()]
        return due

    def clear(self) -> None:
        self.triggers.clear()
