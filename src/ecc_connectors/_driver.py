"""The cart driver interface.

A driver is *sans-I/O*: each operation is a **flow**, a generator that yields the ``httpx.Request`` it needs
sent and receives the ``httpx.Response``; its return value is the operation's result. The engine owns all I/O
(sync or async, retries, rate limits, concurrency) and drives the same flow either way, so a plugin author
writes each operation once::

    def get_order(self, order_id: str) -> Flow[Order]:
        response = yield httpx.Request("GET", self.url(f"/V1/orders/{order_id}"))
        self.raise_for_store_error(response)          # driver's own error mapping
        return self.parse_order(response.json())

Listing comes in two shapes.

**Keyset listing** (capability ``SEEK_ORDERS``), for stores that can filter and sort on an update stamp plus a
numeric id. The engine owns the whole walk: it asks :meth:`Driver.seek_page` for the orders whose
:class:`OrderKey` ``(updated_at, id)`` lies after one key and up to another, sorted by that key, and moves its
cursor to the last key returned. A position is a value, not an offset, so rows that move while the store is
read (an order edited, created or leaving the window) can never push an unread row onto a page already read.
The engine splits the window into disjoint slices, balanced by :meth:`Driver.probe` (the key at an offset), and
reads the slices concurrently, each in order. ``LIST_KEYS`` (:meth:`Driver.list_keys`) is the same walk over
``(id, updated_at)`` pairs only, which ``reconcile`` uses to compare a store with the ledger cheaply.

**Pages** (``first_page``), for stores that cannot: the page a flow returns (:class:`Page`) says how to go
on with its ``next``: ``None`` (done), :class:`NumberedPages` (page numbers with a known total: the engine may
fetch them concurrently) or :class:`FollowCursor` (an opaque cursor or a server-side search id: fetched one after
another; a flow may recover an expired search id by itself, since it can send as many requests as it needs).
Offset pages over a sort that moves can skip a row, so after such a listing the engine verifies completeness
with ``list_keys`` where the driver offers it before it moves the high-water mark.
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
from ._policy import StoreDefaults
from ._retry import RetryHint, default_retry_hint, is_idempotent, mark_idempotent

__all__ = [
    "CancelRequest",
    "Capability",
    "Driver",
    "KeyPage",
    "Flow",
    "FollowCursor",
    "ItemQuery",
    "Limits",
    "NewOrder",
    "NewOrderLine",
    "NextPages",
    "NumberedPages",
    "OrderKey",
    "OrderQuery",
    "Page",
    "Probe",
    "RetryHint",
    "Seek",
    "ShipmentRequest",
    "ShipmentResult",
    "StatusChange",
    "Tracking",
    "WriteResult",
    "is_idempotent",
    "mark_idempotent",
]

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response, T]
"""A driver operation: yields requests, receives responses, returns its result."""

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
    SEEK_ORDERS = "seek_orders"
    """Keyset listing: :meth:`Driver.seek_page` and :meth:`Driver.probe`."""
    LIST_KEYS = "list_keys"
    """The ``(id, updated_at)`` listing for ``reconcile``: :meth:`Driver.list_keys`."""


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


@attrs.frozen(order=True)
class OrderKey:
    """A position in the keyset listing: orders sort by ``updated_at``, then by the store's numeric ``id``
    (which breaks ties between orders stamped in the same second)."""

    updated_at: datetime = attrs.field(validator=_aware)
    id: int


@attrs.frozen
class Seek:
    """The bounds of one keyset request, on top of the query's other filters (statuses, created range, number).

    Orders whose key is greater than ``after`` (``None``: ``updated_at >= query.updated_from``) and not greater
    than ``through`` (``None``: ``updated_at <= query.updated_to``; both ``None`` bounds are left out when the
    query has none). Sorted by ``(updated_at, id)`` ascending."""

    after: OrderKey | None = None
    through: OrderKey | None = None


@attrs.frozen
class Probe:
    """What :meth:`Driver.probe` found: the key of the order at an offset of the listing (``None`` past its
    end, or when the store cannot say), and the listing's total when the store counts it."""

    key: OrderKey | None
    total: int | None = None


@attrs.frozen
class KeyPage:
    """One page of the ``(id, updated_at)`` listing, sorted like a keyset page. ``total``: how many keys match
    the request (this page included), when the store says."""

    keys: tuple[OrderKey, ...]
    total: int | None = None


@attrs.frozen
class NumberedPages:
    """Pages ``numbers`` remain, each fetched by ``fetch(n)``; they are independent and may run concurrently.
    ``page_size`` (when given) lets the engine notice a total that lies: a short page before the last planned one
    ends the listing."""

    numbers: range
    fetch: Callable[[int], Flow[Page]]
    page_size: int | None = None


@attrs.frozen
class FollowCursor:
    """One more page, fetched by ``fetch()``; it may point to a further one."""

    fetch: Callable[[], Flow[Page]]


NextPages = NumberedPages | FollowCursor


