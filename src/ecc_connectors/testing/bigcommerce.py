"""A fake BigCommerce store on a real local socket, and its conformance-suite adapter.

Theory of operation
-------------------
:class:`FakeBigCommerce` serves the dialect of ``_bigcommerce_shop`` (orders v2, catalog v3, in BigCommerce's
shapes) as routes on the SDK's fake-store base, :class:`ecc_connectors.testing.base.FakeStore`, which brings
the server, the request log, ``on_request`` hooks, latency, faults, lost answers, the listing hooks
(``on_listing``, ``schedule``) and the store clock. What is BigCommerce's here:

* the paths ``/stores/{store_hash}/v2/...`` and ``/v3/...`` (another hash: 404);
* the ``X-Auth-Token`` check (401 with v2's error list);
* the errors: v2 answers a list ``[{"status": 400, "message": "..."}]``, v3 an object with ``title``;
* the rate limit: a quota per window (``quota(150, window_ms=30000)``); every answer carries
  ``X-Rate-Limit-Requests-Left``, ``-Requests-Quota``, ``-Time-Window-Ms`` and ``-Time-Reset-Ms``, and a request
  past the quota is answered 429 with those headers and **no** ``Retry-After`` (as BigCommerce does);
* spec checking: given ``spec_dir`` (the folder holding ``orders.v2.oas2.yml`` and
  ``products_catalog.v3.yml``), every request is checked against BigCommerce's OpenAPI with openapi-core and
  each problem kept in :attr:`FakeBigCommerce.violations`; :meth:`FakeBigCommerce.assert_valid` fails with the
  list. :class:`BigCommerceConformanceStore` fails its ``stop()`` on a violation, so a conformance run whose
  driver sent one request the spec does not allow fails.

Every ``GET /v2/orders`` is a listing request for ``on_listing`` and ``schedule`` (pages, counts, probes).

The fake's fixed tables, written from BigCommerce's OpenAPI and rate-limit guide (``STATUSES``, ``PAYMENT_STATES``,
``ORDER_SORT_FIELDS``, ``PLAN_QUOTAS``), and its spec checker (:func:`load_spec`, :class:`BigCommerceSpec`) are
public here, so a test can hold them against BigCommerce's own files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ._bigcommerce_shop import BigCommerceShop, Reply, ShopError
from ._bigcommerce_spec import BigCommerceSpec, load_spec
from ._bigcommerce_tables import ORDER_SORT_FIELDS, PAYMENT_STATES, PLAN_QUOTAS, STATUSES
from .base import Answer, FakeStore, HttpError, ReceivedRequest, Route
from .conformance import FakeStoreAdapter

__all__ = [
    "ORDER_SORT_FIELDS",
    "PAYMENT_STATES",
    "PLAN_QUOTAS",
    "STATUSES",
    "BigCommerceConformanceStore",
    "BigCommerceSpec",
    "FakeBigCommerce",
    "load_spec",
]


class FakeBigCommerce(FakeStore):
    """A fake BigCommerce store on ``127.0.0.1`` (an ephemeral port, its own thread)::

        with FakeBigCommerce(orders=50) as store:
            driver = BigCommerceDriver(store.store_hash, store.token, base_url=store.base_url)

    ``store.shop`` holds the orders (``seed``, ``add_order``, ``edit``, ``find``, ``delete``) and the catalog;
    every knob of the base works (``latency``, ``inject_429``, ``lose_write_answers``, ``on_listing``, ...), and
    :meth:`quota` sets BigCommerce's own rate limit."""

    name = "fake-bigcommerce"
    description = "fake BigCommerce store"

    def __init__(
        self,
        orders: int = 0,
        *,
        seed: int = 1,
        store_hash: str = "abc123",
        token: str = "fake-bigcommerce-token",
        spec_dir: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.shop = BigCommerceShop(store_hash, token, self.now, seed=seed)
        self.shop.lock = self.lock  # one lock: a listing hook's change and a request never interleave
        self.violations: list[str] = []
        self._quota: tuple[int, float] | None = None
        self._window_start = time.monotonic()
        self._used = 0
        self.quota_refusals = 0
        """Requests answered 429 because the quota ran out."""
        self.seed_orders(self.shop, orders, seed)
        if spec_dir is not None:
            spec = load_spec(str(spec_dir))

            def check(received: ReceivedRequest) -> None:
                problems = spec.request_errors(
                    received.method, received.path, received.query, received.headers, received.body or None
                )
                if problems:
                    with self.lock:
                        self.violations.extend(problems)

            self.on_request(check)
        v2 = r"/v2"
        self.route("GET", v2 + r"/orders", self._list)
        self.route("POST", v2 + r"/orders", self._create)
        self.route("GET", v2 + r"/order_statuses", lambda r: self._call(self.shop.order_statuses))
        self.route("GET", v2 + r"/orders/(\d+)", lambda r, i: self._call(lambda: self.shop.get_order(i, dict(r.query))))
        self.route("PUT", v2 + r"/orders/(\d+)", self._update)
        for name in ("products", "shipping_addresses", "shipments"):
            self.route("GET", v2 + rf"/orders/(\d+)/({name})", self._sub)
        self.route("POST", v2 + r"/orders/(\d+)/shipments", self._ship)
        self.route("GET", r"/v3/catalog/products", lambda r: self._call(lambda: self.shop.list_products(dict(r.query))))

    @property
    def store_hash(self) -> str:
        return self.shop.store_hash

    @property
    def token(self) -> str:
        return self.shop.token

    @property
    def base_url(self) -> str:
        """What the driver takes as ``base_url`` (it adds ``/stores/<hash>/v2``): ``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def quota(self, requests: int | None, window_ms: int = 30_000) -> None:
        """BigCommerce's rate limit: ``requests`` per window of ``window_ms`` (``None``: unlimited)."""
        with self.lock:
            self._quota = None if requests is None else (requests, window_ms / 1000.0)
            self._window_start, self._used = time.monotonic(), 0

    def assert_valid(self) -> None:
        """Fail listing every request that broke BigCommerce's spec (with ``spec_dir`` given)."""
        with self.lock:
            problems = list(dict.fromkeys(self.violations))
        if problems:
            raise AssertionError(
                f"{len(problems)} request problem(s) against BigCommerce's OpenAPI:\n  " + "\n  ".join(problems)
            )

    # -- the base's hooks ------------------------------------------------------------------------------------

    def route_path(self, request: ReceivedRequest) -> str:
        prefix = f"/stores/{self.shop.store_hash}"
        if not request.path.startswith(prefix + "/"):
            raise HttpError(404, "The requested resource was not found.")
        return request.path[len(prefix) :].rstrip("/")

    def _rate_headers(self) -> dict[str, str]:
        with self.lock:
            if self._quota is None:
                return {}
            limit, window = self._quota
            now = time.monotonic()
            if now - self._window_start >= window:
                self._window_start, self._used = now, 0
            reset = max(0.0, window - (now - self._window_start))
            return {
                "X-Rate-Limit-Requests-Quota": str(limit),
                "X-Rate-Limit-Requests-Left": str(max(0, limit - self._used)),
                "X-Rate-Limit-Time-Window-Ms": str(int(window * 1000)),
                "X-Rate-Limit-Time-Reset-Ms": str(int(reset * 1000)),
            }

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        given = {key.lower(): value for key, value in request.headers.items()}.get("x-auth-token")
        if given != self.token:
            raise HttpError(401, "You are not authorized to access this resource. Check the X-Auth-Token.")
        with self.lock:
            if self._quota is not None:
                headers = self._rate_headers()
                if self._used >= self._quota[0]:
                    self.quota_refusals += 1
                    raise HttpError(429, "You have exceeded the rate limit.", None, headers)
                self._used += 1

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """v2's error list; the base's own messages (``%1`` placeholders) are filled in first."""
        if isinstance(parameters, list):
            for index, value in enumerate(parameters, 1):
                message = message.replace(f"%{index}", str(value))
        body = json.dumps([{"status": status, "message": message}]).encode()
        return Answer(status, body, dict(headers or {}))

    def finish(self, answer: Answer, request: ReceivedRequest) -> Answer:
        for name, value in self._rate_headers().items():
            answer.headers.setdefault(name, value)
        return super().finish(answer, request)

    # -- routes ----------------------------------------------------------------------------------------------

    def _served(self, reply: Reply) -> Answer:
        if reply.body is None:
            return Answer(reply.status, b"", dict(reply.headers))
        served = self.json_answer(reply.body, reply.status)
        served.headers.update(reply.headers)
        return served

    def _call(self, action: Callable[[], Reply]) -> Answer:
        try:
            return self._served(action())
        except ShopError as error:
            return self.error_answer(error.status, error.message)

    def _body(self, request: ReceivedRequest) -> Any:
        try:
            return request.json()
        except ValueError:
            raise HttpError(400, "The request body is not valid JSON.") from None

    def _list(self, request: ReceivedRequest) -> Answer:
        with self.lock:
            failed = self.listing_request()
            if failed is not None:
                return failed
            return self._call(lambda: self.shop.list_orders(dict(request.query)))

    def _sub(self, request: ReceivedRequest, order_id: str, name: str) -> Answer:
        return self._call(lambda: self.shop.sub_resource(order_id, name, dict(request.query)))

    def _update(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = self._body(request)
        return self._call(lambda: self.shop.update_order(order_id, body))

    def _ship(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = self._body(request)
        return self._call(lambda: self.shop.create_shipment(order_id, body))

    def _create(self, request: ReceivedRequest) -> Answer:
        body = self._body(request)
        return self._call(lambda: self.shop.create_order(body))


def _default_spec_dir() -> Path | None:
    """``$ECC_SHARED_DIR/specs/bigcommerce`` when it is there (tests and CI), else no checking."""
    shared = os.environ.get("ECC_SHARED_DIR")
    if not shared:
        return None
    folder = Path(shared) / "specs" / "bigcommerce"
    return folder if folder.is_dir() else None


class BigCommerceConformanceStore(FakeStoreAdapter[FakeBigCommerce]):
    """The fake BigCommerce store as a ``ConformanceStore``: order ids are BigCommerce's order ids (what
    ``BigCommerceDriver`` calls ``Order.order_id``), a status is ``status_id`` as a string, a comment is a line
    of the order's staff notes, a shipment is one of ``/orders/{id}/shipments``.

    With ``spec_dir`` (default: ``$ECC_SHARED_DIR/specs/bigcommerce`` when set), every request is checked
    against BigCommerce's OpenAPI, and :meth:`stop` fails listing the requests that break it."""

    def __init__(self, orders: int = 30, seed: int = 3, spec_dir: str | Path | None = None, **kwargs: Any) -> None:
        folder = spec_dir if spec_dir is not None else _default_spec_dir()
        super().__init__(FakeBigCommerce(orders, seed=seed, spec_dir=folder, **kwargs))

    def order_ids(self) -> list[str]:
        with self.fake.lock:
            orders = sorted(
                self.fake.shop.orders.values(),
                key=lambda o: (datetime.strptime(o["date_modified"], "%a, %d %b %Y %H:%M:%S %z"), o["id"]),
            )
            return [str(o["id"]) for o in orders]

    def edit(self, order_id: str) -> None:
        """A customer message typed in by the merchant (``date_modified`` moves to now)."""
        self.fake.shop.edit(int(order_id), {"customer_message": f"Edited {order_id}"})

    def create(self) -> str:
        """A paid order awaiting fulfillment (11), one shipping address: shippable, its status settable,
        cancellable."""
        return str(self.fake.shop.add_order(status_id=11, lines=2)["id"])

    def status_of(self, order_id: str) -> str:
        with self.fake.lock:
            return str(self.fake.shop.orders[int(order_id)]["status_id"])

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            notes = str(self.fake.shop.orders[int(order_id)].get("staff_notes") or "")
        return notes.splitlines().count(text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return len(self.fake.shop.shipments.get(int(order_id), []))

    def stop(self) -> None:
        """Stop serving; a request BigCommerce's OpenAPI refuses fails the check that sent it."""
        super().stop()
        self.fake.assert_valid()
