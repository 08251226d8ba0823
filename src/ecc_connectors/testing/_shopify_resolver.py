"""How graphql-core reads the fake Shopify shop: the generic field resolver, and connections paged with
Shopify's cursors.

Theory of operation
-------------------
Field resolution is generic: a dict's key named like the field is the value; a key holding a callable is called
with the field's arguments; a Python list under a field whose type is a ``...Connection`` is paged
(``first``/``after``/``last``/``before``/``reverse``) and answered with ``nodes``, ``edges`` and ``pageInfo``;
a list field with ``first`` is cut. Root fields and mutations are the methods of ``_shopify_roots.Roots``.

Cursors are what Shopify's are: base64 of ``{"last_id", "last_value"}``, the position of the last row on the
sort, so a cursor stays valid while rows move (a keyset, not an offset).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLError, GraphQLList, GraphQLNonNull, GraphQLResolveInfo, get_named_type

from ._shopify_state import numeric_id

__all__ = ["MAX_PAGE", "Info", "ResolveContext", "connection", "shop_resolver"]

MAX_PAGE = 250
Info = GraphQLResolveInfo


class ResolveContext:
    """What one execution allows: ``unbounded`` (a bulk query: connections without page limits) and ``denied``
    (``Order`` fields answered ``ACCESS_DENIED``)."""

    def __init__(self, unbounded: bool = False, denied: frozenset[str] = frozenset()) -> None:
        self.unbounded = unbounded
        self.denied = denied


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
