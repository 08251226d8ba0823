"""Tables of the wc/v3 OpenAPI document that the fake WooCommerce store is built from (copied by a script).

Theory of operation: the fake must not share the driver's assumptions, so its statuses, filters and payload
shapes come from the vendor's machine-readable spec (``shared/specs/woocommerce/wc-v3-openapi-3.0.x.yml``, a
third-party OpenAPI generated from a live wc/v3 schema), never from ``ecc_connectors.drivers.woocommerce``. The
project must not read ``shared/`` at run time, so the values are copied here; ``tests/test_woocommerce_fake.py``
extracts them again from the spec and fails when one differs. Each table names where it comes from.

Known gaps of that document (its SOURCE.md): it dates from WooCommerce 5.x, so the order status enum lacks
``checkout-draft`` (added in 6.3) and every enum lacks the statuses plugins register; WooCommerce builds those
enums at run time from ``wc_get_order_statuses()``, which the fake imitates with its registered statuses.
"""

from __future__ import annotations

__all__ = [
    "BILLING_FIELDS",
    "COUPON_LINE_FIELDS",
    "FEE_LINE_FIELDS",
    "LINE_ITEM_FIELDS",
    "LISTING_PARAMS",
    "LISTING_STATUSES",
    "NOTE_FIELDS",
    "NOTE_TYPES",
    "ORDERBY",
    "ORDER_FIELDS",
    "ORDER_STATUSES",
    "PRODUCT_TYPES",
    "REFUND_FIELDS",
    "REPORT_TOTAL_FIELDS",
    "SHIPPING_FIELDS",
    "SHIPPING_LINE_FIELDS",
    "STOCK_STATUSES",
    "TAX_LINE_FIELDS",
]

# fmt: off
# components.schemas.shop_order.properties.status.enum
ORDER_STATUSES: tuple[str, ...] = (
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
)
# paths./orders.get.parameters[status].schema.items.enum
LISTING_STATUSES: tuple[str, ...] = (
    "any", "trash", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
)
# paths./orders.get.parameters[orderby].schema.enum
ORDERBY: tuple[str, ...] = ("date", "id", "include", "title", "slug", "modified")
# paths./orders.get.parameters[*].name
LISTING_PARAMS: tuple[str, ...] = (
    "context", "page", "per_page", "search", "after", "before", "modified_after", "modified_before",
    "dates_are_gmt", "exclude", "include", "offset", "order", "orderby", "parent", "parent_exclude", "status",
    "customer", "product", "dp",
)
# components.schemas.shop_order.properties (keys, in the spec's order)
ORDER_FIELDS: tuple[str, ...] = (
    "id", "parent_id", "number", "order_key", "created_via", "version", "status", "currency", "date_created",
    "date_created_gmt", "date_modified", "date_modified_gmt", "discount_total", "discount_tax", "shipping_total",
    "shipping_tax", "cart_tax", "total", "total_tax", "prices_include_tax", "customer_id", "customer_ip_address",
    "customer_user_agent", "customer_note", "billing", "shipping", "payment_method", "payment_method_title",
    "transaction_id", "date_paid", "date_paid_gmt", "date_completed", "date_completed_gmt", "cart_hash",
    "meta_data", "line_items", "tax_lines", "shipping_lines", "fee_lines", "coupon_lines", "refunds", "set_paid",
)
# shop_order.properties.billing.properties / .shipping.properties
BILLING_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country",
    "email", "phone",
)
SHIPPING_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country",
)
# shop_order.properties.<lines>.items.properties
LINE_ITEM_FIELDS: tuple[str, ...] = (
    "id", "name", "parent_name", "product_id", "variation_id", "quantity", "tax_class", "subtotal",
    "subtotal_tax", "total", "total_tax", "taxes", "meta_data", "sku", "price",
)
TAX_LINE_FIELDS: tuple[str, ...] = (
    "id", "rate_code", "rate_id", "label", "compound", "tax_total", "shipping_tax_total", "meta_data",
)
SHIPPING_LINE_FIELDS: tuple[str, ...] = (
    "id", "method_title", "method_id", "instance_id", "total", "total_tax", "taxes", "meta_data",
)
FEE_LINE_FIELDS: tuple[str, ...] = (
    "id", "name", "tax_class", "tax_status", "total", "total_tax", "taxes", "meta_data",
)
COUPON_LINE_FIELDS: tuple[str, ...] = ("id", "code", "discount", "discount_tax", "meta_data")
REFUND_FIELDS: tuple[str, ...] = ("id", "reason", "total")
# components.schemas.order_note.properties; paths./orders/{order_id}/notes.get.parameters[type].schema.enum
NOTE_FIELDS: tuple[str, ...] = (
    "id", "author", "date_created", "date_created_gmt", "note", "customer_note", "added_by_user",
)
NOTE_TYPES: tuple[str, ...] = ("any", "customer", "internal")
# components.schemas.report_order_total.properties
REPORT_TOTAL_FIELDS: tuple[str, ...] = ("slug", "name", "total")
# components.schemas.product.properties.type.enum / .stock_status.enum
PRODUCT_TYPES: tuple[str, ...] = ("simple", "grouped", "external", "variable")
STOCK_STATUSES: tuple[str, ...] = ("instock", "outofstock", "onbackorder")
# fmt: on
