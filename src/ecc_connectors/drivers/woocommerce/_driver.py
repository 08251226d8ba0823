"""The WooCommerce driver (``woocommerce``): REST ``wc/v3`` as sans-I/O flows, on the public driver kit.

Sans-I/O like every driver: each operation is a flow (a generator yielding ``httpx.Request``), and the engine
sends them. The flows are grouped by what they do, one module each:

* ``_rest``: building requests and reading answers (the kit's ``JsonRest`` with WooCommerce's error bodies);
* ``_listing``: the statuses, the keyset listing that never reads a second page by offset, one order;
* ``_postback``: shipments, status changes and cancellations, each looking in the store first;
* ``_phone``: item search and phone orders placed once (found again by their reference).

Below them: ``_mapping`` (an order's JSON to the model), ``_auth`` (how the keys go out) and ``_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from ecc_connectors import StoreDefaults

from ...driver import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    Limits,
    Secret,
)
from .._common import ALL_BUT_INVOICES, page_size_up_to
from ._auth import AuthMode, BasicKeys, OAuth1Query, QueryKeys, pick_auth
from ._listing import CORE_STATUSES, Listing
from ._phone import REFERENCE_META, PhoneOrders
from ._postback import PostBack
from ._rest import MAX_PAGE
from ._settings import WooCommerceSettings

__all__ = ["CORE_STATUSES", "MAX_PAGE", "REFERENCE_META", "WooCommerceDriver"]

_W = TypeVar("_W", bound="WooCommerceDriver")


class WooCommerceDriver(Listing, PostBack, PhoneOrders):
    """One WooCommerce store through its REST API ``wc/v3`` and a REST API key pair (see the module notes)."""

    name = "woocommerce"
    capabilities = ALL_BUT_INVOICES
    sorts_by_updated = True
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {401: AuthenticationError, 403: AuthenticationError}
    message_keys: ClassVar[tuple[str, ...]] = ("message",)
    settings_class: ClassVar[type[Any] | None] = WooCommerceSettings

    def __init__(
        self,
        url: str,
        consumer_key: str | Secret | None = None,
        consumer_secret: str | Secret | None = None,
        *,
        auth: AuthMode | httpx.Auth = "auto",
        page_size: int = MAX_PAGE,
        phone_orders_paid: bool = False,
        shipment_tracking: Literal["auto", "off"] = "auto",
        store_id: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"a WooCommerce store URL is http(s)://host[/path], got {url!r}")
        page_size = page_size_up_to(page_size, MAX_PAGE)
        self.site_url = url.strip().rstrip("/")
        self.base_url = f"{self.site_url}/wp-json/wc/v3"
        self.page_size = page_size
        self.phone_orders_paid = phone_orders_paid
        self.shipment_tracking = shipment_tracking
        self.store_id = store_id or f"woocommerce:{parts.netloc}{parts.path.rstrip('/')}"
        self._limits = limits or Limits(concurrency=4)  # core has no rate limit; a host that throttles answers 429
        if isinstance(auth, httpx.Auth):
            self._auth: httpx.Auth = auth
        else:
            key = consumer_key.reveal() if isinstance(consumer_key, Secret) else consumer_key
            secret = consumer_secret.reveal() if isinstance(consumer_secret, Secret) else consumer_secret
            self._auth = pick_auth(self.site_url, key or "", secret or "", auth)

    @classmethod
    def from_config(cls: type[_W], settings: WooCommerceSettings) -> _W:
        """Build the driver from :class:`WooCommerceSettings` (``from_settings`` and ``from_env`` use it)."""
        return cls(
            settings.url,
            settings.consumer_key,
            settings.consumer_secret,
            auth=settings.auth,
            page_size=settings.page_size,
            phone_orders_paid=settings.phone_orders_paid,
            shipment_tracking=settings.shipment_tracking,
            store_id=settings.store_id or None,
        )

    def __repr__(self) -> str:
        return f"WooCommerceDriver(url={self.site_url!r}, auth={type(self._auth).__name__})"

    @property
    def auth_kind(self) -> str:
        """``basic``, ``query``, ``oauth1`` or ``custom``: how the keys go out."""
        kinds: dict[type[httpx.Auth], str] = {BasicKeys: "basic", QueryKeys: "query", OAuth1Query: "oauth1"}
        return kinds.get(type(self._auth), "custom")

    def auth(self) -> httpx.Auth:
        return self._auth

    def limits(self) -> Limits:
        return self._limits

    def store_defaults(self) -> StoreDefaults:
        return StoreDefaults(
            post_back_status="completed", cancellation_status="cancelled", acknowledgement_status="processing"
        )
