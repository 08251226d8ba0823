"""The WooCommerce driver (``woocommerce``): REST ``wc/v3`` as sans-I/O flows, on the public driver kit.

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

Writes look first, write once
-----------------------------
``ship``, ``set_status`` (acknowledge) and ``cancel`` read the order, its notes and (when the extension
answers) its Shipment Tracking items, then send only what is missing: the status ``PUT`` when the order is not
already in it, the tracking items whose numbers are not there yet, and the note (``customer_note: true`` sends
the customer the note email) unless a note with the same text and visibility exists since the first attempt.
The ``PUT`` is marked not idempotent (its body was decided from a read), so the engine never resends it blindly.
A phone order carries its back-office reference in the order meta (``ecc_connectors_reference``); before
creating one the flow searches the customer's recent orders for it.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from ecc_connectors import StoreDefaults

from ...driver import (
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
from ._auth import AuthMode, BasicKeys, OAuth1Query, QueryKeys, pick_auth
from ._mapping import gmt, item_from_product, key_of, order_from_payload
from ._settings import WooCommerceSettings

__all__ = ["CORE_STATUSES", "MAX_PAGE", "REFERENCE_META", "WooCommerceDriver"]

_W = TypeVar("_W", bound="WooCommerceDriver")

MAX_PAGE = 100
"""WooCommerce's largest ``per_page``."""
REFERENCE_META = "ecc_connectors_reference"
"""The order meta key holding a phone order's back-office reference."""
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
_TRACKING = "/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"


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


