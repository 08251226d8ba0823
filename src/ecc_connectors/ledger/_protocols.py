"""The ledger's contract, in four roles and their union.

The engine talks to storage through :class:`Ledger`; each role protocol is the part one side of the engine
needs, so a caller (or a test double) may ask for only that part:

* :class:`DownloadState` -- what a download reads and writes: the high-water mark, the rows it has seen, the
  keys it knows, and the page it commits;
* :class:`Tabs` -- what the user sees and decides on: the Orders and Ignore tabs, pending updates, failures;
* :class:`ActionLog` -- post-backs, acknowledgements, cancellations, status changes, invoices and phone orders,
  each run once under an idempotency key and a lease;
* :class:`PhoneOrderLog` -- phone orders created in the store.

One role is optional and not part of :class:`Ledger`: :class:`DownloadLocks`, a per-store lock for a ledger that
several machines share (the PostgreSQL ledger has it; SQLite, one process's file, does not need it).

The rules every method keeps (threads, several instances on one storage, atomic writes, consistent reads,
errors, times) are on :class:`Ledger`.

``ecc_connectors.testing.ledger_suite`` checks an implementation against these promises.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from .._model import Order
from .._outcomes import Tab
from ._records import (
    ActionRecord,
    FailureRecord,
    HighWater,
    OrderRecord,
    PageBatch,
    PendingUpdate,
    PhoneOrderRecord,
    RowWrite,
    StoredOrder,
)

__all__ = ["ActionLog", "DownloadLocks", "DownloadState", "Ledger", "PhoneOrderLog", "StoreLock", "Tabs"]


@runtime_checkable
class DownloadState(Protocol):
    """What a download reads and writes: the mark to resume from, the rows it has seen, and its pages.

    The rules on :class:`Ledger` (threads, atomic writes, errors) apply to every method."""

    def high_water(self, store: str) -> HighWater | None:
        """The high-water mark the store's latest committed page carried (its ``mark`` and ``scope``), or
        ``None`` when no page of the store carried one.

        The mark moves only with a page: it is written by :meth:`commit_page` in the page's own transaction
        and by nothing else, so a page that failed to commit leaves the previous mark. It is overwritten as
        given (the engine, not the ledger, keeps it from moving back). A read; thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        """The rows of these orders, by ``order_id``: any tab, replaced rows included; ids the ledger does
        not hold are left out, and an id given twice is answered once.

        Each :class:`StoredOrder` carries the row's own copy (never a pending update's): its ``tab``,
        ``paid`` and ``shipped``, ``fingerprint`` (:func:`ecc_connectors.fingerprint` of that copy),
        ``replaced_by``, ``dismissed``, and ``updated_at``, the store's update stamp of that copy (equal to
        ``stored.order.updated_at``). ``order`` parses the copy (without its raw payload) only when asked.

        Any number of ids (a page holds hundreds; an implementation splits what its storage cannot take in
        one query, and the chunks may be read one after the other; each row is whole). A read; thread-safe.
        Raises ``ConnectorError`` on a storage failure."""
        ...

    def known_keys(self, store: str, start: datetime | None = None, end: datetime | None = None) -> dict[str, datetime]:
        """Every order the ledger knows for the store, with the store ``updated_at`` of the newest copy it
        holds: for reconciling against the store's own list of keys.

        Covers each row of any tab that was not replaced by an edited order. Where a pending update holds a
        newer copy of the row, that copy's ``updated_at`` is reported (the ledger already knows that version);
        an edited order (a new entity) waiting as a pending replacement is also reported under its own id.
        ``start`` and ``end``, when given, keep the orders with ``start <= updated_at <= end`` (inclusive, on
        the reported stamp, compared as instants: sub-second stamps count). One consistent read; it must stay
        fast for tens of thousands of orders (SQLite: about 20 ms for 20,000). Thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...

    def commit_page(self, batch: PageBatch) -> None:
        """Write everything one page changes, **atomically**: after a crash or an exception either all of the
        page is there, mark included, or none of it is.

        For ``batch.store``, with ``batch.now`` as the time of the write:

        * each :class:`RowWrite` puts its order in its tab with its local ``paid`` / ``shipped`` state: a new
          row, or its own row overwritten (``first_seen`` kept, ``last_changed`` = now, ``replaced_by`` and
          ``dismissed`` cleared). The fingerprint is :func:`ecc_connectors.fingerprint` of the order, and its
          raw payload is kept (:meth:`Tabs.get` returns it). Writing a row clears the failures recorded for
          that order (those whose ``order_ref`` is its ``order_id`` or its ``number``). With ``supersedes``,
          the superseded row records ``replaced_by`` (the new order's id) and loses its pending update;
        * each :class:`UpdateWrite` holds its order as the pending update of row ``target`` (one per row; the
          later write replaces an earlier one), except that a replacement's update (``replaces`` set) is never
          overwritten by a plain update of the same row;
        * each :class:`~ecc_connectors.PayloadError` is recorded as a failure with its raw payload; one with
          the same ``order_ref``, ``field`` and ``problem`` as a recorded one replaces it;
        * ``high_water``, when given, becomes the store's mark (:meth:`high_water`).

        Rows are written before failures are recorded, so a page holding both an order and a failure of it
        keeps the failure. Readers see the page whole or not at all. When anything goes wrong (the storage,
        or an exception raised while reading the batch itself), the exception propagates and nothing of the
        page is visible; the ledger stays usable. Thread-safe: concurrent commits are serialised. Raises
        ``ConnectorError`` on a storage failure."""
        ...


@runtime_checkable
class Tabs(Protocol):
    """What the user sees and decides on: the tabs, pending updates, failures and local state.

    The rules on :class:`Ledger` (threads, atomic writes, errors) apply to every method."""

    def get(self, store: str, order_id: str) -> OrderRecord | None:
        """The row of this order (any tab, a replaced row included) with its stored copy and that copy's raw
        payload (``order.raw``, a :class:`~ecc_connectors.RawJSON`), or ``None``. A read; thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]:
        """The rows of ``tab`` (rows replaced by an edited order left out), oldest store ``updated_at`` first,
        ties by ``order_id``. One consistent read; thread-safe. Raises ``ConnectorError`` on a storage
        failure."""
        ...

    def updates(self, store: str) -> list[PendingUpdate]:
        """The store's pending updates, by the ``order_id`` of the row each applies to. One consistent read;
        thread-safe. Raises ``ConnectorError`` on a storage failure."""
        ...

    def pending(self, store: str, order_id: str) -> PendingUpdate | None:
        """The pending update of row ``order_id`` (its ``order`` is the store's current copy, whose own id
        differs for a replacement), or ``None``. A read; thread-safe. Raises ``ConnectorError`` on a storage
        failure."""
        ...

    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord:
        """Take the pending update of row ``order_id`` as the downloaded copy; returns the row it now lives
        in.

        A plain update overwrites the row's copy (tab, ``paid``, ``shipped`` and ``first_seen`` kept;
        ``last_changed`` = ``now``). A replacement (an edited order that is a new entity) becomes a row of its
        own under its new id with the old row's tab, local state and ``first_seen``, and the old row records
        ``replaced_by``. Either way the pending update is gone. Atomic; thread-safe. Raises ``KeyError`` when
        the row has no pending update or is not in the ledger (and changes nothing), ``ConnectorError`` on a
        storage failure."""
        ...

    def dismiss_update(self, store: str, order_id: str) -> bool:
        """Keep the downloaded copy and forget the pending update; returns whether there was one.

        The dismissed copy's fingerprint is kept on the row (``dismissed``), so reading that same copy again
        (a lookback, a re-read) does not bring the update back; a further change does. The row's copy, tab
        and stamp are unchanged. Atomic; thread-safe. Raises ``ConnectorError`` on a storage failure."""
        ...

    def failures(self, store: str) -> list[FailureRecord]:
        """The orders of the store whose payload could not be understood, by ``order_ref`` then ``field``,
        each with its raw payload as the store sent it (a :class:`~ecc_connectors.RawJSON`: ``raw.data()``
        parses it, amounts as ``Decimal``; the odd non-JSON value is kept as text). A failure stays until the
        order is written as a row. One consistent read; thread-safe. Raises ``ConnectorError`` on a storage
        failure."""
        ...

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None:
        """Set the row's local ``paid`` and/or ``shipped`` flags (``None`` leaves a flag as it is); nothing
        else of the row changes. An order not in the ledger is left alone (no error). Atomic; thread-safe.
        Raises ``ConnectorError`` on a storage failure."""
        ...

    def refresh(self, store: str, order: Order, now: datetime) -> bool:
        """Take ``order`` as the new downloaded copy of its row, keeping the tab and local state; returns
        whether the row was refreshed.

        Used after a post-back: the store's answer to our own change (a shipment, a status) is not an Update.
        Nothing happens when the order is not in the ledger, or when an update is pending for it (the user has
        not seen the store's other changes yet). A refreshed row has the new copy, its fingerprint and
        ``updated_at``, ``last_changed`` = ``now`` and no ``dismissed``. Atomic (the check and the write);
        thread-safe. Raises ``ConnectorError`` on a storage failure."""
        ...


