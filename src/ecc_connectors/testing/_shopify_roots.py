"""The root query fields and mutations of the fake Shopify store's GraphQL endpoint, over the shop.

Theory of operation
-------------------
Each root field and mutation is a method of :class:`Roots` named as the schema names it; graphql-core calls it
with the field's arguments. A ``query:`` search argument is compiled (``_shopify_search``) against the search
fields that root knows; one Shopify does not know is kept as a violation. Reading ``orders`` or ``order`` is a
listing request, so a test's scheduled changes land between the pages of a download; without the
``read_all_orders`` scope only the last 60 days of orders are visible. Mutations hand their input to the shop
(``_shopify_shop``) and answer its user errors. :class:`BulkRoots` are the roots a bulk query runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from graphql import GraphQLError

from ._shopify_resolver import Info, connection
from ._shopify_search import FieldTest, Matcher, SearchError, compare, compile_search, parse_time
from ._shopify_shop import ShopifyShop
from ._shopify_state import gid, iso, numeric_id


class GraphQLEndpoint(Protocol):
    """What the roots use of the endpoint serving them (``_shopify_graphql.GraphQLEndpoint``)."""

    shop: ShopifyShop
    tie_sign: int
    violations: list[str]
    listing: Callable[[], None]

    def bulk_status(self, number: int | None) -> dict[str, Any] | None: ...

    def start_bulk(self, query: str) -> dict[str, Any]: ...


__all__ = ["BulkRoots", "Roots"]

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


class BulkRoots(Roots):
    """The roots a bulk query runs on: the same, except that reading orders is not a listing request (the
    bulk run is one request, already counted)."""

    def orders(self, info: Info, **args: Any) -> dict[str, Any]:
        rows = self._search_orders(args.get("query"))
        sort = _ORDER_SORT.get(str(args.get("sortKey") or "ID"), _ORDER_SORT["ID"])
        sign = self._endpoint.tie_sign
        rows.sort(key=lambda o: (sort(o), sign * numeric_id(o["id"])))
        return connection(rows, dict(args, first=len(rows) or 1), sort, sign, True)
