"""The fake Shopify store's objects (orders, fulfilment orders, variants, draft orders, jobs), their ids, money and
times, and how an order is built and how its totals follow its lines.

Theory of operation
-------------------
Every object is a plain dict whose keys are the Admin schema's own field names (``displayFinancialStatus``,
``lineItems``, ``totalPriceSet`` ...), so graphql-core's execution reads them directly and the schema shapes
every answer (``_shopify_graphql``). Connections are kept as Python lists; the executor pages them. Money is a
``MoneyBag`` dict (``shopMoney`` / ``presentmentMoney``, amounts as decimal strings, as Shopify serialises its
``Decimal`` scalar). Times are ISO 8601 UTC strings to the second, from the store's clock.

The enumerations (financial and fulfilment statuses, fulfilment order statuses, cancel reasons) are read from the
schema, not written here, so the fake and the driver do not share a table.

What changes the objects once they exist (the merchant's edits, the writes the resolvers run, seeding) is
``_shopify_shop``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from graphql import GraphQLEnumType, GraphQLSchema

__all__ = ["CITIES", "PRODUCTS", "ShopifyState", "gid", "iso", "money_bag", "numeric_id"]


CENT = Decimal("0.01")


def iso(moment: datetime) -> str:
    """Shopify's DateTime: UTC, to the second, with ``Z``."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def numeric_id(value: str) -> int:
    """The number at the end of a global id (or the id itself when it is a number)."""
    return int(str(value).rsplit("/", 1)[-1].split("?", 1)[0])


def money_bag(
    amount: Decimal, currency: str, presentment: str | None = None, rate: Decimal = Decimal(1)
) -> dict[str, Any]:
    shop = amount.quantize(CENT)
    shown = (amount * rate).quantize(CENT)
    return {
        "shopMoney": {"amount": str(shop), "currencyCode": currency},
        "presentmentMoney": {"amount": str(shown), "currencyCode": presentment or currency},
    }


def _amount(bag: Mapping[str, Any] | None) -> Decimal:
    if not bag:
        return Decimal(0)
    return Decimal(str(bag["shopMoney"]["amount"]))


CITIES = [
    ("Louisville", "KY", "40202"),
    ("Ottawa", "ON", "K1P 1J1"),
    ("Austin", "TX", "73301"),
    ("Boise", "ID", "83702"),
]
"""City, province code and zip of the sample addresses (the first is an order's default)."""
PRODUCTS = [
    ("IPOD2008GREEN", "IPod Nano - 8gb", "green", Decimal("199.00")),
    ("IPOD2008RED", "IPod Nano - 8gb", "red", Decimal("199.00")),
    ("SHIRT-M-BLUE", "Oxford shirt", "M / blue", Decimal("49.50")),
    ("MUG-001", "Enamel mug", "", Decimal("12.99")),
    ("SOCK-3PK", "Wool socks (3 pack)", "", Decimal("18.75")),
]
"""The catalogue a new shop starts with: SKU, product title, option, price."""