@attrs.frozen
class Page:
    """One page of orders. A malformed order is a :class:`PayloadError` in ``orders`` (raw payload kept), so the
    rest of the page still lands.

    ``keys`` (keyset pages only): the :class:`OrderKey` of every row in the order the store returned them,
    malformed rows included, so the cursor can move past an order that could not be read. ``total``: how many
    orders match the request (this page included), when the store says."""

    orders: tuple[Order | PayloadError, ...]
    next: NextPages | None = None
    total: int | None = None
    keys: tuple[OrderKey, ...] = ()


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
    since: datetime | None = attrs.field(default=None, validator=_aware)
    """When this write was first attempted (minus an allowance for clock skew): work found in the store from
    then on is taken as this write's own, done by an attempt whose answer was lost. Set by the engine."""


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
    since: datetime | None = attrs.field(default=None, validator=_aware)
    """See :attr:`ShipmentRequest.since`: an equal comment (status, text, notification) made since then is
    this change's own, so it is not posted again."""


@attrs.frozen
class WriteResult:
    """What a write flow did. ``already_done``: the store already showed the work (an earlier attempt whose
    answer was lost), so nothing was sent again; ``reference``: the store's id for what was written (an invoice,
    a comment) when it gives one; ``found``: what the flow checked and found, for the action log."""

    already_done: bool = False
    reference: str | None = None
    found: str = ""


@attrs.frozen
class CancelRequest:
    order_id: str
    status: str | None = None
    comment: str = ""
    notify: bool = False
    since: datetime | None = attrs.field(default=None, validator=_aware)
    """See :attr:`ShipmentRequest.since`."""


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

    def store_defaults(self) -> StoreDefaults:
        """The store's own words for the statuses a policy sets (shipped, cancelled, acknowledged). A policy that
        left them at the SDK's defaults takes these instead (:meth:`SyncPolicy.with_store_defaults`), so a store
        whose vocabulary is ``completed`` / ``cancelled`` works without settings."""
        return StoreDefaults()

    def auth(self) -> httpx.Auth | None:
        """Request signing or token handling, as an ``httpx.Auth`` (re-run on every send, retries included)."""
        return None

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """Whether ``response`` is worth retrying. The default follows HTTP: 429 and 502/503/504 (and 500 on
        idempotent requests), honouring ``Retry-After``. Drivers add store-specific faults."""
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

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Up to ``size`` orders of ``query`` within ``seek``, sorted by :class:`OrderKey`, with ``Page.keys``
        filled (one per row) and ``Page.total`` the number matching ``seek`` when the store counts. ``next`` is
        ignored: the engine moves the cursor. A body that cannot be read raises :class:`BrokenAnswer`."""
        return self._unsupported(Capability.SEEK_ORDERS)  # type: ignore[no-any-return]

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key of the order at ``offset`` (0-based) of ``query``'s keyset listing, and the total. The engine
        uses it to cut the window into slices of about equal size; the default says "cannot tell" without any
        I/O, and the engine then reads the window as one slice."""
        return Probe(None, None)
        yield  # pragma: no cover - makes this a flow that sends nothing

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        """Like :meth:`seek_page`, but only the keys: the cheapest listing the store offers."""
        return self._unsupported(Capability.LIST_KEYS)  # type: ignore[no-any-return]

    def get_order(self, order_id: str) -> Flow[Order]:
        return self._unsupported(Capability.GET_ORDER)  # type: ignore[no-any-return]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        return self._unsupported(Capability.SHIP)  # type: ignore[no-any-return]

    # Writes. Each must be safe to run again after an attempt whose answer was lost: look in the store for the
    # work first (a comment with the same status and text, an invoice or shipment with the same lines) and
    # report it with ``WriteResult(already_done=True)`` instead of writing again.
    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        return self._unsupported(Capability.SET_STATUS)  # type: ignore[no-any-return]

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        return self._unsupported(Capability.CANCEL)  # type: ignore[no-any-return]

    def invoice(self, order_id: str, notify: bool = False) -> Flow[str | WriteResult]:
        """Returns the invoice id (or a :class:`WriteResult` whose ``reference`` is the invoice id)."""
        return self._unsupported(Capability.INVOICE)  # type: ignore[no-any-return]

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        return self._unsupported(Capability.SEARCH_ITEMS)  # type: ignore[no-any-return]

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """First half of a phone order, for stores where an order can be found again by something fixed before
        it is placed (Magento: the cart it is placed from). Returns that reservation, which the engine records
        before :meth:`create_order` runs; ``None`` (the default, no I/O): the store has no such thing."""
        return None
        yield  # pragma: no cover - makes this a flow that sends nothing

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Create the order. With a ``reservation`` (from :meth:`reserve_order`, perhaps by a run that died),
        first look for an order already placed from it and return that one: a retry never makes a second."""
        return self._unsupported(Capability.CREATE_ORDER)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release anything the driver holds (caches, temp files). The engine owns the HTTP client."""
