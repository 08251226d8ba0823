"""The fake Shopify store's in-memory shop: orders, fulfilment orders, fulfilments, variants, draft orders, jobs.

Theory of operation
-------------------
Every object is a plain dict whose keys are the Admin schema's own field names (``displayFinancialStatus``,
``lineItems``, ``totalPriceSet`` ...), so graphql-core's execution reads them directly and the schema shapes
every answer (``_shopify_graphql``). Connections are kept as Python lists; the executor pages them. Money is a
``MoneyBag`` dict (``shopMoney`` / ``presentmentMoney``, amounts as decimal strings, as Shopify serialises its
``Decimal`` scalar). Times are ISO 8601 UTC strings to the second, from the store's clock.

The enumerations (financial and fulfilment statuses, fulfilment order statuses, cancel reasons) are read from the
schema, not written here, so the fake and the driver do not share a table.

What changes an order moves its ``updatedAt`` to the store's now: an admin edit, a line edit (``edited``), a
fulfilment, a tag, a note, a cancellation. A cancellation is applied at once; its job reports ``done`` only after
``cancel_job_polls`` reads, as Shopify's asynchronous cancel does. The shop holds no lock of its own: the server
calls it under the store lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from graphql import GraphQLEnumType, GraphQLSchema

__all__ = ["ShopifyShop", "gid", "iso", "money_bag", "numeric_id"]

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


_FIRST = ["Ada", "Bob", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun"]
_LAST = ["Lovelace", "Norman", "Wei", "Scully", "Nolde", "Khan", "Bregovic", "Sato", "Andric", "Park"]
_CITIES = [
    ("Louisville", "KY", "40202"),
    ("Ottawa", "ON", "K1P 1J1"),
    ("Austin", "TX", "73301"),
    ("Boise", "ID", "83702"),
]
_PRODUCTS = [
    ("IPOD2008GREEN", "IPod Nano - 8gb", "green", Decimal("199.00")),
    ("IPOD2008RED", "IPod Nano - 8gb", "red", Decimal("199.00")),
    ("SHIRT-M-BLUE", "Oxford shirt", "M / blue", Decimal("49.50")),
    ("MUG-001", "Enamel mug", "", Decimal("12.99")),
    ("SOCK-3PK", "Wool socks (3 pack)", "", Decimal("18.75")),
]


class ShopifyShop:
    """The shop's objects and the operations the GraphQL resolvers run on them (module notes)."""

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
        for sku, title, option, price in _PRODUCTS:
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
        city: tuple[str, str, str] = _CITIES[0],
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

    def edit_address(self, number: int, city: str) -> None:
        """An admin changes the shipping city."""
        order = self.orders[number]
        order["shippingAddress"] = dict(order["shippingAddress"], city=city)
        self.touch(order)

    def edit_lines(self, number: int, quantities: Mapping[str, int], add: Iterable[tuple[str, int]] = ()) -> None:
        """An order edit (Shopify's ``orderEditBegin``/``Commit``): current quantities change, ``quantity`` keeps
        the original, new lines are added, the id stays, ``edited`` turns true and the totals follow."""
        order = self.orders[number]
        for line in order["lineItems"]:
            if line["sku"] in quantities:
                line["currentQuantity"] = quantities[line["sku"]]
                line["unfulfilledQuantity"] = min(line["unfulfilledQuantity"], line["currentQuantity"])
        for sku, quantity in add:
            order["lineItems"].append(self._line(order, sku, quantity))
        for fo in order["fulfillmentOrders"]:
            known = {li["lineItem"]["id"] for li in fo["lineItems"]}
            for li in fo["lineItems"]:
                shipped = li["totalQuantity"] - li["remainingQuantity"]
                li["totalQuantity"] = li["lineItem"]["currentQuantity"]
                li["remainingQuantity"] = max(0, li["totalQuantity"] - shipped)
            for line in order["lineItems"]:
                if line["id"] not in known and fo is order["fulfillmentOrders"][0]:
                    fo["lineItems"].append(self._fulfilment_line(line))
            if fo["status"] == "CLOSED" and any(li["remainingQuantity"] for li in fo["lineItems"]):
                fo["status"] = "IN_PROGRESS"
        order["edited"] = True
        self._totals(order)
        self.touch(order)

    def close(self, number: int) -> None:
        """The merchant archives the order (``closed``)."""
        order = self.orders[number]
        order["closed"] = True
        order["closedAt"] = self.now()
        self.touch(order)

    # -- writes the resolvers run ----------------------------------------------------------------------------

    def create_fulfillment(self, given: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """``fulfillmentCreate``: every fulfilment order named must be open and belong to one order; each line's
        quantity at most what remains (all that remains when no lines are named)."""
        groups = given.get("lineItemsByFulfillmentOrder") or []
        if not groups:
            return None, [{"field": ["fulfillment"], "message": "Line items by fulfillment order can't be blank"}]
        plan: list[tuple[dict[str, Any], int]] = []
        owner: dict[str, Any] | None = None
        for group in groups:
            found = self._fulfillment_order_by_id(str(group["fulfillmentOrderId"]))
            if found is None:
                return None, [{"field": ["fulfillment"], "message": "Fulfillment order does not exist."}]
            order, fo = found
            if owner is not None and owner is not order:
                return None, [{"field": ["fulfillment"], "message": "Fulfillment orders must belong to one order."}]
            owner = order
            if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                return None, [{"field": ["fulfillment"], "message": f"Fulfillment order is {fo['status'].lower()}."}]
            wanted = group.get("fulfillmentOrderLineItems")
            if not wanted:
                plan += [(li, li["remainingQuantity"]) for li in fo["lineItems"] if li["remainingQuantity"]]
                continue
            for item in wanted:
                li = next((x for x in fo["lineItems"] if x["id"] == item["id"]), None)
                if li is None:
                    return None, [{"field": ["fulfillment"], "message": "Fulfillment order line item does not exist."}]
                if int(item["quantity"]) > li["remainingQuantity"] or int(item["quantity"]) < 1:
                    return None, [
                        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity requested."}
                    ]
                plan.append((li, int(item["quantity"])))
        if owner is None or not plan:
            return None, [{"field": ["fulfillment"], "message": "Nothing left to fulfill."}]
        number = self.next_id()
        tracking = given.get("trackingInfo") or {}
        numbers = list(tracking.get("numbers") or ([tracking["number"]] if tracking.get("number") else []))
        urls = list(tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else []))
        fulfillment = {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", number),
            "legacyResourceId": str(number),
            "name": f"{owner['name']}-F{len(owner['fulfillments']) + 1}",
            "status": "SUCCESS",
            "displayStatus": "FULFILLED",
            "createdAt": self.now(),
            "updatedAt": self.now(),
            "requiresShipping": True,
            "trackingInfo": [
                {"company": tracking.get("company"), "number": n, "url": urls[i] if i < len(urls) else None}
                for i, n in enumerate(numbers)
            ],
            "fulfillmentLineItems": [
                {
                    "__typename": "FulfillmentLineItem",
                    "id": gid("FulfillmentLineItem", self.next_id()),
                    "lineItem": li["lineItem"],
                    "quantity": q,
                }
                for li, q in plan
            ],
            "totalQuantity": sum(q for _, q in plan),
            "_notified": bool(given.get("notifyCustomer")),
        }
        for li, quantity in plan:
            li["remainingQuantity"] -= quantity
            li["lineItem"]["unfulfilledQuantity"] -= quantity
        for fo in owner["fulfillmentOrders"]:
            if any(li in [p[0] for p in plan] for li in fo["lineItems"]):
                fo["status"] = "CLOSED" if not any(x["remainingQuantity"] for x in fo["lineItems"]) else "IN_PROGRESS"
                fo["fulfillments"].append(fulfillment)
                fo["updatedAt"] = self.now()
        owner["fulfillments"].append(fulfillment)
        owner["_override"] = None
        self._totals(owner)
        self.touch(owner)
        fulfillment["order"] = owner
        return fulfillment, []

    def _fulfillment_order_by_id(self, fo_gid: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for order in self.orders.values():
            for fo in order["fulfillmentOrders"]:
                if fo["id"] == fo_gid:
                    return order, fo
        return None

    def add_tags(self, order_gid: str, tags: Iterable[str]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        order = self.find(order_gid)
        if order is None:
            return None, [{"field": ["id"], "message": "Order does not exist"}]
        new = [t.strip() for t in tags if t.strip() and t.strip() not in order["tags"]]
        if new:
            order["tags"] = [*order["tags"], *new]
            self.touch(order)
        return order, []

    def update_order(self, given: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        order = self.find(str(given.get("id")))
        if order is None:
            return None, [{"field": ["id"], "message": "Order does not exist"}]
        if "note" in given:
            order["note"] = given["note"]
        if "tags" in given and given["tags"] is not None:
            order["tags"] = list(given["tags"])
        if "email" in given and given["email"] is not None:
            order["email"] = given["email"]
        self.touch(order)
        return order, []

    def cancel(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """``orderCancel``: applied at once; the job is done after ``cancel_job_polls`` reads (module notes)."""
        order = self.find(str(args["orderId"]))
        if order is None:
            return {
                "job": None,
                "orderCancelUserErrors": [
                    {"code": "NOT_FOUND", "field": ["orderId"], "message": "Order does not exist"}
                ],
                "userErrors": [],
            }
        if order["cancelledAt"] is not None:
            error = {
                "code": "INVALID",
                "field": ["orderId"],
                "message": "Cannot cancel an order that has already been cancelled",
            }
            return {"job": None, "orderCancelUserErrors": [error], "userErrors": []}
        if order["displayFulfillmentStatus"] in ("FULFILLED", "PARTIALLY_FULFILLED"):
            error = {
                "code": "INVALID",
                "field": ["orderId"],
                "message": "Cannot cancel an order with fulfillments; cancel them first",
            }
            return {"job": None, "orderCancelUserErrors": [error], "userErrors": []}
        if args["reason"] not in self.cancel_reasons:
            return {
                "job": None,
                "orderCancelUserErrors": [{"code": "INVALID", "field": ["reason"], "message": "Invalid reason"}],
                "userErrors": [],
            }
        order["cancelledAt"] = self.now()
        order["cancelReason"] = args["reason"]
        order["closed"] = True
        order["closedAt"] = self.now()
        refund = bool(args.get("refund")) or bool((args.get("refundMethod") or {}).get("originalPaymentMethodsRefund"))
        if order["displayFinancialStatus"] in ("PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED") and refund:
            order["displayFinancialStatus"] = "REFUNDED"
        elif order["displayFinancialStatus"] in ("AUTHORIZED", "PENDING"):
            order["displayFinancialStatus"] = "VOIDED"
        order["cancellation"] = {"staffNote": args.get("staffNote")}
        order["_cancel"] = {"notify": bool(args.get("notifyCustomer")), "restock": bool(args.get("restock"))}
        for fo in order["fulfillmentOrders"]:
            fo["status"] = "CLOSED" if fo["status"] == "CLOSED" else "CANCELLED"
        self._totals(order)
        self.touch(order)
        job_id = gid("Job", f"{self.next_id():x}-cancel")
        self.jobs[job_id] = {"__typename": "Job", "id": job_id, "done": False, "_polls": 0, "query": None}
        return {"job": self.jobs[job_id], "orderCancelUserErrors": [], "userErrors": []}

    def poll_job(self, job_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(job_id)
        if job is not None:
            job["_polls"] += 1
            job["done"] = job["_polls"] >= self.cancel_job_polls
        return job

    # -- draft orders ----------------------------------------------------------------------------------------

    def create_draft(self, given: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        lines = []
        for item in given.get("lineItems") or []:
            variant = None
            if item.get("variantId"):
                variant = self.variants.get(numeric_id(str(item["variantId"])))
                if variant is None:
                    return None, [{"field": ["lineItems"], "message": "Product variant does not exist"}]
            elif not item.get("title"):
                return None, [{"field": ["lineItems"], "message": "Title can't be blank for a custom line item"}]
            lines.append((variant, item))
        if not lines:
            return None, [{"field": ["lineItems"], "message": "Add at least 1 product"}]
        number = self.next_id()
        draft = {
            "__typename": "DraftOrder",
            "id": gid("DraftOrder", number),
            "legacyResourceId": str(number),
            "name": f"#D{len(self.drafts) + 1}",
            "status": "OPEN",
            "createdAt": self.now(),
            "updatedAt": self.now(),
            "completedAt": None,
            "order": None,
            "tags": list(given.get("tags") or []),
            "note2": given.get("note"),
            "email": given.get("email"),
            "_input": dict(given),
            "_lines": lines,
            "currencyCode": self.currency,
        }
        self.drafts[number] = draft
        return draft, []

    def complete_draft(self, draft_gid: str, pending: bool) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        draft = self.drafts.get(numeric_id(draft_gid))
        if draft is None:
            return None, [{"field": ["id"], "message": "Draft order does not exist"}]
        if draft["status"] == "COMPLETED":
            return None, [{"field": ["id"], "message": "This order has already been paid"}]
        given = draft["_input"]
        skus = []
        for variant, item in draft["_lines"]:
            sku = variant["sku"] if variant else str(item.get("sku") or item.get("title"))
            skus.append((sku, int(item["quantity"])))
            if variant is not None:
                variant["inventoryQuantity"] -= int(item["quantity"])
        address = given.get("shippingAddress") or {}
        order = self.add_order(
            lines=skus,
            financial="PENDING" if pending else "PAID",
            email=str(given.get("email") or ""),
            customer=(str(address.get("firstName") or ""), str(address.get("lastName") or "")),
            tags=list(given.get("tags") or []),
            note=given.get("note"),
            gateway="manual",
            shipping=Decimal(0),
        )
        draft["status"] = "COMPLETED"
        draft["completedAt"] = self.now()
        draft["order"] = order
        draft["updatedAt"] = self.now()
        return draft, []

    # -- seeding ---------------------------------------------------------------------------------------------

    def seed(self, count: int, *, start: datetime, end: datetime, seed: int = 1) -> list[dict[str, Any]]:
        """``count`` orders created between ``start`` and ``end`` (several sharing a second, so ties happen),
        in every financial status and the fulfilment statuses an order can reach without a warehouse app."""
        chooser = random.Random(seed)
        span = max(1, int((end - start).total_seconds()))
        made = []
        moments = sorted(start + timedelta(seconds=chooser.randrange(span)) for _ in range(count))
        for index, moment in enumerate(moments):
            if index and chooser.random() < 0.25:
                moment = moments[index - 1]  # a tie: two orders in one second
            lines = [(sku, chooser.randint(1, 3)) for sku, *_ in chooser.sample(_PRODUCTS, chooser.randint(1, 3))]
            first, last = chooser.choice(_FIRST), chooser.choice(_LAST)
            order = self.add_order(
                lines=lines,
                financial=chooser.choice(("PAID", "PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID")),
                created=moment,
                email=f"{first.lower()}.{last.lower()}@example.com",
                customer=(first, last),
                city=chooser.choice(_CITIES),
                discount=Decimal(chooser.choice((0, 0, 5, 10))),
                tags=chooser.choice(((), ("wholesale",), ("vip", "gift"))),
                fulfillment_override=chooser.choice((None, None, None, "ON_HOLD", "SCHEDULED")),
            )
            roll = chooser.random()
            if roll < 0.15:
                fo = order["fulfillmentOrders"][0]
                self.create_fulfillment(
                    {
                        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],
                        "trackingInfo": {"company": "UPS", "number": f"1Z{order['legacyResourceId']}"},
                    }
                )
            elif roll < 0.22:
                self.cancel({"orderId": order["id"], "reason": "CUSTOMER", "restock": True})
            elif roll < 0.27:
                order["closed"] = True
                order["closedAt"] = iso(moment)
            order["updatedAt"] = iso(moment)
            made.append(order)
        return made
