"""What ``churn`` changed in the fake Magento store, and a handle to stop it.

The faults that act on answers, the rate limit and the listing schedule are the fake-store base's
(``_base_faults``); ``LostAnswerMode`` is re-exported from there, and ``Churn`` stops as a listing hook does.
"""

from __future__ import annotations

import threading
from typing import Literal

import attrs

from ._base_faults import LostAnswerMode, Stoppable

__all__ = ["Churn", "ChurnEvent", "LostAnswerMode"]


@attrs.frozen
class ChurnEvent:
    """One change ``churn`` made: before listing request ``listing_request`` (counted from the ``churn`` call,
    1 = the first listing request after it) was answered, ``kind`` (``edit``, ``create`` or ``leave``)
    happened to order ``entity_id``; ``updated_at`` is the stamp the order carries since."""

    listing_request: int
    kind: Literal["edit", "create", "leave"]
    entity_id: int
    updated_at: str


class Churn(Stoppable):
    """Handle on a running ``churn``: what it changed so far (``events``), and ``stop()`` (the changes made
    stay)."""

    def __init__(self, lock: threading.RLock) -> None:
        super().__init__(lock)
        self._events: list[ChurnEvent] = []

    @property
    def events(self) -> list[ChurnEvent]:
        with self._lock:
            return list(self._events)

    def entity_ids(self, kind: str | None = None) -> list[int]:
        """Ids of the orders changed (of one ``kind``), in the order the changes happened."""
        with self._lock:
            return [e.entity_id for e in self._events if kind in (None, e.kind)]

    def record(self, event: ChurnEvent) -> None:
        self._events.append(event)

    def __repr__(self) -> str:
        return f"<Churn events={len(self._events)} stopped={self._stopped}>"
