"""The ``netsuite_rest`` driver's settings: :class:`NetSuiteRestSettings` (everything but the credentials) and
:class:`NetSuiteRestConfig` (the same plus the credentials, for ``from_config`` / ``from_env``).

Theory of operation
-------------------
Every setting is declared once with :func:`~ecc_connectors.driver.setting` (its environment variable, default,
validator and help text), so ``settings_from_env``, the CLI and the docs read the same table. Validators run when a
settings object is made: a page size SuiteQL cannot answer, a non-positive timeout or a time zone name
``zoneinfo`` does not know is refused there, naming the setting, not at the first request. The secrets are
:class:`~ecc_connectors.driver.Secret` values, revealed in one place (:meth:`NetSuiteRestConfig.credentials`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ...driver import Secret, setting
from ._auth import ClientCredentials, TbaCredentials
from ._suiteql import MAX_LIMIT

__all__ = ["NetSuiteRestConfig", "NetSuiteRestSettings"]


def _zone(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone {value!r} is not an IANA time zone name such as America/Los_Angeles") from None


@attrs.frozen
class NetSuiteRestSettings:
    """Everything but the credentials."""

    time_zone: str = setting(
        "UTC",
        env="NETSUITE_TIME_ZONE",
        validator=_zone,
        help="The time zone in the integration user's preferences (IANA name): SuiteQL reads and writes times in it.",
    )
    endpoint: str | None = setting(
        None, env="NETSUITE_REST_ENDPOINT", url=True, help="Override https://<account>.suitetalk.api.netsuite.com."
    )
    page_size: int = setting(
        100,
        env="NETSUITE_PAGE_SIZE",
        between=(1, MAX_LIMIT),
        help="Sales orders per SuiteQL page, at most what the engine asks for (100); lower it for huge orders.",
    )
    concurrency: int = setting(
        2, env="NETSUITE_CONCURRENCY", positive=True, help="Requests in flight for this account."
    )
    connect_timeout: float = setting(10.0, env="NETSUITE_CONNECT_TIMEOUT", positive=True, help="Seconds.")
    read_timeout: float = setting(120.0, env="NETSUITE_READ_TIMEOUT", positive=True, help="Seconds.")
    max_attempts: int = setting(6, env="NETSUITE_MAX_ATTEMPTS", positive=True, help="Attempts per request.")
    currency: str = setting(
        "USD", env="NETSUITE_CURRENCY", help="Currency of orders whose currency's name is not an ISO code."
    )
    currency_id: int | None = setting(None, env="NETSUITE_CURRENCY_ID", help="Currency (internal id) of item prices.")
    price_level: int = setting(1, env="NETSUITE_PRICE_LEVEL", help="Price level (internal id) of item prices.")
    location_id: int | None = setting(
        None, env="NETSUITE_LOCATION_ID", help="Count stock at this location only (internal id); empty: all."
    )
    status_field: str | None = setting(
        None, env="NETSUITE_STATUS_FIELD", help="A custom body field (script id) that receives free-text statuses."
    )
    default_customer_id: str | None = setting(
        None, env="NETSUITE_DEFAULT_CUSTOMER_ID", help="Customer of phone orders that name none."
    )
    pick_pack_ship: bool = setting(
        False,
        env="NETSUITE_PICK_PACK_SHIP",
        help="The account uses Pick, Pack and Ship: fulfilments are created as shipped (shipStatus C).",
    )


@attrs.frozen
class NetSuiteRestConfig(NetSuiteRestSettings):
    """:class:`NetSuiteRestSettings` plus credentials: ``auth="m2m"`` (client id, certificate id, private key) or
    ``auth="tba"`` (consumer key/secret, token id/secret)."""

    account: str = setting(env="NETSUITE_ACCOUNT", kw_only=True, help="Account id, e.g. 1234567 or 1234567_SB1.")
    auth: str = setting(
        "m2m", env="NETSUITE_AUTH", choices=("m2m", "tba"), kw_only=True, help="m2m (OAuth 2.0) or tba."
    )
    client_id: Secret | None = setting(
        None, env="NETSUITE_CLIENT_ID", secret=True, kw_only=True, help="The integration record's client id."
    )
    certificate_id: str | None = setting(
        None, env="NETSUITE_CERTIFICATE_ID", kw_only=True, help="The certificate id of the M2M mapping."
    )
    private_key: Secret | None = setting(
        None, env="NETSUITE_PRIVATE_KEY", secret=True, kw_only=True, help="The certificate's private key (PEM)."
    )
    algorithm: str = setting(
        "PS256", env="NETSUITE_ALGORITHM", kw_only=True, help="PS256/384/512 (RSA key) or ES256/384/512 (EC key)."
    )
    consumer_key: Secret | None = setting(None, env="NETSUITE_CONSUMER_KEY", secret=True, kw_only=True, help="TBA.")
    consumer_secret: Secret | None = setting(
        None, env="NETSUITE_CONSUMER_SECRET", secret=True, kw_only=True, help="TBA."
    )
    token_id: Secret | None = setting(None, env="NETSUITE_TOKEN_ID", secret=True, kw_only=True, help="TBA.")
    token_secret: Secret | None = setting(None, env="NETSUITE_TOKEN_SECRET", secret=True, kw_only=True, help="TBA.")

    def credentials(self) -> ClientCredentials | TbaCredentials:
        """The credentials (the one place the secrets are revealed). ``ValueError`` names what is missing."""

        def need(name: str) -> str:
            value = getattr(self, name)
            if value is None:
                raise ValueError(f"NetSuite {name} is required for auth={self.auth}")
            return value.reveal() if isinstance(value, Secret) else str(value)

        if self.auth == "tba":
            return TbaCredentials(
                self.account, need("consumer_key"), need("consumer_secret"), need("token_id"), need("token_secret")
            )
        return ClientCredentials(
            self.account, need("client_id"), need("certificate_id"), need("private_key"), self.algorithm
        )

    def tuning(self) -> NetSuiteRestSettings:
        return NetSuiteRestSettings(**{f.name: getattr(self, f.name) for f in attrs.fields(NetSuiteRestSettings)})
