"""A small store and its driver, for the engine tests.

:class:`FakeStore` keeps orders as plain JSON dicts and answers a trivial REST dialect through
``httpx.MockTransport`` (sync or async). It counts what it receives and can be told to misbehave: answer with
a status (429 with ``Retry-After``, 500, 503), raise a transport error, or act on a write and then drop the
connection. :class:`FakeDriver` speaks that dialect as a sans-I/O driver, with numbered pages or a cursor.

Dialect::

    GET  /orders?updated_from&updated_to&created_from&statuses&page_size&page    {"orders", "total", "pages"}
    GET  /orders?...&cursor=<offset>                                             {"orders", "next"}
    GET  /orders?...&after_t&after_id&through_t&through_id&page_size            {"orders", "total"}  keyset
    GET  /orders?...&before_t&before_id   keys below (in place of through)
    GET  /orders?...&keyset=1&number=<n>&page_size   page n of the keyset listing (past the end: the last page)
    GET  /orders?...&probe=<offset>                                              {"key": [t, id] | null, "total"}
    GET  /orders?...&keys_only=1&(keyset bounds)                                 {"keys": [[t, id]], "total"}
    GET  /orders/{id}                    GET /orders/{id}/shipments             GET /items?q=
    POST /orders/{id}/shipments          POST /orders/{id}/status               POST /orders/{id}/cancel
    POST /orders/{id}/invoice            POST /orders  (create)

Every request must carry ``X-Api-Key``.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import httpx

from ecc_connectors.driver import (
    Address,
    AuthenticationError,
    CancelRequest,
    Capability,
    Customer,
    Driver,
    Flow,
    FollowCursor,
    Item,
    ItemQuery,
    KeyPage,
    Limits,
    NewOrder,
    NumberedPages,
    Order,
    OrderKey,
    OrderLine,
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
    Totals,
    answer,
)

BASE = "https://fake.test"
SECRET = "sk_live_TOPSECRET_42"


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.astimezone(timezone.utc)


def make_order(
    n: int,
    *,
    updated: datetime,
    created: datetime | None = None,
    status: str = "processing",
    qty: str = "1",
    city: str = "Leeds",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(n),
        "number": f"{n:09d}",
        "status": status,
        "created": iso(created or updated),
        "updated": iso(updated),
        "currency": "GBP",
        "name": f"Customer {n}",
        "email": f"c{n}@example.test",
        "ship_city": city,
        "lines": [{"sku": f"SKU-{n}", "name": "Widget", "qty": qty, "price": "9.50"}],
        "total": str(Decimal("9.50") * Decimal(qty)),
    }
    data.update(extra)
    return data


@attrs.define
class Fault:
    method: str
    path: str
    status: int | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    error: type[httpx.TransportError] | None = None
    act_first: bool = False  # handle the request (the store acts), then answer with the fault
    times: int = 1


class FakeStore:
    def __init__(
        self, orders: list[dict[str, Any]] | None = None, *, delay: float = 0.0, async_delay: float = 0.01
    ) -> None:
        self.async_delay = async_delay
        self.orders: dict[str, dict[str, Any]] = {o["id"]: o for o in orders or []}
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.status_log: list[tuple[str, str, bool]] = []
        self.cancelled: list[str] = []
        self.invoices: list[str] = []
        self.items = [
            {"id": "i1", "sku": "WID-1", "name": "Widget", "price": "9.50"},
            {"id": "i2", "sku": "GAD-2", "name": "Gadget", "price": "20.00"},
        ]
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(900)
        self.clock: Callable[[], datetime] | None = None
        """When set, every answer carries a ``Date`` header from this clock (the store's own time)."""
        self.on_list: Callable[[int], None] | None = None
        """Called with the listing request's number (1, 2, ...) before it is answered: a test mutates here."""
        self.list_requests = 0

    # -- test controls -------------------------------------------------------------------------------------

    def put(self, order: dict[str, Any]) -> None:
        self.orders[order["id"]] = order

    def fail(self, method: str, path: str, **kwargs: Any) -> Fault:
        fault = Fault(method, path, **kwargs)
        self.faults.append(fault)
        return fault

    def sent(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        return [
            r for r in self.requests if (method is None or r.method == method) and (path is None or r.url.path == path)
        ]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle_async)

    # -- serving -------------------------------------------------------------------------------------------

    def _enter(self, request: httpx.Request) -> None:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def handle(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            if self.delay:
                time.sleep(self.delay)  # lets concurrent requests overlap; nothing asserts on time
            return self._dated(self._answer(request))
        finally:
            self._leave()

    def _dated(self, response: httpx.Response) -> httpx.Response:
        if self.clock is not None:
            response.headers["Date"] = email.utils.format_datetime(self.clock().astimezone(timezone.utc), usegmt=True)
        return response

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            # A short network wait, so requests of a window overlap as they do on a real network (the engine
            # builds and parses off the event loop, which takes a few loop turns per request).
            await asyncio.sleep(self.async_delay)
            return self._dated(self._answer(request))
        finally:
            self._leave()

    def _answer(self, request: httpx.Request) -> httpx.Response:
        fault = next(
            (f for f in self.faults if f.times > 0 and f.method == request.method and f.path == request.url.path),
            None,
        )
        if fault is not None:
            fault.times -= 1
            if fault.act_first:
                self._route(request)
            if fault.error is not None:
                raise fault.error("injected fault", request=request)
            return httpx.Response(fault.status or 500, headers=fault.headers, json={"message": "injected"})
        return self._route(request)

    def _route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Api-Key") != SECRET:
            return httpx.Response(401, json={"message": "bad key"})
        parts = [p for p in request.url.path.split("/") if p]
        method = request.method
        if parts == ["orders"] and method == "GET":
            return self._list(request)
        if parts == ["orders"] and method == "POST":
            return self._create(request)
        if parts == ["items"]:
            q = request.url.params.get("q", "").lower()
            return httpx.Response(200, json={"items": [i for i in self.items if q in i["name"].lower()]})
        if len(parts) >= 2 and parts[0] == "orders":
            order = self.orders.get(parts[1])
            if order is None:
                return httpx.Response(404, json={"message": f"no order {parts[1]}"})
            if len(parts) == 2:
                return httpx.Response(200, json=order)
            action = parts[2]
            if action == "shipments" and method == "GET":
                return httpx.Response(200, json={"shipments": self.shipments.get(parts[1], [])})
            body = _json(request)
            if action == "shipments":
                shipment = {"id": f"S{next(self._ids)}", "tracking": body["tracking"]}
                self.shipments.setdefault(parts[1], []).append(shipment)
                if body.get("status"):
                    order["status"] = body["status"]
                return httpx.Response(201, json={"id": shipment["id"]})
            if action == "status":
                self.status_log.append((parts[1], body["status"], bool(body.get("notify"))))
                order["status"] = body["status"]
                return httpx.Response(200, json={})
            if action == "cancel":
                self.cancelled.append(parts[1])
                order["status"] = body.get("status") or "canceled"
                return httpx.Response(200, json={})
            if action == "invoice":
                self.invoices.append(parts[1])
                return httpx.Response(201, json={"invoice_id": f"INV-{parts[1]}"})
        return httpx.Response(404, json={"message": "no route"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        with self._lock:
            self.list_requests += 1
            number = self.list_requests
        if self.on_list is not None:
            self.on_list(number)
        selected = list(self.orders.values())
        if "updated_from" in params:
            start = parse_time(params["updated_from"])
            selected = [o for o in selected if parse_time(o["updated"]) >= start]
        if "updated_to" in params:
            end = parse_time(params["updated_to"])
            selected = [o for o in selected if parse_time(o["updated"]) <= end]
        if "created_from" in params:
            start = parse_time(params["created_from"])
            selected = [o for o in selected if parse_time(o["created"]) >= start]
        if params.get("statuses"):
            wanted = set(params["statuses"].split(","))
            selected = [o for o in selected if o["status"] in wanted]
        selected.sort(key=lambda o: (parse_time(o["updated"]), int(o["id"])))
        if "probe" in params:
            offset = int(params["probe"])
            found = selected[offset] if offset < len(selected) else None
            key = [found["updated"], int(found["id"])] if found else None
            return httpx.Response(200, json={"key": key, "total": len(selected)})
        if "after_t" in params or "through_t" in params or "keys_only" in params or "keyset" in params:

            def key_of(o: dict[str, Any]) -> tuple[datetime, int]:
                return (parse_time(o["updated"]), int(o["id"]))

            if "after_t" in params:
                after = (parse_time(params["after_t"]), int(params["after_id"]))
                selected = [o for o in selected if key_of(o) > after]
            if "through_t" in params:
                through = (parse_time(params["through_t"]), int(params["through_id"]))
                selected = [o for o in selected if key_of(o) <= through]
            if "before_t" in params:
                before = (parse_time(params["before_t"]), int(params["before_id"]))
                selected = [o for o in selected if key_of(o) < before]
            size = int(params["page_size"])
            if "number" in params:
                # As Magento does: a page past the end is answered with the last page.
                last = max(1, -(-len(selected) // size))
                start = (min(int(params["number"]), last) - 1) * size
                return httpx.Response(200, json={"orders": selected[start : start + size], "total": len(selected)})
            chunk = selected[:size]
            if "keys_only" in params:
                keys = [[o["updated"], int(o["id"])] for o in chunk]
                return httpx.Response(200, json={"keys": keys, "total": len(selected)})
            return httpx.Response(200, json={"orders": chunk, "total": len(selected)})
        size = int(params["page_size"])
        if "cursor" in params:
            offset = int(params["cursor"] or 0)
            chunk = selected[offset : offset + size]
            more = offset + size < len(selected)
            return httpx.Response(200, json={"orders": chunk, "next": str(offset + size) if more else None})
        page = int(params.get("page", "1"))
        chunk = selected[(page - 1) * size : page * size]
        pages = max(1, -(-len(selected) // size))
        return httpx.Response(200, json={"orders": chunk, "total": len(selected), "pages": pages})

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = _json(request)
        n = next(self._ids)
        now = iso(datetime(2024, 6, 1, 11, 0, tzinfo=timezone.utc))
        order = {
            "id": str(n),
            "number": f"{n:09d}",
            "status": "pending",
            "created": now,
            "updated": now,
            "currency": "GBP",
            "name": body["customer"],
            "email": "",
            "ship_city": body["city"],
            "lines": [{"sku": line["sku"], "name": "", "qty": line["qty"], "price": "9.50"} for line in body["lines"]],
            "total": "9.50",
            "reference": body["reference"],
        }
        self.orders[order["id"]] = order
        return httpx.Response(201, json=order)


def _json(request: httpx.Request) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(request.content or b"{}")
    return data


class InjectedCrash(Exception):
    """Stands for the process dying between two pages."""


class _KeyAuth(httpx.Auth):
    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["X-Api-Key"] = self._key
        yield request


class FakeDriver(Driver):
    """``mode``: ``"numbered"`` or ``"cursor"`` pages, or ``"keyset"`` (adds ``SEEK_ORDERS`` and ``LIST_KEYS``)."""

    name = "fake"
    capabilities = frozenset(Capability) - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}

    def __init__(
        self,
        *,
        mode: str = "numbered",
        page_size: int = 3,
        concurrency: int = 2,
        rate: float | None = None,
        max_attempts: int = 4,
        capabilities: frozenset[Capability] | None = None,
        sorted_pages: bool = True,
        store_id: str = "fake-store",
        base_url: str = BASE,
        key_in_query: bool = False,
    ) -> None:
        self.mode = mode
        self.page_size = page_size
        self._limits = Limits(concurrency=concurrency, rate=rate, max_attempts=max_attempts)
        if mode == "keyset":
            self.capabilities = frozenset(Capability)  # type: ignore[misc]
        if capabilities is not None:
            self.capabilities = capabilities  # type: ignore[misc]
        self.sorts_by_updated = sorted_pages  # type: ignore[misc]
        self.store_id = store_id
        self.base_url = base_url
        self.key_in_query = key_in_query
        self.crash_before_page: int | None = None
        self.pages_started = 0
        self.on_page_start: Callable[[int], None] | None = None
        self.queries: list[OrderQuery] = []
        self._lock = threading.Lock()
        self._run_pages = 0

    def limits(self) -> Limits:
        return self._limits

    def auth(self) -> httpx.Auth:
        return _KeyAuth(SECRET)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _check(self, response: httpx.Response, order_id: str | None = None) -> None:
        if response.status_code == 401:
            raise AuthenticationError("the store refused the API key")
        if response.status_code >= 400:
            message = response.json().get("message", "error") if response.content else "error"
            raise StoreError(message, http_status=response.status_code, store=self.store_id, order_id=order_id)

    # -- listing -------------------------------------------------------------------------------------------

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        self.queries.append(query)
        return self._page(query, 1, "0" if self.mode == "cursor" else None)

    def _page(self, query: OrderQuery, number: int, cursor: str | None) -> Flow[Page]:
        with self._lock:
            self.pages_started += 1
        if self.on_page_start is not None:
            self.on_page_start(number)
        if self.crash_before_page == number:
            raise InjectedCrash(f"crash before page {number}")
        params = {**self._params(query), "page_size": str(self.page_size)}
        if cursor is not None:
            params["cursor"] = cursor
        else:
            params["page"] = str(number)
        if self.key_in_query:
            params["key"] = SECRET
        response = yield httpx.Request("GET", self._url("/orders"), params=params)
        self._check(response)
        data = response.json()
        orders = tuple(self.parse(raw) for raw in data["orders"])
        following: NumberedPages | FollowCursor | None = None
        if cursor is not None:
            if data["next"] is not None:
                after = data["next"]
                following = FollowCursor(lambda: self._page(query, number + 1, after))
        elif number == 1 and data["pages"] > 1:
            following = NumberedPages(range(2, data["pages"] + 1), lambda n: self._page(query, n, None))
        return Page(orders, following, data.get("total"))

    def _params(self, query: OrderQuery) -> dict[str, str]:
        params: dict[str, str] = {}
        if query.updated_from is not None:
            params["updated_from"] = iso(query.updated_from)
        if query.updated_to is not None:
            params["updated_to"] = iso(query.updated_to)
        if query.created_from is not None:
            params["created_from"] = iso(query.created_from)
        if query.statuses:
            params["statuses"] = ",".join(query.statuses)
        return params

    def _seek_params(self, query: OrderQuery, seek: Seek, size: int) -> dict[str, str]:
        params = self._params(query)
        params["keyset"] = "1"
        params["page_size"] = str(min(size, self.page_size))
        if seek.after is not None:
            params["after_t"], params["after_id"] = iso(seek.after.updated_at), str(seek.after.id)
        if seek.through is not None:
            params["through_t"], params["through_id"] = iso(seek.through.updated_at), str(seek.through.id)
        if seek.before is not None:
            params["before_t"], params["before_id"] = iso(seek.before.updated_at), str(seek.before.id)
        return params

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        with self._lock:
            if seek.after is None and seek.through is None:
                self._run_pages = 0  # the first page of a run: number this run's pages from 1
            self._run_pages += 1
            self.pages_started += 1
            number = self._run_pages
        if self.on_page_start is not None:
            self.on_page_start(number)
        if self.crash_before_page == number:
            raise InjectedCrash(f"crash before page {number}")
        response = yield httpx.Request("GET", self._url("/orders"), params=self._seek_params(query, seek, size))
        return self._keyset_page(response)

    def _keyset_page(self, response: httpx.Response) -> Page:
        self._check(response)
        data = response.json()
        orders = tuple(self.parse(raw) for raw in data["orders"])
        keys = tuple(OrderKey(parse_time(raw["updated"]), int(raw["id"])) for raw in data["orders"])
        return Page(orders, None, data["total"], keys)

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        params = self._params(query)
        params["probe"] = str(offset)
        response = yield httpx.Request("GET", self._url("/orders"), params=params)
        self._check(response)
        data = response.json()
        key = data["key"]
        return Probe(OrderKey(parse_time(key[0]), int(key[1])) if key else None, data["total"])

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        params = self._seek_params(query, seek, size)
        params["keys_only"] = "1"
        response = yield httpx.Request("GET", self._url("/orders"), params=params)
        self._check(response)
        data = response.json()
        return KeyPage(tuple(OrderKey(parse_time(t), int(i)) for t, i in data["keys"]), data["total"])

    def parse(self, raw: dict[str, Any]) -> Order | PayloadError:
        ref = str(raw.get("id")) if raw.get("id") is not None else None

        def field(name: str, convert: Callable[[Any], Any]) -> Any:
            try:
                return convert(raw[name])
            except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
                raise PayloadError(self.store_id, ref, name, f"{type(exc).__name__}: {exc}", raw) from None

        try:
            lines = tuple(
                OrderLine(
                    line_id=str(i),
                    sku=line["sku"],
                    name=line.get("name", ""),
                    quantity=Decimal(line["qty"]),
                    unit_price=Decimal(line["price"]),
                )
                for i, line in enumerate(field("lines", list), 1)
            )
            return Order(
                store=self.store_id,
                order_id=field("id", str),
                number=field("number", str),
                status=field("status", str),
                created_at=field("created", parse_time),
                updated_at=field("updated", parse_time),
                currency=raw.get("currency", "USD"),
                customer=Customer(name=raw.get("name", ""), email=raw.get("email", "")),
                shipping_address=Address(city=raw["ship_city"]) if "ship_city" in raw else None,
                lines=lines,
                totals=Totals(grand_total=field("total", Decimal)),
                replaces=raw.get("replaces"),
                raw=raw,
            )
        except PayloadError as error:
            return error

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        codes = ("pending", "processing", "complete", "canceled", "acknowledged")
        return (yield from answer(tuple(StoreStatus(code, code.title()) for code in codes)))

    def get_order(self, order_id: str) -> Flow[Order]:
        response = yield httpx.Request("GET", self._url(f"/orders/{order_id}"))
        self._check(response, order_id)
        parsed = self.parse(response.json())
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed

    # -- writes --------------------------------------------------------------------------------------------

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        numbers = sorted(t.number for t in request.tracking)
        # Look before writing: a shipment with these tracking numbers means an earlier attempt got through.
        existing = yield httpx.Request("GET", self._url(f"/orders/{request.order_id}/shipments"))
        self._check(existing, request.order_id)
        for shipment in existing.json()["shipments"]:
            if sorted(shipment["tracking"]) == numbers:
                return ShipmentResult(shipment["id"], already_shipped=True)
        body = {"tracking": numbers, "notify": request.notify, "status": request.status}
        response = yield httpx.Request("POST", self._url(f"/orders/{request.order_id}/shipments"), json=body)
        self._check(response, request.order_id)
        return ShipmentResult(response.json()["id"])

    def set_status(self, change: StatusChange) -> Flow[None]:
        body = {"status": change.status, "comment": change.comment, "notify": change.notify}
        response = yield httpx.Request("POST", self._url(f"/orders/{change.order_id}/status"), json=body)
        self._check(response, change.order_id)

    def cancel(self, request: CancelRequest) -> Flow[None]:
        body = {"status": request.status, "notify": request.notify}
        response = yield httpx.Request("POST", self._url(f"/orders/{request.order_id}/cancel"), json=body)
        self._check(response, request.order_id)

    def invoice(self, order_id: str, notify: bool = False) -> Flow[str]:
        response = yield httpx.Request("POST", self._url(f"/orders/{order_id}/invoice"), json={"notify": notify})
        self._check(response, order_id)
        return str(response.json()["invoice_id"])

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        response = yield httpx.Request("GET", self._url("/items"), params={"q": query.text})
        self._check(response)
        return tuple(
            Item(source=self.store_id, item_id=i["id"], sku=i["sku"], name=i["name"], price=Decimal(i["price"]))
            for i in response.json()["items"]
        )

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        body = {
            "reference": order.reference,
            "customer": order.customer.name,
            "city": order.shipping_address.city,
            "lines": [{"sku": line.sku, "qty": str(line.quantity)} for line in order.lines],
        }
        response = yield httpx.Request("POST", self._url("/orders"), json=body)
        self._check(response)
        parsed = self.parse(response.json())
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed


def clone(store: FakeStore) -> FakeStore:
    """A store with the same orders (and nothing else), for running a second connector side by side."""
    return FakeStore([copy.deepcopy(o) for o in store.orders.values()], delay=store.delay)


class PagingFakeDriver(FakeDriver):
    """The keyset driver with ``listing_page``: the engine cuts its windows with pages read by number."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(mode="keyset", **kwargs)
        self.numbers: list[int] = []

    def listing_page(self, query: OrderQuery, number: int, size: int) -> Flow[Page]:
        with self._lock:
            self.numbers.append(number)
        params = {**self._seek_params(query, Seek(), size), "number": str(number)}
        response = yield httpx.Request("GET", self._url("/orders"), params=params)
        return self._keyset_page(response)
