"""The fake BigCommerce store's fixed tables, written from BigCommerce's own OpenAPI (``orders.v2.oas2.yml``,
bigcommerce/docs) and its rate-limit guide, never from the driver.

``tests/test_bigcommerce_fake.py`` checks each table against the spec files in ``../shared/specs/bigcommerce``
(the statuses against the ``/order_statuses`` example, the payment states against the ``payment_status``
enum, the sort fields against the ``sort`` parameter's enum, the order row's keys against ``order_Resp``), so a
table that drifts from the vendor's word fails a test.
"""

from __future__ import annotations

__all__ = [
    "ORDER_SORT_FIELDS",
    "PAYMENT_STATES",
    "PLAN_QUOTAS",
    "STATUSES",
]

STATUSES: tuple[tuple[int, str, str, int], ...] = (
    # (id, system label, custom label, display order): the /v2/order_statuses example, custom labels included.
    (0, "Incomplete", "Incomplete - Testing", 0),
    (1, "Pending", "Pending", 1),
    (2, "Shipped", "Shipped", 8),
    (3, "Partially Shipped", "Partially Shipped", 6),
    (4, "Refunded", "Refunded", 11),
    (5, "Cancelled", "Cancelled", 9),
    (6, "Declined", "Declined", 10),
    (7, "Awaiting Payment", "Awaiting Payment", 2),
    (8, "Awaiting Pickup", "Awaiting Pickup", 5),
    (9, "Awaiting Shipment", "Awaiting Shipment", 4),
    (10, "Completed", "Completed - Testing", 7),
    (11, "Awaiting Fulfillment", "Awaiting Fulfillment", 3),
    (12, "Manual Verification Required", "Manual Verification Required", 13),
    (13, "Disputed", "Disputed", 12),
    (14, "Partially Refunded", "Partially Refunded", 14),
)

PAYMENT_STATES: tuple[str, ...] = (
    "authorized",
    "captured",
    "capture pending",
    "declined",
    "held for review",
    "paid",
    "partially refunded",
    "pending",
    "refunded",
    "void",
    "void pending",
    "",
)
"""``payment_status``'s enum in the order schema."""

ORDER_SORT_FIELDS: tuple[str, ...] = (
    "id",
    "customer_id",
    "date_created",
    "date_modified",
    "status_id",
    "channel_id",
    "external_id",
)
"""``GET /orders`` ``sort``: the field; its description adds ``:asc`` / ``:desc`` for the direction."""

PLAN_QUOTAS: dict[str, int] = {"standard": 150, "plus": 150, "pro": 450}
"""Requests per 30 s window by plan (api-rate-limits.mdx)."""
