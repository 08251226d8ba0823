"""Ready-made parts for writing a driver: pages from a total or from headers, JSON with exact money, a table
from answers to typed errors, retry hints from rate-limit headers, a flow that answers without I/O, and a
page's orders decoded when first read.

Every built-in driver could be written with these alone; a plugin author starts here (see
docs/writing-a-driver.md, whose example plugin uses each of them).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar, overload

import httpx
import msgspec

from ._driver import Flow, FollowCursor, NumberedPages, Page
from ._errors import (
    AuthenticationError,
    BrokenAnswer,
    ConnectorError,
    PayloadError,
    StoreError,
)
from ._model import Order, RawJSON
from ._retry import RetryHint, default_retry_hint, parse_retry_after

__all__ = ["JsonRest", "OrdersOnDemand", "answer", "next_link", "pages_from_headers", "pages_from_total"]

T = TypeVar("T")
R = TypeVar("R")

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


def answer(value: T) -> Flow[T]:
    """A flow that returns ``value`` and sends nothing (a table the driver knows, a cached token, ...)."""
    return value
    yield  # pragma: no cover - makes this a flow


class OrdersOnDemand(Sequence[Order | PayloadError], Generic[R]):
    """A page's orders, each decoded from its row the first time it is read, then kept: ``Page.orders`` for a
    keyset page whose ``keys`` the driver reads cheaply on their own.

    The engine reads a keyset page's ``keys`` first, sends its slice's next request, and only then reads the
    orders. Decoding and mapping a page's orders is most of the CPU a page costs; done here, it stays off the
    path from one answer of a slice to its next request, so the store is asked again as soon as the keys are
    known. ``decode`` turns one row into an :class:`Order`, or a :class:`PayloadError` when the row is
    malformed, and should not raise; an exception it lets escape anyway becomes a :class:`PayloadError` for
    ``refs[index]`` (the row's order number or id) with the row kept as its raw payload, so one bad row never
    stops a page. Reading is not thread-safe; the engine reads a page from one thread.
    """

    def __init__(self, rows: Sequence[R], decode: Callable[[R], Order | PayloadError], *, store: str,
                 refs: Sequence[str]) -> None:
        if len(refs) != len(rows):
            raise ValueError(f"{len(rows)} rows but {len(refs)} refs")
        self._rows = rows
        self._decode = decode
        self._store = store
        self._refs = refs
        self._done: list[Order | PayloadError | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Order | PayloadError: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Order | PayloadError, ...]: ...

    def __getitem__(self, index: int | slice) -> Order | PayloadError | tuple[Order | PayloadError, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self._rows)
        done = self._done[index]
        if done is None:
            done = self._done[index] = self._decoded(index)
        return done

    def _decoded(self, index: int) -> Order | PayloadError:
        row = self._rows[index]
        try:
            return self._decode(row)
        except Exception as exc:
            text = row.decode("utf-8", "backslashreplace") if isinstance(row, bytes | bytearray) else str(row)
            return PayloadError(self._store, self._refs[index], "(order)", f"{type(exc).__name__}: {exc}",
                                raw=RawJSON(text))

    def __iter__(self) -> Iterator[Order | PayloadError]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, but a tuple's hash would decode every row

    def __repr__(self) -> str:
        read = sum(1 for d in self._done if d is not None)
        return f"OrdersOnDemand({len(self)} rows, {read} decoded)"


def pages_from_total(
    total: int | None, page_size: int, fetch: Callable[[int], Flow[Page]], *, first: int = 1, shown: int | None = None
) -> NumberedPages | None:
    """The pages after the first of a listing of ``total`` rows, ``page_size`` a page (numbered from ``first``).

    ``shown``: how many rows the first page really held. A first page shorter than asked for is the whole listing
    whatever the total says, and one longer than asked (a store that ignores the page size) is read once; a total
    that is missing, negative or not a number plans nothing. The engine also stops at a short later page."""
    if total is None or isinstance(total, bool) or total < 0 or page_size < 1:
        return None
    if shown is not None and (shown != page_size or shown >= total):
        return None
    pages = math.ceil(total / page_size)
    if pages <= 1:
        return None
    return NumberedPages(range(first + 1, first + pages), fetch, page_size=page_size)


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header, if any."""
    for value in response.headers.get_list("link"):
        found = _LINK.search(value)
        if found:
            return found.group(1)
    return None


def pages_from_headers(
    response: httpx.Response,
    page_size: int,
    fetch_number: Callable[[int], Flow[Page]],
    fetch_link: Callable[[str], Flow[Page]] | None = None,
    *,
    shown: int | None = None,
) -> NumberedPages | FollowCursor | None:
    """How to go on from a first page whose answer says it in headers: ``X-Total-Pages`` / ``X-WP-TotalPages``
    (or ``X-Total-Count`` / ``X-WP-Total`` with ``page_size``) as numbered pages, else a ``Link: rel=next`` as a
    cursor followed with ``fetch_link``."""
    headers = response.headers
    for name in ("x-wp-totalpages", "x-total-pages"):
        if name in headers:
            try:
                pages = int(headers[name])
            except ValueError:
                break
            if shown is not None and shown < page_size:
                return None
            return NumberedPages(range(2, pages + 1), fetch_number, page_size=page_size) if pages > 1 else None
    for name in ("x-wp-total", "x-total-count"):
        if name in headers:
            try:
                total = int(headers[name])
            except ValueError:
                break
            return pages_from_total(total, page_size, fetch_number, shown=shown)
    target = next_link(response)
    if target is not None and fetch_link is not None:
        return FollowCursor(lambda: fetch_link(target))
    return None


class JsonRest:
    """A mixin for JSON REST drivers: exact-money decoding, answers mapped to the SDK's errors by a table, and
    retry hints from the headers stores use for rate limits.

    Set ``store_id`` (as every driver does) and, where the store differs from plain HTTP, ``error_table``: status
    code to error class (``StatusNotAllowed`` for a refused status change, ``AuthenticationError`` for a 403
    that means bad keys, ...). ``error_message`` pulls the store's own text out of an error body."""

    store_id: str
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {401: AuthenticationError}
    message_keys: ClassVar[tuple[str, ...]] = ("message", "error", "detail", "title")

    def decode(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The body as JSON with every non-integer number a ``Decimal``. A 2xx body that is not JSON is a
        :class:`BrokenAnswer` (retried for reads); raise for an error status first with :meth:`check`."""
        try:
            return _decoder.decode(response.content)
        except msgspec.DecodeError as exc:
            raise BrokenAnswer(
                f"store answered HTTP {response.status_code} with a body that is not JSON: {exc}",
                http_status=response.status_code, store=self.store_id, order_id=order_id,
            ) from None

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """(message, code) from an error answer, whatever its body."""
        try:
            body = _decoder.decode(response.content)
        except msgspec.DecodeError:
            body = None
        if isinstance(body, Mapping):
            for key in self.message_keys:
                value = body.get(key)
                if isinstance(value, str) and value:
                    code = body.get("code")
                    return value, None if code is None else str(code)
                if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                    code = value.get("code")
                    return str(value["message"]), None if code is None else str(code)
        text = response.text.strip()[:200]
        return f"HTTP {response.status_code} {response.reason_phrase}" + (f": {text}" if text else ""), None

    def check(self, response: httpx.Response, order_id: str | None = None) -> None:
        """Raise the SDK's error for a non-2xx answer, by ``error_table`` (default ``StoreError``)."""
        if response.is_success:
            return
        message, code = self.error_message(response)
        kind = self.error_table.get(response.status_code, StoreError)
        if issubclass(kind, StoreError):
            raise kind(message, code=code, http_status=response.status_code, store=self.store_id, order_id=order_id)
        if kind is AuthenticationError:
            raise AuthenticationError(f"store {self.store_id!r} refused the credentials: {message}")
        raise kind(message)

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """HTTP's own rules (429, 503; 500/502/504 for idempotent requests), waiting what the store says:
        ``Retry-After``, else ``RateLimit-Reset`` / ``X-RateLimit-Reset`` (seconds, or a Unix time)."""
        hint = default_retry_hint(response)
        if hint is None or hint.after is not None:
            return hint
        for name in ("ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset"):
            value = response.headers.get(name)
            if value is None:
                continue
            try:
                seconds = float(value)
            except ValueError:
                seconds_or_none = parse_retry_after(value)
                if seconds_or_none is None:
                    continue
                seconds = seconds_or_none
            if seconds > 10**9:  # a Unix time
                seconds = max(0.0, seconds - time.time())
            return RetryHint(hint.reason, seconds)
        return hint

