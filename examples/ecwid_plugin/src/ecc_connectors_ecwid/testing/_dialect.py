"""Ecwid's REST API v3 dialect over an in-memory shop, as plain functions: no sockets here.

The handlers (:func:`search`, :func:`get_order`, :func:`update`, :func:`order_statuses`) take the shop and what
the request carries and return an :class:`Answer`; :func:`route` dispatches one request to them in memory (for
tests that drive a flow without a socket), and ``_server.py`` mounts the same handlers as routes on
``ecc_connectors.testing.base.FakeStore``, which brings the socket, the request log, the faults, the rate limit,
the listing hooks and the store clock. Everything here follows Ecwid's published reference (the pages are named in
this package's README.md), written independently of the driver: the status tables come from the "Search order
statuses" page, the order shape from the "Search orders" / "Get order" examples, the error body and codes from
"REST API error codes", the rate limit (429 with ``Retry-After``) from the "REST API overview".

Where Ecwid says nothing, the choice made is marked *assumed*: the order of search results (newest first by
creation, then by internal id), bounds that include their second, ``limit`` above 100 read as 100.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "FULFILMENT", "PAYMENT", "Answer", "EcwidShop", "Received", "error", "get_order", "order_statuses", "route",
    "search", "update",
]

# From "Search order statuses" (GET /profile/order_statuses): the built-in statuses, then three custom ones per
# axis that a merchant may enable.
PAYMENT = (
    "AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED", "INCOMPLETE",
    "CUSTOM_PAYMENT_STATUS_1", "CUSTOM_PAYMENT_STATUS_2", "CUSTOM_PAYMENT_STATUS_3",
)
FULFILMENT = (
    "AWAITING_PROCESSING", "PROCESSING", "SHIPPED", "DELIVERED", "WILL_NOT_DELIVER", "RETURNED",
    "READY_FOR_PICKUP", "OUT_FOR_DELIVERY",
    "CUSTOM_FULFILLMENT_STATUS_1", "CUSTOM_FULFILLMENT_STATUS_2", "CUSTOM_FULFILLMENT_STATUS_3",
)
MAX_LIMIT = 100


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request as the shop saw it (the query as sent, the JSON body parsed)."""

    method: str
    path: str
    params: Mapping[str, str]
    body: Any
    authorized: bool


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, {"errorMessage": message, "errorCode": code}, dict(headers or {}))


