"""The driver's settings: :class:`NetSuiteSettings` (tuning) and :class:`NetSuiteConfig` (tuning plus the
token-based authentication secrets), read from code, a settings file or ``NETSUITE_*`` variables through the
kit's settings convention; and where the WSDL comes from.

The default page is 200 orders, not SuiteTalk's ceiling of 1000: searches return whole records with their item
lists (``bodyFieldsOnly=false``), and a page of 1000 such orders is tens of megabytes that NetSuite assembles in
one request, the kind of request that runs into its time limits (docs/drivers/netsuite.md, "Page size", has the
measurements).
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ...driver import Secret, setting
from .._netsuite_common import suitetalk_root
from ._auth import TokenCredentials, valid_account
from ._soap import PACKAGED_VERSION, packaged_wsdl

__all__ = ["DEFAULT_PAGE_SIZE", "NetSuiteConfig", "NetSuiteSettings", "wsdl_location"]

DEFAULT_PAGE_SIZE = 200


@attrs.frozen
class NetSuiteSettings:
    """Everything but the credentials.

    ``wsdl``: ``None`` uses the project's packaged compact WSDL (2023_2 only; other versions load from the
    account); ``"account"`` loads the full WSDL of ``version`` from the account's own host; anything else is a
    local path or URL. Remote WSDLs are cached on disk in ``wsdl_cache`` (zeep's ``SqliteCache``).
    ``endpoint`` overrides the SOAP URL (a test server); by default it is the account's
    ``https://<account>.suitetalk.api.netsuite.com/services/NetSuitePort_<version>``.
    """

    version: str = setting(PACKAGED_VERSION, env="NETSUITE_VERSION", help="SuiteTalk endpoint version.")
    endpoint: str | None = setting(
        None, env="NETSUITE_ENDPOINT", url=True, help="Override the SOAP URL (a test server)."
    )
    wsdl: str | None = setting(
        None,
        env="NETSUITE_WSDL",
        label="WSDL",
        help="Empty: the packaged compact WSDL; 'account': the full WSDL from the account's host; or a path or URL.",
    )
    wsdl_cache: Path | None = setting(
        None, env="NETSUITE_WSDL_CACHE", label="WSDL cache", help="zeep's SqliteCache file for remote WSDLs."
    )
    wsdl_load_timeout: float = setting(
        60.0, env="NETSUITE_WSDL_LOAD_TIMEOUT", positive=True, help="Seconds to load the WSDL."
    )
    page_size: int = setting(
        DEFAULT_PAGE_SIZE,
        env="NETSUITE_PAGE_SIZE",
        between=(5, 1000),
        help="Largest search page (5 to 1000); whole orders with their lines, so keep it small.",
    )
    concurrency: int = setting(
        1, env="NETSUITE_CONCURRENCY", positive=True, help="Requests in flight for this account."
    )
    connect_timeout: float = setting(10.0, env="NETSUITE_CONNECT_TIMEOUT", positive=True, help="Seconds.")
    read_timeout: float = setting(300.0, env="NETSUITE_READ_TIMEOUT", positive=True, help="Seconds.")
    max_attempts: int = setting(
        6, env="NETSUITE_MAX_ATTEMPTS", positive=True, help="Attempts per request when NetSuite is busy."
    )
    currency: str = setting(
        "USD", env="NETSUITE_CURRENCY", help="Currency of orders whose currency record has no ISO code."
    )
    currency_id: str | None = setting(
        None, env="NETSUITE_CURRENCY_ID", help="Pricing-matrix currency of an item's price."
    )
    price_level: str = setting("1", env="NETSUITE_PRICE_LEVEL", help="Pricing-matrix level of an item's price.")
    status_field: str | None = setting(
        None, env="NETSUITE_STATUS_FIELD", help="A custom body field (script id) that receives free-text statuses."
    )
    default_customer_id: str | None = setting(
        None, env="NETSUITE_DEFAULT_CUSTOMER_ID", help="Customer of phone orders that name none."
    )
    pick_pack_ship: bool | None = setting(
        None,
        env="NETSUITE_PICK_PACK_SHIP",
        help="Whether the account uses Pick, Pack and Ship (empty: tell from the initialized fulfilment).",
    )
    """Fulfilments get ``shipStatus=_shipped`` only where Pick, Pack and Ship is on (Advanced Shipping). ``None``
    tells from the fulfilment NetSuite initializes: it carries a ``shipStatus`` only where the feature is on."""
    max_search_restarts: int = setting(
        3,
        env="NETSUITE_MAX_SEARCH_RESTARTS",
        help="How often an answer with fewer records than it counts is asked again.",
    )
    """How often an answer that carries fewer records than it counts (an "empty page") is asked again before
    the read fails with :class:`BrokenAnswer` (which the engine may ask again in turn)."""


def _account_id(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    valid_account(value)


@attrs.frozen
class NetSuiteConfig(NetSuiteSettings):
    """:class:`NetSuiteSettings` plus the token-based authentication credentials: ``NetSuiteDriver.settings_class``,
    read by ``NetSuiteDriver.from_settings`` and ``from_env``. Secrets are :class:`Secret` values."""

    account: str = setting(
        env="NETSUITE_ACCOUNT", validator=_account_id, kw_only=True, help="Account id, e.g. 1234567 or 1234567_SB1."
    )
    consumer_key: Secret = setting(
        env="NETSUITE_CONSUMER_KEY", secret=True, kw_only=True, help="The integration record's consumer key."
    )
    consumer_secret: Secret = setting(
        env="NETSUITE_CONSUMER_SECRET", secret=True, kw_only=True, help="The integration record's consumer secret."
    )
    token_id: Secret = setting(
        env="NETSUITE_TOKEN_ID", secret=True, kw_only=True, help="The access token's id (user and role)."
    )
    token_secret: Secret = setting(
        env="NETSUITE_TOKEN_SECRET", secret=True, kw_only=True, help="The access token's secret."
    )

    def credentials(self) -> TokenCredentials:
        """The credentials (the one place the secrets are revealed)."""
        return TokenCredentials(
            self.account,
            self.consumer_key.reveal(),
            self.consumer_secret.reveal(),
            self.token_id.reveal(),
            self.token_secret.reveal(),
        )

    def tuning(self) -> NetSuiteSettings:
        """The settings without the credentials."""
        return NetSuiteSettings(**{f.name: getattr(self, f.name) for f in attrs.fields(NetSuiteSettings)})


def wsdl_location(account: str, version: str, wsdl: str | None) -> str:
    """Where the WSDL comes from: the packaged compact one (2023_2), the account's own host for ``"account"``
    (or for a version not packaged), or the path or URL given."""
    if wsdl is None:
        wsdl = str(packaged_wsdl()) if version == PACKAGED_VERSION else "account"
    if wsdl == "account":
        return f"{suitetalk_root(account)}/wsdl/v{version}_0/netsuite.wsdl"
    return wsdl
