"""Which listed rows a page keeps: each row's key, and the window's exact bounds.

Both ways of listing (the paged walk of :mod:`._listing` and the bulk file of :mod:`._bulk_pages`) search with
a second of slack on each side (:func:`._queries.search_text`); the rows that come back are held to the exact
bounds here, and to the engine's seek.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...driver import BrokenAnswer, OrderKey, OrderQuery, Seek
from ._mapping import order_key, parse_time

__all__ = ["created_inside", "inside", "row_key"]


def row_key(node: Mapping[str, Any], operation: str, store: str) -> OrderKey:
    """A listed row's key; a row without one is a broken answer (the walk cannot place it), not a bad order."""
    try:
        return order_key(node)
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokenAnswer(f"{operation}: a row without legacyResourceId/updatedAt ({exc})", store=store) from None


def inside(key: OrderKey, seek: Seek, query: OrderQuery) -> bool:
    """Whether a row's key is past ``seek.after`` and within ``seek.through`` (or the window's updated bounds)."""
    if seek.after is not None and key <= seek.after:
        return False
    if seek.after is None and query.updated_from is not None and key.updated_at < query.updated_from:
        return False
    if seek.through is not None:
        return key <= seek.through
    return query.updated_to is None or key.updated_at <= query.updated_to


def created_inside(node: Mapping[str, Any], query: OrderQuery) -> bool:
    """The exact created bounds (the search asked with a second of slack)."""
    if query.created_from is None and query.created_to is None:
        return True
    try:
        created = parse_time(node["createdAt"])
    except (KeyError, TypeError, ValueError):
        return True  # the mapping reports the order as unreadable, with its payload
    if query.created_from is not None and created < query.created_from:
        return False
    return query.created_to is None or created <= query.created_to
