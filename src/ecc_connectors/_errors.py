"""The exceptions raised by ecc-connectors.

Every error the SDK raises on purpose derives from one root, so an application can catch them all in one place::

    ConnectorError
    ├── ConfigurationError        bad settings, a policy that does not load, an unknown driver
    ├── CapabilityNotSupported    the driver cannot do what was asked (raised before any I/O)
    ├── AuthenticationError       the store refused the credentials
    ├── RateLimited               the store said "slow down" and retries ran out (carries the wait)
    ├── TransportError            timeouts, refused or dropped connections, after retries
    ├── StoreError                the store answered with an error (its own message and code)
    │   ├── StatusNotAllowed      a status the store will not set on this order in its current state
    │   └── BrokenAnswer          a 2xx answer to a read that cannot be read (cut short, not JSON, no envelope)
    ├── ActionInProgress          another caller holds the lease on this write right now
    └── PayloadError              one order's data could not be understood (store, order, field, raw payload)

No message, ``repr`` or ``str`` of these errors contains a credential: errors are built from store answers and
field names, never from the request's headers or auth objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ActionInProgress",
    "AuthenticationError",
    "BrokenAnswer",
    "CapabilityNotSupported",
    "ConfigurationError",
    "ConnectorError",
    "PayloadError",
    "RateLimited",
    "StatusNotAllowed",
    "StoreError",
    "TransportError",
]


class ConnectorError(Exception):
    """Root of every error raised by ecc-connectors."""


class ConfigurationError(ConnectorError):
    """Settings that cannot work: a policy that does not load, a missing credential, an unknown driver."""


class CapabilityNotSupported(ConnectorError):
    """The driver does not offer the capability asked for. Raised before any request is sent."""

    def __init__(self, driver: str, capability: str, reason: str = "") -> None:
        self.driver = driver
        self.capability = capability
        self.reason = reason
        text = f"driver {driver!r} does not support {capability!r}"
        super().__init__(f"{text}: {reason}" if reason else text)


class AuthenticationError(ConnectorError):
    """The store refused the credentials (after one refresh, where the auth mode can refresh)."""


class RateLimited(ConnectorError):
    """The store kept answering "too many requests" until the retries ran out."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class TransportError(ConnectorError):
    """The store could not be reached or did not answer in time, after the retries."""


class StoreError(ConnectorError):
    """The store answered with an error. ``message`` is the store's own text with its placeholders filled in."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        store: str | None = None,
        order_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.http_status = http_status
        self.store = store
        self.order_id = order_id
        self.detail = dict(detail or {})
        parts = [message]
        if code:
            parts.append(f"code={code}")
        if http_status is not None:
            parts.append(f"http={http_status}")
        if order_id:
            parts.append(f"order={order_id}")
        super().__init__(" ".join(parts) if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})")


class StatusNotAllowed(StoreError):
    """The store will not set that status on the order in its current state (Magento 2.4.7+ does this)."""


class BrokenAnswer(StoreError):
    """A successful status whose body cannot be read: cut short, not JSON, or without the expected envelope.

    For an idempotent read this is a transient fault (a proxy or a dropped connection that still sent a
    plausible ``Content-Length``): the engine asks again, as for a 5xx, and raises this only when the retries
    run out. A driver raises it from a read flow instead of :class:`StoreError` for exactly these cases."""


class ActionInProgress(ConnectorError):
    """Another caller (this process or another one sharing the ledger) is running the same write right now.

    The write is not run a second time: try again after ``lease_until`` (or when the holder finished). A holder
    that crashed loses the lease when it expires; the next caller then checks the store and finishes the work.
    """

    def __init__(self, message: str, *, key: str, owner: str, lease_until: Any) -> None:
        self.key = key
        self.owner = owner
        self.lease_until = lease_until
        super().__init__(message)


class PayloadError(ConnectorError):
    """One order's payload could not be understood.

    ``raw`` keeps the payload exactly as it came, so nothing is lost; the download goes on with the other orders.
    """

    def __init__(self, store: str, order_ref: str | None, field: str, problem: str, raw: Any = None) -> None:
        self.store = store
        self.order_ref = order_ref
        self.field = field
        self.problem = problem
        self.raw = raw
        super().__init__(f"store {store!r}, order {order_ref or '?'}: field {field!r}: {problem}")

    def __repr__(self) -> str:
        return f"PayloadError(store={self.store!r}, order_ref={self.order_ref!r}, field={self.field!r})"
