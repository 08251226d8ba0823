"""The fake Ecwid store on a real local socket: the dialect's handlers (``_dialect.py``) as routes on the SDK's
fake-store base, :class:`ecc_connectors.testing.base.FakeStore`.

The base brings the server, the request log (``requests``), ``on_request`` hooks, latency, the rate limit, the
faults (``inject_429``, ``inject_5xx``, ``drop_connections``, ``short_bodies``, ``lose_write_answers``), the
listing hooks (``on_listing``, ``schedule``) and the store clock (``clock`` / ``set_clock``, sent in ``Date``).
What is Ecwid's here: the ``/api/v3/{storeId}`` prefix, the token check (403 ``INVALID_API_TOKEN``), the error
body (``{"errorMessage", "errorCode"}``) and the routes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ecc_connectors.testing.base import Answer, FakeStore, HttpError, ReceivedRequest, Route

from . import _dialect
from ._dialect import EcwidShop

__all__ = ["FakeEcwidStore"]

_CODES = {
    400: "WRONG_PARAMETER", 401: "INVALID_API_TOKEN", 403: "INVALID_API_TOKEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMITED",
    500: "INTERNAL_ERROR", 502: "INTERNAL_ERROR", 503: "SERVICE_UNAVAILABLE", 504: "INTERNAL_ERROR",
}


class FakeEcwidStore(FakeStore):
    """A fake Ecwid store on ``127.0.0.1`` (an ephemeral port, its own thread)::

        with FakeEcwidStore(orders=50) as store:
            driver = EcwidDriver(store.store_id, store.token, base_url=store.base_url)

    ``store.shop`` holds the orders (``seed``, ``add_order``, ``edit``, ``find``); every knob of the base works
    (``latency``, ``rate_limit``, ``inject_429``, ``lose_write_answers``, ``on_listing``, ...). ``clock`` is the
    store's own time (an aware ``datetime``; by default the host's): the stamps the shop writes and the ``Date``
    of its answers. Every order search (``GET /orders``, key listings and reads by id included) is a listing
    request for ``on_listing`` and ``schedule``."""

    name = "fake-ecwid"
    description = "fake Ecwid store"

    def __init__(
        self,
        orders: int = 0,
        *,
        seed: int = 1,
        store_id: int = 1003,
        token: str = "secret_fake_token",
        clock: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(clock=clock, **kwargs)
        self.shop = EcwidShop(store_id, token, lambda: self.now().timestamp())
        self.shop.lock = self.lock  # one lock: a listing hook's change and a request never interleave
        if orders:
            now = int(self.now().timestamp())
            self.shop.seed(orders, start=now - 30 * 86400, end=now - 3600, seed=seed)
        self.route("GET", r"/orders", self._search)
        self.route("GET", r"/orders/([^/]+)", self._get_order)
        self.route("PUT", r"/orders/([^/]+)", self._update)
        self.route("GET", r"/profile/order_statuses", self._statuses)

    @classmethod
    def started(cls, orders: int = 0, **kwargs: Any) -> FakeEcwidStore:
        """A store made and started (for a ``store_factory``)."""
        return cls(orders, **kwargs).start()

    @property
    def store_id(self) -> int:
        return self.shop.store_id

    @property
    def token(self) -> str:
        return self.shop.token

    @property
    def base_url(self) -> str:
        """What the driver takes as ``base_url`` (the driver adds the store id): ``http://127.0.0.1:<port>/api/v3``."""
        return f"http://{self.host}:{self.port}/api/v3"

    # -- the base's hooks: Ecwid's prefix, token check and error body ---------------------------------------

    def route_path(self, request: ReceivedRequest) -> str:
        prefix = f"/api/v3/{self.shop.store_id}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            raise HttpError(404, "Store with specified ID was not found", "STORE_NOT_FOUND")
        return request.path[len(prefix):].rstrip("/")

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        given = {key.lower(): value for key, value in request.headers.items()}.get("authorization")
        if given != f"Bearer {self.token}":
            raise HttpError(403, "Invalid access token in the request", "INVALID_API_TOKEN")

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """Ecwid's error body; ``parameters`` may name the ``errorCode`` (else it follows from the status)."""
        code = parameters if isinstance(parameters, str) else _CODES.get(status, "INTERNAL_ERROR")
        return Answer(status, json.dumps({"errorMessage": message, "errorCode": code}).encode(), dict(headers or {}))

    def internal_error_answer(self) -> Answer:
        return self.error_answer(500, "Internal error", "INTERNAL_ERROR")

    # -- routes ----------------------------------------------------------------------------------------------

    def _served(self, answer: _dialect.Answer) -> Answer:
        if answer.status >= 400 and isinstance(answer.body, Mapping):
            return self.error_answer(
                answer.status, str(answer.body.get("errorMessage")), answer.body.get("errorCode"), answer.headers
            )
        served = self.json_answer(answer.body, answer.status)
        served.headers.update(answer.headers)
        return served

    def _search(self, request: ReceivedRequest) -> Answer:
        with self.lock:
            failed = self.listing_request()
            if failed is not None:
                return failed
            return self._served(_dialect.search(self.shop, dict(request.query)))

    def _get_order(self, request: ReceivedRequest, order_id: str) -> Answer:
        return self._served(_dialect.get_order(self.shop, order_id, dict(request.query)))

    def _update(self, request: ReceivedRequest, order_id: str) -> Answer:
        try:
            body = request.json()
        except ValueError:
            raise HttpError(400, "The request body is not JSON", "WRONG_PARAMETER") from None
        return self._served(_dialect.update(self.shop, order_id, body))

    def _statuses(self, request: ReceivedRequest) -> Answer:
        return self._served(_dialect.order_statuses(self.shop))