class ShopifyState:
    """The shop's objects and how an order is built and its money kept (module notes); ``ShopifyShop`` adds what
    changes them."""

    def __init__(
        self,
        schema: GraphQLSchema,
        clock: Callable[[], datetime],
        *,
        currency: str = "USD",
        presentment_currency: str = "EUR",
        presentment_rate: Decimal = Decimal("0.92"),
        scopes: Iterable[str] = (
            "read_orders",
            "write_orders",
            "read_all_orders",
            "write_merchant_managed_fulfillment_orders",
            "read_merchant_managed_fulfillment_orders",
            "read_products",
            "write_draft_orders",
            "read_draft_orders",
        ),
    ) -> None:
        self.schema = schema
        self.clock = clock
        self.currency = currency
        self.presentment_currency = presentment_currency
        self.presentment_rate = presentment_rate
        self.scopes = set(scopes)
        self.financial = self._enum("OrderDisplayFinancialStatus")
        self.fulfillment = self._enum("OrderDisplayFulfillmentStatus")
        self.cancel_reasons = self._enum("OrderCancelReason")
        self.orders: dict[int, dict[str, Any]] = {}
        self.variants: dict[int, dict[str, Any]] = {}
        self.drafts: dict[int, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.cancel_job_polls = 1
        self._next = 450789469
        self._number = 1000
        for sku, title, option, price in PRODUCTS:
            self.add_variant(sku, f"{title} - {option}" if option else title, price, inventory=25)

    def _enum(self, name: str) -> tuple[str, ...]:
        found = self.schema.type_map[name]
        assert isinstance(found, GraphQLEnumType)
        return tuple(found.values)

    def next_id(self) -> int:
        self._next += 1
        return self._next

    def now(self) -> str:
        return iso(self.clock())

    def bag(self, amount: Decimal) -> dict[str, Any]:
        return money_bag(amount, self.currency, self.presentment_currency, self.presentment_rate)

    # -- catalogue -------------------------------------------------------------------------------------------

    def add_variant(self, sku: str, title: str, price: Decimal, *, inventory: int = 10) -> dict[str, Any]:
        number = self.next_id()
        variant = {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", number),
            "legacyResourceId": str(number),
            "sku": sku,
            "title": title,
            "displayName": title,
            "price": str(price.quantize(CENT)),
            "inventoryQuantity": inventory,
            "availableForSale": inventory > 0,
            "createdAt": self.now(),
            "updatedAt": self.now(),
        }
        self.variants[number] = variant
        return variant

    def variant_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((v for v in self.variants.values() if v["sku"] == sku), None)

    # -- orders ----------------------------------------------------------------------------------------------

    def add_order(
        self,
        *,
        lines: Iterable[tuple[str, int]] = (("IPOD2008GREEN", 1),),
        financial: str = "PAID",
        created: datetime | None = None,
        updated: datetime | None = None,
        gateway: str = "bogus",
        email: str = "bob.norman@mail.example.com",
        customer: tuple[str, str] = ("Bob", "Norman"),
        city: tuple[str, str, str] = CITIES[0],
        shipping: Decimal = Decimal("10.00"),
        tax_rate: Decimal = Decimal("0.06"),
        discount: Decimal = Decimal("0"),
        tags: Iterable[str] = (),
        note: str | None = None,
        fulfillment_override: str | None = None,
    ) -> dict[str, Any]:
        """A new order; ``financial`` must be one of the schema's ``OrderDisplayFinancialStatus`` values."""
        if financial not in self.financial:
            raise ValueError(f"{financial!r} is not an OrderDisplayFinancialStatus")
        number = self.next_id()
        self._number += 1
        made = iso(created or self.clock())
        first, last = customer
        address: dict[str, Any] = {
            "__typename": "MailingAddress",
            "id": gid("MailingAddress", self.next_id()),
            "firstName": first,
            "lastName": last,
            "name": f"{first} {last}",
            "address1": "Chestnut Street 92",
            "address2": "",
            "city": city[0],
            "provinceCode": city[1],
            "province": city[1],
            "zip": city[2],
            "country": "United States",
            "countryCodeV2": "US",
            "phone": "555-625-1199",
            "company": None,
            "coordinatesValidated": False,
            "formatted": [],
        }
        customer_number = self.next_id()
        order: dict[str, Any] = {
            "__typename": "Order",
            "id": gid("Order", number),
            "legacyResourceId": str(number),
            "name": f"#{self._number}",
            "number": self._number - 1000,
            "createdAt": made,
            "processedAt": made,
            "updatedAt": iso(updated) if updated else made,
            "cancelledAt": None,
            "cancelReason": None,
            "closed": False,
            "closedAt": None,
            "displayFinancialStatus": financial,
            "edited": False,
            "email": email,
            "phone": None,
            "note": note,
            "tags": list(tags),
            "paymentGatewayNames": [gateway],
            "currencyCode": self.currency,
            "presentmentCurrencyCode": self.presentment_currency,
            "test": False,
            "customer": {
                "__typename": "Customer",
                "id": gid("Customer", customer_number),
                "legacyResourceId": str(customer_number),
                "firstName": first,
                "lastName": last,
                "displayName": f"{first} {last}",
                "email": email,
                "phone": None,
            },
            "billingAddress": address,
            "shippingAddress": dict(address, id=gid("MailingAddress", self.next_id())),
            "shippingLine": {
                "__typename": "ShippingLine",
                "id": gid("ShippingLine", self.next_id()),
                "title": "Standard",
                "code": "STANDARD",
                "custom": False,
                "isRemoved": False,
                "originalPriceSet": self.bag(shipping),
                "discountedPriceSet": self.bag(shipping),
                "taxLines": [],
            },
            "lineItems": [],
            "fulfillments": [],
            "fulfillmentOrders": [],
            "_override": fulfillment_override,
            "_discount": discount,
            "_tax_rate": tax_rate,
            "_shipping": shipping,
            "cancellation": None,
        }
        for sku, quantity in lines:
            order["lineItems"].append(self._line(order, sku, quantity))
        order["fulfillmentOrders"].append(self._fulfillment_order(order))
        self._totals(order, original=True)
        self.orders[number] = order
        return order

    def _line(self, order: Mapping[str, Any], sku: str, quantity: int) -> dict[str, Any]:
        variant = self.variant_by_sku(sku)
        price = Decimal(variant["price"]) if variant else Decimal("10.00")
        title = variant["title"] if variant else sku
        number = self.next_id()
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", number),
            "sku": sku,
            "name": title,
            "title": title,
            "quantity": quantity,
            "currentQuantity": quantity,
            "unfulfilledQuantity": quantity,
            "originalUnitPriceSet": self.bag(price),
            "variant": variant,
            "requiresShipping": True,
            "taxable": True,
            "isGiftCard": False,
            "_price": price,
        }

    def _fulfillment_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        number = self.next_id()
        return {
            "__typename": "FulfillmentOrder",
            "id": gid("FulfillmentOrder", number),
            "status": "OPEN",
            "requestStatus": "UNSUBMITTED",
            "orderId": order["id"],
            "orderName": order["name"],
            "createdAt": order["createdAt"],
            "updatedAt": order["createdAt"],
            "fulfillments": [],
            "lineItems": [self._fulfilment_line(line) for line in order["lineItems"]],
        }

    def _fulfilment_line(self, line: dict[str, Any]) -> dict[str, Any]:
        """A fulfilment order's line for an order line, none of it shipped yet."""
        return {
            "__typename": "FulfillmentOrderLineItem",
            "id": gid("FulfillmentOrderLineItem", self.next_id()),
            "lineItem": line,
            "sku": line["sku"],
            "productTitle": line["title"],
            "totalQuantity": line["currentQuantity"],
            "remainingQuantity": line["currentQuantity"],
            "requiresShipping": True,
        }

    def _totals(self, order: dict[str, Any], *, original: bool = False) -> None:
        """Recompute the line and order money from the current quantities (and, once, the original totals)."""
        rate: Decimal = order["_tax_rate"]
        subtotal = Decimal(0)
        tax_total = Decimal(0)
        discount_left: Decimal = order["_discount"]
        for line in order["lineItems"]:
            price: Decimal = line["_price"]
            gross = price * line["currentQuantity"]
            share = min(discount_left, gross)
            discount_left -= share
            net = gross - share
            tax = (net * rate).quantize(CENT)
            line["totalDiscountSet"] = self.bag(share)
            line["discountedTotalSet"] = self.bag(net)
            line["discountedUnitPriceSet"] = self.bag(
                (net / line["currentQuantity"]) if line["currentQuantity"] else price
            )
            line["originalTotalSet"] = self.bag(price * line["quantity"])
            line["taxLines"] = self._tax_lines(tax, rate)
            subtotal += net
            tax_total += tax
        shipping: Decimal = order["_shipping"]
        total = subtotal + shipping + tax_total
        discount = sum((_amount(li["totalDiscountSet"]) for li in order["lineItems"]), Decimal(0))
        order["subtotalPriceSet"] = self.bag(subtotal)
        order["currentSubtotalPriceSet"] = self.bag(subtotal)
        order["totalShippingPriceSet"] = self.bag(shipping)
        order["totalTaxSet"] = self.bag(tax_total)
        order["currentTotalTaxSet"] = self.bag(tax_total)
        order["totalDiscountsSet"] = self.bag(discount)
        order["currentTotalDiscountsSet"] = self.bag(discount)
        order["currentTotalPriceSet"] = self.bag(total)
        order["taxLines"] = self._tax_lines(tax_total, rate)
        if original:
            order["totalPriceSet"] = self.bag(total)
        paid = order["displayFinancialStatus"] in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")
        order["totalReceivedSet"] = self.bag(_amount(order["totalPriceSet"]) if paid else Decimal(0))
        order["totalRefundedSet"] = self.bag(
            _amount(order["totalPriceSet"]) if order["displayFinancialStatus"] == "REFUNDED" else Decimal(0)
        )
        order["totalOutstandingSet"] = self.bag(Decimal(0) if paid else total)
        order["displayFulfillmentStatus"] = self._fulfilment_status(order)

    def _tax_lines(self, tax: Decimal, rate: Decimal) -> list[dict[str, Any]]:
        """The one state tax line a line or an order carries, or none when nothing is taxed."""
        if not tax:
            return []
        return [
            {
                "__typename": "TaxLine",
                "title": "State Tax",
                "priceSet": self.bag(tax),
                "ratePercentage": float(rate * 100),
                "rate": float(rate),
            }
        ]

    def _fulfilment_status(self, order: Mapping[str, Any]) -> str:
        items = [li for fo in order["fulfillmentOrders"] for li in fo["lineItems"]]
        total = sum(li["totalQuantity"] for li in items)
        remaining = sum(li["remainingQuantity"] for li in items)
        if total and remaining == 0:
            return "FULFILLED"
        if remaining < total:
            return "PARTIALLY_FULFILLED"
        override = order.get("_override")
        return str(override) if override in self.fulfillment else "UNFULFILLED"

    def touch(self, order: dict[str, Any]) -> None:
        order["updatedAt"] = self.now()

    def find(self, order_gid: str) -> dict[str, Any] | None:
        try:
            return self.orders.get(numeric_id(order_gid))
        except ValueError:
            return None
