"""The Shopify driver: orders over the Admin GraphQL API, written on the public driver kit.

Theory of operation
-------------------
Every operation is a flow of GraphQL requests (``POST /admin/api/<version>/graphql.json``). Queries are marked
idempotent (a read is safe to resend after a dropped connection); mutations are not, so the engine never resends
one blindly, and each write flow reads the order first and reports work it finds done (exactly-once).

**Listing is keyset** (``SEEK_ORDERS``), the shape the engine's zero-loss walk owns. Shopify cannot filter on an
``(updatedAt, id)`` pair, and does not document how it orders ties of ``UPDATED_AT``, so one :meth:`seek_page`
asks for ``updated_at`` from the cursor's second (one second of slack), sorted by ``UPDATED_AT``, and follows
Shopify's own ``endCursor`` inside the flow until it has ``size`` rows past the cursor **and** has seen a row of a
later second: every second it returns is then complete (a whole second's rows are read before any later one,
whatever the tie order), and it sorts them by ``(updatedAt, legacyResourceId)`` itself. The engine's cursor
therefore never stands inside a second that has unread rows, and an order edited mid-download gets a stamp past
the window's end (the store's ``Date`` bounds the window) and leaves it: no row slides past a cursor.
:meth:`list_keys` is the same walk over ``legacyResourceId`` and ``updatedAt`` only.

**The 60-day window**: without ``read_all_orders`` Shopify silently lists only orders created in the last 60
days. The driver reads the token's scopes once (``currentAppInstallation.accessScopes``) and refuses a window
reaching further back with a :class:`ConfigurationError` naming the scope (or, with ``allow_recent_only``,
logs a warning and goes on).

**Errors**: HTTP 401/403 are :class:`AuthenticationError`; a top-level ``errors`` list is a :class:`StoreError`
(its ``extensions.code``), except ``THROTTLED``, which :meth:`retry_hint` turns into a wait of the time the
bucket needs (and :class:`RateLimited` once retries run out); ``userErrors`` of a mutation are a
:class:`StoreError` naming the order and the field. Pacing before each send is in :mod:`._auth`.

**Status**: see :mod:`._mapping`. Shopify has no settable order status: acknowledging adds a tag (a setting) and
the comment as a line of the order's note; shipping creates a fulfilment from the open fulfilment orders;
cancelling is ``orderCancel`` and a poll of its job. Invoices are not a Shopify concept (no ``INVOICE``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import attrs
import httpx

from ... import StoreDefaults as _StoreDefaults
from ...driver import (
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
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
    RateLimited,
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
    answer,
    mark_idempotent,
)
from .._common import ALL_BUT_INVOICES
from . import _queries as q
from ._auth import OPERATION_HEADER, CostPacer, ShopifyAuth, cost_of, throttle_wait
from ._bulk import CHUNK, BulkCursor, BulkCursors
from ._mapping import order_key, parse_order, parse_time, status_of
from ._settings import API_VERSION, REFUND_CHOICES, ShopifySettings, check_domain, check_version

__all__ = ["FINANCIAL", "FULFILLMENT", "ShopifyDriver"]

logger = logging.getLogger("ecc_connectors.drivers.shopify")
_S = TypeVar("_S", bound="ShopifyDriver")

FINANCIAL = ("AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "VOIDED")
"""``OrderDisplayFinancialStatus`` (Admin API 2025-10), plus ``CANCELLED`` on this axis for a cancelled order."""
FULFILLMENT = (
    "FULFILLED",
    "IN_PROGRESS",
    "ON_HOLD",
    "OPEN",
    "PARTIALLY_FULFILLED",
    "PENDING_FULFILLMENT",
    "REQUEST_DECLINED",
    "RESTOCKED",
    "SCHEDULED",
    "UNFULFILLED",
)
"""``OrderDisplayFulfillmentStatus`` (Admin API 2025-10), plus ``CLOSED`` on this axis for an archived order."""
_FINANCIAL_AXIS = (*FINANCIAL, "CANCELLED")
_FULFILLMENT_AXIS = (*FULFILLMENT, "CLOSED")
_SHIPPED = ("FULFILLED", "PARTIALLY_FULFILLED")
_RECENT = timedelta(days=60)
_MAX_PAGE = 250
_JOB_POLLS = 10


def _gid(kind: str, number: str) -> str:
    if number.startswith("gid://"):
        return number
    if not number.isdigit():
        raise StoreError(f"{number!r} is not a Shopify {kind} id", http_status=404)
    return f"gid://shopify/{kind}/{number}"


def _number(value: Any) -> str:
    return str(value).rsplit("/", 1)[-1]


class ShopifyDriver(JsonRest, Driver):
    """One Shopify shop over the Admin GraphQL API (module notes; ``docs/drivers/shopify.md``)."""

    name = "shopify"
    capabilities = ALL_BUT_INVOICES
    sorts_by_updated = True
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {401: AuthenticationError, 403: AuthenticationError}
    message_keys: ClassVar[tuple[str, ...]] = ("errors", "error", "message")
    settings_class: ClassVar[type[Any] | None] = ShopifySettings

    def __init__(
        self,
        shop: str,
        access_token: str | Secret,
        *,
        api_version: str = API_VERSION,
        base_url: str | None = None,
        custom_domain: bool = False,
        page_size: int = 5,
        acknowledge_tag: str = "ecc-acknowledged",
        refund_on_cancel: str = "none",
        restock_on_cancel: bool = True,
        cancel_reason: str = "OTHER",
        phone_orders_paid: bool = False,
        allow_recent_only: bool = False,
        bulk_threshold: int = 5000,
        bulk_poll_seconds: float = 2.0,
        bulk_chunk: int = CHUNK,
        bulk_timeout: float = 3600.0,
        pacer: CostPacer | None = None,
    ) -> None:
        self.shop = check_domain(shop, custom=custom_domain)
        self.api_version = check_version(api_version)
        token = access_token.reveal() if isinstance(access_token, Secret) else access_token
        if not token or any(c.isspace() for c in token):
            raise ConfigurationError("a Shopify Admin API access token is required (one word, shpat_...)")
        if not 1 <= page_size <= _MAX_PAGE:
            raise ConfigurationError(f"page_size must be between 1 and {_MAX_PAGE}")
        if refund_on_cancel not in REFUND_CHOICES:
            raise ConfigurationError(f"refund_on_cancel must be one of {REFUND_CHOICES}")
        root = (base_url or f"https://{self.shop}").rstrip("/")
        self.base_url = root
        self.url = f"{root}/admin/api/{self.api_version}/graphql.json"
        self.store_id = f"shopify:{self.shop}"
        self.page_size = page_size
        self.acknowledge_tag = acknowledge_tag.strip()
        self.refund_on_cancel = refund_on_cancel
        self.restock_on_cancel = restock_on_cancel
        self.cancel_reason = cancel_reason
        self.phone_orders_paid = phone_orders_paid
        self.allow_recent_only = allow_recent_only
        self._auth = ShopifyAuth(token, urlsplit(root).hostname or self.shop, pacer)
        self._scopes: frozenset[str] | None = None
        self._scopes_lock = threading.Lock()
        self.bulk_threshold = max(0, bulk_threshold)
        self.bulk_poll_seconds = bulk_poll_seconds
        self.bulk_runs = 0
        self.bulk_chunk = max(1024, bulk_chunk)
        self.bulk_timeout = bulk_timeout
        self._bulk = BulkCursors()
        self._partial: set[str] = set()

    @classmethod
    def from_config(cls: type[_S], settings: ShopifySettings) -> _S:
        """Build the driver from :class:`ShopifySettings` (``from_env`` reads ``SHOPIFY_SHOP``,
        ``SHOPIFY_ACCESS_TOKEN`` and the optional ``SHOPIFY_*`` settings)."""
        return cls(
            settings.shop,
            settings.access_token,
            api_version=settings.api_version,
            base_url=settings.base_url,
            custom_domain=settings.custom_domain,
            acknowledge_tag=settings.acknowledge_tag,
            refund_on_cancel=settings.refund_on_cancel,
            restock_on_cancel=settings.restock_on_cancel,
            allow_recent_only=settings.allow_recent_only,
            bulk_threshold=settings.bulk_threshold,
        )

    def __repr__(self) -> str:
        return f"ShopifyDriver(shop={self.shop!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        """Forget open bulk-result cursors and the cached scopes (no I/O)."""
        self._bulk = BulkCursors()
        with self._scopes_lock:
            self._scopes = None

    # -- engine hooks ----------------------------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        return self._auth

    @property
    def pacer(self) -> CostPacer:
        """The cost bucket estimate (points used, time waited), shared by every flow of this driver."""
        return self._auth.pacer

    def limits(self) -> Limits:
        # The cost bucket, not a request rate, is Shopify's limit; the pacer in auth() keeps within it.
        return Limits(concurrency=4, rate=None, max_attempts=6)

    def store_defaults(self) -> _StoreDefaults:
        return _StoreDefaults(post_back_status="FULFILLED", cancellation_status="CANCELLED")

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """HTTP's rules, plus Shopify's ``THROTTLED`` in a 200: wait what the bucket needs (nothing was run)."""
        if (
            response.status_code == 200
            and response.request.headers.get(OPERATION_HEADER) == "BulkStatus"
            and (b'"RUNNING"' in response.content or b'"CREATED"' in response.content)
        ):
            # The bulk operation is still running: ask again after a pause (a poll changes nothing).
            return RetryHint("bulk operation running", self.bulk_poll_seconds, quiet=True)
        if response.status_code == 200 and b"THROTTLED" in response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                return None
            if _throttled(body):
                return RetryHint("throttled (query cost)", throttle_wait(cost_of(body)))
            return None
        return super().retry_hint(response)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _request(self, operation: str, document: str, variables: Mapping[str, Any]) -> httpx.Request:
        body = json.dumps({"query": document, "variables": dict(variables)}, default=str).encode()
        request = httpx.Request(
            "POST",
            self.url,
            content=body,
            headers={"Content-Type": "application/json", "Accept": "application/json", OPERATION_HEADER: operation},
        )
        if not document.lstrip().startswith("mutation"):
            mark_idempotent(request)  # a query changes nothing: safe to resend after a dropped connection
        return request

    def _call(
        self, operation: str, document: str, variables: Mapping[str, Any], *, order_id: str | None = None
    ) -> Flow[Mapping[str, Any]]:
        """Send one document; return its ``data`` or raise the typed error (module notes)."""
        response = yield self._request(operation, document, variables)
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer(f"{operation}: the answer is not a JSON object", store=self.store_id, order_id=order_id)
        errors = body.get("errors")
        data = body.get("data")
        if errors and isinstance(data, Mapping) and _field_errors_only(errors):
            # Errors on fields inside the answer (protected customer data the app is not approved for): the
            # rest is good. The fields come back null; say so once per operation.
            if operation not in self._partial:
                self._partial.add(operation)
                logger.warning("%s: Shopify left fields out: %s", operation, errors[0].get("message"))
            errors = None
        if errors:
            if _throttled(body):
                raise RateLimited(f"{operation}: Shopify kept answering THROTTLED", throttle_wait(cost_of(body)))
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = str(first.get("message") if isinstance(first, Mapping) else first)
            extensions = first.get("extensions") if isinstance(first, Mapping) else None
            code = str(extensions.get("code")) if isinstance(extensions, Mapping) and extensions.get("code") else None
            raise StoreError(
                f"{operation}: {message}",
                code=code,
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            )
        if not isinstance(data, Mapping):
            raise BrokenAnswer(f"{operation}: the answer has no data", store=self.store_id, order_id=order_id)
        return data

    def _user_errors(self, operation: str, payload: Any, order_id: str | None, key: str = "userErrors") -> None:
        if not isinstance(payload, Mapping):
            raise BrokenAnswer(f"{operation}: no payload in the answer", store=self.store_id, order_id=order_id)
        errors = payload.get(key) or []
        if errors:
            first = errors[0]
            fields = ".".join(str(f) for f in first.get("field") or ()) or "order"
            raise StoreError(
                f"{operation} refused for order {order_id} ({fields}): {first.get('message')}",
                code=str(first.get("code") or "USER_ERROR"),
                http_status=200,
                store=self.store_id,
                order_id=order_id,
            )

    # -- scopes and the 60-day window ------------------------------------------------------------------------

    def _check_window(self, query: OrderQuery) -> Flow[None]:
        with self._scopes_lock:
            scopes = self._scopes
        if scopes is None:
            data = yield from self._call("Scopes", q.SCOPES, {})
            found = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
            scopes = frozenset(str(s.get("handle")) for s in found if isinstance(s, Mapping))
            with self._scopes_lock:
                self._scopes = scopes
        if "read_all_orders" in scopes:
            return
        starts = [t for t in (query.updated_from, query.created_from) if t is not None]
        horizon = datetime.now(timezone.utc) - _RECENT
        if not starts or min(starts) < horizon:
            message = (
                f"store {self.store_id!r}: the token lacks the read_all_orders scope, so Shopify lists only orders "
                "created in the last 60 days, and this download starts earlier"
            )
            if not self.allow_recent_only:
                raise ConfigurationError(message + " (grant read_all_orders, or set allow_recent_only)")
            logger.warning("%s; going on with the last 60 days (allow_recent_only)", message)

    # -- reads -----------------------------------------------------------------------------------------------

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """Every ``FINANCIAL|FULFILLMENT`` pair, with ``CANCELLED`` and ``CLOSED`` on their axes (no I/O:
        Shopify's statuses are a fixed enumeration)."""
        return answer(
            tuple(
                StoreStatus(f"{f}|{g}", f"{_label(f)} / {_label(g)}", state=_state(f, g))
                for f in _FINANCIAL_AXIS
                for g in _FULFILLMENT_AXIS
            )
        )

    def _walk(
        self, document: str, operation: str, query: OrderQuery, seek: Seek, size: int, per_page: int
    ) -> Flow[tuple[list[tuple[OrderKey, Mapping[str, Any]]], bool]]:
        """Rows past ``seek.after`` up to the bound, whole seconds only, sorted; and whether the window ended."""
        low = seek.after.updated_at if seek.after is not None else query.updated_from
        high = seek.through.updated_at if seek.through is not None else query.updated_to
        text = q.search_text(low, high, query.created_from, query.created_to)
        rows: list[tuple[OrderKey, Mapping[str, Any]]] = []
        cursor: str | None = None
        while True:
            data = yield from self._call(operation, document, {"first": per_page, "after": cursor, "query": text})
            nodes, info = _connection(data.get("orders"), operation, self.store_id)
            last: OrderKey | None = None
            for node in nodes:
                key = _row_key(node, operation, self.store_id)
                last = key
                if _inside(key, seek, query) and _created_inside(node, query):
                    rows.append((key, node))
            if not info.get("hasNextPage") or not nodes:
                rows.sort(key=lambda row: row[0])
                return rows, True
            cursor = str(info.get("endCursor") or "")
            if not cursor:
                raise BrokenAnswer(f"{operation}: hasNextPage without an endCursor", store=self.store_id)
            if last is not None and len(rows) >= size:
                rows.sort(key=lambda row: row[0])
                if last.updated_at > rows[size - 1][0].updated_at:
                    # Every second before the last row's is complete; the last row's may not be.
                    return [row for row in rows if row[0].updated_at < last.updated_at], False

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """The next ``size`` orders after ``seek.after``: from a bulk operation's file when the window is
        large (see :mod:`._bulk`), else by the paged walk (module notes)."""
        yield from self._check_window(query)
        if self.bulk_threshold:
            cursor = self._bulk.take(query, seek)
            if cursor is None and seek.after is None and seek.through is None:
                cursor = yield from self._start_bulk(query)
            if cursor is not None:
                page = yield from self._bulk_page(query, seek, size, cursor)
                if page is not None:
                    return page
        per_page = max(1, min(self.page_size, query.page_size, size, q.ORDERS_PER_PAGE))
        rows, ended = yield from self._walk(q.ORDERS, "Orders", query, seek, size, per_page)
        orders: list[Order | PayloadError] = []
        for _key, node in rows:
            lines = yield from self._rest_of_lines(node)
            orders.append(parse_order(node, self.store_id, lines))
        return Page(tuple(orders), keys=tuple(k for k, _ in rows), total=len(rows) if ended else None)

    # -- bulk ------------------------------------------------------------------------------------------------

    def _start_bulk(self, query: OrderQuery) -> Flow[BulkCursor | None]:
        """A bulk operation over the window when it holds more than ``bulk_threshold`` orders; ``None``
        otherwise, or when it cannot run (the paged walk then reads the window)."""
        text = q.search_text(query.updated_from, query.updated_to, query.created_from, query.created_to)
        data = yield from self._call("OrdersCount", q.COUNT, {"query": text, "limit": self.bulk_threshold + 1})
        count = int(((data.get("ordersCount") or {}).get("count")) or 0)
        if count <= self.bulk_threshold:
            return None
        data = yield from self._call("Bulk", q.BULK_RUN, {"query": q.bulk_orders_query(text)})
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        operation = payload.get("bulkOperation") or {}
        if errors or not operation.get("id"):
            logger.warning("bulk operation not started (%s): reading the window by pages", errors[:1])
            return None
        self.bulk_runs += 1
        # Reading the clock is no I/O: the poll itself waits in the engine (retry_hint), the flow only stops.
        deadline = time.monotonic() + self.bulk_timeout
        while time.monotonic() < deadline:
            found = yield from self._call("BulkStatus", q.BULK_STATUS, {"id": operation["id"]})
            node = found.get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                if not node.get("url"):  # an empty result has no file
                    return BulkCursor("", finished=True)
                url = str(node["url"])
                ordered = yield from self._bulk_sorted(url)
                if not ordered:
                    logger.warning("the bulk result is not sorted by updatedAt: reading the window by pages")
                    return None
                return BulkCursor(url)
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                logger.warning(
                    "bulk operation %s ended %s (%s): reading the window by pages",
                    node.get("id"),
                    status,
                    node.get("errorCode"),
                )
                return None
        logger.warning(
            "bulk operation %s still running after %s s: reading the window by pages",
            operation["id"],
            self.bulk_timeout,
        )
        return None

    def _bulk_sorted(self, url: str) -> Flow[bool]:
        """Whether the result file's orders come in ``updatedAt`` order (ties in any order), read once in
        chunks before any page is served: a page served from an unsorted file could let the engine's cursor
        pass an order further down the file, so such a file is not used at all."""
        scan = BulkCursor(url)
        newest: datetime | None = None
        while not scan.finished:
            response = yield from self._bulk_chunk(scan)
            if response is None:
                return False
            for node in response:
                try:
                    stamp = parse_time(node["updatedAt"])
                except (KeyError, TypeError, ValueError):
                    return False
                if newest is not None and stamp < newest:
                    return False
                newest = stamp
        return True

    def _bulk_chunk(self, cursor: BulkCursor) -> Flow[list[dict[str, Any]] | None]:
        """The orders completed by the next chunk of the file (``None``: it cannot be read)."""
        request = httpx.Request(
            "GET", cursor.url, headers={"Range": f"bytes={cursor.offset}-{cursor.offset + self.bulk_chunk - 1}"}
        )
        response = yield request
        if response.status_code == 416:
            return cursor.close()
        if response.status_code not in (200, 206):
            logger.warning("the bulk result answered HTTP %s: reading the window by pages", response.status_code)
            return None
        data = response.content
        found = cursor.feed(data)
        total = _range_total(response)
        if response.status_code == 200 or not data or (total is not None and cursor.offset >= total):
            found += cursor.close()
        return found

    def _bulk_page(self, query: OrderQuery, seek: Seek, size: int, cursor: BulkCursor) -> Flow[Page | None]:
        """The next complete seconds of the bulk file, at least ``size`` orders unless it ends (``None``: the
        file cannot serve this page; the caller reads by pages instead)."""
        rows = list(cursor.held)
        cursor.held = []
        newest = rows[-1][0].updated_at if rows else None
        while True:
            if len(rows) >= size and newest is not None and newest > rows[size - 1][0].updated_at:
                break
            if cursor.finished:
                break
            if not cursor.url:
                cursor.finished = True
                break
            found = yield from self._bulk_chunk(cursor)
            if found is None:
                return None
            for node in found:
                key = _row_key(node, "bulk result", self.store_id)
                if cursor.last is not None and key.updated_at <= cursor.last.updated_at:
                    logger.warning("the bulk result is not sorted by updatedAt: reading the window by pages")
                    return None
                newest = key.updated_at if newest is None or key.updated_at > newest else newest
                if _inside(key, seek, query) and _created_inside(node, query):
                    rows.append((key, node))
            rows.sort(key=lambda row: row[0])
        if cursor.finished:
            chosen, cursor.held = rows, []
        else:
            assert newest is not None
            chosen = [row for row in rows if row[0].updated_at < newest]
            cursor.held = [row for row in rows if row[0].updated_at >= newest]
        if chosen:
            cursor.last = chosen[-1][0]
        self._bulk.keep(query, cursor)
        orders = tuple(parse_order(node, self.store_id) for _key, node in chosen)
        done = cursor.finished and not cursor.held
        return Page(orders, keys=tuple(k for k, _ in chosen), total=len(chosen) if done else None)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The window's first keyset page, its ``next`` following the key of its last row (``LIST_ORDERS`` for
        callers without the keyset walk; the engine itself uses :meth:`seek_page`)."""
        page = yield from self.seek_page(query, Seek(), max(1, query.page_size))
        return self._then(query, page)

    def _then(self, query: OrderQuery, page: Page) -> Page:
        if page.total is not None or not page.keys:
            return page
        after = page.keys[-1]
        return attrs.evolve(page, next=FollowCursor(lambda: self._page_after(query, after)))

    def _page_after(self, query: OrderQuery, after: OrderKey) -> Flow[Page]:
        page = yield from self.seek_page(query, Seek(after=after), max(1, query.page_size))
        return self._then(query, page)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        yield from self._check_window(query)
        rows, ended = yield from self._walk(q.KEYS, "OrderKeys", query, seek, size, _MAX_PAGE)
        keys = tuple(k for k, _ in rows)
        return KeyPage(keys, total=len(keys) if ended else None)

    def _rest_of_lines(self, node: Mapping[str, Any]) -> Flow[list[Mapping[str, Any]] | None]:
        """All line items of an order whose first page of them was not all (``None``: the node has them)."""
        found = node.get("lineItems") if isinstance(node, Mapping) else None
        if not isinstance(found, Mapping) or not (found.get("pageInfo") or {}).get("hasNextPage"):
            return None
        lines = list(found.get("nodes") or ())
        cursor = (found.get("pageInfo") or {}).get("endCursor")
        order_id = str(node.get("legacyResourceId"))
        while cursor:
            data = yield from self._call(
                "OrderLines", q.ORDER_LINES, {"id": node["id"], "after": cursor}, order_id=order_id
            )
            more, info = _connection((data.get("order") or {}).get("lineItems"), "OrderLines", self.store_id)
            lines += more
            cursor = info.get("endCursor") if info.get("hasNextPage") else None
        return lines

    def get_order(self, order_id: str) -> Flow[Order]:
        data = yield from self._call("Order", q.ORDER, {"id": _gid("Order", order_id)}, order_id=order_id)
        node = data.get("order")
        if node is None:
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        lines = yield from self._rest_of_lines(node)
        parsed = parse_order(node, self.store_id, lines)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed

    # -- writes ----------------------------------------------------------------------------------------------

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """A fulfilment from the order's open fulfilment orders (every unshipped line, or ``request.lines``),
        with the tracking numbers; first, a fulfilment already carrying them (or, without tracking, made since
        ``request.since``) is this shipment, done by an attempt whose answer was lost."""
        if request.status is not None and _axis(request.status, 1) not in _SHIPPED:
            raise StatusNotAllowed(
                f"order {request.order_id}: Shopify sets the fulfilment status itself; a shipment can only leave it"
                f" FULFILLED or PARTIALLY_FULFILLED, not {request.status!r}"
            )
        order_id = request.order_id
        data = yield from self._call(
            "FulfillmentState", q.FULFILLMENT_STATE, {"id": _gid("Order", order_id)}, order_id=order_id
        )
        node = data.get("order")
        if not isinstance(node, Mapping):
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        if node.get("cancelledAt"):
            raise StoreError(f"order {order_id} is cancelled: nothing to ship", store=self.store_id, order_id=order_id)
        numbers = [t.number for t in request.tracking if t.number]
        existing = list(node.get("fulfillments") or ())
        for fulfillment in existing:
            have = {str(t.get("number")) for t in fulfillment.get("trackingInfo") or ()}
            if numbers and set(numbers) <= have:
                return ShipmentResult(str(fulfillment["legacyResourceId"]), already_shipped=True)
            if not numbers and request.since is not None and parse_time(fulfillment["createdAt"]) >= request.since:
                return ShipmentResult(str(fulfillment["legacyResourceId"]), already_shipped=True)
        known = {
            _number(li["lineItem"]["id"])
            for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or ()
            for li in (fo.get("lineItems") or {}).get("nodes") or ()
        }
        unknown = [line_id for line_id, _ in request.lines if line_id not in known]
        if unknown:
            raise StoreError(
                f"order {order_id}: no line item {unknown[0]} to ship (lines: {sorted(known)})",
                store=self.store_id,
                order_id=order_id,
            )
        groups = _plan(node, request.lines)
        if not groups:
            if existing:
                return ShipmentResult(str(existing[-1]["legacyResourceId"]), already_shipped=True)
            raise StoreError(f"order {order_id}: nothing left to fulfil", store=self.store_id, order_id=order_id)
        given: dict[str, Any] = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": request.notify}
        if numbers:
            carrier = next(
                (t.title or t.carrier_code for t in request.tracking if t.title or t.carrier_code != "custom"), None
            )
            tracking: dict[str, Any] = {"numbers": numbers}
            if carrier:
                tracking["company"] = carrier
            given["trackingInfo"] = tracking
        variables = {"fulfillment": given, "message": request.comment or None}
        data = yield from self._call("Ship", q.FULFILLMENT_CREATE, variables, order_id=order_id)
        payload = data.get("fulfillmentCreate")
        self._user_errors("fulfillmentCreate", payload, order_id)
        made = (payload or {}).get("fulfillment") or {}
        return ShipmentResult(str(made.get("legacyResourceId") or ""))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Shopify has no settable status: a change to the status the order already shows (or to one of its
        axes) is an acknowledgement, written as the tag and a note line once; any other is refused."""
        _known(change.status, change.order_id)
        order_id = change.order_id
        data = yield from self._call("NoteState", q.NOTE_STATE, {"id": _gid("Order", order_id)}, order_id=order_id)
        node = data.get("order")
        if not isinstance(node, Mapping):
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        current = status_of(node)
        if not _shows(current, change.status):
            raise StatusNotAllowed(
                f"order {order_id} is {current}: Shopify cannot set an order's status to {change.status!r} (its"
                " statuses follow payments, fulfilments and cancellation)"
            )
        tags = [str(t) for t in node.get("tags") or ()]
        note = str(node.get("note") or "")
        need_tag = bool(self.acknowledge_tag) and self.acknowledge_tag not in tags
        need_note = bool(change.comment) and change.comment not in note.split("\n")
        if not need_tag and not need_note:
            return WriteResult(already_done=True, found=f"tag {self.acknowledge_tag!r} and the note line are there")
        gid = _gid("Order", order_id)
        if need_note:
            text = f"{note}\n{change.comment}" if note else change.comment
            variables: dict[str, Any] = {
                "id": gid,
                "tags": [self.acknowledge_tag] if need_tag else [],
                "input": {"id": gid, "note": text},
            }
            data = yield from self._call("Acknowledge", q.NOTE_AND_TAGS, variables, order_id=order_id)
            self._user_errors("tagsAdd", data.get("tagsAdd"), order_id)
            self._user_errors("orderUpdate", data.get("orderUpdate"), order_id)
        else:
            data = yield from self._call(
                "Tag", q.TAGS_ONLY, {"id": gid, "tags": [self.acknowledge_tag]}, order_id=order_id
            )
            self._user_errors("tagsAdd", data.get("tagsAdd"), order_id)
        return WriteResult(reference=order_id)

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """``orderCancel`` (reason, restock, refund as set, ``notifyCustomer``, the comment as the staff note),
        then its job polled; an order already cancelled is done (its comment added to the note if missing)."""
        if request.status is not None and _axis(request.status, 0) != "CANCELLED":
            raise StatusNotAllowed(
                f"order {request.order_id}: a cancelled Shopify order shows CANCELLED, not {request.status!r}"
            )
        order_id = request.order_id
        gid = _gid("Order", order_id)
        data = yield from self._call("CancelState", q.CANCEL_STATE, {"id": gid}, order_id=order_id)
        node = data.get("order")
        if not isinstance(node, Mapping):
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        if node.get("cancelledAt"):
            note = str(node.get("note") or "")
            staff = str((node.get("cancellation") or {}).get("staffNote") or "")
            if request.comment and request.comment != staff and request.comment not in note.split("\n"):
                text = f"{note}\n{request.comment}" if note else request.comment
                data = yield from self._call(
                    "Acknowledge",
                    q.NOTE_AND_TAGS,
                    {"id": gid, "tags": [], "input": {"id": gid, "note": text}},
                    order_id=order_id,
                )
                self._user_errors("orderUpdate", data.get("orderUpdate"), order_id)
            return WriteResult(already_done=True, found=f"cancelled at {node['cancelledAt']}")
        variables: dict[str, Any] = {
            "orderId": gid,
            "reason": self.cancel_reason,
            "restock": self.restock_on_cancel,
            "notifyCustomer": request.notify,
            "staffNote": request.comment[:255] or None,
        }
        if self.refund_on_cancel == "original":
            variables["refundMethod"] = {"originalPaymentMethodsRefund": True}
        data = yield from self._call("Cancel", q.CANCEL, variables, order_id=order_id)
        payload = data.get("orderCancel")
        self._user_errors("orderCancel", payload, order_id, key="orderCancelUserErrors")
        job = (payload or {}).get("job") or {}
        job_id = job.get("id")
        done = bool(job.get("done"))
        polls = 0
        while job_id and not done and polls < _JOB_POLLS:
            polls += 1
            found = yield from self._call("Job", q.JOB, {"id": job_id}, order_id=order_id)
            done = bool((found.get("job") or {}).get("done"))
        return WriteResult(reference=str(job_id or order_id), found="" if done else "the cancel job was still running")

    # -- phone orders ----------------------------------------------------------------------------------------

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        if query.skus:
            text = " OR ".join(f"sku:{_quote(s)}" for s in query.skus)
        else:
            text = _quote(query.text) if query.text else ""
        data = yield from self._call(
            "Variants", q.VARIANTS, {"first": max(1, min(query.limit, _MAX_PAGE)), "query": text or None}
        )
        nodes, _ = _connection(data.get("productVariants"), "Variants", self.store_id)
        items = []
        for node in nodes:
            try:
                items.append(
                    Item(
                        source=self.store_id,
                        item_id=str(node["legacyResourceId"]),
                        sku=str(node.get("sku") or ""),
                        name=str(node.get("displayName") or node.get("title") or ""),
                        price=Decimal(str(node["price"])),
                        available=Decimal(int(node["inventoryQuantity"]))
                        if node.get("inventoryQuantity") is not None
                        else None,
                        item_type="variant",
                    )
                )
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                logger.warning("variant %s left out: %s", node.get("id"), exc)
        return tuple(items)

    def _reference_tag(self, order: NewOrder) -> str:
        return f"ecc-ref-{order.reference}"

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """A draft order tagged with the back office's reference (found again by that tag, never made twice)."""
        tag = self._reference_tag(order)
        data = yield from self._call("DraftFind", q.DRAFT_FIND, {"query": f"tag:{_quote(tag)}"})
        nodes, _ = _connection(data.get("draftOrders"), "DraftFind", self.store_id)
        if nodes:
            return str(nodes[0]["id"])
        lines = []
        for line in order.lines:
            item: dict[str, Any] = {"quantity": int(line.quantity)}
            if line.item_id:
                item["variantId"] = _gid("ProductVariant", line.item_id)
            else:
                item.update(title=line.name or line.sku, sku=line.sku, originalUnitPrice=str(line.unit_price or 0))
            lines.append(item)
        address = _address_input(order.shipping_address)
        draft_input: dict[str, Any] = {
            "lineItems": lines,
            "tags": [tag],
            "email": order.customer.email or None,
            "shippingAddress": address,
            "billingAddress": _address_input(order.billing_address),
            "note": f"Phone order {order.reference}",
        }
        data = yield from self._call("DraftCreate", q.DRAFT_CREATE, {"input": draft_input})
        payload = data.get("draftOrderCreate")
        self._user_errors("draftOrderCreate", payload, order.reference)
        return str(((payload or {}).get("draftOrder") or {}).get("id") or "")

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Complete the reserved draft (paid or pending per ``phone_orders_paid``), or return the order an
        earlier completion made."""
        if not reservation:
            reservation = yield from self.reserve_order(order)
        data = yield from self._call("DraftFind", q.DRAFT_FIND, {"query": f"tag:{_quote(self._reference_tag(order))}"})
        nodes, _ = _connection(data.get("draftOrders"), "DraftFind", self.store_id)
        done = next((n for n in nodes if n.get("status") == "COMPLETED" and n.get("order")), None)
        if done is None:
            data = yield from self._call(
                "DraftComplete", q.DRAFT_COMPLETE, {"id": reservation, "paymentPending": not self.phone_orders_paid}
            )
            payload = data.get("draftOrderComplete")
            self._user_errors("draftOrderComplete", payload, order.reference)
            done = (payload or {}).get("draftOrder") or {}
        parsed = parse_order(done.get("order"), self.store_id)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed


# -- helpers ---------------------------------------------------------------------------------------------------


def _field_errors_only(errors: Any) -> bool:
    """Every error is about a field below a root field (a ``path`` deeper than the root), none a throttle."""
    if not isinstance(errors, list) or not errors:
        return False
    for error in errors:
        if not isinstance(error, Mapping):
            return False
        path = error.get("path")
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        if not isinstance(path, list) or len(path) < 2 or code == "THROTTLED":
            return False
    return True


def _throttled(body: Any) -> bool:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, Mapping)
        and isinstance(e.get("extensions"), Mapping)
        and e["extensions"].get("code") == "THROTTLED"
        for e in errors
    )


def _range_total(response: httpx.Response) -> int | None:
    found = response.headers.get("content-range", "")
    total = found.rsplit("/", 1)[-1] if "/" in found else ""
    return int(total) if total.isdigit() else None


def _connection(found: Any, operation: str, store: str) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]]:
    if not isinstance(found, Mapping) or not isinstance(found.get("nodes"), list):
        raise BrokenAnswer(f"{operation}: the answer has no nodes", store=store)
    info = found.get("pageInfo")
    return list(found["nodes"]), info if isinstance(info, Mapping) else {}


def _row_key(node: Mapping[str, Any], operation: str, store: str) -> OrderKey:
    """A listed row's key; a row without one is a broken answer (the walk cannot place it), not a bad order."""
    try:
        return order_key(node)
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokenAnswer(f"{operation}: a row without legacyResourceId/updatedAt ({exc})", store=store) from None


