"""The cart driver interface.

A driver is *sans-I/O*: each operation is a **flow**, a generator that yields the ``httpx.Request`` it needs
sent and receives the ``httpx.Response``; its return value is the operation's result. The engine owns all I/O
(sync or async, retries, rate limits, concurrency) and drives the same flow either way, so a plugin author
writes each operation once::

    def get_order(self, order_id: str) -> Flow[Order]:
        response = yield httpx.Request("GET", self.url(f"/V1/orders/{order_id}"))
        self.raise_for_store_error(response)          # driver's own error mapping
        return self.parse_order(response.json())

Pagination is described by the page a flow returns (:class:`Page`): its ``next`` is ``None`` (done),
:class:`NumberedPages` (page numbers with a known total: the engine may fetch them concurrently) or
:class:`FollowCursor` (an opaque cursor or a server-side search id: fetched one after another; a flow may
recover an expired search id by itself, since it can send as many requests as it needs).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
import httpx

from ._errors import CapabilityNotSupported, PayloadError
from ._model import Address, Customer, Item, Order, StoreStatus, _aware

__all__ = [
    "CancelRequest",
    "Capability",
    "Driver",
    "Flow",
    "FollowCursor",
    "ItemQuery",
    "Limits",
    "NewOrder",
    "NewOrderLine",
    "NextPages",
    "NumberedPages",
    "OrderQuery",
    "Page",
    "RetryHint",
    "ShipmentRequest",
    "ShipmentResult",
    "StatusChange",
    "Tracking",
    "is_idempotent",
    "mark_idempotent",
]

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response, T]
"""A driver operation: yields requests, receives responses, returns its result."""

_IDEMPOTENT = "ecc_connectors.idempotent"


def mark_idempotent(request: httpx.Request) -> httpx.Request:
    """Mark a POST (or other write) as safe to resend: a read over SOAP, or a write checked before it is sent."""
    request.extensions = {**request.extensions, _IDEMPOTENT: True}
    return request


def is_idempotent(request: httpx.Request) -> bool:
    return request.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE") or bool(
        request.extensions.get(_IDEMPOTENT)
    )


class Capability(str, enum.Enum):
    LIST_STATUSES = "list_statuses"
    LIST_ORDERS = "list_orders"
    GET_ORDER = "get_order"
    SHIP = "ship"
    SET_STATUS = "set_status"
    CANCEL = "cancel"
    INVOICE = "invoice"
    SEARCH_ITEMS = "search_items"
    CREATE_ORDER = "create_order"


@attrs.frozen
class OrderQuery:
    """What the engine asks a driver to list. ``statuses=None`` means every status. Orders should come sorted by
    ``updated_at`` ascending where the store can sort (``Driver.sorts_by_updated``)."""

    updated_from: datetime | None = attrs.field(default=None, validator=_aware)
    updated_to: datetime | None = attrs.field(default=None, validator=_aware)
    created_from: datetime | None = attrs.field(default=None, validator=_aware)
    created_to: datetime | None = attrs.field(default=None, validator=_aware)
    starting_number: str | None = None
    statuses: tuple[str, ...] | None = None
    page_size: int = 100


@attrs.frozen
class NumberedPages:
    """Pages ``numbers`` remain, each fetched by ``fetch(n)``; they are independent and may run concurrently."""

    numbers: range
    fetch: Callable[[int], Flow[Page]]


@attrs.frozen
class FollowCursor:
    """One more page, fetched by ``fetch()``; it may point to a further one."""

    fetch: Callable[[], Flow[Page]]


NextPages = NumberedPages | FollowCursor


@attrs.frozen
class Page:
    """One page of orders. A malformed order is a :class:`PayloadError` in ``orders`` (raw payload kept), so the
    rest of the page still lands."""

    orders: tuple[Order | PayloadError, ...]
    next: NextPages | None = None
    total: int | None = None


@attrs.frozen
class Tracking:
    number: str
    carrier_code: str = "custom"
    title: str = ""


@attrs.frozen
class ShipmentRequest:
    """Ship an order. ``lines`` are ``(line_id, quantity)``; empty means everything not yet shipped.
    ``notify`` asks the store to send its completion email with the tracking numbers."""

    order_id: str
    tracking: tuple[Tracking, ...] = ()
    lines: tuple[tuple[str, Decimal], ...] = ()
    notify: bool = True
    comment: str = ""
    status: str | None = None


@attrs.frozen
class ShipmentResult:
    shipment_id: str
    already_shipped: bool = False


@attrs.frozen
class StatusChange:
    """Set the store status with a comment (acknowledgement, or any status change)."""

    order_id: str
    status: str
    comment: str = ""
    notify: bool = False


@attrs.frozen
class CancelRequest:
    order_id: str
    status: str | None = None
    comment: str = ""
    notify: bool = False


@attrs.frozen
class ItemQuery:
    """Find items by ``text`` (matched against sku and name) or exact ``skus``."""

    text: str = ""
    skus: tuple[str, ...] = ()
    limit: int = 50


@attrs.frozen
class NewOrderLine:
    sku: str
    quantity: Decimal
    item_id: str | None = None
    unit_price: Decimal | None = None
    name: str = ""


@attrs.frozen
class NewOrder:
    """A phone order to create in the store. ``reference`` is the back office's own id for it."""

    reference: str
    customer: Customer
    billing_address: Address
    shipping_address: Address
    lines: tuple[NewOrderLine, ...]
    shipping_method: str = "flatrate_flatrate"
    payment_method: str = "checkmo"
    currency: str = "USD"


