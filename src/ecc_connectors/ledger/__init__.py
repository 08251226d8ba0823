"""What the connector remembers: downloaded orders, pending updates, failures, high-water marks, actions.

The engine talks to storage through the :class:`Ledger` protocol, which is four roles:

* :class:`DownloadState` -- ``high_water``, ``seen``, ``known_keys``, ``commit_page``;
* :class:`Tabs` -- ``get``, ``orders``, ``updates``, ``pending``, ``accept_update``, ``dismiss_update``,
  ``failures``, ``set_local_state``, ``refresh``;
* :class:`ActionLog` -- ``begin_action``, ``finish_action``, ``checkpoint_action``, ``actions``;
* :class:`PhoneOrderLog` -- ``record_phone_order``, ``phone_orders``, ``phone_order``;

plus ``close``; and the optional :class:`DownloadLocks` (a per-store lock, :class:`StoreLock`) of a ledger that
several machines share. Each method's docstring is its contract (what it promises, atomicity, threads, what it
raises); the rules every method keeps (threads, several instances on one storage, atomic writes, errors)
are on :class:`Ledger`. The records the ledger stores and returns are exported here too.

:class:`SQLiteLedger` (in :mod:`ecc_connectors.ledger.sqlite`, with its schema migrations) is the built-in
implementation. To write another one (PostgreSQL, say), implement :class:`Ledger` and run the conformance
suite, ``ecc_connectors.testing.ledger_suite``, against it in your own tests.
"""

from __future__ import annotations

from ._protocols import ActionLog, DownloadLocks, DownloadState, Ledger, PhoneOrderLog, StoreLock, Tabs
from ._records import (
    ActionRecord,
    ActionState,
    FailureRecord,
    HighWater,
    OrderRecord,
    PageBatch,
    PendingUpdate,
    PhoneOrderRecord,
    RowWrite,
    StoredOrder,
    UpdateWrite,
)
from .sqlite import SQLiteLedger

__all__ = [
    "ActionLog",
    "ActionRecord",
    "ActionState",
    "DownloadLocks",
    "DownloadState",
    "FailureRecord",
    "HighWater",
    "Ledger",
    "OrderRecord",
    "PageBatch",
    "PendingUpdate",
    "PhoneOrderLog",
    "PhoneOrderRecord",
    "RowWrite",
    "SQLiteLedger",
    "StoreLock",
    "StoredOrder",
    "Tabs",
    "UpdateWrite",
]