def _inside(key: OrderKey, seek: Seek, query: OrderQuery) -> bool:
    if seek.after is not None and key <= seek.after:
        return False
    if seek.after is None and query.updated_from is not None and key.updated_at < query.updated_from:
        return False
    if seek.through is not None:
        return key <= seek.through
    return query.updated_to is None or key.updated_at <= query.updated_to


def _created_inside(node: Mapping[str, Any], query: OrderQuery) -> bool:
    """The exact created bounds (the search asked with a second of slack)."""
    if query.created_from is None and query.created_to is None:
        return True
    try:
        created = parse_time(node["createdAt"])
    except (KeyError, TypeError, ValueError):
        return True  # the mapping reports the order as unreadable, with its payload
    if query.created_from is not None and created < query.created_from:
        return False
    return query.created_to is None or created <= query.created_to


def _plan(node: Mapping[str, Any], wanted: Sequence[tuple[str, Decimal]]) -> list[dict[str, Any]]:
    """``lineItemsByFulfillmentOrder`` for the open fulfilment orders: every remaining line, or the quantities
    asked for by line id (spread over the fulfilment orders holding that line)."""
    left = {line_id: int(quantity) for line_id, quantity in wanted}
    groups: list[dict[str, Any]] = []
    for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or ():
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        items = []
        for li in (fo.get("lineItems") or {}).get("nodes") or ():
            remaining = int(li.get("remainingQuantity") or 0)
            line_id = _number(li["lineItem"]["id"])
            if remaining <= 0:
                continue
            if not wanted:
                items.append({"id": li["id"], "quantity": remaining})
            elif left.get(line_id, 0) > 0:
                take = min(remaining, left[line_id])
                left[line_id] -= take
                items.append({"id": li["id"], "quantity": take})
        if items:
            groups.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
    return groups