@attrs.frozen
class RetryHint:
    """The driver's reading of a response the engine should retry: wait ``after`` seconds (``None``: back off)."""

    reason: str
    after: float | None = None


@attrs.frozen
class Limits:
    """Per-store I/O limits. ``rate`` is requests per second (``None``: unlimited); no one-second window holds
    more than ``rate`` sends. ``burst``: how many requests may go out back to back before the rate spaces them
    (1 to ``rate``). ``None`` allows a whole second's worth at once, which a store counting requests per second
    accepts and which keeps the pipeline full after the first page; 1 spaces every send evenly, for a store that
    demands a gap between requests."""

    concurrency: int = 4
    rate: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    burst: int | None = None


class Driver:
    """Base class for cart drivers. Subclasses set ``name`` and ``capabilities`` and implement the flows they
    declare. An undeclared operation raises :class:`CapabilityNotSupported` before any request is sent."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    sorts_by_updated: ClassVar[bool] = True
    """Pages come sorted by ``updated_at`` ascending, so the engine may move its high-water mark page by page."""

    store_id: str = ""
    """Names the store in the ledger (one driver instance speaks to one store)."""

    def limits(self) -> Limits:
        return Limits()

    def auth(self) -> httpx.Auth | None:
        """Request signing or token handling, as an ``httpx.Auth`` (re-run on every send, retries included)."""
        return None

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """Whether ``response`` is worth retrying. The default follows HTTP: 429 and 502/503/504 (and 500 on
        idempotent requests), honouring ``Retry-After``. Drivers add store-specific faults."""
        from ._retry import default_retry_hint

        return default_retry_hint(response)

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CapabilityNotSupported(self.name or type(self).__name__, capability.value)

    def _unsupported(self, capability: Capability) -> Any:
        raise CapabilityNotSupported(self.name or type(self).__name__, capability.value)

    # Flows. Each default says "not supported"; a driver overrides what it declares in ``capabilities``.
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        return self._unsupported(Capability.LIST_STATUSES)  # type: ignore[no-any-return]

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        return self._unsupported(Capability.LIST_ORDERS)  # type: ignore[no-any-return]

    def get_order(self, order_id: str) -> Flow[Order]:
        return self._unsupported(Capability.GET_ORDER)  # type: ignore[no-any-return]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        return self._unsupported(Capability.SHIP)  # type: ignore[no-any-return]

    def set_status(self, change: StatusChange) -> Flow[None]:
        return self._unsupported(Capability.SET_STATUS)  # type: ignore[no-any-return]

    def cancel(self, request: CancelRequest) -> Flow[None]:
        return self._unsupported(Capability.CANCEL)  # type: ignore[no-any-return]

    def invoice(self, order_id: str, notify: bool = False) -> Flow[str]:
        return self._unsupported(Capability.INVOICE)  # type: ignore[no-any-return]

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        return self._unsupported(Capability.SEARCH_ITEMS)  # type: ignore[no-any-return]

    def create_order(self, order: NewOrder) -> Flow[Order]:
        return self._unsupported(Capability.CREATE_ORDER)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release anything the driver holds (caches, temp files). The engine owns the HTTP client."""
