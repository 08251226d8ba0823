"""The fake Shopify store's GraphQL endpoint: validation and execution against the real Admin schema, the cost
bucket, and bulk operations.

Theory of operation
-------------------
One request is one :meth:`GraphQLEndpoint.answer`: parse the document, validate it against the schema
(``graphql.validate``: unknown fields, wrong argument types, missing variables), charge its requested cost to
the bucket (or refuse it with Shopify's ``THROTTLED`` error, in a 200, before running anything), then execute
it with graphql-core over the in-memory shop (root fields and mutations: ``_shopify_roots``; every other field:
the generic resolver, ``_shopify_resolver``). Every answer carries ``extensions.cost`` (``requestedQueryCost``,
``actualQueryCost``, ``throttleStatus``) as Shopify's does. A document that fails to
parse or validate is answered as Shopify answers it (200, ``errors`` with the message) and recorded in
``violations``: a test suite asserts that list is empty, so a driver query that would fail on the real API
fails the tests.

The bucket: ``maximum`` points, refilled at ``restore_rate`` a second on the store's monotonic clock; a query
costing more than the maximum is refused with ``MAX_COST_EXCEEDED``; the actual cost charged is the requested
cost (Shopify refunds the difference when fewer rows come back; the fake charges the upper bound, which keeps a
driver that paces on the requested cost honest).

Bulk operations: ``bulkOperationRunQuery`` validates the inner query (it must also be a valid Admin query), and
the operation walks ``CREATED`` → ``RUNNING`` → ``COMPLETED`` (or ``FAILED``) as its status is read: the first read
starts the inner query on a thread of its own (executed over the whole shop without page limits, without the
store lock, so a large shop does not block other requests), and ``COMPLETED`` is reported once ``bulk_steps``
reads have passed and the file (``_shopify_bulk``) is written. It is served by the same socket
(``/bulk/<n>.jsonl``, byte ranges honoured).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)

from ._shopify_bulk import BulkRun, jsonl_lines
from ._shopify_resolver import ResolveContext, shop_resolver
from ._shopify_roots import BulkRoots, Roots
from ._shopify_schema import query_cost
from ._shopify_shop import ShopifyShop

__all__ = ["CostBucket", "GraphQLEndpoint", "operation_of"]


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


def operation_of(document: DocumentNode, name: str | None = None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name is not None and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


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
            context_value=ResolveContext(denied=frozenset(self.denied_fields)),
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
            root_value=BulkRoots(self),
            context_value=ResolveContext(unbounded=True),
            field_resolver=shop_resolver,
        )
        if result.errors:
            run.fail = True
            self.violations += [f"bulk query failed: {e.message}" for e in result.errors]
            return
        lines, roots = jsonl_lines(result.data, unsorted=self.bulk_unsorted)
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


def _sync(schema: GraphQLSchema, document: DocumentNode, **kwargs: Any) -> ExecutionResult:
    # Every resolver here is synchronous, so graphql-core returns the result itself, never an awaitable.
    result = execute(schema, document, **kwargs)
    assert isinstance(result, ExecutionResult)
    return result
