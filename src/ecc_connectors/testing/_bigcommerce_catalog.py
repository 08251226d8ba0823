"""The BigCommerce fake shop's catalog v3: seeded products with variants, and ``GET /v3/catalog/products``.

Five products, every other one with options (each option value a variant with its own SKU). The listing filters
as catalog v3 documents it: ``sku`` / ``sku:in`` match the product's own SKU only (not a variant's),
``keyword`` matches the name or any SKU; ``include=variants`` adds the variants; answers are
``{data, meta.pagination}``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal

from ._bigcommerce_state import Reply, ShopState, int_param

__all__ = ["CatalogV3"]


class CatalogV3(ShopState):
    """The catalog's seed and its listing (see the module notes)."""

    def _seed_catalog(self, rng: random.Random) -> None:
        names = ["Orbit Terrarium", "Fog Linen Towel", "Canvas Tote", "Able Brewing System", "Chemex Coffee"]
        for index, name in enumerate(names):
            product_id = self._next("catalog")
            base_sku = f"SKU-{index + 1:03d}"
            price = Decimal(rng.randint(800, 9000)) / 100
            variants = [
                {
                    "id": self._next("variant"),
                    "product_id": product_id,
                    "sku": base_sku,
                    "price": None,
                    "calculated_price": float(price),
                    "inventory_level": 40,
                    "option_values": [],
                }
            ]
            if index % 2 == 0:  # products with options: each option value a variant with its own SKU
                variants = [
                    {
                        "id": self._next("variant"),
                        "product_id": product_id,
                        "sku": f"{base_sku}-{size}",
                        "price": float(price + extra),
                        "calculated_price": float(price + extra),
                        "inventory_level": 10 + extra,
                        "option_values": [{"id": 1, "label": size, "option_id": 7, "option_display_name": "Size"}],
                    }
                    for size, extra in (("S", 0), ("M", 2), ("L", 4))
                ]
            self.catalog.append(
                {
                    "id": product_id,
                    "name": name,
                    "type": "physical",
                    "sku": base_sku,
                    "price": float(price),
                    "calculated_price": float(price),
                    "inventory_level": sum(v["inventory_level"] for v in variants),
                    "inventory_tracking": "variant" if index % 2 == 0 else "product",
                    "base_variant_id": variants[0]["id"],
                    "variants": variants,
                }
            )

    def list_products(self, query: Mapping[str, str]) -> Reply:
        """``GET /v3/catalog/products``: ``sku`` / ``sku:in`` (the product's own SKU), ``keyword`` (name or any
        SKU), ``include=variants``, ``limit`` / ``page``; answers ``{data, meta.pagination}``."""
        with self.lock:
            rows = list(self.catalog)
            if query.get("sku"):
                rows = [p for p in rows if p["sku"] == query["sku"]]
            if query.get("sku:in"):
                wanted = set(query["sku:in"].split(","))
                rows = [p for p in rows if p["sku"] in wanted]
            if query.get("keyword"):
                word = query["keyword"].lower()
                rows = [
                    p
                    for p in rows
                    if word in p["name"].lower()
                    or word in p["sku"].lower()
                    or any(word in str(v["sku"]).lower() for v in p["variants"])
                ]
            include = set((query.get("include") or "").split(","))
            limit = max(1, min(int_param(query, "limit") or 50, 250))
            page = max(1, int_param(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            data = [{k: v for k, v in p.items() if k != "variants" or "variants" in include} for p in chosen]
            pages = max(1, -(-len(rows) // limit))
            return Reply(
                200,
                {
                    "data": data,
                    "meta": {
                        "pagination": {
                            "total": len(rows),
                            "count": len(data),
                            "per_page": limit,
                            "current_page": page,
                            "total_pages": pages,
                        }
                    },
                },
            )
