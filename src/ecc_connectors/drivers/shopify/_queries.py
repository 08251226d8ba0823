"""The GraphQL documents the Shopify driver sends, and the search text of a listing.

Theory of operation
-------------------
Each document asks for the fields the mapping reads and no more: query cost is charged per object (a money bag
is two objects, a connection costs 2 plus its page size times one node), so an unread field is paid for on
every page. Line items come ``LINES_PER_PAGE`` with the order; an order with more is completed by
``ORDER_LINES`` (the mapping never sees a partial order). Every document is checked against the published
Admin schema by the fake store in the test suite, which fails on any field or argument the schema lacks.

The listing's search text (:func:`search_text`) is Shopify's search syntax: ``status:any`` (or closed and
cancelled orders are left out), ``updated_at:>='…'`` / ``<='…'`` around the window, widened by one second on
each side because Shopify's stamps are whole seconds and the bounds' inclusiveness is not documented; the exact
bounds are applied to the rows that come back.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = [
    "CANCEL",
    "DRAFT_COMPLETE",
    "DRAFT_CREATE",
    "DRAFT_FIND",
    "FULFILLMENT_CREATE",
    "FULFILLMENT_STATE",
    "JOB",
    "KEYS",
    "LINES_PER_PAGE",
    "ORDERS_PER_PAGE",
    "NOTE_AND_TAGS",
    "NOTE_STATE",
    "CANCEL_STATE",
    "TAGS_ONLY",
    "ORDER",
    "ORDERS",
    "ORDER_LINES",
    "SCOPES",
    "VARIANTS",
    "BULK_RUN",
    "COUNT",
    "BULK_STATUS",
    "bulk_orders_query",
    "search_text",
    "stamp",
]

LINES_PER_PAGE = 10
ORDERS_PER_PAGE = 6
"""At most this many orders a page: a page of orders with their first lines costs about 150 points an order
(requested cost), and Shopify refuses a single query over 1,000."""

_MONEY = "fragment Money on MoneyBag { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"
_ADDRESS = (
    "fragment Address on MailingAddress { name firstName lastName company address1 address2 city province"
    " provinceCode zip countryCodeV2 phone }"
)
_LINE = (
    "fragment Line on LineItem { id sku name quantity currentQuantity unfulfilledQuantity"
    " originalUnitPriceSet { shopMoney { amount } } totalDiscountSet { shopMoney { amount } }"
    " taxLines { priceSet { shopMoney { amount } } } }"
)
_ORDER_BODY = """
  id legacyResourceId name createdAt updatedAt cancelledAt closed closedAt
  displayFinancialStatus displayFulfillmentStatus edited email phone note tags paymentGatewayNames
  currencyCode presentmentCurrencyCode
  customer { legacyResourceId displayName email phone }
  billingAddress { ...Address } shippingAddress { ...Address }
  shippingLine { title code }
  subtotalPriceSet { ...Money } totalShippingPriceSet { ...Money } totalTaxSet { ...Money }
  totalDiscountsSet { ...Money } totalPriceSet { ...Money } currentTotalPriceSet { ...Money }
  totalReceivedSet { ...Money } totalRefundedSet { ...Money }
  fulfillments(first: 5) { legacyResourceId createdAt trackingInfo(first: 3) { company number } }
