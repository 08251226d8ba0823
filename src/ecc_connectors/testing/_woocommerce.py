"""The fake WooCommerce store on a real local socket: the shop (``_woocommerce_shop``) served as wc/v3 routes on
the SDK's fake-store base, with WooCommerce's key check and error body, and every request checked against the
vendor's OpenAPI document when one is given.

What is WooCommerce's here (its REST API docs, "Authentication" and "Errors"):

* routes live under ``/wp-json``: ``/wc/v3/...`` and, when the Shipment Tracking extension is on,
  ``/wc-shipment-tracking/v3/orders/{id}/shipment-trackings``; any other path is ``404 rest_no_route``;
* the REST API key: OAuth 1.0a one-legged (HMAC-SHA1 or -SHA256 over the method, the URL and every parameter,
  keyed with the consumer secret and ``&``; ``oauth_*`` in the query or in an ``Authorization: OAuth`` header;
  a timestamp within 15 minutes of the store's clock; a nonce never seen before), and over HTTPS also HTTP Basic
  or ``consumer_key``/``consumer_secret`` in the query (``https=True`` plays a site behind TLS; over plain HTTP
  WooCommerce ignores those two); ``strip_authorization=True`` plays a host whose web server drops the header;
* errors are ``{"code", "message", "data": {"status"}}`` (``rest_invalid_param`` adds ``data.params``).

``spec``: the path of ``wc-v3-openapi-3.0.x.yml``; each request is then checked with openapi-core
(``_woocommerce_schema``), a violation is kept in ``spec_violations`` and answered 400 ``rest_invalid_param``,
so a driver that breaks the document fails loudly in its tests.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from ._woocommerce_schema import WooCommerceSchema
from ._woocommerce_shop import WooShop
from ._woocommerce_spec import ORDER_STATUSES
from .base import Answer, FakeStore, HttpError, ReceivedRequest, Route

__all__ = ["FakeWooCommerce"]

_CODES = {
    400: "rest_invalid_param",
    401: "woocommerce_rest_authentication_error",
    403: "woocommerce_rest_cannot_view",
    404: "rest_no_route",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}
_DIGESTS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}


@functools.lru_cache(maxsize=4)
def _schema(path: str, statuses: tuple[str, ...]) -> WooCommerceSchema:
    return WooCommerceSchema.load(path, statuses)


class FakeWooCommerce(FakeStore):
    """A fake WooCommerce store on ``127.0.0.1`` (an ephemeral port, its own thread)::

        with FakeWooCommerce(orders=50) as store:
            driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)

    ``store.shop`` holds the orders, notes, products and tracking items (``seed``, ``new_order``, ``edit``,
    ``crowd``, ``emails``); every knob of the base works (``latency``, ``rate_limit``, ``inject_429``,
    ``lose_write_answers``, ``on_listing``, ``schedule``, ``clock``). ``plugin_statuses`` adds statuses a plugin
    registered (default ``{"shipped": "Shipped"}``); ``tracking`` turns the Shipment Tracking extension on;
    ``https``, ``strip_authorization`` and ``spec`` as in the module notes. Every ``GET /orders`` is a listing
    request for ``on_listing`` and ``schedule``."""

    name = "fake-woocommerce"
    description = "fake WooCommerce store"

    def __init__(
        self,
        orders: int = 0,
        *,
        seed: int = 1,
        consumer_key: str = "ck_fake0123456789abcdef",
        consumer_secret: str = "cs_fake0123456789abcdef",
        plugin_statuses: Mapping[str, str] | None = None,
        tracking: bool = True,
        https: bool = False,
        strip_authorization: bool = False,
        spec: str | Path | None = None,
        utc_offset: timedelta = timedelta(hours=-3),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self.https = https
        self.strip_authorization = strip_authorization
        self.shop = WooShop(self.now, utc_offset=utc_offset, plugin_statuses=plugin_statuses, tracking=tracking)
        self.spec_violations: list[str] = []
        self._nonces: set[str] = set()
        self._spec_path = None if spec is None else str(spec)
        self.seed_orders(self.shop, orders, seed)
        v3 = r"/wc/v3"
        self.route("GET", v3 + r"/orders", self._list)
        self.route("POST", v3 + r"/orders", lambda r: self._created(self.shop.create(self._body(r))))
        self.route("GET", v3 + r"/orders/(\d+)", lambda r, i: self.shop.shown(self.shop.find(i)))
        self.route("PUT", v3 + r"/orders/(\d+)", lambda r, i: self.shop.update(i, self._body(r)))
        self.route("POST", v3 + r"/orders/(\d+)", lambda r, i: self.shop.update(i, self._body(r)))
        self.route(
            "GET", v3 + r"/orders/(\d+)/notes", lambda r, i: self.shop.list_notes(i, r.param("type", "any") or "any")
        )
        self.route(
            "POST", v3 + r"/orders/(\d+)/notes", lambda r, i: self._created(self.shop.post_note(i, self._body(r)))
        )
        self.route("GET", v3 + r"/reports/orders/totals", lambda r: self.shop.report_totals())
        self.route("GET", v3 + r"/products", lambda r: self.shop.list_products(dict(r.query)))
        self.route("GET", v3 + r"/products/(\d+)/variations", lambda r, i: self.shop.list_variations(i))
        tracking_path = r"/wc-shipment-tracking/v3/orders/(\d+)/shipment-trackings"
        self.route("GET", tracking_path, self._trackings)
        self.route("POST", tracking_path, self._add_tracking)

    @property
    def url(self) -> str:
        """The site's address, what the driver takes (it adds ``/wp-json/wc/v3``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def consumer_secret(self) -> str:
        return self._consumer_secret

    def __repr__(self) -> str:
        return f"FakeWooCommerce(url={self.url!r}, orders={len(self.shop.orders)})"

    # -- the base's hooks ------------------------------------------------------------------------------------

    def route_path(self, request: ReceivedRequest) -> str:
        if not request.path.startswith("/wp-json/"):
            raise HttpError(404, "No route was found matching the URL and request method.", {"code": "rest_no_route"})
        if self._spec_path is not None:
            self._validate(request)
        path = request.path[len("/wp-json") :].rstrip("/")
        if path.startswith("/wc-shipment-tracking/") and not self.shop.tracking:
            raise HttpError(404, "No route was found matching the URL and request method.", {"code": "rest_no_route"})
        return path

    def _validate(self, request: ReceivedRequest) -> None:
        extra = tuple(s for s in self.shop.statuses if s not in ORDER_STATUSES)
        schema = _schema(cast(str, self._spec_path), extra)
        # The schema serialises its own openapi-core call; the rest of its check only reads.
        errors = schema.request_errors(request.method, request.path, request.query, request.body or None)
        if errors:
            with self.lock:
                self.spec_violations.extend(errors)
            raise HttpError(400, "Invalid parameter(s): " + "; ".join(errors), {"code": "rest_invalid_param"})

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        header = "" if self.strip_authorization else headers.get("authorization", "")
        query = dict(request.query)
        if "oauth_signature" in query or header.startswith("OAuth "):
            self._check_oauth(request, header if header.startswith("OAuth ") else None)
            return
        if self.https and header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                key, secret = "", ""
            self._check_keys(key, secret)
            return
        if self.https and "consumer_key" in query:
            self._check_keys(query.get("consumer_key", ""), query.get("consumer_secret", ""))
            return
        raise HttpError(401, "Sorry, you cannot list resources.", {"code": "woocommerce_rest_cannot_view"})

    def _check_keys(self, key: str, secret: str) -> None:
        if not (hmac.compare_digest(key, self.consumer_key) and hmac.compare_digest(secret, self._consumer_secret)):
            raise HttpError(401, "Consumer secret is invalid.", {"code": "woocommerce_rest_authentication_error"})

    def _check_oauth(self, request: ReceivedRequest, header: str | None) -> None:
        from oauthlib.oauth1.rfc5849 import signature, utils

        def refuse(message: str) -> HttpError:
            return HttpError(401, message, {"code": "woocommerce_rest_authentication_error"})

        params = dict(request.query)
        if header is not None:
            params.update(dict(utils.parse_authorization_header(header)))
        for required in (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ):
            if not params.get(required):
                raise refuse(f"{required} parameter is missing.")
        if params["oauth_consumer_key"] != self.consumer_key:
            raise refuse("Consumer key is invalid.")
        digest = _DIGESTS.get(params["oauth_signature_method"])
        if digest is None:
            raise refuse("Invalid signature - signature method is invalid.")
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            raise refuse("Invalid timestamp.") from None
        if abs(stamp - self.now().timestamp()) > 15 * 60:
            raise refuse("Invalid timestamp.")
        url = f"http://{self.host}:{self.port}{urllib.parse.urlsplit(request.raw_url).path or request.path}"
        collected = signature.collect_parameters(
            uri_query=urllib.parse.urlencode(request.query),
            headers={"Authorization": header} if header else None,
            exclude_oauth_signature=True,
        )
        base = signature.signature_base_string(
            cast(Any, request.method.upper()),
            signature.base_string_uri(url),
            signature.normalize_parameters(cast(Any, collected)),
        )
        key = utils.escape(self._consumer_secret) + "&"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()
        given = utils.unescape(params["oauth_signature"]) if header else params["oauth_signature"]
        if not hmac.compare_digest(expected, given):
            raise refuse("Invalid signature - provided signature does not match.")
        with self.lock:
            nonce = params["oauth_nonce"]  # WooCommerce keeps the nonces a key used, whatever their timestamp
            if nonce in self._nonces:
                raise refuse("Invalid nonce - nonce has already been used.")
            self._nonces.add(nonce)

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """WooCommerce's error body; ``parameters`` may be ``{"code": ..., "params": {...}}``."""
        extra = parameters if isinstance(parameters, Mapping) else {}
        code = str(extra.get("code") or _CODES.get(status, "rest_error"))
        data: dict[str, Any] = {"status": status}
        if "params" in extra:
            data["params"] = extra["params"]
        if isinstance(parameters, list) and parameters:
            message = re.sub(r"%(\d+)", lambda m: str(parameters[int(m.group(1)) - 1]), message)
        return Answer(
            status, json.dumps({"code": code, "message": message, "data": data}).encode(), dict(headers or {})
        )

    def internal_error_answer(self) -> Answer:
        return self.error_answer(
            500, "There has been a critical error on this website.", {"code": "internal_server_error"}
        )

    # -- routes ----------------------------------------------------------------------------------------------

    @staticmethod
    def _body(request: ReceivedRequest) -> Any:
        try:
            return request.json()
        except ValueError:
            raise HttpError(400, "Invalid JSON body passed.", {"code": "rest_invalid_json"}) from None

    def _created(self, value: Any) -> Answer:
        return self.json_answer(value, 201)

    def _list(self, request: ReceivedRequest) -> Answer:
        with self.lock:
            failed = self.listing_request()
            if failed is not None:
                return failed
            rows, headers = self.shop.list_orders(request.query)
            answer = self.json_answer(rows)
            answer.headers.update(headers)
            return answer

    def _trackings(self, request: ReceivedRequest, order_id: str) -> Any:
        with self.lock:
            return self.shop.trackings(order_id)

    def _add_tracking(self, request: ReceivedRequest, order_id: str) -> Answer:
        with self.lock:
            return self._created(self.shop.add_tracking(order_id, self._body(request)))

    def dispatch(self, route: Route, found: re.Match[str], request: ReceivedRequest) -> Any:
        with self.lock:  # one lock: a listing hook's change and a request never interleave
            return route.handler(request, *found.groups())
