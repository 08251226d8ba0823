"""The fake Magento store's catalogue and people: products (simple and configurable, with their children),
customers' names and places, payment and shipping methods, and the mix of order states generated orders follow.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from ._magento_lifecycle import num

__all__ = ["CARRIERS", "METHODS", "STATE_MIX", "Person", "Product", "generate_products"]


_GARMENTS = [
    ("Harbor Fleece Hoodie", "MH", Decimal("64.00")),
    ("Ridge Trail Jacket", "MJ", Decimal("92.00")),
    ("Cove Cotton Tee", "MT", Decimal("24.00")),
    ("Summit Running Short", "MS", Decimal("32.50")),
    ("Meadow Wrap Dress", "WD", Decimal("118.00")),
    ("Lakeside Knit Sweater", "WK", Decimal("71.25")),
    ("Canyon Yoga Pant", "WP", Decimal("54.00")),
]
_GEAR = [
    ("Trailhead Water Bottle", "GB01", Decimal("12.99"), Decimal("0.5")),
    ("Basecamp Duffle Bag", "GB02", Decimal("45.00"), Decimal("1.2")),
    ("Pinecone Yoga Mat", "GM01", Decimal("38.00"), Decimal("1.5")),
    ("Riverstone Foam Roller", "GF01", Decimal("27.00"), Decimal("1")),
    ("Night Owl Headlamp", "GH01", Decimal("19.95"), Decimal("0.2")),
    ("Granite Fitness Watch", "GW01", Decimal("189.00"), Decimal("0.1")),
    ("Ember Insulated Mug", "GU01", Decimal("16.50"), Decimal("0.4")),
    ("Aspen Resistance Band", "GR01", Decimal("9.99"), Decimal("0.1")),
]
_SIZES = ["XS", "S", "M", "L", "XL"]
_COLORS = [("Blue", 50), ("Black", 49), ("Green", 53), ("Red", 58)]


class Product:
    """A catalogue entry; ``payload`` is what ``GET /V1/products`` lists."""

    __slots__ = (
        "children",
        "name",
        "option_values",
        "parent",
        "payload",
        "price",
        "product_id",
        "sku",
        "type_id",
        "weight",
    )

    def __init__(
        self,
        product_id: int,
        sku: str,
        name: str,
        price: Decimal,
        weight: Decimal,
        type_id: str,
        created_at: str,
    ) -> None:
        self.product_id = product_id
        self.sku = sku
        self.name = name
        self.price = price
        self.weight = weight
        self.type_id = type_id
        self.parent: Product | None = None
        self.children: list[Product] = []
        self.option_values: tuple[int, int] | None = None
        self.payload: dict[str, Any] = {
            "id": product_id,
            "sku": sku,
            "name": name,
            "attribute_set_id": 9 if type_id == "configurable" else 4,
            "price": num(price),
            "status": 1,
            "visibility": 4,
            "type_id": type_id,
            "created_at": created_at,
            "updated_at": created_at,
            "weight": num(weight),
            "extension_attributes": {"website_ids": [1], "category_links": []},
            "product_links": [],
            "options": [],
            "media_gallery_entries": [],
            "tier_prices": [],
            "custom_attributes": [
                {"attribute_code": "url_key", "value": sku.lower()},
                {"attribute_code": "tax_class_id", "value": "2"},
            ],
        }


def generate_products(created_at: str = "2024-01-15 09:00:00") -> list[Product]:
    """A small outdoor-shop catalogue: simple gear plus configurable garments with size/colour children."""
    products: list[Product] = []
    next_id = 1
    for name, prefix, price in _GARMENTS:
        parent = Product(next_id, f"{prefix}{next_id:02d}", name, price, Decimal(1), "configurable", created_at)
        next_id += 1
        products.append(parent)
        for size in _SIZES[:4]:
            for color, color_value in _COLORS[:3]:
                child_sku = f"{parent.sku}-{size}-{color}"
                child = Product(next_id, child_sku, f"{name}-{size}-{color}", price, Decimal(1), "simple", created_at)
                child.payload["visibility"] = 1
                child.parent = parent
                child.option_values = (5590 + _SIZES.index(size), color_value)
                parent.children.append(child)
                products.append(child)
                next_id += 1
        parent.payload["extension_attributes"]["configurable_product_links"] = [c.product_id for c in parent.children]
    for name, sku, price, weight in _GEAR:
        products.append(Product(next_id, sku, name, price, weight, "simple", created_at))
        next_id += 1
    return products


# ------------------------------------------------------------------------------------------------------------
# People and places

_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Ethan",
    "Chloé",
    "Jonas",
    "Amara",
    "Kenji",
    "Priya",
    "Tomás",
    "Ingrid",
    "Yusuf",
    "Hannah",
    "Oskar",
]
_LAST = [
    "Hartley",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Nakamura",
    "Bennett",
    "Schäfer",
    "Patel",
    "O'Neill",
    "Kowalski",
    "Dubois",
    "Reyes",
    "Fischer",
    "Whitaker",
    "Haddad",
]
# (city, region, region_code, region_id, country, postcode, street, tax percent)
_PLACES = [
    ("Calder", "Michigan", "MI", 33, "US", "49628-7978", "4120 Maple Ridge Road", Decimal("8.25")),
    ("Austin", "Texas", "TX", 57, "US", "78701", "18 Congress Avenue", Decimal("0")),
    ("Portland", "Oregon", "OR", 49, "US", "97205", "733 Alder Street", Decimal("0")),
    ("Brooklyn", "New York", "NY", 43, "US", "11201", "95 Atlantic Avenue, Apt 3", Decimal("8.375")),
    ("Sacramento", "California", "CA", 12, "US", "95814", "2200 Capitol Mall", Decimal("8.25")),
    ("Hamburg", "Hamburg", "HH", 82, "DE", "20095", "Mönckebergstraße 7", Decimal("0")),
    ("Lyon", "Rhône", "69", 262, "FR", "69002", "14 Rue de la République", Decimal("0")),
    ("Leeds", "West Yorkshire", "", 0, "GB", "LS1 4AP", "27 Briggate", Decimal("0")),
]
METHODS = [
    ("checkmo", "Check / Money order"),
    ("banktransfer", "Bank Transfer Payment"),
    ("cashondelivery", "Cash On Delivery"),
    ("purchaseorder", "Purchase Order"),
]
CARRIERS = [
    ("tablerate_bestway", "Best Way - Table Rate", None),
    ("flatrate_flatrate", "Flat Rate - Fixed", Decimal("5")),
    ("freeshipping_freeshipping", "Free Shipping - Free", Decimal("0")),
]

# (state, status, weight) for the generated mix.
STATE_MIX = [
    ("new", "pending", 24),
    ("processing", "processing", 24),
    ("complete", "complete", 20),
    ("canceled", "canceled", 8),
    ("holded", "holded", 6),
    ("closed", "closed", 6),
    ("pending_payment", "pending_payment", 7),
    ("processing", "fraud", 2),
    ("payment_review", "payment_review", 3),
]


class Person:
    __slots__ = ("customer_id", "email", "firstname", "lastname", "place", "telephone")

    def __init__(self, rng: random.Random, customer_id: int | None) -> None:
        self.firstname = rng.choice(_FIRST)
        self.lastname = rng.choice(_LAST)
        self.customer_id = customer_id
        local = f"{self.firstname}.{self.lastname}".lower().replace("'", "").replace("é", "e").replace("ä", "ae")
        self.email = f"{local}{rng.randint(1, 99)}@example.com"
        self.place = rng.choice(_PLACES)
        self.telephone = f"({rng.randint(200, 989)}) 555-{rng.randint(1000, 9999)}"
