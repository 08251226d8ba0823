"""The BigCommerce fake shop's orders v2 reads: ``GET /v2/orders``, one order, its sub-resources, the statuses.

It is hostile where the spec leaves room: orders stamped in the same second come back from
``sort=date_modified`` in an order that is *not* by id (a fixed shuffle per shop), an empty list is ``204`` with
no body (for listings and for sub-resources), ``limit`` above 250 is cut to 250, and filters on times take
RFC 2822 or ISO 8601, both bounds inclusive. ``include=consignments.line_items`` with
``consignment_structure=object`` answers each order with its consignments, as BigCommerce does.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from typing import Any

from ._bigcommerce_state import Reply, ShopError, ShopState, filter_time, int_param
from ._bigcommerce_tables import ORDER_SORT_FIELDS, STATUSES

__all__ = ["OrderReads"]


class OrderReads(ShopState):
    """The v2 read handlers (see the module notes)."""

    def list_orders(self, query: Mapping[str, str]) -> Reply:
        """``GET /v2/orders``: filters, one sort field (``:asc`` / ``:desc``), ``page`` and ``limit``."""
        with self.lock:
            rows = list(self.orders.values())
            bounds = {name: int_param(query, name) for name in ("min_id", "max_id", "status_id", "customer_id")}
            if bounds["min_id"] is not None:
                rows = [o for o in rows if o["id"] >= bounds["min_id"]]
            if bounds["max_id"] is not None:
                rows = [o for o in rows if o["id"] <= bounds["max_id"]]
            if bounds["status_id"] is not None:
                rows = [o for o in rows if o["status_id"] == bounds["status_id"]]
            if bounds["customer_id"] is not None:
                rows = [o for o in rows if o["customer_id"] == bounds["customer_id"]]
            for name, field, low in (
                ("min_date_created", "date_created", True),
                ("max_date_created", "date_created", False),
                ("min_date_modified", "date_modified", True),
                ("max_date_modified", "date_modified", False),
            ):
                if query.get(name):
                    bound = filter_time(query[name], name)
                    rows = [
                        o
                        for o in rows
                        if (
                            email.utils.parsedate_to_datetime(o[field]) >= bound
                            if low
                            else email.utils.parsedate_to_datetime(o[field]) <= bound
                        )
                    ]
            if query.get("external_order_id"):
                rows = [o for o in rows if o.get("external_order_id") == query["external_order_id"]]
            if query.get("email"):
                rows = [o for o in rows if o["billing_address"].get("email") == query["email"]]
            field, _, direction = (query.get("sort") or "id").partition(":")
            if field not in ORDER_SORT_FIELDS or direction not in ("", "asc", "desc"):
                raise ShopError(400, f"The field 'sort' is invalid: {query.get('sort')!r}.")

            def key(order: Mapping[str, Any]) -> tuple[Any, ...]:
                value = order.get(field)
                if field.startswith("date_"):
                    value = email.utils.parsedate_to_datetime(str(value))
                return (value if value is not None else "", self._tie(int(order["id"])))

            rows.sort(key=key, reverse=direction == "desc")
            limit = max(1, min(int_param(query, "limit") or 50, 250))
            page = max(1, int_param(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            return Reply(204) if not chosen else Reply(200, [self._shown(o, query) for o in chosen])

    def get_order(self, order_id: str, query: Mapping[str, str] | None = None) -> Reply:
        with self.lock:
            return Reply(200, self._shown(self._order(order_id), query or {}))

    def _shown(self, order: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
        """The order row as answered: with ``include=consignments[.line_items]&consignment_structure=object``,
        its consignments (each shipping address with its line items, or the line items as a link; a digital
        order's items as a download consignment)."""
        shown = dict(order)
        include = set((query.get("include") or "").split(","))
        if query.get("consignment_structure") != "object" or not include & {"consignments", "consignments.line_items"}:
            return shown
        order_id = int(order["id"])
        inline = "consignments.line_items" in include
        products = self.products.get(order_id, [])

        def items(address_id: int | None) -> Any:
            mine = [dict(p) for p in products if address_id is None or p["order_address_id"] == address_id]
            return mine if inline else self._link(order_id, "products")

        shipping = [dict(a) | {"line_items": items(a["id"])} for a in self.addresses.get(order_id, [])]
        downloads = (
            []
            if self.addresses.get(order_id)
            else [{"recipient_email": order["billing_address"].get("email", ""), "line_items": items(None)}]
        )
        shown["consignments"] = {"shipping": shipping, "downloads": downloads, "pickups": [], "email": {}}
        return shown

    def sub_resource(self, order_id: str, name: str, query: Mapping[str, str]) -> Reply:
        """``/orders/{id}/products``, ``/shipping_addresses``, ``/shipments`` (paged; empty: ``204``)."""
        with self.lock:
            order = self._order(order_id)
            table = {"products": self.products, "shipping_addresses": self.addresses, "shipments": self.shipments}
            rows = table[name].get(int(order["id"]), [])
            limit = max(1, min(int_param(query, "limit") or 50, 250))
            page = max(1, int_param(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            return Reply(204) if not chosen else Reply(200, [dict(r) for r in chosen])

    def order_statuses(self) -> Reply:
        return Reply(
            200,
            [
                {
                    "id": i,
                    "name": name,
                    "system_label": name,
                    "custom_label": custom,
                    "system_description": "",
                    "order": order,
                }
                for i, name, custom, order in STATUSES
            ],
        )