def _date(seconds: int) -> str:
    """Ecwid's date format: ``2024-05-01 05:26:28 +0000``."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")


class EcwidShop:
    """One store's orders and statuses, shared by every request (a lock keeps each request atomic).

    ``clock`` gives the shop's time in UNIX seconds (the stamps it writes). Served, the shop runs on the store's
    clock (``FakeStore.now``). Faults, throttling and listing hooks belong to the served store, not here."""

    def __init__(self, store_id: int = 1003, token: str = "secret_fake", clock: Callable[[], float] = time.time):
        self.store_id = store_id
        self.token = token
        self.clock = clock
        self.lock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = [
            {"statusId": code, "orderStatusType": kind, "defaultStatus": not code.startswith("CUSTOM"),
             "enabled": not code.startswith("CUSTOM"), "sendNotificationWhenStatusIsAssigned": True}
            for codes, kind in ((PAYMENT, "PAYMENT_STATUS"), (FULFILMENT, "FULFILLMENT_STATUS"))
            for code in codes
        ]
        self.requests: list[Received] = []
        """What :func:`route` received (the in-memory path only: the served store logs its own requests)."""
        self._random = random.Random(0)
        self._next_id = 500_000_000

    def now(self) -> int:
        return int(self.clock())

    # Seeding and editing, as the merchant or a shopper would.

    def add_order(self, *, created: int | None = None, updated: int | None = None, **fields: Any) -> dict[str, Any]:
        """An order shaped like the reference's examples; ``fields`` override any top-level field."""
        with self.lock:
            rnd = self._random
            self._next_id += rnd.randint(1, 50)
            internal = self._next_id
            public = "".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(5))
            created = self.now() if created is None else created
            updated = created if updated is None else updated
            lines = []
            subtotal = 0.0
            for n in range(rnd.randint(1, 3)):
                price = round(rnd.uniform(3, 120), 2)
                quantity = rnd.randint(1, 4)
                subtotal += price * quantity
                lines.append({
                    "id": internal * 10 + n, "productId": 400_000_000 + rnd.randint(1, 9999), "price": price,
                    "priceWithoutTax": price, "productPrice": price, "sku": f"SKU-{rnd.randint(1, 999):03d}",
                    "quantity": quantity, "name": rnd.choice(["Pizza", "Toys", "Mug", "Scarf"]), "tax": 0,
                    "shipping": 0, "isShippingRequired": True, "weight": 0.5, "digital": False,
                })
            rate = round(rnd.choice([0, 4.99, 9.5]), 2)
            tax = round(subtotal * 0.1, 2)
            person = {
                "name": "Ann Shopper", "firstName": "Ann", "lastName": "Shopper", "companyName": "",
                "street": "1 Main St", "city": "San Diego", "countryCode": "US", "countryName": "United States",
                "postalCode": "90002", "stateOrProvinceCode": "CA", "stateOrProvinceName": "California",
                "phone": "555-0100",
            }
            order: dict[str, Any] = {
                "id": public, "internalId": internal, "orderNumber": internal, "vendorOrderNumber": public,
                "publicUid": public, "refundedAmount": 0, "subtotal": round(subtotal, 2),
                "subtotalWithoutTax": round(subtotal, 2), "total": round(subtotal + tax + rate, 2),
                "totalWithoutTax": round(subtotal + rate, 2), "tax": tax, "discount": 0, "couponDiscount": 0,
                "email": f"shopper{internal % 1000}@example.com", "paymentMethod": "Credit card",
                "paymentStatus": rnd.choice(["PAID", "AWAITING_PAYMENT", "PAID"]),
                "fulfillmentStatus": rnd.choice(["AWAITING_PROCESSING", "PROCESSING", "AWAITING_PROCESSING"]),
                "createDate": _date(created), "updateDate": _date(updated), "createTimestamp": created,
                "updateTimestamp": updated, "items": lines, "refunds": [], "billingPerson": person,
                "shippingPerson": dict(person),
                "shippingOption": {"shippingMethodName": "Flat rate", "shippingRate": rate,
                                   "shippingRateWithoutTax": rate, "isPickup": False, "fulfillmentType": "SHIPPING"},
                "shipments": [], "hidden": False, "pricesIncludeTax": False, "orderComments": "",
                "privateAdminNotes": "",
            }
            if rnd.random() < 0.7:
                order["customerId"] = 270_000_000 + rnd.randint(1, 99999)
            order.update(fields)
            self.orders[internal] = order
            return order

    def seed(self, count: int, *, start: int, end: int, seed: int = 1) -> list[dict[str, Any]]:
        """``count`` orders created between ``start`` and ``end`` (UNIX seconds), some updated later."""
        self._random = random.Random(seed)
        made = []
        for _ in range(count):
            created = self._random.randint(start, end)
            updated = min(end, created + self._random.choice([0, 0, 60, 3600]))
            made.append(self.add_order(created=created, updated=updated))
        return made

    def edit(self, internal_id: int, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Change an order now, as the admin would: its update stamp moves to the shop's now."""
        with self.lock:
            order = self.orders[internal_id]
            order.update(changes or {})
            order["updateTimestamp"] = self.now()
            order["updateDate"] = _date(order["updateTimestamp"])
            return order

    def find(self, order_id: str) -> dict[str, Any] | None:
        for order in self.orders.values():
            if order_id in (order["id"], str(order["internalId"])):
                return order
        return None


def route(shop: EcwidShop, method: str, path: str, params: Mapping[str, str], body: Any,
          headers: Mapping[str, str]) -> Answer:
    """Answer one request the way Ecwid does, in memory (the request logged in ``shop.requests``)."""
    with shop.lock:
        authorized = headers.get("authorization") == f"Bearer {shop.token}"
        shop.requests.append(Received(method, path, dict(params), body, authorized))
        prefix = f"/api/v3/{shop.store_id}"
        if not path.startswith(prefix + "/") and path != prefix:
            return error(404, "STORE_NOT_FOUND", "Store with specified ID was not found")
        if not authorized:
            return error(403, "INVALID_API_TOKEN", "Invalid access token in the request")
        rest = path[len(prefix):].rstrip("/")
        if rest == "/orders" and method == "GET":
            return search(shop, params)
        if rest.startswith("/orders/") and rest.count("/") == 2:
            if method == "GET":
                return get_order(shop, rest.split("/")[2], params)
            if method == "PUT":
                return update(shop, rest.split("/")[2], body)
            return error(405, "METHOD_NOT_ALLOWED", "HTTP request type is not supported")
        if rest == "/profile/order_statuses" and method == "GET":
            return order_statuses(shop)
        return error(404, "NOT_FOUND", f"no such endpoint: {method} {rest}")


def get_order(shop: EcwidShop, order_id: str, params: Mapping[str, str]) -> Answer:
    """``GET /orders/{orderId}``."""
    with shop.lock:
        order = shop.find(order_id)
        if order is None:
            return error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found")
        return Answer(200, _select(order, params.get("responseFields")))


def order_statuses(shop: EcwidShop) -> Answer:
    """``GET /profile/order_statuses``."""
    with shop.lock:
        return Answer(200, {"items": [dict(row) for row in shop.statuses]})


def _when(value: str) -> int:
    """A bound as Ecwid takes it: UNIX seconds, or a date/time (``2023-01-15 19:27:50``, with or without an
    offset, or a bare date: UTC)."""
    if value.lstrip("-").isdigit():
        return int(value)
    for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp())
    raise ValueError(value)


