"""Keyset listing: slices of a download window, their cursors, and how far the high-water mark may move.

Theory of operation
-------------------
Orders are read in the order of their key ``(updated_at, id)``. A request asks for the orders whose key is
greater than a cursor (and at most a slice's end), sorted by key; the cursor then moves to the last key
returned. Because the cursor is a *value*, not an offset, nothing the store does between two requests can make
a row slide past it: an order that is edited gets a new ``updated_at`` (later than the window's end when the
window ends at the store's own "now", see below) and simply leaves the window; a new order is stamped after
the window's end too; an order that is not touched keeps its key and is found by whichever request first asks
for keys past the cursor. So:

*Every order that matches the window when the run starts and still matches when it ends is read at least once.*
Proof sketch: let ``k`` be its key, unchanged during the run (a change of ``updated_at`` would move it past the
window's end, so it would no longer match). ``k`` lies in exactly one slice, ``(after, through]``. That slice's
cursor starts below ``k`` and only moves to keys the store returned; the store returns, sorted, the smallest
keys above the cursor, so no page can skip ``k``: either a page holds it, or every key of the page is below it
and the cursor stays below it. The slice ends only when a page comes back empty, or holds all the rows the
store counts for the request, or reaches ``through``, and in each case ``k`` has been returned.

*The high-water mark never passes an order that has not been committed.* The mark moves only to the
**frontier**: the cursor of the first slice that is not finished (every key below it, in that slice and in
all earlier ones, is committed), or, once every slice is finished, the newest stamp committed, and never past
the window's upper bound. The next run reads ``updated_at >= mark - lookback``, ties included.

*Whose clock.* The window's upper bound is the store's time (the ``Date`` header of its first answer, which errs
early) minus the settle delay, so an order the store touches during the run is stamped after the bound,
however far the client's clock is from the store's. Without a ``Date`` header the client's clock is used and the
lookback must cover the skew.

*Speed.* Keyset reading is sequential per cursor, so the window is cut into slices read concurrently. The
boundaries come from the store's own counts: ``probe(offset)`` returns the key of the order at an offset of
the listing, so ``k`` slices of equal size cost ``k - 1`` requests of one row each, sent together.

A driver with ``listing_page`` saves those requests and their round trip: beside the first slice's second page
the engine reads ``k`` whole pages *by number* (:func:`numbered_pages` places them so the stretches between
hold whole pages). A page read by number is a **run** of the listing: the store sorted the window by key and
answered rows ``n`` to ``n + size``, so it holds *every* key between its first and its last as they were when
it answered. The keys no run holds are read by keyset slices, each after one run's last key and before the
next run's first (``Seek.before``), the last one up to the window's end (:class:`Cover`). So the argument
above still holds: an order whose key did not change during the run lies in a run, where it was read, or in
one of the slices between, which cannot skip it. A run that overlaps another or the first slice's pages only
gives what they did not; a run the store answered from elsewhere (Magento answers its last page for a page past
the end) is a run all the same.

A store that does not sort by both fields is caught: the keys of a page must rise strictly, else the page is a
:class:`BrokenAnswer` (asked again, then the run fails loudly instead of losing orders silently).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

import attrs

from ._driver import OrderKey, Seek
from ._errors import BrokenAnswer

__all__ = ["Cover", "PageStep", "Slice", "cut", "cut_offsets", "frontier", "numbered_pages", "step"]


@attrs.define
class Slice:
    """Keys in ``(after, through]``, or in ``(after, before)`` when ``before`` is set; with neither, up to the
    window's upper bound."""

    after: OrderKey | None
    through: OrderKey | None
    done: bool = False
    before: OrderKey | None = None

    def seek(self) -> Seek:
        return Seek(self.after, self.through, self.before)


@attrs.frozen
class PageStep:
    """What one page means for its slice: which rows belong to it, which lie outside what was asked for, where
    the cursor goes and whether the slice is finished."""

    inside: tuple[int, ...]
    outside: tuple[int, ...]
    cursor: OrderKey | None
    finished: bool


def _unsorted(key: OrderKey, follows: OrderKey, store: str) -> BrokenAnswer:
    return BrokenAnswer(f"the store did not sort the page by (updated_at, id): {key} follows {follows}", store=store)


def _inside(key: OrderKey, part: Slice, upper: datetime | None) -> bool:
    if part.after is not None and key <= part.after:
        return False
    if part.through is not None:
        return key <= part.through
    if part.before is not None:
        return key < part.before
    return upper is None or key.updated_at <= upper


