"""The Shopify driver: one shop over the Admin GraphQL API, its settings, and its flows put together.

Sans-I/O like every driver: each operation is a flow (a generator yielding ``httpx.Request``), and the engine
sends them. The flows are grouped by what they do, one module each:

* ``_graphql``: sending a GraphQL document and reading its answer (errors, ``userErrors``, ``THROTTLED``), and
  Shopify's global ids;
* ``_listing``: the keyset listing (whole seconds, never a row past the cursor), the 60-day window, one order,
  the statuses;
* ``_bulk_pages``: a large window through a bulk operation, served to the same keyset walk page by page (the
  reading of its file in ``_bulk``);
* ``_postback``: fulfilments, acknowledgements (a tag and a note line) and cancellations, each reading the order
  first;
* ``_phone``: variant search and phone orders through a tagged draft order, never twice.

Below them: ``_queries`` (the documents and the search text), ``_window`` (a window's exact bounds),
``_statuses`` (the two status axes), ``_mapping`` (an order's node to the model), ``_auth`` (the token and the
cost-based pacing around every send) and ``_settings``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx

from ... import StoreDefaults as _StoreDefaults
from ...driver import ConfigurationError, Limits, Secret
from .._common import ALL_BUT_INVOICES
from ._auth import CostPacer, ShopifyAuth
from ._bulk import CHUNK, BulkCursors
from ._graphql import MAX_PAGE
from ._listing import Listing
from ._phone import PhoneOrders
from ._postback import PostBack
from ._settings import API_VERSION, REFUND_CHOICES, ShopifySettings, check_domain, check_version
from ._statuses import FINANCIAL, FULFILLMENT

__all__ = ["FINANCIAL", "FULFILLMENT", "ShopifyDriver"]

_S = TypeVar("_S", bound="ShopifyDriver")


class ShopifyDriver(Listing, PostBack, PhoneOrders):
    """One Shopify shop over the Admin GraphQL API (module notes; ``docs/drivers/shopify.md``)."""

    name = "shopify"
    capabilities = ALL_BUT_INVOICES
    sorts_by_updated = True
    settings_class: ClassVar[type[Any] | None] = ShopifySettings

    def __init__(
        self,
        shop: str,
        access_token: str | Secret,
        *,
        api_version: str = API_VERSION,
        base_url: str | None = None,
        custom_domain: bool = False,
        page_size: int = 5,
        acknowledge_tag: str = "ecc-acknowledged",
        refund_on_cancel: str = "none",
        restock_on_cancel: bool = True,
        cancel_reason: str = "OTHER",
        phone_orders_paid: bool = False,
        allow_recent_only: bool = False,
        bulk_threshold: int = 5000,
        bulk_poll_seconds: float = 2.0,
        bulk_chunk: int = CHUNK,
        bulk_timeout: float = 3600.0,
        pacer: CostPacer | None = None,
    ) -> None:
        self.shop = check_domain(shop, custom=custom_domain)
        self.api_version = check_version(api_version)
        token = access_token.reveal() if isinstance(access_token, Secret) else access_token
        if not token or any(c.isspace() for c in token):
            raise ConfigurationError("a Shopify Admin API access token is required (one word, shpat_...)")
        if not 1 <= page_size <= MAX_PAGE:
            raise ConfigurationError(f"page_size must be between 1 and {MAX_PAGE}")
        if refund_on_cancel not in REFUND_CHOICES:
            raise ConfigurationError(f"refund_on_cancel must be one of {REFUND_CHOICES}")
        root = (base_url or f"https://{self.shop}").rstrip("/")
        self.base_url = root
        self.url = f"{root}/admin/api/{self.api_version}/graphql.json"
        self.store_id = f"shopify:{self.shop}"
        self.page_size = page_size
        self.acknowledge_tag = acknowledge_tag.strip()
        self.refund_on_cancel = refund_on_cancel
        self.restock_on_cancel = restock_on_cancel
        self.cancel_reason = cancel_reason
        self.phone_orders_paid = phone_orders_paid
        self.allow_recent_only = allow_recent_only
        self._auth = ShopifyAuth(token, urlsplit(root).hostname or self.shop, pacer)
        self._scopes: frozenset[str] | None = None
        self._scopes_lock = threading.Lock()
        self.bulk_threshold = max(0, bulk_threshold)
        self.bulk_poll_seconds = bulk_poll_seconds
        self.bulk_runs = 0
        self.bulk_chunk = max(1024, bulk_chunk)
        self.bulk_timeout = bulk_timeout
        self._bulk = BulkCursors()
        self._partial: set[str] = set()

    @classmethod
    def from_config(cls: type[_S], settings: ShopifySettings) -> _S:
        """Build the driver from :class:`ShopifySettings` (``from_env`` reads ``SHOPIFY_SHOP``,
        ``SHOPIFY_ACCESS_TOKEN`` and the optional ``SHOPIFY_*`` settings)."""
        return cls(
            settings.shop,
            settings.access_token,
            api_version=settings.api_version,
            base_url=settings.base_url,
            custom_domain=settings.custom_domain,
            acknowledge_tag=settings.acknowledge_tag,
            refund_on_cancel=settings.refund_on_cancel,
            restock_on_cancel=settings.restock_on_cancel,
            allow_recent_only=settings.allow_recent_only,
            bulk_threshold=settings.bulk_threshold,
        )

    def __repr__(self) -> str:
        return f"ShopifyDriver(shop={self.shop!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        """Forget open bulk-result cursors and the cached scopes (no I/O)."""
        self._bulk = BulkCursors()
        with self._scopes_lock:
            self._scopes = None

    # -- engine hooks ----------------------------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        return self._auth

    @property
    def pacer(self) -> CostPacer:
        """The cost bucket estimate (points used, time waited), shared by every flow of this driver."""
        return self._auth.pacer

    def limits(self) -> Limits:
        # The cost bucket, not a request rate, is Shopify's limit; the pacer in auth() keeps within it.
        return Limits(concurrency=4, rate=None, max_attempts=6)

    def store_defaults(self) -> _StoreDefaults:
        return _StoreDefaults(post_back_status="FULFILLED", cancellation_status="CANCELLED")
