"""The Magento 2 (Adobe Commerce) REST driver: one store view, its settings, and its flows put together.

Sans-I/O like every driver: each operation is a flow (a generator yielding ``httpx.Request``), and the engine
sends them. The flows are grouped by what they do, one module each:

* ``_rest``: building requests and reading answers (the kit's ``JsonRest`` with Magento's error bodies);
* ``_listing``: numbered pages, the keyset listing, one order, the statuses;
* ``_postback``: status comments, shipments, cancellations, invoices, each looking in the store first;
* ``_phone``: item search and phone orders placed through a cart, never twice.

Below them: ``_search`` (searchCriteria), ``_errors`` and ``_scan`` (reading bodies, poisoned ones included),
``_schema`` and ``_mapping`` (an order's JSON to the model), ``_writes`` (is the work already there?), ``_auth``
and ``_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from ...driver import Capability, ConfigurationError, Limits
from .._common import page_size_up_to
from ._listing import Listing
from ._phone import PhoneOrders
from ._postback import PostBack
from ._search import MAX_PAGE_SIZE
from ._settings import Magento2Settings

__all__ = ["Magento2Driver"]


class Magento2Driver(Listing, PostBack, PhoneOrders):
    """Speaks to one Magento 2 store view through the admin REST API
    (``<base_url>/rest/<store_code>/V1/...``).

    ``page_size`` is the largest page this store accepts (Magento's input limits default to 300, which is also
    the ceiling used here); a query's own ``page_size`` is honoured up to it.
    """

    name: ClassVar[str] = "magento2"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    sorts_by_updated: ClassVar[bool] = True
    settings_class: ClassVar[type[Any] | None] = Magento2Settings

    def __init__(
        self,
        base_url: str,
        store_code: str = "default",
        auth: httpx.Auth | None = None,
        store_id: str | None = None,
        limits: Limits | None = None,
        page_size: int = 100,
    ) -> None:
        base = base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"Magento base_url must be an http(s) URL, got {base_url!r}")
        if base.endswith("/rest"):
            base = base[: -len("/rest")]
        if not store_code or "/" in store_code:
            raise ConfigurationError(f"Magento store_code must be a store view code or 'all', got {store_code!r}")
        page_size = page_size_up_to(page_size, MAX_PAGE_SIZE)
        self.base_url = base
        self.store_code = store_code
        self.root = f"{base}/rest/{quote(store_code, safe='')}"
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        prefix = urlsplit(base).path.rstrip("/")
        self.store_id = store_id or f"magento2:{host}{prefix}/{store_code}"
        self.page_size = page_size
        self._auth = auth
        self._limits = limits or Limits()

    @classmethod
    def from_config(cls, settings: Magento2Settings) -> Magento2Driver:
        """Build the driver from :class:`Magento2Settings` (the auth follows from the credentials set)."""
        return cls(
            settings.base_url,
            store_code=settings.store_code,
            auth=settings.auth(),
            store_id=settings.store_id,
            page_size=settings.page_size,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Magento2Driver:
        """Build a driver from ``MAGENTO_*`` variables (``os.environ`` when ``env`` is ``None``).

        ``MAGENTO_BASE_URL`` (required), ``MAGENTO_STORE_CODE`` (default ``default``), and one of:

        * the four OAuth 1.0a keys ``MAGENTO_CONSUMER_KEY``, ``MAGENTO_CONSUMER_SECRET``,
          ``MAGENTO_ACCESS_TOKEN``, ``MAGENTO_ACCESS_TOKEN_SECRET``;
        * ``MAGENTO_ACCESS_TOKEN`` alone (integration token as Bearer);
        * ``MAGENTO_USERNAME`` and ``MAGENTO_PASSWORD`` (admin token).

        Optional: ``MAGENTO_PAGE_SIZE``, ``MAGENTO_STORE_ID``. See :class:`Magento2Settings`.

        Raises:
            ConfigurationError: every missing or bad variable at once, never quoting a secret.
        """
        return super().from_env(env)

    def __repr__(self) -> str:
        return (
            f"Magento2Driver(base_url={self.base_url!r}, store_code={self.store_code!r},"
            f" store_id={self.store_id!r}, auth={self._auth!r})"
        )

    # Plumbing --------------------------------------------------------------------------------------------
    def auth(self) -> httpx.Auth | None:
        return self._auth

    def limits(self) -> Limits:
        return self._limits
