"""What every operation of the engine's core shares: the store's driver, policy and ledger, the clock, and
the identity a write is leased under. :class:`Downloads` and :class:`Actions` build on it; :class:`Core`
(``_core.py``) is the two together."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ._driver import Driver
from ._errors import ConfigurationError
from ._model import utc
from ._policy import SyncPolicy
from .ledger import Ledger

__all__ = ["Context"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Context:
    def __init__(
        self, driver: Driver, policy: SyncPolicy, ledger: Ledger, clock: Callable[[], datetime] | None
    ) -> None:
        store = driver.store_id or driver.name
        if not store:
            raise ConfigurationError("the driver names no store: set its store_id (or name)")
        self.driver = driver
        # The store's own vocabulary where the policy kept the SDK's defaults; then every problem at once.
        policy = policy.with_store_defaults(driver.store_defaults())
        policy.validate()
        self.policy = policy
        self.ledger = ledger
        self.store = store
        self._clock = clock or _now
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.lease = timedelta(minutes=5)
        """How long a write holds its action row before another caller may take it over (a crashed holder)."""
        self.skew_allowance = timedelta(hours=1)
        """Work found in the store from this long before the first attempt counts as this write's own: the
        store's clock and ours may disagree by up to this much."""

    def now(self) -> datetime:
        return utc(self._clock())

    def _scope(self) -> str:
        # A high-water mark only holds for the range it was taken under: moving the start back (to back-fill)
        # or changing the starting number makes the next run read from the range start again.
        window = self.policy.range
        return f"{window.start.astimezone(timezone.utc).isoformat()}|{window.starting_number or ''}"
