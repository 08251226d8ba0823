"""The fake BigCommerce store's state and dialect: orders v2 and catalog v3 as plain functions over an in-memory
shop, with no HTTP (``bigcommerce.py`` serves them).

Theory of operation
-------------------
The shop keeps what BigCommerce keeps, in its shapes (``orders.v2.oas2.yml`` and ``products_catalog.v3.yml``),
and is hostile where the spec leaves room. It is put together from one module per part, each with its notes:

* ``_bigcommerce_state``: the tables, the clock, the ids, and what handlers answer (``Reply``, ``ShopError``);
* ``_bigcommerce_rows``: order rows, products and shipping addresses in v2's shapes, and their totals;
* ``_bigcommerce_reads``: ``GET /v2/orders`` (ties not by id, ``204`` when empty), one order, sub-resources;
* ``_bigcommerce_writes``: status and notes updates, shipments, ``POST /v2/orders``, refusals as v2 errors;
* ``_bigcommerce_seed``: seeded orders in bursts per second;
* ``_bigcommerce_catalog``: catalog v3 products and variants.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._bigcommerce_catalog import CatalogV3
from ._bigcommerce_reads import OrderReads
from ._bigcommerce_seed import Seeding
from ._bigcommerce_state import Reply, ShopError

__all__ = ["BigCommerceShop", "Reply", "ShopError"]


class BigCommerceShop(OrderReads, Seeding, CatalogV3):
    """The orders, their sub-resources and the catalog of one fake store. ``clock`` is the store's time."""

    def __init__(self, store_hash: str, token: str, clock: Callable[[], datetime], *, seed: int = 1) -> None:
        self.store_hash = store_hash
        self.token = token
        self.clock = clock
        self.lock: threading.RLock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, list[dict[str, Any]]] = {}
        self.addresses: dict[int, list[dict[str, Any]]] = {}
        self.shipments: dict[int, list[dict[str, Any]]] = {}
        self.catalog: list[dict[str, Any]] = []
        self._ids = {"order": 100, "product": 1000, "address": 500, "shipment": 1, "catalog": 76, "variant": 300}
        self._salt = f"{store_hash}:{seed}"
        self._seed_catalog(random.Random(seed))
