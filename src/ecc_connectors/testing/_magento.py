"""A fake Magento 2 store: a real HTTP server on 127.0.0.1 that speaks Magento's REST dialect.

Start it in a test or a script, point a driver at ``store.base_url`` and it answers like a store would::

    with FakeMagentoStore(seed=7, order_count=50) as store:
        httpx.get(f"{store.base_url}/rest/default/V1/orders",
                  params={"searchCriteria[pageSize]": 10},
                  headers={"Authorization": f"Bearer {store.token}"})

What it implements: order search with ``searchCriteria`` (filter groups, every condition type, sort orders,
paging with Magento's past-the-end quirk, an input limit on ``pageSize``, the ``fields`` filter), order
detail, ship / invoice / comments / cancel / hold / unhold with the state changes a store makes, shipments and
invoices lists, product search, guest and customer carts through to order creation, admin tokens, bearer or
OAuth 1.0a authentication, and ``{message, parameters}`` error bodies.

Serving is cheap: each order is kept as its rendered JSON (re-rendered only when it changes; with ``php_json``
in PHP's escaping, with ``gzip`` also as a ready deflate segment) and a search is computed once per store
version, so concurrent page requests of one download only join cached bytes. The ``fields`` filter of the
reconcile listing (``items[entity_id,updated_at],total_count``) is answered from each order's top-level
scalars, without decoding any stored JSON.

Every answer carries a ``Date`` header read from the store's own clock (``clock`` / ``set_clock``), the clock
that stamps ``created_at`` / ``updated_at``, so a test can put the store ahead of or behind its client.

Test knobs, all thread-safe and changeable while the server runs: ``latency``, ``rate_limit``,
``inject_429``, ``inject_5xx``, ``drop_connections``, ``short_bodies``, ``lose_write_answers``,
``stamp_outside_window``, ``leak_order``, ``total_count_override``, ``ignore_page_size``, ``shuffle_ties``,
``php_json``, ``gzip``, ``schedule`` / ``churn`` (changes while a download lists), ``edit_order``,
``admin_edit``, ``add_malformed_order`` (payload defects and raw poisons), ``expire_admin_tokens``, the
``requests`` log and ``on_request`` hooks.
"""

from __future__ import annotations

import base64
import bisect
import collections
import contextlib
import copy
import functools
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import attrs

from . import _magento_seed as seed_
from . import _magento_wire as wire
from ._magento_faults import (
    AnswerFaults,
    Churn,
    ChurnEvent,
    ListingSchedule,
    LostAnswerMode,
    ShortBody,
    Trigger,
)
from ._magento_seed import (
    STATE_STATUSES,
    IdSequence,
    OrderBuilder,
    Product,
    format_date,
    generate_products,
    num,
)

_dumps = wire.dumps
_loads = wire.loads

__all__ = ["Churn", "ChurnEvent", "FakeMagentoStore", "MagentoOAuthKeys", "ReceivedRequest"]

_UTC = timezone.utc
DEFAULT_TOKEN = "fake-magento-integration-token"
_CONDITIONS = frozenset(
    {
        "eq",
        "neq",
        "gt",
        "gteq",
        "lt",
        "lteq",
        "from",
        "to",
        "in",
        "nin",
        "like",
        "nlike",
        "null",
        "notnull",
        "finset",
        "moreq",
    }
)
_UNAUTHORIZED = "The consumer isn't authorized to access %resources."
_NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."
_NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"
_INTERNAL_ERROR = "Internal Error. Details are available in Magento log file. Report ID: %1"
_ADMIN_TOKEN_PATH = re.compile(r"/V1/integration/admin/token/?$")
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# Envelope pieces of an order page, pre-compressed for gzip_join (plain ASCII: the same in PHP's escaping).
_ITEMS_OPEN = b'{"items":['
_SEG_ITEMS_OPEN = wire.deflate_segment(_ITEMS_OPEN)
_SEG_COMMA = wire.deflate_segment(b",")


@attrs.frozen
class MagentoOAuthKeys:
    """The four OAuth 1.0a values of a Magento integration; requests signed with them are accepted."""

    consumer_key: str
    consumer_secret: str = attrs.field(repr=False)
    access_token: str
    access_token_secret: str = attrs.field(repr=False)


