"""What a download or a reconcile reports back to the caller."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["DownloadReport", "ReconcileReport"]


@attrs.frozen
class DownloadReport:
    """What one download did. Counts are per outcome; ``failures`` counts payloads that could not be read
    (each is in :meth:`Connector.failures` with its raw payload)."""

    store: str
    updated_from: datetime
    updated_to: datetime
    pages: int
    downloaded: int
    ignored: int
    updates: int
    unchanged: int
    skipped: int
    failures: int
    high_water_mark: datetime | None

    @property
    def seen(self) -> int:
        return self.downloaded + self.ignored + self.updates + self.unchanged + self.skipped + self.failures


@attrs.frozen
class ReconcileReport:
    """What one :meth:`Connector.reconcile` found and repaired.

    ``listed``: orders the store lists in the window (keys, or whole orders when comparing content);
    ``known``: of those, how many the ledger holds; ``missing``: listed but never downloaded; ``changed``: the
    store's ``updated_at`` is newer than the ledger's copy; ``vanished``: listed, then gone when read. The
    outcome counts (``downloaded`` ... ``failures``) say what the repair did with what it read, through the
    rules as in a download: a changed order goes to Updates, a missing one to its tab."""

    store: str
    updated_from: datetime
    updated_to: datetime
    compared_content: bool
    listed: int
    known: int
    missing: int
    changed: int
    vanished: int
    downloaded: int
    ignored: int
    updates: int
    unchanged: int
    failures: int
