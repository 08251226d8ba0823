"""A small SuiteQL interpreter for the fake NetSuite REST endpoint.

Theory of operation: SuiteQL is Oracle SQL over NetSuite's analytics tables. The fake parses the subset an order
connector needs (one table per query; ``SELECT`` of columns and functions with ``AS`` aliases; ``WHERE`` with
``AND`` / ``OR`` / ``NOT``, comparisons, ``IN``, ``LIKE``, ``IS [NOT] NULL`` and parentheses; ``ORDER BY``) and
evaluates it over rows the store computes from its records. Anything outside the subset, and any column the
table does not have, is refused the way NetSuite refuses a bad query (400, ``INVALID_PARAMETER``, "Invalid search
query"), so a driver cannot rely on something the fake merely ignored.

Values follow what NetSuite documents and what users report of SuiteQL over REST: booleans are ``'T'`` / ``'F'``;
a timestamp column selected bare comes back as a date in the user's format (``1/15/2024``, the time dropped),
so a connector must format it itself with ``TO_CHAR(col, 'YYYY-MM-DD HH24:MI:SS')``; ``TO_CHAR`` and
``TO_TIMESTAMP`` work in the session's time zone (the user's preference, a knob of the fake), not in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import attrs

__all__ = ["SqlError", "Table", "run_query"]

STAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_PY_STAMP = "%Y-%m-%d %H:%M:%S"
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|<>|!=|=|<|>|\(|\)|,|\.|\*))"
)
_KEYWORDS = frozenset(
    {"select", "from", "where", "and", "or", "not", "in", "is", "null", "like", "order", "by", "asc", "desc", "as"}
)


class SqlError(Exception):
    """A query the fake (and so, by its rules, NetSuite) refuses."""


@attrs.frozen
class Table:
    """One SuiteQL table: its columns (lower case), its rows, and how ``BUILTIN.DF`` shows a column's value."""

    name: str
    columns: frozenset[str]
    rows: Sequence[Mapping[str, Any]]
    display: Mapping[str, Callable[[Any], str | None]] = attrs.field(factory=dict)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None or found.end() == pos:
            if text[pos:].strip() == "":
                break
            raise SqlError(f"Invalid search query. Unexpected text near {text[pos : pos + 20]!r}")
        kind = found.lastgroup or ""
        value = found.group(kind)
        if kind == "id" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value))
        pos = found.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        have_kind, have = self.peek()
        if have_kind != kind or (value is not None and have != value):
            raise SqlError(f"Invalid search query. Expected {value or kind}, found {have or 'the end'!r}")
        self.pos += 1
        return have

    def accept(self, kind: str, value: str | None = None) -> bool:
        have_kind, have = self.peek()
        if have_kind == kind and (value is None or have == value):
            self.pos += 1
            return True
        return False

    def query(self) -> dict[str, Any]:
        self.take("kw", "select")
        fields = [self.select_item()]
        while self.accept("op", ","):
            fields.append(self.select_item())
        self.take("kw", "from")
        table = self.take("id").lower()
        alias = self.take("id").lower() if self.peek()[0] == "id" else table
        where = None
        if self.accept("kw", "where"):
            where = self.expr()
        order: list[tuple[Any, bool]] = []
        if self.accept("kw", "order"):
            self.take("kw", "by")
            while True:
                key = self.expr()
                descending = self.accept("kw", "desc")
                if not descending:
                    self.accept("kw", "asc")
                order.append((key, descending))
                if not self.accept("op", ","):
                    break
        if self.peek()[0] != "end":
            raise SqlError(f"Invalid search query. Unsupported clause at {self.peek()[1]!r}")
        return {"fields": fields, "table": table, "alias": alias, "where": where, "order": order}

    def select_item(self) -> tuple[str, Any]:
        node = self.expr()
        if self.accept("kw", "as"):
            return self.take("id").lower(), node
        if node[0] == "col":
            return node[2], node
        raise SqlError("Invalid search query. A computed column needs an alias (AS name)")

    def expr(self) -> Any:
        node = self.conjunction()
        while self.accept("kw", "or"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.negation()
        while self.accept("kw", "and"):
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Any:
        if self.accept("kw", "not"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.term()
        kind, value = self.peek()
        if kind == "op" and value in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.pos += 1
            return ("cmp", value, left, self.term())
        negate = False
        if kind == "kw" and value == "not" and self.peek(1)[1] in ("in", "like"):
            self.pos += 1
            negate = True
        if self.accept("kw", "in"):
            self.take("op", "(")
            values = [self.term()]
            while self.accept("op", ","):
                values.append(self.term())
            self.take("op", ")")
            node: Any = ("in", left, values)
            return ("not", node) if negate else node
        if self.accept("kw", "like"):
            node = ("like", left, self.term())
            return ("not", node) if negate else node
        if self.accept("kw", "is"):
            negate = self.accept("kw", "not")
            self.take("kw", "null")
            node = ("null", left)
            return ("not", node) if negate else node
        return left

    def term(self) -> Any:
        kind, value = self.peek()
        if kind == "str":
            self.pos += 1
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "num":
            self.pos += 1
            return ("lit", Decimal(value) if "." in value else int(value))
        if kind == "op" and value == "(":
            self.pos += 1
            node = self.expr()
            self.take("op", ")")
            return node
        if kind == "id":
            self.pos += 1
            name = value.lower()
            if self.accept("op", "."):
                second = self.take("id").lower()
                if self.peek() == ("op", "("):
                    return self.call(f"{name}.{second}")
                return ("col", name, second)
            if self.peek() == ("op", "("):
                return self.call(name)
            return ("col", None, name)
        raise SqlError(f"Invalid search query. Unexpected {value or 'end of query'!r}")

    def call(self, name: str) -> Any:
        self.take("op", "(")
        args = [self.expr()]
        while self.accept("op", ","):
            args.append(self.expr())
        self.take("op", ")")
        return ("call", name, args)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False  # SQL: a comparison with NULL is never true
    if isinstance(left, datetime) != isinstance(right, datetime):
        raise SqlError("Invalid search query. A date compared with something that is not a date")
    if not isinstance(left, datetime) and (isinstance(left, (int, Decimal)) or isinstance(right, (int, Decimal))):
        a, b = _number(left), _number(right)
        if a is None or b is None:
            raise SqlError(f"Invalid search query. Cannot compare {left!r} with {right!r}")
        left, right = a, b
    if op == "=":
        return bool(left == right)
    if op in ("<>", "!="):
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _like(value: Any, pattern: Any) -> bool:
    if value is None or pattern is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.DOTALL) is not None


class _Evaluator:
    def __init__(self, table: Table, alias: str, zone: ZoneInfo) -> None:
        self.table = table
        self.alias = alias
        self.zone = zone
        self._in_sets: dict[int, tuple[set[Decimal], set[str]] | None] = {}

    def _literal_set(self, node: Any) -> tuple[set[Decimal], set[str]] | None:
        """The values of an ``IN`` list of literals, as numbers and as text (computed once per query): a look-up
        per row instead of a comparison per value and row, with the same meaning as :func:`_compare`."""
        key = id(node)
        if key not in self._in_sets:
            found: tuple[set[Decimal], set[str]] | None = None
            if all(v[0] == "lit" for v in node[2]):
                numbers = {n for n in (_number(v[1]) for v in node[2]) if n is not None}
                texts = {v[1] for v in node[2] if isinstance(v[1], str)}
                found = (numbers, texts)
            self._in_sets[key] = found
        return self._in_sets[key]

    def column(self, node: Any) -> str:
        _, prefix, name = node
        if prefix is not None and prefix not in (self.alias, self.table.name):
            raise SqlError(f"Invalid search query. Unknown table alias {prefix!r}")
        if name not in self.table.columns:
            raise SqlError(
                "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
                f"Field '{name}' for record '{self.table.name}' was not found."
            )
        return str(name)

    def check(self, node: Any) -> None:
        """Refuse unknown columns and functions even when no row would reach them."""
        kind = node[0]
        if kind == "col":
            self.column(node)
        elif kind == "call":
            if node[1] not in ("builtin.df", "to_char", "to_timestamp", "upper", "lower"):
                raise SqlError(f"Invalid search query. Unknown function {node[1]!r}")
            for arg in node[2]:
                self.check(arg)
        elif kind in ("and", "or"):
            self.check(node[1])
            self.check(node[2])
        elif kind in ("not", "null"):
            self.check(node[1])
        elif kind == "cmp":
            self.check(node[2])
            self.check(node[3])
        elif kind == "in":
            self.check(node[1])
            for value in node[2]:
                self.check(value)
        elif kind == "like":
            self.check(node[1])
            self.check(node[2])

    def value(self, node: Any, row: Mapping[str, Any]) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "col":
            return row.get(self.column(node))
        if kind == "call":
            return self.call(node[1], node[2], row)
        return self.truth(node, row)

    def call(self, name: str, args: list[Any], row: Mapping[str, Any]) -> Any:
        if name == "builtin.df":
            if len(args) != 1 or args[0][0] != "col":
                raise SqlError("Invalid search query. BUILTIN.DF takes one column")
            column = self.column(args[0])
            shown = self.table.display.get(column)
            raw = row.get(column)
            if raw is None:
                return None
            return shown(raw) if shown is not None else self.render(raw)
        if name in ("upper", "lower"):
            text = self.value(args[0], row)
            return None if text is None else (str(text).upper() if name == "upper" else str(text).lower())
        if len(args) != 2 or args[1][0] != "lit" or args[1][1] != STAMP_FORMAT:
            raise SqlError(f"Invalid search query. {name.upper()} supports only the format '{STAMP_FORMAT}'")
        value = self.value(args[0], row)
        if value is None:
            return None
        if name == "to_char":
            if not isinstance(value, datetime):
                raise SqlError("Invalid search query. TO_CHAR with a date format needs a date")
            return value.astimezone(self.zone).strftime(_PY_STAMP)
        try:
            local = datetime.strptime(str(value), _PY_STAMP)
        except ValueError:
            raise SqlError(f"Invalid search query. {value!r} does not match '{STAMP_FORMAT}'") from None
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc)

    def truth(self, node: Any, row: Mapping[str, Any]) -> bool:
        kind = node[0]
        if kind == "and":
            return self.truth(node[1], row) and self.truth(node[2], row)
        if kind == "or":
            return self.truth(node[1], row) or self.truth(node[2], row)
        if kind == "not":
            return not self.truth(node[1], row)
        if kind == "cmp":
            return _compare(node[1], self.value(node[2], row), self.value(node[3], row))
        if kind == "in":
            left = self.value(node[1], row)
            literals = self._literal_set(node)
            if literals is not None and not isinstance(left, datetime):
                if left is None:
                    return False
                numbers, texts = literals
                if isinstance(left, (int, Decimal)) and not isinstance(left, bool):
                    return Decimal(left) in numbers
                return left in texts or (bool(numbers) and _number(left) in numbers)
            return any(_compare("=", left, self.value(v, row)) for v in node[2])
        if kind == "like":
            return _like(self.value(node[1], row), self.value(node[2], row))
        if kind == "null":
            return self.value(node[1], row) is None
        raise SqlError("Invalid search query. A condition was expected")

    def render(self, value: Any) -> Any:
        """A value as SuiteQL over REST answers it: text, and a bare timestamp as a date in the user's format."""
        if isinstance(value, datetime):
            local = value.astimezone(self.zone)
            return f"{local.month}/{local.day}/{local.year}"
        if isinstance(value, bool):
            return "T" if value else "F"
        return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")  # Oracle sorts NULLs last in ascending order
    if isinstance(value, datetime):
        return (0, value.timestamp())
    number = _number(value)
    return (0, number) if number is not None and not isinstance(value, str) else (0, str(value))


