"""Everything a cart driver is written against, in one public module.

A driver is sans-I/O: each operation is a *flow*, a generator that yields the ``httpx.Request`` it needs sent
and receives the ``httpx.Response``; the engine owns all I/O (retries, rate limits, concurrency, sync or async)
and drives the same flow either way. Start from docs/writing-a-driver.md and its example plugin.

What is here:

* the interface: :class:`Driver`, :class:`Capability`, :data:`Flow`, and the values flows take and return
  (:class:`OrderQuery`, :class:`Page`, keyset listing with :class:`OrderKey` / :class:`Seek` / :class:`Probe` /
  :class:`KeyPage`, numbered and cursor pages, write requests and :class:`WriteResult`, phone orders);
* the model a driver builds (:class:`Order` and its parts, :class:`Item`, :class:`StoreStatus`, :class:`RawJSON`);
* the errors a driver raises (one tree under :class:`ConnectorError`);
* ready-made parts: :func:`answer` (a flow without I/O), :func:`pages_from_total`, :func:`pages_from_headers`,
  :func:`next_link`, :class:`OrdersOnDemand` (a page's orders decoded when first read), the :class:`JsonRest`
  mixin (exact-money JSON, error table, rate-limit retry hints),
  :class:`Limits`, :class:`RetryHint`, :func:`default_retry_hint`, :func:`mark_idempotent` / :func:`is_idempotent`,
  :func:`parse_retry_after`;
* settings: :func:`setting` fields on an attrs class (with ``secret=True`` for keys), :class:`Secret`,
  :func:`describe_settings` (to build a form), :func:`load_settings` / :func:`settings_from_env`, and
  :class:`SettingsError` listing every bad field at once.
"""

from __future__ import annotations

from ._driver import (
    CancelRequest,
    Capability,
    Driver,
    Flow,
    FollowCursor,
    ItemQuery,
    KeyPage,
    Limits,
    NewOrder,
    NewOrderLine,
    NextPages,
    NumberedPages,
    OrderKey,
    OrderQuery,
    Page,
    Probe,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    Tracking,
    WriteResult,
)
from ._driver_kit import JsonRest, OrdersOnDemand, answer, next_link, pages_from_headers, pages_from_total
from ._errors import (
    AuthenticationError,
    BrokenAnswer,
    CapabilityNotSupported,
    ConfigurationError,
    ConnectorError,
    PayloadError,
    RateLimited,
    StatusNotAllowed,
    StoreError,
    TransportError,
)
from ._model import (
    Address,
    ChangeKind,
    Customer,
    Item,
    Note,
    Order,
    OrderLine,
    Payment,
    RawJSON,
    Shipment,
    StoreStatus,
    Totals,
)
from ._retry import RetryHint, default_retry_hint, is_idempotent, mark_idempotent, parse_retry_after
from ._settings import (
    Secret,
    SettingInfo,
    SettingsError,
    describe_settings,
    load_settings,
    setting,
    settings_from_env,
)

__all__ = [
    "Address",
    "AuthenticationError",
    "BrokenAnswer",
    "CancelRequest",
    "Capability",
    "CapabilityNotSupported",
    "ChangeKind",
    "ConfigurationError",
    "ConnectorError",
    "Customer",
    "Driver",
    "Flow",
    "FollowCursor",
    "Item",
    "ItemQuery",
    "JsonRest",
    "KeyPage",
    "Limits",
    "NewOrder",
    "NewOrderLine",
    "NextPages",
    "Note",
    "NumberedPages",
    "Order",
    "OrderKey",
    "OrderLine",
    "OrderQuery",
    "OrdersOnDemand",
    "Page",
    "PayloadError",
    "Payment",
    "Probe",
    "RateLimited",
    "RawJSON",
    "RetryHint",
    "Secret",
    "Seek",
    "SettingInfo",
    "SettingsError",
    "Shipment",
    "ShipmentRequest",
    "ShipmentResult",
    "StatusChange",
    "StatusNotAllowed",
    "StoreError",
    "StoreStatus",
    "Totals",
    "Tracking",
    "TransportError",
    "WriteResult",
    "answer",
    "default_retry_hint",
    "describe_settings",
    "is_idempotent",
    "load_settings",
    "mark_idempotent",
    "next_link",
    "pages_from_headers",
    "pages_from_total",
    "parse_retry_after",
    "setting",
    "settings_from_env",
]
