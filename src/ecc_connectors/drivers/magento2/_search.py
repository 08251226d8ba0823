"""Building Magento ``searchCriteria`` query strings.

Filters in one group are ORed, groups are ANDed. Names follow Adobe's REST examples
(``searchCriteria[filter_groups][0][filters][0][condition_type]``); Magento reads snake_case and camelCase
alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import attrs

from ...driver import OrderKey, OrderQuery, Seek
from .._common import whole_second

__all__ = [
    "KEY_FIELDS",
    "MAX_PAGE_SIZE",
    "Filter",
    "SearchCriteria",
    "ids_criteria",
    "magento_datetime",
    "order_criteria",
    "seek_criteria",
    "whole_second",
]

KEY_FIELDS = "items[entity_id,updated_at],total_count"
"""Magento's response field filter for the key listings: two columns per row and the count."""

MAX_PAGE_SIZE = 300
"""Stores with Magento's input limits on refuse a larger ``pageSize``; every store accepts up to this."""


def magento_datetime(value: datetime) -> str:
    """Magento compares ``created_at``/``updated_at`` as UTC strings without an offset."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@attrs.frozen
class Filter:
    field: str
    value: str
    condition: str = "eq"


@attrs.frozen
class SearchCriteria:
    groups: tuple[tuple[Filter, ...], ...] = ()
    sort: tuple[tuple[str, str], ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for g, group in enumerate(self.groups):
            for f, flt in enumerate(group):
                prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
                out += [
                    (f"{prefix}[field]", flt.field),
                    (f"{prefix}[value]", flt.value),
                    (f"{prefix}[condition_type]", flt.condition),
                ]
        for s, (field, direction) in enumerate(self.sort):
            out += [
                (f"searchCriteria[sortOrders][{s}][field]", field),
                (f"searchCriteria[sortOrders][{s}][direction]", direction),
            ]
        if self.page_size is not None:
            out.append(("searchCriteria[pageSize]", str(self.page_size)))
        if self.current_page is not None:
            out.append(("searchCriteria[currentPage]", str(self.current_page)))
        return out


def clamp_page_size(requested: int, store_max: int = MAX_PAGE_SIZE) -> int:
    return max(1, min(requested, store_max, MAX_PAGE_SIZE))


def _group(*filters: Filter) -> tuple[Filter, ...]:
    return tuple(filters)


def order_criteria(query: OrderQuery, page_size: int, page: int) -> SearchCriteria:
    """The searchCriteria for one page of ``GET /V1/orders``: sorted by ``updated_at`` then ``entity_id``, so
    pages are stable while nothing changes."""
    groups: list[tuple[Filter, ...]] = []
    if query.statuses is not None:
        groups.append(_group(Filter("status", ",".join(query.statuses), "in")))
    ranges: Sequence[tuple[str, datetime | None, str]] = (
        ("updated_at", query.updated_from, "gteq"),
        ("updated_at", query.updated_to, "lteq"),
        ("created_at", query.created_from, "gteq"),
        ("created_at", query.created_to, "lt"),
    )
    for field, when, condition in ranges:
        if when is not None:
            groups.append(_group(Filter(field, magento_datetime(when), condition)))
    if query.starting_number:
        # increment_id is a string column: "000000100" >= "000000099" holds only because numbers are
        # zero-padded to one width; a store with a prefix or other width needs a starting number of its shape.
        groups.append(_group(Filter("increment_id", query.starting_number, "gteq")))
    return SearchCriteria(
        groups=tuple(groups),
        sort=(("updated_at", "ASC"), ("entity_id", "ASC")),
        page_size=page_size,
        current_page=page,
    )


def _query_groups(query: OrderQuery) -> tuple[list[tuple[Filter, ...]], list[tuple[Filter, ...]]]:
    """The query's filters other than its updated range: (status groups, created/number groups)."""
    head: list[tuple[Filter, ...]] = []
    tail: list[tuple[Filter, ...]] = []
    if query.statuses is not None:
        head.append(_group(Filter("status", ",".join(query.statuses), "in")))
    if query.created_from is not None:
        tail.append(_group(Filter("created_at", magento_datetime(query.created_from), "gteq")))
    if query.created_to is not None:
        tail.append(_group(Filter("created_at", magento_datetime(query.created_to), "lt")))
    if query.starting_number:
        tail.append(_group(Filter("increment_id", query.starting_number, "gteq")))
    return head, tail


def _key_bound(key: OrderKey, on_stamp: str, past_stamp: str, on_id: str) -> list[tuple[Filter, ...]]:
    """Two filter groups saying "key OP K" without a row-value comparison:
    ``[updated_at on_stamp K.t] AND [updated_at past_stamp K.t OR entity_id on_id K.id]``."""
    key = whole_second(key)
    stamp = magento_datetime(key.updated_at)
    return [
        _group(Filter("updated_at", stamp, on_stamp)),
        _group(Filter("updated_at", stamp, past_stamp), Filter("entity_id", str(key.id), on_id)),
    ]


def _after(key: OrderKey) -> list[tuple[Filter, ...]]:
    # key > K  <=>  updated_at >= K.t  AND  (updated_at > K.t  OR  entity_id > K.id)
    return _key_bound(key, "gteq", "gt", "gt")


def _through(key: OrderKey) -> list[tuple[Filter, ...]]:
    # key <= K  <=>  updated_at <= K.t  AND  (updated_at < K.t  OR  entity_id <= K.id)
    return _key_bound(key, "lteq", "lt", "lteq")


def _before(key: OrderKey) -> list[tuple[Filter, ...]]:
    # key < K  <=>  updated_at <= K.t  AND  (updated_at < K.t  OR  entity_id < K.id)
    return _key_bound(key, "lteq", "lt", "lt")


def ids_criteria(entity_ids: Sequence[int | str]) -> SearchCriteria:
    """The searchCriteria reading these orders by ``entity_id`` (one ``in`` filter), all on one page."""
    return SearchCriteria(
        groups=(_group(Filter("entity_id", ",".join(str(e) for e in entity_ids), "in")),),
        page_size=len(entity_ids),
        current_page=1,
    )


def seek_criteria(query: OrderQuery, seek: Seek, page_size: int, page: int = 1) -> SearchCriteria:
    """The searchCriteria of one keyset request: the query's status, created and number filters, the keyset
    bounds of ``seek`` (the query's updated range where ``seek`` has no bound), sorted by ``(updated_at,
    entity_id)`` ascending. ``page`` above 1: a page of that listing by number (``listing_page``).

    Groups are ANDed and the filters inside one group ORed, which is how a strict "key after ``K``" is said
    without a row-value comparison: ``[updated_at >= t] AND [updated_at > t OR entity_id > id]``."""
    head, tail = _query_groups(query)
    bounds: list[tuple[Filter, ...]] = []
    if seek.after is not None:
        bounds += _after(seek.after)
    elif query.updated_from is not None:
        bounds.append(_group(Filter("updated_at", magento_datetime(query.updated_from), "gteq")))
    if seek.through is not None:
        bounds += _through(seek.through)
    elif seek.before is not None:
        bounds += _before(seek.before)
    elif query.updated_to is not None:
        bounds.append(_group(Filter("updated_at", magento_datetime(query.updated_to), "lteq")))
    return SearchCriteria(
        groups=(*head, *bounds, *tail),
        sort=(("updated_at", "ASC"), ("entity_id", "ASC")),
        page_size=page_size,
        current_page=page,
    )