def run_query(text: str, tables: Mapping[str, Table], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The rows of one SuiteQL query (all of them; the caller pages), each a dict of JSON-ready text without the
    columns whose value is NULL (NetSuite leaves those out)."""
    parsed = _Parser(text).query()
    table = tables.get(parsed["table"])
    if table is None:
        raise SqlError(
            f"Invalid search query. Detailed unprocessed description follows. Search error occurred: Record "
            f"'{parsed['table']}' was not found."
        )
    evaluator = _Evaluator(table, parsed["alias"], zone)
    for _name, node in parsed["fields"]:
        evaluator.check(node)
    if parsed["where"] is not None:
        evaluator.check(parsed["where"])
    for key, _desc in parsed["order"]:
        evaluator.check(key)
    rows = [row for row in table.rows if parsed["where"] is None or evaluator.truth(parsed["where"], row)]
    for key, descending in reversed(parsed["order"]):

        def sort_key(row: Mapping[str, Any], node: Any = key) -> tuple[int, Any]:
            return _sort_key(evaluator.value(node, row))

        rows.sort(key=sort_key, reverse=descending)
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for name, node in parsed["fields"]:
            value = evaluator.value(node, row)
            if value is not None:
                item[name] = evaluator.render(value)
        out.append(item)
    return out
