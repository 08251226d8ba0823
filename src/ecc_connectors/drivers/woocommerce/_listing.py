"""Reading orders from WooCommerce: the statuses, the keyset listing, one order.

Listing without losing an order
-------------------------------
WooCommerce cannot filter on a ``(stamp, id)`` key: ``GET /orders`` filters ``modified_after`` /
``modified_before`` (whole seconds, ``dates_are_gmt=true``) and sorts by one field (``orderby=modified``), and
its pages are offsets. Offsets over a sort that moves lose rows (an order edited between two pages jumps to the
end, and the row behind it slides onto the page already read). So the driver never reads a second page by
offset. It offers the engine the *keyset* shape (``SEEK_ORDERS``) and builds each keyset page out of requests
that are each one consistent look at the store:

1. Ask for the orders modified in ``[start, stop]`` (whole seconds; ``start`` is the second of the cursor),
   ``orderby=modified&order=asc``, page 1 only.
2. If ``X-WP-Total`` is no more than the rows returned, the answer holds the whole span: every key in it after
   the cursor is the page, and the page's ``total`` is exact.
3. Otherwise the answer is the first rows of the span by stamp, so every order stamped *before the last second
   in the answer* is in it (one SQL query: a missing one would have sorted before a row that is there). Those
   keys after the cursor are the page. If there are none, the span ``[start, last second)`` holds nothing new,
   and ``start`` moves to that last second; the loop goes on.
4. When one second holds more orders than a page (the whole answer is stamped ``start``), that second is read
   by id with ``exclude=`` the ids already seen (never by offset), until an answer holds everything left.

An order untouched during the run keeps its key, lies in exactly one span and is returned by whichever request
first reaches it; an order edited during the run is stamped after the window's upper bound (the store's
``Date`` minus the settle delay) and read by the next run. The engine then walks these pages like Magento's
keyset (slices cut by :meth:`probe`, concurrent, mark at the frontier), and ``reconcile`` uses
:meth:`list_keys`, the same walk with ``_fields=id,date_modified_gmt,date_created_gmt``. A store that does not sort by
``modified`` (a plugin overriding the query) is caught: the stamps of an answer must not go down, or the
answer is a :class:`BrokenAnswer` (asked again, then the run fails loudly).

Bounds: WooCommerce does not say whether ``modified_after`` includes its second, so each request asks one
second wider on both sides and the driver keeps only the keys inside; a count widened that way can only be too
large, which costs a request, never an order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ...driver import (
    BrokenAnswer,
    Flow,
    FollowCursor,
    KeyPage,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    Seek,
    StoreStatus,
)
from ._mapping import gmt, key_of, order_from_payload
from ._rest import WooRest

__all__ = ["CORE_STATUSES", "Listing"]

CORE_STATUSES: tuple[tuple[str, str], ...] = (
    ("pending", "Pending payment"),
    ("processing", "Processing"),
    ("on-hold", "On hold"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("refunded", "Refunded"),
    ("failed", "Failed"),
    ("checkout-draft", "Draft"),
)
"""WooCommerce core's order statuses, used when the store will not list its own (``/reports/orders/totals``)."""
_KEY_FIELDS = "id,date_modified_gmt,date_created_gmt"


