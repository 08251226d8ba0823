"""The BigCommerce driver: orders v2 and catalog v3 as sans-I/O flows, on the public driver kit.

Theory of operation
-------------------
**Listing is a keyset** (``SEEK_ORDERS``), built from what v2 ``GET /orders`` can do: filter on
``min_date_modified``/``max_date_modified`` (whole seconds, both bounds inclusive), on ``min_id``/``max_id``, and
sort on *one* field (``date_modified`` or ``id``). The SDK's key is ``(updated_at, id)``; no single v2 sort gives
it, so one keyset page is built from at most two requests:

1. **by stamp**: ``min_date_modified = t`` (the cursor's second ``t``, included) up to the slice's end,
   ``sort=date_modified:asc``. Every second *before* the page's last stamp is complete in the answer (the sort
   put all of its rows ahead of the last one); the last second may be cut anywhere (v2 does not say how it orders
   ties), so when the page is full its rows are left for the next page. The rows of ``t`` up to the cursor were
   read before and are dropped; the rest is sorted by key locally. Usually that is the whole page, in one request;
2. **by id, inside one second**, when a full page holds nothing new in its complete seconds (one second fills
   the page): ``min_date_modified = max_date_modified = that second``, ``min_id = cursor id + 1``,
   ``sort=id:asc``. Inside one second the id sort *is* the key order, and nothing new is ever stamped in a past
   second (an edit stamps "now", past the window's end), so this is an exact keyset inside the second. When the
   cursor's second has nothing left, step 1 goes on from the next second.

So a page holds only whole seconds or an id-ordered run of one second: the cursor never passes a key it did not
return, which is the keyset's promise (``ecc_connectors._keyset`` has the proof for the engine's side). Rows
must come sorted as asked; a page whose stamps go down is a :class:`BrokenAnswer` (asked again, then the run
fails loudly), never silently trusted.

The first page of a download (sent before the window's end is known) holds at most ``FIRST_PAGE`` orders, since
it is read alone before any slice can start, and it also counts the rows after its start by galloping over
``limit=1`` pages (about ``log2(n / 10) + 3`` tiny requests, to within an eighth), so the engine can cut the
window into slices read concurrently. The page's total is never below what it held plus one, so a count that
lies low can never end the listing early (a total only ever ends a slice when it is reached). ``probe`` is the
same one-row page.

**An order's pieces.** v2 gives line items, shipping addresses and shipments only as links
(``{"url", "resource"}``). Every page and order read asks ``include=consignments.line_items`` with
``consignment_structure=object``, so each order comes with its consignments: its shipping addresses, each with
its line items (the ``/products`` rows), and a digital order's items as a download consignment. Only an order
with something shipped (``items_shipped`` > 0) costs one more request, ``/orders/{id}/shipments``. A store that
answers without consignments (or with the line items as links) is read the long way: ``/products`` (paged by
250) and ``/shipping_addresses``. Either way lines and addresses are sorted by id, so a listing and a read by id
map an order the same. These requests run inside the page's flow, one after another (the engine runs a flow's
requests in order; the concurrency is its slices'). An order that vanished between the listing and its
shipments is a ``PayloadError`` in the page (kept, visible), not a failed run.

**Statuses** are ``status_id`` as strings (``"0"`` to ``"14"``); labels (custom labels included) come from
``/v2/order_statuses``. With exactly one status asked for, ``status_id`` filters the listing; with more, the
listing is not filtered (v2 takes one id) and the engine's rules sort the orders.

**Writes look first.** A shipment is ``POST /orders/{id}/shipments`` (BigCommerce emails the customer and
moves the order to Shipped / Partially Shipped), after looking for a shipment carrying the tracking number.
A status change is ``PUT /orders/{id} {status_id, staff_notes}``: the comment is a line of the order's staff
notes, unless that line is there already. The ``PUT`` is never resent blindly (its body was computed from a
read), and a ``POST`` never is (HTTP's rule). A phone order carries its reference in ``external_order_id`` and is
looked up by it before it is placed, so a retry never places a second one.

**Rate limits**: ``Limits.rate`` is the plan's quota over its 30 s window (a setting); a 429 waits
``X-Rate-Limit-Time-Reset-Ms``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec

from ... import StoreDefaults
from ...driver import (
    Address,
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
    Capability,
    ConfigurationError,
    ConnectorError,
    Driver,
    Flow,
    FollowCursor,
    Item,
    ItemQuery,
    JsonRest,
    KeyPage,
    Limits,
    NewOrder,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    RetryHint,
    Secret,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    StoreStatus,
    WriteResult,
    mark_idempotent,
)
from ._mapping import Pieces, format_time, parse_item, parse_order, parse_time, staff_lines
from ._settings import DEFAULT_BASE_URL, BigCommerceSettings, XAuthToken

__all__ = ["CANCELLED", "PAGE_LIMIT", "STATUS_NAMES", "BigCommerceDriver"]

_B = TypeVar("_B", bound="BigCommerceDriver")

PAGE_LIMIT = 250
"""``limit`` at most 250 on v2 listings (BigCommerce's documented maximum)."""
SUB_LIMIT = 250
FIRST_PAGE = 10
"""Rows of a download's first page (read before the window can be cut into concurrent slices)."""
CANCELLED = 5
SHIPPED = 2
PARTIALLY_SHIPPED = 3
STATUS_NAMES: Mapping[int, str] = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
"""BigCommerce's fixed status ids (the labels are the system labels; a store may show custom ones)."""
_SECOND = timedelta(seconds=1)
INCLUDE = {"include": "consignments.line_items", "consignment_structure": "object"}
"""Asked with every page and order read: each order's consignments with their line items (the shipping
addresses and ``/products`` rows), so an order costs no sub-resource request unless something shipped."""
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floor = _floor(moment)
    return floor if floor == moment else floor + _SECOND


class BigCommerceDriver(JsonRest, Driver):
    """One BigCommerce store, by its store hash and an API account's access token."""

    name = "bigcommerce"
    capabilities = frozenset(
        {
            Capability.LIST_STATUSES,
            Capability.LIST_ORDERS,
            Capability.SEEK_ORDERS,
            Capability.LIST_KEYS,
            Capability.GET_ORDER,
            Capability.SHIP,
            Capability.SET_STATUS,
            Capability.CANCEL,
            Capability.SEARCH_ITEMS,
            Capability.CREATE_ORDER,
        }
    )
    sorts_by_updated = True
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {
        401: AuthenticationError,
        403: AuthenticationError,  # the token lacks a scope (Orders: modify, Products: read-only)
    }
    message_keys: ClassVar[tuple[str, ...]] = ("message", "title", "error", "detail")
    settings_class: ClassVar[type[Any] | None] = BigCommerceSettings

    def __init__(
        self,
        store_hash: str,
        access_token: str | Secret,
        *,
        base_url: str = DEFAULT_BASE_URL,
        page_size: int = PAGE_LIMIT,
        acknowledgement_status_id: int = 9,
        phone_order_status_id: int = 11,
        requests_per_30s: int = 150,
        concurrency: int = 8,
    ) -> None:
        store_hash = str(store_hash).strip()
        if not store_hash or not store_hash.isalnum():
            raise ConfigurationError(f"a BigCommerce store hash is letters and digits, got {store_hash!r}")
        if not (access_token.reveal() if isinstance(access_token, Secret) else access_token):
            raise ConfigurationError("a BigCommerce access token is required")
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        for label, value in (
            ("acknowledgement_status_id", acknowledgement_status_id),
            ("phone_order_status_id", phone_order_status_id),
        ):
            if value not in STATUS_NAMES:
                raise ConfigurationError(f"{label} must be a BigCommerce status id (0 to 14), got {value}")
        self.store_hash = store_hash
        self.base_url = base_url.rstrip("/")
        self.api_root = f"{self.base_url}/stores/{store_hash}"
        self.store_id = f"bigcommerce:{store_hash}"
        self.page_size = min(page_size, PAGE_LIMIT)
        self.acknowledgement_status_id = acknowledgement_status_id
        self.phone_order_status_id = phone_order_status_id
        self.requests_per_30s = requests_per_30s
        self.concurrency = max(1, concurrency)
        self._auth = XAuthToken(access_token)  # the only place the token is kept

    @classmethod
    def from_config(cls: type[_B], settings: BigCommerceSettings) -> _B:
        """Build the driver from :class:`BigCommerceSettings`; ``from_settings`` and ``from_env``
        (``BIGCOMMERCE_STORE_HASH``, ``BIGCOMMERCE_ACCESS_TOKEN``, ...) come with it."""
        return cls(
            settings.store_hash,
            settings.access_token,
            base_url=settings.base_url,
            page_size=settings.page_size,
            acknowledgement_status_id=settings.acknowledgement_status_id,
            phone_order_status_id=settings.phone_order_status_id,
            requests_per_30s=settings.requests_per_30s,
        )

    def __repr__(self) -> str:
        return f"BigCommerceDriver(store_hash={self.store_hash!r}, base_url={self.base_url!r})"

    # -- engine hooks ---------------------------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        return self._auth

    def limits(self) -> Limits:
        # The quota is per 30 s window and shared by every app of the store: spread it evenly (burst 1/10 of
        # it) instead of spending it at the window's start and then waiting for the reset.
        if self.requests_per_30s <= 0:
            return Limits(concurrency=self.concurrency)
        rate = self.requests_per_30s / 30.0
        return Limits(concurrency=self.concurrency, rate=rate, burst=max(1, self.requests_per_30s // 10))

    def store_defaults(self) -> StoreDefaults:
        # Shipping moves the order to Shipped (2) by itself; "2" as the post-back status just says so (ship()
        # leaves 2 and 3 to the store, which knows whether everything left).
        return StoreDefaults(
            post_back_status=str(SHIPPED),
            cancellation_status=str(CANCELLED),
            acknowledgement_status=str(self.acknowledgement_status_id),
        )

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """HTTP's rules; a 429 waits ``X-Rate-Limit-Time-Reset-Ms`` (the quota's reset), as BigCommerce asks."""
        hint = super().retry_hint(response)
        if hint is not None and response.status_code == 429 and hint.after is None:
            reset = response.headers.get("x-rate-limit-time-reset-ms")
            try:
                return RetryHint(hint.reason, max(0.0, float(reset) / 1000.0)) if reset is not None else hint
            except ValueError:
                return hint
        return hint

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """v2 errors are a list (``[{"status": 400, "message": "..."}]``); v3 errors an object with ``title``."""
        try:
            body = self.decode(response)
        except BrokenAnswer:
            body = None
        if isinstance(body, list) and body and isinstance(body[0], Mapping):
            first = body[0]
            message = str(first.get("message") or first.get("details") or "")
            if message:
                return message, str(first.get("status")) if first.get("status") is not None else None
        return super().error_message(response)

    # -- requests -------------------------------------------------------------------------------------------

    def _v2(self, path: str) -> str:
        return f"{self.api_root}/v2{path}"

    def _v3(self, path: str) -> str:
        return f"{self.api_root}/v3{path}"

    def _get(self, url: str, params: Mapping[str, str] | None = None) -> httpx.Request:
        return httpx.Request("GET", url, params=dict(params or {}), headers={"Accept": "application/json"})

    def _json(self, method: str, url: str, body: Any) -> httpx.Request:
        # Amounts are written as JSON numbers exactly as their Decimal reads (the spec types them ``number``).
        return httpx.Request(
            method,
            url,
            content=_ENCODER.encode(body),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )

    def _list(self, response: httpx.Response, what: str, order_id: str | None = None) -> list[Any]:
        """A v2 list answer: ``204`` or an empty body is an empty list (v2 answers an empty listing so)."""
        if response.is_success and (response.status_code == 204 or not response.content.strip()):
            return []
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer(f"{what} answered without a list", store=self.store_id, order_id=order_id)
        return body

    def _object(self, response: httpx.Response, what: str, order_id: str | None = None) -> dict[str, Any]:
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer(f"{what} answered without an object", store=self.store_id, order_id=order_id)
        return dict(body)

    # -- listing --------------------------------------------------------------------------------------------

    def _filters(self, query: OrderQuery) -> dict[str, str]:
        params: dict[str, str] = {}
        if query.created_from is not None:
            params["min_date_created"] = format_time(_ceil(query.created_from))
        if query.created_to is not None:
            params["max_date_created"] = format_time(_floor(query.created_to))
        if query.statuses is not None and len(query.statuses) == 1 and query.statuses[0].isdigit():
            params["status_id"] = query.statuses[0]
        return params

    def _starting_id(self, query: OrderQuery) -> int | None:
        number = (query.starting_number or "").strip()
        return int(number) if number.isdigit() else None

    def _orders(self, params: Mapping[str, str]) -> Flow[list[dict[str, Any]]]:
        response = yield self._get(self._v2("/orders"), params)
        rows = self._list(response, "the order listing")
        for row in rows:
            if not isinstance(row, Mapping):
                raise BrokenAnswer("the order listing holds a row that is not an object", store=self.store_id)
        return [dict(row) for row in rows]

    def _key(self, row: Mapping[str, Any]) -> OrderKey:
        try:
            return OrderKey(parse_time(row.get("date_modified"), "date_modified"), int(row["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BrokenAnswer(
                f"an order row without a readable id/date_modified: {exc}", store=self.store_id
            ) from None

    def _second(
        self,
        query: OrderQuery,
        second: datetime,
        after_id: int | None,
        through: OrderKey | None,
        size: int,
        whole: bool = True,
    ) -> Flow[list[dict[str, Any]]]:
        """The orders stamped in ``second`` with an id above ``after_id`` (and not past ``through``), by id."""
        params = (
            self._filters(query)
            | {
                "min_date_modified": format_time(second),
                "max_date_modified": format_time(second),
                "sort": "id:asc",
                "limit": str(size),
                "page": "1",
            }
            | (INCLUDE if whole else {})
        )
        low = max(after_id + 1 if after_id is not None else 0, self._starting_id(query) or 0)
        if low:
            params["min_id"] = str(low)
        if through is not None and _floor(through.updated_at) == second:
            if through.id < low:
                return []
            params["max_id"] = str(through.id)
        rows = yield from self._orders(params)
        last = -1
        for row in rows:
            key = self._key(row)
            if _floor(key.updated_at) != second or key.id <= last or key.id < low:
                raise BrokenAnswer(
                    f"asked for the orders of {format_time(second)} by id, the store answered order {key.id}"
                    f" stamped {format_time(key.updated_at)} out of that order",
                    store=self.store_id,
                )
            last = key.id
        return rows

    def _seek_rows(self, query: OrderQuery, seek: Seek, size: int, *, whole: bool = True) -> Flow[list[dict[str, Any]]]:
        """The rows of one keyset page: keys after ``seek.after``, up to ``seek.through`` (or the query's end),
        sorted by key, only whole seconds or an id run of one second (see the module docstring). ``whole``:
        with each order's consignments (not needed for keys)."""
        size = max(1, min(size, self.page_size))
        if query.statuses is not None and not query.statuses:
            return []  # no status asked for: nothing to list (and no request)
        after, through = seek.after, seek.through
        end = through.updated_at if through is not None else query.updated_to
        end_second = _floor(end) if end is not None else None
        cursor_second = _floor(after.updated_at) if after is not None else None
        if cursor_second is not None:
            lower: datetime | None = cursor_second  # the cursor's second again: its rows after the cursor
        else:
            lower = _ceil(query.updated_from) if query.updated_from is not None else None
        for _attempt in range(2):
            if end_second is not None and lower is not None and lower > end_second:
                return []
            rows = yield from self._stamp_page(query, lower, end_second, size, whole)
            if not rows:
                return []
            keys = [self._key(row) for row in rows]
            full = len(rows) >= size
            last = _floor(keys[-1].updated_at)
            # Every second before the last one is complete in a full page; the last may be cut anywhere.
            kept = [
                (key, row)
                for key, row in zip(keys, rows, strict=True)
                if (not full or _floor(key.updated_at) < last)
                and (after is None or key > after)
                and (through is None or key <= through)
            ]
            if kept or not full:
                kept.sort(key=lambda pair: pair[0])
                return [row for _key, row in kept]
            # A full page with nothing new in its complete seconds: read its last second by id.
            run = yield from self._second(
                query, last, after.id if cursor_second == last and after else None, through, size, whole
            )
            if run or (through is not None and last == _floor(through.updated_at)):
                return run
            if cursor_second != last:
                raise BrokenAnswer(
                    f"the store listed orders stamped {format_time(last)} but none when asked for them by id",
                    store=self.store_id,
                )
            lower = last + _SECOND  # the cursor's second is read to its end: go on after it
        raise BrokenAnswer("the listing did not move past one second", store=self.store_id)  # pragma: no cover

    def _stamp_page(
        self, query: OrderQuery, lower: datetime | None, upper: datetime | None, size: int, whole: bool
    ) -> Flow[list[dict[str, Any]]]:
        """One ``sort=date_modified:asc`` page from ``lower`` to ``upper`` (whole seconds, inclusive)."""
        params = self._filters(query) | {"sort": "date_modified:asc", "limit": str(size), "page": "1"}
        if whole:
            params |= INCLUDE
        if lower is not None:
            params["min_date_modified"] = format_time(lower)
        if upper is not None:
            params["max_date_modified"] = format_time(upper)
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        rows = yield from self._orders(params)
        keys = [self._key(row) for row in rows]
        for before, following in itertools.pairwise(keys):
            if _floor(following.updated_at) < _floor(before.updated_at):
                raise BrokenAnswer(
                    f"asked for sort=date_modified:asc, the store answered order {following.id}"
                    f" ({following.updated_at}) after order {before.id} ({before.updated_at})",
                    store=self.store_id,
                )
        return rows

    def _exists(self, params: Mapping[str, str], offset: int) -> Flow[dict[str, Any] | None]:
        rows = yield from self._orders(dict(params) | {"limit": "1", "page": str(offset + 1)})
        return rows[0] if rows else None

    def _count(self, query: OrderQuery, shown: int) -> Flow[int | None]:
        """About how many orders the unbounded listing from ``query.updated_from`` holds now (at least that many,
        within an eighth), by galloping over one-row pages (``page=k&limit=1`` is the row at offset ``k - 1``);
        ``None`` when nothing follows the ``shown`` rows of the first page (one request: a small incremental run
        pays no more)."""
        params = self._filters(query) | {"sort": "date_modified:asc"}
        if query.updated_from is not None:
            params["min_date_modified"] = format_time(_ceil(query.updated_from))
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        if (yield from self._exists(params, shown)) is None:
            return None
        low, high = shown + 1, 2 * (shown + 1)  # a row at offset low - 1 exists; high: a count to test
        while (yield from self._exists(params, high - 1)) is not None:
            low, high = high, high * 2
        # To within an eighth: the count only plans the slices (a count a little off costs balance, never
        # orders), and each halving is one more request sent before any slice starts.
        while high - low > max(1, low // 8):
            middle = (low + high) // 2
            if (yield from self._exists(params, middle - 1)) is not None:
                low = middle
            else:
                high = middle
        return low

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        first = seek.after is None and seek.through is None and query.updated_to is None
        if first:
            # The download's first page is read alone (one flow, its orders' sub-resources one after another)
            # before the engine can cut the window into slices: keep it short so the slices start soon.
            size = min(size, FIRST_PAGE)
        rows = yield from self._seek_rows(query, seek, size)
        orders: list[Order | PayloadError] = []
        for row in rows:
            pieces = yield from self._pieces(row)
            orders.append(pieces if isinstance(pieces, PayloadError) else parse_order(self.store_id, pieces))
        total = None
        if first and rows:
            # The download's first page: count what follows, so the engine can cut the window into slices read
            # concurrently. Never less than one more than this page: the count is a planning aid (the rows
            # after the start when the run began) and must not end the head slice early.
            counted = yield from self._count(query, len(rows))
            total = None if counted is None else max(counted, len(rows) + 1)
        return Page(tuple(orders), total=total, keys=tuple(self._key(row) for row in rows))

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of the ``date_modified`` sort (ties in a second in the store's order: a key a
        little off costs a slice's balance, never an order)."""
        params = self._filters(query) | {"sort": "date_modified:asc"}
        if query.updated_from is not None:
            params["min_date_modified"] = format_time(_ceil(query.updated_from))
        if query.updated_to is not None:
            params["max_date_modified"] = format_time(_floor(query.updated_to))
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        row = yield from self._exists(params, offset)
        return Probe(self._key(row) if row is not None else None, None)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        rows = yield from self._seek_rows(query, seek, size, whole=False)
        return KeyPage(tuple(self._key(row) for row in rows), None)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The keyset walk as a cursor (for callers that list by pages): each page goes on after its last key."""
        page = yield from self._cursor_page(query, Seek())
        return page

    def _cursor_page(self, query: OrderQuery, seek: Seek) -> Flow[Page]:
        rows = yield from self._seek_rows(query, seek, self.page_size)
        orders: list[Order | PayloadError] = []
        for row in rows:
            pieces = yield from self._pieces(row)
            orders.append(pieces if isinstance(pieces, PayloadError) else parse_order(self.store_id, pieces))
        following = None
        if rows:
            last = self._key(rows[-1])
            following = FollowCursor(lambda: self._cursor_page(query, Seek(last, seek.through)))
        return Page(tuple(orders), following)

    # -- one order ------------------------------------------------------------------------------------------

    def _sub(self, order_id: str, name: str) -> Flow[list[dict[str, Any]]]:
        """Every row of a sub-resource (``products``, ``shipping_addresses``, ``shipments``), 250 a page."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = yield self._get(
                self._v2(f"/orders/{order_id}/{name}"), {"limit": str(SUB_LIMIT), "page": str(page)}
            )
            found = self._list(response, f"order {order_id}'s {name}", order_id)
            rows += [dict(row) for row in found if isinstance(row, Mapping)]
            if len(found) < SUB_LIMIT:
                return rows
            page += 1

    def _pieces(self, row: Mapping[str, Any]) -> Flow[Pieces | PayloadError]:
        """The order's lines, addresses and shipments: from its consignments when the answer carried them
        (``include=consignments.line_items``), else from the sub-resources; shipments only once something
        shipped. Lines and addresses are sorted by id, so both ways give the same order."""
        order_id = str(row.get("id"))
        products: list[dict[str, Any]] = []
        addresses: list[dict[str, Any]] = []
        shipments: list[dict[str, Any]] = []
        field = "products"
        try:
            inline = _from_consignments(row.get("consignments"))
            if inline is not None:
                products, addresses = inline
            else:
                products = yield from self._sub(order_id, "products")
                field = "shipping_addresses"
                if int(row.get("shipping_address_count") or 0) > 0:
                    addresses = yield from self._sub(order_id, "shipping_addresses")
            field = "shipments"
            if int(row.get("items_shipped") or 0) > 0:
                shipments = yield from self._sub(order_id, "shipments")
        except StoreError as exc:
            if exc.http_status != 404:
                raise
            # Deleted between the listing and this read: keep what came, visible, and let the run go on.
            pieces = Pieces(row, products, addresses, shipments)
            return PayloadError(
                self.store_id, order_id, field, f"the order's {field} are gone: {exc}", raw=pieces.raw()
            )
        except (TypeError, ValueError) as exc:
            return PayloadError(self.store_id, order_id, field, f"{type(exc).__name__}: {exc}", raw=Pieces(row).raw())
        products.sort(key=_by_id)
        addresses.sort(key=_by_id)
        return Pieces(_without_consignments(row), products, addresses, shipments)

    def _read(self, order_id: str) -> Flow[dict[str, Any]]:
        if not str(order_id).isdigit():
            raise StoreError(
                f"{order_id!r} is not a BigCommerce order id",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        response = yield self._get(self._v2(f"/orders/{order_id}"), INCLUDE)
        return self._object(response, f"order {order_id}", str(order_id))

    def get_order(self, order_id: str) -> Flow[Order]:
        row = yield from self._read(order_id)
        pieces = yield from self._pieces(row)
        if isinstance(pieces, PayloadError):
            raise pieces
        parsed = parse_order(self.store_id, pieces)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """``/v2/order_statuses``: the fixed ids with the store's labels (a custom label wins)."""
        response = yield self._get(self._v2("/order_statuses"))
        rows = self._list(response, "the order statuses")
        statuses = []
        for row in rows:
            if not isinstance(row, Mapping) or row.get("id") is None:
                continue
            label = str(row.get("custom_label") or row.get("name") or STATUS_NAMES.get(int(row["id"]), ""))
            statuses.append(StoreStatus(str(int(row["id"])), label))
        if not statuses:
            raise BrokenAnswer("the order statuses answered an empty list", store=self.store_id)
        return tuple(statuses)

    # -- writes ---------------------------------------------------------------------------------------------

    def _status_id(self, status: str, order_id: str) -> int:
        text = str(status).strip()
        if not text.isdigit() or int(text) not in STATUS_NAMES:
            raise StatusNotAllowed(
                f"{status!r} is not a BigCommerce status id (0 to 14: {', '.join(map(str, STATUS_NAMES))})",
                store=self.store_id,
                order_id=order_id,
            )
        return int(text)

    def _put_order(self, order_id: str, body: Mapping[str, Any], *, status: bool) -> Flow[dict[str, Any]]:
        # Not safe to resend blindly: the staff notes were computed from a read just before (a merchant's edit
        # in between would be overwritten); a retry runs the whole flow again, which looks first.
        request = mark_idempotent(self._json("PUT", self._v2(f"/orders/{order_id}"), dict(body)), False)
        response = yield request
        if status and response.status_code in (400, 422):
            message, code = self.error_message(response)
            raise StatusNotAllowed(
                f"order {order_id}: BigCommerce refused status_id {body.get('status_id')}: {message}",
                code=code,
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            )
        return self._object(response, f"the update of order {order_id}", order_id)

    def _change(self, order_id: str, status_id: int, comment: str) -> Flow[WriteResult]:
        current = yield from self._read(order_id)
        lines = staff_lines(current)
        comment = comment.strip()
        has_status = int(current.get("status_id", -1)) == status_id
        has_comment = not comment or comment in lines
        if has_status and has_comment:
            return WriteResult(
                already_done=True,
                reference=str(order_id),
                found=f"status_id {status_id}" + (f" and staff note {comment!r}" if comment else ""),
            )
        body: dict[str, Any] = {}
        if not has_status:
            body["status_id"] = status_id
        if not has_comment:
            notes = str(current.get("staff_notes") or "").rstrip("\n")
            body["staff_notes"] = f"{notes}\n{comment}" if notes else comment
        yield from self._put_order(order_id, body, status="status_id" in body)
        return WriteResult(reference=str(order_id))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """``PUT /orders/{id}`` with the status and the comment as a staff note line, unless both are there.
        BigCommerce emails the customer on a status change as the store's settings say (``notify`` cannot
        change that per request)."""
        status_id = self._status_id(change.status, change.order_id)
        result = yield from self._change(change.order_id, status_id, change.comment)
        return result

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Status 5 (Cancelled) with the comment as a staff note; then ``request.status`` if it is another."""
        result = yield from self._change(request.order_id, CANCELLED, request.comment)
        if request.status is not None and str(request.status).strip() != str(CANCELLED):
            after = yield from self._change(request.order_id, self._status_id(request.status, request.order_id), "")
            if not after.already_done:
                return WriteResult(reference=str(request.order_id))
        return result

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """``POST /orders/{id}/shipments`` per shipping address with unshipped lines, after looking for a
        shipment that already carries the tracking number (or, without one, shipments made since the first
        attempt that cover the lines). BigCommerce emails the customer and sets Shipped / Partially Shipped."""
        order_id = request.order_id
        status_id = self._status_id(request.status, order_id) if request.status is not None else None
        current = yield from self._read(order_id)
        products = yield from self._sub(order_id, "products")
        shipments = yield from self._sub(order_id, "shipments")
        numbers = [t.number for t in request.tracking if t.number]
        tracking = numbers[0] if numbers else ""
        # Each address's shipment carries the tracking number: one found for an address means it was shipped.
        mine = [s for s in shipments if tracking and str(s.get("tracking_number") or "") == tracking]
        if not tracking and request.since is not None:
            mine = [s for s in shipments if _made_since(s, request.since)]
        shipped_addresses = {int(s.get("order_address_id") or 0) for s in mine}
        wanted = {str(line): qty for line, qty in request.lines}
        groups: dict[int, list[dict[str, int]]] = {}
        for product in products:
            line_id = str(product.get("id"))
            if product.get("is_bundled_product"):
                continue  # shipped with its parent line
            if wanted and line_id not in wanted:
                continue
            left = int(product.get("quantity") or 0) - int(product.get("quantity_shipped") or 0)
            quantity = min(left, int(wanted[line_id])) if wanted else left
            if quantity <= 0:
                continue
            address = int(product.get("order_address_id") or 0)
            if address in shipped_addresses:
                continue
            groups.setdefault(address, []).append({"order_product_id": int(line_id), "quantity": quantity})
        if not groups:
            if mine or shipments:
                found = mine[-1] if mine else shipments[-1]
                yield from self._after_ship(order_id, current, status_id)
                return ShipmentResult(str(found.get("id")), already_shipped=True)
            raise StoreError(
                f"order {order_id} has nothing left to ship", http_status=400, store=self.store_id, order_id=order_id
            )
        comment = request.comment
        if len(numbers) > 1:
            comment = "\n".join(filter(None, [comment, "Tracking: " + ", ".join(numbers)]))
        first_id = ""
        for address, items in groups.items():
            body: dict[str, Any] = {"order_address_id": address, "items": items}
            if tracking:
                body["tracking_number"] = tracking
            carrier = request.tracking[0].carrier_code if request.tracking else ""
            if carrier and carrier != "custom":
                body["tracking_carrier"] = carrier
            if comment:
                body["comments"] = comment
            response = yield self._json("POST", self._v2(f"/orders/{order_id}/shipments"), body)
            made = self._object(response, f"the shipment of order {order_id}", order_id)
            first_id = first_id or str(made.get("id", ""))
        yield from self._after_ship(order_id, current, status_id)
        return ShipmentResult(first_id)

    def _after_ship(self, order_id: str, before: Mapping[str, Any], status_id: int | None) -> Flow[None]:
        if status_id is None or status_id in (SHIPPED, PARTIALLY_SHIPPED):
            return  # BigCommerce sets these itself from the shipments: forcing 2 would hide a partial shipment
        current = yield from self._read(order_id)
        if int(current.get("status_id", -1)) != status_id:
            yield from self._put_order(order_id, {"status_id": status_id}, status=True)

    # -- catalog and phone orders ---------------------------------------------------------------------------

    def _products(self, params: Mapping[str, str]) -> Flow[list[dict[str, Any]]]:
        response = yield self._get(self._v3("/catalog/products"), params)
        body = self._object(response, "the catalog")
        data = body.get("data")
        if not isinstance(data, list):
            raise BrokenAnswer("the catalog answered without data", store=self.store_id)
        return [dict(row) for row in data if isinstance(row, Mapping)]

    def _items(self, rows: Sequence[Mapping[str, Any]]) -> list[Item]:
        items: list[Item] = []
        for product in rows:
            variants = [v for v in product.get("variants") or () if isinstance(v, Mapping)]
            options = [v for v in variants if v.get("option_values")]
            try:
                if options:
                    items += [parse_item(self.store_id, product, variant, "") for variant in options]
                else:
                    items.append(parse_item(self.store_id, product, variants[0] if variants else None, ""))
            except (KeyError, TypeError, ValueError):
                continue  # a product that cannot be mapped is left out, not an error
        return items

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Catalog v3 products with their variants: exact SKUs (``sku:in``, then ``keyword`` for a variant's
        SKU, which ``sku:in`` does not match), or ``keyword`` for text."""
        limit = max(1, min(query.limit, 250))
        if query.skus:
            wanted = set(query.skus)
            rows = yield from self._products(
                {"sku:in": ",".join(query.skus), "include": "variants", "limit": str(limit)}
            )
            items = [item for item in self._items(rows) if item.sku in wanted]
            for sku in sorted(wanted - {item.sku for item in items}):
                more = yield from self._products({"keyword": sku, "include": "variants", "limit": str(limit)})
                items += [item for item in self._items(more) if item.sku == sku]
            return tuple(items[:limit])
        if not query.text.strip():
            return ()
        rows = yield from self._products({"keyword": query.text.strip(), "include": "variants", "limit": str(limit)})
        return tuple(self._items(rows)[:limit])

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``POST /v2/orders`` with ``external_order_id`` = the back office's reference, after looking for an
        order that already carries it (a retry after a lost answer returns that one)."""
        existing = yield from self._orders({"external_order_id": order.reference, "limit": "1"})
        if existing:
            placed = yield from self.get_order(str(existing[0]["id"]))
            return placed
        products: list[dict[str, Any]] = []
        for line in order.lines:
            item_id = line.item_id
            if item_id is None:
                found = yield from self.search_items(ItemQuery(skus=(line.sku,)))
                if not found:
                    raise StoreError(
                        f"phone order {order.reference}: no product with SKU {line.sku!r}",
                        http_status=404,
                        store=self.store_id,
                    )
                item_id = found[0].item_id
            product_id, _, variant_id = item_id.partition(":")
            row: dict[str, Any] = {"product_id": int(product_id), "quantity": int(line.quantity)}
            if variant_id:
                row["variant_id"] = int(variant_id)
            if line.unit_price is not None:
                row["price_ex_tax"] = line.unit_price
                row["price_inc_tax"] = line.unit_price
            products.append(row)
        body: dict[str, Any] = {
            "status_id": self.phone_order_status_id,
            "customer_id": int(order.customer.store_customer_id or 0)
            if (order.customer.store_customer_id or "").isdigit()
            else 0,
            "billing_address": _address_body(order.billing_address, order.customer.email),
            "shipping_addresses": [_address_body(order.shipping_address, order.customer.email)],
            "products": products,
            "external_order_id": order.reference,
            "staff_notes": f"Phone order {order.reference}",
        }
        response = yield self._json("POST", self._v2("/orders"), body)
        made = self._object(response, f"phone order {order.reference}")
        placed = yield from self.get_order(str(made["id"]))
        return placed


def _made_since(shipment: Mapping[str, Any], since: datetime) -> bool:
    try:
        return parse_time(shipment.get("date_created"), "date_created") >= since
    except ValueError:
        return False


def _address_body(address: Address, email: str) -> dict[str, Any]:
    first, _, last = address.name.partition(" ")
    street = [*address.street, "", ""]
    return {
        "first_name": first,
        "last_name": last,
        "company": address.company,
        "street_1": street[0],
        "street_2": street[1],
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country_iso2": address.country,
        "phone": address.phone,
        "email": address.email or email,
    }


def _by_id(row: Mapping[str, Any]) -> int:
    try:
        return int(row.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def _from_consignments(consignments: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """``(products, shipping addresses)`` from an order's consignments object, or ``None`` when it is not
    there in that shape (a store that ignored ``include``, or line items given only as links)."""
    if not isinstance(consignments, Mapping):
        return None
    products: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    for kind in ("shipping", "pickups", "downloads"):
        groups = consignments.get(kind) or []
        if not isinstance(groups, list):
            return None
        for group in groups:
            if not isinstance(group, Mapping):
                return None
            items = group.get("line_items") or []
            if not isinstance(items, list) or not all(isinstance(i, Mapping) and "id" in i for i in items):
                return None  # line items as a link: read /products instead
            products += [dict(i) for i in items]
            if kind == "shipping":
                addresses.append({k: v for k, v in group.items() if k != "line_items"})
    return products, addresses


def _without_consignments(row: Mapping[str, Any]) -> Mapping[str, Any]:
    # The consignments are kept as lines and addresses; keeping them twice would make raw copies differ
    # between a listing and a read by id for nothing.
    return {k: v for k, v in row.items() if k != "consignments"} if "consignments" in row else row
