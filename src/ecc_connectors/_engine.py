"""The engine: download orders through the policy into the ledger, post back, take phone orders.

Two entry points share one core:

* :class:`Connector` for plain code (threads under the hood for concurrent page fetches)::

      with Connector(driver, policy, SQLiteLedger("orders.db")) as connector:
          report = connector.download()
          for record in connector.orders():
              ...
          connector.ship(record.order_id, ["1Z999"])

* :class:`AsyncConnector` for asyncio code, with the same methods awaited where they do I/O::

      async with AsyncConnector(driver, policy, SQLiteLedger("orders.db")) as connector:
          report = await connector.download()
          await connector.ship(order_id, ["1Z999"])

How the logic stays in one place: every operation is written once, in the core (``_core.Core``: downloads in
``_download``, writes in ``_actions``), as a generator that yields *effects* instead of doing I/O (the seven of
``_effects``: run a flow, start one, await it, commit a page, wait for the commit, report progress, read the
store's clock). This module holds the two interpreters of those effects, the shells: worker threads and futures,
or asyncio tasks; errors are thrown back into the core generator where they happened. Ledger look-ups are made
by the core directly (short and synchronous); page commits go to the shell's ledger thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from ._actions import describe as _describe
from ._core import Core
from ._driver import (
    Driver,
    Flow,
    ItemQuery,
    NewOrder,
    ShipmentResult,
    Tracking,
)
from ._effects import Await as _Await
from ._effects import Effect as _Effect
from ._effects import Progress as _Progress
from ._effects import Ready as _Ready
from ._effects import RoundTrip as _RoundTrip
from ._effects import Run as _Run
from ._effects import StoreNow as _StoreNow
from ._effects import Submit as _Submit
from ._effects import Write as _Write
from ._io import AsyncIO, IOPolicy, Pending, SyncIO, advance
from ._model import Item, Order, StoreStatus
from ._outcomes import Tab
from ._policy import PolicyProblem, SyncPolicy
from ._reports import DownloadReport, ReconcileReport
from .ledger import (
    ActionRecord,
    DownloadLocks,
    FailureRecord,
    Ledger,
    OrderRecord,
    PendingUpdate,
    PhoneOrderRecord,
    StoreLock,
)

__all__ = ["AsyncConnector", "Connector", "DownloadReport", "Progress", "ReconcileReport"]
T = TypeVar("T")
logger = logging.getLogger("ecc_connectors.engine")


def _download_lock(ledger: Ledger, store: str) -> StoreLock:
    """The ledger's per-store download lock when it has the :class:`~ecc_connectors.ledger.DownloadLocks` role
    (``PostgresLedger``), else nothing.

    Held around a download or reconcile so two syncers, in any process on any machine, never read one store
    into one ledger at once; the second is told :class:`~ecc_connectors.ledger.postgres.StoreBusy`. A ledger
    for one process (SQLite) has none. Post-backs do not take it: they hold the action lease instead."""
    if isinstance(ledger, DownloadLocks):
        return ledger.download_lock(store)
    return contextlib.nullcontext()

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: orders handled so far, and the store's total when it says (else ``None``)."""

_Core_T = Generator[_Effect, Any, T]


# ---------------------------------------------------------------------------------------------------------
# The shells


