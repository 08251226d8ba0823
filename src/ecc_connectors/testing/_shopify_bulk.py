"""A bulk operation of the fake Shopify store: its state as ``BulkOperation`` reads show it, and its result file.

Theory of operation
-------------------
The endpoint (``_shopify_graphql``) starts a run and moves it along as its status is read; a run holds the
``BulkOperation`` node those reads answer, and, once the inner query has run, the file. The file is JSONL
written the way Shopify writes it: one object a line, a nested connection's nodes on lines of their own with
``__parentId``, each right after its parent (``unsorted`` writes the root objects in reverse, to prove a
driver checks the order).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ._shopify_state import gid

__all__ = ["BulkRun", "jsonl_lines"]


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


def jsonl_lines(data: Mapping[str, Any] | None, *, unsorted: bool) -> tuple[list[bytes], int]:
    """The lines of the file for a bulk query's result ``data``, and how many root objects they hold."""
    lines: list[bytes] = []
    roots = 0
    for value in (data or {}).values():
        nodes = _connection_nodes(value)
        for node in reversed(nodes) if unsorted else nodes:
            roots += 1
            lines += list(_flatten(node, None))
    return lines, roots


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
