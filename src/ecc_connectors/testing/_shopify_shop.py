"""The fake Shopify store's shop: what changes its objects (``_shopify_state``): the merchant's edits a test
makes, the writes the GraphQL resolvers run (fulfilments, tags, order updates, cancellations and their jobs,
draft orders), and seeding.

Theory of operation
-------------------
What changes an order moves its ``updatedAt`` to the store's now: an admin edit, a line edit (``edited``), a
fulfilment, a tag, a note, a cancellation. A cancellation is applied at once; its job reports ``done`` only after
``cancel_job_polls`` reads, as Shopify's asynchronous cancel does. The shop holds no lock of its own: the server
calls it under the store lock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ._shopify_state import CITIES, PRODUCTS, ShopifyState, gid, iso, numeric_id

__all__ = ["ShopifyShop"]

_FIRST = ["Ada", "Bob", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun"]
_LAST = ["Lovelace", "Norman", "Wei", "Scully", "Nolde", "Khan", "Bregovic", "Sato", "Andric", "Park"]


class ShopifyShop(ShopifyState):
    """The shop's objects and the operations the GraphQL resolvers run on them (module notes)."""

    # -- the merchant's edits --------------------------------------------------------------------------------

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
            lines = [(sku, chooser.randint(1, 3)) for sku, *_ in chooser.sample(PRODUCTS, chooser.randint(1, 3))]
            first, last = chooser.choice(_FIRST), chooser.choice(_LAST)
            order = self.add_order(
                lines=lines,
                financial=chooser.choice(("PAID", "PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID")),
                created=moment,
                email=f"{first.lower()}.{last.lower()}@example.com",
                customer=(first, last),
                city=chooser.choice(CITIES),
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
