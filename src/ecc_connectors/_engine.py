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

How the logic stays in one place: every operation is written once, in :class:`_Core`, as a generator that
yields *effects* instead of doing I/O: ``Run(flow)`` (run a driver flow, get its result), ``Submit(flow)``
(start it, get a ticket) and ``Await(ticket)`` (get the result of a started flow). Each shell interprets
effects in its own way (worker threads and futures, or asyncio tasks); errors are thrown back into the core
generator where they happened. Ledger calls are made by the core directly: they are short and synchronous (see
``_ledger``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import itertools
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import httpx
import orjson

from . import rules
from ._convert import fingerprint
from ._driver import (
    CancelRequest,
    Capability,
    Driver,
    Flow,
    FollowCursor,
    ItemQuery,
    KeyPage,
    NewOrder,
    NumberedPages,
    OrderKey,
    OrderQuery,
    Page,
    Probe,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    Tracking,
    WriteResult,
)
from ._effects import Await as _Await
from ._effects import Effect as _Effect
from ._effects import Flush as _Flush
from ._effects import Progress as _Progress
from ._effects import Run as _Run
from ._effects import StoreNow as _StoreNow
from ._effects import Submit as _Submit
from ._effects import Write as _Write
from ._errors import BrokenAnswer, ConfigurationError, ConnectorError, PayloadError, StoreError
from ._io import AsyncIO, IOPolicy, Pending, SyncIO, advance
from ._keyset import Slice, cut, frontier, step
from ._ledger import (
    ActionRecord,
    FailureRecord,
    HighWater,
    Ledger,
    OrderRecord,
    PageBatch,
    PendingUpdate,
    PhoneOrderRecord,
    RowWrite,
    StoredOrder,
    UpdateWrite,
)
from ._model import Item, Order, utc
from ._outcomes import Download, Ignore, Skip, Tab, Unchanged, Update
from ._policy import ItemSource, SyncPolicy

__all__ = ["AsyncConnector", "Connector", "DownloadReport", "Progress", "ReconcileReport"]

T = TypeVar("T")
logger = logging.getLogger("ecc_connectors.engine")
Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: orders handled so far, and the store's total when it says (else ``None``)."""


_Core_T = Generator[_Effect, Any, T]

# ---------------------------------------------------------------------------------------------------------
# Results


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


@attrs.define
class _Repair:
    listed: int = 0
    known: int = 0
    missing: int = 0
    changed: int = 0
    vanished: int = 0


@attrs.define
class _RunState:
    """One run's bookkeeping beyond the counts: where the mark stands, the window's bound, the callback."""

    scope: str
    base: datetime | None
    progress: Progress | None
    now: datetime
    mark: datetime | None = None
    upper: datetime | None = None
    total_warned: bool = False

    def __attrs_post_init__(self) -> None:
        self.mark = self.base


@attrs.define
class _Tally:
    pages: int = 0
    downloaded: int = 0
    ignored: int = 0
    updates: int = 0
    unchanged: int = 0
    skipped: int = 0
    failures: int = 0
    newest: datetime | None = None
    update_targets: set[str] = attrs.Factory(set)

    @property
    def done(self) -> int:
        return self.downloaded + self.ignored + self.updates + self.unchanged + self.skipped + self.failures


def _action_key(kind: str, store: str, order_id: str, request: Any) -> str:
    digest = hashlib.blake2b(
        orjson.dumps([kind, store, order_id, request], default=str, option=orjson.OPT_SORT_KEYS),
        digest_size=12,
    ).hexdigest()
    return f"{kind}:{order_id}:{digest}"


def _outside(key: OrderKey, asked: Seek, upper: datetime) -> bool:
    """Whether ``key`` lies outside the bounds a keyset request was sent with."""
    if asked.after is not None and key <= asked.after:
        return True
    if asked.through is not None:
        return key > asked.through
    return key.updated_at > upper


def _first_attempt(action: ActionRecord) -> datetime:
    """When the action's first attempt started (later attempts move ``started_at``)."""
    for entry in action.log[:1]:
        started = entry.get("started")
        if isinstance(started, str):
            try:
                return utc(datetime.fromisoformat(started))
            except ValueError:
                break
    return action.started_at


def _describe(exc: BaseException) -> str:
    # Our own errors are written to be free of secrets; a foreign one is named by type and message.
    return str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"


def _trackings(tracking: Iterable[Tracking | str] | Tracking | str) -> tuple[Tracking, ...]:
    if isinstance(tracking, (str, Tracking)):
        tracking = (tracking,)
    return tuple(t if isinstance(t, Tracking) else Tracking(t) for t in tracking)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------------------------------------
# The core: every operation once, as a generator of effects


class _Core:
    def __init__(
        self, driver: Driver, policy: SyncPolicy, ledger: Ledger, clock: Callable[[], datetime] | None
    ) -> None:
        store = driver.store_id or driver.name
        if not store:
            raise ConfigurationError("the driver names no store: set its store_id (or name)")
        self.driver = driver
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

    # -- download ------------------------------------------------------------------------------------------

    def _scope(self) -> str:
        # A high-water mark only holds for the range it was taken under: moving the start back (to back-fill)
        # or changing the starting number makes the next run read from the range start again.
        window = self.policy.range
        return f"{window.start.astimezone(timezone.utc).isoformat()}|{window.starting_number or ''}"

    def download(self, progress: Progress | None = None) -> _Core_T[DownloadReport]:
        self.driver.require(Capability.LIST_ORDERS)
        keyset = Capability.SEEK_ORDERS in self.driver.capabilities
        policy, scope = self.policy, self._scope()
        window = policy.range
        mark = self.ledger.high_water(self.store)
        base = mark.mark if mark is not None and mark.scope == scope else None
        updated_from = window.start
        if base is not None:
            updated_from = max(updated_from, base - policy.incremental.lookback)
        query = OrderQuery(
            updated_from=updated_from,
            created_from=window.start,
            created_to=window.end,
            starting_number=window.starting_number,
            statuses=policy.store_statuses_to_request(),
        )
        tally = _Tally(newest=base)
        run = _RunState(scope=scope, base=base, progress=progress, now=self.now())
        if keyset:
            upper = yield from self._walk_orders(query, tally, run, move_mark=True)
        else:
            upper = yield from self._pages(query, tally, run)
        yield _Flush()
        logger.info(
            "%s: %d pages, %d downloaded, %d ignored, %d updates, %d unchanged, %d skipped, %d unreadable",
            self.store, tally.pages, tally.downloaded, tally.ignored, tally.updates, tally.unchanged,
            tally.skipped, tally.failures,
        )
        return DownloadReport(
            store=self.store,
            updated_from=min(updated_from, upper),
            updated_to=upper,
            pages=tally.pages,
            downloaded=tally.downloaded,
            ignored=tally.ignored,
            updates=tally.updates,
            unchanged=tally.unchanged,
            skipped=tally.skipped,
            failures=tally.failures,
            high_water_mark=run.mark,
        )

    def _upper(self, explicit: datetime | None = None) -> _Core_T[datetime]:
        """The window's upper bound: the store's own time (from its ``Date`` answers, erring early) minus the
        settle delay; the client's clock only when the store has not said its time."""
        if explicit is not None:
            return explicit
        store_now = yield _StoreNow()
        return (store_now if store_now is not None else self.now()) - self.policy.incremental.settle_delay

    def _read(self, make: Callable[[], Flow[T]]) -> Flow[T]:
        """Run a read flow, asking again when the answer cannot be read.

        A ``BrokenAnswer`` (a 2xx body cut short, not JSON, without its envelope) is a transient fault for an
        idempotent read: the flow is started afresh, up to the driver's ``max_attempts``. Any other exception a
        driver lets escape while reading (a bug, a parser's own error) is reported as ``BrokenAnswer`` too, so
        every error of a download is in the SDK's tree."""
        attempts = max(1, self.driver.limits().max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return (yield from make())
            except ConnectorError as exc:
                if not isinstance(exc, BrokenAnswer) or attempt == attempts:
                    raise
                logger.warning("%s: %s; asking again (attempt %d of %d)", self.store, exc, attempt, attempts)
            except (ArithmeticError, LookupError, ValueError, TypeError, RecursionError, UnicodeError) as exc:
                broken = BrokenAnswer(f"the answer could not be read: {type(exc).__name__}: {exc}", store=self.store)
                if attempt == attempts:
                    raise broken from exc
                logger.warning("%s: %s; asking again (attempt %d of %d)", self.store, broken, attempt, attempts)
        raise AssertionError("unreachable")  # pragma: no cover

    def _mark_batch(self, batch: PageBatch, run: _RunState, candidate: datetime | None, upper: datetime) -> None:
        """Attach the high-water mark this page may move to: never past the window's upper bound, never back."""
        if candidate is None:
            return
        candidate = min(candidate, upper)
        if run.mark is not None and candidate <= run.mark:
            return
        run.mark = candidate
        batch.high_water = HighWater(candidate, run.scope)

    # The keyset walk (see _keyset for the theory and the proof sketch).

    def _walk_orders(
        self, query: OrderQuery, tally: _Tally, run: _RunState, *, move_mark: bool, upper: datetime | None = None
    ) -> _Core_T[datetime]:
        """Read every order of ``query``'s window through the keyset listing and decide it. Returns the
        window's upper bound."""
        size = query.page_size
        unbounded = attrs.evolve(query, updated_to=upper)
        first: Page = yield _Run(self._read(lambda: self.driver.seek_page(unbounded, Seek(), size)))
        upper = yield from self._upper(upper)
        bounded = attrs.evolve(query, updated_to=upper)
        run.upper = upper
        head = Slice(0, None, None)
        slices = [head]

        def commit(part: Slice, page: Page, asked: Seek | None) -> _Core_T[None]:
            """Decide the rows of ``page`` that belong to ``part`` (``asked``: the bounds the request was sent
            with; ``None`` for the first page, sent before the window's end was known)."""
            if len(page.keys) != len(page.orders):
                raise BrokenAnswer(
                    f"the driver returned {len(page.orders)} orders but {len(page.keys)} keys", store=self.store
                )
            placed = step(part, page.keys, page.total, upper, store=self.store)
            if asked is not None:
                for index in placed.outside:
                    key = page.keys[index]
                    if _outside(key, asked, upper):
                        # Rows of the neighbouring slice are expected (the head's page may run past its cut);
                        # a row outside what was asked is the store (or a proxy) misbehaving.
                        logger.warning(
                            "%s: order %s came back stamped %s, outside the window asked for (up to %s); it is"
                            " left for the run whose window holds it, and the high-water mark stays within"
                            " this one", self.store, key.id, key.updated_at.isoformat(), upper.isoformat(),
                        )
            part.after, part.done = placed.cursor, placed.finished
            part.pages += 1
            inside = [page.orders[index] for index in placed.inside]
            batch = yield from self._decide_page(inside, tally, run)
            if move_mark:
                edge = frontier(slices, query.updated_from)
                self._mark_batch(batch, run, edge if edge is not None else tally.newest, upper)
            yield from self._write(batch, tally, run, first.total)

        def fetch(part: Slice) -> _Core_T[tuple[Slice, Seek, int]]:
            seek = part.seek()
            ticket = yield _Submit(self._read(lambda: self.driver.seek_page(bounded, seek, size)))
            return part, seek, ticket

        yield from commit(head, first, None)
        if head.done:
            return upper
        remaining = None if first.total is None else max(0, first.total - len(first.keys))
        width = max(1, self.driver.limits().concurrency)
        parts = 1 if remaining is None else min(width, -(-remaining // max(1, size)))
        pending: deque[tuple[Slice, Seek, int]] = deque()
        if parts >= 2:
            # The probes and the head slice's next page go out together: the head does not wait for the cut.
            offsets = [len(first.keys) + (remaining or 0) * i // parts for i in range(1, parts)]
            probe_tickets: list[int] = []
            for offset in offsets:
                probe_tickets.append((yield _Submit(self._read(functools.partial(self.driver.probe, bounded, offset)))))
            pending.append((yield from fetch(head)))
            probes: list[OrderKey | None] = []
            for ticket in probe_tickets:
                found: Probe = yield _Await(ticket)
                probes.append(found.key)
            cut_slices = cut(head.after, probes)
            head.through = cut_slices[0].through
            slices.extend(cut_slices[1:])
            for part in slices[1:]:
                pending.append((yield from fetch(part)))
        else:
            pending.append((yield from fetch(head)))
        while pending:
            part, seek, ticket = pending.popleft()
            page = yield _Await(ticket)
            yield from commit(part, page, seek)
            if not part.done:
                pending.append((yield from fetch(part)))
        return upper

    # Pages (numbered or cursor) for drivers without keyset listing.

    def _pages(self, query: OrderQuery, tally: _Tally, run: _RunState) -> _Core_T[datetime]:
        upper = yield from self._upper()
        run.upper = upper
        query = attrs.evolve(query, updated_to=upper, updated_from=min(query.updated_from or upper, upper))
        sorted_pages = self.driver.sorts_by_updated
        first: Page = yield _Run(self._read(lambda: self.driver.first_page(query)))
        total = first.total

        def commit(page: Page, follows_cursor: bool) -> _Core_T[None]:
            if total is not None and page.total is not None and page.total != total and not run.total_warned:
                run.total_warned = True
                logger.warning(
                    "%s: the store's total changed during the download (%d, now %d): orders moved while it was"
                    " read", self.store, total, page.total,
                )
            batch = yield from self._decide_page(page.orders, tally, run)
            if follows_cursor and sorted_pages:
                # A cursor (or server-side search) walks one snapshot in order: each page may move the mark.
                self._mark_batch(batch, run, tally.newest, upper)
            yield from self._write(batch, tally, run, total)

        following = first.next
        yield from commit(first, isinstance(following, FollowCursor) or following is None)
        while following is not None:
            if isinstance(following, FollowCursor):
                page: Page = yield _Run(self._read(following.fetch))
                yield from commit(page, True)
                following = page.next
            elif isinstance(following, NumberedPages):
                yield from self._numbered(following, first, commit)
                following = None
            else:  # pragma: no cover - NextPages is a closed union
                raise TypeError(f"unknown pagination {following!r}")
        if not isinstance(first.next, FollowCursor) or not sorted_pages:
            # Offset pages over a sort that moves can skip a row: verify against the key listing where the
            # driver has one, then move the mark once, for the whole run.
            if Capability.LIST_KEYS in self.driver.capabilities:
                yield _Flush()
                listed = yield from self._walk_keys(query, upper)
                yield from self._repair(listed, tally, run)
            yield _Flush()
            if tally.newest is not None:
                batch = PageBatch(self.store, run.now)
                self._mark_batch(batch, run, tally.newest, upper)
                if batch.high_water is not None:
                    self.ledger.commit_page(batch)
        return upper

    def _numbered(
        self, following: NumberedPages, first: Page, commit: Callable[[Page, bool], _Core_T[None]]
    ) -> _Core_T[None]:
        # A sliding window of `width` pages, committed strictly in page order. It is twice the concurrency
        # (the I/O layer still lets only `concurrency` requests out at once) so that a slot freed by an answer
        # is refilled at once, even while earlier pages are still being parsed and committed: sending never
        # waits for the CPU. At most width + 2 pages are held (the window, the page being decided, the page
        # being written), whatever the number of orders.
        size = following.page_size
        if first.total is not None and len(first.orders) >= first.total:
            return  # the store answered everything at once (it ignored the page size): nothing more to ask
        numbers = iter(following.numbers)
        width = 2 * max(1, self.driver.limits().concurrency)
        tickets: deque[tuple[int, int]] = deque()
        for number in itertools.islice(numbers, width):
            tickets.append((number, (yield _Submit(self._read(functools.partial(following.fetch, number))))))
        short = False
        while tickets:
            number, ticket = tickets.popleft()
            page: Page = yield _Await(ticket)
            if size is not None and len(page.orders) < size and not short:
                # A short page before the last planned one: the total promised more than the store holds
                # (a total that lies, or orders that left). Ask for nothing further.
                short = True
                planned_last = following.numbers[-1] if len(following.numbers) else number
                if number < planned_last:
                    logger.warning(
                        "%s: page %d held %d orders of %d: the listing ends here, not at page %d as the total"
                        " said", self.store, number, len(page.orders), size, planned_last,
                    )
            if not short:
                number_next = next(numbers, None)
                if number_next is not None:
                    tickets.append((number_next, (yield _Submit(
                        self._read(functools.partial(following.fetch, number_next))
                    ))))
            yield from commit(page, False)

    # Reconcile and repair.

    def _walk_keys(self, query: OrderQuery, upper: datetime) -> _Core_T[dict[str, datetime]]:
        """Every ``(id, updated_at)`` of the window from the key listing, walked by keyset like the orders."""
        size = 300
        bounded = attrs.evolve(query, updated_to=upper)
        listed: dict[str, datetime] = {}
        first: KeyPage = yield _Run(self._read(lambda: self.driver.list_keys(bounded, Seek(), size)))
        head = Slice(0, None, None)

        def take(part: Slice, page: KeyPage) -> None:
            placed = step(part, page.keys, page.total, upper, store=self.store)
            for index in placed.inside:
                key = page.keys[index]
                listed[str(key.id)] = key.updated_at
            part.after, part.done = placed.cursor, placed.finished

        take(head, first)
        if head.done:
            return listed
        remaining = None if first.total is None else max(0, first.total - len(first.keys))
        width = max(1, self.driver.limits().concurrency)
        parts = 1 if remaining is None else min(width, -(-remaining // size))
        slices = [head]
        if parts >= 2 and Capability.SEEK_ORDERS in self.driver.capabilities:
            offsets = [len(first.keys) + (remaining or 0) * i // parts for i in range(1, parts)]
            tickets: list[int] = []
            for offset in offsets:
                tickets.append((yield _Submit(self._read(functools.partial(self.driver.probe, bounded, offset)))))
            probes = []
            for ticket in tickets:
                found: Probe = yield _Await(ticket)
                probes.append(found.key)
            cut_slices = cut(head.after, probes)
            head.through = cut_slices[0].through
            slices.extend(cut_slices[1:])
        pending: deque[tuple[Slice, int]] = deque()
        for part in slices:
            part_seek = part.seek()
            pending.append((part, (yield _Submit(
                self._read(lambda s=part_seek: self.driver.list_keys(bounded, s, size))  # type: ignore[misc]
            ))))
        while pending:
            part, ticket = pending.popleft()
            take(part, (yield _Await(ticket)))
            if not part.done:
                part_seek = part.seek()
                pending.append((part, (yield _Submit(
                    self._read(lambda s=part_seek: self.driver.list_keys(bounded, s, size))  # type: ignore[misc]
                ))))
        return listed

    def _repair(self, listed: dict[str, datetime], tally: _Tally, run: _RunState) -> _Core_T[_Repair]:
        """Read again (one by one) every listed order the ledger lacks or holds an older copy of, and decide it."""
        known = self.ledger.known_keys(self.store, None, None)
        missing = [oid for oid in listed if oid not in known]
        changed = [oid for oid, stamp in listed.items() if oid in known and stamp > known[oid]]
        repair = _Repair(listed=len(listed), known=sum(1 for oid in listed if oid in known),
                         missing=len(missing), changed=len(changed))
        wanted = missing + changed
        if not wanted:
            return repair
        self.driver.require(Capability.GET_ORDER)
        width = 2 * max(1, self.driver.limits().concurrency)
        todo = iter(wanted)
        tickets: deque[tuple[str, int]] = deque()
        for oid in itertools.islice(todo, width):
            tickets.append((oid, (yield _Submit(self._read(functools.partial(self.driver.get_order, oid))))))
        found: list[Order | PayloadError] = []
        while tickets:
            oid, ticket = tickets.popleft()
            try:
                found.append((yield _Await(ticket)))
            except StoreError as exc:
                if exc.http_status != 404:
                    raise
                repair.vanished += 1
            following = next(todo, None)
            if following is not None:
                tickets.append((following, (yield _Submit(
                    self._read(functools.partial(self.driver.get_order, following))
                ))))
            if len(found) >= 100 or not tickets:
                batch = yield from self._decide_page(tuple(found), tally, run)
                yield from self._write(batch, tally, run, None)
                found = []
        return repair

    def reconcile(
        self,
        start: datetime | None,
        end: datetime | None,
        compare_content: bool,
        progress: Progress | None,
    ) -> _Core_T[ReconcileReport]:
        policy = self.policy
        lower = utc(start) if start is not None else policy.range.start
        query = OrderQuery(
            updated_from=lower,
            created_from=policy.range.start,
            created_to=policy.range.end,
            starting_number=policy.range.starting_number,
            statuses=policy.store_statuses_to_request(),
        )
        tally = _Tally()
        run = _RunState(scope=self._scope(), base=None, progress=progress, now=self.now())
        repair = _Repair()
        if compare_content:
            if Capability.SEEK_ORDERS in self.driver.capabilities:
                upper = yield from self._upper(utc(end) if end is not None else None)
                yield from self._walk_orders(query, tally, run, move_mark=False, upper=upper)
            else:
                self.driver.require(Capability.LIST_ORDERS)
                upper = yield from self._upper(utc(end) if end is not None else None)
                bounded = attrs.evolve(query, updated_to=upper)
                page: Page | None = yield _Run(self._read(lambda: self.driver.first_page(bounded)))
                following = page.next if page is not None else None
                batch = yield from self._decide_page(page.orders if page else (), tally, run)
                yield from self._write(batch, tally, run, None)

                def commit(p: Page, _: bool) -> _Core_T[None]:
                    b = yield from self._decide_page(p.orders, tally, run)
                    yield from self._write(b, tally, run, None)

                while following is not None:
                    if isinstance(following, FollowCursor):
                        page = yield _Run(self._read(following.fetch))
                        yield from commit(page, True)
                        following = page.next
                    else:
                        assert page is not None
                        yield from self._numbered(following, page, commit)
                        following = None
            repair.listed = tally.done
        else:
            self.driver.require(Capability.LIST_KEYS)
            upper = yield from self._upper(utc(end) if end is not None else None)
            listed = yield from self._walk_keys(query, upper)
            yield _Flush()
            repair = yield from self._repair(listed, tally, run)
        yield _Flush()
        report = ReconcileReport(
            store=self.store,
            updated_from=lower,
            updated_to=upper,
            compared_content=compare_content,
            listed=repair.listed,
            known=repair.known,
            missing=repair.missing,
            changed=repair.changed,
            vanished=repair.vanished,
            downloaded=tally.downloaded,
            ignored=tally.ignored,
            updates=tally.updates,
            unchanged=tally.unchanged,
            failures=tally.failures,
        )
        logger.info("%s: reconcile %s", self.store, report)
        return report

    # Deciding and writing one page.

    def _decide_page(
        self, orders: Sequence[Order | PayloadError], tally: _Tally, run: _RunState
    ) -> _Core_T[PageBatch]:
        batch = PageBatch(self.store, run.now)
        latest: dict[str, Order] = {}
        for item in orders:
            if isinstance(item, PayloadError):
                batch.failures.append(item)
                continue
            # The same order twice on a page (it changed while the store paged): the newer copy counts.
            prior = latest.get(item.order_id)
            if prior is None or item.updated_at >= prior.updated_at:
                latest[item.order_id] = item
        wanted = set(latest)
        wanted.update(order.replaces for order in latest.values() if order.replaces)
        # The previous page may still be being written: read only once it is in (an order can sit on both).
        yield _Flush()
        known = self.ledger.seen(self.store, wanted) if wanted else {}
        for order in latest.values():
            try:
                self._decide(order, known, batch, tally)
            except Exception as exc:
                # A poisoned order (a number too large to compute with, a value the rules cannot compare)
                # is quarantined with its raw payload; the others of the page go on.
                batch.failures.append(PayloadError(
                    self.store, order.number or order.order_id, "order", f"{type(exc).__name__}: {exc}",
                    raw=order.raw,
                ))
                continue
            if tally.newest is None or order.updated_at > tally.newest:
                tally.newest = order.updated_at
        tally.failures += len(batch.failures)
        tally.pages += 1
        for failure in batch.failures:
            logger.warning("%s", failure)
        return batch

    def _write(self, batch: PageBatch, tally: _Tally, run: _RunState, total: int | None) -> _Core_T[None]:
        # The page and its high-water mark commit together on the writer thread while the next page is parsed
        # here: SQLite does most of that work without the GIL, so the two overlap on two cores.
        yield _Write(batch)
        if run.progress is not None:
            # Reported by the shell, on the caller's thread (the async shell's loop): the callback may touch
            # the caller's own objects. The page is decided and being committed.
            yield _Progress(run.progress, tally.done, total)

    def _decide(self, order: Order, known: dict[str, StoredOrder], batch: PageBatch, tally: _Tally) -> None:
        own = known.get(order.order_id)
        if own is not None and own.replaced_by is not None:
            # An entity whose edited successor was accepted in its place: the successor is what is tracked.
            tally.unchanged += 1
            return
        stored_at = getattr(own, "updated_at", None)
        if own is not None and stored_at is not None and order.updated_at < stored_at:
            # An older copy than the one already kept (a slow page, a stale cache): it tells nothing new.
            tally.unchanged += 1
            return
        if own is not None and own.tab is Tab.ORDERS and own.fingerprint == fingerprint(order):
            # The very copy already downloaded (a lookback re-read). The rules can only say Unchanged here
            # (the diff of equal orders is empty; tests pin it), so the stored copy is not even parsed.
            tally.unchanged += 1
            return
        previous = own
        if previous is None and order.replaces:
            replaced = known.get(order.replaces)
            if replaced is not None and replaced.replaced_by is None:
                previous = replaced
        outcome = rules.decide(order, self.policy, previous.seen if previous is not None else None)
        supersedes = None
        if previous is not None and previous.order_id != order.order_id:
            supersedes = previous.order_id
        if isinstance(outcome, Download):
            batch.rows.append(RowWrite(order, Tab.ORDERS, outcome.paid, outcome.shipped, supersedes))
            tally.downloaded += 1
        elif isinstance(outcome, Ignore):
            batch.rows.append(RowWrite(order, Tab.IGNORE, False, False, supersedes))
            tally.ignored += 1
        elif isinstance(outcome, Update):
            assert previous is not None  # the rules only update what was seen
            if previous.dismissed is not None and previous.dismissed == fingerprint(order):
                tally.unchanged += 1  # the very copy the user already chose to ignore
                return
            batch.updates.append(UpdateWrite(previous.order_id, order, outcome.changes, outcome.replaces))
            if previous.order_id in tally.update_targets:
                # A second change for the same downloaded order in this run (Magento cancels the original when an
                # admin edit makes a new entity): one entry in Updates, so it counts once.
                tally.unchanged += 1
            else:
                tally.update_targets.add(previous.order_id)
                tally.updates += 1
        elif isinstance(outcome, Unchanged):
            tally.unchanged += 1
        elif isinstance(outcome, Skip):
            tally.skipped += 1

    # -- post back -----------------------------------------------------------------------------------------

    def _action(
        self,
        kind: str,
        order_id: str,
        capability: Capability,
        request: Any,
        make_flow: Callable[[datetime], Flow[Any]],
        key: str | None,
    ) -> _Core_T[tuple[Any, bool]]:
        """Run one logged write, exactly once from the caller's view. Returns (result as recorded JSON,
        whether it ran now).

        The ledger's action row is taken under a lease (owner and expiry, atomically): a caller that finds the
        row ``done`` gets the recorded result without contacting the store; one that finds it held by a live
        lease gets :class:`ActionInProgress`; one that finds it ``failed``, or held by a lease that expired (a
        crashed holder), runs the flow again. Every flow looks in the store for work done since the first
        attempt (``since``) before it writes, so an attempt whose answer was lost is found, not repeated."""
        self.driver.require(capability)
        key = key or _action_key(kind, self.store, order_id, request)
        owner = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        action, go = self.ledger.begin_action(
            self.store, order_id, kind, key, request, self.now(), owner=owner, lease=self.lease
        )
        if not go:
            return action.result, False
        # In the store's clock, where its answers said it: the store stamps the work with its own time.
        store_now = yield _StoreNow()
        offset = (store_now - self.now()) if store_now is not None else timedelta(0)
        since = _first_attempt(action) + offset - self.skew_allowance
        try:
            result = yield _Run(make_flow(since))
        except Exception as exc:
            self.ledger.finish_action(action.id, ok=False, error=_describe(exc), now=self.now(), owner=owner)
            raise
        recorded = _plain(result)
        note = ""
        if isinstance(result, WriteResult):
            note = result.found or ("already done in the store" if result.already_done else "written")
        elif isinstance(result, ShipmentResult):
            note = "shipment already in the store" if result.already_shipped else "shipment created"
        self.ledger.finish_action(action.id, ok=True, result=recorded, now=self.now(), note=note, owner=owner)
        yield from self._refresh(order_id)
        return recorded, True

    def _refresh(self, order_id: str) -> _Core_T[None]:
        # Read the order back after our own change, so the next download does not show the store's echo of it
        # (new status, shipment, our comment) as an Update. The post-back already succeeded: a failed read-back
        # is logged, not raised, and the next download then shows the change as an update instead.
        if Capability.GET_ORDER not in self.driver.capabilities or self.ledger.get(self.store, order_id) is None:
            return
        try:
            fresh: Order = yield _Run(self.driver.get_order(order_id))
        except Exception as exc:
            logger.warning("could not read order %s back after a post-back: %s", order_id, _describe(exc))
            return
        self.ledger.refresh(self.store, fresh, self.now())

    def ship(
        self,
        order_id: str,
        tracking: Iterable[Tracking | str] | Tracking | str,
        *,
        lines: Sequence[tuple[str, Decimal]] = (),
        comment: str = "",
        key: str | None = None,
    ) -> _Core_T[ShipmentResult]:
        post = self.policy.post_back
        request = ShipmentRequest(
            order_id=order_id,
            tracking=_trackings(tracking),
            lines=tuple(lines),
            notify=post.send_email,
            comment=comment,
            status=post.status,
        )
        recorded, _ = yield from self._action(
            "ship", order_id, Capability.SHIP, _plain(request),
            lambda since: self.driver.ship(attrs.evolve(request, since=since)), key,
        )
        self.ledger.set_local_state(self.store, order_id, shipped=True)
        return ShipmentResult(recorded["shipment_id"], bool(recorded.get("already_shipped", False)))

    def acknowledge(self, order_id: str, *, key: str | None = None) -> _Core_T[None]:
        ack = self.policy.acknowledgement
        if ack.status is None:
            raise ConfigurationError("acknowledgement is off in the policy (acknowledgement.status is unset)")
        change = StatusChange(order_id, ack.status, ack.comment, ack.notify_customer)
        yield from self._action(
            "acknowledge", order_id, Capability.SET_STATUS, _plain(change),
            lambda since: self.driver.set_status(attrs.evolve(change, since=since)), key,
        )

    def set_status(
        self, order_id: str, status: str, *, comment: str = "", notify: bool = False, key: str | None = None
    ) -> _Core_T[None]:
        change = StatusChange(order_id, status, comment, notify)
        yield from self._action(
            "set_status", order_id, Capability.SET_STATUS, _plain(change),
            lambda since: self.driver.set_status(attrs.evolve(change, since=since)), key,
        )

    def cancel(self, order_id: str, *, key: str | None = None) -> _Core_T[None]:
        cancellation = self.policy.cancellation
        request = CancelRequest(order_id, cancellation.status, cancellation.comment, cancellation.send_email)
        yield from self._action(
            "cancel", order_id, Capability.CANCEL, _plain(request),
            lambda since: self.driver.cancel(attrs.evolve(request, since=since)), key,
        )

    def invoice(self, order_id: str, *, notify: bool = False, key: str | None = None) -> _Core_T[str]:
        recorded, _ = yield from self._action(
            "invoice", order_id, Capability.INVOICE, {"order_id": order_id, "notify": notify},
            lambda since: self.driver.invoice(order_id, notify), key,
        )
        self.ledger.set_local_state(self.store, order_id, paid=True)
        if isinstance(recorded, dict):
            return str(recorded.get("reference") or "")
        return str(recorded)

    # -- phone orders --------------------------------------------------------------------------------------

    def search_items(self, query: ItemQuery | str, source_driver: Driver | None) -> _Core_T[tuple[Item, ...]]:
        if isinstance(query, str):
            query = ItemQuery(text=query)
        if self.policy.phone_orders.item_source is ItemSource.NETSUITE:
            if source_driver is None:
                raise ConfigurationError(
                    "the policy takes phone-order items from NetSuite: pass its driver as source_driver"
                )
            source = source_driver
        else:
            source = self.driver
        source.require(Capability.SEARCH_ITEMS)
        items: tuple[Item, ...] = yield _Run(
            source.search_items(query), None if source is self.driver else source
        )
        return items

    def create_phone_order(self, new_order: NewOrder) -> _Core_T[Order]:
        self.driver.require(Capability.CREATE_ORDER)
        payload = _plain(new_order)
        key = f"create_order:{new_order.reference}"
        owner = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        action, go = self.ledger.begin_action(
            self.store, new_order.reference, "create_order", key, payload, self.now(), owner=owner,
            lease=self.lease,
        )
        recorded = self.ledger.phone_order(self.store, new_order.reference)
        if recorded is not None:
            # Created before (perhaps by a run that stopped before logging "done"): never create it twice.
            if go:
                self.ledger.finish_action(
                    action.id, ok=True, result={"order_id": recorded.order_id}, now=self.now(),
                    note="already in the ledger", owner=owner,
                )
            existing = self.ledger.get(self.store, recorded.order_id)
            if existing is None:
                raise ConfigurationError(
                    f"phone order {new_order.reference!r} is logged but not in the ledger"
                )
            return existing.order
        try:
            # Two phases where the store allows it: the reservation (Magento: the cart) is recorded before the
            # order is placed, so an attempt after a lost answer looks for the order placed from it first.
            reservation = action.checkpoint
            if reservation is None:
                reservation = yield _Run(self.driver.reserve_order(new_order))
                if reservation is not None:
                    self.ledger.checkpoint_action(action.id, reservation)
            order: Order = yield _Run(self.driver.create_order(new_order, reservation))
        except Exception as exc:
            self.ledger.finish_action(action.id, ok=False, error=_describe(exc), now=self.now(), owner=owner)
            raise
        outcome = rules.decide(order, self.policy, None)
        if isinstance(outcome, Download):
            row = RowWrite(order, Tab.ORDERS, outcome.paid, outcome.shipped)
        elif isinstance(outcome, Ignore):
            row = RowWrite(order, Tab.IGNORE, False, False)
        else:
            # Not downloadable by the status rows, but the back office made it: it belongs in the Orders tab.
            row = RowWrite(order, Tab.ORDERS, False, False)
        self.ledger.record_phone_order(self.store, new_order.reference, payload, row, self.now())
        self.ledger.finish_action(
            action.id, ok=True, result={"order_id": order.order_id}, now=self.now(),
            note=f"placed from reservation {reservation}" if reservation else "placed", owner=owner,
        )
        return order

    # -- tabs ----------------------------------------------------------------------------------------------

    def redownload(self, order_id: str) -> OrderRecord:
        return self.ledger.accept_update(self.store, order_id, self.now())

    def dismiss(self, order_id: str) -> bool:
        return self.ledger.dismiss_update(self.store, order_id)


def _plain(value: Any) -> Any:
    """JSON-safe plain data for the action log (attrs classes as dicts, Decimals as text)."""
    if attrs.has(type(value)):
        return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------------------------
# The shells


class _Tabs:
    """Reads and decisions that need no store I/O, the same on both entry points (plain methods on both:
    they are short ledger calls)."""

    _core: _Core
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
        self._core = _Core(driver, policy, ledger, clock)
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
                    elif isinstance(effect, _Progress):
                        effect.callback(effect.done, effect.total)
                    elif isinstance(effect, _StoreNow):
                        value = self._io.store_clock.now()
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
        each page.
        """
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
        ``end`` (default: the store's time minus the settle delay). The high-water mark is not moved."""
        return self._drive(self._core.reconcile(start, end, compare_content, progress))

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
        self._core = _Core(driver, policy, ledger, clock)
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
                    elif isinstance(effect, _Progress):
                        effect.callback(effect.done, effect.total)
                    elif isinstance(effect, _StoreNow):
                        value = self._io.store_clock.now()
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
        return await self._drive(self._core.reconcile(start, end, compare_content, progress))

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
