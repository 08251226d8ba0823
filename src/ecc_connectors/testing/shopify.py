"""A fake Shopify store that executes the real Admin GraphQL schema, over a real local socket.

Use it to try the Shopify driver with no shop, and in tests::

    from ecc_connectors.drivers.shopify import ShopifyDriver
    from ecc_connectors.testing.shopify import FakeShopify

    with FakeShopify(orders=50) as store:
        driver = ShopifyDriver(store.shop_domain, store.token, base_url=store.base_url)

Theory of operation
-------------------
The server is :class:`ecc_connectors.testing.base.FakeStore` (request log, hooks, latency, 5xx, dropped
connections, lost write answers, listing hooks, the store clock). What is Shopify's:

* ``POST /admin/api/<version>/graphql.json``, authenticated by ``X-Shopify-Access-Token`` (401 with Shopify's
  ``{"errors": "[API] Invalid API key or access token ..."}`` otherwise); the answer names the version served
  in ``X-Shopify-API-Version``;
* every document is validated and executed by graphql-core against Shopify's published Admin schema
  (``_shopify_graphql``), so a field the schema lacks is an error here as on Shopify, and ``violations`` lists
  every document that would fail there (tests assert it stays empty);
* the query-cost bucket (``bucket_size``, ``restore_rate``, ``throttle(n)`` for forced ``THROTTLED`` answers),
  ``extensions.cost`` on every answer;
* bulk operations (:meth:`FakeShopify.bulk`: status reads before completing, failure, an unsorted result) whose
  JSONL file is served from ``GET /bulk/<n>.jsonl`` on the same socket, with byte ranges (``Range: bytes=a-b``
  → 206);
* only mutations are writes (:meth:`FakeShopify.is_write`), so ``lose_write_answers`` hits mutations only.

Every ``orders`` root query is a listing request for ``on_listing`` / ``schedule``, so a test can edit the shop
between the pages of a download. :class:`ShopifyConformanceStore` adapts the fake to the driver conformance
suite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLError

from ._base_http import Answer, HttpError, ReceivedRequest, Route
from ._shopify_graphql import CostBucket, GraphQLEndpoint
from ._shopify_rest import order_from_rest
from ._shopify_schema import admin_schema, load_seconds
from ._shopify_shop import ShopifyShop
from ._shopify_state import numeric_id
from .base import FakeStore
from .conformance import FakeStoreAdapter

__all__ = ["FakeShopify", "ShopifyConformanceStore", "shopify_status"]

_VERSION = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json")
_MUTATION = re.compile(r"^\s*(?:#[^\n]*\n\s*)*mutation\b")


def shopify_status(order: dict[str, Any]) -> str:
    """The status code an order shows in the SDK (``FINANCIAL|FULFILLMENT``; ``CANCELLED`` replaces the
    financial axis of a cancelled order, ``CLOSED`` the fulfilment axis of an archived one): the fake's own
    reading of the driver's documented rule, used by the conformance adapter."""
    financial = "CANCELLED" if order.get("cancelledAt") else str(order["displayFinancialStatus"])
    fulfilment = "CLOSED" if order.get("closed") else str(order["displayFulfillmentStatus"])
    return f"{financial}|{fulfilment}"