"""
_ORDER_FIELDS = (
    "fragment OrderFields on Order {"
    + _ORDER_BODY
    + f" lineItems(first: {LINES_PER_PAGE}) {{ nodes {{ ...Line }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
_FRAGMENTS = f"{_ORDER_FIELDS}\n{_LINE}\n{_MONEY}\n{_ADDRESS}"

ORDERS = (
    "query Orders($first: Int!, $after: String, $query: String) {"
    " orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {"
    " nodes { ...OrderFields } pageInfo { hasNextPage endCursor } } }\n" + _FRAGMENTS
)
KEYS = (
    "query OrderKeys($first: Int!, $after: String, $query: String) {"
    " orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {"
    " nodes { legacyResourceId updatedAt createdAt } pageInfo { hasNextPage endCursor } } }"
)
ORDER = "query Order($id: ID!) { order(id: $id) { ...OrderFields } }\n" + _FRAGMENTS
ORDER_LINES = (
    "query OrderLines($id: ID!, $after: String) { order(id: $id) { lineItems(first: 50, after: $after) {"
    " nodes { ...Line } pageInfo { hasNextPage endCursor } } } }\n" + _LINE
)
SCOPES = "query Scopes { currentAppInstallation { accessScopes { handle } } }"

FULFILLMENT_STATE = """query FulfillmentState($id: ID!) { order(id: $id) {
  id legacyResourceId cancelledAt displayFulfillmentStatus
  fulfillments(first: 20) { legacyResourceId createdAt trackingInfo(first: 5) { number } }
  fulfillmentOrders(first: 5) { nodes { id status
    lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } } } } } }"""
FULFILLMENT_CREATE = """mutation Ship($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { legacyResourceId status } userErrors { field message } } }"""
NOTE_STATE = (
    "query NoteState($id: ID!) { order(id: $id) { id legacyResourceId note tags cancelledAt closed"
    " displayFinancialStatus displayFulfillmentStatus } }"
)
NOTE_AND_TAGS = """mutation Acknowledge($id: ID!, $tags: [String!]!, $input: OrderInput!) {
  tagsAdd(id: $id, tags: $tags) { userErrors { field message } }
  orderUpdate(input: $input) { order { id } userErrors { field message } } }"""
TAGS_ONLY = (
    """mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { field message } } }"""
)
CANCEL = """mutation Cancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, $notifyCustomer: Boolean,
  $refundMethod: OrderCancelRefundMethodInput, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer,
    refundMethod: $refundMethod, staffNote: $staffNote) {
    job { id done } orderCancelUserErrors { code field message } } }"""
CANCEL_STATE = (
    "query CancelState($id: ID!) { order(id: $id) { id legacyResourceId cancelledAt note"
    " cancellation { staffNote } displayFulfillmentStatus } }"
)
JOB = "query Job($id: ID!) { job(id: $id) { id done } }"
VARIANTS = """query Variants($first: Int!, $query: String) { productVariants(first: $first, query: $query) {
  nodes { id legacyResourceId sku title displayName price inventoryQuantity availableForSale } } }"""
DRAFT_FIND = (
    """query DraftFind($query: String) { draftOrders(first: 2, query: $query) {
  nodes { id status order { ...OrderFields } } } }\n"""
    + _FRAGMENTS
)
DRAFT_CREATE = """mutation DraftCreate($input: DraftOrderInput!) { draftOrderCreate(input: $input) {
  draftOrder { id status } userErrors { field message } } }"""
DRAFT_COMPLETE = (
    """mutation DraftComplete($id: ID!, $paymentPending: Boolean) {
  draftOrderComplete(id: $id, paymentPending: $paymentPending) {
    draftOrder { id status order { ...OrderFields } } userErrors { field message } } }\n"""
    + _FRAGMENTS
)
BULK_RUN = """mutation Bulk($query: String!) { bulkOperationRunQuery(query: $query, groupObjects: true) {
  bulkOperation { id status } userErrors { field message } } }"""
COUNT = (
    "query OrdersCount($query: String, $limit: Int) { ordersCount(query: $query, limit: $limit) { count precision } }"
)
BULK_STATUS = """query BulkStatus($id: ID!) { node(id: $id) { ... on BulkOperation {
  id status errorCode objectCount rootObjectCount url partialDataUrl } } }"""


def bulk_orders_query(search: str) -> str:
    """The bulk operation's inner query: the same order fields, connections as ``edges { node }`` with no page
    size (bulk queries page nothing), line items as a nested connection written on lines of their own."""
    escaped = search.replace("\\", "\\\\").replace('"', '\\"')
    body = _ORDER_BODY.replace("fulfillments(first: 5)", "fulfillments").replace(
        "trackingInfo(first: 3)", "trackingInfo"
    )
    return (
        f'{{ orders(query: "{escaped}", sortKey: UPDATED_AT) {{ edges {{ node {{ {body}'
        " lineItems { edges { node { ...Line } } } } } } }\n" + f"{_LINE}\n{_MONEY}\n{_ADDRESS}"
    )


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_text(
    updated_from: datetime | None,
    updated_to: datetime | None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> str:
    """Shopify search text for a window (module notes); one second of slack on each time bound."""
    terms = ["status:any"]
    second = timedelta(seconds=1)
    if updated_from is not None:
        terms.append(f"updated_at:>='{stamp(updated_from - second)}'")
    if updated_to is not None:
        terms.append(f"updated_at:<='{stamp(updated_to + second)}'")
    if created_from is not None:
        terms.append(f"created_at:>='{stamp(created_from - second)}'")
    if created_to is not None:
        terms.append(f"created_at:<='{stamp(created_to + second)}'")
    return " ".join(terms)
