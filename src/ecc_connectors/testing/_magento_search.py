"""``searchCriteria`` as Magento reads it: filter groups (OR within a group, AND between groups, every condition
type), sort orders, paging with the past-the-end quirk, and the ``fields`` response filter.

Pure functions over rows (an order's top-level scalars); the store (``_magento_routes``) calls them. Refusals
are :class:`HttpError` with Magento's messages.
"""

from __future__ import annotations

import bisect
import functools
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._base_http import HttpError as _ApiError

__all__ = [
    "_Criteria",
    "_Found",
    "_current_page",
    "_parse_criteria",
    "_parse_fields",
    "_pick_fields",
    "_search",
    "_shuffle_page",
    "_sort_value",
    "_tie_key",
    "_tie_spans",
]

_CONDITIONS = frozenset(
    {
        "eq",
        "neq",
        "gt",
        "gteq",
        "lt",
        "lteq",
        "from",
        "to",
        "in",
        "nin",
        "like",
        "nlike",
        "null",
        "notnull",
        "finset",
        "moreq",
    }
)


@attrs.frozen
class _Filter:
    field: str
    value: str
    condition: str


@attrs.define
class _Criteria:
    groups: list[list[_Filter]]
    sorts: list[tuple[str, str]]
    page_size: int | None
    current_page: int | None

    def filter_key(self) -> Any:
        return tuple(tuple(attrs.astuple(f) for f in group) for group in self.groups)

    def sort_key(self) -> Any:
        return tuple(self.sorts)

    def echo(self) -> dict[str, Any]:
        echo: dict[str, Any] = {
            "filter_groups": [
                {"filters": [{"field": f.field, "value": f.value, "condition_type": f.condition} for f in group]}
                for group in self.groups
            ],
        }
        if self.sorts:
            echo["sort_orders"] = [{"field": field, "direction": direction} for field, direction in self.sorts]
        # Since 2.4.4 page_size is left out of the echo when the request sent none (magento/magento2#35310).
        if self.page_size is not None:
            echo["page_size"] = self.page_size
        if self.current_page is not None:
            echo["current_page"] = self.current_page
        return echo


