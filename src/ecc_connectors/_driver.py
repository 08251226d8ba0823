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

**Settings.** A driver declares its settings as a typed class (fields made with ``setting``, see ``_settings``)
and names it as ``Driver.settings_class``; ``from_settings`` (a form's dict) and ``from_env`` then load and check
them the same way for every driver and hand them to the driver's ``from_config``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
import httpx

from ._errors import CapabilityNotSupported, ConfigurationError, PayloadError
from ._model import Address, Customer, Item, Order, StoreStatus, _aware
from ._policy import StoreDefaults
from ._retry import RetryHint, default_retry_hint, is_idempotent, mark_idempotent
from ._settings import load_settings, settings_from_env

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
_D = TypeVar("_D", bound="Driver")
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
    GET_ORDERS = "get_orders"
    """Several orders by id in one read: :meth:`Driver.get_orders` (``reconcile`` repairs with it)."""


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
    query has none). Sorted by ``(updated_at, id)`` ascending.

    ``before``: keys *less* than it, in place of ``through`` (never both). The engine sets it only for a driver
    that implements :meth:`Driver.listing_page`, to read the keys between two pages it read by number."""

    after: OrderKey | None = None
    through: OrderKey | None = None
    before: OrderKey | None = None

    def __attrs_post_init__(self) -> None:
        if self.through is not None and self.before is not None:
            raise ValueError("a Seek has through or before, not both")


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
    orders match the request (this page included), when the store says.

    ``orders`` is any sequence: a tuple, or an :class:`~ecc_connectors.driver.OrdersOnDemand` that decodes each
    order when the engine first reads it (after it has used ``keys`` to send the slice's next request)."""

    orders: Sequence[Order | PayloadError]
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
    """Base class for cart drivers.

    A subclass sets :attr:`name` and :attr:`capabilities`, implements the flows it declares, and (to be built from
    a form, a config file or the environment) names its :attr:`settings_class` and implements :meth:`from_config`.
    An undeclared operation raises :class:`CapabilityNotSupported` before any request is sent.

    What the engine promises every flow:

    * it sends each request the flow yields and sends back the response, whatever its status, after its own
      retries (network faults where resending is safe, responses :meth:`retry_hint` marks). When they run out
      it throws :class:`RateLimited` (429) or :class:`TransportError` into the flow at its ``yield``, or sends
      the last response for the flow to map;
    * a write (any request but GET, HEAD, OPTIONS, PUT and DELETE, unless marked with :func:`mark_idempotent`) is
      resent only when the store cannot have acted on it (not sent, or answered 429 or 503);
    * several flows of one driver may be in progress at once, on different threads, and a flow may be closed
      unfinished: keep per-operation state in the flow, make shared caches
      thread-safe, and never catch ``GeneratorExit``.

    What every flow promises back:

    * no I/O of its own (no client, no sleep): requests are yielded, nothing else;
    * errors from one tree: a store's refusal is :class:`StoreError` (its message, code and ``http_status``), a
      refused credential :class:`AuthenticationError`, a 2xx answer to a read that cannot be read
      :class:`BrokenAnswer`; one malformed order in a page is a :class:`PayloadError` in ``Page.orders``;
    * no credential in any message, ``repr`` or log line.
    """

    name: ClassVar[str] = ""
    """The registry name (``"magento2"``), also used in messages."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    """What the driver offers; the engine checks it (:meth:`require`) before running any flow."""
    sorts_by_updated: ClassVar[bool] = True
    """Pages come sorted by ``updated_at`` ascending, so the engine may move its high-water mark page by page."""
    settings_class: ClassVar[type[Any] | None] = None
    """The attrs class of this driver's settings (fields made with :func:`setting`), read by
    :meth:`from_settings`, :meth:`from_env` and :func:`describe_settings`; ``None``: the driver is built in code
    only."""

    store_id: str = ""
    """Names the store in the ledger (one driver instance speaks to one store)."""

    # Settings ------------------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls: type[_D], settings: Any) -> _D:
        """Build the driver from an instance of :attr:`settings_class` (already loaded and checked).

        Implemented by each driver that declares settings; :meth:`from_settings` and :meth:`from_env` call it.
        It does no I/O (the first request happens in a flow) and raises :class:`ConfigurationError` for settings
        that cannot work together, without quoting a secret.
        """
        raise ConfigurationError(
            f"driver {cls.name or cls.__name__!r} cannot be built from settings: it does not implement from_config"
        )

    @classmethod
    def _settings_class(cls) -> type[Any]:
        if cls.settings_class is None:
            raise ConfigurationError(
                f"driver {cls.name or cls.__name__!r} declares no settings class: build it in code"
            )
        return cls.settings_class

    @classmethod
    def from_settings(cls: type[_D], settings: Mapping[str, object]) -> _D:
        """Build the driver from a mapping of setting names to values (text from a form or a config file, or
        typed values): :func:`load_settings` with :attr:`settings_class`, then :meth:`from_config`.

        Raises:
            ConfigurationError: the driver declares no settings class, or the settings cannot be used (a
                :class:`SettingsError` naming every unknown, missing or bad setting at once, secrets never quoted).
        """
        return cls.from_config(load_settings(cls._settings_class(), settings))

    @classmethod
    def from_env(cls: type[_D], env: Mapping[str, str] | None = None) -> _D:
        """Build the driver from environment variables (``os.environ`` when ``env`` is ``None``), each setting
        read from the variable its field names: :func:`settings_from_env`, then :meth:`from_config`.

        Raises:
            ConfigurationError: as :meth:`from_settings`, each setting named with its variable.
        """
        return cls.from_config(settings_from_env(cls._settings_class(), env))

    # Engine hooks --------------------------------------------------------------------------------------------
    def limits(self) -> Limits:
        """The store's fair I/O limits: concurrency, rate, timeouts, attempts per request.

        Called when a connector is built (its default ``IOPolicy``; an application's own policy replaces it) and
        while downloading (the concurrency and ``max_attempts`` also bound how many pages are in flight and how
        often an unreadable answer is asked again). No I/O; return the same value every time.
        """
        return Limits()

    def store_defaults(self) -> StoreDefaults:
        """The store's own words for the statuses a policy sets (shipped, cancelled, acknowledged). A policy that
        left them at the SDK's defaults takes these instead (:meth:`SyncPolicy.with_store_defaults`), so a store
        whose vocabulary is ``completed`` / ``cancelled`` works without settings.

        Called once when a connector is built, before the policy is validated. No I/O.
        """
        return StoreDefaults()

    def auth(self) -> httpx.Auth | None:
        """Request signing or token handling, as an ``httpx.Auth``; ``None``: requests go as the flow built them.

        Called before every send attempt, retries included, from any thread: return the same object each time
        (it may cache a token; guard that with a lock). Its ``auth_flow`` signs afresh on each attempt and may send
        requests of its own (fetching a token, once more after a 401), inside that attempt. A refused credential
        is :class:`AuthenticationError`, raised after at most one refresh. Its ``repr`` shows no secret.
        """
        return None

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """Whether ``response`` is worth sending again, and after how long.

        Called on every response, each retry's included, from any thread, with its body read; no I/O and no
        state. The default follows HTTP: 429 and 503 (the store did not act, so writes too), 500/502/504 for
        idempotent requests only, honouring ``Retry-After``. Add the store's own throttling faults, and never hint
        a write the store may have acted on. When the retries run out, a 429 becomes :class:`RateLimited`; any
        other hinted response goes to the flow, which maps it to an error.
        """
        return default_retry_hint(response)

    def require(self, capability: Capability) -> None:
        """Raise :class:`CapabilityNotSupported` unless ``capability`` is declared. The engine calls it before it
        starts a flow for that capability, so before any request; a driver declares :attr:`capabilities` rather
        than overriding this."""
        if capability not in self.capabilities:
            raise CapabilityNotSupported(self.name or type(self).__name__, capability.value)

    def _unsupported(self, capability: Capability) -> Any:
        raise CapabilityNotSupported(self.name or type(self).__name__, capability.value)

    def _implements(self, flow: str) -> bool:
        """Whether this driver's class has its own ``flow`` rather than the interface's "not supported" default
        (the engine and the conformance suite ask; a declared capability counts only with its flow)."""
        return getattr(type(self), flow, None) is not getattr(Driver, flow, None)

    # Reads. Each default says "not supported"; a driver overrides what it declares in ``capabilities``.
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """Every status the store knows (code, label, state), for ``list_statuses`` and ``check_policy``.

        ``LIST_STATUSES``. Run on the application's demand; a read. A store without such a call returns its
        fixed table (a flow that sends nothing). Codes are ``Order.status`` strings, exactly as orders carry them.
        """
        return self._unsupported(Capability.LIST_STATUSES)  # type: ignore[no-any-return]

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The first page of orders matching ``query``; its ``next`` says how to read the rest.

        ``LIST_ORDERS``, for stores without keyset listing (and for ``reconcile`` with content). The engine calls
        it once per listing and starts the flow afresh, up to ``max_attempts``, when it raises
        :class:`BrokenAnswer`; the flows in ``next`` are retried the same way, several at once for
        :class:`NumberedPages`.

        The driver returns only orders within ``query`` (updated and created bounds inclusive; ``statuses=None``:
        every status, ``()``: none), sorted by ``updated_at`` ascending when :attr:`sorts_by_updated`, with
        ``Page.total`` the store's count of the whole listing when it gives one.

        Raises:
            BrokenAnswer: a 2xx answer that cannot be read (cut short, not JSON, no envelope).
            StoreError: the store answered with an error (:class:`AuthenticationError` for refused
                credentials). One malformed order is a :class:`PayloadError` in ``Page.orders``, not raised.
        """
        return self._unsupported(Capability.LIST_ORDERS)  # type: ignore[no-any-return]

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Up to ``size`` orders of ``query`` whose :class:`OrderKey` lies within ``seek``, sorted by key.

        ``SEEK_ORDERS``. The engine calls it many times per download, concurrently for disjoint slices, and
        starts a flow afresh when it raises :class:`BrokenAnswer`. It moves each slice's cursor to the last key
        returned and ends the slice when a page is empty, holds all the rows ``Page.total`` counts, or
        reaches ``seek.through``; ``next`` is ignored. The first call may come without ``query.updated_to`` (the
        window's end is not known yet).

        The driver promises: keys strictly rising; ``Page.keys`` one per row, in the order of ``Page.orders``,
        malformed rows (a :class:`PayloadError`) included; fewer than ``size`` rows is fine (a store's cap);
        ``Page.total`` exactly the number of rows matching this request (``seek`` included), or ``None``, since a
        total too small ends a slice early.

        Raises:
            BrokenAnswer: a 2xx answer that cannot be read, or a row whose key cannot be read (the cursor
                could not move past it).
            StoreError: the store answered with an error.
        """
        return self._unsupported(Capability.SEEK_ORDERS)  # type: ignore[no-any-return]

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key of the order at ``offset`` (0-based) of ``query``'s keyset listing (no ``seek`` bounds), and
        the listing's total.

        The engine sends a few probes at once to cut a window into slices of about equal size, and retries one
        that raises :class:`BrokenAnswer`. A wrong key costs speed, never orders. Return ``Probe(None, total)``
        past the end and ``Probe(None, None)`` when the store cannot tell. The default says "cannot tell"
        without any I/O, and the engine then reads the window as one slice.
        """
        return Probe(None, None)
        yield  # pragma: no cover - makes this a flow that sends nothing

    def listing_page(self, query: OrderQuery, number: int, size: int) -> Flow[Page]:
        """Page ``number`` (from 1) of ``size`` rows of ``query``'s keyset listing, without ``seek`` bounds: the
        rows at positions ``(number - 1) * size`` on, sorted by key, as the store had them when it answered;
        like :meth:`seek_page` in every other way (``keys``, ``total``, malformed rows).

        Optional, for ``SEEK_ORDERS`` drivers whose store pages by number as well as it filters by key. With it
        the engine cuts a window without one-row probes: beside the first slice's second page it reads a few
        pages by number, each of which holds every key between its first and its last (the listing is sorted),
        and reads the keys between those pages with :meth:`seek_page` and ``Seek.before``. A driver that has it
        must honour ``Seek.before``. Past the end a store may answer anything short of an error (Magento answers
        its last page again): any run of the listing is correct, only a well-placed one saves requests.
        """
        return self._unsupported(Capability.SEEK_ORDERS)  # type: ignore[no-any-return]

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        """Like :meth:`seek_page` (the same rows, sorting and ``total``), but only the keys: the cheapest listing
        the store offers.

        ``LIST_KEYS``. Used by ``reconcile``, and after a listing by offset pages to find orders a moving sort
        skipped (each found one is read with :meth:`get_order`). Same errors as :meth:`seek_page`.
        """
        return self._unsupported(Capability.LIST_KEYS)  # type: ignore[no-any-return]

    orders_per_read: ClassVar[int] = 100
    """How many ids one :meth:`get_orders` call takes at most; the engine splits a longer list."""

    def get_orders(self, order_ids: Sequence[str]) -> Flow[tuple[Order | PayloadError, ...]]:
        """The orders of ``order_ids`` (at most :attr:`orders_per_read`, each an ``Order.order_id`` this driver
        produced) as the store has them now, in one read, in any order: what a listing page would give for them,
        an order that cannot be read a :class:`PayloadError` in its place. An id the store no longer has is
        simply not in the answer.

        ``GET_ORDERS``. Used by ``reconcile`` to read the orders its key comparison found missing or changed (100
        at a time rather than one request each); without it, ``reconcile`` reads them with :meth:`get_order`.
        A read. Raises :class:`BrokenAnswer` for an answer that cannot be read, ``StoreError`` for an error
        answer.
        """
        return self._unsupported(Capability.GET_ORDERS)  # type: ignore[no-any-return]

    def get_order(self, order_id: str) -> Flow[Order]:
        """One order, as the store has it now. ``order_id`` is an ``Order.order_id`` this driver produced.

        ``GET_ORDER``. Called by the application, by ``reconcile`` and after an offset listing for orders the
        listing missed (several at once, retried on :class:`BrokenAnswer`), and after every write to read the
        order back. A read.

        Raises:
            StoreError: with ``http_status=404`` when the order does not exist (``reconcile`` counts it as
                vanished); another error answer otherwise.
            PayloadError: the order cannot be understood (raised here, there is no page to carry it).
            BrokenAnswer: a 2xx answer that cannot be read.
        """
        return self._unsupported(Capability.GET_ORDER)  # type: ignore[no-any-return]

    # Writes. The engine runs each one inside a ledger action held under a lease: never twice at once for the same
    # action, and again (same request, same ``since``) after a failure, a crash or a lost answer. So each flow looks
    # in the store for its own work first (one read), returns that as already done, and only then writes, once.
    # Writes are not marked idempotent: the engine never resends one blindly, it runs the whole flow again.
    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Create a shipment (all unshipped lines when ``request.lines`` is empty), then set ``request.status``
        once if given.

        ``SHIP``. Before shipping, look for a shipment an earlier attempt made (one carrying the tracking
        numbers; without them, the requested lines already shipped since ``request.since``) and return
        ``ShipmentResult(its id, already_shipped=True)`` instead. At most one shipment request is sent.

        Raises:
            StoreError: the store refused (nothing left to ship, a bad line).
            StatusNotAllowed: the shipment was made but the store refused ``request.status``.
        """
        return self._unsupported(Capability.SHIP)  # type: ignore[no-any-return]

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Set the order's status with ``change.comment`` (acknowledgement, or any status change).

        ``SET_STATUS``. First look for an equal change (status, text, notification) made since
        ``change.since``; when found, return ``WriteResult(already_done=True, reference=..., found=...)`` and
        send nothing. Otherwise write once and return a :class:`WriteResult` (``None`` is taken as written).

        Raises:
            StatusNotAllowed: the store will not set that status on the order in its current state.
            StoreError: any other refusal.
        """
        return self._unsupported(Capability.SET_STATUS)  # type: ignore[no-any-return]

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Cancel the order, then post ``request.status`` / ``comment`` / notification once if given.

        ``CANCEL``. An order already cancelled (by an earlier attempt whose answer was lost) is
        ``already_done``, not an error; a status comment already in the order since ``request.since`` is not
        posted again.

        Raises:
            StoreError: the store will not cancel the order in its state.
            StatusNotAllowed: the store refused ``request.status``.
        """
        return self._unsupported(Capability.CANCEL)  # type: ignore[no-any-return]

    def invoice(self, order_id: str, notify: bool = False) -> Flow[str | WriteResult]:
        """Invoice (and capture) the whole order; ``notify`` emails the customer.

        ``INVOICE``. When every line is already invoiced, return the invoice that did it as
        ``WriteResult(already_done=True, reference=invoice id)`` and send nothing. Returns the new invoice's id
        (or a :class:`WriteResult` whose ``reference`` is it).

        Raises:
            StoreError: the store refused (nothing to invoice, capture failed).
        """
        return self._unsupported(Capability.INVOICE)  # type: ignore[no-any-return]

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Catalogue items for a phone order: exact ``query.skus``, or ``query.text`` matched against sku and
        name; at most ``query.limit``.

        ``SEARCH_ITEMS``. A read, run on the application's demand (also on a NetSuite driver used only as the
        item source). A product that cannot be mapped is left out (and logged), not an error.
        """
        return self._unsupported(Capability.SEARCH_ITEMS)  # type: ignore[no-any-return]

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """First half of a phone order, for stores where an order can be found again by something fixed before
        it is placed (Magento: the cart it is placed from).

        ``CREATE_ORDER``. The engine runs it until it succeeds once per ``order.reference``, and records the
        reservation in the ledger before :meth:`create_order` runs: a later attempt, even in another process,
        reuses it and never reserves again. It must not place the order. Return a string that
        :meth:`create_order` can read back; ``None`` (the default, no I/O): the store has no such thing.
        """
        return None
        yield  # pragma: no cover - makes this a flow that sends nothing

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Place the phone order and return it as the store has it (with its ``order_id``).

        ``CREATE_ORDER``. Run when the ledger holds no order for ``order.reference``, and again after a failure
        or a lost answer. With a ``reservation`` (from :meth:`reserve_order`, perhaps by a run that died), first
        look for an order already placed from it and return that one; without one, look it up by
        ``order.reference`` where the store keeps it (an external id). A retry never makes a second order.

        Raises:
            StoreError: the store refused the order (an unknown sku, no stock, a bad address).
        """
        return self._unsupported(Capability.CREATE_ORDER)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release anything the driver holds (caches, temp files, a SOAP client).

        The engine never calls it (it owns and closes the HTTP client); the application does, once it closed the
        connectors using this driver. No I/O; calling it twice is harmless.
        """
