"""Downloading and reconciling: the keyset walk, numbered and cursor pages, the per-page decisions, the mark.

Written once as generators of effects (``_effects``) for both shells. The theory of the keyset walk and its
proof sketch are in ``_keyset``; the design, in docs/design.md ("Download: a listing that cannot skip").
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from . import rules
from ._context import Context
from ._convert import fingerprint
from ._driver import (
    Capability,
    Flow,
    FollowCursor,
    KeyPage,
    NumberedPages,
    OrderKey,
    OrderQuery,
    Page,
    Probe,
    Seek,
)
from ._effects import Await as _Await
from ._effects import Effect as _Effect
from ._effects import Flush as _Flush
from ._effects import Progress as _Progress
from ._effects import ProgressCallback as Progress
from ._effects import Ready as _Ready
from ._effects import RoundTrip as _RoundTrip
from ._effects import Run as _Run
from ._effects import StoreNow as _StoreNow
from ._effects import Submit as _Submit
from ._effects import Write as _Write
from ._errors import BrokenAnswer, ConnectorError, PayloadError, StoreError
from ._keyset import Cover, Slice, cut, cut_offsets, frontier, numbered_pages, step
from ._model import Order, utc
from ._outcomes import Download, Ignore, Skip, Tab, Unchanged, Update
from ._reports import DownloadReport, ReconcileReport
from .ledger import HighWater, PageBatch, RowWrite, StoredOrder, UpdateWrite

__all__ = ["Downloads"]

T = TypeVar("T")
logger = logging.getLogger("ecc_connectors.engine")
_Core_T = Generator[_Effect, Any, T]


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


def _outside(key: OrderKey, asked: Seek, upper: datetime) -> bool:
    """Whether ``key`` lies outside the bounds a keyset request was sent with."""
    if asked.after is not None and key <= asked.after:
        return True
    if asked.through is not None:
        return key > asked.through
    if asked.before is not None:
        return key >= asked.before
    return key.updated_at > upper


class Downloads(Context):
    """The download and reconcile operations of the core."""

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
        head = Slice(None, None)
        slices = [head]

        def place(part: Slice, page: Page, asked: Seek | None) -> tuple[int, ...]:
            """Place the rows of ``page`` in ``part`` and move its cursor (``asked``: the bounds the request was
            sent with; ``None`` for the first page, sent before the window's end was known). Returns the indexes
            of the rows that belong to ``part``."""
            self._check_rows(page)
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
            return placed.inside

        def commit(page: Page, inside: tuple[int, ...], edge: datetime | None) -> _Core_T[None]:
            """Decide the placed rows and write them, with the mark ``edge``: the frontier right after this page
            was placed. Pages are committed in the order they were placed, so every row below that frontier
            is in this page or in one committed before it (``None``: every slice had finished)."""
            batch = yield from self._decide_page([page.orders[index] for index in inside], tally, run)
            if move_mark:
                self._mark_batch(batch, run, edge if edge is not None else tally.newest, upper)
            yield from self._write(batch, tally, run, first.total)

        def fetch(part: Slice) -> _Core_T[tuple[Slice, Seek, int]]:
            seek = part.seek()
            ticket = yield _Submit(self._read(lambda: self.driver.seek_page(bounded, seek, size)))
            return part, seek, ticket

        # Placed pages wait here for their commit (see the loop below), each with the mark its placing allowed;
        # the first one is committed once the next requests are out.
        placed: deque[tuple[Page, tuple[int, ...], datetime | None]] = deque()

        def hold(page: Page, rows: tuple[int, ...]) -> None:
            placed.append((page, rows, frontier(slices, query.updated_from)))

        hold(first, place(head, first, None))
        if head.done:
            yield from commit(*placed.popleft())
            return upper
        remaining = None if first.total is None else max(0, first.total - len(first.keys))
        width = yield from self._slice_count()
        # Pages hold what the first one held (the driver or the store may cap the size asked for).
        held = max(1, min(size, len(first.keys)))
        parts = 1 if remaining is None else min(width, -(-remaining // held))
        pending: deque[tuple[Slice, Seek, int]] = deque()
        numbers = (
            numbered_pages(-(-(first.total or 0) // held), parts)
            if parts >= 2 and self.driver._implements("listing_page") else []
        )
        if numbers:
            # Pages read by number and the head slice's next page go out together; the keys between those
            # pages are then read by slices, each sent as soon as the pages on both its sides are in (see
            # _keyset, "Speed"): no round trip is spent on cutting.
            part, seek, ticket = yield from fetch(head)
            numbered: list[int] = []
            for number in numbers:
                numbered.append((yield _Submit(self._read(
                    functools.partial(self.driver.listing_page, bounded, number, held)
                ))))
            page = yield _Await(ticket)
            hold(page, place(part, page, seek))
            cover = Cover(head.after, upper, store=self.store) if not head.done else None
            for ticket in numbered:
                run_page: Page = yield _Await(ticket)
                if cover is None:
                    continue  # the head read the whole window: nothing is left between
                self._check_rows(run_page)
                rows, between = cover.add(run_page.keys)
                if between is not None:
                    slices.append(between)
                    pending.append((yield from fetch(between)))
                if rows:
                    # The head is still unfinished here, so this page's mark stays at the head's cursor.
                    hold(run_page, rows)
            if cover is not None:
                last = cover.rest()
                slices.append(last)
                pending.append((yield from fetch(last)))
                head.done = True  # what follows its cursor is in the pages read by number or the slices between
        elif parts >= 2:
            # The probes and the head slice's next page go out together: the head does not wait for the cut.
            offsets = cut_offsets(len(first.keys), remaining or 0, held, parts)
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
        # Every answer already in is placed (and its slice's next request sent) before the next commit: a
        # slice's next request waits for its own page's keys only, never for other pages to be decided and
        # written. Bounded: one page a slice, twice over.
        while pending or placed:
            if not placed:
                ready = {pending[0][2]}  # nothing to commit: wait for the oldest request
            elif len(placed) < 2 * len(slices):
                ready = set((yield _Ready(tuple(ticket for _, _, ticket in pending))))
            else:
                ready = set()
            for entry in list(pending):
                part, seek, ticket = entry
                if ticket not in ready:
                    continue
                pending.remove(entry)
                page = yield _Await(ticket)
                inside = place(part, page, seek)
                if not part.done:
                    # The cursor is known once the page's keys are read: its slice's next request goes out
                    # before the page is decided and written, so the network never waits for the CPU.
                    pending.append((yield from fetch(part)))
                hold(page, inside)
            page, inside, edge = placed.popleft()
            yield from commit(page, inside, edge)
        return upper

    def _check_rows(self, page: Page) -> None:
        if len(page.keys) != len(page.orders):
            raise BrokenAnswer(
                f"the driver returned {len(page.orders)} orders but {len(page.keys)} keys", store=self.store
            )

    def _slice_count(self) -> _Core_T[int]:
        """How many slices to cut the window into: the driver's concurrency; under a rate limit, no more than
        the rate keeps busy. A slice has one request out at a time, so it asks ``1 / round trip`` requests
        per second; slices beyond ``rate x round trip`` only wait for their turn, and each costs a probe and
        a part-filled last page, requests the rate must pay for like any other (measured on the first page's
        round trip, plus one slice so the rate is never starved by a slow answer)."""
        limits = self.driver.limits()
        width = max(1, limits.concurrency)
        if limits.rate is not None:
            trip = yield _RoundTrip()
            if trip is not None and trip > 0:
                width = min(width, math.ceil(limits.rate * trip) + 1)
        return width

    # Pages (numbered or cursor) for drivers without keyset listing.

    def _pages(self, query: OrderQuery, tally: _Tally, run: _RunState) -> _Core_T[datetime]:
        upper = yield from self._upper()
        run.upper = upper
        query = attrs.evolve(query, updated_to=upper, updated_from=min(query.updated_from or upper, upper))
        sorted_pages = self.driver.sorts_by_updated
        first: Page = yield _Run(self._read(lambda: self.driver.first_page(query)))
        total = first.total
        # The query had to be sent before the store said its time (on a connector's first call, the client's
        # clock gave its end). Now that it has, the mark and the check below use the earlier of the two ends:
        # an order the store touches during the run is then after the mark, and the next run reads it.
        upper = min(upper, (yield from self._upper()))
        run.upper = upper

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
                listed = yield from self._walk_keys(attrs.evolve(query, updated_to=upper), upper)
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
        head = Slice(None, None)

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
        width = yield from self._slice_count()
        held = max(1, min(size, len(first.keys)))
        parts = 1 if remaining is None else min(width, -(-remaining // held))
        slices = [head]
        if parts >= 2 and Capability.SEEK_ORDERS in self.driver.capabilities:
            offsets = cut_offsets(len(first.keys), remaining or 0, held, parts)
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
        """Read again every listed order the ledger lacks or holds an older copy of, and decide it: many at a
        time where the driver reads orders by id (``GET_ORDERS``), else one by one."""
        known = self.ledger.known_keys(self.store, None, None)
        missing = [oid for oid in listed if oid not in known]
        changed = [oid for oid, stamp in listed.items() if oid in known and stamp > known[oid]]
        repair = _Repair(listed=len(listed), known=sum(1 for oid in listed if oid in known),
                         missing=len(missing), changed=len(changed))
        wanted = missing + changed
        if not wanted:
            return repair
        # A driver written before GET_ORDERS existed may declare every capability there is without having the
        # flow: the capability counts only with the flow implemented.
        if Capability.GET_ORDERS in self.driver.capabilities and self.driver._implements("get_orders"):
            yield from self._repair_by_reads(wanted, repair, tally, run)
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

    def _repair_by_reads(self, wanted: list[str], repair: _Repair, tally: _Tally, run: _RunState) -> _Core_T[None]:
        """:meth:`_repair` with :meth:`Driver.get_orders`: the wanted ids in reads of ``orders_per_read``, up to
        the concurrency at once, each read decided and written as a page. An id no read brings back has
        vanished from the store."""
        per_read = max(1, self.driver.orders_per_read)
        chunks = iter([wanted[i : i + per_read] for i in range(0, len(wanted), per_read)])
        width = max(1, self.driver.limits().concurrency)
        tickets: deque[tuple[list[str], int]] = deque()

        def start(ids: list[str]) -> _Core_T[None]:
            tickets.append((ids, (yield _Submit(self._read(functools.partial(self.driver.get_orders, ids))))))

        for ids in itertools.islice(chunks, width):
            yield from start(ids)
        while tickets:
            ids, ticket = tickets.popleft()
            found: tuple[Order | PayloadError, ...] = yield _Await(ticket)
            following = next(chunks, None)
            if following is not None:
                yield from start(following)
            returned = {item.order_id for item in found if isinstance(item, Order)}
            unreadable = sum(1 for item in found if isinstance(item, PayloadError))
            repair.vanished += max(0, len([oid for oid in ids if oid not in returned]) - unreadable)
            batch = yield from self._decide_page(found, tally, run)
            yield from self._write(batch, tally, run, None)

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

    @staticmethod
    def _keep_newer(order: Order, own: StoredOrder, batch: PageBatch) -> None:
        """Keep a newer copy of an order that changed nothing the user watches (a touch that only moved its
        stamp, an edit of an Ignore-tab order) in place of the stored one, tab and local state unchanged.

        The ledger's stamp is then the store's: ``reconcile()`` compares the two, and would otherwise call the
        order changed, read it again and find it unchanged on every run, for ever."""
        if order.updated_at > own.updated_at:
            batch.rows.append(RowWrite(order, own.tab, own.paid, own.shipped))

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
            self._keep_newer(order, own, batch)
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
            if own is not None and previous is own:
                self._keep_newer(order, own, batch)
            tally.unchanged += 1
        elif isinstance(outcome, Skip):
            tally.skipped += 1
