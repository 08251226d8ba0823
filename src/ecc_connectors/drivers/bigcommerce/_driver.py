"""The BigCommerce driver: orders v2 and catalog v3 as sans-I/O flows, on the public driver kit.

Sans-I/O like every driver: each operation is a flow (a generator yielding ``httpx.Request``), and the engine
sends them. The flows are grouped by what they do, one module each, each with its theory of operation:

* ``_rest``: building requests and reading answers (v2's and v3's error shapes, amounts as JSON numbers);
* ``_listing``: the keyset listing built from v2's one-field sorts, the first page's count, probes, keys;
* ``_pieces``: one order with its lines, addresses and shipments (consignments, or the sub-resources);
* ``_statuses``: the fixed status ids and the store's labels;
* ``_postback``: shipments, status changes and cancellations, each looking in the store first;
* ``_phone``: item search and phone orders placed once (found again by ``external_order_id``).

Below them: ``_mapping`` (an order's JSON to the model) and ``_settings`` (with the ``X-Auth-Token`` auth).

**Rate limits**: ``Limits.rate`` is the plan's quota over its 30 s window (a setting); a 429 waits
``X-Rate-Limit-Time-Reset-Ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import httpx

from ... import StoreDefaults
from ...driver import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    Limits,
    RetryHint,
    Secret,
)
from .._common import ALL_BUT_INVOICES, page_size_up_to
from ._listing import Listing
from ._phone import PhoneOrders
from ._postback import PostBack
from ._rest import PAGE_LIMIT
from ._settings import DEFAULT_BASE_URL, BigCommerceSettings, XAuthToken
from ._statuses import CANCELLED, SHIPPED, STATUS_NAMES

__all__ = ["CANCELLED", "PAGE_LIMIT", "STATUS_NAMES", "BigCommerceDriver"]

_B = TypeVar("_B", bound="BigCommerceDriver")


class BigCommerceDriver(Listing, PostBack, PhoneOrders):
    """One BigCommerce store, by its store hash and an API account's access token."""

    name = "bigcommerce"
    capabilities = ALL_BUT_INVOICES
    sorts_by_updated = True
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {
        401: AuthenticationError,
        403: AuthenticationError,  # the token lacks a scope (Orders: modify, Products: read-only)
    }
    message_keys: ClassVar[tuple[str, ...]] = ("message", "title", "error", "detail")
    settings_class: ClassVar[type[Any] | None] = BigCommerceSettings

    def __init__(
        self,
        store_hash: str,
        access_token: str | Secret,
        *,
        base_url: str = DEFAULT_BASE_URL,
        page_size: int = PAGE_LIMIT,
        acknowledgement_status_id: int = 9,
        phone_order_status_id: int = 11,
        requests_per_30s: int = 150,
        concurrency: int = 8,
    ) -> None:
        store_hash = str(store_hash).strip()
        if not store_hash or not store_hash.isalnum():
            raise ConfigurationError(f"a BigCommerce store hash is letters and digits, got {store_hash!r}")
        if not (access_token.reveal() if isinstance(access_token, Secret) else access_token):
            raise ConfigurationError("a BigCommerce access token is required")
        page_size = page_size_up_to(page_size, PAGE_LIMIT)
        for label, value in (
            ("acknowledgement_status_id", acknowledgement_status_id),
            ("phone_order_status_id", phone_order_status_id),
        ):
            if value not in STATUS_NAMES:
                raise ConfigurationError(f"{label} must be a BigCommerce status id (0 to 14), got {value}")
        self.store_hash = store_hash
        self.base_url = base_url.rstrip("/")
        self.api_root = f"{self.base_url}/stores/{store_hash}"
        self.store_id = f"bigcommerce:{store_hash}"
        self.page_size = page_size
        self.acknowledgement_status_id = acknowledgement_status_id
        self.phone_order_status_id = phone_order_status_id
        self.requests_per_30s = requests_per_30s
        self.concurrency = max(1, concurrency)
        self._auth = XAuthToken(access_token)  # the only place the token is kept

    @classmethod
    def from_config(cls: type[_B], settings: BigCommerceSettings) -> _B:
        """Build the driver from :class:`BigCommerceSettings`; ``from_settings`` and ``from_env``
        (``BIGCOMMERCE_STORE_HASH``, ``BIGCOMMERCE_ACCESS_TOKEN``, ...) come with it."""
        return cls(
            settings.store_hash,
            settings.access_token,
            base_url=settings.base_url,
            page_size=settings.page_size,
            acknowledgement_status_id=settings.acknowledgement_status_id,
            phone_order_status_id=settings.phone_order_status_id,
            requests_per_30s=settings.requests_per_30s,
        )

    def __repr__(self) -> str:
        return f"BigCommerceDriver(store_hash={self.store_hash!r}, base_url={self.base_url!r})"

    # -- engine hooks ---------------------------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        return self._auth

    def limits(self) -> Limits:
        # The quota is per 30 s window and shared by every app of the store: spread it evenly (burst 1/10 of
        # it) instead of spending it at the window's start and then waiting for the reset.
        if self.requests_per_30s <= 0:
            return Limits(concurrency=self.concurrency)
        rate = self.requests_per_30s / 30.0
        return Limits(concurrency=self.concurrency, rate=rate, burst=max(1, self.requests_per_30s // 10))

    def store_defaults(self) -> StoreDefaults:
        # Shipping moves the order to Shipped (2) by itself; "2" as the post-back status just says so (ship()
        # leaves 2 and 3 to the store, which knows whether everything left).
        return StoreDefaults(
            post_back_status=str(SHIPPED),
            cancellation_status=str(CANCELLED),
            acknowledgement_status=str(self.acknowledgement_status_id),
        )

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """HTTP's rules; a 429 waits ``X-Rate-Limit-Time-Reset-Ms`` (the quota's reset), as BigCommerce asks."""
        hint = super().retry_hint(response)
        if hint is not None and response.status_code == 429 and hint.after is None:
            reset = response.headers.get("x-rate-limit-time-reset-ms")
            try:
                return RetryHint(hint.reason, max(0.0, float(reset) / 1000.0)) if reset is not None else hint
            except ValueError:
                return hint
        return hint
