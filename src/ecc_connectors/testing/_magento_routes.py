"""The fake Magento store's REST surface: the route table, how a request reaches a handler (store codes,
authentication, the JSON body, the ``fields`` filter), how answers are encoded (PHP's escaping, a cut body,
gzip), and the read endpoints: order search and detail, comments, shipments, invoices, products, admin tokens.

The writes on orders are in ``_magento_writes``, carts in ``_magento_carts``.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from . import _magento_wire as wire
from ._base_http import Answer, ReceivedRequest
from ._magento_auth import oauth_valid
from ._magento_search import (
    _Criteria,
    _current_page,
    _Found,
    _parse_criteria,
    _parse_fields,
    _pick_fields,
    _search,
    _shuffle_page,
    _sort_value,
    _tie_key,
    _tie_spans,
)
from ._magento_state import (
    _INTERNAL_ERROR,
    _NOT_FOUND,
    MagentoState,
    _ApiError,
    _int_id,
    _parse_body,
    _Record,
    _Response,
)
from .base import Route

__all__ = ["ROUTES", "MagentoRoutes"]

_UNAUTHORIZED = "The consumer isn't authorized to access %resources."
_ADMIN_TOKEN_PATH = re.compile(r"/V1/integration/admin/token/?$")
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# Envelope pieces of an order page, pre-compressed for gzip_join (plain ASCII: the same in PHP's escaping).
_ITEMS_OPEN = b'{"items":['
_SEG_ITEMS_OPEN = wire.deflate_segment(_ITEMS_OPEN)
_SEG_COMMA = wire.deflate_segment(b",")
_API_PATH = re.compile(r"^(?:/index\.php)?/rest(?:/(?P<store>(?!V1/)[A-Za-z0-9_]+))?(?P<api>/V1/.*)$")

# (method, path pattern under /V1, handler, ACL resource named in 401 bodies; None: anonymous)
ROUTES: list[tuple[str, str, str, str | None]] = [
    ("POST", r"/V1/integration/admin/token", "_h_admin_token", None),
    ("GET", r"/V1/orders", "_h_orders", "Magento_Sales::actions_view"),
    ("GET", r"/V1/orders/([^/]+)", "_h_order", "Magento_Sales::actions_view"),
    ("POST", r"/V1/order/([^/]+)/ship", "_h_ship", "Magento_Sales::ship"),
    ("POST", r"/V1/order/([^/]+)/invoice", "_h_invoice", "Magento_Sales::sales_invoice"),
    ("POST", r"/V1/orders/([^/]+)/comments", "_h_comments", "Magento_Sales::comment"),
    ("GET", r"/V1/orders/([^/]+)/comments", "_h_comments_list", "Magento_Sales::actions_view"),
    ("POST", r"/V1/orders/([^/]+)/cancel", "_h_cancel", "Magento_Sales::cancel"),
    ("POST", r"/V1/orders/([^/]+)/hold", "_h_hold", "Magento_Sales::hold"),
    ("POST", r"/V1/orders/([^/]+)/unhold", "_h_unhold", "Magento_Sales::unhold"),
    ("GET", r"/V1/shipments", "_h_shipments", "Magento_Sales::shipment"),
    ("GET", r"/V1/shipment/([^/]+)", "_h_shipment_get", "Magento_Sales::shipment"),
    ("GET", r"/V1/invoices", "_h_invoices", "Magento_Sales::sales_invoice"),
    ("GET", r"/V1/invoices/([^/]+)", "_h_invoice_get", "Magento_Sales::sales_invoice"),
    ("GET", r"/V1/products", "_h_products", "Magento_Catalog::products"),
    ("GET", r"/V1/products/([^/]+)", "_h_product", "Magento_Catalog::products"),
    ("POST", r"/V1/guest-carts", "_h_guest_cart_new", None),
    ("GET", r"/V1/guest-carts/([^/]+)", "_h_guest_cart_get", None),
    ("POST", r"/V1/guest-carts/([^/]+)/items", "_h_guest_cart_items", None),
    ("POST", r"/V1/guest-carts/([^/]+)/shipping-information", "_h_guest_shipping", None),
    ("PUT", r"/V1/guest-carts/([^/]+)/order", "_h_guest_order", None),
    ("POST", r"/V1/guest-carts/([^/]+)/payment-information", "_h_guest_payment_information", None),
    ("POST", r"/V1/customers/([^/]+)/carts", "_h_customer_cart_new", "Magento_Cart::manage"),
    ("POST", r"/V1/carts/([^/]+)/items", "_h_cart_items", "Magento_Cart::manage"),
    ("POST", r"/V1/carts/([^/]+)/shipping-information", "_h_cart_shipping", "Magento_Cart::manage"),
    ("PUT", r"/V1/carts/([^/]+)/order", "_h_cart_order", "Magento_Cart::manage"),
]


class MagentoRoutes(MagentoState):
    """Routing, authentication, encoding and the read endpoints of the fake Magento store."""

    def _install_routes(self) -> None:
        for method, pattern, handler, resource in ROUTES:
            self.route(method, pattern, getattr(self, handler), auth=resource)

    # -- the request path (hooks of the base) ----------------------------------------------------------------

    def route_path(self, request: ReceivedRequest) -> str:
        match = _API_PATH.match(request.path)
        if match is None:
            raise _ApiError(404, "Request does not match any route.")
        # Magento's REST router trims slashes around the path before matching: /V1/orders/ is /V1/orders.
        store_code, api_path = match.group("store"), match.group("api").rstrip("/")
        if store_code is not None and store_code not in self._store_codes:
            raise _ApiError(400, "Requested store is not found")
        return api_path

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        """A bearer token (integration or admin), or an OAuth 1.0a signature made with the store's keys; else
        401 naming the ACL resource the route needs."""
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        with self._lock:
            if (
                scheme.lower() == "bearer"
                and credentials
                and (credentials in self._tokens or credentials in self._admin_tokens)
            ):
                return
            oauth = self._oauth
        if (
            scheme.lower() == "oauth"
            and oauth is not None
            and oauth_valid(oauth, request.method, request.raw_url, authorization)
        ):
            return
        raise _ApiError(401, _UNAUTHORIZED, {"resources": route.auth})

    def dispatch(self, route: Route, found: re.Match[str], request: ReceivedRequest) -> Any:
        """Magento's handlers take the path's ids, the query and the decoded JSON body; Magento's response
        field filter (``fields=items[entity_id,status],total_count``) applies to every answer."""
        payload = _parse_body(request.body) if request.method in ("POST", "PUT") else None
        result = route.handler(*found.groups(), query=request.query, payload=payload)
        fields = request.param("fields")
        if fields and not (isinstance(result, _Response) and result.fields_done):
            data = wire.loads_tolerant(result.body) if isinstance(result, Answer) else result
            return _Response(200, wire.dumps(_pick_fields(data, _parse_fields(fields))))
        return result

    def internal_error_answer(self) -> _Response:
        report = "webapi-" + secrets.token_hex(7)[:13]
        return self.error_answer(500, _INTERNAL_ERROR, [report])

    def crash_answer(self, exc: BaseException) -> _Response:
        return self.error_answer(500, _INTERNAL_ERROR, [f"{type(exc).__name__}: {exc}"])

    def is_write(self, request: ReceivedRequest) -> bool:
        """A write whose answer may be lost: POST, PUT or DELETE on any route but the admin-token endpoint."""
        return request.method in _WRITE_METHODS and _ADMIN_TOKEN_PATH.search(request.path) is None

    def finish(self, answer: Answer, request: ReceivedRequest) -> Answer:
        """The answer as it goes on the wire: PHP's escaping, a cut body, gzip (in that order)."""
        with self._lock:
            php, use_gzip = self._php_json, self._gzip
        response = (
            answer
            if isinstance(answer, _Response)
            else _Response(answer.status, answer.body, answer.headers, answer.content_type, answer.truncate_to)
        )
        if php and not response.php:
            response.body = wire.php_escape(response.body)
            response.parts = None
            response.php = True
        if response.truncate_to is not None:
            self.cut(response)
            response.parts = None
        if use_gzip:
            response.headers.setdefault("Vary", "Accept-Encoding")
            if len(response.body) >= wire.GZIP_MIN_LENGTH and wire.accepts_gzip(request.headers.get("accept-encoding")):
                if response.parts is not None:
                    response.body = wire.gzip_join(response.parts, response.body)
                else:
                    response.body = wire.gzip_whole(response.body)
                response.parts = None
                response.headers["Content-Encoding"] = "gzip"
        return response

    # -- endpoint handlers: reads ----------------------------------------------------------------------------

    def _h_admin_token(self, *, query: Any, payload: Any) -> Any:
        if not isinstance(payload, dict):
            raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "username"})
        username, password = payload.get("username"), payload.get("password")
        with self._lock:
            if not username or self._admin_users.get(str(username)) != password:
                raise _ApiError(
                    401,
                    "The account sign-in was incorrect or your account is disabled temporarily. "
                    "Please wait and try again later.",
                )
            token = secrets.token_hex(16)
            self._admin_tokens.add(token)
        return token

    def _h_orders(self, *, query: Sequence[tuple[str, str]], payload: Any) -> Any:
        criteria = _parse_criteria(query)
        fields = next((v for k, v in query if k == "fields"), None)
        tree = _parse_fields(fields) if fields else None
        with self._lock:
            page_size = self._page_size(criteria)  # an invalid listing is refused before it counts
            failed = self.listing_request()  # what schedule / churn / on_listing set for it happens now
            if failed is not None:
                return failed
            return self._search_orders(criteria, page_size, tree)

    def _matching(self, criteria: _Criteria) -> _Found:
        """The ids matching a search, sorted (cached per store version; leaked orders always match)."""
        key = (criteria.filter_key(), criteria.sort_key())
        # Concurrent page requests of one download share the search; any write starts afresh.
        if self._search_version != self._version:
            self._search_cache = {}
            self._search_version = self._version
        found = self._search_cache.get(key)
        if found is None:
            rows = [r.row for r in self._orders.values()]
            found = _Found([int(r["entity_id"]) for r in _search(rows, criteria, self._leaks)])
            self._search_cache[key] = found
        if self._shuffle_ties and found.ties is None:
            sorts = criteria.sorts
            found.ties = _tie_spans([_tie_key(self._orders[i].row, sorts) for i in found.ids])
        return found

    def _search_orders(self, criteria: _Criteria, page_size: int | None, tree: dict[str, Any] | None) -> _Response:
        found = self._matching(criteria)
        ids = found.ids
        if page_size is None or self._ignore_page_size:
            low, high = 0, len(ids)
        else:
            current = _current_page(criteria.current_page, len(ids), page_size)
            low, high = (current - 1) * page_size, min(current * page_size, len(ids))
        chosen = ids[low:high]
        if self._shuffle_ties and found.ties is not None:
            _shuffle_page(chosen, ids, found.ties, low, self._tie_rng)
        stamp = self._stamps.pop(0) if chosen and self._stamps else None
        total = len(ids) if self._total_count_override is None else self._total_count_override
        if tree is not None:
            return self._fields_page(chosen, criteria, total, tree, stamp)
        parts: list[tuple[bytes, bytes | None]] = [(_ITEMS_OPEN, _SEG_ITEMS_OPEN)]
        for position, entity_id in enumerate(chosen):
            record = self._orders[entity_id]
            if position:
                parts.append((b",", _SEG_COMMA))
            if stamp is not None and position == 0:
                order = self._decode(record)
                order["updated_at"] = stamp
                parts.append((self._record(order).blob, None))
            else:
                parts.append((record.blob, record.segment))
        tail = b"".join(
            [b'],"search_criteria":', self._encode(criteria.echo()), b',"total_count":', str(total).encode(), b"}"]
        )
        parts.append((tail, None))
        body = b"".join([raw for raw, _ in parts])
        return _Response(200, body, php=self._php_json, parts=parts)

    def _fields_page(
        self, chosen: list[int], criteria: _Criteria, total: int, tree: Mapping[str, Any], stamp: str | None
    ) -> _Response:
        """An order page through Magento's ``fields`` filter. Items asking only for top-level scalars (the
        reconcile listing: ``items[entity_id,updated_at]``) are picked from each order's row, no JSON decoded."""
        envelope: dict[str, Any] = {}
        if "items" in tree:
            wanted: Mapping[str, Any] = tree["items"]
            orders: dict[int, tuple[str, ...]] = {}
            items = [self._pick_order_fields(self._orders[i], wanted, orders) for i in chosen]
            if stamp is not None and items and "updated_at" in items[0]:
                items[0]["updated_at"] = stamp
            envelope["items"] = items
        if "search_criteria" in tree:
            envelope["search_criteria"] = _pick_fields(criteria.echo(), tree["search_criteria"])
        if "total_count" in tree:
            envelope["total_count"] = total
        return _Response(200, self._encode(envelope), php=self._php_json, fields_done=True)

    def _pick_order_fields(
        self, record: _Record, wanted: Mapping[str, Any], orders: dict[int, tuple[str, ...]]
    ) -> dict[str, Any]:
        """One item through the filter; ``orders`` caches, per row shape, the wanted keys in data order
        (Magento's filter keeps the order of the data, not of the request), or ``()`` when the row cannot
        answer (a nested or absent field: the stored JSON is decoded then)."""
        positions = record.positions
        order = orders.get(id(positions))
        if order is None:
            answerable = bool(wanted) and all(k in positions and not sub for k, sub in wanted.items())
            order = tuple(sorted(wanted, key=positions.__getitem__)) if answerable else ()
            orders[id(positions)] = order
        if order and record.source is None:
            row = record.row
            return {k: row[k] for k in order}
        picked: dict[str, Any] = _pick_fields(self._decode(record), wanted)
        return picked

    def _encode(self, value: Any) -> bytes:
        return wire.encode_json(value, self._php_json)

    def _page_size(self, criteria: _Criteria) -> int | None:
        size = criteria.page_size
        if size is None:
            return self.default_page_size
        if self.max_page_size is not None and size > self.max_page_size:
            raise _ApiError(400, "Maximum SearchCriteria pageSize is %max", {"max": self.max_page_size})
        return size if size > 0 else self.default_page_size

    def _h_order(self, entity_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            record = self._orders.get(_int_id(entity_id))
            if record is None:
                raise _ApiError(404, _NOT_FOUND)
            return _Response(200, record.blob, php=self._php_json, parts=[(record.blob, record.segment)])

    def _h_comments_list(self, order_id: str, *, query: Any, payload: Any) -> Any:
        # OrderManagement::getCommentsList: the history repository's getList filtered on parent_id (no order
        # load, so an unknown order lists nothing) and no sort order, so rows come in primary-key order.
        entity_id = _int_id(order_id)
        with self._lock:
            record = self._orders.get(entity_id)
            order = self._decode(record) if record is not None else {}
        histories = [h for h in order.get("status_histories") or [] if isinstance(h, dict)]
        histories.sort(key=lambda h: _sort_value(h.get("entity_id")))
        parent = {"field": "parent_id", "value": str(entity_id), "condition_type": "eq"}
        echo = {"filter_groups": [{"filters": [parent]}]}
        return {"items": histories, "search_criteria": echo, "total_count": len(histories)}

    def _list(self, rows: Sequence[dict[str, Any]], query: Sequence[tuple[str, str]]) -> dict[str, Any]:
        criteria = _parse_criteria(query)
        page_size = self._page_size(criteria)
        found = _search(rows, criteria)
        if self._shuffle_ties:
            starts, ends = _tie_spans([_tie_key(r, criteria.sorts) for r in found])
            for start, end in zip(starts, ends, strict=True):
                members = found[start:end]
                self._tie_rng.shuffle(members)
                found[start:end] = members
        current = _current_page(criteria.current_page, len(found), page_size)
        chosen = found if page_size is None else found[(current - 1) * page_size : current * page_size]
        return {"items": chosen, "search_criteria": criteria.echo(), "total_count": len(found)}

    def _h_shipments(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._list(copy.deepcopy(list(self._shipments.values())), query)

    def _h_invoices(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._list(copy.deepcopy(list(self._invoices.values())), query)

    def _h_invoice_get(self, invoice_id: str, *, query: Any, payload: Any) -> Any:
        return self._copy_of(self._invoices, invoice_id)

    def _h_shipment_get(self, shipment_id: str, *, query: Any, payload: Any) -> Any:
        return self._copy_of(self._shipments, shipment_id)

    def _copy_of(self, entities: Mapping[int, dict[str, Any]], entity_id: str) -> dict[str, Any]:
        """A copy of one stored entity (an invoice, a shipment) by its id; 404 as Magento words it."""
        with self._lock:
            found = entities.get(_int_id(entity_id))
            if found is None:
                raise _ApiError(404, _NOT_FOUND)
            return copy.deepcopy(found)

    def _h_products(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._list(copy.deepcopy(self._products), query)

    def _h_product(self, sku: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            for product in self._products:
                if product.get("sku") == sku:
                    return copy.deepcopy(product)
        raise _ApiError(404, "The product that was requested doesn't exist. Verify the product and try again.")
