"""The Magento 2 (Adobe Commerce) REST driver. Sans-I/O: every operation is a flow (see ``_driver.py``)."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from ..._driver import (
    CancelRequest,
    Capability,
    Driver,
    Flow,
    ItemQuery,
    Limits,
    NewOrder,
    NumberedPages,
    OrderQuery,
    Page,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
)
from ..._errors import ConfigurationError, PayloadError, StoreError
from ..._model import Item, Order, StoreStatus
from ._auth import AdminToken, BearerToken, OAuth1
from ._errors import decode_json, decode_list_envelope, raise_for_store_error
from ._mapping import DEFAULT_STATUSES, address_to_magento, map_product
from ._schema import decode_order
from ._search import MAX_PAGE_SIZE, Filter, SearchCriteria, clamp_page_size, order_criteria, page_count

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
    def from_env(cls, env: Mapping[str, str] | None = None) -> Magento2Driver:
        """Build a driver from ``MAGENTO_*`` variables.

        ``MAGENTO_BASE_URL`` (required), ``MAGENTO_STORE_CODE`` (default ``default``), and one of:

        * the four OAuth 1.0a keys ``MAGENTO_CONSUMER_KEY``, ``MAGENTO_CONSUMER_SECRET``,
          ``MAGENTO_ACCESS_TOKEN``, ``MAGENTO_ACCESS_TOKEN_SECRET``;
        * ``MAGENTO_ACCESS_TOKEN`` alone (integration token as Bearer);
        * ``MAGENTO_USERNAME`` and ``MAGENTO_PASSWORD`` (admin token).
        """
        env = os.environ if env is None else env

        def get(key: str) -> str:
            return env.get(key, "").strip()

        base_url = get("MAGENTO_BASE_URL")
        if not base_url:
            raise ConfigurationError("MAGENTO_BASE_URL is not set")
        auth: httpx.Auth
        oauth_keys = ("MAGENTO_CONSUMER_KEY", "MAGENTO_CONSUMER_SECRET", "MAGENTO_ACCESS_TOKEN_SECRET")
        if any(get(k) for k in oauth_keys):
            missing = [k for k in (*oauth_keys, "MAGENTO_ACCESS_TOKEN") if not get(k)]
            if missing:
                raise ConfigurationError(f"OAuth 1.0a needs all four keys; missing: {', '.join(missing)}")
            auth = OAuth1(
                get("MAGENTO_CONSUMER_KEY"),
                get("MAGENTO_CONSUMER_SECRET"),
                get("MAGENTO_ACCESS_TOKEN"),
                get("MAGENTO_ACCESS_TOKEN_SECRET"),
            )
        elif get("MAGENTO_ACCESS_TOKEN"):
            auth = BearerToken(get("MAGENTO_ACCESS_TOKEN"))
        elif get("MAGENTO_USERNAME") or get("MAGENTO_PASSWORD"):
            if not (get("MAGENTO_USERNAME") and get("MAGENTO_PASSWORD")):
                raise ConfigurationError("admin token auth needs both MAGENTO_USERNAME and MAGENTO_PASSWORD")
            auth = AdminToken(get("MAGENTO_USERNAME"), get("MAGENTO_PASSWORD"))
        else:
            raise ConfigurationError(
                "no Magento credentials: set MAGENTO_ACCESS_TOKEN, or MAGENTO_USERNAME and MAGENTO_PASSWORD,"
                " or the four OAuth 1.0a keys (MAGENTO_CONSUMER_KEY, ...)"
            )
        return cls(base_url, store_code=get("MAGENTO_STORE_CODE") or "default", auth=auth)

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
        raise_for_store_error(response, self.store_id, order_id)
        try:
            return decode_json(response)
        except ValueError:
            raise StoreError(
                f"store answered HTTP {response.status_code} with a body that is not JSON",
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            ) from None

    # Download --------------------------------------------------------------------------------------------
    def _page_size(self, query: OrderQuery) -> int:
        return clamp_page_size(query.page_size, self.page_size)

    def _fetch_orders(
        self, query: OrderQuery, size: int, number: int
    ) -> Flow[tuple[tuple[Order | PayloadError, ...], int]]:
        criteria = order_criteria(query, size, number)
        response = yield self._get("/V1/orders", criteria.params())
        raise_for_store_error(response, self.store_id)
        try:
            body, items = decode_list_envelope(response.content)
        except ValueError:
            raise StoreError(
                f"store answered HTTP {response.status_code} with a body that is not JSON",
                http_status=response.status_code,
                store=self.store_id,
            ) from None
        if items is None:
            raise PayloadError(
                self.store_id, None, "items", "the order list is not {items: [...]}", raw=response.text
            )
        total = body.get("total_count")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            problem = f"expected a count, got {total!r}"
            raise PayloadError(self.store_id, None, "total_count", problem, raw=response.text)
        # Each order keeps its own JSON text as received (``RawJSON``): the faithful audit copy, and no
        # re-encoding when the ledger stores it.
        return tuple(decode_order(item, self.store_id) for item in items), total

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        if query.statuses == ():
            return Page(orders=(), next=None, total=0)
        size = self._page_size(query)
        orders, total = yield from self._fetch_orders(query, size, 1)
        # Past the last page Magento answers with the last page again, so the page count comes from
        # total_count and nothing beyond it is ever asked for.
        pages = page_count(total, size)
        following = (
            NumberedPages(range(2, pages + 1), functools.partial(self._later_page, query, size))
            if pages >= 2
            else None
        )
        return Page(orders=orders, next=following, total=total)

    def _later_page(self, query: OrderQuery, size: int, number: int) -> Flow[Page]:
        orders, total = yield from self._fetch_orders(query, size, number)
        return Page(orders=orders, next=None, total=total)

    def get_order(self, order_id: str) -> Flow[Order]:
        entity = _entity_id(order_id)
        response = yield self._get(f"/V1/orders/{entity}")
        raise_for_store_error(response, self.store_id, order_id)
        # The same decoding as a listed order, so the order keeps the store's own JSON text as its raw payload.
        order = decode_order(response.content, self.store_id)
        if isinstance(order, PayloadError):
            raise order
        return order

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        # Core Magento has no REST call that lists statuses (GET /V1/orders/{id}/statuses is one order's
        # status label); the table is the statuses a fresh store has. Custom statuses are matched by code.
        return tuple(StoreStatus(code, label, state) for code, label, state in DEFAULT_STATUSES)
        yield  # pragma: no cover - makes this a flow that sends nothing

    # Post back -------------------------------------------------------------------------------------------
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

    def set_status(self, change: StatusChange) -> Flow[None]:
        """Order comment carrying the status. Magento 2.4.7+ refuses a status outside the order's current
        state: that is :class:`StatusNotAllowed`."""
        yield from self._comment(change.order_id, change.comment, status=change.status, notify=change.notify)

    def _existing_shipments(self, entity: int, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        criteria = SearchCriteria(
            groups=((Filter("order_id", str(entity), "eq"),),), page_size=MAX_PAGE_SIZE, current_page=1
        )
        body = self._answer((yield self._get("/V1/shipments", criteria.params())), order_id)
        items = body.get("items") if isinstance(body, Mapping) else None
        return [s for s in items if isinstance(s, Mapping)] if isinstance(items, list) else []

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Ship, after looking for a shipment that already carries the same tracking numbers (a retry of a
        shipment whose answer was lost), so the same parcel is never shipped twice."""
        entity = _entity_id(request.order_id)
        wanted = {t.number for t in request.tracking}
        if wanted:
            for shipment in (yield from self._existing_shipments(entity, request.order_id)):
                tracks = shipment.get("tracks") or []
                numbers = {str(t.get("track_number")) for t in tracks if isinstance(t, Mapping)}
                if wanted <= numbers and shipment.get("entity_id") is not None:
                    if request.status:
                        order = yield from self.get_order(request.order_id)
                        if order.status != request.status:
                            yield from self._comment(
                                request.order_id, request.comment, status=request.status, notify=False
                            )
                    return ShipmentResult(str(shipment["entity_id"]), already_shipped=True)
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
        # Not marked idempotent: the engine must not resend it blindly; the look-up above makes a retry of the
        # whole flow safe instead.
        response = yield self._send_json("POST", f"/V1/order/{entity}/ship", body)
        answer = self._answer(response, request.order_id)
        shipment_id = _scalar_id(answer, "shipment id", self.store_id)
        if request.status:
            try:
                yield from self._comment(
                    request.order_id, request.comment, status=request.status, notify=False
                )
            except StoreError as exc:
                exc.detail["shipment_id"] = shipment_id
                raise
        return ShipmentResult(shipment_id)

    def cancel(self, request: CancelRequest) -> Flow[None]:
        """Cancel, then (when asked) a comment with the cancellation status and the customer notified: Magento
        sends no cancellation email of its own, the comment email is the one the customer gets."""
        entity = _entity_id(request.order_id)
        response = yield self._send_json("POST", f"/V1/orders/{entity}/cancel")
        answer = self._answer(response, request.order_id)
        if answer is not True:
            # false: Magento's canCancel() said no. An order canceled by an earlier attempt says no too.
            order = yield from self.get_order(request.order_id)
            if order.state != "canceled":
                raise StoreError(
                    f"order cannot be cancelled in state {order.state!r} (status {order.status!r})",
                    store=self.store_id,
                    order_id=request.order_id,
                    http_status=200,
                )
        if request.status or request.comment or request.notify:
            yield from self._comment(
                request.order_id, request.comment, status=request.status, notify=request.notify
            )

    def invoice(self, order_id: str, notify: bool = False) -> Flow[str]:
        entity = _entity_id(order_id)
        response = yield self._send_json(
            "POST", f"/V1/order/{entity}/invoice", {"capture": True, "notify": notify}
        )
        return _scalar_id(self._answer(response, order_id), "invoice id", self.store_id)

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

    def create_order(self, order: NewOrder) -> Flow[Order]:
        """Place an order through a cart: the customer's own cart when ``customer.store_customer_id`` is set,
        else a guest cart. Returns the order as the store has it."""
        if not order.lines:
            raise ValueError("a new order needs at least one line")
        carrier, method = _split_shipping_method(order.shipping_method)
        email = order.customer.email or order.billing_address.email or order.shipping_address.email
        customer_id = order.customer.store_customer_id
        if customer_id:
            customer = _entity_id(customer_id, "customer id")
            response = yield self._send_json("POST", f"/V1/customers/{customer}/carts")
            cart_id = _scalar_id(self._answer(response), "cart id", self.store_id)
            items_path = f"/V1/carts/{cart_id}/items"
            cart_path = f"/V1/carts/{cart_id}"
        else:
            cart_id = _scalar_id(
                self._answer((yield self._send_json("POST", "/V1/guest-carts"))), "cart id", self.store_id
            )
            cart_path = f"/V1/guest-carts/{quote(cart_id, safe='')}"
            items_path = f"{cart_path}/items"
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
                "POST", f"{cart_path}/shipping-information", {"addressInformation": address_information}
            ))
        )
        payment = {"paymentMethod": {"method": order.payment_method}}
        placed = self._answer((yield self._send_json("PUT", f"{cart_path}/order", payment)))
        order_id = _scalar_id(placed, "order id", self.store_id)
        return (yield from self.get_order(order_id))
