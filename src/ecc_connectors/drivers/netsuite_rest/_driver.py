"""The NetSuite REST driver (``netsuite_rest``): sales orders over SuiteQL, writes over the REST record service.

Theory of operation
-------------------
*Reads* are SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``, ``limit`` in the query
string). A listing is a keyset walk over ``(lastmodifieddate, id)`` (``SEEK_ORDERS``, see ``_suiteql``), so it
meets the engine's zero-loss promise; a page is four queries: the orders, their item lines (walked by
``(transaction, line id)``, so a page of orders with many lines never relies on an offset), and their shipping and
billing address rows. ``get_order`` reads the same rows for one id and maps them the same way, so the copy the
engine reads back after a write is the copy the next download lists. A SuiteQL ``POST`` is a read: it is marked
idempotent so the engine may resend it after a lost answer.

*Writes* go to the REST record service: approval and comments by ``PATCH /record/v1/salesOrder/{id}``,
cancellation by closing the open lines (``isClosed``, the way that works in every status), a shipment by
``POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`` with packages and tracking numbers, a phone order by
``POST /record/v1/salesOrder``. Every create carries an external id derived from the request (so a later attempt
finds it with one SuiteQL look-up before writing) and the ``X-NetSuite-Idempotency-Key`` header derived from the
same external id (so NetSuite itself refuses a second create with it). Writes are never marked idempotent: the
engine never resends one blindly; it runs the whole flow again, look-up first.


*Auth* is :class:`~._auth.ClientCredentialsAuth` (OAuth 2.0 M2M) or :class:`~._auth.TbaAuth` (OAuth 1.0a), an
``httpx.Auth`` the engine passes to every send.

The driver is built in layers, one idea each: the settings (``_settings``), the SuiteQL and record-service plumbing
(``_client``), the reads (``_reads``), the writes to existing orders (``_writes``), item search and phone orders
(``_phone_orders``), and here the driver's identity and construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from ... import StoreDefaults
from ...driver import Capability, ConfigurationError, Limits, settings_from_env
from .._common import ALL_BUT_INVOICES
from .._netsuite_common import credentials_of, limits_from, store_id_of, suitetalk_root
from ._auth import TOKEN_PATH, ClientCredentials, ClientCredentialsAuth, TbaAuth, TbaCredentials
from ._client import RECORD_PATH as RECORD_PATH  # importable from here, where it was first defined
from ._phone_orders import NetSuiteRestPhoneOrders
from ._settings import NetSuiteRestConfig, NetSuiteRestSettings
from ._suiteql import MAX_LIMIT as MAX_LIMIT
from ._suiteql import MAX_OFFSET as MAX_OFFSET
from ._suiteql import SUITEQL_PATH as SUITEQL_PATH

__all__ = ["NetSuiteRestConfig", "NetSuiteRestDriver", "NetSuiteRestSettings"]


class NetSuiteRestDriver(NetSuiteRestPhoneOrders):
    """SuiteTalk REST + SuiteQL driver, authenticated by OAuth 2.0 client credentials or TBA."""

    name: ClassVar[str] = "netsuite_rest"
    capabilities: ClassVar[frozenset[Capability]] = ALL_BUT_INVOICES
    sorts_by_updated: ClassVar[bool] = True
    settings_class: ClassVar[type[Any] | None] = NetSuiteRestConfig

    def __init__(
        self,
        credentials: ClientCredentials | TbaCredentials,
        settings: NetSuiteRestSettings | None = None,
        store_id: str | None = None,
    ) -> None:
        if not isinstance(credentials, (ClientCredentials, TbaCredentials)):
            raise ConfigurationError("NetSuite REST credentials must be ClientCredentials or TbaCredentials")
        self.settings = settings or NetSuiteRestSettings()
        self.account = credentials.account
        self.store_id = store_id or store_id_of(credentials.account)
        self.base_url = (self.settings.endpoint or suitetalk_root(credentials.account)).rstrip("/")
        self.zone = ZoneInfo(self.settings.time_zone)
        self._auth: httpx.Auth
        if isinstance(credentials, ClientCredentials):
            self._auth = ClientCredentialsAuth(credentials, self.base_url + TOKEN_PATH)
        else:
            self._auth = TbaAuth(credentials)

    @classmethod
    def from_config(cls, settings: NetSuiteRestConfig) -> NetSuiteRestDriver:
        return cls(credentials_of(settings), settings.tuning())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NetSuiteRestDriver:
        """``NETSUITE_ACCOUNT`` and, for M2M, ``NETSUITE_CLIENT_ID``, ``NETSUITE_CERTIFICATE_ID``,
        ``NETSUITE_PRIVATE_KEY`` (or ``NETSUITE_AUTH=tba`` and the four TBA variables), plus the optional settings."""
        return cls.from_config(settings_from_env(NetSuiteRestConfig, env))

    def __repr__(self) -> str:
        return f"NetSuiteRestDriver(account={self.account!r}, base_url={self.base_url!r})"

    def auth(self) -> httpx.Auth:
        return self._auth

    def store_defaults(self) -> StoreDefaults:
        """NetSuite's words: a fulfilled order becomes Pending Billing and an order whose lines are closed becomes
        Closed by themselves; a ship or cancel with those statuses writes nothing more."""
        return StoreDefaults(post_back_status="_pendingBilling", cancellation_status="_closed")

    def limits(self) -> Limits:
        return limits_from(self.settings)