def search(shop: EcwidShop, params: Mapping[str, str]) -> Answer:
    """``GET /orders``: the order search."""
    with shop.lock:
        return _search(shop, params)


def _search(shop: EcwidShop, params: Mapping[str, str]) -> Answer:
    try:
        offset = int(params.get("offset", "0"))
        limit = min(MAX_LIMIT, int(params.get("limit", str(MAX_LIMIT))))
        bounds = {name: _when(params[name]) for name in ("createdFrom", "createdTo", "updatedFrom", "updatedTo")
                  if name in params}
    except ValueError as exc:
        return error(400, "WRONG_PARAMETER", f"Wrong request parameter: {exc}")
    if offset < 0 or limit < 0:
        return error(400, "WRONG_PARAMETER", "offset and limit must not be negative")
    wanted: dict[str, set[str]] = {}
    for name, known in (("paymentStatus", PAYMENT), ("fulfillmentStatus", FULFILMENT)):
        if name in params:
            words = {word.strip() for word in params[name].split(",") if word.strip()}
            if not words <= set(known):
                return error(400, "WRONG_PARAMETER", f"Unknown {name}: {', '.join(sorted(words - set(known)))}")
            wanted[name] = words
    ids = {word.strip() for word in params["ids"].split(",")} if "ids" in params else None
    rows = []
    for order in shop.orders.values():
        if ids is not None and not ({order["id"], str(order["internalId"])} & ids):
            continue
        if any(order[name] not in words for name, words in wanted.items()):
            continue
        created, updated = order["createTimestamp"], order["updateTimestamp"]
        if created < bounds.get("createdFrom", created) or created > bounds.get("createdTo", created):
            continue
        if updated < bounds.get("updatedFrom", updated) or updated > bounds.get("updatedTo", updated):
            continue
        rows.append(order)
    rows.sort(key=lambda o: (o["createTimestamp"], o["internalId"]), reverse=True)  # assumed: newest first
    shown = rows[offset:offset + limit]
    body = {"total": len(rows), "count": len(shown), "offset": offset, "limit": limit, "items": shown}
    return Answer(200, _select(body, params.get("responseFields")))


def update(shop: EcwidShop, order_id: str, body: Any) -> Answer:
    """``PUT /orders/{orderId}``: the fields given replace the order's, the others are kept."""
    with shop.lock:
        order = shop.find(order_id)
        if order is None:
            return error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found")
        if not isinstance(body, Mapping):
            return error(400, "WRONG_PARAMETER", "The request body must be a JSON object")
        for name, known in (("paymentStatus", PAYMENT), ("fulfillmentStatus", FULFILMENT)):
            if name in body and body[name] not in known:
                return error(400, "WRONG_PARAMETER", f"Unknown {name}: {body[name]}")
        order.update({key: value for key, value in body.items() if key not in ("id", "internalId", "orderNumber")})
        order["updateTimestamp"] = shop.now()
        order["updateDate"] = _date(order["updateTimestamp"])
        return Answer(200, {"updateCount": 1})


def _fields(spec: str) -> dict[str, Any]:
    """``total,items(id,email)`` -> ``{"total": None, "items": {"id": None, "email": None}}``."""
    tree: dict[str, Any] = {}
    stack = [tree]
    name = ""
    for char in spec + ",":
        if char in ",()":
            if name.strip():
                stack[-1][name.strip()] = None
            if char == "(":
                child: dict[str, Any] = {}
                stack[-1][name.strip()] = child
                stack.append(child)
            elif char == ")" and len(stack) > 1:
                stack.pop()
            name = ""
        else:
            name += char
    return tree


def _select(value: Any, spec: str | None) -> Any:
    """What ``responseFields`` keeps of an answer."""
    if not spec:
        return value
    return _pick(value, _fields(spec))


def _pick(value: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [_pick(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: _pick(value[key], sub) for key, sub in tree.items() if key in value}
    return value
