"""Shopify's REST-shaped sample orders (the recorded fixtures) loaded into the fake shop's GraphQL objects.

Theory of operation
-------------------
No official GraphQL order response is published, but Shopify's REST samples carry the same facts under REST
names (``financial_status: "partially_refunded"``, ``line_items[].current_quantity``, ``total_price_set``,
``fulfillments[].tracking_numbers`` ...). This module is the fake's reading of those names into the Admin
schema's objects, field by field, so a recorded order can be served over GraphQL and read back by the driver:
the test then checks the driver against the values in the fixture file, not against the fake's own seed.

A REST sample older than the ``*_set`` money bags has plain amounts in the order's currency; both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._shopify_state import ShopifyState, gid, iso

__all__ = ["order_from_rest"]

_FULFILMENT = {
    None: "UNFULFILLED",
    "fulfilled": "FULFILLED",
    "partial": "PARTIALLY_FULFILLED",
    "restocked": "RESTOCKED",
}


def _time(text: Any) -> str | None:
    return iso(datetime.fromisoformat(str(text))) if text else None


def _bag(rest: Mapping[str, Any], name: str, currency: str) -> dict[str, Any] | None:
    found = rest.get(f"{name}_set")
    if isinstance(found, Mapping):
        shop, shown = found["shop_money"], found["presentment_money"]
        return {
            "shopMoney": {"amount": str(shop["amount"]), "currencyCode": shop["currency_code"]},
            "presentmentMoney": {"amount": str(shown["amount"]), "currencyCode": shown["currency_code"]},
        }
    if rest.get(name) is None:
        return None
    amount = str(Decimal(str(rest[name])))
    return {
        "shopMoney": {"amount": amount, "currencyCode": currency},
        "presentmentMoney": {"amount": amount, "currencyCode": currency},
    }


def _address(rest: Any) -> dict[str, Any] | None:
    if not isinstance(rest, Mapping):
        return None
    return {
        "__typename": "MailingAddress",
        "id": gid("MailingAddress", abs(hash(str(sorted(rest.items())))) % 10**9),
        "name": rest.get("name"),
        "firstName": rest.get("first_name"),
        "lastName": rest.get("last_name"),
        "company": rest.get("company"),
        "address1": rest.get("address1"),
        "address2": rest.get("address2"),
        "city": rest.get("city"),
        "province": rest.get("province"),
        "provinceCode": rest.get("province_code"),
        "zip": rest.get("zip"),
        "countryCodeV2": rest.get("country_code"),
        "phone": rest.get("phone"),
        "coordinatesValidated": False,
        "formatted": [],
    }


def order_from_rest(shop: ShopifyState, rest: Mapping[str, Any]) -> dict[str, Any]:
    """Add the REST sample ``rest`` to ``shop`` as an Admin GraphQL ``Order`` (module notes); returns it."""
    currency = str(rest.get("currency") or shop.currency)
    number = int(rest["id"])
    lines = []
    for item in rest.get("line_items") or ():
        current = int(item.get("current_quantity", item["quantity"]))
        fulfilled = item.get("fulfillment_status") == "fulfilled"
        discount = sum((Decimal(str(a["amount"])) for a in item.get("discount_allocations") or ()), Decimal(0))
        lines.append(
            {
                "__typename": "LineItem",
                "id": gid("LineItem", item["id"]),
                "sku": item.get("sku"),
                "name": item.get("name") or item.get("title"),
                "title": item.get("title"),
                "quantity": int(item["quantity"]),
                "currentQuantity": current,
                "unfulfilledQuantity": 0 if fulfilled else current,
                "originalUnitPriceSet": _bag(item, "price", currency),
                "totalDiscountSet": _bag({"total_discount": str(discount)}, "total_discount", currency),
                "taxLines": [
                    {"__typename": "TaxLine", "title": t.get("title"), "priceSet": _bag(t, "price", currency)}
                    for t in item.get("tax_lines") or ()
                ],
                "requiresShipping": bool(item.get("requires_shipping", True)),
                "variant": None,
            }
        )
    shipping = (rest.get("shipping_lines") or [None])[0]
    customer = rest.get("customer")
    tags = [t.strip() for t in str(rest.get("tags") or "").split(",") if t.strip()]
    fulfillments = [
        {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", f["id"]),
            "legacyResourceId": str(f["id"]),
            "createdAt": _time(f.get("created_at")),
            "status": str(f.get("status") or "success").upper(),
            "trackingInfo": [
                {"company": f.get("tracking_company"), "number": n, "url": None}
                for n in f.get("tracking_numbers") or ([f["tracking_number"]] if f.get("tracking_number") else [])
            ],
        }
        for f in rest.get("fulfillments") or ()
    ]
    order: dict[str, Any] = {
        "__typename": "Order",
        "id": gid("Order", number),
        "legacyResourceId": str(number),
        "name": rest.get("name"),
        "number": rest.get("number"),
        "createdAt": _time(rest["created_at"]),
        "processedAt": _time(rest.get("processed_at") or rest["created_at"]),
        "updatedAt": _time(rest["updated_at"]),
        "cancelledAt": _time(rest.get("cancelled_at")),
        "cancelReason": (str(rest["cancel_reason"]).upper() if rest.get("cancel_reason") else None),
        "closed": bool(rest.get("closed_at")),
        "closedAt": _time(rest.get("closed_at")),
        "displayFinancialStatus": str(rest.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": _FULFILMENT.get(rest.get("fulfillment_status"), "UNFULFILLED"),
        "edited": any(
            int(i.get("current_quantity", i["quantity"])) != int(i["quantity"]) for i in rest.get("line_items") or ()
        ),
        "email": rest.get("email"),
        "phone": rest.get("phone"),
        "note": rest.get("note"),
        "tags": tags,
        "paymentGatewayNames": list(
            rest.get("payment_gateway_names") or ([rest["gateway"]] if rest.get("gateway") else [])
        ),
        "currencyCode": currency,
        "presentmentCurrencyCode": rest.get("presentment_currency") or currency,
        "customer": {
            "__typename": "Customer",
            "id": gid("Customer", customer["id"]),
            "legacyResourceId": str(customer["id"]),
            "displayName": " ".join(str(customer.get(k) or "") for k in ("first_name", "last_name")).strip(),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
        }
        if isinstance(customer, Mapping)
        else None,
        "billingAddress": _address(rest.get("billing_address")),
        "shippingAddress": _address(rest.get("shipping_address")),
        "shippingLine": {"__typename": "ShippingLine", "title": shipping.get("title"), "code": shipping.get("code")}
        if shipping
        else None,
        "subtotalPriceSet": _bag(rest, "current_subtotal_price", currency) or _bag(rest, "subtotal_price", currency),
        "totalShippingPriceSet": _bag(rest, "total_shipping_price", currency)
        or _bag(
            {"x": sum((Decimal(str(s["price"])) for s in rest.get("shipping_lines") or ()), Decimal(0))}, "x", currency
        ),
        "totalTaxSet": _bag(rest, "current_total_tax", currency) or _bag(rest, "total_tax", currency),
        "totalDiscountsSet": _bag(rest, "current_total_discounts", currency) or _bag(rest, "total_discounts", currency),
        "totalPriceSet": _bag(rest, "total_price", currency),
        "currentTotalPriceSet": _bag(rest, "current_total_price", currency) or _bag(rest, "total_price", currency),
        "totalReceivedSet": _bag(rest, "total_price", currency)
        if rest.get("financial_status") in ("paid", "partially_refunded", "refunded")
        else _bag({"x": "0"}, "x", currency),
        "totalRefundedSet": _bag(
            {
                "x": str(
                    sum(
                        (
                            Decimal(str(t["amount"]))
                            for r in rest.get("refunds") or ()
                            for t in r.get("transactions") or ()
                        ),
                        Decimal(0),
                    )
                )
            },
            "x",
            currency,
        ),
        "lineItems": lines,
        "fulfillments": fulfillments,
        "fulfillmentOrders": [],
    }
    shop.orders[number] = order
    return order
