"""Shopify's published Admin GraphQL schema, loaded once per process, and the query cost the fake charges.

Theory of operation
-------------------
The fake Shopify store does not describe Shopify's API itself: it builds a ``GraphQLSchema`` from the SDL file
Shopify publishes (``admin_schema_unstable_public.graphql``, about 3 MB) and lets graphql-core validate and
execute every document the driver sends against it. So an unknown field, a wrong argument type or a missing
required input is refused exactly where Shopify refuses it, and every answer has the shape the schema gives.

Building the schema takes a few seconds (about 3.5 s on the development machine), so it is built once per
process (:func:`admin_schema`, cached per path, thread-safe) and shared by every fake store.

The file is found from ``ECC_SHOPIFY_SCHEMA``, else ``$ECC_SHARED_DIR/specs/shopify/``, else ``../shared`` next
to the working directory; a missing file is a clear :class:`FileNotFoundError` naming where it looked.

Cost: Shopify charges a query by its shape before running it (``requestedQueryCost``): a scalar or an enum
costs 0, an object 1, a connection 2 plus ``first`` (or ``last``) times the cost of one node, a mutation's root
field 10. :func:`query_cost` computes that over the parsed document with the schema's types; it is the fake's
own reading of Shopify's published rules, not the driver's.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_leaf_type,
)

__all__ = ["SCHEMA_FILE", "admin_schema", "load_seconds", "query_cost", "schema_path"]

SCHEMA_FILE = "admin_schema_unstable_public.graphql"
_lock = threading.Lock()
_loaded: dict[Path, tuple[GraphQLSchema, float]] = {}


def schema_path() -> Path:
    """Where the SDL file is: ``ECC_SHOPIFY_SCHEMA``, else ``$ECC_SHARED_DIR/specs/shopify/``, else ``../shared``."""
    explicit = os.environ.get("ECC_SHOPIFY_SCHEMA")
    if explicit:
        return Path(explicit)
    shared = Path(os.environ.get("ECC_SHARED_DIR", Path.cwd().parent / "shared"))
    return shared / "specs" / "shopify" / SCHEMA_FILE


def admin_schema(path: Path | None = None) -> GraphQLSchema:
    """The Admin API schema built from the SDL at ``path`` (default :func:`schema_path`), once per process."""
    where = (path or schema_path()).resolve()
    with _lock:
        found = _loaded.get(where)
        if found is None:
            if not where.is_file():
                raise FileNotFoundError(
                    f"the Shopify Admin schema was not found at {where}: set ECC_SHOPIFY_SCHEMA to the SDL file or "
                    "ECC_SHARED_DIR to the shared/ folder"
                )
            started = time.perf_counter()
            # Shopify's SDL breaks one of graphql-core's schema rules (an implementation deprecates a field its
            # interface does not), which says nothing about the queries; take the schema as Shopify serves it.
            schema = build_schema(where.read_text(encoding="utf-8"), assume_valid_sdl=True, assume_valid=True)
            found = (schema, time.perf_counter() - started)
            _loaded[where] = found
        return found[0]


def load_seconds(path: Path | None = None) -> float | None:
    """How long building the schema took in this process (``None`` when not built yet)."""
    found = _loaded.get((path or schema_path()).resolve())
    return None if found is None else found[1]


def query_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None = None) -> int:
    """The requested cost of the document's first operation, by Shopify's published rules (module notes)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type
    if root is None:
        return 0
    cost = _Cost(fragments, variables or {})
    if operation.operation is OperationType.MUTATION:
        return sum(
            10 + cost.selection(_field_type(root, f), f.selection_set) for f in cost.fields(operation.selection_set)
        )
    return cost.selection(root, operation.selection_set)


def _fields(selection: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]) -> list[FieldNode]:
    found: list[FieldNode] = []
    for node in selection.selections if selection is not None else ():
        if isinstance(node, FieldNode):
            found.append(node)
        elif isinstance(node, InlineFragmentNode):
            found += _fields(node.selection_set, fragments)
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            found += _fields(fragments[node.name.value].selection_set, fragments)
    return found


def _field_type(parent: Any, field: FieldNode) -> Any:
    fields = getattr(parent, "fields", {})
    definition = fields.get(field.name.value)
    return None if definition is None else definition.type


@functools.lru_cache(maxsize=4096)
def _is_connection(name: str) -> bool:
    return name.endswith("Connection")


class _Cost:
    """The cost of one document's selections: its fragments, and the variables a page size may name."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], values: dict[str, Any]) -> None:
        self._fragments = fragments
        self._values = values

    def fields(self, selection: SelectionSetNode | None) -> list[FieldNode]:
        return _fields(selection, self._fragments)

    def page_size(self, field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    found = self._values.get(value.name.value)
                    return int(found) if isinstance(found, int) else 1
        return 1

    def node(self, connection: GraphQLObjectType, selection: SelectionSetNode | None) -> int:
        """One node of a connection, under ``nodes`` or ``edges.node`` (the dearer when both are asked)."""
        best = 0
        for field in self.fields(selection):
            kind = _field_type(connection, field)
            if kind is None:
                continue
            if field.name.value == "nodes":
                best = max(best, 1 + self.selection(get_named_type(kind), field.selection_set))
            elif field.name.value == "edges":
                edge = get_named_type(kind)
                for inner in self.fields(field.selection_set):
                    if inner.name.value == "node":
                        node_type = get_named_type(_field_type(edge, inner))
                        best = max(best, 1 + self.selection(node_type, inner.selection_set))
        return best

    def selection(self, parent: Any, selection: SelectionSetNode | None) -> int:
        if parent is None:
            return 0
        named = get_named_type(parent)
        total = 0
        for field in self.fields(selection):
            if field.name.value.startswith("__"):
                continue
            kind = _field_type(named, field)
            if kind is None:
                continue
            inner = get_named_type(kind)
            if is_leaf_type(inner):
                continue
            if isinstance(inner, GraphQLObjectType) and _is_connection(inner.name):
                # A connection costs 2, plus its page size times one node (under ``nodes`` or ``edges.node``);
                # ``pageInfo`` and the edges themselves are free.
                total += 2 + self.page_size(field) * self.node(inner, field.selection_set)
                continue
            child = self.selection(inner, field.selection_set)
            listed = isinstance(kind, GraphQLList) or (
                isinstance(kind, GraphQLNonNull) and isinstance(kind.of_type, GraphQLList)
            )
            total += (1 + child) * (self.page_size(field) if listed else 1)
        return total
