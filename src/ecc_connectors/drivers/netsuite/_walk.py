"""Reading a search without losing a row: a walk over ranges of internal ids.

SuiteTalk has no snapshot: ``searchMoreWithId`` runs the search again for every page (Oracle's help for the
operation says so), so a row that leaves the result shifts the rows behind it onto a page already read, and its
search id expires after 15 minutes without use (``INVALID_JOB_ID``). This driver never pages with it. It asks
for ranges ``lo <= internalIdNumber <= hi`` sized to fit one page: each range comes back whole in one answer, and
an internal id never changes, so nothing that matches all along can be skipped whatever the order of rows and
whatever changes in between, and no search id is ever kept. :class:`_Walk` is the state of one such read;
:class:`WalkSearch` runs its steps.
"""

from __future__ import annotations

from typing import Any

import attrs

from ...driver import BrokenAnswer, Flow, StoreError
from ._calls import SoapCalls, int_id
from ._mapping import field

__all__ = ["WalkSearch"]

# A range of internal ids aims at this share of a page, so a denser stretch still fits one answer.
_RANGE_FILL = 0.9
# Answers in a row that neither end a walk nor move its lower bound before it gives up (each narrows the next
# range; a range of one id always fits a page, so a sound walk never gets near this).
_MAX_STALLED = 64


@attrs.define
class _Walk:
    """A search read as ranges of internal ids, each one proven whole by a single answer.

    SuiteTalk has no snapshot: ``searchMoreWithId`` runs the search again for every page, so a row that leaves
    the result (or moves in an order Oracle does not document) shifts the rows behind it onto a page already
    read. A range ``lo <= internalIdNumber <= hi`` whose count fits one page comes back whole in one answer, and
    an internal id never changes, so a row can neither move into a range already read nor out of the one being
    read: nothing that matches all along can be skipped, whatever the order and whatever changes in between.
    No search id is kept, so none can expire. Ranges are sized from the density of ids measured so far;
    a range that turns out too full is narrowed (its rows still count), one that comes back empty is followed by
    an open one (``>= lo``) that says how many are left."""

    search_type: str
    criteria: dict[str, Any]
    page_size: int
    lo: int | None = None
    """Every match with a smaller internal id has been read (``None``: none yet)."""
    floor: int | None = None
    """Where matches are thought to start while ``lo`` is still open (the smallest id seen, or lower): only
    the size of the next range depends on it."""
    remaining: int | None = None
    """How many matches the last open answer counted from ``lo`` on, less those read since."""
    density: float | None = None
    """Matches per internal id, as last measured."""
    total: int | None = None
    """The first answer's count."""
    hint: int | None = None
    """Where the next range ends, taken from the ids of an open answer."""
    grow: int | None = None
    """The width of the next range in a bracket after an empty one (four times as wide)."""
    bracket: tuple[int, int] | None = None
    """A range from ``lo`` to this end that last counted this many, more than a page: the next ranges bisect it
    (each at most half of what is left of it), so a dense stretch is read in a few answers."""
    done: bool = False
    calls: int = 0
    stalled: int = 0
    seen: set[str] = attrs.field(factory=set)