class _Tabs:
    """Reads and decisions that need no store I/O, the same on both entry points (plain methods on both:
    they are short ledger calls)."""

    _core: Core
    _write_thread: ThreadPoolExecutor | None = None
    _write_lock = threading.Lock()

    def _writer(self) -> ThreadPoolExecutor:
        # Pages are committed on this one thread, in order, while the next page is parsed (see _Write).
        with self._write_lock:
            if self._write_thread is None:
                self._write_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecc-ledger")
            return self._write_thread

    def _stop_writer(self) -> None:
        with self._write_lock:
            thread, self._write_thread = self._write_thread, None
        if thread is not None:
            thread.shutdown(wait=True)

    @property
    def driver(self) -> Driver:
        return self._core.driver

    @property
    def policy(self) -> SyncPolicy:
        return self._core.policy

    @property
    def ledger(self) -> Ledger:
        return self._core.ledger

    @property
    def store(self) -> str:
        return self._core.store

    def orders(self) -> list[OrderRecord]:
        """The Orders tab: downloaded orders with their local paid/shipped state."""
        return self.ledger.orders(self.store, Tab.ORDERS)

    def ignored(self) -> list[OrderRecord]:
        """The Ignore tab: orders in statuses not selected for download (when the policy keeps them)."""
        return self.ledger.orders(self.store, Tab.IGNORE)

    def updates(self) -> list[PendingUpdate]:
        """The Updates tab: orders changed in the store after download, each with its field changes."""
        return self.ledger.updates(self.store)

    def failures(self) -> list[FailureRecord]:
        """Orders whose payload could not be read, with the raw payload."""
        return self.ledger.failures(self.store)

    def redownload(self, order_id: str) -> OrderRecord:
        """Accept the pending update of ``order_id``: its current copy replaces the downloaded one (no I/O:
        the copy was taken by the download that found the change)."""
        return self._core.redownload(order_id)

    def dismiss(self, order_id: str) -> bool:
        """Keep the downloaded copy of ``order_id`` and clear its pending update."""
        return self._core.dismiss(order_id)

    def actions(self, order_id: str | None = None) -> list[ActionRecord]:
        """The post-back / acknowledgement / cancellation log (an order's audit trail with ``order_id``)."""
        return self.ledger.actions(self.store, order_id)

    def phone_orders(self) -> list[PhoneOrderRecord]:
        return self.ledger.phone_orders(self.store)


