"""Shopify's search syntax (the ``query`` argument of ``orders``, ``productVariants``, ``draftOrders``) for the fake.

Theory of operation
-------------------
Shopify documents one search grammar for its Admin list fields: terms separated by spaces are ANDed; ``AND``,
``OR`` and ``NOT`` (or a leading ``-``) combine them, parentheses group; a term is ``field:value`` with an
optional comparator (``field:>value``, ``>=``, ``<``, ``<=``), a value may be quoted with ``'`` or ``"``; a bare
word searches the default fields. This module parses that into a predicate tree; the caller says how each
field compares (a date, a number, a word). A field the caller does not know is reported (``unknown``), since
Shopify ignores it and returns more rows than asked: the fake records it as a violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["FieldTest", "Matcher", "SearchError", "compare", "compile_search", "parse_time"]

_TOKEN = re.compile(
    r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<term>-?[A-Za-z_][\w.]*:(?:>=|<=|>|<|=)?(?:'[^']*'|"[^"]*"|[^\s()]+))"""
    r"""|(?P<word>'[^']*'|"[^"]*"|[^\s()]+))"""
)


class SearchError(ValueError):
    """The query text cannot be parsed."""


Matcher = Callable[[Mapping[str, Any]], bool]
FieldTest = Callable[[Mapping[str, Any], str, str], bool]
"""``test(row, comparator, value)``: whether the row matches ``field:<comparator><value>``."""


def parse_time(text: str) -> datetime:
    """A search date: ISO 8601 with a zone (``Z`` allowed), or a plain date (midnight UTC)."""
    value = text.strip()
    if len(value) == 10:
        value += "T00:00:00Z"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise SearchError(f"a date without a zone: {text!r}")
    return parsed


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def compile_search(
    text: str | None, fields: Mapping[str, FieldTest], default: FieldTest | None = None
) -> tuple[Matcher, list[str]]:
    """A predicate for ``text`` and the unknown field names it used (empty text matches everything)."""
    tokens: list[tuple[str, str]] = []
    source = (text or "").strip()
    position = 0
    while position < len(source):
        found = _TOKEN.match(source, position)
        if found is None or found.end() == position:
            raise SearchError(f"cannot read the search at {source[position:]!r}")
        position = found.end()
        kind = found.lastgroup or "word"
        tokens.append((kind, found.group(kind)))
    unknown: list[str] = []
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def parse_or() -> Matcher:
        nonlocal index
        parts = [parse_and()]
        while (token := peek()) is not None and token == ("word", "OR"):
            index += 1
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def parse_and() -> Matcher:
        nonlocal index
        parts: list[Matcher] = []
        while (token := peek()) is not None and token[0] != "close" and token != ("word", "OR"):
            if token == ("word", "AND"):
                index += 1
                continue
            parts.append(parse_not())
        if not parts:
            return lambda row: True
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def parse_not() -> Matcher:
        nonlocal index
        token = peek()
        if token == ("word", "NOT"):
            index += 1
            inner = parse_not()
            return lambda row: not inner(row)
        return parse_atom()

    def parse_atom() -> Matcher:
        nonlocal index
        token = peek()
        if token is None:
            raise SearchError("the search ends too early")
        index += 1
        kind, value = token
        if kind == "open":
            inner = parse_or()
            if peek() != ("close", ")"):
                raise SearchError("a parenthesis is not closed")
            index += 1
            return inner
        if kind == "close":
            raise SearchError("a parenthesis closes nothing")
        if kind == "term":
            negate = value.startswith("-")
            name, _, rest = value.lstrip("-").partition(":")
            comparator = next((c for c in (">=", "<=", ">", "<", "=") if rest.startswith(c)), "")
            operand = _unquote(rest[len(comparator) :])
            test = fields.get(name)
            if test is None:
                unknown.append(name)
                return lambda row: True
            return _term(test, comparator, operand, negate)
        word = _unquote(value)
        if default is None:
            return lambda row: True
        return _term(default, "", word, False)

    matcher = parse_or()
    if index != len(tokens):
        raise SearchError(f"unexpected {tokens[index][1]!r} in the search")
    return matcher, unknown


def _term(test: FieldTest, comparator: str, operand: str, negate: bool) -> Matcher:
    def matcher(row: Mapping[str, Any]) -> bool:
        return test(row, comparator, operand) != negate

    return matcher


def compare(left: Any, comparator: str, right: Any) -> bool:
    """``left <comparator> right`` (``""`` and ``=`` mean equal)."""
    if comparator == ">":
        return bool(left > right)
    if comparator == ">=":
        return bool(left >= right)
    if comparator == "<":
        return bool(left < right)
    if comparator == "<=":
        return bool(left <= right)
    return bool(left == right)
