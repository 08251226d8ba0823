"""The in-memory WooCommerce shop behind the fake store: orders, notes, products, tracking items, and the wc/v3
dialect over them as plain methods (no sockets here; ``_woocommerce.py`` serves them).

Theory of operation: everything follows WooCommerce's own documentation and the wc/v3 OpenAPI tables copied in
``_woocommerce_spec`` (field names, statuses, filters), never the driver. The shop is put together from one
module per part, each with its own notes on what it does as WooCommerce does:

* ``_woocommerce_tables``: the tables, the ids and the clock (whole-second stamps, GMT and site time);
* ``_woocommerce_orders``: making orders (seeded, crowded into one second, edited by an admin);
* ``_woocommerce_listing``: ``GET /orders`` with WordPress's exclusive date bounds, sorts, ties and pages;
* ``_woocommerce_writes``: updates and status changes (system notes, emails), notes, Shipment Tracking items;
* ``_woocommerce_catalogue``: the products and ``POST /orders``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from . import _woocommerce_spec as spec
from ._woocommerce_catalogue import Catalogue
from ._woocommerce_listing import OrderListing
from ._woocommerce_tables import CORE_LABELS
from ._woocommerce_writes import ShopWrites

__all__ = ["CORE_LABELS", "WooShop"]


class WooShop(OrderListing, ShopWrites, Catalogue):
    """The shop's tables and the wc/v3 handlers over them. Not thread-safe alone: the server holds its lock."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        utc_offset: timedelta = timedelta(hours=-3),
        plugin_statuses: Mapping[str, str] | None = None,
        tracking: bool = True,
        currency: str = "EUR",
    ) -> None:
        self.clock = clock
        self.utc_offset = utc_offset
        self.statuses: dict[str, str] = {s: CORE_LABELS[s] for s in spec.ORDER_STATUSES}
        self.statuses["checkout-draft"] = CORE_LABELS["checkout-draft"]
        self.statuses.update(plugin_statuses if plugin_statuses is not None else {"shipped": "Shipped"})
        self.tracking = tracking
        self.currency = currency
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, list[dict[str, Any]]] = {}
        self.emails: list[tuple[str, int, str]] = []
        self.ignore_orderby = False
        """A hostile knob: a plugin that overrides the order query, so ``orderby`` is ignored (newest first)."""
        self._ids = 700
        self._note_ids = 5000
        self._item_ids = 9000
        self._seed_catalogue()