@runtime_checkable
class ActionLog(Protocol):
    """Writes to the store, run once each: an idempotency key, a lease, and a log of every attempt.

    The rules on :class:`Ledger` (threads, atomic writes, errors) apply to every method."""

    def begin_action(
        self,
        store: str,
        order_id: str,
        kind: str,
        key: str,
        request: Any,
        now: datetime,
        *,
        owner: str = "",
        lease: timedelta = timedelta(minutes=5),
    ) -> tuple[ActionRecord, bool]:
        """Claim the action ``key`` of the store for ``owner`` until ``now + lease``. Returns the row and
        whether the caller should run the write.

        Atomic across threads and processes sharing the ledger: of callers racing on one key, exactly one
        goes. No row yet: one is written (``started``, attempt 1, ``request`` stored as JSON) and the caller
        goes. ``done``: the recorded result stands and the caller does not go (nothing is written).
        ``started`` under a lease that has not expired at ``now``: raises
        :class:`~ecc_connectors.ActionInProgress` (naming the kind, the order, the holder and the lease's end,
        never the request) and writes nothing. ``failed``, or ``started`` under an expired lease (a crashed
        holder): the caller takes it over as the next attempt (the log says after what), and should check the
        store before writing, since the earlier attempt may have reached it.

        The row returned when the caller goes is ``started`` with ``owner``, ``lease_until = now + lease``,
        ``attempts`` counted from 1, no result or error, the ``checkpoint`` of earlier attempts, and a log
        entry for this attempt: ``{"attempt", "owner", "started"}`` plus ``"after"`` on a take-over
        (``"failed: <error>"`` or ``"lease of <owner> expired at <iso time>"``). Thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...

    def finish_action(
        self,
        action_id: int,
        *,
        ok: bool,
        result: Any = None,
        error: str | None = None,
        now: datetime,
        note: str = "",
        owner: str | None = None,
    ) -> ActionRecord:
        """Record the end of the current attempt: ``done`` with ``result``, or ``failed`` with ``error``; the
        lease is released (``lease_until`` = ``None``), ``finished_at`` = ``now``, and the attempt's log entry
        completed with ``finished``, ``ok``, ``error`` (when given) and ``note`` (what the write checked in the
        store and what it found).

        With ``owner`` given, the row is only finished if that owner still holds it: when its lease expired and
        another caller took the action over, their state is kept, and a ``late`` log entry records this
        finish instead (with the result, when ``ok``). Returns the row as it now stands. Atomic (the check and
        the write); thread-safe. Raises ``KeyError`` for an unknown id, ``ConnectorError`` on a storage
        failure."""
        ...

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        """Keep a small string on the action (a cart reserved for a phone order, say) that a later attempt
        reads back from :attr:`ActionRecord.checkpoint`; it replaces the previous one and survives retries,
        take-overs, finishing and reopening the ledger. Atomic; thread-safe. Raises ``KeyError`` for an
        unknown id, ``ConnectorError`` on a storage failure."""
        ...

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]:
        """The store's action rows (only those of ``order_id`` when given: the order's audit trail), oldest
        first (in the order they were first begun). One consistent read; thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...