class WooCommerceDriver(JsonRest, Driver):
    """One WooCommerce store through its REST API ``wc/v3`` and a REST API key pair (see the module notes)."""

    name = "woocommerce"
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
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {401: AuthenticationError, 403: AuthenticationError}
    message_keys: ClassVar[tuple[str, ...]] = ("message",)
    settings_class: ClassVar[type[Any] | None] = WooCommerceSettings

    def __init__(
        self,
        url: str,
        consumer_key: str | Secret | None = None,
        consumer_secret: str | Secret | None = None,
        *,
        auth: AuthMode | httpx.Auth = "auto",
        page_size: int = MAX_PAGE,
        phone_orders_paid: bool = False,
        shipment_tracking: Literal["auto", "off"] = "auto",
        store_id: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"a WooCommerce store URL is http(s)://host[/path], got {url!r}")
        if not page_size >= 1:
            raise ConfigurationError("page_size must be at least 1")
        self.site_url = url.strip().rstrip("/")
        self.base_url = f"{self.site_url}/wp-json/wc/v3"
        self.page_size = min(page_size, MAX_PAGE)
        self.phone_orders_paid = phone_orders_paid
        self.shipment_tracking = shipment_tracking
        self.store_id = store_id or f"woocommerce:{parts.netloc}{parts.path.rstrip('/')}"
        self._limits = limits or Limits(concurrency=4)  # core has no rate limit; a host that throttles answers 429
        if isinstance(auth, httpx.Auth):
            self._auth: httpx.Auth = auth
        else:
            key = consumer_key.reveal() if isinstance(consumer_key, Secret) else consumer_key
            secret = consumer_secret.reveal() if isinstance(consumer_secret, Secret) else consumer_secret
            self._auth = pick_auth(self.site_url, key or "", secret or "", auth)

    @classmethod
    def from_config(cls: type[_W], settings: WooCommerceSettings) -> _W:
        """Build the driver from :class:`WooCommerceSettings` (``from_settings`` and ``from_env`` use it)."""
        return cls(
            settings.url,
            settings.consumer_key,
            settings.consumer_secret,
            auth=settings.auth,
            page_size=settings.page_size,
            phone_orders_paid=settings.phone_orders_paid,
            shipment_tracking=settings.shipment_tracking,
            store_id=settings.store_id or None,
        )

    def __repr__(self) -> str:
        return f"WooCommerceDriver(url={self.site_url!r}, auth={type(self._auth).__name__})"

    @property
    def auth_kind(self) -> str:
        """``basic``, ``query``, ``oauth1`` or ``custom``: how the keys go out."""
        kinds: dict[type[httpx.Auth], str] = {BasicKeys: "basic", QueryKeys: "query", OAuth1Query: "oauth1"}
        return kinds.get(type(self._auth), "custom")

    def auth(self) -> httpx.Auth:
        return self._auth

    def limits(self) -> Limits:
        return self._limits

    def store_defaults(self) -> StoreDefaults:
        return StoreDefaults(
            post_back_status="completed", cancellation_status="cancelled", acknowledgement_status="processing"
        )

    # -- plumbing --------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _get(self, path: str, params: Mapping[str, str] | None = None, *, site: bool = False) -> httpx.Request:
        url = (self.site_url + path) if site else self._url(path)
        return httpx.Request("GET", url, params=dict(params or {}), headers={"Accept": "application/json"})

    def _send(self, method: str, path: str, body: Any, *, site: bool = False) -> httpx.Request:
        url = (self.site_url + path) if site else self._url(path)
        request = httpx.Request(method, url, json=body, headers={"Accept": "application/json"})
        # Every write body here was decided from a read just before: never resent blindly (the flow looks again).
        return mark_idempotent(request, False)

    def _json(self, response: httpx.Response, order_id: str | None = None) -> Any:
        self.check(response, order_id)
        return self.decode(response, order_id)

    def check(self, response: httpx.Response, order_id: str | None = None) -> None:
        """WooCommerce's ``{code, message, data: {status}}`` as the SDK's errors: a refused key is
        :class:`AuthenticationError` (``woocommerce_rest_authentication_error``, ``..._cannot_view``, 401/403),
        everything else :class:`StoreError` with the store's code."""
        if response.is_success:
            return
        message, code = self.error_message(response)
        if response.status_code in (401, 403):
            raise AuthenticationError(f"store {self.store_id!r} refused the REST API key: {message} ({code})")
        raise StoreError(message, code=code, http_status=response.status_code, store=self.store_id, order_id=order_id)

    def _status_error(self, response: httpx.Response, order_id: str, status: str) -> None:
        """A refused status change is :class:`StatusNotAllowed` (``rest_invalid_param`` naming ``status``)."""
        if response.status_code == 400:
            body = self._body_or_none(response)
            data = body.get("data") if isinstance(body, Mapping) else None
            params = data.get("params") if isinstance(data, Mapping) else None
            code = body.get("code") if isinstance(body, Mapping) else None
            if (isinstance(params, Mapping) and "status" in params) or code == "woocommerce_rest_invalid_order_status":
                message, _ = self.error_message(response)
                if isinstance(params, Mapping) and params.get("status"):
                    message = f"{message} ({params['status']})"
                raise StatusNotAllowed(
                    f"the store will not set status {status!r}: {message}",
                    code=str(code),
                    http_status=400,
                    store=self.store_id,
                    order_id=order_id,
                )
        self.check(response, order_id)

    def _body_or_none(self, response: httpx.Response) -> Any:
        try:
            return self.decode(response)
        except BrokenAnswer:
            return None

    # -- statuses --------------------------------------------------------------------------------------------

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

    def _id(self, order_id: str) -> int:
        try:
            return int(str(order_id).strip())
        except ValueError:
            raise StoreError(
                f"a WooCommerce order id is a number, got {order_id!r}",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            ) from None

    # -- writes ----------------------------------------------------------------------------------------------

    def _order_json(self, order_id: str) -> Flow[Mapping[str, Any]]:
        response = yield self._get(f"/orders/{self._id(order_id)}")
        body = self._json(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer("the order is not a JSON object", store=self.store_id, order_id=order_id)
        return body

    def _notes(self, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        response = yield self._get(f"/orders/{self._id(order_id)}/notes", {"type": "any"})
        body = self._json(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer("the order notes are not a list", store=self.store_id, order_id=order_id)
        return [n for n in body if isinstance(n, Mapping)]

    def _note_found(
        self, notes: Iterable[Mapping[str, Any]], text: str, customer: bool, since: datetime | None
    ) -> Mapping[str, Any] | None:
        wanted = _plain_text(text)
        for note in notes:
            if _plain_text(str(note.get("note") or "")) != wanted or bool(note.get("customer_note")) != customer:
                continue
            if since is not None:
                try:
                    made = gmt(note.get("date_created_gmt"), "date_created_gmt")
                except ValueError:
                    continue
                if made < since:
                    continue
            return note
        return None

    def _add_note(self, order_id: str, text: str, customer: bool) -> Flow[str | None]:
        response = yield self._send(
            "POST", f"/orders/{self._id(order_id)}/notes", {"note": text, "customer_note": customer}
        )
        body = self._json(response, order_id)
        return str(body.get("id")) if isinstance(body, Mapping) and body.get("id") is not None else None

    def _put_status(self, order_id: str, status: str) -> Flow[None]:
        # WooCommerce keeps statuses as wc-<slug> internally and takes the bare slug over REST.
        response = yield self._send("PUT", f"/orders/{self._id(order_id)}", {"status": status.removeprefix("wc-")})
        self._status_error(response, order_id, status)

    def _trackings(self, order_id: str) -> Flow[list[Mapping[str, Any]] | None]:
        """The Shipment Tracking extension's items, or ``None`` when the store does not answer at its endpoint
        (``rest_no_route``: not installed) or the setting is off. Detected on every write, never assumed."""
        if self.shipment_tracking == "off":
            return None
        response = yield self._get(_TRACKING.format(order_id=self._id(order_id)), site=True)
        if response.status_code == 404:
            body = self._body_or_none(response)
            code = body.get("code") if isinstance(body, Mapping) else None
            if code in (None, "rest_no_route"):
                return None
        body = self._json(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer("the shipment trackings are not a list", store=self.store_id, order_id=order_id)
        return [t for t in body if isinstance(t, Mapping)]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Tracking items (when the extension answers), the status (``request.status``: ``completed`` unless the
        policy says otherwise; WooCommerce emails the customer its completion mail on that change) and a customer
        note naming the tracking numbers (``customer_note`` = ``notify``, which emails it), each only if missing."""
        order_id = request.order_id
        order = yield from self._order_json(order_id)
        notes = yield from self._notes(order_id)
        trackings = yield from self._trackings(order_id)
        wrote = False
        reference: str | None = None
        if trackings is not None:
            have = {str(t.get("tracking_number") or "").strip() for t in trackings}
            for track in request.tracking:
                if track.number in have:
                    reference = reference or next(
                        (str(t.get("tracking_id")) for t in trackings if t.get("tracking_number") == track.number), None
                    )
                    continue
                # Always a custom provider: a predefined one must match the store's provider list word for word.
                provider = track.title or (track.carrier_code if track.carrier_code != "custom" else "")
                body: dict[str, Any] = {
                    "tracking_number": track.number,
                    "custom_tracking_provider": provider or _shipping_title(order) or "Carrier",
                }
                response = yield self._send("POST", _TRACKING.format(order_id=self._id(order_id)), body, site=True)
                made = self._json(response, order_id)
                wrote = True
                if isinstance(made, Mapping) and made.get("tracking_id"):
                    reference = str(made["tracking_id"])
        if request.status and order.get("status") != request.status.removeprefix("wc-"):
            yield from self._put_status(order_id, request.status)
            wrote = True
        text = _shipment_note(request)
        if text:
            found = self._note_found(notes, text, request.notify, request.since)
            if found is None:
                made_id = yield from self._add_note(order_id, text, request.notify)
                wrote = True
                reference = reference or made_id
            else:
                reference = reference or str(found.get("id"))
        return ShipmentResult(reference or str(order.get("id") or order_id), already_shipped=not wrote)

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        """The status (``PUT``) unless the order is in it, then the comment as a note (``customer_note`` =
        ``notify``) unless the same note exists since ``change.since``."""
        result = yield from self._status_and_note(
            change.order_id, change.status, change.comment, change.notify, change.since
        )
        return result

    def cancel(self, request: CancelRequest) -> Flow[WriteResult]:
        """``cancelled`` (or the policy's status) and the comment as a note; a customer note emails the customer
        (WooCommerce's own cancelled-order mail goes to the shop's admin only)."""
        result = yield from self._status_and_note(
            request.order_id, request.status or "cancelled", request.comment, request.notify, request.since
        )
        return result

    def _status_and_note(
        self, order_id: str, status: str, comment: str, notify: bool, since: datetime | None
    ) -> Flow[WriteResult]:
        if not status or any(c.isspace() for c in status):
            raise StatusNotAllowed(
                f"{status!r} is not a WooCommerce status slug", store=self.store_id, order_id=order_id
            )
        order = yield from self._order_json(order_id)
        notes: list[Mapping[str, Any]] = []
        if comment:
            notes = yield from self._notes(order_id)
        found: list[str] = []
        wrote = False
        if order.get("status") != status.removeprefix("wc-"):
            yield from self._put_status(order_id, status)
            wrote = True
        else:
            found.append(f"status already {status}")
        reference: str | None = None
        if comment:
            note = self._note_found(notes, comment, notify, since)
            if note is None:
                reference = yield from self._add_note(order_id, comment, notify)
                wrote = True
            else:
                reference = str(note.get("id"))
                found.append(f"note {reference} already there")
        return WriteResult(already_done=not wrote, reference=reference, found="; ".join(found))

    # -- catalogue and phone orders --------------------------------------------------------------------------

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Products by exact SKUs (``sku=`` a comma list, which also matches variations) or by ``search`` text;
        a variable product found by text brings its variations (``/products/{id}/variations``)."""
        limit = max(1, min(query.limit, MAX_PAGE))
        params = {"per_page": str(limit), "status": "publish"}
        if query.skus:
            params["sku"] = ",".join(query.skus)
        else:
            params["search"] = query.text
        response = yield self._get("/products", params)
        body = self._json(response)
        if not isinstance(body, list):
            raise BrokenAnswer("the product search is not a list", store=self.store_id)
        items: list[Item] = []
        for product in body:
            if not isinstance(product, Mapping):
                continue
            if product.get("type") == "variable":
                answer = yield self._get(f"/products/{int(product['id'])}/variations", {"per_page": str(MAX_PAGE)})
                variations = self._json(answer)
                for variation in variations if isinstance(variations, list) else ():
                    if not isinstance(variation, Mapping):
                        continue
                    if query.skus and variation.get("sku") not in query.skus:
                        continue
                    item = self._item(variation, product)
                    if item is not None:
                        items.append(item)
                continue
            if int(product.get("parent_id") or 0):
                parent = {"id": product["parent_id"], "name": product.get("name")}
                item = self._item(product, parent)
            else:
                item = self._item(product, None)
            if item is not None:
                items.append(item)
        return tuple(items[:limit])

    def _item(self, product: Mapping[str, Any], parent: Mapping[str, Any] | None) -> Item | None:
        try:
            return item_from_product(self.name, product, parent)
        except ValueError:
            return None  # a product without a readable price cannot be sold on the phone; left out

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Look for an order already placed for ``order.reference`` (the customer's recent orders, by the
        reference in the order meta), else ``POST /orders`` once, with ``set_paid`` as the settings say."""
        found = yield from self._placed(order)
        if found is not None:
            return found
        unresolved = tuple(line.sku for line in order.lines if not line.item_id)
        resolved: dict[str, str] = {}
        if unresolved:
            items = yield from self.search_items(ItemQuery(skus=unresolved, limit=MAX_PAGE))
            resolved = {item.sku: item.item_id for item in items}
            missing = [sku for sku in unresolved if sku not in resolved]
            if missing:
                raise StoreError(f"no product with SKU {', '.join(missing)}", code="unknown_sku", store=self.store_id)
        body = _new_order_body(order, self.phone_orders_paid, resolved)
        response = yield self._send("POST", "/orders", body)
        made = self._json(response)
        placed = order_from_payload(self.store_id, made)
        if isinstance(placed, PayloadError):
            raise placed
        return placed

    def _placed(self, order: NewOrder) -> Flow[Order | None]:
        term = order.customer.email or order.billing_address.email or order.billing_address.name
        if not term:
            return None
        response = yield self._get(
            "/orders", {"search": term, "per_page": str(MAX_PAGE), "orderby": "date", "order": "desc"}
        )
        rows = self._json(response)
        for row in rows if isinstance(rows, list) else ():
            if not isinstance(row, Mapping):
                continue
            for meta in row.get("meta_data") or ():
                if (
                    isinstance(meta, Mapping)
                    and meta.get("key") == REFERENCE_META
                    and meta.get("value") == order.reference
                ):
                    placed = order_from_payload(self.store_id, row)
                    if isinstance(placed, PayloadError):
                        raise placed
                    return placed
        return None


def _plain_text(text: str) -> str:
    """A note's text as compared: WordPress may store it with entities (``&amp;``) and other line breaks."""
    return " ".join(html.unescape(text).split())


def _shipping_title(order: Mapping[str, Any]) -> str:
    lines = order.get("shipping_lines") or ()
    return next(
        (str(line.get("method_title")) for line in lines if isinstance(line, Mapping) and line.get("method_title")), ""
    )


def _shipment_note(request: ShipmentRequest) -> str:
    lines = [request.comment.strip()] if request.comment.strip() else []
    for track in request.tracking:
        carrier = track.title or (track.carrier_code if track.carrier_code != "custom" else "")
        lines.append(f"Tracking number: {track.number}" + (f" ({carrier})" if carrier else ""))
    return "\n".join(lines)


def _address_body(address: Any, email: str = "", with_contact: bool = True) -> dict[str, str]:
    first, _, last = address.name.partition(" ")
    street = [*list(address.street), "", ""]
    body = {
        "first_name": first,
        "last_name": last,
        "company": address.company,
        "address_1": street[0],
        "address_2": street[1],
        "city": address.city,
        "state": address.region,
        "postcode": address.postcode,
        "country": address.country,
    }
    if with_contact:
        body["email"] = email or address.email
        body["phone"] = address.phone
    return body


def _new_order_body(order: NewOrder, paid: bool, resolved: Mapping[str, str]) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for line in order.lines:
        entry: dict[str, Any] = {"quantity": int(line.quantity)}
        product, _, variation = (line.item_id or resolved[line.sku]).partition(":")
        entry["product_id"] = str(int(product))  # the wc/v3 document types it a string; WordPress reads both
        if variation:
            entry["variation_id"] = int(variation)
        if line.unit_price is not None:
            entry["subtotal"] = str(line.unit_price * line.quantity)
            entry["total"] = str(line.unit_price * line.quantity)
        lines.append(entry)
    return {
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method,
        "set_paid": paid,
        "currency": order.currency,
        "customer_note": "",
        "billing": _address_body(order.billing_address, order.customer.email),
        "shipping": _address_body(order.shipping_address, with_contact=False),
        "line_items": lines,
        "shipping_lines": [{"method_id": order.shipping_method, "method_title": order.shipping_method, "total": "0"}],
        "meta_data": [{"key": REFERENCE_META, "value": order.reference}],
    }