class Connector(_Tabs):
    """Sync entry point: one store's driver, its policy and a ledger.

    ``client``: an ``httpx.Client`` to send through (borrowed: you close it); by default the connector makes
    and closes its own. ``clock`` returns the current time (timezone-aware) and ``sleep`` waits between
    retries; both are there so tests can control time. Requests are spread over at most
    ``driver.limits().concurrency`` worker threads.
    """

    def __init__(
        self,
        driver: Driver,
        policy: SyncPolicy,
        ledger: Ledger,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        io_policy: IOPolicy | None = None,
    ) -> None:
        self._core = Core(driver, policy, ledger, clock)
        self._io = SyncIO(driver, client=client, sleep=sleep, policy=io_policy)
        self._sleep = sleep
        self._others: dict[int, SyncIO] = {}

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop worker threads and close the HTTP client if the connector made it (the ledger stays open)."""
        for io in self._others.values():
            io.close()
        self._io.close()
        self._stop_writer()

    def _io_for(self, driver: Driver | None) -> SyncIO:
        if driver is None or driver is self.driver:
            return self._io
        io = self._others.get(id(driver))
        if io is None:
            io = self._others[id(driver)] = SyncIO(driver, client=self._io.client, sleep=self._sleep)
        return io

    def _drive(self, core: _Core_T[T]) -> T:
        tickets: dict[int, Pending[Any]] = {}
        writing: Future[None] | None = None
        counter = itertools.count()
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = core.throw(error) if error is not None else core.send(value)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value, error = None, None
                try:
                    if isinstance(effect, _Run):
                        value = self._io_for(effect.driver).run(effect.flow)
                    elif isinstance(effect, _Submit):
                        ticket = next(counter)
                        tickets[ticket] = self._io.submit(effect.flow)
                        value = ticket
                    elif isinstance(effect, _Await):
                        value = tickets.pop(effect.ticket).result()
                    elif isinstance(effect, _Ready):
                        value = tuple(t for t in effect.tickets if tickets[t].done())
                    elif isinstance(effect, _Progress):
                        effect.callback(effect.done, effect.total)
                    elif isinstance(effect, _StoreNow):
                        value = self._io.store_clock.now()
                    elif isinstance(effect, _RoundTrip):
                        value = self._io.store_clock.round_trip
                    elif isinstance(effect, _Write):
                        previous, writing = writing, None
                        if previous is not None:
                            previous.result()
                        writing = self._writer().submit(self.ledger.commit_page, effect.batch)
                    elif writing is not None:  # _Flush
                        finishing, writing = writing, None
                        finishing.result()
                except Exception as exc:
                    error = exc
        finally:
            for future in tickets.values():
                future.cancel()
            if writing is not None:
                # Never leave a page half-way: let the write in progress finish (its own error is logged).
                try:
                    writing.result()
                except Exception as exc:
                    logger.warning("page write failed while stopping: %s", _describe(exc))
            core.close()

    def download(self, progress: Progress | None = None) -> DownloadReport:
        """Download what changed since the last run (minus the lookback) into the ledger.

        The query reads orders updated from ``max(range.start, high-water mark - lookback)`` up to ``now -
        settle_delay``. Each page is committed with the high-water mark in one transaction, so a run stopped
        anywhere resumes with nothing lost and nothing duplicated. ``progress(done, total)`` is called after
        each page. With a ledger that has a per-store download lock (PostgreSQL), the lock is held for the run.
        """
        with _download_lock(self.ledger, self.store):
            return self._drive(self._core.download(progress))

    def reconcile(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        compare_content: bool = False,
        progress: Progress | None = None,
    ) -> ReconcileReport:
        """Compare the store's orders in a window with the ledger and repair what differs.

        By default the cheapest listing the store offers (ids and update stamps only) is compared with the
        ledger: orders never downloaded are read and go to their tab, orders whose stamp is newer than the
        ledger's copy are read and go through the rules (an Update, as in a download). ``compare_content=True``
        re-reads every order of the window whole and compares fingerprints, which also catches edits a store
        made without touching the update stamp. The window is ``start`` (default: the policy's range start) to
        ``end`` (default: the store's time minus the settle delay). The high-water mark is not moved. The
        ledger's per-store download lock, where it has one, is held as for :meth:`download`."""
        with _download_lock(self.ledger, self.store):
            return self._drive(self._core.reconcile(start, end, compare_content, progress))

    def run(self, flow: Flow[T]) -> T:
        """Run one driver flow by hand through this connector's I/O (retries, limits, auth) and return its
        result, e.g. ``connector.run(driver.list_statuses())``."""
        return self._drive(self._core.run(flow))

    def list_statuses(self) -> tuple[StoreStatus, ...]:
        """The store's order statuses, to build a settings screen or check a policy against."""
        return self._drive(self._core.list_statuses())

    def get_order(self, order_id: str) -> Order:
        """One order as the store has it now (nothing is written to the ledger)."""
        return self._drive(self._core.get_order(order_id))

    def check_policy(self) -> list[PolicyProblem]:
        """Every problem of the policy against the store's own statuses (an empty list when there is none)."""
        return self._drive(self._core.check_policy())

    def ship(
        self,
        order_id: str,
        tracking: Iterable[Tracking | str] | Tracking | str,
        *,
        lines: Sequence[tuple[str, Decimal]] = (),
        comment: str = "",
        key: str | None = None,
    ) -> ShipmentResult:
        """Post a shipment back to the store with the policy's status and email setting.

        Logged under an idempotency key (by default made from the order, the tracking numbers and the lines):
        once it succeeded, calling again returns the recorded result without contacting the store.
        """
        return self._drive(self._core.ship(order_id, tracking, lines=lines, comment=comment, key=key))

    def acknowledge(self, order_id: str, *, key: str | None = None) -> None:
        """Set the policy's acknowledgement status. Raises :class:`ConfigurationError` when it is off."""
        self._drive(self._core.acknowledge(order_id, key=key))

    def set_status(
        self, order_id: str, status: str, *, comment: str = "", notify: bool = False, key: str | None = None
    ) -> None:
        self._drive(self._core.set_status(order_id, status, comment=comment, notify=notify, key=key))

    def cancel(self, order_id: str, *, key: str | None = None) -> None:
        """Cancel in the store with the policy's cancellation status and email setting."""
        self._drive(self._core.cancel(order_id, key=key))

    def invoice(self, order_id: str, *, notify: bool = False, key: str | None = None) -> str:
        """Invoice (capture) the order in the store; returns the store's invoice id."""
        return self._drive(self._core.invoice(order_id, notify=notify, key=key))

    def search_items(
        self, query: ItemQuery | str, source_driver: Driver | None = None
    ) -> tuple[Item, ...]:
        """Items for a phone order, from the source the policy names: the store, or NetSuite (pass its driver
        as ``source_driver``; ignored when the store is the source)."""
        return self._drive(self._core.search_items(query, source_driver))

    def create_phone_order(self, new_order: NewOrder) -> Order:
        """Create the order in the store and record it, so downloads see it as known. Retrying with the same
        ``reference`` never creates a second order."""
        return self._drive(self._core.create_phone_order(new_order))


class AsyncConnector(_Tabs):
    """Asyncio entry point; the same operations as :class:`Connector`, awaited where they talk to the store.

    ``client``: an ``httpx.AsyncClient`` (borrowed when given). Page fetches run as tasks, at most
    ``driver.limits().concurrency`` requests at once. The CPU-bound steps (parsing, deciding, the core's ledger
    look-ups) run on one worker thread of the connector's own and page commits on its ledger thread, so the
    event loop only sends and reads.
    """

    def __init__(
        self,
        driver: Driver,
        policy: SyncPolicy,
        ledger: Ledger,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        io_policy: IOPolicy | None = None,
    ) -> None:
        self._core = Core(driver, policy, ledger, clock)
        # One worker thread runs the CPU-bound steps (parsing pages, deciding, committing) in order, so the event
        # loop stays free to send and read while a page is being handled, much as the sync shell's workers do.
        # One thread keeps those steps serialised, as they are in the sync shell.
        self._cpu: ThreadPoolExecutor | None = None
        self._io = AsyncIO(driver, client=client, sleep=sleep, policy=io_policy, offload=self._offload)
        self._sleep = sleep
        self._others: dict[int, AsyncIO] = {}

    async def _offload(self, step: Callable[[], T]) -> T:
        if self._cpu is None:
            self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecc-core")
        future = self._cpu.submit(contextvars.copy_context().run, step)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            # A step already running cannot be interrupted: let it finish before the caller unwinds and closes
            # the generator it is advancing (closing a running generator raises ValueError). A step not yet
            # started is simply dropped.
            if not future.cancel():
                await asyncio.wait([asyncio.wrap_future(future)])
            raise

    async def __aenter__(self) -> AsyncConnector:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._io.aclose()
        cpu, self._cpu = self._cpu, None
        # Waiting for the worker threads (the last page write among them) must not block the event loop.
        if cpu is not None:
            await asyncio.to_thread(cpu.shutdown, True)
        await asyncio.to_thread(self._stop_writer)

    def _io_for(self, driver: Driver | None) -> AsyncIO:
        if driver is None or driver is self.driver:
            return self._io
        io = self._others.get(id(driver))
        if io is None:
            io = self._others[id(driver)] = AsyncIO(
                driver, client=self._io.client, sleep=self._sleep, offload=self._offload
            )
        return io

    async def _drive(self, core: _Core_T[T]) -> T:
        tickets: dict[int, asyncio.Task[Any]] = {}
        writing: asyncio.Future[None] | None = None
        counter = itertools.count()
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                sent, thrown = value, error
                done, effect = await self._offload(functools.partial(advance, core, sent, thrown))
                if done:
                    result: T = effect
                    return result
                value, error = None, None
                try:
                    if isinstance(effect, _Run):
                        value = await self._io_for(effect.driver).run(effect.flow)
                    elif isinstance(effect, _Submit):
                        ticket = next(counter)
                        tickets[ticket] = self._io.submit(effect.flow)
                        value = ticket
                    elif isinstance(effect, _Await):
                        value = await tickets.pop(effect.ticket)
                    elif isinstance(effect, _Ready):
                        value = tuple(t for t in effect.tickets if tickets[t].done())
                    elif isinstance(effect, _Progress):
                        effect.callback(effect.done, effect.total)
                    elif isinstance(effect, _StoreNow):
                        value = self._io.store_clock.now()
                    elif isinstance(effect, _RoundTrip):
                        value = self._io.store_clock.round_trip
                    elif isinstance(effect, _Write):
                        previous_write, writing = writing, None
                        if previous_write is not None:
                            await previous_write
                        writing = asyncio.get_running_loop().run_in_executor(
                            self._writer(), self.ledger.commit_page, effect.batch
                        )
                    elif writing is not None:  # _Flush
                        finishing_write, writing = writing, None
                        await finishing_write
                except Exception as exc:
                    error = exc
        finally:
            for task in tickets.values():
                task.cancel()
            if tickets:
                await asyncio.gather(*tickets.values(), return_exceptions=True)
            if writing is not None:
                try:
                    await writing
                except Exception as exc:
                    logger.warning("page write failed while stopping: %s", _describe(exc))
            core.close()

    async def download(self, progress: Progress | None = None) -> DownloadReport:
        """See :meth:`Connector.download`."""
        async with _download_lock(self.ledger, self.store):
            return await self._drive(self._core.download(progress))

    async def reconcile(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        compare_content: bool = False,
        progress: Progress | None = None,
    ) -> ReconcileReport:
        """See :meth:`Connector.reconcile`."""
        async with _download_lock(self.ledger, self.store):
            return await self._drive(self._core.reconcile(start, end, compare_content, progress))

    async def run(self, flow: Flow[T]) -> T:
        """See :meth:`Connector.run`."""
        return await self._drive(self._core.run(flow))

    async def list_statuses(self) -> tuple[StoreStatus, ...]:
        """See :meth:`Connector.list_statuses`."""
        return await self._drive(self._core.list_statuses())

    async def get_order(self, order_id: str) -> Order:
        """See :meth:`Connector.get_order`."""
        return await self._drive(self._core.get_order(order_id))

    async def check_policy(self) -> list[PolicyProblem]:
        """See :meth:`Connector.check_policy`."""
        return await self._drive(self._core.check_policy())

    async def ship(
        self,
        order_id: str,
        tracking: Iterable[Tracking | str] | Tracking | str,
        *,
        lines: Sequence[tuple[str, Decimal]] = (),
        comment: str = "",
        key: str | None = None,
    ) -> ShipmentResult:
        """See :meth:`Connector.ship`."""
        return await self._drive(self._core.ship(order_id, tracking, lines=lines, comment=comment, key=key))

    async def acknowledge(self, order_id: str, *, key: str | None = None) -> None:
        await self._drive(self._core.acknowledge(order_id, key=key))

    async def set_status(
        self, order_id: str, status: str, *, comment: str = "", notify: bool = False, key: str | None = None
    ) -> None:
        await self._drive(self._core.set_status(order_id, status, comment=comment, notify=notify, key=key))

    async def cancel(self, order_id: str, *, key: str | None = None) -> None:
        await self._drive(self._core.cancel(order_id, key=key))

    async def invoice(self, order_id: str, *, notify: bool = False, key: str | None = None) -> str:
        return await self._drive(self._core.invoice(order_id, notify=notify, key=key))

    async def search_items(
        self, query: ItemQuery | str, source_driver: Driver | None = None
    ) -> tuple[Item, ...]:
        return await self._drive(self._core.search_items(query, source_driver))

    async def create_phone_order(self, new_order: NewOrder) -> Order:
        return await self._drive(self._core.create_phone_order(new_order))