class WalkSearch(SoapCalls):
    """Runs walks: one answer at a time (:meth:`_walk_step`), or all of a small one (:meth:`_search_all`)."""

    @staticmethod
    def _target(walk: _Walk) -> int:
        """How many matches a range aims at: two fewer than the share of a page (a range is asked for with one
        more id on each side)."""
        return max(1, int(walk.page_size * _RANGE_FILL) - 2)

    def _range_end(self, walk: _Walk) -> int | None:
        """The last internal id of the next range (``None``: open, from ``lo`` on)."""
        target = self._target(walk)
        start = walk.lo if walk.lo is not None else walk.floor
        if start is None:
            return None
        if walk.hint is not None:
            return max(walk.hint, start)
        if walk.bracket is not None:
            # A range from here that held too many: the part it holds, or at most half of it.
            end, count = walk.bracket
            if count <= target:  # what is left of it fits: read it, and as far beyond as the density allows
                more = int((target - count) / walk.density) if walk.density else 0
                return end + max(0, more)
            span = end - start + 1
            width = max(int(span * target / count), walk.grow or 0)
            return start + max(1, min(width, span // 2)) - 1
        # An open range has no extra id at its edges: it may come closer to a whole page.
        if walk.remaining is None or walk.density is None or walk.remaining <= walk.page_size * _RANGE_FILL:
            return None
        return start + max(1, int(target / walk.density)) - 1

    def _range_record(self, walk: _Walk, hi: int | None) -> Any:
        criteria = dict(walk.criteria)
        lo = walk.lo
        if lo is not None and hi is not None:
            # Oracle does not say whether "between" includes its ends: asking for one more id on each side
            # covers [lo, hi] under either reading (an id read twice is returned once).
            criteria["internalIdNumber"] = {"operator": "between", "searchValue": lo - 1, "searchValue2": hi + 1}
        elif lo is not None:
            criteria["internalIdNumber"] = {"operator": "greaterThanOrEqualTo", "searchValue": lo}
        elif hi is not None:
            criteria["internalIdNumber"] = {"operator": "lessThanOrEqualTo", "searchValue": hi}
        return self._soap.type("common", walk.search_type)(**criteria)

    def _walk_step(self, walk: _Walk) -> Flow[list[Any]]:
        """One answer of ``walk``: the records it had not returned yet. Raises :class:`BrokenAnswer` when NetSuite
        keeps answering fewer records than it counts (an "empty page"), after ``max_search_restarts`` retries.
        The walk's state changes only once an answer has been read, so a step may be run again."""
        hi = self._range_end(walk)
        record = self._range_record(walk, hi)
        attempts = self.settings.max_search_restarts + 1
        for _attempt in range(attempts):
            result = yield from self._search(record, walk.page_size)
            total = int(result.totalRecords or 0)
            records = list(field(result.recordList, "record", []) or [])
            # The page size NetSuite applied (it may be smaller than the one asked for).
            size = min(walk.page_size, int(result.pageSize or walk.page_size)) or walk.page_size
            if len(records) == min(total, size):
                break
            # NetSuite counted more than it sent: this answer proves nothing about the range. Ask again.
        else:
            raise BrokenAnswer(
                f"NetSuite search answered {len(records)} records where it counted {total}, {attempts} times",
                code="SHORT_PAGE",
                store=self.store_id,
            )
        walk.calls += 1
        walk.page_size = size
        lo_before = walk.lo
        if walk.total is None:
            walk.total = total
        ids = sorted(n for n in (int_id(r) for r in records) if n is not None)
        if walk.lo is None and ids:
            walk.floor = ids[0] if walk.floor is None else min(walk.floor, ids[0])
        start = walk.lo if walk.lo is not None else walk.floor
        walk.hint = None
        if total <= walk.page_size:  # the whole range is in this one answer
            if hi is None:
                walk.done = True
            else:
                inside = sum(1 for n in ids if n <= hi and (walk.lo is None or n >= walk.lo))
                width = hi - start + 1 if start is not None and hi >= start else 1
                walk.density = max(inside, 1) / width
                walk.lo = hi + 1
                walk.remaining = max(0, (walk.remaining or 0) - inside)
                if walk.bracket is not None:
                    end, count = walk.bracket
                    walk.bracket = (end, count - inside) if end >= walk.lo and count > inside else None
                    # Nothing in it: the matches of the bracket lie further on, so the next range is wider.
                    walk.grow = 4 * width if inside == 0 else None
                elif inside == 0:
                    # An empty range: the next one is open, and its count says how many are really left.
                    walk.remaining = 0
        elif hi is None:  # an open range holding more than a page: count what is left
            walk.remaining = total
            walk.bracket = None
            walk.grow = None
            if ids:
                # End the next range at one of the ids just read: if NetSuite listed the lowest ids first, that
                # range holds all but two of them (room for its two edge ids) and fits; in any other order it
                # holds too many, and its count then starts a bisection.
                walk.hint = ids[min(len(ids), max(1, walk.page_size - 2)) - 1]
        else:  # a range too full: the next one is part of it
            walk.bracket = (hi, total)
            walk.grow = None
            if walk.lo is None and ids:
                # "Everything up to hi" is too full: matches lie below the smallest id seen. Guess where they
                # start from this answer's ids (only a size for the next range, never a claim; ids are positive).
                local = len(ids) / max(1, hi - ids[0] + 1)
                origin = max(0, hi - int(total / local) + 1)
                walk.floor = origin if walk.floor is None else min(walk.floor, origin)
        # Every answer either moves lo on, ends the walk, or narrows the next range (it cannot narrow forever); a
        # long run of answers that do none of the first two means something is wrong: give up rather than spin.
        walk.stalled = 0 if walk.done or walk.lo != lo_before else walk.stalled + 1
        if walk.stalled > _MAX_STALLED:
            raise StoreError(
                f"NetSuite search: {walk.stalled} answers in a row without progress; giving up",
                code="SEARCH_STALLED",
                store=self.store_id,
            )
        fresh = []
        for record_ in records:
            internal_id = str(field(record_, "internalId", "") or "")
            if internal_id and internal_id in walk.seen:
                continue
            if internal_id:
                walk.seen.add(internal_id)
            fresh.append(record_)
        return fresh

    def _search_all(self, search_type: str, criteria: dict[str, Any], page_size: int = 50) -> Flow[list[Any]]:
        """Every record of a search (the fulfilments of one order), read as a walk."""
        walk = _Walk(search_type, criteria, page_size)
        records: list[Any] = []
        while not walk.done:
            records += yield from self._walk_step(walk)
        return records