def step(
    part: Slice,
    keys: Sequence[OrderKey],
    total: int | None,
    upper: datetime | None,
    *,
    store: str,
) -> PageStep:
    """Place one page's ``keys`` in ``part`` (which is not changed here).

    Raises :class:`BrokenAnswer` when the keys inside the slice do not rise strictly: the store did not sort
    by ``(updated_at, id)``, and a cursor over such a page could skip an order."""
    inside: list[int] = []
    outside: list[int] = []
    last: OrderKey | None = None
    for index, key in enumerate(keys):
        if not _inside(key, part, upper):
            outside.append(index)
            continue
        if last is not None and key <= last:
            raise _unsorted(key, last, store)
        inside.append(index)
        last = key
    cursor = last if last is not None else part.after
    finished = (
        not inside
        or (total is not None and len(inside) >= total)
        or (part.through is not None and cursor is not None and cursor >= part.through)
        or (part.before is not None and any(key >= part.before for key in keys))
    )
    return PageStep(tuple(inside), tuple(outside), cursor, finished)


def cut_offsets(read: int, remaining: int, held: int, parts: int) -> list[int]:
    """Where to probe for the cut keys of ``parts`` slices, as positions in the window's listing (0-based),
    after a first page of ``read`` rows, with ``remaining`` rows to go and pages of ``held`` rows.

    A probe's key is the last row of a slice (a slice runs through its cut key), so each slice before the last
    is given a whole number of pages: it ends on a full page, and no slice pays a request for a part-filled
    page but the last. Requires ``parts <= ceil(remaining / held)``, which gives every slice a page at least.
    """
    pages = -(-remaining // held)
    return [read - 1 + held * (pages * i // parts) for i in range(1, parts)]


def numbered_pages(pages: int, parts: int) -> list[int]:
    """Which pages to read by number beside the first slice's second page, for a listing of ``pages`` pages read
    by ``parts`` slices at once: ``parts - 1`` of them at most, placed so that the stretches before, between and
    after them hold whole pages, one at least each (none for a listing of fewer than five pages)."""
    count = max(0, min(parts - 1, (pages - 3) // 2))
    rest = pages - 2 - count
    numbers: list[int] = []
    at = 2
    for index in range(count):
        at += rest // (count + 1) + (1 if index < rest % (count + 1) else 0) + 1
        numbers.append(at)
    return numbers


class Cover:
    """Fits pages read by number (runs) over the keys after ``after``, one at a time, in any order.

    :meth:`add` takes a run's keys and returns the indexes of the rows to keep (after every key covered so far,
    within the window) and the slice that reads the keys between the covered keys and this run, if any can lie
    there (a run that starts at or before the edge holds every key from there to its first kept row itself).
    :meth:`rest` is the slice after the last run, up to the window's end. Slices come out in key order, so
    they can be read as soon as each is known."""

    def __init__(self, after: OrderKey | None, upper: datetime, *, store: str) -> None:
        self.edge = after
        self.upper = upper
        self.store = store

    def add(self, keys: Sequence[OrderKey]) -> tuple[tuple[int, ...], Slice | None]:
        """Raises :class:`BrokenAnswer` when the run's keys do not rise strictly (a store that does not sort)."""
        for earlier, later in itertools.pairwise(keys):
            if later <= earlier:
                raise _unsorted(later, earlier, self.store)
        edge = self.edge
        inside = tuple(
            i for i, key in enumerate(keys) if (edge is None or key > edge) and key.updated_at <= self.upper
        )
        if not inside:
            return (), None
        between = None
        if edge is None or keys[0] > edge:
            between = Slice(edge, None, before=keys[inside[0]])
        self.edge = keys[inside[-1]]
        return inside, between

    def rest(self) -> Slice:
        return Slice(self.edge, None)


def cut(start: OrderKey | None, probes: Sequence[OrderKey | None], through: OrderKey | None = None) -> list[Slice]:
    """Slices from ``start`` (exclusive) to ``through`` (``None``: the window's end) at the probed keys, in
    order; keys that repeat or fall outside are dropped, so there is never an empty or overlapping slice."""
    bounds: list[OrderKey] = []
    for key in sorted(k for k in probes if k is not None):
        if start is not None and key <= start:
            continue
        if through is not None and key >= through:
            continue
        if bounds and key <= bounds[-1]:
            continue
        bounds.append(key)
    edges: list[OrderKey | None] = [start, *bounds, through]
    return [Slice(low, high) for low, high in itertools.pairwise(edges)]


def frontier(slices: Sequence[Slice], lower: datetime | None) -> datetime | None:
    """The stamp below which every key of the window is read: the cursor of the first unfinished slice
    (``lower``, the window's start, when that slice has read nothing and starts the window). ``None`` when every
    slice is finished: the caller then uses the newest stamp committed."""
    for part in slices:
        if not part.done:
            return part.after.updated_at if part.after is not None else lower
    return None