@runtime_checkable
class PhoneOrderLog(Protocol):
    """Phone orders created in the store, by the caller's reference.

    The rules on :class:`Ledger` (threads, atomic writes, errors) apply to every method."""

    def record_phone_order(self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime) -> None:
        """Record the phone order ``reference`` (the created order's id and number, the ``payload`` sent,
        created at ``now``) and write ``row``, the created order, as :meth:`DownloadState.commit_page` writes
        a row, **in one transaction**: the next download then sees the order as known rather than new.
        Recording a reference again replaces its order and payload (``created_at`` kept). Atomic; thread-safe.
        Raises ``ConnectorError`` on a storage failure."""
        ...

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]:
        """The store's phone orders, oldest ``created_at`` first, ties by reference. One consistent read;
        thread-safe. Raises ``ConnectorError`` on a storage failure."""
        ...

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None:
        """The phone order recorded under ``reference``, or ``None``. A read; thread-safe. Raises
        ``ConnectorError`` on a storage failure."""
        ...


@runtime_checkable
class Ledger(DownloadState, Tabs, ActionLog, PhoneOrderLog, Protocol):
    """What the engine needs from storage: the four roles, and :meth:`close`.

    **Rules for every method** (each method's docstring adds its own):

    * *Threads.* Every method may be called from any thread, including concurrently with other calls on the same
      instance: the engine commits pages on a ledger thread of its own while it parses the next page, and the async
      shell calls from worker threads (never from the event loop).
    * *Several instances on one storage.* Two ledgers opened on the same storage (two processes sharing a file or a
      database) must keep every promise of the protocol against each other, as two threads do against one instance; in
      particular :meth:`ActionLog.begin_action` lets exactly one of several racing callers go.
    * *Atomic writes.* A method that writes does so in one transaction: when it raises, nothing of its write is
      visible, and the ledger stays usable.
    * *Consistent reads.* A read sees whole transactions only (never half a page).
    * *Errors.* A storage failure (disk full, a lock held past the timeout, a corrupt file, a lost connection)
      leaves a method as :class:`~ecc_connectors.ConnectorError` whose message begins
      ``"ledger: <operation> failed"``, with the storage's error as ``__cause__``. Errors that are bugs rather
      than the environment (a value the storage refuses, a closed ledger) may pass through as they are.
      ``KeyError`` is raised only where a method says so.
    * *Times.* Every ``datetime`` given is timezone-aware; every ``datetime`` returned is timezone-aware and equal
      (as an instant) to the one stored, to the microsecond.
    * *Stores.* Everything is kept per ``store`` (the driver's store id): no method reads or changes another store's
      data.

    :class:`~ecc_connectors.ledger.SQLiteLedger` is the built-in implementation;
    ``ecc_connectors.testing.ledger_suite`` is the conformance suite a new one must pass.
    """

    def close(self) -> None:
        """Release the storage (connections, file handles). Calls made after it may raise; closing twice is
        harmless. Not to be called while another thread is still using the ledger."""
        ...


@runtime_checkable
class StoreLock(AbstractContextManager[Any], AbstractAsyncContextManager[Any], Protocol):
    """A held-while-inside lock, entered with ``with`` (the sync shell) or ``async with`` (the async one)."""


@runtime_checkable
class DownloadLocks(Protocol):
    """The optional role of a ledger shared by several syncers: one store, one download at a time.

    When the ledger has it, ``Connector.download`` / ``reconcile`` and their async twins hold
    ``download_lock(store)`` for the whole run; post-backs do not take it (they hold an action's lease instead).
    A ledger for one process (SQLite) leaves it out and the engine takes no lock."""

    def download_lock(self, store: str) -> StoreLock:
        """The lock on ``store``'s downloads. Entering it raises a ``ConnectorError`` naming the holder (at once,
        or after the implementation's wait) when another syncer holds the store, in any process on any machine
        sharing the storage; while it is held, a page this ledger commits for the store must not land if another
        syncer has since taken the store over. Re-entrant for the holder (a thread, or an asyncio task)."""
        ...
