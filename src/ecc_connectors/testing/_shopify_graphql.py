"""The fake Shopify store's GraphQL endpoint: validation and execution against the real Admin schema, the cost
bucket, the root resolvers, and bulk operations.

Theory of operation
-------------------
One request is one :meth:`GraphQLEndpoint.answer`: parse the document, validate it against the schema
(``graphql.validate``: unknown fields, wrong argument types, missing variables), charge its requested cost to
the bucket (or refuse it with Shopify's ``THROTTLED`` error, in a 200, before running anything), then execute
it with graphql-core over the in-memory shop. Every answer carries ``extensions.cost`` (``requestedQueryCost``,
``actualQueryCost``, ``throttleStatus``) as Shopify's does. A document that fails to parse or validate is
answered as Shopify answers it (200, ``errors`` with the message) and recorded in ``violations``: a test suite
asserts that list is empty, so a driver query that would fail on the real API fails the tests.

Field resolution is generic: a dict's key named like the field is the value; a key holding a callable is called
with the field's arguments; a Python list under a field whose type is a ``...Connection`` is paged
(``first``/``after``/``last``/``before``/``reverse``) and answered with ``nodes``, ``edges`` and ``pageInfo``;
a list field with ``first`` is cut. Root fields and mutations are the methods of :class:`Roots`.

Cursors are what Shopify's are: base64 of ``{"last_id", "last_value"}``, the position of the last row on the
sort, so a cursor stays valid while rows move (a keyset, not an offset).

The bucket: ``maximum`` points, refilled at ``restore_rate`` a second on the store's monotonic clock; a query
costing more than the maximum is refused with ``MAX_COST_EXCEEDED``; the actual cost charged is the requested
cost (Shopify refunds the difference when fewer rows come back; the fake charges the upper bound, which keeps a
driver that paces on the requested cost honest).

Bulk operations: ``bulkOperationRunQuery`` validates the inner query (it must also be a valid Admin query), and
the operation walks ``CREATED`` → ``RUNNING`` → ``COMPLETED`` (or ``FAILED``) as its status is read: the first read
starts the inner query on a thread of its own (executed over the whole shop without page limits, without the
store lock, so a large shop does not block other requests), and ``COMPLETED`` is reported once ``bulk_steps``
reads have passed and the file is written. The file is JSONL written the way Shopify writes it: one object a
line, a nested connection's nodes on lines of their own with ``__parentId``, each right after its parent
(``bulk_unsorted`` writes the orders in reverse, to prove a driver checks the order). It is served by the same
socket (``/bulk/<n>.jsonl``, byte ranges honoured).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_named_type,
    parse,
    validate,
)

from ._shopify_schema import query_cost
from ._shopify_search import FieldTest, Matcher, SearchError, compare, compile_search, parse_time
from ._shopify_shop import ShopifyShop, gid, iso, numeric_id

__all__ = ["BulkRun", "CostBucket", "GraphQLEndpoint", "Roots", "operation_of", "shop_resolver"]

MAX_PAGE = 250
Info = GraphQLResolveInfo


class CostBucket:
    """Shopify's leaky bucket of query cost points (module notes)."""

    def __init__(
        self, maximum: float = 2000.0, restore_rate: float = 100.0, monotonic: Callable[[], float] | None = None
    ) -> None:
        import time

        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._monotonic = monotonic or time.monotonic
        self._available = float(maximum)
        self._at = self._monotonic()
        self.spent = 0.0
        self.throttled = 0
        self.lowest = float(maximum)

    def available(self) -> float:
        now = self._monotonic()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def charge(self, cost: float) -> bool:
        if self.available() < cost:
            self.throttled += 1
            return False
        self._available -= cost
        self.spent += cost
        self.lowest = min(self.lowest, self._available)
        return True

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available(), 1),
            "restoreRate": self.restore_rate,
        }


