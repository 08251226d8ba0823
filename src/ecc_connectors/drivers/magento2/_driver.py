"""The Magento 2 (Adobe Commerce) REST driver. Sans-I/O: every operation is a flow (see ``_driver.py``)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from ...driver import (
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
    Capability,
    ConfigurationError,
    Driver,
    Flow,
    Item,
    ItemQuery,
    KeyPage,
    Limits,
    NewOrder,
    NumberedPages,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreError,
    StoreStatus,
    WriteResult,
)
from . import _scan, _writes
from ._errors import BadEnvelope, Envelope, decode_bytes, raise_for_store_error, read_envelope
from ._mapping import DEFAULT_STATUSES, address_to_magento, map_product
from ._schema import decode_order, decode_row, read_key
from ._search import (
    KEY_FIELDS,
    MAX_PAGE_SIZE,
    Filter,
    SearchCriteria,
    clamp_page_size,
    order_criteria,
    page_count,
    seek_criteria,
)
from ._settings import Magento2Settings

__all__ = ["Magento2Driver"]

logger = logging.getLogger("ecc_connectors.drivers.magento2")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Only quantities are ever sent; Magento reads them as PHP floats anyway.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _entity_id(value: str, what: str = "order id") -> int:
    """Magento's entity ids are integers. A zero-padded number is an increment id, which would silently name
    another order if read as an integer, so it is refused."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text.startswith("0")):
        raise ValueError(
            f"Magento {what} must be the numeric entity_id, got {value!r}"
            " (an increment_id such as '000000013' is the order number, not its id)"
        )
    return int(text)


