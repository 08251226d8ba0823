"""Reading Magento's answers: JSON bodies with exact decimals, and error bodies ``{message, parameters}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypedDict

import httpx
import msgspec

from ..._errors import AuthenticationError, StatusNotAllowed, StoreError

__all__ = [
    "decode_bytes",
    "decode_json",
    "decode_list_envelope",
    "fill_placeholders",
    "raise_for_store_error",
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


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON, with every non-integer number a ``Decimal`` (money never passes through float).

    Raises ``ValueError`` when the body is not JSON."""
    return decode_bytes(response.content)


def decode_bytes(content: bytes | memoryview) -> Any:
    try:
        return _decoder.decode(content)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None


def decode_list_envelope(content: bytes) -> tuple[dict[str, Any], list[bytes] | None]:
    """A ``{items: [...], total_count}`` answer with each item left as its own JSON text (for ``Order.raw``),
    in one pass. ``items`` is ``None`` when the key holds something other than a list (or null)."""
    try:
        envelope = _list_envelope.decode(content)
    except msgspec.ValidationError:
        return {}, None
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    items = envelope.get("items", [])
    rest = {"total_count": envelope.get("total_count")}
    return rest, None if items is None else [bytes(item) for item in items]


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
