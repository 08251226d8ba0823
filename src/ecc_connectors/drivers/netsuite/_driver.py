"""The NetSuite driver (``netsuite``): sales orders, fulfilments and items over SuiteTalk SOAP.

:class:`NetSuiteDriver` puts the parts together and answers the engine's hooks (limits, auth, retry hints); each
part owns one idea: ``_calls`` (one SuiteTalk call as a flow), ``_walk`` (reading a search without losing a row),
``_orders`` (listing and reading orders), ``_fulfil`` (shipping), ``_status`` (approval, cancel, status
fields), ``_phone`` (items and phone orders), ``_settings`` (settings and credentials), ``_countries``,
``_mapping``, ``_soap`` (the zeep side) and ``_auth`` (the token passport). See ``docs/drivers/netsuite.md`` for
setup, the status mapping and what each post-back does in NetSuite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...driver import (
    Capability,
    ConfigurationError,
    Driver,
    Limits,
    RetryHint,
    default_retry_hint,
    is_idempotent,
    settings_from_env,
)
from .._common import ALL_BUT_INVOICES
from .._netsuite_common import credentials_of, limits_from, store_id_of, suitetalk_root
from ._auth import TokenCredentials, TokenPassportAuth
from ._fulfil import Fulfilment
from ._orders import Orders
from ._phone import PhoneOrders
from ._settings import NetSuiteConfig, NetSuiteSettings, wsdl_location
from ._soap import SoapClient, fault_from_response, load_zeep_client
from ._status import StatusChanges

__all__ = ["NetSuiteConfig", "NetSuiteDriver", "NetSuiteSettings", "wsdl_location"]


class NetSuiteDriver(Orders, Fulfilment, StatusChanges, PhoneOrders, Driver):
    """SuiteTalk SOAP driver. ``credentials`` hold the token-based authentication secrets."""

    name: ClassVar[str] = "netsuite"
    # Basic searches cannot be sorted by lastModifiedDate: no keyset listing, and the engine moves its mark only
    # at a run's end.
    capabilities: ClassVar[frozenset[Capability]] = ALL_BUT_INVOICES - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}
    sorts_by_updated: ClassVar[bool] = False
    settings_class: ClassVar[type[Any] | None] = NetSuiteConfig

    def __init__(
        self,
        credentials: TokenCredentials,
        settings: NetSuiteSettings | None = None,
        store_id: str | None = None,
    ) -> None:
        if not isinstance(credentials, TokenCredentials):
            raise ConfigurationError("NetSuite credentials must be a TokenCredentials")
        self.settings = settings or NetSuiteSettings()
        self._credentials = credentials
        self.account = credentials.account
        self.store_id = store_id or store_id_of(credentials.account)
        host = suitetalk_root(credentials.account)
        version = self.settings.version
        self.endpoint = self.settings.endpoint or f"{host}/services/NetSuitePort_{version}"
        self.wsdl = wsdl = wsdl_location(credentials.account, version, self.settings.wsdl)
        client = load_zeep_client(wsdl, self.settings.wsdl_cache, self.settings.wsdl_load_timeout)
        self._soap = SoapClient(client, version, self.endpoint, credentials.passport)
        self._auth = TokenPassportAuth(credentials)

    @classmethod
    def from_config(cls, settings: NetSuiteConfig, tuning: NetSuiteSettings | None = None) -> NetSuiteDriver:
        """Build the driver from :class:`NetSuiteConfig` (credentials and settings); ``tuning``, when given,
        replaces the settings part."""
        return cls(credentials_of(settings), tuning or settings.tuning())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, settings: NetSuiteSettings | None = None) -> NetSuiteDriver:
        """Credentials from ``NETSUITE_ACCOUNT``, ``NETSUITE_CONSUMER_KEY``, ``NETSUITE_CONSUMER_SECRET``,
        ``NETSUITE_TOKEN_ID`` and ``NETSUITE_TOKEN_SECRET`` (in ``env``, else ``os.environ``), and the settings
        from the optional ``NETSUITE_*`` variables of :class:`NetSuiteSettings` (``NETSUITE_PAGE_SIZE``, ...),
        unless ``settings`` is given. Every missing or bad variable is named at once."""
        return cls.from_config(settings_from_env(NetSuiteConfig, env), settings)

    def __repr__(self) -> str:
        return f"NetSuiteDriver(account={self.account!r}, endpoint={self.endpoint!r}, wsdl={self.wsdl!r})"

    # engine hooks ------------------------------------------------------------------------------------------
    def limits(self) -> Limits:
        return limits_from(self.settings)

    def auth(self) -> httpx.Auth:
        return self._auth

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        fault = fault_from_response(response)
        if fault is None:
            return default_retry_hint(response)
        if fault.is_concurrency:
            # NetSuite refused the request before acting on it, so a write may be resent too.
            return RetryHint(f"NetSuite concurrency limit ({fault.code or fault.detail_name})")
        if fault.detail_name == "unexpectedErrorFault" and is_idempotent(response.request):
            return RetryHint("NetSuite unexpected error")
        return None