def _scalar_id(value: Any, what: str, store: str) -> str:
    """Ids Magento answers with: the schema says integer, real stores send a JSON string such as ``"3"``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise PayloadError(store, None, what, f"expected an id, got {value!r}", raw=value)
    return str(value).strip()


# What the write checks read of an order (Magento's ``fields`` filter; the rest of a 10 kB order stays home).
_HISTORY_FIELDS = "entity_id,increment_id,state,status,status_histories"
_LINE_FIELDS = (
    "items[item_id,parent_item_id,product_type,is_virtual,qty_ordered,qty_shipped,qty_invoiced,qty_canceled]"
)
_ORDER_ID_FIELDS = "items[entity_id],total_count"


def _split_shipping_method(code: str) -> tuple[str, str]:
    carrier, sep, method = code.partition("_")
    if not sep or not carrier or not method:
        raise ValueError(f"shipping method {code!r} is not '<carrier>_<method>' (e.g. 'flatrate_flatrate')")
    return carrier, method


class Magento2Driver(Driver):
    """Speaks to one Magento 2 store view through the admin REST API
    (``<base_url>/rest/<store_code>/V1/...``).

    ``page_size`` is the largest page this store accepts (Magento's input limits default to 300, which is also
    the ceiling used here); a query's own ``page_size`` is honoured up to it.
    """

    name: ClassVar[str] = "magento2"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    sorts_by_updated: ClassVar[bool] = True
    settings_class: ClassVar[type[Any] | None] = Magento2Settings

    def __init__(
        self,
        base_url: str,
        store_code: str = "default",
        auth: httpx.Auth | None = None,
        store_id: str | None = None,
        limits: Limits | None = None,
        page_size: int = 100,
    ) -> None:
        base = base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"Magento base_url must be an http(s) URL, got {base_url!r}")
        if base.endswith("/rest"):
            base = base[: -len("/rest")]
        if not store_code or "/" in store_code:
            raise ConfigurationError(
                f"Magento store_code must be a store view code or 'all', got {store_code!r}"
            )
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        self.base_url = base
        self.store_code = store_code
        self.root = f"{base}/rest/{quote(store_code, safe='')}"
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        prefix = urlsplit(base).path.rstrip("/")
        self.store_id = store_id or f"magento2:{host}{prefix}/{store_code}"
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self._auth = auth
        self._limits = limits or Limits()

    @classmethod
    def from_config(cls, settings: Magento2Settings) -> Magento2Driver:
        """Build the driver from :class:`Magento2Settings` (the auth follows from the credentials set)."""
        return cls(
            settings.base_url,
            store_code=settings.store_code,
            auth=settings.auth(),
            store_id=settings.store_id,
            page_size=settings.page_size,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Magento2Driver:
        """Build a driver from ``MAGENTO_*`` variables (``os.environ`` when ``env`` is ``None``).

        ``MAGENTO_BASE_URL`` (required), ``MAGENTO_STORE_CODE`` (default ``default``), and one of:

        * the four OAuth 1.0a keys ``MAGENTO_CONSUMER_KEY``, ``MAGENTO_CONSUMER_SECRET``,
          ``MAGENTO_ACCESS_TOKEN``, ``MAGENTO_ACCESS_TOKEN_SECRET``;
        * ``MAGENTO_ACCESS_TOKEN`` alone (integration token as Bearer);
        * ``MAGENTO_USERNAME`` and ``MAGENTO_PASSWORD`` (admin token).

        Optional: ``MAGENTO_PAGE_SIZE``, ``MAGENTO_STORE_ID``. See :class:`Magento2Settings`.

        Raises:
            ConfigurationError: every missing or bad variable at once, never quoting a secret.
        """
        return super().from_env(env)

    def __repr__(self) -> str:
        return (
            f"Magento2Driver(base_url={self.base_url!r}, store_code={self.store_code!r},"
            f" store_id={self.store_id!r}, auth={self._auth!r})"
        )

    # Plumbing --------------------------------------------------------------------------------------------
    def auth(self) -> httpx.Auth | None:
        return self._auth

    def limits(self) -> Limits:
        return self._limits

    def url(self, path: str) -> str:
        return f"{self.root}{path}"

    def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> httpx.Request:
        query = tuple(params or ())
        return httpx.Request("GET", self.url(path), params=query, headers={"Accept": "application/json"})

    def _send_json(self, method: str, path: str, body: Any = None) -> httpx.Request:
        headers = {"Accept": "application/json"}
        content = b""
        if body is not None:
            content = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return httpx.Request(method, self.url(path), content=content, headers=headers)

    def _answer(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The JSON answer to a write (a body that is not JSON is a :class:`StoreError`)."""
        raise_for_store_error(response, self.store_id, order_id)
        try:
            return decode_bytes(response.content)
        except ValueError:
            raise StoreError(
                f"store answered HTTP {response.status_code} with a body that is not JSON",
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            ) from None

    def _broken(self, response: httpx.Response, problem: str, order_id: str | None = None) -> BrokenAnswer:
        content = response.content
        return BrokenAnswer(
            f"store answered HTTP {response.status_code} to a read with {problem}",
            http_status=response.status_code,
            store=self.store_id,
            order_id=order_id,
            detail={"bytes": len(content), "start": content[:120].decode("utf-8", "replace")},
        )

    def _read(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The JSON answer to a read; a 2xx body that cannot be read is :class:`BrokenAnswer`."""
        raise_for_store_error(response, self.store_id, order_id)
        try:
            return decode_bytes(response.content)
        except ValueError as exc:
            raise self._broken(response, f"a body that is not JSON ({exc})", order_id) from None

    def _read_object(self, response: httpx.Response, order_id: str | None = None) -> Mapping[str, Any]:
        body = self._read(response, order_id)
        if not isinstance(body, Mapping):
            raise self._broken(response, f"{type(body).__name__} where an object was expected", order_id)
        return body

    def _read_envelope(self, response: httpx.Response, order_id: str | None = None) -> Envelope:
        """A search answer ``{items, total_count}``; anything else is :class:`BrokenAnswer`."""
        raise_for_store_error(response, self.store_id, order_id)
        try:
            return read_envelope(response.content)
        except BadEnvelope as exc:
            raise self._broken(response, f"no search answer: {exc}", order_id) from None

    def _read_records(self, response: httpx.Response, order_id: str | None = None) -> list[Mapping[str, Any]]:
        """The items of a search answer (shipments, invoices), decoded."""
        envelope = self._read_envelope(response, order_id)
        records = []
        for item in envelope.items:
            try:
                record = decode_bytes(item)
            except ValueError as exc:
                raise self._broken(response, f"an item that cannot be read ({exc})", order_id) from None
            if isinstance(record, Mapping):
                records.append(record)
        return records

    # Download --------------------------------------------------------------------------------------------
    def _page_size(self, query: OrderQuery) -> int:
        return clamp_page_size(query.page_size, self.page_size)

    def _fetch_orders(
        self, query: OrderQuery, size: int, number: int
    ) -> Flow[tuple[tuple[Order | PayloadError, ...], int | None]]:
        criteria = order_criteria(query, size, number)
        envelope = self._read_envelope((yield self._get("/V1/orders", criteria.params())))
        if envelope.total is None:
            logger.warning("store %s: total_count of page %d is not a possible count; not used", self.store_id, number)
        # Each order keeps its own JSON text as received (``RawJSON``): the faithful audit copy, and no
        # re-encoding when the ledger stores it.
        return tuple(decode_order(item, self.store_id) for item in envelope.items), envelope.total

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        if query.statuses == ():
            return Page(orders=(), next=None, total=0)
        size = self._page_size(query)
        orders, total = yield from self._fetch_orders(query, size, 1)
        count = len(orders)
        if count > size:
            # The store ignored pageSize: what came is all it will give; asking for page 2 would repeat it.
            logger.warning("store %s sent %d orders for a page of %d: reading no further", self.store_id, count, size)
            pages = 1
        elif count < size:
            # A short first page is the whole listing, whatever total_count claims (reported as the store said).
            if total is not None and total > count:
                logger.warning(
                    "store %s: first page holds %d orders, total_count says %d", self.store_id, count, total
                )
            pages = 1
        elif total is None:
            # A count no search can return (negative, beyond every id): nothing is planned from it. The engine's
            # key listing after numbered pages finds what lies beyond the first page.
            pages = 1
        else:
            # Past the last page Magento answers with the last page again, so the page count comes from
            # total_count and nothing beyond it is ever asked for.
            pages = page_count(total, size)
        following = (
            NumberedPages(range(2, pages + 1), functools.partial(self._later_page, query, size), page_size=size)
            if pages >= 2
            else None
        )
        return Page(orders=orders, next=following, total=total)

    def _later_page(self, query: OrderQuery, size: int, number: int) -> Flow[Page]:
        orders, total = yield from self._fetch_orders(query, size, number)
        return Page(orders=orders, next=None, total=total)

    # Keyset listing --------------------------------------------------------------------------------------
    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Orders of ``query`` with keys in ``(seek.after, seek.through]``, sorted by ``(updated_at,
        entity_id)``, one :class:`OrderKey` per row (rows that cannot be decoded included)."""
        if query.statuses == ():
            return Page(orders=(), next=None, total=0)
        criteria = seek_criteria(query, seek, clamp_page_size(size, self.page_size))
        response = yield self._get("/V1/orders", criteria.params())
        envelope = self._read_envelope(response)
        orders: list[Order | PayloadError] = []
        keys: list[OrderKey] = []
        for index, item in enumerate(envelope.items):
            order, key = decode_row(item, self.store_id)
            if key is None:
                raise self._broken(response, f"row {index} without a readable entity_id and updated_at")
            orders.append(order)
            keys.append(key)
        return Page(orders=tuple(orders), next=None, total=envelope.total, keys=tuple(keys))

    def _keys_of(self, response: httpx.Response, envelope: Envelope) -> tuple[OrderKey, ...]:
        keys = []
        for index, item in enumerate(envelope.items):
            key = read_key(item)
            if key is None:
                raise self._broken(response, f"row {index} without a readable entity_id and updated_at")
            keys.append(key)
        return tuple(keys)

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of ``query``'s keyset listing: one row, two columns, and the count."""
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        if query.statuses == ():
            return Probe(None, 0)
        criteria = seek_criteria(query, Seek(), 1, page=offset + 1)
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", KEY_FIELDS)])
        envelope = self._read_envelope(response)
        if envelope.total is None:
            return Probe(None, None)  # a count that lies: which row sits at the offset cannot be told
        if offset >= envelope.total:
            # Past the end Magento serves the last page again: that row is not at this offset.
            return Probe(None, envelope.total)
        if not envelope.items:
            raise self._broken(response, f"no row at offset {offset} of {envelope.total}")
        return Probe(self._keys_of(response, envelope)[0], envelope.total)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        """The keys of ``query`` within ``seek`` (the same filters as :meth:`seek_page`), up to 300 a page."""
        if query.statuses == ():
            return KeyPage((), 0)
        criteria = seek_criteria(query, seek, clamp_page_size(size))
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", KEY_FIELDS)])
        envelope = self._read_envelope(response)
        return KeyPage(self._keys_of(response, envelope), envelope.total)

    def get_order(self, order_id: str) -> Flow[Order]:
        entity = _entity_id(order_id)
        response = yield self._get(f"/V1/orders/{entity}")
        raise_for_store_error(response, self.store_id, order_id)
        # The same decoding as a listed order, so the order keeps the store's own JSON text as its raw payload.
        order = decode_order(response.content, self.store_id)
        if isinstance(order, PayloadError):
            try:
                is_object, _ = _scan.members(response.content)
            except _scan.ScanError as exc:
                raise self._broken(response, f"a body that is not one JSON object ({exc})", order_id) from None
            if not is_object:
                raise self._broken(response, "an array where an order was expected", order_id)
            raise order
        return order

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        # Core Magento has no REST call that lists statuses (GET /V1/orders/{id}/statuses is one order's
        # status label); the table is the statuses a fresh store has. Custom statuses are matched by code.
        return tuple(StoreStatus(code, label, state) for code, label, state in DEFAULT_STATUSES)
        yield  # pragma: no cover - makes this a flow that sends nothing

    # Post back -------------------------------------------------------------------------------------------
    # Every write that would do its work twice if sent twice (a comment, an invoice, a shipment) first reads
    # the store for that work, so running a flow again after an attempt whose answer was lost finds it and
    # sends nothing. The writes themselves are not marked idempotent: the engine never resends one blindly,
    # it runs the whole flow again, check included.

    def _order_view(self, order_id: str, fields: str) -> Flow[Mapping[str, Any]]:
        """The parts of an order a write check needs (Magento's ``fields`` filter)."""
        entity = _entity_id(order_id)
        response = yield self._get(f"/V1/orders/{entity}", [("fields", fields)])
        return self._read_object(response, order_id)

    def _comment(self, order_id: str, comment: str, *, status: str | None, notify: bool) -> Flow[None]:
        entity = _entity_id(order_id)
        # A comment the customer is emailed is also shown in their account; a silent one stays internal.
        history: dict[str, Any] = {
            "comment": comment,
            "is_customer_notified": 1 if notify else 0,
            "is_visible_on_front": 1 if notify else 0,
            "parent_id": entity,
        }
        if status:
            history["status"] = status
        response = yield self._send_json("POST", f"/V1/orders/{entity}/comments", {"statusHistory": history})
        self._answer(response, order_id)

    def _comment_once(
        self,
        order_id: str,
        comment: str,
        *,
        status: str | None,
        notify: bool,
        since: datetime | None,
        view: Mapping[str, Any] | None = None,
    ) -> Flow[WriteResult]:
        """Post a status comment unless the order's history already holds an equal one made since ``since``."""
        if view is None:
            view = yield from self._order_view(order_id, _HISTORY_FIELDS)
        found = _writes.find_comment(
            view.get("status_histories"), status=status, comment=comment, notify=notify, since=since
        )
        if found is not None:
            reference = _writes.record_id(found)
            return WriteResult(
                already_done=True,
                reference=reference,
                found=f"comment {reference} ({found.get('status') or 'no status'}, {found.get('created_at')})"
                " already in the order's history",
            )
        yield from self._comment(order_id, comment, status=status, notify=notify)
        return WriteResult()

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        """Order comment carrying the status, unless an equal comment is already in the order's history.
        Magento 2.4.7+ refuses a status outside the order's current state: that is :class:`StatusNotAllowed`."""
        return (
            yield from self._comment_once(
                change.order_id, change.comment, status=change.status, notify=change.notify, since=change.since
            )
        )

    def _records_of_order(self, path: str, entity: int, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        criteria = SearchCriteria(
            groups=((Filter("order_id", str(entity), "eq"),),), page_size=MAX_PAGE_SIZE, current_page=1
        )
        return self._read_records((yield self._get(path, criteria.params())), order_id)

    def _existing_shipments(self, entity: int, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        return (yield from self._records_of_order("/V1/shipments", entity, order_id))

    def _status_after_shipping(
        self, request: ShipmentRequest, view: Mapping[str, Any] | None, shipment_id: str
    ) -> Flow[None]:
        """The status comment that follows a shipment (``request.status``), sent once."""
        if not request.status:
            return
        if view is not None and view.get("status") == request.status:
            return
        try:
            yield from self._comment_once(
                request.order_id,
                request.comment,
                status=request.status,
                notify=False,
                since=request.since,
                view=view,
            )
        except StoreError as exc:
            exc.detail["shipment_id"] = shipment_id
            raise

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Ship, after looking for the shipment an earlier attempt may have made, so the same parcel is never
        shipped twice: with tracking numbers, a shipment that carries them all; without, when the requested
        lines (all lines when none are given) are already shipped, the shipment holding them."""
        entity = _entity_id(request.order_id)
        requested: dict[str, Decimal] = {}
        for line_id, qty in request.lines:
            line = str(_entity_id(line_id, "order line id"))
            requested[line] = requested.get(line, Decimal(0)) + Decimal(qty)
        wanted = {t.number for t in request.tracking}
        if wanted:
            for shipment in (yield from self._existing_shipments(entity, request.order_id)):
                tracks = shipment.get("tracks") or []
                numbers = {str(t.get("track_number")) for t in tracks if isinstance(t, Mapping)}
                if wanted <= numbers and _writes.record_id(shipment) is not None:
                    shipment_id = str(_writes.record_id(shipment))
                    if request.status:
                        view = yield from self._order_view(request.order_id, _HISTORY_FIELDS)
                        yield from self._status_after_shipping(request, view, shipment_id)
                    return ShipmentResult(shipment_id, already_shipped=True)
        else:
            view = yield from self._order_view(request.order_id, f"{_HISTORY_FIELDS},{_LINE_FIELDS}")
            items = view.get("items")
            shipped = (
                _writes.requested_lines_done(items, requested)
                if requested
                else _writes.lines_done(items, "qty_shipped", skip_virtual=True)
            )
            if shipped:
                shipments = yield from self._existing_shipments(entity, request.order_id)
                match = _writes.find_shipment(shipments, items, requested, request.since)
                if match is not None:
                    shipment_id = str(_writes.record_id(match))
                    yield from self._status_after_shipping(request, view, shipment_id)
                    return ShipmentResult(shipment_id, already_shipped=True)
        body: dict[str, Any] = {"notify": request.notify}
        if request.lines:
            body["items"] = [
                {"order_item_id": _entity_id(line_id, "order line id"), "qty": qty}
                for line_id, qty in request.lines
            ]
        if request.comment:
            body["appendComment"] = True
            body["comment"] = {"comment": request.comment, "is_visible_on_front": 1 if request.notify else 0}
        if request.tracking:
            body["tracks"] = [
                {"track_number": t.number, "title": t.title or t.carrier_code, "carrier_code": t.carrier_code}
                for t in request.tracking
            ]
        response = yield self._send_json("POST", f"/V1/order/{entity}/ship", body)
        answer = self._answer(response, request.order_id)
        shipment_id = _scalar_id(answer, "shipment id", self.store_id)
        # The status comment is checked against a fresh read: shipping changed the order.
        yield from self._status_after_shipping(request, None, shipment_id)
        return ShipmentResult(shipment_id)

    def cancel(self, request: CancelRequest) -> Flow[WriteResult]:
        """Cancel, then (when asked) a comment with the cancellation status and the customer notified: Magento
        sends no cancellation email of its own, the comment email is the one the customer gets. The comment is
        not posted again when the order's history already holds it."""
        entity = _entity_id(request.order_id)
        response = yield self._send_json("POST", f"/V1/orders/{entity}/cancel")
        answer = self._answer(response, request.order_id)
        view: Mapping[str, Any] | None = None
        if answer is not True:
            # false: Magento's canCancel() said no. An order canceled by an earlier attempt says no too.
            view = yield from self._order_view(request.order_id, _HISTORY_FIELDS)
            if view.get("state") != "canceled":
                raise StoreError(
                    f"order cannot be cancelled in state {view.get('state')!r} (status {view.get('status')!r})",
                    store=self.store_id,
                    order_id=request.order_id,
                    http_status=200,
                )
        already = answer is not True
        found = "the order was already canceled" if already else ""
        if not (request.status or request.comment or request.notify):
            return WriteResult(already_done=already, found=found)
        result = yield from self._comment_once(
            request.order_id,
            request.comment,
            status=request.status,
            notify=request.notify,
            since=request.since,
            view=view,
        )
        return WriteResult(
            already_done=already and result.already_done,
            reference=result.reference,
            found="; ".join(text for text in (found, result.found) if text),
        )

    def invoice(self, order_id: str, notify: bool = False) -> Flow[WriteResult]:
        """Invoice (and capture) the whole order, unless every line is already invoiced: then the invoice that
        did it is returned with ``already_done``."""
        entity = _entity_id(order_id)
        view = yield from self._order_view(order_id, f"entity_id,state,status,{_LINE_FIELDS}")
        if _writes.lines_done(view.get("items"), "qty_invoiced"):
            invoices = yield from self._records_of_order("/V1/invoices", entity, order_id)
            found = _writes.latest(invoices)
            if found is not None:
                reference = _writes.record_id(found)
                return WriteResult(
                    already_done=True,
                    reference=reference,
                    found=f"every line is invoiced; invoice {reference} ({found.get('created_at')})",
                )
        response = yield self._send_json(
            "POST", f"/V1/order/{entity}/invoice", {"capture": True, "notify": notify}
        )
        return WriteResult(reference=_scalar_id(self._answer(response, order_id), "invoice id", self.store_id))

    # Phone orders ----------------------------------------------------------------------------------------
    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        groups: list[tuple[Filter, ...]] = []
        if query.skus:
            groups.append((Filter("sku", ",".join(query.skus), "in"),))
        elif query.text:
            pattern = f"%{query.text}%"
            groups.append((Filter("sku", pattern, "like"), Filter("name", pattern, "like")))
        groups.append((Filter("status", "1", "eq"),))
        criteria = SearchCriteria(
            groups=tuple(groups), page_size=clamp_page_size(query.limit), current_page=1
        )
        body = self._answer((yield self._get("/V1/products", criteria.params())))
        items = body.get("items") if isinstance(body, Mapping) else None
        found: list[Item] = []
        for product in items if isinstance(items, list) else []:
            try:
                found.append(map_product(product, self.name))
            except PayloadError as bad:
                logger.warning("product skipped: %s", bad)
        return tuple(found)

    def _cart(self, order: NewOrder) -> Flow[tuple[str, str, int | None]]:
        """Create the cart, add the lines and set the shipping information.

        Returns ``(kind, cart id, numeric quote id)``: a customer's cart is named by its numeric quote id; a
        guest cart by a masked id, whose quote id is not known yet (``None``)."""
        if not order.lines:
            raise ValueError("a new order needs at least one line")
        carrier, method = _split_shipping_method(order.shipping_method)
        email = order.customer.email or order.billing_address.email or order.shipping_address.email
        customer_id = order.customer.store_customer_id
        quote_id: int | None
        if customer_id:
            customer = _entity_id(customer_id, "customer id")
            response = yield self._send_json("POST", f"/V1/customers/{customer}/carts")
            cart_id = _scalar_id(self._answer(response), "cart id", self.store_id)
            kind, quote_id = _CUSTOMER, _quote_id(cart_id, self.store_id)
        else:
            cart_id = _scalar_id(
                self._answer((yield self._send_json("POST", "/V1/guest-carts"))), "cart id", self.store_id
            )
            kind, quote_id = _GUEST, None
        items_path = f"{_cart_path(kind, cart_id)}/items"
        for line in order.lines:
            item = {"sku": line.sku, "qty": line.quantity, "quote_id": cart_id}
            self._answer((yield self._send_json("POST", items_path, {"cartItem": item})))
        address_information = {
            "shipping_address": address_to_magento(order.shipping_address, email),
            "billing_address": address_to_magento(order.billing_address, email),
            "shipping_carrier_code": carrier,
            "shipping_method_code": method,
        }
        self._answer(
            (yield self._send_json(
                "POST",
                f"{_cart_path(kind, cart_id)}/shipping-information",
                {"addressInformation": address_information},
            ))
        )
        return kind, cart_id, quote_id

    def reserve_order(self, order: NewOrder) -> Flow[str]:
        """The first half of a phone order: the cart, its lines and its shipping information, ready to be
        placed. Returns the reservation ``"<kind>:<cart id>:<quote id>"`` (``guest`` or ``customer``), which
        names the cart and its numeric quote id; for a guest cart that id is read from
        ``GET /V1/guest-carts/{masked id}``. An order placed from the cart carries that ``quote_id``."""
        kind, cart_id, quote_id = yield from self._cart(order)
        if quote_id is None:
            response = yield self._get(f"/V1/guest-carts/{quote(cart_id, safe='')}")
            cart = self._read_object(response)
            quote_id = _quote_id(cart.get("id"), self.store_id)
        return f"{kind}:{cart_id}:{quote_id}"

    def _placed_from(self, quote_id: int) -> Flow[str | None]:
        """The entity id of the order placed from the cart whose quote id is ``quote_id``, if there is one."""
        criteria = SearchCriteria(
            groups=((Filter("quote_id", str(quote_id), "eq"),),),
            sort=(("entity_id", "ASC"),),
            page_size=1,
            current_page=1,
        )
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", _ORDER_ID_FIELDS)])
        envelope = self._read_envelope(response)
        if not envelope.items:
            return None
        try:
            row = decode_bytes(envelope.items[0])
        except ValueError as exc:
            raise self._broken(response, f"an order row that cannot be read ({exc})") from None
        entity = row.get("entity_id") if isinstance(row, Mapping) else None
        return _scalar_id(entity, "order id", self.store_id)

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Place an order through a cart: the customer's own cart when ``customer.store_customer_id`` is set,
        else a guest cart. Returns the order as the store has it.

        With a ``reservation`` (from :meth:`reserve_order`), the order placed from that cart is looked up first
        (``GET /V1/orders`` with ``quote_id`` eq the cart's quote id) and returned when found; else the cart is
        placed. Magento places a cart once (it is inactive afterwards), so a retry can never make a second
        order. Without one, the cart is prepared first."""
        quote_id: int | None
        if reservation is None:
            kind, cart_id, quote_id = yield from self._cart(order)
        else:
            kind, cart_id, quote_id = _parse_reservation(reservation)
            placed = yield from self._placed_from(quote_id)
            if placed is not None:
                return (yield from self.get_order(placed))
        payment = {"paymentMethod": {"method": order.payment_method}}
        response = yield self._send_json("PUT", f"{_cart_path(kind, cart_id)}/order", payment)
        try:
            placed_id = _scalar_id(self._answer(response), "order id", self.store_id)
        except (AuthenticationError, PayloadError):
            raise
        except StoreError:
            # A PUT may be resent by the transport after its first answer was lost; the resend is refused
            # (the cart is inactive once placed). The order placed by the first one is then found by its cart.
            if quote_id is None:
                raise
            found = yield from self._placed_from(quote_id)
            if found is None:
                raise
            placed_id = found
        return (yield from self.get_order(placed_id))


_GUEST = "guest"
_CUSTOMER = "customer"


def _cart_path(kind: str, cart_id: str) -> str:
    return f"/V1/guest-carts/{quote(cart_id, safe='')}" if kind == _GUEST else f"/V1/carts/{cart_id}"


def _quote_id(value: Any, store: str) -> int:
    text = _scalar_id(value, "quote id", store)
    if not (text.isascii() and text.isdigit()):
        raise PayloadError(store, None, "quote id", f"expected a numeric quote id, got {value!r}", raw=value)
    return int(text)


def _parse_reservation(reservation: str) -> tuple[str, str, int]:
    kind, _, rest = reservation.partition(":")
    cart_id, _, number = rest.rpartition(":")
    usable = (
        kind in (_GUEST, _CUSTOMER)
        and cart_id.isascii()
        and (cart_id.isalnum() if kind == _GUEST else cart_id == number)
        and number.isascii()
        and number.isdigit()
    )
    if not usable:
        raise ValueError(f"not a Magento cart reservation: {reservation!r} (expected '<kind>:<cart id>:<quote id>')")
    return kind, cart_id, int(number)