class FakeShopify(FakeStore):
    """A fake Shopify shop on ``127.0.0.1`` (module notes). ``shop`` holds the objects; ``endpoint`` the
    GraphQL execution (``violations``, ``queries``, ``bucket``)."""

    name = "fake-shopify"
    description = "fake Shopify store"

    def __init__(
        self,
        orders: int = 0,
        *,
        seed: int = 1,
        token: str = "shpat_fake_token_0123456789",
        shop_domain: str = "ecc-test.myshopify.com",
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        currency: str = "USD",
        scopes: Iterable[str] | None = None,
        schema_file: Path | None = None,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.schema = admin_schema(schema_file)
        self.token = token
        self.strict = strict
        self.shop_domain = shop_domain
        extra: dict[str, Any] = {} if scopes is None else {"scopes": scopes}
        self.shop = ShopifyShop(self.schema, self.now, currency=currency, **extra)
        self.bucket = CostBucket(bucket_size, restore_rate)
        self.endpoint = GraphQLEndpoint(
            self.schema,
            self.shop,
            self.bucket,
            listing=self._listing,
            file_url=lambda n: f"{self.base_url}/bulk/{n}.jsonl",
        )
        self.versions_served: list[str] = []
        self.seed_orders(self.shop, orders, seed)
        self.route("POST", _VERSION, self._graphql)
        self.route("GET", r"/bulk/(\d+)\.jsonl", self._bulk_file, auth=None)

    @staticmethod
    def schema_load_seconds() -> float | None:
        """How long this process took to build the Admin schema (once)."""
        return load_seconds()

    # -- knobs -----------------------------------------------------------------------------------------------

    @property
    def violations(self) -> list[str]:
        """Every document the driver sent that the real API would refuse (invalid against the schema)."""
        with self.lock:
            return list(self.endpoint.violations)

    def __exit__(self, *exc_info: object) -> None:
        """Stop serving; then fail loudly if the driver sent a document the real API would refuse."""
        self.stop()
        if self.strict and self.violations and exc_info[0] is None:
            raise AssertionError(f"documents the Admin schema refuses: {self.violations[:3]}")

    @property
    def ties_against_id(self) -> bool:
        """Order rows stamped in the same second by descending id (Shopify documents no tie order)."""
        with self.lock:
            return self.endpoint.tie_sign < 0

    @ties_against_id.setter
    def ties_against_id(self, value: bool) -> None:
        with self.lock:
            self.endpoint.tie_sign = -1 if value else 1

    def deny_fields(self, *names: str) -> None:
        """Answer these ``Order`` fields with Shopify's ``ACCESS_DENIED`` field error (protected customer data
        an app was not approved for), the rest of the answer intact; no names: deny none."""
        with self.lock:
            self.endpoint.denied_fields = set(names)

    def throttle(self, count: int = 1) -> None:
        """The next ``count`` GraphQL requests are answered ``THROTTLED`` (in a 200, nothing run)."""
        with self.lock:
            self.endpoint.throttle_next += count

    def bulk(self, *, steps: int | None = None, fail: bool | None = None, unsorted: bool | None = None) -> None:
        """Bulk operations complete after ``steps`` status reads (``RUNNING`` until then), or fail; ``unsorted``
        writes the result's orders in reverse, ignoring the query's ``sortKey``."""
        with self.lock:
            if unsorted is not None:
                self.endpoint.bulk_unsorted = unsorted
            if steps is not None:
                self.endpoint.bulk_steps = steps
            if fail is not None:
                self.endpoint.bulk_fail = fail

    @property
    def cost_spent(self) -> float:
        with self.lock:
            return self.bucket.spent

    # -- the base's hooks ------------------------------------------------------------------------------------

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        given = {k.lower(): v for k, v in request.headers.items()}.get("x-shopify-access-token")
        if given != self.token:
            raise HttpError(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        return Answer(status, json.dumps({"errors": message}).encode(), dict(headers or {}))

    def crash_answer(self, exc: BaseException) -> Answer:
        """A bug in the fake itself: answered 500 with the exception, and kept as a violation so tests fail."""
        self.endpoint.violations.append(f"the fake failed: {type(exc).__name__}: {exc}")
        return self.error_answer(500, f"The fake store failed: {type(exc).__name__}: {exc}")

    def is_write(self, request: ReceivedRequest) -> bool:
        if request.method != "POST":
            return False
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return False
        return isinstance(body, dict) and bool(_MUTATION.match(str(body.get("query") or "")))

    def _listing(self) -> None:
        failed = self.listing_request()
        if failed is not None:
            raise GraphQLError("Internal error. Looks like something went wrong on our end.")

    # -- routes ----------------------------------------------------------------------------------------------

    def _graphql(self, request: ReceivedRequest, version: str) -> Answer:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise HttpError(400, "Bad Request: the body is not JSON") from None
        with self.lock:
            self.versions_served.append(version)
            answer, _mutation = self.endpoint.answer(body)
        served = self.json_answer(answer)
        served.headers["X-Shopify-API-Version"] = version
        return served

    def _bulk_file(self, request: ReceivedRequest, number: str) -> Answer:
        with self.lock:
            run = self.endpoint.bulk.get(int(number))
            data = run.file if run is not None else None
        if data is None:
            raise HttpError(404, "NoSuchKey")
        wanted = {k.lower(): v for k, v in request.headers.items()}.get("range")
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if found is None:
            return Answer(200, data, {"Content-Type": "application/jsonl"})
        start = int(found.group(1))
        end = min(len(data) - 1, int(found.group(2))) if found.group(2) else len(data) - 1
        if start >= len(data):
            return Answer(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        return Answer(
            206,
            data[start : end + 1],
            {
                "Content-Type": "application/jsonl",
                "Content-Range": f"bytes {start}-{end}/{len(data)}",
            },
        )

    # -- store-side helpers for tests ------------------------------------------------------------------------

    def add_order(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            return self.shop.add_order(**kwargs)

    def add_rest_order(self, rest: Mapping[str, Any]) -> dict[str, Any]:
        """Serve one of Shopify's REST-shaped sample orders (a recorded fixture) as a GraphQL ``Order``."""
        with self.lock:
            return order_from_rest(self.shop, rest)

    def order(self, order_id: str | int) -> dict[str, Any]:
        with self.lock:
            return self.shop.orders[int(order_id)]


class ShopifyConformanceStore(FakeStoreAdapter[FakeShopify]):
    """The fake Shopify store as a ``ConformanceStore``: order ids are ``legacyResourceId`` strings (what
    ``ShopifyDriver`` calls ``Order.order_id``); a status is :func:`shopify_status`; a comment is a line of the
    order's note or its cancellation's staff note; a shipment is a fulfilment."""

    def __init__(self, orders: int = 30, seed: int = 3, **kwargs: Any) -> None:
        super().__init__(FakeShopify(orders, seed=seed, **kwargs))

    def order_ids(self) -> list[str]:
        with self.fake.lock:
            rows = sorted(self.fake.shop.orders.values(), key=lambda o: (o["updatedAt"], numeric_id(o["id"])))
            return [str(o["legacyResourceId"]) for o in rows]

    def edit(self, order_id: str) -> None:
        with self.fake.lock:
            self.fake.shop.edit_address(int(order_id), f"Edited {order_id}")

    def create(self) -> str:
        with self.fake.lock:
            order = self.fake.shop.add_order(financial="PENDING", lines=(("MUG-001", 2), ("SOCK-3PK", 1)))
            return str(order["legacyResourceId"])

    def status_of(self, order_id: str) -> str:
        with self.fake.lock:
            return shopify_status(self.fake.shop.orders[int(order_id)])

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            order = self.fake.shop.orders[int(order_id)]
            lines = str(order.get("note") or "").split("\n")
            staff = str((order.get("cancellation") or {}).get("staffNote") or "")
            return lines.count(text) + int(staff == text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return len(self.fake.shop.orders[int(order_id)]["fulfillments"])

    def stop(self) -> None:
        """Stop serving; a document the real API would refuse fails the check that sent it."""
        super().stop()
        if self.fake.violations:
            raise AssertionError(f"the driver sent documents the Admin schema refuses: {self.fake.violations[:3]}")
