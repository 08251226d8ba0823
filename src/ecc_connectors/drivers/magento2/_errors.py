"""Reading Magento's answers: JSON bodies with exact decimals, and error bodies ``{message, parameters}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict

import httpx
import msgspec

from ...driver import AuthenticationError, StatusNotAllowed, StoreError
from . import _scan

__all__ = [
    "BadEnvelope",
    "Envelope",
    "decode_bytes",
    "decode_json",
    "decode_list_envelope",
    "fill_placeholders",
    "raise_for_store_error",
    "read_envelope",
]

# Magento 2.4.7+ refuses a comment whose status does not belong to the order's current state with
# 'Unable to add comment: The status "%1" is not part of the order status history.'
_STATUS_NOT_IN_STATE = "is not part of the order status history"
_PLACEHOLDER = re.compile(r"%(\d+|[A-Za-z_][A-Za-z0-9_]*)")


# msgspec hands each non-integer number's own text to the hook, so money never passes through a float; it
# decodes about twice as fast as json.loads(parse_float=Decimal), which matters at 10 kB per Magento order.
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class _ListEnvelope(TypedDict, total=False):
    items: list[msgspec.Raw] | None
    total_count: Any


_list_envelope = msgspec.json.Decoder(_ListEnvelope)

_MAX_COUNT = 2**32 - 1
"""Magento's entity ids are ``int unsigned``: no search can count more rows than that."""


class Envelope(NamedTuple):
    """A search answer ``{items: [...], total_count}``, each item its own JSON text. ``total`` is ``None`` when
    the store's count is an integer no search can return (negative, or more rows than ids exist): a count that
    lies is not used to plan anything."""

    items: list[bytes]
    total: int | None


class BadEnvelope(ValueError):
    """A 2xx body that is not a readable search answer (the reason is the message)."""


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON, with every non-integer number a ``Decimal`` (money never passes through float).

    Raises ``ValueError`` when the body is not JSON (or nests too deep to decode)."""
    return decode_bytes(response.content)


def decode_bytes(content: bytes | memoryview) -> Any:
    try:
        return _decoder.decode(content)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    except (RecursionError, UnicodeDecodeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def _split_envelope(content: bytes) -> tuple[Any, Any]:
    """The fallback for a page the fast decoder refused as a whole (an order nested deeper than its recursion
    limit, malformed JSON inside one order): cut the page into its items by structure alone, in one pass.
    ``items`` comes back as a list of byte strings when it is a list."""
    try:
        top, elements = _scan.envelope(content, b"items")
    except _scan.ScanError as exc:
        raise BadEnvelope(f"not a complete JSON object: {exc}") from None
    total = _scan.scalar(content, top.get(b"total_count"), _ABSENT)
    member = top.get(b"items")
    if member is None:
        return _ABSENT, total
    if elements is None:
        return _scan.scalar(content, member, _NOT_A_LIST), total
    return [content[e.start : e.end] for e in elements], total


_ABSENT = object()
_NOT_A_LIST = object()


def _envelope_parts(content: bytes) -> tuple[Any, Any]:
    """``(items, total_count)`` as found: items a list of byte strings when it is a list."""
    try:
        envelope = _list_envelope.decode(content)
    except msgspec.ValidationError:
        # items is not a list (or the body is not an object): let the structural reading say which.
        return _split_envelope(content)
    except Exception:  # DecodeError, RecursionError, UnicodeDecodeError...: try the structural reading
        return _split_envelope(content)
    items = envelope.get("items", _ABSENT)
    if isinstance(items, list):
        items = [bytes(item) for item in items]
    return items, envelope.get("total_count", _ABSENT)


def read_envelope(content: bytes) -> Envelope:
    """A search answer's items (each as its own JSON text, for ``Order.raw``) and its ``total_count``.

    The fast path decodes the envelope in one pass; only when that fails (a poisoned order, a body cut short)
    is the page scanned by structure, so one bad order cannot take the rest of its page down. Raises
    :class:`BadEnvelope` for a body that is no search answer: not JSON, cut short, ``items`` not a list,
    ``total_count`` not an integer. ``items: null`` with a zero count is an empty page: Magento's ``fields``
    filter can turn an empty list into null."""
    items, total = _envelope_parts(content)
    if isinstance(total, bool) or not isinstance(total, int):
        raise BadEnvelope("total_count is missing" if total is _ABSENT else f"total_count is not a count: {total!r}")
    if items is None and total == 0:
        items = []
    if not isinstance(items, list):
        raise BadEnvelope("items is missing" if items is _ABSENT else "items is not a list")
    return Envelope(items, total if 0 <= total <= _MAX_COUNT else None)


def decode_list_envelope(content: bytes) -> tuple[dict[str, Any], list[bytes] | None]:
    """A ``{items: [...], total_count}`` answer with each item left as its own JSON text (for ``Order.raw``).
    ``items`` is ``None`` when the key is missing or holds something other than a list. Raises ``ValueError``
    when the body is not a complete JSON object. (Kept for the benchmarks; the driver uses
    :func:`read_envelope`.)"""
    items, total = _envelope_parts(content)
    return {"total_count": None if total is _ABSENT else total}, items if isinstance(items, list) else None


def fill_placeholders(message: str, parameters: Any) -> str:
    """Put ``parameters`` into Magento's phrase: ``%1``, ``%2`` from a list, ``%name`` from a map.

    One pass over the message, so a parameter value that itself contains ``%1`` is left alone, and ``%10``
    is never read as ``%1`` followed by ``0``.
    """
    if isinstance(parameters, Mapping):
        named = {str(key): value for key, value in parameters.items()}
    elif isinstance(parameters, (list, tuple)):
        named = {str(index): value for index, value in enumerate(parameters, start=1)}
    else:
        return message

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(named[key]) if key in named else match.group(0)

    return _PLACEHOLDER.sub(replace, message)


def _error_text(response: httpx.Response) -> tuple[str, str, str | None, dict[str, Any]]:
    """(filled message, raw template, code, detail) from an error response, whatever its body."""
    try:
        body = decode_json(response)
    except ValueError:
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        template: str = body["message"]
        parameters = body.get("parameters")
        code = body.get("code")
        detail: dict[str, Any] = {"parameters": parameters} if parameters is not None else {}
        if isinstance(body.get("errors"), list):
            detail["errors"] = [
                fill_placeholders(str(err.get("message", "")), err.get("parameters"))
                for err in body["errors"]
                if isinstance(err, Mapping)
            ]
        return fill_placeholders(template, parameters), template, None if code is None else str(code), detail
    text = response.text.strip()
    reason = response.reason_phrase or "error"
    message = f"HTTP {response.status_code} {reason}" + (f": {text[:200]}" if text else "")
    return message, message, None, {}


def raise_for_store_error(response: httpx.Response, store: str, order_id: str | None = None) -> None:
    """Raise the SDK's error for a non-2xx answer: 401 is :class:`AuthenticationError`, a status outside
    the order's state is :class:`StatusNotAllowed`, anything else :class:`StoreError` (HTTP status kept)."""
    if response.is_success:
        return
    message, template, code, detail = _error_text(response)
    if response.status_code == 401:
        raise AuthenticationError(f"store {store!r} refused the credentials: {message}")
    error_type = StatusNotAllowed if _STATUS_NOT_IN_STATE in template else StoreError
    raise error_type(
        message,
        code=code,
        http_status=response.status_code,
        store=store,
        order_id=order_id,
        detail=detail,
    )