@attrs.frozen
class ReceivedRequest:
    """One request as the store received it. Headers and body stay out of the repr: they hold secrets."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    received_at: float = attrs.field(repr=False)

    @property
    def url(self) -> str:
        if not self.query:
            return self.path
        return f"{self.path}?{urllib.parse.urlencode(self.query)}"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _ApiError(Exception):
    def __init__(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = [] if parameters is None else parameters
        self.headers = dict(headers or {})


@attrs.define
class _Response:
    """An answer before the wire: ``body`` is JSON, already in PHP's escaping when ``php``; ``parts`` (when
    set) are the pieces ``body`` joins, with deflate segments where ready, for a cheap gzip."""

    status: int
    body: bytes
    headers: dict[str, str] = attrs.field(factory=dict)
    php: bool = False
    parts: list[tuple[bytes, bytes | None]] | None = None
    fields_done: bool = False
    truncate_to: float | None = None


@attrs.define
class _Record:
    """An order as stored: its rendered JSON (served as is, in the store's current encoding, any raw poison
    planted), the top-level scalars searches filter on (also the index the ``fields`` listing is answered
    from), the blob as a deflate segment while ``gzip`` is on, and for a poisoned order its clean JSON."""

    blob: bytes
    row: dict[str, Any]
    segment: bytes | None = None
    source: bytes | None = None
    # Position of each row key, shared by every record whose row has the same keys in the same order.
    positions: dict[str, int] = attrs.field(factory=dict)


@attrs.define
class _Cart:
    cart_id: str
    quote_id: int
    customer_id: int | None
    items: list[dict[str, Any]] = attrs.field(factory=list)
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_method: tuple[str, str] | None = None
    email: str | None = None
    ordered: int | None = None


@attrs.define
class _Stats:
    requests: int = 0
    latency_seconds: float = 0.0
    dropped: int = 0
    injected: int = 0
    throttled: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    truncated: int = 0
    lost_answers: int = 0


def _row_of(order: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not isinstance(v, (dict, list))}


def _render(order: Mapping[str, Any]) -> bytes:
    return _dumps(order)


class FakeMagentoStore:
    """A Magento 2.4 store on ``127.0.0.1`` (ephemeral port), served from its own thread.

    Seeding: ``orders`` (payloads added as given), ``order_count`` generated orders (default 40 when no
    ``orders`` are given; deterministic for ``seed`` and ``anchor``, the moment generated history ends, by
    default the start of today UTC), ``edited_pairs`` fixture-shaped admin-edited pairs (original canceled,
    new entity ``…-1`` with ``relation_parent_id``), ``products`` (payloads; default a generated catalogue).

    Auth: ``Authorization: Bearer <t>`` with ``t`` in ``tokens`` or issued by the admin-token endpoint for one
    of ``admin_users``; with ``oauth`` set, OAuth 1.0a HMAC-SHA256/SHA1 signed requests (signature checked).

    Throttling: ``rate_limit`` requests per second (see the property); its window runs on ``monotonic``, which
    a test may replace with a clock it moves by hand.

    Clock: ``clock`` (default: the host's UTC time) stamps what the store writes and the ``Date`` header of
    every answer.

    Hostile behaviour, each also a property: ``shuffle_ties`` (rows tied on every sort field come back in a
    new order on each request, drawn from ``seed``), ``total_count_override`` (a lying ``total_count``),
    ``ignore_page_size`` (every match on one page), ``php_json`` (answers escaped like PHP's ``json_encode``),
    ``gzip`` (``Content-Encoding: gzip`` when the client accepts it).
    """

    def __init__(
        self,
        *,
        orders: Iterable[Mapping[str, Any]] | None = None,
        seed: int = 0,
        order_count: int | None = None,
        edited_pairs: int | None = None,
        anchor: datetime | None = None,
        products: Iterable[Mapping[str, Any]] | None = None,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        admin_users: Mapping[str, str] | None = None,
        oauth: MagentoOAuthKeys | None = None,
        store_codes: Iterable[str] = ("default", "all"),
        default_page_size: int | None = 20,
        max_page_size: int | None = 300,
        latency: float = 0.0,
        rate_limit: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        request_log_size: int = 10_000,
        state_statuses: Mapping[str, Iterable[str]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        shuffle_ties: bool = False,
        total_count_override: int | None = None,
        ignore_page_size: bool = False,
        php_json: bool = False,
        gzip: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._ids = IdSequence()
        self._clock = clock or (lambda: datetime.now(_UTC))
        self._last_write: datetime | None = None
        self._tokens: set[str] = set(tokens)
        self._admin_users = dict(admin_users if admin_users is not None else {"admin": "admin123"})
        self._admin_tokens: set[str] = set()
        self._oauth = oauth
        self._store_codes = set(store_codes)
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self._latency = float(latency)
        self._rate_limit = _checked_rate(rate_limit)
        self._monotonic = monotonic
        self._admitted: collections.deque[float] = collections.deque()
        self._state_statuses = {k: tuple(v) for k, v in (state_statuses or STATE_STATUSES).items()}
        self._host = host
        self._port = port

        self._shuffle_ties = bool(shuffle_ties)
        self._tie_rng = random.Random(f"ties:{seed}")
        self._total_count_override = total_count_override
        self._ignore_page_size = bool(ignore_page_size)
        self._php_json = bool(php_json)
        self._gzip = bool(gzip)
        self._answer_faults = AnswerFaults()
        self._schedule = ListingSchedule()
        self._leaks: set[int] = set()
        # Orders carrying a raw poison: entity id -> (defect, nesting depth); re-planted whenever re-rendered.
        self._poisons: dict[int, tuple[str, int]] = {}

        self._orders: dict[int, _Record] = {}
        self._shapes: dict[tuple[str, ...], dict[str, int]] = {}
        self._version = 0
        self._search_version = -1
        self._search_cache: dict[Any, _Found] = {}
        self._shipments: dict[int, dict[str, Any]] = {}
        self._invoices: dict[int, dict[str, Any]] = {}
        self._carts: dict[str, _Cart] = {}
        self._faults: collections.deque[tuple[str, Any]] = collections.deque()
        # Bounded so a long benchmark run does not grow without limit.
        self._requests: collections.deque[ReceivedRequest] = collections.deque(maxlen=request_log_size)
        self._hooks: list[Callable[[ReceivedRequest], None]] = []
        self.hook_errors: list[BaseException] = []
        self._stats = _Stats()

        catalogue = generate_products()
        self._catalogue: dict[str, Product] = {p.sku: p for p in catalogue}
        self._products: list[dict[str, Any]] = (
            [dict(p) for p in products] if products is not None else [p.payload for p in catalogue]
        )
        for payload in self._products:
            self._ids.bump("product", int(payload.get("id", 0)))
        self._builder = OrderBuilder(self._ids, catalogue)
        self._rng = random.Random(seed)

        if order_count is None:
            order_count = 40 if orders is None else 0
        if edited_pairs is None:
            edited_pairs = 1 if orders is None else 0
        if anchor is None:
            anchor = datetime.now(_UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self._anchor = anchor
        for given in orders or ():
            self.add_order(given)
        for generated in self._builder.generate(self._rng, order_count, anchor):
            self._store(generated)
            self._seed_documents(generated)
        for _ in range(edited_pairs):
            self._seed_edited_pair(anchor)

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeMagentoStore:
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _Handler)
        server.store = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-magento", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMagentoStore:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve from the calling thread until interrupted (the ``magento_main`` entry point uses this)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(
                "the fake Magento store is not running: call start() or use it as a context manager"
            )
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The site root; the API lives under ``/rest/<store_code>/V1`` (and ``/rest/V1``)."""
        return f"http://{self._host}:{self.port}"

    def api_url(self, store_code: str = "default") -> str:
        return f"{self.base_url}/rest/{store_code}"

    @property
    def token(self) -> str:
        """One accepted integration token (the first configured)."""
        return next(iter(sorted(self._tokens))) if self._tokens else ""

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<FakeMagentoStore {where} orders={len(self._orders)}>"

    # -- seeding ---------------------------------------------------------------------------------------------

    def add_order(self, payload: Mapping[str, Any]) -> int:
        """Store a copy of ``payload`` as an order (``entity_id`` assigned when missing); returns its id."""
        order = copy.deepcopy(dict(payload))
        with self._lock:
            entity_id = order.get("entity_id")
            if not isinstance(entity_id, int):
                entity_id = self._ids.next("order")
                order["entity_id"] = entity_id
            self._ids.bump("order", entity_id)
            self._bump_ids_from(order)
            self._store(order)
        return entity_id

    def add_malformed_order(self, defect: str = "bad_amount", *, depth: int = 5000) -> int:
        """Seed an order a driver must survive; returns its id. It is listed and served like any other order,
        inside a normal ``{"items": [...]}`` page whose other orders stay intact.

        Payload defects (valid JSON, wrong content): ``bad_amount`` (grand_total not a number),
        ``missing_items``, ``bad_date`` (created_at unparsable), ``no_increment_id``, ``not_an_object`` (a
        string as item).

        Raw poisons, planted in the stored bytes the way a broken extension, a mis-encoded database column or
        a hand-edited row reaches real stores: ``huge_exponent`` (``"grand_total":1e1000000``, a bare number
        no double holds), ``invalid_utf8`` (the bytes ``FF FE`` inside the customer's first name) and
        ``deep_nesting`` (an extra, otherwise ignored field ``"x":[[[...]]]`` nested ``depth`` arrays deep).
        A poison stays planted when the order changes later; the store's own reads (``order``, searches)
        see the clean payload, ``raw_order`` the served bytes."""
        if defect not in wire.DEFECTS and defect not in wire.POISON_DEFECTS:
            raise ValueError(f"unknown defect {defect!r}")
        with self._lock:
            order = self._builder.build(
                self._rng,
                created=self._anchor - timedelta(hours=1),
                state="new",
                status="pending",
                guest=False,
                anchor=self._anchor,
            )
            if defect == "bad_amount":
                order["grand_total"] = "twelve"
            elif defect == "missing_items":
                del order["items"]
            elif defect == "bad_date":
                order["created_at"] = "yesterday-ish"
            elif defect == "no_increment_id":
                del order["increment_id"]
            elif defect == "not_an_object":
                order["items"] = ["not an item"]
            else:
                self._poisons[int(order["entity_id"])] = (defect, depth)
            self._store(order)
            return int(order["entity_id"])

    def generate_order(self, **kwargs: Any) -> int:
        """Add one generated order now (``state``, ``status``, ``guest``, ``created`` may be given)."""
        with self._lock:
            created = kwargs.pop("created", None) or self._now()
            state = kwargs.pop("state", "new")
            status = kwargs.pop("status", self._state_statuses.get(state, (state,))[0])
            order = self._builder.build(
                self._rng,
                created=created,
                state=state,
                status=status,
                guest=kwargs.pop("guest", False),
                anchor=created,
                **kwargs,
            )
            self._store(order)
            self._seed_documents(order)
            return int(order["entity_id"])

    def _seed_edited_pair(self, anchor: datetime) -> None:
        created = anchor - timedelta(days=2, hours=self._rng.randint(0, 40))
        order = self._builder.build(
            self._rng,
            created=created,
            state="new",
            status="pending",
            guest=False,
            anchor=created + timedelta(minutes=5),
        )
        self._store(order)
        first = order["items"][0]
        self._admin_edit(
            int(order["entity_id"]),
            {"item_qty": {first["sku"]: int(first["qty_ordered"]) + 1}},
            when=created + timedelta(minutes=19),
        )

    def _bump_ids_from(self, order: Mapping[str, Any]) -> None:
        increment = str(order.get("increment_id", "")).split("-")[0]
        if increment.isdigit():
            self._ids.bump("increment", int(increment))
        for item in order.get("items") or []:
            if isinstance(item, dict) and isinstance(item.get("item_id"), int):
                self._ids.bump("order_item", item["item_id"])
        for history in order.get("status_histories") or []:
            if isinstance(history, dict) and isinstance(history.get("entity_id"), int):
                self._ids.bump("order_status_history", history["entity_id"])
        billing = order.get("billing_address")
        if isinstance(billing, dict) and isinstance(billing.get("entity_id"), int):
            self._ids.bump("order_address", billing["entity_id"])
        if isinstance(order.get("quote_id"), int):
            self._ids.bump("quote", order["quote_id"])

    def _store(self, order: dict[str, Any]) -> None:
        entity_id = int(order["entity_id"])
        self._orders[entity_id] = self._record(order)
        self._version += 1

    def _record(self, order: Mapping[str, Any]) -> _Record:
        """Render an order once, in the store's current encoding, poison re-planted, gzip segment ready."""
        clean = _render(order)
        blob = wire.php_escape(clean) if self._php_json else clean
        source = None
        poisoned = self._poisons.get(int(order["entity_id"]))
        if poisoned is not None:
            blob = wire.poison(blob, *poisoned)
            source = clean
        segment = wire.deflate_segment(blob) if self._gzip else None
        row = _row_of(order)
        keys = tuple(row)
        positions = self._shapes.get(keys)
        if positions is None:
            positions = self._shapes[keys] = {k: i for i, k in enumerate(keys)}
        return _Record(blob, row, segment, source, positions)

    @staticmethod
    def _decode(record: _Record) -> dict[str, Any]:
        result: dict[str, Any] = _loads(record.source if record.source is not None else record.blob)
        return result

    # -- reading state (for tests) ---------------------------------------------------------------------------

    def order(self, entity_id: int) -> dict[str, Any]:
        """The stored order (for a poisoned one, the clean payload its poison was planted in)."""
        with self._lock:
            record = self._orders.get(entity_id)
            if record is None:
                raise KeyError(entity_id)
            return self._decode(record)

    def raw_order(self, entity_id: int) -> bytes:
        """The bytes ``GET /V1/orders/{id}`` serves for this order (before any gzip), poison included."""
        with self._lock:
            record = self._orders.get(entity_id)
            if record is None:
                raise KeyError(entity_id)
            return record.blob

    def orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._decode(self._orders[k]) for k in sorted(self._orders)]

    def comments(self, entity_id: int) -> list[dict[str, Any]]:
        """The order's status history as ``GET /V1/orders/{id}`` shows it: newest first."""
        histories = self.order(entity_id).get("status_histories") or []
        return [h for h in histories if isinstance(h, dict)]

    def cart_quote_id(self, cart_id: str) -> int:
        """The numeric quote id behind a cart id (a guest cart's masked id, or a customer cart's own id); the
        order placed from the cart carries it as ``quote_id``."""
        with self._lock:
            cart = self._carts.get(str(cart_id))
            if cart is None:
                raise KeyError(cart_id)
            return cart.quote_id

    def order_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._orders)

    def find_order(self, increment_id: str) -> dict[str, Any]:
        with self._lock:
            for entity_id, record in self._orders.items():
                if record.row.get("increment_id") == increment_id:
                    return self.order(entity_id)
        raise KeyError(increment_id)

    def shipments(self, order_id: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._shipments.values() if order_id in (None, s["order_id"])]

    def invoices(self, order_id: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._invoices.values() if order_id in (None, s["order_id"])]

    @property
    def products(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._products)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._stats.requests

    @property
    def latency_applied(self) -> float:
        """Total seconds of artificial latency the server has applied (its own accounting, not wall time)."""
        with self._lock:
            return self._stats.latency_seconds

    @property
    def peak_concurrent_latency(self) -> int:
        """The most requests that were waiting out their latency at the same moment."""
        with self._lock:
            return self._stats.peak_in_flight

    @property
    def dropped_connections(self) -> int:
        with self._lock:
            return self._stats.dropped

    @property
    def throttled(self) -> int:
        """Requests answered 429 by the ``rate_limit`` knob (not counting ``inject_429``)."""
        with self._lock:
            return self._stats.throttled

    @property
    def stats(self) -> dict[str, float]:
        """The server's own counters at one moment: ``requests`` (every request received), ``throttled``,
        ``injected`` (faults answered), ``dropped`` (connections closed without an answer, lost write answers
        in ``drop`` mode included), ``truncated`` (``short_bodies`` used), ``lost_answers``
        (``lose_write_answers`` used), ``listing_requests``, ``latency_seconds``, ``peak_in_flight``."""
        with self._lock:
            return {
                "requests": self._stats.requests,
                "throttled": self._stats.throttled,
                "injected": self._stats.injected,
                "dropped": self._stats.dropped,
                "truncated": self._stats.truncated,
                "lost_answers": self._stats.lost_answers,
                "listing_requests": self._schedule.seen,
                "latency_seconds": self._stats.latency_seconds,
                "peak_in_flight": self._stats.peak_in_flight,
            }

    # -- knobs -----------------------------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(seconds))

    @property
    def rate_limit(self) -> float | None:
        """Requests per second the store accepts, the way a proxy in front of a store limits (``None``: no
        limit). Every request counts, whatever its path or credentials: one that would make more than
        ``n = max(1, floor(rate_limit))`` accepted in the last ``n / rate_limit`` seconds (the last second,
        for a whole-number rate) is answered 429 at once, before latency, with ``Retry-After`` (whole
        seconds until a place frees, at least 1) and counted in :attr:`throttled`. A refused request takes no
        place."""
        with self._lock:
            return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, per_second: float | None) -> None:
        with self._lock:
            self._rate_limit = _checked_rate(per_second)

    def _admit(self) -> float | None:
        """Under ``_lock``: ``None`` when the request may pass (and takes a place), else seconds to wait."""
        rate = self._rate_limit
        if rate is None:
            return None
        places = max(1, int(rate))
        span = places / rate
        now = self._monotonic()
        admitted = self._admitted
        while admitted and now - admitted[0] >= span:
            admitted.popleft()
        if len(admitted) >= places:
            return span - (now - admitted[-places])
        admitted.append(now)
        return None

    def inject_429(self, count: int = 1, retry_after: float | str = 1) -> None:
        """The next ``count`` requests answer 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._faults.extend([("429", retry_after)] * count)

    def inject_5xx(self, count: int = 1, status: int = 503) -> None:
        with self._lock:
            self._faults.extend([("5xx", status)] * count)

    def drop_connections(self, count: int = 1) -> None:
        """The next ``count`` requests get their connection closed without an answer."""
        with self._lock:
            self._faults.extend([("drop", None)] * count)

    def clear_faults(self) -> None:
        """Forget every pending fault: injected answers, drops, short bodies, lost write answers, stamps."""
        with self._lock:
            self._faults.clear()
            self._answer_faults.clear()

    def on_request(self, callback: Callable[[ReceivedRequest], None]) -> Callable[[ReceivedRequest], None]:
        """Call ``callback`` with every request received, before it is answered. Exceptions it raises are kept
        in ``hook_errors`` and answered as 500, so a failing check cannot go unnoticed."""
        with self._lock:
            self._hooks.append(callback)
        return callback

    def add_token(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)
            self._admin_tokens.discard(token)

    def expire_admin_tokens(self) -> None:
        """Forget every issued admin token, as when their 4-hour lifetime ends."""
        with self._lock:
            self._admin_tokens.clear()

    def edit_order(
        self, entity_id: int, changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]
    ) -> None:
        """Change an order now, as a store admin or an extension would, bumping ``updated_at``.

        ``changes`` is a callable mutating the payload, or a mapping deep-merged into it, where two keys are
        shortcuts: ``shipping_address`` (merged into the shipping assignment's address) and ``item_qty``
        (``{item_id or sku: qty}``, recomputing line and order totals).
        """
        with self._lock:
            order = self._load(entity_id)
            self._apply_changes(order, changes)
            self._touch(order)
            self._store(order)

    def admin_edit(
        self, entity_id: int, changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]
    ) -> int:
        """What the admin "Edit" button does: a new order ``<increment>-N`` linked by ``relation_parent_id``,
        holding the changed copy; the original is canceled. Returns the new entity id."""
        with self._lock:
            return self._admin_edit(entity_id, changes, when=None)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Replace the store's clock: what it stamps from now on, and the ``Date`` header of its answers."""
        with self._lock:
            self._clock = clock
            self._last_write = None

    def http_date(self) -> str:
        """The ``Date`` header the store would send now: RFC 7231 IMF-fixdate of its own clock."""
        return wire.http_date(self._clock())

    # -- knobs: hostile answers ------------------------------------------------------------------------------

    def short_bodies(self, count: int = 1, methods: Iterable[str] = ("GET",), fraction: float = 0.6) -> None:
        """The next ``count`` successful (2xx) answers to requests with one of ``methods`` come with their JSON
        cut to the first ``fraction`` of its bytes and a ``Content-Length`` that matches the cut body: what a
        proxy or a PHP worker killed mid-output leaves. The client reads a complete HTTP message whose JSON is
        broken. Writes the request asked for are applied. The cut is made before gzip, so a gzipped answer
        decompresses fine into broken JSON."""
        if count < 0 or not 0 <= fraction < 1:
            raise ValueError("count must be >= 0 and fraction in [0, 1)")
        fault = ShortBody(frozenset(m.upper() for m in methods), float(fraction))
        with self._lock:
            self._answer_faults.short.extend([fault] * count)

    def lose_write_answers(self, count: int = 1, mode: LostAnswerMode = "500", fraction: float = 0.6) -> None:
        """The next ``count`` write requests (POST, PUT or DELETE on any route but the admin-token endpoint)
        that succeed are fully applied to the store, then their answer is lost, as when PHP times out or a
        proxy gives up after the database committed: ``mode="500"`` answers HTTP 500 with Magento's
        ``Internal Error ... Report ID`` body, ``"drop"`` closes the connection without an answer,
        ``"short"`` answers 200 with the body cut to ``fraction`` (Content-Length matching). A write the
        store refuses (4xx) is answered normally and uses none up."""
        if mode not in ("500", "drop", "short"):
            raise ValueError(f"unknown mode {mode!r}: '500', 'drop' or 'short'")
        with self._lock:
            self._answer_faults.lost_writes.extend([(mode, float(fraction))] * count)

    def stamp_outside_window(self, count: int = 1, stamp: str = "2099-01-01 00:00:00") -> None:
        """The next ``count`` order listings (``GET /V1/orders``) with at least one order show the first
        order of the page with ``updated_at`` rewritten to ``stamp``, in the answer only (the stored order
        keeps its stamp; ``GET /V1/orders/{id}`` is unaffected): a stale cache or a misbehaving extension
        answering a row outside the window the filter asked for."""
        with self._lock:
            self._answer_faults.stamps.extend([stamp] * count)

    def leak_order(self, entity_id: int) -> None:
        """Make a stored order part of every order listing whatever its filters (it sorts and pages among the
        matches and counts in ``total_count``), as a misbehaving proxy, cache or extension plugin would.
        ``unleak_order`` undoes it."""
        with self._lock:
            if entity_id not in self._orders:
                raise KeyError(entity_id)
            self._leaks.add(entity_id)
            self._version += 1

    def unleak_order(self, entity_id: int) -> None:
        with self._lock:
            self._leaks.discard(entity_id)
            self._version += 1

    @property
    def total_count_override(self) -> int | None:
        """When set, every order listing answers this ``total_count`` whatever matched (``None``: the truth),
        as stores whose count query and item query disagree do (a plugin filtering the items, a replica
        lagging). Paging still follows the real matches (the past-the-end page is the real last page)."""
        with self._lock:
            return self._total_count_override

    @total_count_override.setter
    def total_count_override(self, value: int | None) -> None:
        with self._lock:
            self._total_count_override = None if value is None else int(value)

    @property
    def ignore_page_size(self) -> bool:
        """When true, an order listing returns every match on one page whatever ``pageSize`` and
        ``currentPage`` ask (echoed as sent), as stores with an extension that drops the collection's limit
        do. The ``pageSize`` input limit is still enforced."""
        with self._lock:
            return self._ignore_page_size

    @ignore_page_size.setter
    def ignore_page_size(self, value: bool) -> None:
        with self._lock:
            self._ignore_page_size = bool(value)

    @property
    def shuffle_ties(self) -> bool:
        """When true, rows that tie on every sort field a search names come back in a new random order on
        each request (drawn from the store's ``seed``), as MySQL may return them: ``ORDER BY updated_at``
        alone leaves the order of equal stamps to the query plan, so pages can overlap and skip. A search
        sorted by ``updated_at`` then ``entity_id`` has no ties; one with no sort order at all is a single
        tie and comes back shuffled whole. Off: ties come back in primary-key order."""
        with self._lock:
            return self._shuffle_ties

    @shuffle_ties.setter
    def shuffle_ties(self, value: bool) -> None:
        with self._lock:
            self._shuffle_ties = bool(value)

    @property
    def php_json(self) -> bool:
        """When true, answers are JSON as PHP's ``json_encode`` writes it with Magento's (default) flags:
        non-ASCII characters as ``\\uXXXX`` escapes and ``/`` as ``\\/``. Stored orders are re-encoded once
        when this changes (and at add time while it is on), not per answer."""
        with self._lock:
            return self._php_json

    @php_json.setter
    def php_json(self, value: bool) -> None:
        with self._lock:
            if bool(value) != self._php_json:
                self._php_json = bool(value)
                self._rerender_all()

    @property
    def gzip(self) -> bool:
        """When true, answers to requests that accept gzip (``Accept-Encoding``) of at least 1,100 bytes come
        with ``Content-Encoding: gzip`` at level 6 and ``Vary: Accept-Encoding``, as Magento's sample nginx
        configuration serves them. Each stored order is compressed once (at add time while this is on), so a
        page costs a join and a CRC, not a compression."""
        with self._lock:
            return self._gzip

    @gzip.setter
    def gzip(self, value: bool) -> None:
        with self._lock:
            if bool(value) != self._gzip:
                self._gzip = bool(value)
                for record in self._orders.values():
                    record.segment = wire.deflate_segment(record.blob) if self._gzip else None

    def _rerender_all(self) -> None:
        for entity_id, record in list(self._orders.items()):
            self._orders[entity_id] = self._record(self._decode(record))

    # -- knobs: a store that changes while it is listed ------------------------------------------------------

    @property
    def listing_requests(self) -> int:
        """Order listings (``GET /V1/orders`` with valid ``searchCriteria``) the store has answered or is
        answering; injected faults and refused requests never reach the listing and do not count."""
        with self._lock:
            return self._schedule.seen

    def schedule(self, after_listing_requests: int, action: Callable[[FakeMagentoStore], object]) -> None:
        """Run ``action(store)`` once, under the store lock, after ``after_listing_requests`` more order
        listings were answered: before the next one is (``0``: before the very next listing is answered).
        The change is in place before that listing is computed, never in the middle of an answer. An action
        that raises is kept in ``hook_errors`` and that listing is answered 500."""
        if after_listing_requests < 0:
            raise ValueError("after_listing_requests must be >= 0")
        with self._lock:
            target = self._schedule.seen + after_listing_requests + 1
            self._schedule.add(Trigger(lambda n: n == target, lambda _n: action(self), once=True))

    def churn(
        self,
        on_listing_request: int | Callable[[int], bool] = 1,
        *,
        edit: int = 0,
        create: int = 0,
        leave: int = 0,
        seed: int = 0,
    ) -> Churn:
        """Change the store while a download lists it, deterministically for ``seed``.

        ``on_listing_request`` counts order listings from this call (1 = the next one): an int fires once,
        before that listing is answered; a callable ``f(n)`` fires before every listing ``n`` it returns true
        for (``lambda n: n % 3 == 0``). Each firing, under the store lock, in this order:

        * ``edit`` orders chosen at random get their shipping city changed and ``updated_at`` set to now, so
          they move to the end of an ``updated_at`` sort (what an admin or an ERP sync does mid-download);
        * ``leave`` orders in state ``new`` or ``processing`` are put on hold (state and status ``holded``,
          ``updated_at`` now), so they leave a status filter and move past an ``updated_at`` window's end;
        * ``create`` new orders are generated like the seeded ones (``new`` / ``pending``), created now.

        Returns a :class:`Churn` handle: ``events`` (what changed, when), ``entity_ids(kind)``, ``stop()``."""
        if isinstance(on_listing_request, int) and on_listing_request < 1:
            raise ValueError("on_listing_request counts from 1 (the next listing request)")
        rng = random.Random(seed)
        handle = Churn(self._lock)
        with self._lock:
            base = self._schedule.seen
            if isinstance(on_listing_request, int):
                target = base + on_listing_request
                trigger = Trigger(
                    lambda n: n == target,
                    lambda n: self._churn_step(rng, handle, n - base, edit, create, leave),
                    once=True,
                    finished=lambda: handle.stopped,
                )
            else:
                wanted = on_listing_request
                trigger = Trigger(
                    lambda n: bool(wanted(n - base)),
                    lambda n: self._churn_step(rng, handle, n - base, edit, create, leave),
                    once=False,
                    finished=lambda: handle.stopped,
                )
            self._schedule.add(trigger)
        return handle

    def _churn_step(
        self, rng: random.Random, handle: Churn, listing: int, edit: int, create: int, leave: int
    ) -> None:
        ids = sorted(self._orders)
        edited = rng.sample(ids, min(edit, len(ids)))
        for entity_id in edited:
            order = self._load(entity_id)
            self._apply_changes(order, {"shipping_address": {"city": f"Churned {listing}-{entity_id}"}})
            stamp = self._touch(order)
            self._store(order)
            handle.record(ChurnEvent(listing, "edit", entity_id, stamp))
        candidates = [
            i for i in ids if i not in edited and self._orders[i].row.get("state") in ("new", "processing")
        ]
        for entity_id in rng.sample(candidates, min(leave, len(candidates))):
            order = self._load(entity_id)
            order["hold_before_state"] = order.get("state")
            order["hold_before_status"] = order.get("status")
            stamp = self._touch(order)
            order["state"] = "holded"
            order["status"] = self._state_statuses.get("holded", ("holded",))[0]
            self._store(order)
            handle.record(ChurnEvent(listing, "leave", entity_id, stamp))
        for _ in range(create):
            now = self._now()
            order = self._builder.build(
                rng,
                created=now,
                state="new",
                status=self._state_statuses.get("new", ("pending",))[0],
                guest=rng.random() < 0.25,
                anchor=now,
            )
            self._store(order)
            handle.record(ChurnEvent(listing, "create", int(order["entity_id"]), str(order["updated_at"])))

    # -- internals: state ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock().astimezone(_UTC).replace(microsecond=0)
        # Magento's timestamps never run backwards for one store, even if the host clock does.
        if self._last_write is not None and now < self._last_write:
            now = self._last_write
        self._last_write = now
        return now

    def _load(self, entity_id: int) -> dict[str, Any]:
        record = self._orders.get(entity_id)
        if record is None:
            raise _ApiError(404, _NOT_FOUND)
        return self._decode(record)

    def _touch(self, order: dict[str, Any], when: datetime | None = None) -> str:
        stamp = format_date(when or self._now())
        order["updated_at"] = stamp
        return stamp

    def _apply_changes(
        self, order: dict[str, Any], changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]
    ) -> None:
        if callable(changes):
            changes(order)
            return
        changes = dict(changes)
        address = changes.pop("shipping_address", None)
        quantities = changes.pop("item_qty", None)
        if address is not None:
            for assignment in order.get("extension_attributes", {}).get("shipping_assignments", []):
                assignment["shipping"]["address"].update(address)
        if quantities is not None:
            self._change_quantities(order, dict(quantities))
        _deep_merge(order, changes)

    def _change_quantities(self, order: dict[str, Any], quantities: Mapping[Any, int]) -> None:
        by_key: dict[Any, int] = {}
        for key, qty in quantities.items():
            by_key[key] = int(qty)
        for item in list(order.get("items", [])):
            if "parent_item_id" in item:
                continue
            wanted = by_key.get(item["item_id"], by_key.get(item["sku"]))
            if wanted is None:
                continue
            qty = wanted
            price = Decimal(str(item["price"]))
            percent = Decimal(str(item.get("tax_percent") or 0))
            discount_percent = Decimal(str(item.get("discount_percent") or 0))
            row = price * qty
            discount = (row * discount_percent / 100).quantize(Decimal("0.01"))
            tax = ((row - discount) * percent / 100).quantize(Decimal("0.01"))
            for item_id in seed_.related_item_ids(order, item["item_id"]):
                seed_.set_item_field(order, item_id, "qty_ordered", qty)
            for key, value in (
                ("row_total", row),
                ("discount_amount", discount),
                ("tax_amount", tax),
                ("row_total_incl_tax", row + tax),
            ):
                seed_.set_item_field(order, item["item_id"], key, num(value))
                seed_.set_item_field(order, item["item_id"], f"base_{key}", num(value))
            seed_.set_item_field(
                order, item["item_id"], "row_weight", num(Decimal(str(item.get("weight") or 0)) * qty)
            )
        _recompute_totals(order)

    def _admin_edit(
        self,
        entity_id: int,
        changes: Mapping[str, Any] | Callable[[dict[str, Any]], None],
        when: datetime | None,
    ) -> int:
        original = self._load(entity_id)
        moment = when or self._now()
        stamp = format_date(moment)
        edited = copy.deepcopy(original)
        new_id = self._ids.next("order")
        root = str(original.get("original_increment_id") or original.get("increment_id"))
        edit_increment = int(original.get("edit_increment") or 0) + 1
        edited.update(
            {
                "entity_id": new_id,
                "increment_id": f"{root}-{edit_increment}",
                "original_increment_id": root,
                "edit_increment": edit_increment,
                "relation_parent_id": str(entity_id),
                "relation_parent_real_id": original.get("increment_id"),
                "quote_id": self._ids.next("quote"),
                "created_at": stamp,
                "updated_at": stamp,
                "state": "new",
                "status": self._state_statuses.get("new", ("pending",))[0],
                "status_histories": [],
            }
        )
        for key in ("relation_child_id", "relation_child_real_id"):
            edited.pop(key, None)
        mapping = _renumber(edited, new_id, self._ids, stamp)
        if not callable(changes) and isinstance(changes.get("item_qty"), Mapping):
            # Callers name lines by the original's item ids; the copy has new ones.
            changes = {
                **changes,
                "item_qty": {
                    mapping.get(k, k) if isinstance(k, int) else k: v for k, v in changes["item_qty"].items()
                },
            }
        self._apply_changes(edited, changes)
        original.update(
            {
                "relation_child_id": str(new_id),
                "relation_child_real_id": edited["increment_id"],
                "edit_increment": edit_increment,
                "state": "canceled",
                "status": self._state_statuses.get("canceled", ("canceled",))[0],
            }
        )
        seed_.cancel_all(original)
        original["updated_at"] = stamp
        self._store(original)
        self._store(edited)
        return new_id

    # -- internals: HTTP -------------------------------------------------------------------------------------

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, full_url: str
    ) -> _Response | None:
        """The whole request path: log, hooks, faults, latency, auth, routing, then the answer's encoding
        (PHP escaping, a short body, gzip). ``None`` means: drop it."""
        response = self._answer(method, raw_path, headers, body, full_url)
        return None if response is None else self._finish(response, headers)

    def _answer(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, full_url: str
    ) -> _Response | None:
        path, _, query_string = raw_path.partition("?")
        query = tuple(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        received = ReceivedRequest(
            method, urllib.parse.unquote(path), query, dict(headers), body, time.time()
        )
        with self._lock:
            self._requests.append(received)
            self._stats.requests += 1
            hooks = list(self._hooks)
            refused_for = self._admit()
            if refused_for is not None:
                self._stats.throttled += 1
            # A refused request never reaches the store behind the limit: no fault is used up, no latency.
            fault = self._faults.popleft() if self._faults and refused_for is None else None
            latency = self._latency if refused_for is None else 0.0
            if latency:
                self._stats.latency_seconds += latency
            if fault is not None:
                if fault[0] == "drop":
                    self._stats.dropped += 1
                else:
                    self._stats.injected += 1
        for hook in hooks:
            try:
                hook(received)
            except Exception as exc:  # a hook is a test's check: keep what it said, answer loudly
                with self._lock:
                    self.hook_errors.append(exc)
                return _error_response(500, "Request hook failed: %1", [str(exc)])
        if refused_for is not None:
            seconds = str(max(1, math.ceil(refused_for)))
            return _error_response(
                429, "Too many requests. Try again in %1 seconds.", [seconds], {"Retry-After": seconds}
            )
        if latency:
            # Sleeping here blocks only this connection's thread, never the other requests.
            with self._lock:
                self._stats.in_flight += 1
                self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)
            try:
                time.sleep(latency)
            finally:
                with self._lock:
                    self._stats.in_flight -= 1
        if fault is not None:
            kind, value = fault
            if kind == "drop":
                return None
            if kind == "429":
                return _error_response(429, "Too Many Requests", [], {"Retry-After": str(value)})
            return _error_response(
                int(value), "Service temporarily unavailable: fault injected by the test.", []
            )
        try:
            response = self._route(method, received.path, query, headers, body, full_url)
        except _ApiError as error:
            response = _error_response(error.status, error.message, error.parameters, error.headers)
        return self._answer_faults_for(method, received.path, response)

    def _answer_faults_for(self, method: str, path: str, response: _Response) -> _Response | None:
        """Apply a pending ``lose_write_answers`` or ``short_bodies`` fault to a store answer."""
        if not 200 <= response.status < 300:
            return response
        with self._lock:
            lost = None
            if method in _WRITE_METHODS and _ADMIN_TOKEN_PATH.search(path) is None:
                lost = self._answer_faults.take_lost_write()
            if lost is not None:
                self._stats.lost_answers += 1
                mode, fraction = lost
                if mode == "drop":
                    self._stats.dropped += 1
                    return None
                if mode == "500":
                    report = "webapi-" + secrets.token_hex(7)[:13]
                    return _error_response(500, _INTERNAL_ERROR, [report])
                response.truncate_to = fraction
                return response
            short = self._answer_faults.take_short(method)
            if short is not None:
                self._stats.truncated += 1
                response.truncate_to = short.fraction
        return response

    def _finish(self, response: _Response, request_headers: Mapping[str, str]) -> _Response:
        """The answer as it goes on the wire: PHP's escaping, a cut body, gzip (in that order)."""
        with self._lock:
            php, use_gzip = self._php_json, self._gzip
        if php and not response.php:
            response.body = wire.php_escape(response.body)
            response.parts = None
            response.php = True
        if response.truncate_to is not None:
            response.body = wire.truncate(response.body, response.truncate_to)
            response.parts = None
        if use_gzip:
            response.headers.setdefault("Vary", "Accept-Encoding")
            if len(response.body) >= wire.GZIP_MIN_LENGTH and wire.accepts_gzip(
                request_headers.get("accept-encoding")
            ):
                if response.parts is not None:
                    response.body = wire.gzip_join(response.parts, response.body)
                else:
                    response.body = wire.gzip_whole(response.body)
                response.parts = None
                response.headers["Content-Encoding"] = "gzip"
        return response

    def _route(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        full_url: str,
    ) -> _Response:
        match = _API_PATH.match(path)
        if match is None:
            raise _ApiError(404, "Request does not match any route.")
        # Magento's REST router trims slashes around the path before matching: /V1/orders/ is /V1/orders.
        store_code, api_path = match.group("store"), match.group("api").rstrip("/")
        if store_code is not None and store_code not in self._store_codes:
            raise _ApiError(400, "Requested store is not found")
        for route_method, pattern, handler_name, resource in _ROUTES:
            if route_method != method:
                continue
            found = pattern.fullmatch(api_path)
            if found is None:
                continue
            if resource is not None:
                self._authorize(method, headers, full_url, resource)
            handler: Callable[..., Any] = getattr(self, handler_name)
            payload = _parse_body(body) if method in ("POST", "PUT") else None
            result = handler(*found.groups(), query=query, payload=payload)
            fields = next((v for k, v in query if k == "fields"), None)
            if fields and not (isinstance(result, _Response) and result.fields_done):
                # Magento's response field filter: fields=items[entity_id,status],total_count
                data = wire.loads_tolerant(result.body) if isinstance(result, _Response) else result
                return _Response(200, _dumps(_pick_fields(data, _parse_fields(fields))))
            if isinstance(result, _Response):
                return result
            return _Response(200, _dumps(result))
        raise _ApiError(404, "Request does not match any route.")

    def _authorize(self, method: str, headers: Mapping[str, str], full_url: str, resource: str) -> None:
        authorization = headers.get("authorization", "")
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
            and _oauth_valid(oauth, method, full_url, authorization)
        ):
            return
        raise _ApiError(401, _UNAUTHORIZED, {"resources": resource})

    # -- endpoint handlers -----------------------------------------------------------------------------------

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
            for trigger in self._schedule.advance():
                try:
                    trigger.action(self._schedule.seen)
                except Exception as exc:  # a scheduled change is a test's own code: keep what it said
                    self.hook_errors.append(exc)
                    return _error_response(500, "Scheduled store change failed: %1", [str(exc)])
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
        stamp = self._answer_faults.take_stamp() if chosen else None
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

    def _h_ship(self, order_id: str, *, query: Any, payload: Any) -> Any:
        body = payload if isinstance(payload, dict) else {}
        with self._lock:
            order = self._load(_int_id(order_id))
            items = {int(i["item_id"]): i for i in order.get("items", [])}

            def remaining(item: Mapping[str, Any]) -> Decimal:
                return (
                    _dec(item.get("qty_ordered"))
                    - _dec(item.get("qty_shipped"))
                    - _dec(item.get("qty_canceled"))
                    - _dec(item.get("qty_refunded"))
                )

            if order.get("state") in ("canceled", "holded", "closed", "payment_review") or not any(
                remaining(i) > 0 for i in items.values() if "parent_item_id" not in i
            ):
                raise _ApiError(
                    400,
                    "Shipment Document Validation Error(s):\n"
                    "The order does not allow a shipment to be created.",
                )
            requested: list[tuple[dict[str, Any], Decimal]] = []
            for line in body.get("items") or []:
                item_id = _int_id(str(line.get("order_item_id", "")))
                item = items.get(item_id)
                qty = _dec(line.get("qty"))
                if item is None:
                    raise _ApiError(
                        400, "Shipment Document Validation Error(s):\nThe shipment couldn't be saved."
                    )
                if qty <= 0 or qty > remaining(item):
                    raise _ApiError(
                        400,
                        "Shipment Document Validation Error(s):\n"
                        "You can't create a shipment without products.",
                    )
                requested.append((item, qty))
            if not body.get("items"):
                requested = [
                    (i, remaining(i))
                    for i in items.values()
                    if "parent_item_id" not in i and remaining(i) > 0
                ]
            stamp = self._touch(order)
            shipment_id = self._ids.next("shipment")
            for item, qty in requested:
                seed_.ship_item(order, item, num(qty))
            tracks = [
                {
                    "entity_id": self._ids.next("shipment_track"),
                    "parent_id": shipment_id,
                    "order_id": order["entity_id"],
                    "created_at": stamp,
                    "updated_at": stamp,
                    "track_number": t.get("track_number"),
                    "title": t.get("title"),
                    "carrier_code": t.get("carrier_code"),
                    "weight": 0,
                    "qty": 0,
                    "description": None,
                }
                for t in body.get("tracks") or []
            ]
            comments = []
            comment = body.get("comment")
            if isinstance(comment, dict) and comment.get("comment"):
                comments.append(
                    {
                        "entity_id": self._ids.next("shipment_comment"),
                        "parent_id": shipment_id,
                        "comment": comment.get("comment"),
                        "created_at": stamp,
                        "is_customer_notified": int(bool(body.get("notify"))),
                        "is_visible_on_front": int(comment.get("is_visible_on_front") or 0),
                    }
                )
            self._shipments[shipment_id] = self._shipment_document(
                order, shipment_id, requested, stamp, notify=bool(body.get("notify")), tracks=tracks, comments=comments
            )
            self._settle_state(order)
            self._store(order)
        # Magento declares an integer but answers the id as a JSON string.
        return str(shipment_id)

    def _shipment_document(
        self,
        order: Mapping[str, Any],
        shipment_id: int,
        lines: Sequence[tuple[Mapping[str, Any], Decimal]],
        stamp: str,
        *,
        notify: bool = False,
        tracks: list[dict[str, Any]] | None = None,
        comments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``sales-data-shipment-interface``: one item per shipped top-level line (``order_item_id``, ``qty``)."""
        items = [
            {
                "entity_id": self._ids.next("shipment_item"),
                "parent_id": shipment_id,
                "order_item_id": item["item_id"],
                "product_id": item.get("product_id"),
                "sku": item.get("sku"),
                "name": item.get("name"),
                "price": item.get("price"),
                "weight": item.get("weight"),
                "qty": num(qty),
            }
            for item, qty in lines
        ]
        document = {
            "entity_id": shipment_id,
            "increment_id": f"{shipment_id:09d}",
            "order_id": order["entity_id"],
            "store_id": order.get("store_id", 1),
            "created_at": stamp,
            "updated_at": stamp,
            "billing_address_id": order.get("billing_address_id"),
            "customer_id": order.get("customer_id"),
            "email_sent": int(notify),
            "send_email": int(notify),
            "shipping_address_id": _shipping_address_id(order),
            "total_qty": num(sum((q for _, q in lines), Decimal(0))),
            "total_weight": num(sum((_dec(i.get("weight")) * q for i, q in lines), Decimal(0))),
            "items": items,
            "tracks": tracks or [],
            "comments": comments or [],
            "packages": [],
        }
        # Magento leaves null fields out of its REST answers (a guest's shipment has no customer_id).
        return {k: v for k, v in document.items() if v is not None}

    def _seed_documents(self, order: dict[str, Any]) -> None:
        """The invoice and shipment a generated order's history implies (an order whose lines are invoiced or
        shipped has the documents that did it on a real store), so listing them by ``order_id`` finds them."""
        items = [i for i in order.get("items") or [] if isinstance(i, dict)]
        history = [h for h in order.get("status_histories") or [] if isinstance(h, dict)]
        invoiced = [(i, _dec(i.get("qty_invoiced"))) for i in items if _dec(i.get("qty_invoiced")) > 0]
        if invoiced:
            stamp = next(
                (str(h["created_at"]) for h in reversed(history) if h.get("entity_name") == "invoice"),
                str(order.get("updated_at")),
            )
            lines = [
                (
                    item,
                    qty,
                    None
                    if "parent_item_id" in item
                    else {
                        "row_total": _dec(item.get("row_invoiced")),
                        "tax_amount": _dec(item.get("tax_invoiced")),
                        "discount_amount": _dec(item.get("discount_invoiced")),
                    },
                )
                for item, qty in invoiced
            ]
            amounts = {
                "lines": lines,
                "subtotal": _dec(order.get("subtotal_invoiced")),
                "tax": _dec(order.get("tax_invoiced")),
                "discount": -_dec(order.get("discount_invoiced")),
                "shipping": _dec(order.get("shipping_invoiced")),
                "grand_total": _dec(order.get("total_invoiced")),
            }
            invoice_id = self._ids.next("invoice")
            self._invoices[invoice_id] = self._invoice_document(order, invoice_id, amounts, {}, stamp)
        shipped = [
            (i, _dec(i.get("qty_shipped")))
            for i in items
            if "parent_item_id" not in i and _dec(i.get("qty_shipped")) > 0
        ]
        if shipped:
            shipment_id = self._ids.next("shipment")
            self._shipments[shipment_id] = self._shipment_document(
                order, shipment_id, shipped, str(order.get("updated_at"))
            )

    def _h_invoice(self, order_id: str, *, query: Any, payload: Any) -> Any:
        body = payload if isinstance(payload, dict) else {}
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") in ("canceled", "holded", "closed", "payment_review", "complete") or all(
                _dec(i.get("qty_invoiced")) + _dec(i.get("qty_canceled")) >= _dec(i.get("qty_ordered"))
                for i in order.get("items", [])
            ):
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\n"
                    "The order does not allow an invoice to be created.",
                )
            wanted = self._invoice_quantities(order, body.get("items") or [])
            stamp = self._touch(order)
            invoiced = seed_.invoice_lines(order, wanted)
            invoice_id = self._ids.next("invoice")
            self._invoices[invoice_id] = self._invoice_document(order, invoice_id, invoiced, body, stamp)
            comment = body.get("comment")
            if isinstance(comment, dict) and comment.get("comment") and body.get("appendComment"):
                self._builder.history(
                    order,
                    "invoice",
                    order.get("status"),
                    comment["comment"],
                    stamp,
                    notified=int(bool(body.get("notify"))),
                )
            self._settle_state(order)
            self._store(order)
        return str(invoice_id)

    def _invoice_quantities(self, order: dict[str, Any], lines: Sequence[Any]) -> dict[int, Decimal] | None:
        """``items`` of an invoice request as ``{order item id: qty}`` (``None``: invoice everything left),
        checked the way Magento's invoice validators check them."""
        if not lines:
            return None
        top = {int(i["item_id"]): i for i in order.get("items", []) if "parent_item_id" not in i}
        wanted: dict[int, Decimal] = {}
        for line in lines:
            line = line if isinstance(line, dict) else {}
            item_id = _int_id(str(line.get("order_item_id", line.get("orderItemId", ""))))
            item = top.get(item_id)
            if item is None:
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\n"
                    "The invoice contains one or more items that are not part of the original order.",
                )
            wanted[item_id] = wanted.get(item_id, Decimal(0)) + _dec(line.get("qty"))
            left = _dec(item.get("qty_ordered")) - _dec(item.get("qty_invoiced")) - _dec(item.get("qty_canceled"))
            if wanted[item_id] > left:
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\n"
                    f'The quantity to invoice must not be greater than the uninvoiced quantity for product SKU '
                    f'"{item.get("sku")}".',
                )
        if not any(q > 0 for q in wanted.values()):
            raise _ApiError(400, "Invoice Document Validation Error(s):\nYou can't create an invoice without products.")
        return wanted

    def _invoice_document(
        self, order: dict[str, Any], invoice_id: int, invoiced: Mapping[str, Any], body: Mapping[str, Any], stamp: str
    ) -> dict[str, Any]:
        """``sales-data-invoice-interface`` as ``GET /V1/invoices/{id}`` shows it: every invoiced order line
        (a configurable's child too, at price 0, like Adobe's example) with its ``order_item_id`` and ``qty``."""
        items = []
        for item, qty, parts in invoiced["lines"]:
            line: dict[str, Any] = {
                "base_discount_tax_compensation_amount": 0,
                "base_price": item.get("base_price", 0),
                "base_price_incl_tax": item.get("base_price_incl_tax", 0),
                "entity_id": self._ids.next("invoice_item"),
                "discount_tax_compensation_amount": 0,
                "name": item.get("name"),
                "parent_id": invoice_id,
                "price": item.get("price", 0) if parts is not None else 0,
                "price_incl_tax": item.get("price_incl_tax", 0) if parts is not None else 0,
                "product_id": item.get("product_id"),
                "sku": item.get("sku"),
                "order_item_id": item["item_id"],
                "qty": num(qty),
            }
            if parts is not None:
                row, tax, discount = parts["row_total"], parts["tax_amount"], parts["discount_amount"]
                for prefix in ("base_", ""):
                    line[f"{prefix}row_total"] = num(row)
                    line[f"{prefix}row_total_incl_tax"] = num(row + tax)
                    line[f"{prefix}tax_amount"] = num(tax)
                    line[f"{prefix}discount_amount"] = num(discount)
            items.append(line)
        subtotal, tax, discount = invoiced["subtotal"], invoiced["tax"], invoiced["discount"]
        shipping, grand = invoiced["shipping"], invoiced["grand_total"]
        document: dict[str, Any] = {"base_currency_code": order.get("base_currency_code", "USD")}
        for prefix in ("base_", ""):
            document.update(
                {
                    f"{prefix}discount_amount": num(-discount),
                    f"{prefix}grand_total": num(grand),
                    f"{prefix}discount_tax_compensation_amount": 0,
                    f"{prefix}shipping_amount": num(shipping),
                    f"{prefix}shipping_incl_tax": num(shipping),
                    f"{prefix}shipping_tax_amount": 0,
                    f"{prefix}subtotal": num(subtotal),
                    f"{prefix}subtotal_incl_tax": num(subtotal + tax),
                    f"{prefix}tax_amount": num(tax),
                }
            )
        comments = []
        comment = body.get("comment")
        if isinstance(comment, dict) and comment.get("comment"):
            comments.append(
                {
                    "comment": comment["comment"],
                    "created_at": stamp,
                    "entity_id": self._ids.next("invoice_comment"),
                    "is_customer_notified": int(bool(body.get("notify"))),
                    "is_visible_on_front": int(comment.get("is_visible_on_front") or 0),
                    "parent_id": invoice_id,
                }
            )
        document.update(
            {
                "base_to_global_rate": order.get("base_to_global_rate", 1),
                "base_to_order_rate": order.get("base_to_order_rate", 1),
                "billing_address_id": order.get("billing_address_id"),
                "can_void_flag": 0,
                "created_at": stamp,
                "email_sent": int(bool(body.get("notify"))),
                "entity_id": invoice_id,
                "global_currency_code": order.get("global_currency_code", "USD"),
                "increment_id": f"{invoice_id:09d}",
                "order_currency_code": order.get("order_currency_code", "USD"),
                "order_id": order["entity_id"],
                "shipping_address_id": _shipping_address_id(order),
                "shipping_discount_tax_compensation_amount": 0,
                "state": 2,
                "store_currency_code": order.get("store_currency_code", "USD"),
                "store_id": order.get("store_id", 1),
                "store_to_base_rate": 0,
                "store_to_order_rate": 0,
                "total_qty": num(sum((q for _, q, _ in invoiced["lines"]), Decimal(0))),
                "updated_at": stamp,
                "items": items,
                "comments": comments,
            }
        )
        return {k: v for k, v in document.items() if v is not None}

    def _settle_state(self, order: dict[str, Any]) -> None:
        """After a ship or an invoice: complete when nothing is left to ship or invoice, else processing."""
        top = [i for i in order.get("items", []) if "parent_item_id" not in i]
        to_ship = any(
            _dec(i.get("qty_ordered"))
            - _dec(i.get("qty_shipped"))
            - _dec(i.get("qty_canceled"))
            - _dec(i.get("qty_refunded"))
            > 0
            for i in top
        )
        to_invoice = any(
            _dec(i.get("qty_ordered")) - _dec(i.get("qty_invoiced")) - _dec(i.get("qty_canceled")) > 0
            for i in top
        )
        state = "processing" if to_ship or to_invoice else "complete"
        if order.get("state") != state:
            order["state"] = state
            order["status"] = self._state_statuses.get(state, (state,))[0]

    def _h_comments(self, order_id: str, *, query: Any, payload: Any) -> Any:
        history = payload.get("statusHistory") if isinstance(payload, dict) else None
        if not isinstance(history, dict):
            raise _ApiError(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": "statusHistory"}
            )
        with self._lock:
            order = self._load(_int_id(order_id))
            status = history.get("status") or None
            if status is not None and status not in self._state_statuses.get(str(order.get("state")), ()):
                raise _ApiError(
                    400,
                    'Unable to add comment: The status "%1" is not part of the order status history.',
                    [status],
                )
            stamp = self._touch(order)
            if status is not None:
                order["status"] = status
            self._builder.history(
                order,
                "order",
                order.get("status"),
                history.get("comment"),
                stamp,
                notified=int(history.get("is_customer_notified") or 0),
                visible=int(history.get("is_visible_on_front") or 0),
            )
            self._store(order)
        return True

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

    def _h_cancel(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            top = [i for i in order.get("items", []) if "parent_item_id" not in i]
            all_invoiced = bool(top) and all(
                _dec(i.get("qty_invoiced")) + _dec(i.get("qty_canceled")) >= _dec(i.get("qty_ordered"))
                for i in top
            )
            if (
                order.get("state") in ("canceled", "complete", "closed", "holded", "payment_review")
                or all_invoiced
            ):
                return False
            seed_.cancel_all(order)
            stamp = self._touch(order)
            order["state"] = "canceled"
            order["status"] = self._state_statuses.get("canceled", ("canceled",))[0]
            self._builder.history(order, "order", order["status"], None, stamp)
            self._store(order)
        return True

    def _h_hold(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") in ("canceled", "complete", "closed", "holded", "payment_review"):
                raise _ApiError(400, "A hold action is not available.")
            order["hold_before_state"] = order.get("state")
            order["hold_before_status"] = order.get("status")
            self._touch(order)
            order["state"] = "holded"
            order["status"] = self._state_statuses.get("holded", ("holded",))[0]
            self._store(order)
        return True

    def _h_unhold(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") != "holded":
                raise _ApiError(400, "You cannot remove the hold.")
            self._touch(order)
            order["state"] = order.pop("hold_before_state", None) or "new"
            order["status"] = (
                order.pop("hold_before_status", None)
                or self._state_statuses.get(order["state"], ("pending",))[0]
            )
            self._store(order)
        return True

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
        with self._lock:
            invoice = self._invoices.get(_int_id(invoice_id))
            if invoice is None:
                raise _ApiError(404, _NOT_FOUND)
            return copy.deepcopy(invoice)

    def _h_shipment_get(self, shipment_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            shipment = self._shipments.get(_int_id(shipment_id))
            if shipment is None:
                raise _ApiError(404, _NOT_FOUND)
            return copy.deepcopy(shipment)

    def _h_products(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._list(copy.deepcopy(self._products), query)

    def _h_product(self, sku: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            for product in self._products:
                if product.get("sku") == sku:
                    return copy.deepcopy(product)
        raise _ApiError(
            404, "The product that was requested doesn't exist. Verify the product and try again."
        )

    # carts: the guest flow (masked ids) and the admin flow for a customer (numeric quote ids) share code.

    def _new_cart(self, customer_id: int | None) -> _Cart:
        quote_id = self._ids.next("quote")
        cart_id = secrets.token_hex(16) if customer_id is None else str(quote_id)
        cart = _Cart(cart_id, quote_id, customer_id)
        self._carts[cart_id] = cart
        return cart

    def _cart(self, cart_id: str, guest: bool) -> _Cart:
        """An active cart, or Magento's 404. A guest's masked id resolves to its quote id first, and the
        quote repository's ``getActive`` refuses with the numeric id (``null`` when the mask is unknown); a
        placed cart is inactive, so placing it again is refused the same way."""
        cart = self._carts.get(cart_id)
        if cart is None or (cart.customer_id is None) != guest:
            value: int | None = None if guest else (int(cart_id) if cart_id.isdigit() else None)
            raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": value})
        if cart.ordered is not None:
            raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": cart.quote_id})
        return cart

    def _h_guest_cart_new(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._new_cart(None).cart_id

    def _h_guest_cart_get(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        """``GET /V1/guest-carts/{cartId}``: the quote behind a masked id, placed or not (the quote repository's
        ``get``, unlike ``getActive``), as ``quote-data-cart-interface``."""
        with self._lock:
            cart = self._carts.get(cart_id)
            if cart is None or cart.customer_id is not None:
                raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": None})
            return {
                "id": cart.quote_id,
                "is_active": cart.ordered is None,
                "is_virtual": False,
                "items": [dict(item) for item in cart.items],
                "items_count": len(cart.items),
                "items_qty": sum(float(item.get("qty", 0)) for item in cart.items),
                "customer": {"email": cart.email} if cart.email else {},
                "orig_order_id": 0,
                "customer_is_guest": True,
                "customer_note_notify": True,
                "customer_tax_class_id": 3,
                "store_id": 1,
            }

    def _h_customer_cart_new(self, customer_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._new_cart(_int_id(customer_id)).quote_id

    def _h_guest_cart_items(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._add_cart_item(cart_id, True, payload)

    def _h_cart_items(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._add_cart_item(cart_id, False, payload)

    def _add_cart_item(self, cart_id: str, guest: bool, payload: Any) -> Any:
        item = payload.get("cartItem") if isinstance(payload, dict) else None
        if not isinstance(item, dict):
            raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "cartItem"})
        with self._lock:
            cart = self._cart(cart_id, guest)
            product = self._catalogue.get(str(item.get("sku")))
            if product is None:
                raise _ApiError(
                    404, "The product that was requested doesn't exist. Verify the product and try again."
                )
            qty = _dec(item.get("qty"))
            if qty <= 0:
                raise _ApiError(400, 'The quantity "%1" is not valid.', [str(item.get("qty"))])
            line = {
                "item_id": self._ids.next("quote_item"),
                "sku": product.sku,
                "qty": num(qty),
                "name": product.name,
                "price": num(product.price),
                "product_type": product.type_id,
                "quote_id": str(cart.quote_id) if not guest else cart.cart_id,
            }
            cart.items.append(line)
            return line

    def _h_guest_shipping(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._shipping_information(cart_id, True, payload)

    def _h_cart_shipping(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._shipping_information(cart_id, False, payload)

    def _shipping_information(self, cart_id: str, guest: bool, payload: Any) -> Any:
        info = payload.get("addressInformation") if isinstance(payload, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("shipping_address"), dict):
            raise _ApiError(400, "The shipping address is missing. Set the address and try again.")
        with self._lock:
            cart = self._cart(cart_id, guest)
            if not cart.items:
                raise _ApiError(
                    400,
                    "The shipping method can't be set for an empty cart. Add an item to cart and try again.",
                )
            carrier = str(info.get("shipping_carrier_code") or "")
            method = str(info.get("shipping_method_code") or "")
            if f"{carrier}_{method}" not in {c[0] for c in seed_._CARRIERS}:
                raise _ApiError(400, "Carrier with such method not found: %1, %2", [carrier, method])
            cart.shipping_address = dict(info["shipping_address"])
            cart.billing_address = dict(info.get("billing_address") or info["shipping_address"])
            cart.shipping_method = (carrier, method)
            cart.email = cart.shipping_address.get("email") or cart.email
            subtotal = sum((_dec(i["price"]) * _dec(i["qty"]) for i in cart.items), Decimal(0))
        return {
            "payment_methods": [{"code": code, "title": title} for code, title in seed_._METHODS],
            "totals": {
                "grand_total": num(subtotal),
                "base_grand_total": num(subtotal),
                "subtotal": num(subtotal),
                "items_qty": num(sum((_dec(i["qty"]) for i in cart.items), Decimal(0))),
                "base_currency_code": "USD",
                "quote_currency_code": "USD",
                "items": [],
            },
        }

    def _h_guest_order(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._place_order(cart_id, True, payload)

    def _h_cart_order(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._place_order(cart_id, False, payload)

    def _h_guest_payment_information(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        if isinstance(payload, dict) and payload.get("email"):
            with self._lock:
                self._cart(cart_id, True).email = str(payload["email"])
        return self._place_order(cart_id, True, payload)

    def _place_order(self, cart_id: str, guest: bool, payload: Any) -> Any:
        method_code = None
        if isinstance(payload, dict) and isinstance(payload.get("paymentMethod"), dict):
            method_code = payload["paymentMethod"].get("method")
        with self._lock:
            cart = self._cart(cart_id, guest)
            if cart.shipping_address is None or cart.shipping_method is None:
                raise _ApiError(
                    400, "The shipping method is missing. Select the shipping method and try again."
                )
            methods = dict(seed_._METHODS)
            if method_code not in methods:
                raise _ApiError(400, "The requested Payment Method is not available.")
            if guest and not cart.email:
                raise _ApiError(400, "Email has a wrong format")
            address = cart.shipping_address
            person = seed_.Person(self._rng, cart.customer_id)
            person.firstname = str(address.get("firstname") or person.firstname)
            person.lastname = str(address.get("lastname") or person.lastname)
            person.email = str(cart.email or address.get("email") or person.email)
            person.telephone = str(address.get("telephone") or person.telephone)
            street = address.get("street") or [""]
            person.place = (
                str(address.get("city") or ""),
                str(address.get("region") or ""),
                str(address.get("region_code") or ""),
                int(address.get("region_id") or 0),
                str(address.get("country_id") or "US"),
                str(address.get("postcode") or ""),
                str(street[0] if isinstance(street, list) and street else street),
                Decimal(0),
            )
            lines = [(self._catalogue[i["sku"]], int(_dec(i["qty"]))) for i in cart.items]
            carrier = next(c for c in seed_._CARRIERS if c[0] == "_".join(cart.shipping_method))
            order = self._builder.build(
                self._rng,
                created=self._now(),
                state="new",
                status="pending",
                guest=guest,
                lines=lines,
                person=person,
                shipping_method=carrier,
                payment_method=(str(method_code), methods[str(method_code)]),
                discount=False,
            )
            # sales_order.quote_id: the cart's numeric id (a guest's masked id resolved), searchable.
            order["quote_id"] = cart.quote_id
            self._store(order)
            cart.ordered = int(order["entity_id"])
        # Like ship and invoice: an integer in the schema, a JSON string on the wire.
        return str(order["entity_id"])


# ------------------------------------------------------------------------------------------------------------
# searchCriteria


@attrs.frozen
class _Filter:
    field: str
    value: str
    condition: str


@attrs.define
class _Criteria:
    groups: list[list[_Filter]]
    sorts: list[tuple[str, str]]
    page_size: int | None
    current_page: int | None

    def filter_key(self) -> Any:
        return tuple(tuple(attrs.astuple(f) for f in group) for group in self.groups)

    def sort_key(self) -> Any:
        return tuple(self.sorts)

    def echo(self) -> dict[str, Any]:
        echo: dict[str, Any] = {
            "filter_groups": [
                {
                    "filters": [
                        {"field": f.field, "value": f.value, "condition_type": f.condition} for f in group
                    ]
                }
                for group in self.groups
            ],
        }
        if self.sorts:
            echo["sort_orders"] = [
                {"field": field, "direction": direction} for field, direction in self.sorts
            ]
        # Since 2.4.4 page_size is left out of the echo when the request sent none (magento/magento2#35310).
        if self.page_size is not None:
            echo["page_size"] = self.page_size
        if self.current_page is not None:
            echo["current_page"] = self.current_page
        return echo


_SEGMENTS = re.compile(r"\[([^\]]*)\]")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _parse_criteria(query: Sequence[tuple[str, str]]) -> _Criteria:
    """Read ``searchCriteria[...]`` parameters; Magento accepts snake_case and camelCase spellings alike."""
    seen = False
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    page_size: int | None = None
    current_page: int | None = None
    for name, value in query:
        if not name.startswith("searchCriteria"):
            continue
        seen = True
        parts = [_camel(p) for p in _SEGMENTS.findall(name[len("searchCriteria") :])]
        try:
            if parts[:1] == ["filterGroups"] and len(parts) == 4 and parts[2] == "filters":
                groups.setdefault(int(parts[1]), {}).setdefault(int(parts[3]), {})
            elif parts[:1] == ["filterGroups"] and len(parts) == 5 and parts[2] == "filters":
                groups.setdefault(int(parts[1]), {}).setdefault(int(parts[3]), {})[parts[4]] = value
            elif parts[:1] == ["sortOrders"] and len(parts) == 3:
                sorts.setdefault(int(parts[1]), {})[parts[2]] = value
            elif parts == ["pageSize"]:
                page_size = int(value)
            elif parts == ["currentPage"]:
                current_page = int(value)
        except ValueError as exc:
            raise _ApiError(
                400,
                'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
                {"value": value, "type": "int"},
            ) from exc
    if not seen:
        raise _ApiError(
            400, '"%fieldName" is required. Enter and try again.', {"fieldName": "searchCriteria"}
        )
    parsed_groups: list[list[_Filter]] = []
    for _, filters in sorted(groups.items()):
        group = []
        for _, spec in sorted(filters.items()):
            field = spec.get("field")
            if not field:
                raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
            condition = (spec.get("conditionType") or "eq").lower()
            if condition not in _CONDITIONS:
                raise _ApiError(400, "Invalid condition type: %1", [condition])
            group.append(_Filter(field, spec.get("value", ""), condition))
        if group:
            parsed_groups.append(group)
    parsed_sorts = []
    for _, spec in sorted(sorts.items()):
        direction = (spec.get("direction") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise _ApiError(
                400,
                'The sort order "%1" isn\'t allowed. The sort order must be "ASC" or "DESC".',
                [spec.get("direction")],
            )
        if spec.get("field"):
            parsed_sorts.append((spec["field"], direction))
    return _Criteria(parsed_groups, parsed_sorts, page_size, current_page)


def _current_page(requested: int | None, total: int, page_size: int | None) -> int:
    """Magento's collection clamps the page: past the end it serves the last page again."""
    if page_size is None:
        return 1
    last = max(1, -(-total // page_size))
    page = requested or 1
    return min(max(page, 1), last)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare_key(stored: Any, wanted: str) -> tuple[Any, Any]:
    """Compare like MySQL: numerically when the column holds numbers, else as text (dates sort as text)."""
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        number = _as_number(wanted)
        if number is not None:
            return float(stored), number
    text = str(stored)
    if len(wanted) >= 19 and wanted[10:11] == "T":
        wanted = wanted[:10] + " " + wanted[11:19]
    return text.lower(), wanted.lower()


def _like(pattern: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def _matches(row: Mapping[str, Any], flt: _Filter) -> bool:
    stored = row.get(flt.field)
    condition = flt.condition
    if condition == "null":
        return stored is None
    if condition == "notnull":
        return stored is not None
    if stored is None:  # SQL: a comparison with NULL is never true
        return False
    if condition in ("in", "nin"):
        values = [v.strip() for v in flt.value.split(",")]
        hit = any(a == b for a, b in (_compare_key(stored, v) for v in values))
        return hit if condition == "in" else not hit
    if condition in ("like", "nlike"):
        hit = _like(flt.value).fullmatch(str(stored)) is not None
        return hit if condition == "like" else not hit
    if condition == "finset":
        return flt.value in str(stored).split(",")
    a, b = _compare_key(stored, flt.value)
    if condition == "eq":
        return bool(a == b)
    if condition == "neq":
        return bool(a != b)
    if condition == "gt":
        return bool(a > b)
    if condition in ("gteq", "from", "moreq"):
        return bool(a >= b)
    if condition == "lt":
        return bool(a < b)
    if condition in ("lteq", "to"):
        return bool(a <= b)
    raise _ApiError(400, "Invalid condition type: %1", [condition])


def _search(
    rows: Iterable[dict[str, Any]], criteria: _Criteria, always: Iterable[int] = ()
) -> list[dict[str, Any]]:
    leaked = set(always)
    found = [
        r
        for r in rows
        if (leaked and r.get("entity_id") in leaked)
        or all(any(_matches(r, f) for f in group) for group in criteria.groups)
    ]
    # Unsorted searches come back in primary-key order, as MySQL returns them.
    id_key = "entity_id" if any("entity_id" in r for r in found) else "id"
    found.sort(key=lambda r: _sort_value(r.get(id_key)))
    for field, direction in reversed(criteria.sorts):
        found.sort(key=functools.partial(_sort_field, field), reverse=direction == "DESC")
    return found


def _sort_field(field: str, row: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_value(row.get(field))


@attrs.define
class _Found:
    """A search's sorted ids, and (computed when ties are shuffled) the spans of rows tied on every sort
    field: ``(starts, ends)``, ascending, spans of two rows or more only."""

    ids: list[int]
    ties: tuple[list[int], list[int]] | None = None


def _tie_key(row: Mapping[str, Any], sorts: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    return tuple(_sort_value(row.get(field)) for field, _ in sorts)


def _tie_spans(keys: Sequence[Any]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index] != keys[start]:
            if index - start > 1:
                starts.append(start)
                ends.append(index)
            start = index
    return starts, ends


def _shuffle_page(
    page: list[int], ids: Sequence[int], ties: tuple[list[int], list[int]], low: int, rng: random.Random
) -> None:
    """Fill ``page`` (``ids[low:low + len(page)]``) as if every tie span of ``ids`` had been shuffled."""
    starts, ends = ties
    high = low + len(page)
    for span in range(bisect.bisect_right(ends, low), len(starts)):
        start, end = starts[span], ends[span]
        if start >= high:
            break
        members = list(ids[start:end])
        rng.shuffle(members)
        for index in range(max(start, low), min(end, high)):
            page[index - low] = members[index - start]


def _sort_value(value: Any) -> tuple[int, Any]:
    # NULLs first in ascending order, like MySQL; numbers before text so mixed columns still sort.
    if value is None:
        return (0, 0)
    number = _as_number(value) if not isinstance(value, str) else None
    if number is not None:
        return (1, number)
    return (2, str(value).lower())


# ------------------------------------------------------------------------------------------------------------
# helpers


def _parse_fields(text: str) -> dict[str, Any]:
    """``items[entity_id,billing_address[city]],total_count`` -> a tree of the names to keep."""
    tree: dict[str, Any] = {}
    stack = [tree]
    name = ""
    for char in text + ",":
        if char in ",[]":
            if name.strip():
                stack[-1][name.strip()] = {}
            if char == "[":
                if name.strip():
                    stack.append(stack[-1][name.strip()])
            elif char == "]" and len(stack) > 1:
                stack.pop()
            name = ""
        else:
            name += char
    return tree


def _pick_fields(data: Any, tree: Mapping[str, Any]) -> Any:
    if not tree:
        return data
    if isinstance(data, list):
        return [_pick_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {k: _pick_fields(v, tree[k]) for k, v in data.items() if k in tree}
    return data


def _shipping_address_id(order: Mapping[str, Any]) -> Any:
    for assignment in order.get("extension_attributes", {}).get("shipping_assignments", []) or []:
        address = assignment.get("shipping", {}).get("address") if isinstance(assignment, dict) else None
        if isinstance(address, dict) and address.get("entity_id") is not None:
            return address["entity_id"]
    return None


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except ArithmeticError:
        return Decimal(0)


def _int_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _ApiError(
            400,
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
            {"value": value, "type": "int"},
        ) from None


def _parse_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise _ApiError(400, "Decoding error: \nSyntax error") from None


def _checked_rate(per_second: float | None) -> float | None:
    if per_second is None:
        return None
    if per_second <= 0:
        raise ValueError("rate_limit must be positive (None: no limit)")
    return float(per_second)


def _error_response(
    status: int, message: str, parameters: Any, headers: Mapping[str, str] | None = None
) -> _Response:
    return _Response(status, _dumps({"message": message, "parameters": parameters}), dict(headers or {}))


def _deep_merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _recompute_totals(order: dict[str, Any]) -> None:
    top = [i for i in order.get("items", []) if "parent_item_id" not in i]
    subtotal = sum((_dec(i.get("row_total")) for i in top), Decimal(0))
    tax = sum((_dec(i.get("tax_amount")) for i in top), Decimal(0))
    discount = sum((_dec(i.get("discount_amount")) for i in top), Decimal(0))
    shipping = _dec(order.get("shipping_amount"))
    grand = subtotal - discount + tax + shipping
    paid = _dec(order.get("total_paid"))
    for prefix in ("base_", ""):
        order[f"{prefix}subtotal"] = num(subtotal)
        order[f"{prefix}subtotal_incl_tax"] = num(subtotal + tax)
        order[f"{prefix}tax_amount"] = num(tax)
        order[f"{prefix}discount_amount"] = num(-discount)
        order[f"{prefix}grand_total"] = num(grand)
        order[f"{prefix}total_due"] = num(max(grand - paid, Decimal(0)))
    order["total_qty_ordered"] = num(sum((_dec(i.get("qty_ordered")) for i in top), Decimal(0)))
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_ordered"] = order["grand_total"]
        payment["base_amount_ordered"] = order["base_grand_total"]


def _renumber(order: dict[str, Any], entity_id: int, ids: IdSequence, stamp: str) -> dict[int, int]:
    """Give a copied order fresh line, address and payment ids, all pointing at ``entity_id``."""
    mapping: dict[int, int] = {}
    for item in order.get("items", []):
        mapping[int(item["item_id"])] = ids.next("order_item")
    for entries in [order.get("items", [])] + [
        a.get("items", []) for a in order.get("extension_attributes", {}).get("shipping_assignments", [])
    ]:
        for item in entries:
            for view in (item, item.get("parent_item")):
                if not isinstance(view, dict):
                    continue
                view["item_id"] = mapping.get(int(view["item_id"]), view["item_id"])
                view["order_id"] = entity_id
                view["created_at"] = stamp
                view["updated_at"] = stamp
                for key in ("qty_shipped", "qty_invoiced", "qty_canceled", "qty_refunded"):
                    if key in view:
                        view[key] = 0
            if "parent_item_id" in item:
                item["parent_item_id"] = mapping.get(int(item["parent_item_id"]), item["parent_item_id"])
    addresses = [order.get("billing_address")] + [
        a.get("shipping", {}).get("address")
        for a in order.get("extension_attributes", {}).get("shipping_assignments", [])
    ]
    for address in addresses:
        if isinstance(address, dict):
            address["entity_id"] = ids.next("order_address")
            address["parent_id"] = entity_id
    if isinstance(order.get("billing_address"), dict):
        order["billing_address_id"] = order["billing_address"]["entity_id"]
    if isinstance(order.get("payment"), dict):
        order["payment"]["entity_id"] = ids.next("order_payment")
        order["payment"]["parent_id"] = entity_id
    extension = order.get("extension_attributes", {})
    for applied in extension.get("item_applied_taxes", []) or []:
        if isinstance(applied, dict) and applied.get("item_id") in mapping:
            applied["item_id"] = mapping[applied["item_id"]]
    for key in list(order):
        if key.endswith(("_canceled", "_paid", "_invoiced", "_refunded")) or key.startswith("hold_before"):
            del order[key]
    order["base_total_due"] = order.get("base_grand_total", 0)
    order["total_due"] = order.get("grand_total", 0)
    return mapping


def _oauth_valid(keys: MagentoOAuthKeys, method: str, full_url: str, authorization: str) -> bool:
    from oauthlib.oauth1.rfc5849 import signature, utils

    try:
        params = dict(utils.parse_authorization_header(authorization))
    except ValueError:
        return False
    required = {
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_nonce",
        "oauth_timestamp",
    }
    if not required <= params.keys():
        return False
    if params["oauth_consumer_key"] != keys.consumer_key or params["oauth_token"] != keys.access_token:
        return False
    query = urllib.parse.urlsplit(full_url).query
    collected = signature.collect_parameters(
        uri_query=query, headers={"Authorization": authorization}, exclude_oauth_signature=True
    )
    base = signature.signature_base_string(
        cast(Any, method.upper()),
        signature.base_string_uri(full_url),
        signature.normalize_parameters(cast(Any, collected)),
    )
    digests = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
    digest = digests.get(params["oauth_signature_method"])
    if digest is None:
        return False
    # RFC 5849 3.4.2: the key is the escaped consumer secret and token secret joined by "&".
    key = f"{utils.escape(keys.consumer_secret)}&{utils.escape(keys.access_token_secret)}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()
    # The header carries the signature percent-encoded.
    return hmac.compare_digest(expected, utils.unescape(params["oauth_signature"]))


# ------------------------------------------------------------------------------------------------------------
# routes and the HTTP plumbing

_API_PATH = re.compile(r"^(?:/index\.php)?/rest(?:/(?P<store>(?!V1/)[A-Za-z0-9_]+))?(?P<api>/V1/.*)$")

# (method, path pattern under /V1, handler, ACL resource named in 401 bodies; None: anonymous)
_ROUTES: list[tuple[str, re.Pattern[str], str, str | None]] = [
    (m, re.compile(p), h, r)
    for m, p, h, r in [
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
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    store: FakeMagentoStore

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_open_connections(self) -> None:
        """Hang up on kept-alive clients, so a stopped store really stops answering."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without this, small keep-alive responses wait on delayed ACKs (tens of ms each).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header ``send_response`` adds: the store's clock, not the host's (one header only)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return self.server.store.http_date()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _serve(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        full_url = f"http://{host}{self.path}"
        try:
            response = self.server.store._handle(self.command, self.path, headers, body, full_url)
        except Exception as exc:  # a bug in the fake must still produce an answer the client can read
            response = _error_response(
                500,
                "Internal Error. Details are available in Magento log file. Report ID: %1",
                [f"{type(exc).__name__}: {exc}"],
            )
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
