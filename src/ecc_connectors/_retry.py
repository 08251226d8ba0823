"""Which responses are worth sending again, and after how long (the status-to-action table)."""

from __future__ import annotations

import email.utils
import time

import attrs
import httpx

__all__ = ["RetryHint", "default_retry_hint", "is_idempotent", "mark_idempotent", "parse_retry_after"]

_IDEMPOTENT = "ecc_connectors.idempotent"


def mark_idempotent(request: httpx.Request, idempotent: bool = True) -> httpx.Request:
    """Say whether ``request`` is safe to send again after its answer was lost.

    ``True``: a POST (or other write) that is safe to resend (a read over SOAP, a write checked before it is
    sent). ``False``: a request whose method HTTP calls idempotent but which is not, for this store (a ``PUT``
    that sets fields from a copy read just before, so a resend could overwrite a change made in between)."""
    request.extensions = {**request.extensions, _IDEMPOTENT: idempotent}
    return request


def is_idempotent(request: httpx.Request) -> bool:
    """Whether the I/O layer may resend ``request`` after a dropped connection or a 5xx: what the driver said
    with :func:`mark_idempotent`, else HTTP's reading of the method."""
    said = request.extensions.get(_IDEMPOTENT)
    if said is not None:
        return bool(said)
    return request.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")


@attrs.frozen
class RetryHint:
    """The driver's reading of a response the engine should retry: wait ``after`` seconds (``None``: back off).

    ``quiet``: the wait is expected, not a fault (a job the store is still running, polled until it is done), so
    the retry is logged at DEBUG instead of WARNING."""

    reason: str
    after: float | None = None
    quiet: bool = False


# status -> (reason, retried for writes too?). A 429 or 503 means the store did not act, so even a write may be
# resent; a 500 or 502/504 may hide a half-done write, so only idempotent requests are resent after it.
_RETRY_TABLE: dict[int, tuple[str, bool]] = {
    429: ("rate limited", True),
    503: ("service unavailable", True),
    500: ("server error", False),
    502: ("bad gateway", False),
    504: ("gateway timeout", False),
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def default_retry_hint(response: httpx.Response) -> RetryHint | None:
    entry = _RETRY_TABLE.get(response.status_code)
    if entry is None:
        return None
    reason, writes_too = entry
    if not writes_too and not is_idempotent(response.request):
        return None
    return RetryHint(reason, parse_retry_after(response.headers.get("Retry-After")))