def _iso(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _ceil(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def _floor(moment: datetime) -> int:
    return math.floor(moment.timestamp())


class _Span:
    """The rows of one listing answer with their keys, in the store's order, and whether they are all of the
    span asked for."""

    def __init__(self, rows: list[tuple[OrderKey, Any]], total: int, asked: int) -> None:
        self.rows = rows
        self.total = total
        # Whole only when the store both counts no more than it returned and returned less than a full page: a
        # count that lies low cannot end a span early on a full page, and a store that caps per_page below what
        # was asked still counts the rest (one extra request when a span holds exactly a page).
        self.complete = total <= len(rows) < asked


class Listing(WooRest):
    """The statuses, keyset pages, probes and keys, and one order by id (see the module notes)."""

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """Every order status the store has registered, plugin statuses included, from
        ``GET /reports/orders/totals`` (one row per status slug); core's table when the key's user may not read
        reports (403: signed in, lacking the capability) or the route is gone (404). A 401 is a refused key."""
        response = yield self._get("/reports/orders/totals")
        if response.status_code in (403, 404):
            return tuple(StoreStatus(code, label) for code, label in CORE_STATUSES)
        rows = self._json(response)
        if not isinstance(rows, list):
            raise BrokenAnswer("the order status totals are not a list", store=self.store_id)
        found = [
            StoreStatus(str(row["slug"]).removeprefix("wc-"), str(row.get("name") or row["slug"]))
            for row in rows
            if isinstance(row, Mapping) and row.get("slug")
        ]
        return tuple(found) or tuple(StoreStatus(code, label) for code, label in CORE_STATUSES)

    # -- listing ---------------------------------------------------------------------------------------------

    def _filters(self, query: OrderQuery, start: int | None, stop: int | None) -> dict[str, str]:
        params = {"dates_are_gmt": "true", "orderby": "modified", "order": "asc"}
        # One second of slack on each side: WooCommerce does not document whether its bounds include their second.
        if start is not None:
            params["modified_after"] = _iso(start - 1)
        if stop is not None:
            params["modified_before"] = _iso(stop + 1)
        if query.created_from is not None:
            params["after"] = _iso(_ceil(query.created_from) - 1)
        if query.created_to is not None:
            params["before"] = _iso(_floor(query.created_to) + 1)
        if query.statuses is not None:
            # WordPress reads an array parameter from a comma list (wp_parse_list); repeated names would keep the
            # last one only in PHP.
            params["status"] = ",".join(query.statuses)
        return params

    def _inside(self, key: OrderKey, row: Any, query: OrderQuery, seek: Seek) -> bool:
        if seek.after is not None and key <= seek.after:
            return False
        if seek.through is not None and key > seek.through:
            return False
        if seek.after is None and query.updated_from is not None and key.updated_at < query.updated_from:
            return False
        if seek.through is None and query.updated_to is not None and key.updated_at > query.updated_to:
            return False
        if query.created_from is not None or query.created_to is not None:
            try:
                created = gmt(row.get("date_created_gmt"), "date_created_gmt") if isinstance(row, Mapping) else None
            except ValueError:
                created = None
            if created is not None:  # a row we cannot place stays in (the parse will report it)
                if query.created_from is not None and created < query.created_from:
                    return False
                if query.created_to is not None and created > query.created_to:
                    return False
        return True

    def _span(self, params: Mapping[str, str]) -> Flow[_Span]:
        """One listing request: its rows with their keys, and the store's count (``X-WP-Total``)."""
        response = yield self._get("/orders", params)
        self.check(response)
        body = self.decode(response)
        if not isinstance(body, list):
            raise BrokenAnswer("the order listing is not a JSON list", store=self.store_id)
        try:
            total = int(response.headers["x-wp-total"])
        except (KeyError, ValueError):
            raise BrokenAnswer("the order listing came without X-WP-Total", store=self.store_id) from None
        rows: list[tuple[OrderKey, Any]] = []
        for row in body:
            try:
                rows.append((key_of(row), row))
            except (KeyError, TypeError, ValueError) as exc:
                raise BrokenAnswer(f"a listed order without id/date_modified_gmt: {exc}", store=self.store_id) from None
        if params.get("orderby") == "modified":
            for (before, _), (after, _) in itertools.pairwise(rows):
                if after.updated_at < before.updated_at:
                    raise BrokenAnswer(
                        f"the store did not sort by date modified: order {after.id} ({after.updated_at.isoformat()})"
                        f" follows order {before.id} ({before.updated_at.isoformat()})",
                        store=self.store_id,
                    )
        asked = int(params.get("per_page", "10"))
        if not rows and total > 0 and int(params.get("page", "1")) == 1 and "offset" not in params:
            raise BrokenAnswer(f"the order listing counts {total} orders but returned none", store=self.store_id)
        return _Span(rows, total, asked)

    def _crowded(
        self, query: OrderQuery, second: int, size: int, fields: str | None
    ) -> Flow[list[tuple[OrderKey, Any]]]:
        """Every order stamped in ``second`` when it holds more than a page: by id, excluding the ids already
        read (a value, not an offset, so no row can slide), until one answer holds all that is left."""
        seen: dict[int, tuple[OrderKey, Any]] = {}
        while True:
            params = self._filters(query, second, second) | {"orderby": "id", "per_page": str(size), "page": "1"}
            if fields:
                params["_fields"] = fields
            if seen:
                params["exclude"] = ",".join(str(i) for i in sorted(seen))
            span = yield from self._span(params)
            fresh = [(k, r) for k, r in span.rows if k.id not in seen]
            for key, row in fresh:
                seen[key.id] = (key, row)
            if not span.complete and not fresh:
                # Nothing new in an answer that says more remain: the store ignored exclude. Loud, not lossy.
                raise BrokenAnswer(
                    f"the store ignored exclude= while listing the {span.total} orders modified at {_iso(second)}",
                    store=self.store_id,
                )
            if span.complete:
                return sorted((kr for kr in seen.values() if _floor(kr[0].updated_at) == second), key=lambda kr: kr[0])

    def _seek(
        self, query: OrderQuery, seek: Seek, size: int, fields: str | None
    ) -> Flow[tuple[list[tuple[OrderKey, Any]], int | None]]:
        """The keys after ``seek.after`` up to ``seek.through`` (see the module notes), and the exact count
        when the last answer held its whole span (else ``None``: more may follow)."""
        if query.statuses == ():
            return [], 0
        size = max(1, min(size, self.page_size))
        if seek.after is not None:
            start: int | None = _floor(seek.after.updated_at)
        else:
            start = None if query.updated_from is None else _ceil(query.updated_from)
        if seek.through is not None:
            stop: int | None = _floor(seek.through.updated_at)
        else:
            stop = None if query.updated_to is None else _floor(query.updated_to)
        while start is None or stop is None or start <= stop:
            params = self._filters(query, start, stop) | {"per_page": str(size), "page": "1"}
            if fields:
                params["_fields"] = fields
            span = yield from self._span(params)
            if span.complete:
                inside = [(k, r) for k, r in span.rows if self._inside(k, r, query, seek)]
                return sorted(inside, key=lambda kr: kr[0]), len(inside)
            last = max(_floor(k.updated_at) for k, _ in span.rows)
            if start is None or last > start:
                whole = [(k, r) for k, r in span.rows if _floor(k.updated_at) < last]
                inside = [(k, r) for k, r in whole if self._inside(k, r, query, seek)]
                if inside:
                    # The store's count covers at least every key still to come in this span (and the slack).
                    # More follow: a count above what is returned (the engine cuts slices by it), never one that
                    # could end the slice early however the store counts.
                    return sorted(inside, key=lambda kr: kr[0]), max(span.total, len(inside) + 1)
                start = last
                continue
            crowded = yield from self._crowded(query, start, size, fields)
            inside = [(k, r) for k, r in crowded if self._inside(k, r, query, seek)]
            if inside:
                return inside, None
            start += 1
        return [], 0

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        rows, total = yield from self._seek(query, seek, size, None)
        orders = tuple(order_from_payload(self.store_id, row) for _, row in rows)
        return Page(orders, None, total=total, keys=tuple(k for k, _ in rows))

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of the window sorted by date modified (``per_page=1``); ties within a second
        may come in any order, which costs a slice's balance, never an order."""
        start = None if query.updated_from is None else _ceil(query.updated_from)
        stop = None if query.updated_to is None else _floor(query.updated_to)
        params = self._filters(query, start, stop) | {"per_page": "1", "page": str(offset + 1), "_fields": _KEY_FIELDS}
        span = yield from self._span(params)
        return Probe(span.rows[0][0] if span.rows else None, span.total)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        rows, total = yield from self._seek(query, seek, size, _KEY_FIELDS)
        return KeyPage(tuple(k for k, _ in rows), total=total)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The keyset walk as cursor pages, for callers that read pages themselves."""
        page = yield from self._cursor_page(query, Seek())
        return page

    def _cursor_page(self, query: OrderQuery, seek: Seek) -> Flow[Page]:
        page = yield from self.seek_page(query, seek, query.page_size)
        done = not page.keys or (page.total is not None and len(page.keys) >= page.total)
        if done:
            return Page(page.orders, None, total=page.total)
        after = Seek(after=page.keys[-1], through=seek.through)
        return Page(page.orders, FollowCursor(lambda: self._cursor_page(query, after)), total=None)

    def get_order(self, order_id: str) -> Flow[Order]:
        response = yield self._get(f"/orders/{self._id(order_id)}")
        body = self._json(response, order_id)
        order = order_from_payload(self.store_id, body)
        if isinstance(order, PayloadError):
            raise order
        return order