def _axis(status: str, index: int) -> str:
    parts = status.split("|")
    if len(parts) == 2:
        return parts[index]
    return status


def _known(status: str, order_id: str) -> None:
    parts = status.split("|")
    valid = (len(parts) == 2 and parts[0] in _FINANCIAL_AXIS and parts[1] in _FULFILLMENT_AXIS) or (
        len(parts) == 1 and (status in _FINANCIAL_AXIS or status in _FULFILLMENT_AXIS)
    )
    if not valid:
        raise StatusNotAllowed(f"order {order_id}: {status!r} is not a Shopify status (FINANCIAL|FULFILLMENT)")


def _shows(current: str, wanted: str) -> bool:
    if "|" in wanted:
        return current == wanted
    return wanted in current.split("|")


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _state(financial: str, fulfilment: str) -> str:
    if financial == "CANCELLED":
        return "cancelled"
    if fulfilment == "CLOSED":
        return "closed"
    return "open"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _address_input(address: Any) -> dict[str, Any] | None:
    if address is None:
        return None
    first, _, last = str(address.name).partition(" ")
    street = tuple(address.street)
    return {
        "firstName": first or None,
        "lastName": last or None,
        "company": address.company or None,
        "address1": street[0] if street else None,
        "address2": street[1] if len(street) > 1 else None,
        "city": address.city or None,
        "provinceCode": address.region or None,
        "zip": address.postcode or None,
        "countryCode": address.country or None,
        "phone": address.phone or None,
    }
