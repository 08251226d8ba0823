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

The server, the request log and hooks, latency, the rate limit, the clock and the generic faults are the
fake-store base's (``ecc_connectors.testing.base.FakeStore``); this class and its mixins hold Magento's dialect:
``_magento_routes`` (routing, auth, encoding, reads), ``_magento_search`` (searchCriteria), ``_magento_writes``
(ship, invoice, comments, cancel, hold), ``_magento_carts`` (carts to orders), ``_magento_edits`` (edits made in
the store, churn), ``_magento_seed`` / ``_magento_catalogue`` / ``_magento_lifecycle`` (generated orders and
products, line changes), ``_magento_wire`` (PHP JSON, gzip, poisons), ``_magento_auth`` (OAuth 1.0a).

Test knobs, all thread-safe and changeable while the server runs: ``latency``, ``rate_limit``,
``inject_429``, ``inject_5xx``, ``drop_connections``, ``short_bodies``, ``lose_write_answers``,
``stamp_outside_window``, ``leak_order``, ``total_count_override``, ``ignore_page_size``, ``shuffle_ties``,
``php_json``, ``gzip``, ``schedule`` / ``churn`` (changes while a download lists), ``edit_order``,
``admin_edit``, ``add_malformed_order`` (payload defects and raw poisons), ``expire_admin_tokens``, the
``requests`` log and ``on_request`` hooks.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from . import _magento_wire as wire
from ._base_http import ReceivedRequest
from ._magento_auth import MagentoOAuthKeys
from ._magento_carts import MagentoCarts
from ._magento_edits import MagentoEdits
from ._magento_faults import Churn, ChurnEvent
from ._magento_routes import MagentoRoutes
from ._magento_search import _current_page as _current_page  # re-exported (the benchmarks count with it)
from ._magento_seed import STATE_STATUSES, IdSequence, OrderBuilder, generate_products
from ._magento_state import DEFAULT_TOKEN
from ._magento_writes import MagentoWrites

__all__ = ["DEFAULT_TOKEN", "Churn", "ChurnEvent", "FakeMagentoStore", "MagentoOAuthKeys", "ReceivedRequest"]

_UTC = timezone.utc


class FakeMagentoStore(MagentoEdits, MagentoCarts, MagentoWrites, MagentoRoutes):
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
        super().__init__(
            host=host,
            port=port,
            latency=latency,
            rate_limit=rate_limit,
            monotonic=monotonic,
            clock=clock,
            request_log_size=request_log_size,
        )
        self._ids = IdSequence()
        self._last_write = None
        self._tokens = set(tokens)
        self._admin_users = dict(admin_users if admin_users is not None else {"admin": "admin123"})
        self._admin_tokens = set()
        self._oauth = oauth
        self._store_codes = set(store_codes)
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self._state_statuses = {k: tuple(v) for k, v in (state_statuses or STATE_STATUSES).items()}

        self._shuffle_ties = bool(shuffle_ties)
        self._tie_rng = random.Random(f"ties:{seed}")
        self._total_count_override = total_count_override
        self._ignore_page_size = bool(ignore_page_size)
        self._php_json = bool(php_json)
        self._gzip = bool(gzip)
        self._stamps = []
        self._leaks = set()
        # Orders carrying a raw poison: entity id -> (defect, nesting depth); re-planted whenever re-rendered.
        self._poisons = {}

        self._orders = {}
        self._shapes = {}
        self._version = 0
        self._search_version = -1
        self._search_cache = {}
        self._shipments = {}
        self._invoices = {}
        self._carts = {}
        self._install_routes()

        catalogue = generate_products()
        self._catalogue = {p.sku: p for p in catalogue}
        self._products = [dict(p) for p in products] if products is not None else [p.payload for p in catalogue]
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

    # -- where it is -----------------------------------------------------------------------------------------

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

    # -- knobs -----------------------------------------------------------------------------------------------

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

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Replace the store's clock: what it stamps from now on, and the ``Date`` header of its answers."""
        with self._lock:
            super().set_clock(clock)
            self._last_write = None

    def clear_faults(self) -> None:
        """Forget every pending fault: injected answers, drops, short bodies, lost write answers, stamps."""
        with self._lock:
            super().clear_faults()
            self._stamps.clear()

    # -- knobs: hostile answers ------------------------------------------------------------------------------

    def stamp_outside_window(self, count: int = 1, stamp: str = "2099-01-01 00:00:00") -> None:
        """The next ``count`` order listings (``GET /V1/orders``) with at least one order show the first
        order of the page with ``updated_at`` rewritten to ``stamp``, in the answer only (the stored order
        keeps its stamp; ``GET /V1/orders/{id}`` is unaffected): a stale cache or a misbehaving extension
        answering a row outside the window the filter asked for."""
        with self._lock:
            self._stamps.extend([stamp] * count)

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