def _cursor(row: Mapping[str, Any], sort_value: Any) -> str:
    payload = {"last_id": numeric_id(str(row.get("id", 0))) if row.get("id") else 0, "last_value": sort_value}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, Any]:
    try:
        found = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return int(found["last_id"]), found["last_value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


def connection(
    rows: list[Any],
    args: Mapping[str, Any],
    sort_value: Callable[[Any], Any] | None = None,
    tie_sign: int = 1,
    unbounded: bool = False,
) -> dict[str, Any]:
    """Page ``rows`` (already sorted by ``(sort value, tie_sign * id)``) as a Shopify connection."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if not unbounded and ((first is not None and first > MAX_PAGE) or (last is not None and last > MAX_PAGE)):
        raise GraphQLError(f"The requested page size is more than {MAX_PAGE}")
    value = sort_value or (
        lambda row: numeric_id(str(row.get("id", 0))) if isinstance(row, Mapping) and row.get("id") else 0
    )
    ordered = list(reversed(rows)) if args.get("reverse") else list(rows)

    def key(row: Any) -> tuple[Any, int]:
        number = numeric_id(str(row["id"])) if isinstance(row, Mapping) and row.get("id") else 0
        return (value(row), tie_sign * number)

    descending = bool(args.get("reverse"))
    if args.get("after"):
        last_id, last_value = _decode_cursor(str(args["after"]))
        mark = (last_value, tie_sign * last_id)
        ordered = [r for r in ordered if (key(r) < mark if descending else key(r) > mark)]
    if args.get("before"):
        last_id, last_value = _decode_cursor(str(args["before"]))
        mark = (last_value, tie_sign * last_id)
        ordered = [r for r in ordered if (key(r) > mark if descending else key(r) < mark)]
    more_after = more_before = False
    if first is not None:
        more_after = len(ordered) > first
        ordered = ordered[:first]
    if last is not None:
        more_before = len(ordered) > last
        ordered = ordered[-last:] if last else []
    edges = [{"node": row, "cursor": _cursor(row, value(row))} for row in ordered]
    return {
        "nodes": ordered,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more_after,
            "hasPreviousPage": more_before or bool(args.get("after")),
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _is_list(kind: Any) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def shop_resolver(source: Any, info: Info, **args: Any) -> Any:
    """The generic field resolver (module notes)."""
    if info.field_name in getattr(info.context, "denied", ()) and info.parent_type.name == "Order":
        # What Shopify answers for protected customer data the app was not approved for: a field error,
        # the rest of the answer intact.
        raise GraphQLError(f"Access denied for {info.field_name} field.", extensions={"code": "ACCESS_DENIED"})
    value = source.get(info.field_name) if isinstance(source, Mapping) else getattr(source, info.field_name, None)
    if callable(value):
        value = value(info, **args)
    named = get_named_type(info.return_type)
    if isinstance(value, list) and named.name.endswith("Connection"):
        unbounded = bool(getattr(info.context, "unbounded", False))
        if unbounded and args.get("first") is None and args.get("last") is None:
            args = dict(args, first=len(value) or 1)
        return connection(value, args, unbounded=unbounded)
    if isinstance(value, list) and _is_list(info.return_type) and args.get("first") is not None:
        return value[: int(args["first"])]
    return value


def operation_of(document: DocumentNode, name: str | None = None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name is not None and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


class _Context:
    def __init__(self, unbounded: bool = False, denied: frozenset[str] = frozenset()) -> None:
        self.unbounded = unbounded
        self.denied = denied


_ORDER_SORT: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "UPDATED_AT": lambda o: o["updatedAt"],
    "CREATED_AT": lambda o: o["createdAt"],
    "PROCESSED_AT": lambda o: o["processedAt"],
    "ID": lambda o: numeric_id(o["id"]),
    "ORDER_NUMBER": lambda o: o["number"],
}


def _time_test(key: str) -> Callable[[Mapping[str, Any], str, str], bool]:
    bounds: dict[str, str] = {}

    def test(row: Mapping[str, Any], comparator: str, value: str) -> bool:
        stamp = row.get(key)
        if stamp is None:
            return False
        bound = bounds.get(value)
        if bound is None:
            try:
                bound = iso(parse_time(value))
            except ValueError as exc:
                raise SearchError(f"{key}: {exc}") from None
            bounds[value] = bound
        # Stamps are all UTC ``YYYY-MM-DDTHH:MM:SSZ``: as text they compare as the times do.
        return compare(str(stamp), comparator, bound)

    return test


def _status(row: Mapping[str, Any], comparator: str, value: str) -> bool:
    wanted = value.lower()
    if wanted == "any":
        return True
    if wanted == "cancelled":
        return row.get("cancelledAt") is not None
    if wanted == "closed":
        return bool(row.get("closed"))
    if wanted == "open":
        return not row.get("closed") and row.get("cancelledAt") is None
    return False


_ORDER_FIELDS: dict[str, FieldTest] = {
    "updated_at": _time_test("updatedAt"),
    "created_at": _time_test("createdAt"),
    "processed_at": _time_test("processedAt"),
    "id": lambda row, c, v: compare(numeric_id(row["id"]), c, int(v)),
    "status": _status,
    "tag": lambda row, c, v: v in row.get("tags", []),
    "name": lambda row, c, v: str(row.get("name", "")).lstrip("#") == v.lstrip("#"),
    "financial_status": lambda row, c, v: str(row.get("displayFinancialStatus", "")).lower() == v.lower(),
    "email": lambda row, c, v: row.get("email") == v,
    "sku": lambda row, c, v: any(li.get("sku") == v for li in row.get("lineItems", [])),
}


class BulkRun:
    """One bulk operation's state (module notes)."""

    def __init__(self, number: int, query: str, created: str, fail: bool, steps: int) -> None:
        self.number = number
        self.query = query
        self.fail = fail
        self.steps = steps
        self.reads = 0
        self.lines: list[bytes] = []
        self.object_count = 0
        self.root_count = 0
        self.file: bytes | None = None
        self.finished: dict[str, Any] = {}
        self.worker: threading.Thread | None = None
        self.node: dict[str, Any] = {
            "__typename": "BulkOperation",
            "id": gid("BulkOperation", number),
            "status": "CREATED",
            "createdAt": created,
            "completedAt": None,
            "errorCode": None,
            "fileSize": None,
            "objectCount": "0",
            "rootObjectCount": "0",
            "partialDataUrl": None,
            "query": query,
            "type": "QUERY",
            "url": None,
        }


class Roots:
    """Root query fields and mutations over a :class:`ShopifyShop` (the shop's lock is held by the caller)."""

    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self._endpoint = endpoint
        self.shop = endpoint.shop

    # -- queries ---------------------------------------------------------------------------------------------

    def orders(self, info: Info, **args: Any) -> dict[str, Any]:
        self._endpoint.listing()
        rows = self._search_orders(args.get("query"))
        sort = _ORDER_SORT.get(str(args.get("sortKey") or "ID"), _ORDER_SORT["ID"])
        # Shopify does not document how it orders ties; ``tie_sign=-1`` makes the fake order them against the
        # id, so a driver that assumed an id tie-break would be caught.
        sign = self._endpoint.tie_sign
        rows.sort(key=lambda o: (sort(o), sign * numeric_id(o["id"])))
        unbounded = bool(getattr(info.context, "unbounded", False))
        if unbounded:
            args = dict(args, first=len(rows) or 1)
        return connection(rows, args, sort, sign, unbounded)

    def ordersCount(
        self, info: Info, query: str | None = None, limit: int | None = 10000, **args: Any
    ) -> dict[str, Any]:
        found = len(self._search_orders(query))
        if limit is not None and found > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": found, "precision": "EXACT"}

    def _search_orders(self, text: str | None) -> list[dict[str, Any]]:
        matcher = self._search("orders", text, _ORDER_FIELDS)
        rows = list(self.shop.orders.values())
        if "read_all_orders" not in self.shop.scopes:
            # Shopify's rule: without read_all_orders only the last 60 days of orders are visible, silently.
            horizon = self.shop.clock() - timedelta(days=60)
            rows = [o for o in rows if parse_time(o["createdAt"]) >= horizon]
        return [o for o in rows if matcher(o)]

    def _search(
        self, root: str, text: str | None, fields: Mapping[str, FieldTest], default: FieldTest | None = None
    ) -> Matcher:
        """The ``query:`` argument of root field ``root`` as a predicate. A search field Shopify does not know is
        kept as a violation: Shopify ignores it and answers more rows than the driver asked for."""
        try:
            matcher, unknown = compile_search(text, fields, default)
        except SearchError as exc:
            raise GraphQLError(f"Invalid search query: {exc}") from None
        for name in unknown:
            self._endpoint.violations.append(f"{root}(query:) uses the unknown search field {name!r}")
        return matcher

    def order(self, info: Info, id: str) -> dict[str, Any] | None:
        self._endpoint.listing()
        return self.shop.find(id)

    def node(self, info: Info, id: str) -> dict[str, Any] | None:
        kind = id.split("/")[-2] if id.count("/") >= 3 else ""
        if kind == "Order":
            return self.order(info, id)
        if kind == "BulkOperation":
            return self._endpoint.bulk_status(numeric_id(id))
        if kind == "DraftOrder":
            return self.shop.drafts.get(numeric_id(id))
        return None

    def job(self, info: Info, id: str) -> dict[str, Any] | None:
        return self.shop.poll_job(id)

    def currentAppInstallation(self, info: Info) -> dict[str, Any]:
        return {
            "__typename": "AppInstallation",
            "id": gid("AppInstallation", 1),
            "accessScopes": [{"handle": s, "description": s} for s in sorted(self.shop.scopes)],
        }

    def productVariants(self, info: Info, **args: Any) -> dict[str, Any]:
        fields: dict[str, FieldTest] = {
            "sku": lambda row, c, v: str(row.get("sku") or "").lower() == v.lower(),
            "title": lambda row, c, v: v.lower().strip("*") in str(row.get("title", "")).lower(),
        }

        def default(row: Mapping[str, Any], c: str, v: str) -> bool:
            word = v.lower().strip("*")
            return word in str(row.get("title", "")).lower() or word in str(row.get("sku") or "").lower()

        matcher = self._search("productVariants", args.get("query"), fields, default)
        rows = sorted((v for v in self.shop.variants.values() if matcher(v)), key=lambda v: numeric_id(v["id"]))
        return connection(rows, args)

    def draftOrders(self, info: Info, **args: Any) -> dict[str, Any]:
        fields: dict[str, FieldTest] = {
            "tag": lambda row, c, v: v in row.get("tags", []),
            "status": lambda row, c, v: str(row.get("status", "")).lower() == v.lower(),
        }
        matcher = self._search("draftOrders", args.get("query"), fields)
        rows = sorted((d for d in self.shop.drafts.values() if matcher(d)), key=lambda d: numeric_id(d["id"]))
        return connection(rows, args)

    def currentBulkOperation(self, info: Info, **args: Any) -> dict[str, Any] | None:
        return self._endpoint.bulk_status(None)

    # -- mutations -------------------------------------------------------------------------------------------

    def fulfillmentCreate(self, info: Info, fulfillment: dict[str, Any], message: str | None = None) -> dict[str, Any]:
        made, errors = self.shop.create_fulfillment(fulfillment)
        return {"fulfillment": made, "userErrors": errors}

    def tagsAdd(self, info: Info, id: str, tags: list[str]) -> dict[str, Any]:
        node, errors = self.shop.add_tags(id, tags)
        return {"node": node, "userErrors": errors}

    def orderUpdate(self, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        order, errors = self.shop.update_order(input)
        return {"order": order, "userErrors": errors}

    def orderCancel(self, info: Info, **args: Any) -> dict[str, Any]:
        return self.shop.cancel(args)

    def draftOrderCreate(self, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        draft, errors = self.shop.create_draft(input)
        return {"draftOrder": draft, "userErrors": errors}

    def draftOrderComplete(self, info: Info, id: str, **args: Any) -> dict[str, Any]:
        draft, errors = self.shop.complete_draft(id, bool(args.get("paymentPending")))
        return {"draftOrder": draft, "userErrors": errors}

    def bulkOperationRunQuery(self, info: Info, query: str, groupObjects: bool) -> dict[str, Any]:
        return self._endpoint.start_bulk(query)


class GraphQLEndpoint:
    """Validates, charges and executes one GraphQL request over the shop (module notes)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        shop: ShopifyShop,
        bucket: CostBucket,
        *,
        listing: Callable[[], None] = lambda: None,
        file_url: Callable[[int], str] = lambda n: f"/bulk/{n}.jsonl",
    ) -> None:
        self.schema = schema
        self.shop = shop
        self.bucket = bucket
        self.listing = listing
        self.file_url = file_url
        self.violations: list[str] = []
        self.queries: list[str] = []
        self.bulk: dict[int, BulkRun] = {}
        self.bulk_steps = 2
        self.bulk_fail = False
        self.bulk_unsorted = False
        self.denied_fields: set[str] = set()
        self.throttle_next = 0
        self.tie_sign = 1
        self._documents: dict[str, tuple[DocumentNode | None, tuple[dict[str, Any], ...]]] = {}
        self.max_query_cost = 1000
        self._lock = threading.RLock()
        self.roots = Roots(self)

    def document(self, text: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        """The parsed and validated document (a driver sends the same few documents again and again, so the
        outcome is kept by text: validation against a 3 MB schema is the fake's main cost)."""
        found = self._documents.get(text)
        if found is not None:
            return found[0], list(found[1])
        try:
            document: DocumentNode | None = parse(text)
        except GraphQLError as exc:
            return None, [self._error(exc)]
        errors = [self._error(e) for e in validate(self.schema, document)]  # type: ignore[arg-type]
        if len(self._documents) < 512:
            self._documents[text] = (document, tuple(errors))
        return document, errors

    @staticmethod
    def _error(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
        found = error.formatted
        body: dict[str, Any] = {"message": found["message"]}
        if found.get("locations"):
            body["locations"] = found["locations"]
        if found.get("path"):
            body["path"] = found["path"]
        if code:
            body["extensions"] = {"code": code}
        elif found.get("extensions"):
            body["extensions"] = dict(found["extensions"])
        return body

    def answer(self, body: Any) -> tuple[dict[str, Any], bool]:
        """The response body for one request, and whether it was a mutation."""
        if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
            self.violations.append(f"a request without a query string: {str(body)[:120]}")
            return {"errors": [{"message": "Parameter Missing or Invalid"}]}, False
        text = str(body["query"])
        self.queries.append(text)
        document, errors = self.document(text)
        if document is None or errors:
            self.violations += [f"{e['message']} in: {' '.join(text.split())[:200]}" for e in errors]
            return {"errors": errors}, False
        operation = operation_of(document, body.get("operationName"))
        if operation is None:
            self.violations.append("a document with several operations and no operationName")
            return {"errors": [{"message": "An operation name is required"}]}, False
        mutation = operation.operation is OperationType.MUTATION
        variables = body.get("variables") or {}
        cost = query_cost(self.schema, document, variables)
        limit = int(min(self.max_query_cost, self.bucket.maximum))
        if cost > limit:
            self.violations.append(f"a document costing {cost} (the single query limit is {limit})")
            message = f"Query cost is {cost}, which exceeds the single query max cost limit ({limit})."
            error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": limit}}
            return {"errors": [error]}, mutation
        throttled = False
        if self.throttle_next > 0:
            self.throttle_next -= 1
            throttled = True
        elif not self.bucket.charge(cost):
            throttled = True
        if throttled:
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": cost,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }, mutation
        result = _sync(
            self.schema,
            document,
            root_value=self.roots,
            context_value=_Context(denied=frozenset(self.denied_fields)),
            variable_values=variables,
            operation_name=body.get("operationName"),
            field_resolver=shop_resolver,
        )
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [self._error(e) for e in result.errors]
            for e in result.errors:
                if "Variable" in e.message or "Expected" in e.message:
                    self.violations.append(f"{e.message} in: {' '.join(text.split())[:200]}")
        answer["data"] = result.data
        answer["extensions"] = {
            "cost": {"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": self.bucket.status()}
        }
        return answer, mutation

    # -- bulk ------------------------------------------------------------------------------------------------

    def start_bulk(self, query: str) -> dict[str, Any]:
        running = [b for b in self.bulk.values() if b.node["status"] in ("CREATED", "RUNNING")]
        if running:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "field": ["query"],
                        "message": "A bulk query operation for this app and shop is already in progress",
                    }
                ],
            }
        document, errors = self.document(query)
        if document is None or errors:
            self.violations += [f"bulk query: {e['message']}" for e in errors]
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["query"], "message": e["message"]} for e in errors],
            }
        run = BulkRun(len(self.bulk) + 1, query, self.shop.now(), self.bulk_fail, self.bulk_steps)
        self.bulk[run.number] = run
        return {"bulkOperation": run.node, "userErrors": []}

    def bulk_status(self, number: int | None) -> dict[str, Any] | None:
        if number is None:
            if not self.bulk:
                return None
            number = max(self.bulk)
        run = self.bulk.get(number)
        if run is None:
            return None
        run.reads += 1
        node = run.node
        if node["status"] == "CREATED":
            node["status"] = "RUNNING"
            if not run.fail:
                # Shopify runs the query on its side while the app polls: so does the fake, on a thread of its
                # own, reading the shop without the store lock (a large shop would otherwise block every request).
                run.worker = threading.Thread(
                    target=self._finish_bulk, args=(run,), name="fake-shopify-bulk", daemon=True
                )
                run.worker.start()
        elif node["status"] == "RUNNING" and run.reads > run.steps:
            if run.fail:
                node["status"] = "FAILED"
                node["errorCode"] = "INTERNAL_SERVER_ERROR"
            elif run.file is not None:
                node.update(run.finished)
        return dict(node)

    def _finish_bulk(self, run: BulkRun) -> None:
        document = parse(run.query)
        result = _sync(
            self.schema,
            document,
            root_value=_BulkRoots(self),
            context_value=_Context(unbounded=True),
            field_resolver=shop_resolver,
        )
        if result.errors:
            run.fail = True
            self.violations += [f"bulk query failed: {e.message}" for e in result.errors]
            return
        lines: list[bytes] = []
        roots = 0
        for value in (result.data or {}).values():
            nodes = _connection_nodes(value)
            for node in reversed(nodes) if self.bulk_unsorted else nodes:
                roots += 1
                lines += list(_flatten(node, None))
        file = b"".join(lines)
        run.finished = {
            "status": "COMPLETED",
            "completedAt": self.shop.now(),
            "url": self.file_url(run.number),
            "fileSize": str(len(file)),
            "objectCount": str(len(lines)),
            "rootObjectCount": str(roots),
        }
        run.file = file