_SEGMENTS = re.compile(r"\[([^\]]*)\]")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _parse_criteria(query: Sequence[tuple[str, str]]) -> _Criteria:
    """Read ``searchCriteria[...]`` parameters; Magento accepts snake_case and camelCase spellings alike."""
    seen = False
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    page_size: int | None = None
    current_page: int | None = None
    for name, value in query:
        if not name.startswith("searchCriteria"):
            continue
        seen = True
        parts = [_camel(p) for p in _SEGMENTS.findall(name[len("searchCriteria") :])]
        try:
            if parts[:1] == ["filterGroups"] and len(parts) == 4 and parts[2] == "filters":
                groups.setdefault(int(parts[1]), {}).setdefault(int(parts[3]), {})
            elif parts[:1] == ["filterGroups"] and len(parts) == 5 and parts[2] == "filters":
                groups.setdefault(int(parts[1]), {}).setdefault(int(parts[3]), {})[parts[4]] = value
            elif parts[:1] == ["sortOrders"] and len(parts) == 3:
                sorts.setdefault(int(parts[1]), {})[parts[2]] = value
            elif parts == ["pageSize"]:
                page_size = int(value)
            elif parts == ["currentPage"]:
                current_page = int(value)
        except ValueError as exc:
            raise _ApiError(
                400,
                'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
                {"value": value, "type": "int"},
            ) from exc
    if not seen:
        raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "searchCriteria"})
    parsed_groups: list[list[_Filter]] = []
    for _, filters in sorted(groups.items()):
        group = []
        for _, spec in sorted(filters.items()):
            field = spec.get("field")
            if not field:
                raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
            condition = (spec.get("conditionType") or "eq").lower()
            if condition not in _CONDITIONS:
                raise _ApiError(400, "Invalid condition type: %1", [condition])
            group.append(_Filter(field, spec.get("value", ""), condition))
        if group:
            parsed_groups.append(group)
    parsed_sorts = []
    for _, spec in sorted(sorts.items()):
        direction = (spec.get("direction") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise _ApiError(
                400,
                'The sort order "%1" isn\'t allowed. The sort order must be "ASC" or "DESC".',
                [spec.get("direction")],
            )
        if spec.get("field"):
            parsed_sorts.append((spec["field"], direction))
    return _Criteria(parsed_groups, parsed_sorts, page_size, current_page)


def _current_page(requested: int | None, total: int, page_size: int | None) -> int:
    """Magento's collection clamps the page: past the end it serves the last page again."""
    if page_size is None:
        return 1
    last = max(1, -(-total // page_size))
    page = requested or 1
    return min(max(page, 1), last)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare_key(stored: Any, wanted: str) -> tuple[Any, Any]:
    """Compare like MySQL: numerically when the column holds numbers, else as text (dates sort as text)."""
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        number = _as_number(wanted)
        if number is not None:
            return float(stored), number
    text = str(stored)
    if len(wanted) >= 19 and wanted[10:11] == "T":
        wanted = wanted[:10] + " " + wanted[11:19]
    return text.lower(), wanted.lower()


def _like(pattern: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def _matches(row: Mapping[str, Any], flt: _Filter) -> bool:
    stored = row.get(flt.field)
    condition = flt.condition
    if condition == "null":
        return stored is None
    if condition == "notnull":
        return stored is not None
    if stored is None:  # SQL: a comparison with NULL is never true
        return False
    if condition in ("in", "nin"):
        values = [v.strip() for v in flt.value.split(",")]
        hit = any(a == b for a, b in (_compare_key(stored, v) for v in values))
        return hit if condition == "in" else not hit
    if condition in ("like", "nlike"):
        hit = _like(flt.value).fullmatch(str(stored)) is not None
        return hit if condition == "like" else not hit
    if condition == "finset":
        return flt.value in str(stored).split(",")
    a, b = _compare_key(stored, flt.value)
    if condition == "eq":
        return bool(a == b)
    if condition == "neq":
        return bool(a != b)
    if condition == "gt":
        return bool(a > b)
    if condition in ("gteq", "from", "moreq"):
        return bool(a >= b)
    if condition == "lt":
        return bool(a < b)
    if condition in ("lteq", "to"):
        return bool(a <= b)
    raise _ApiError(400, "Invalid condition type: %1", [condition])


def _search(rows: Iterable[dict[str, Any]], criteria: _Criteria, always: Iterable[int] = ()) -> list[dict[str, Any]]:
    leaked = set(always)
    found = [
        r
        for r in rows
        if (leaked and r.get("entity_id") in leaked)
        or all(any(_matches(r, f) for f in group) for group in criteria.groups)
    ]
    # Unsorted searches come back in primary-key order, as MySQL returns them.
    id_key = "entity_id" if any("entity_id" in r for r in found) else "id"
    found.sort(key=lambda r: _sort_value(r.get(id_key)))
    for field, direction in reversed(criteria.sorts):
        found.sort(key=functools.partial(_sort_field, field), reverse=direction == "DESC")
    return found


def _sort_field(field: str, row: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_value(row.get(field))


@attrs.define
class _Found:
    """A search's sorted ids, and (computed when ties are shuffled) the spans of rows tied on every sort
    field: ``(starts, ends)``, ascending, spans of two rows or more only."""

    ids: list[int]
    ties: tuple[list[int], list[int]] | None = None


def _tie_key(row: Mapping[str, Any], sorts: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    return tuple(_sort_value(row.get(field)) for field, _ in sorts)


def _tie_spans(keys: Sequence[Any]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index] != keys[start]:
            if index - start > 1:
                starts.append(start)
                ends.append(index)
            start = index
    return starts, ends


def _shuffle_page(
    page: list[int], ids: Sequence[int], ties: tuple[list[int], list[int]], low: int, rng: random.Random
) -> None:
    """Fill ``page`` (``ids[low:low + len(page)]``) as if every tie span of ``ids`` had been shuffled."""
    starts, ends = ties
    high = low + len(page)
    for span in range(bisect.bisect_right(ends, low), len(starts)):
        start, end = starts[span], ends[span]
        if start >= high:
            break
        members = list(ids[start:end])
        rng.shuffle(members)
        for index in range(max(start, low), min(end, high)):
            page[index - low] = members[index - start]


def _sort_value(value: Any) -> tuple[int, Any]:
    # NULLs first in ascending order, like MySQL; numbers before text so mixed columns still sort.
    if value is None:
        return (0, 0)
    number = _as_number(value) if not isinstance(value, str) else None
    if number is not None:
        return (1, number)
    return (2, str(value).lower())


# ------------------------------------------------------------------------------------------------------------
# the fields filter


def _parse_fields(text: str) -> dict[str, Any]:
    """``items[entity_id,billing_address[city]],total_count`` -> a tree of the names to keep."""
    tree: dict[str, Any] = {}
    stack = [tree]
    name = ""
    for char in text + ",":
        if char in ",[]":
            if name.strip():
                stack[-1][name.strip()] = {}
            if char == "[":
                if name.strip():
                    stack.append(stack[-1][name.strip()])
            elif char == "]" and len(stack) > 1:
                stack.pop()
            name = ""
        else:
            name += char
    return tree


def _pick_fields(data: Any, tree: Mapping[str, Any]) -> Any:
    if not tree:
        return data
    if isinstance(data, list):
        return [_pick_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {k: _pick_fields(v, tree[k]) for k, v in data.items() if k in tree}
    return data
