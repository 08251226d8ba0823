"""A tolerant, non-recursive look at JSON text: the fallback when the fast decoders refuse a whole body.

msgspec decodes a page of orders in one pass, but it refuses the *whole* page when one order is nested deeper
than its recursion limit, and the stdlib is no better. This scanner reads only the structure: it finds string
tokens (whatever bytes they hold, valid UTF-8 or not), brackets, commas and colons with one regular expression
and keeps its depth in a list instead of on the call stack, so a field nested 5,000 levels deep costs it
nothing. It tells where each member of an object or element of an array starts and ends, which is all the
driver needs to cut a page into its orders (each then decoded, or refused, on its own) and to read an order's
``entity_id`` and ``updated_at`` when the order itself cannot be decoded.

It checks brackets match and strings end, and that the text ends where the outer container closes; it does not
check scalars (``tru`` passes), which the per-order decoding refuses afterwards. Text that is cut short is
always caught: a container or a string that never closes.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import msgspec

__all__ = ["Member", "ScanError", "envelope", "members", "scalar", "top_level"]

# A whole string (escapes included), else a lone quote (a string that never ends), else a structural byte.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[][{},:]', re.DOTALL)
# Everything up to the next bracket (or a string that never ends): text, commas, colons and whole strings.
_COARSE = re.compile(rb'[^"{}[\]]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"{}[\]]*)*', re.DOTALL)
_WHITESPACE = b" \t\r\n"
_CLOSER = {ord("{"): ord("}"), ord("["): ord("]")}


class ScanError(ValueError):
    """The text is not one complete JSON container (cut short, brackets that do not match, junk after it)."""


class Member(NamedTuple):
    """One child of a container: ``key`` (the raw bytes between the quotes; ``None`` for an array element),
    the value's span ``[start, end)`` in the text with surrounding whitespace trimmed, and how deep the value
    nests (0 for a scalar, 1 for ``[]``)."""

    key: bytes | None
    start: int
    end: int
    depth: int


def _trim(content: bytes, start: int, end: int) -> tuple[int, int]:
    while start < end and content[start] in _WHITESPACE:
        start += 1
    while end > start and content[end - 1] in _WHITESPACE:
        end -= 1
    return start, end


def members(content: bytes, start: int = 0, end: int | None = None) -> tuple[bool, list[Member]]:
    """The children of the container spanning ``content[start:end]`` (whitespace around it allowed).

    Returns ``(is_object, children)``. Raises :class:`ScanError` when that span is not exactly one complete
    object or array."""
    is_object, children, _ = _walk(content, start, len(content) if end is None else end, None)
    return is_object, children


def envelope(content: bytes, key: bytes) -> tuple[dict[bytes, Member], list[Member] | None]:
    """One pass over the object ``content``: its members by key, and the elements of its array member ``key``
    (``None`` when that member is missing or not an array). Raises :class:`ScanError` as :func:`members`."""
    is_object, children, expanded = _walk(content, 0, len(content), key)
    if not is_object:
        raise ScanError("not a JSON object")
    return {m.key: m for m in children if m.key is not None}, expanded


def _walk(content: bytes, start: int, end: int, expand: bytes | None) -> tuple[bool, list[Member], list[Member] | None]:
    start, end = _trim(content, start, end)
    if start >= end or content[start] not in _CLOSER:
        raise ScanError("not a JSON object or array")
    is_object = content[start] == ord("{")
    stack = bytearray()
    children: list[Member] = []
    key: bytes | None = None
    value_start = start + 1
    deepest = 0
    closed_at = -1
    # The expanded array member (level 2): its elements, the start of the current one and its depth.
    expanded: list[Member] | None = None
    inside: list[Member] | None = None
    element_start = 0
    element_deepest = 0
    pos = start
    while pos < end:
        # Commas and colons matter on the container's own level, and on the level of the expanded array;
        # deeper, only brackets do, and whole runs of text and strings are skipped in one match.
        fine = len(stack) <= 1 or (len(stack) == 2 and inside is not None)
        if fine:
            match = _TOKEN.search(content, pos, end)
            if match is None:
                break
            at, pos = match.start(), match.end()
            byte = content[at]
            if byte == 0x22 and pos - at == 1:
                raise ScanError(f"a string that never ends (at byte {at})")
        else:
            at = _COARSE.match(content, pos, end).end()  # type: ignore[union-attr]
            if at >= end:
                break
            byte = content[at]
            if byte == 0x22:
                raise ScanError(f"a string that never ends (at byte {at})")
            pos = at + 1
        if byte == 0x22:  # a whole string
            if is_object and len(stack) == 1 and key is None:
                key = content[at + 1 : pos - 1]
            continue
        if byte in (0x7B, 0x5B):  # '{' '['
            stack.append(_CLOSER[byte])
            depth = len(stack) - 1
            deepest = max(deepest, depth)
            if inside is not None:
                element_deepest = max(element_deepest, depth - 1)
            elif depth == 1 and expand is not None and key == expand and byte == 0x5B and is_object:
                inside, element_start, element_deepest = [], pos, 0
            continue
        if byte in (0x7D, 0x5D):  # '}' ']'
            if not stack or stack[-1] != byte:
                raise ScanError(f"a bracket that does not match (at byte {at})")
            stack.pop()
            if inside is not None and len(stack) == 1:
                _close(content, inside, None, element_start, at, element_deepest, False)
                expanded, inside = inside, None
            if not stack:
                _close(content, children, key, value_start, at, deepest, is_object)
                closed_at = at
                break
            continue
        if len(stack) == 1:
            if byte == 0x3A:  # ':'
                value_start = pos
            else:  # ','
                _close(content, children, key, value_start, at, deepest, is_object)
                key, value_start, deepest = None, pos, 0
        elif inside is not None and byte == 0x2C:  # ',' between two elements of the expanded array
            _close(content, inside, None, element_start, at, element_deepest, False)
            element_start, element_deepest = pos, 0
    if closed_at < 0:
        raise ScanError("cut short: the outer container never closes")
    if any(b not in _WHITESPACE for b in content[closed_at + 1 : end]):
        raise ScanError(f"text after the end of the JSON value (at byte {closed_at + 1})")
    return is_object, children, expanded


def _close(
    content: bytes,
    children: list[Member],
    key: bytes | None,
    value_start: int,
    value_end: int,
    deepest: int,
    is_object: bool,
) -> None:
    start, end = _trim(content, value_start, value_end)
    if start == end:
        if not children and content[value_end] in b"}]" and key is None:
            return  # an empty container
        raise ScanError(f"an empty value (at byte {value_start})")
    if is_object and key is None:
        raise ScanError(f"an object member without a key (at byte {value_start})")
    children.append(Member(key if is_object else None, start, end, deepest))


def top_level(content: bytes) -> dict[bytes, Member]:
    """The members of the object ``content`` by key (the last one wins, as in every JSON decoder).

    Raises :class:`ScanError` when ``content`` is not one complete object."""
    is_object, children = members(content)
    if not is_object:
        raise ScanError("not a JSON object")
    return {m.key: m for m in children if m.key is not None}


def scalar(content: bytes, member: Member | None, default: Any = None) -> Any:
    """The value of a scalar member (a string, number, true/false/null); ``default`` when there is no such
    member, or its value is a container or cannot be decoded."""
    if member is None or member.depth or content[member.start] in b"{[":
        return default
    try:
        return msgspec.json.decode(content[member.start : member.end])
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError):
        return default