class _BulkRoots(Roots):
    """The roots a bulk query runs on: the same, except that reading orders is not a listing request (the
    bulk run is one request, already counted)."""

    def orders(self, info: Info, **args: Any) -> dict[str, Any]:
        rows = self._search_orders(args.get("query"))
        sort = _ORDER_SORT.get(str(args.get("sortKey") or "ID"), _ORDER_SORT["ID"])
        sign = self._endpoint.tie_sign
        rows.sort(key=lambda o: (sort(o), sign * numeric_id(o["id"])))
        return connection(rows, dict(args, first=len(rows) or 1), sort, sign, True)


def _sync(schema: GraphQLSchema, document: DocumentNode, **kwargs: Any) -> ExecutionResult:
    # Every resolver here is synchronous, so graphql-core returns the result itself, never an awaitable.
    result = execute(schema, document, **kwargs)
    assert isinstance(result, ExecutionResult)
    return result


def _connection_nodes(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        if isinstance(value.get("edges"), list):
            return [edge["node"] for edge in value["edges"]]
        if isinstance(value.get("nodes"), list):
            return list(value["nodes"])
    return []


def _flatten(node: Mapping[str, Any], parent: str | None) -> Iterator[bytes]:
    """One JSONL line for ``node``, then its nested connections' nodes (``__parentId``), recursively."""
    own: dict[str, Any] = {}
    children: list[Mapping[str, Any]] = []
    for key, value in node.items():
        if (
            isinstance(value, Mapping)
            and ("edges" in value or "nodes" in value)
            and set(value) <= {"edges", "nodes", "pageInfo"}
        ):
            children += _connection_nodes(value)
        else:
            own[key] = value
    if parent is not None:
        own["__parentId"] = parent
    yield json.dumps(own, separators=(",", ":")).encode() + b"\n"
    for child in children:
        yield from _flatten(child, str(node.get("id") or parent))


def today(moment: datetime) -> str:
    return moment.date().isoformat()
