"""The Magento 2 driver's settings (``Magento2Driver.settings_class``)."""

from __future__ import annotations

from typing import Any, Literal

import attrs
import httpx

from ...driver import Secret, SettingsError, setting
from ._auth import AdminToken, BearerToken, OAuth1
from ._search import MAX_PAGE_SIZE

__all__ = ["Magento2Settings"]

_OAUTH = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
# Any of these set means OAuth 1.0a (the access token alone means Bearer).
_OAUTH_ONLY = ("consumer_key", "consumer_secret", "access_token_secret")


def _store_code(_inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if not value or "/" in value:
        raise ValueError(f"must be a store view code or 'all', got {value!r}")


@attrs.frozen
class Magento2Settings:
    """How to reach one Magento 2 store view: its URL, its store code and one set of credentials.

    Which auth is used follows from what is set (:attr:`auth_mode`): any of the OAuth consumer key, consumer
    secret or access token secret means OAuth 1.0a, and then all four keys are required; otherwise an access
    token alone means Bearer; otherwise a username and password mean an admin token. Secrets are
    :class:`Secret` values and never show in a ``repr`` or an error.
    """

    base_url: str = setting(
        env="MAGENTO_BASE_URL",
        url=True,
        label="Base URL",
        help="The store's address, e.g. https://shop.example.com (add /index.php if the store has no URL rewrites).",
    )
    store_code: str = setting(
        "default",
        env="MAGENTO_STORE_CODE",
        validator=_store_code,
        help="The store view code the REST calls go to (Stores > All Stores), or 'all'.",
    )
    # Secret by their type; the four OAuth keys are one word each.
    access_token: Secret | None = setting(
        None,
        env="MAGENTO_ACCESS_TOKEN",
        one_word=True,
        help="The integration's access token (System > Extensions > Integrations). Alone it is sent as a Bearer"
        " token; with the three other OAuth keys, requests are signed with OAuth 1.0a.",
    )
    consumer_key: Secret | None = setting(
        None, env="MAGENTO_CONSUMER_KEY", one_word=True, help="OAuth 1.0a: the consumer key."
    )
    consumer_secret: Secret | None = setting(
        None, env="MAGENTO_CONSUMER_SECRET", one_word=True, help="OAuth 1.0a: the consumer secret."
    )
    access_token_secret: Secret | None = setting(
        None,
        env="MAGENTO_ACCESS_TOKEN_SECRET",
        one_word=True,
        help="OAuth 1.0a: the access token secret (with the three keys above).",
    )
    username: str | None = setting(
        None,
        env="MAGENTO_USERNAME",
        help="An admin user, traded with the password for an admin token when no integration is available"
        " (stores with two-factor authentication refuse this).",
    )
    password: Secret | None = setting(None, env="MAGENTO_PASSWORD", secret=True, help="The admin user's password.")
    page_size: int = setting(
        100,
        env="MAGENTO_PAGE_SIZE",
        between=(1, MAX_PAGE_SIZE),
        help=f"The largest page of orders asked for (1 to {MAX_PAGE_SIZE}).",
    )
    store_id: str | None = setting(
        None,
        env="MAGENTO_STORE_ID",
        help="Names the store in the ledger; by default magento2:<host><path>/<store code>.",
    )

    def __attrs_post_init__(self) -> None:
        self.auth_mode  # noqa: B018 - checks that the credentials make one auth mode

    @property
    def auth_mode(self) -> Literal["oauth1", "bearer", "admin"]:
        """``"oauth1"``, ``"bearer"`` or ``"admin"``, from what is set.

        Raises:
            SettingsError: the credentials are incomplete (naming what is missing) or absent.
        """
        if any(getattr(self, name) for name in _OAUTH_ONLY):
            missing = [name for name in _OAUTH if not getattr(self, name)]
            if missing:
                raise SettingsError(type(self), dict.fromkeys(missing, "required: OAuth 1.0a needs all four keys"))
            return "oauth1"
        if self.access_token:
            return "bearer"
        if self.username or self.password:
            missing = [name for name in ("username", "password") if not getattr(self, name)]
            if missing:
                need = "required: admin token auth needs both username and password"
                raise SettingsError(type(self), dict.fromkeys(missing, need))
            return "admin"
        raise SettingsError(
            type(self),
            {
                "*": "no Magento credentials: set access_token (MAGENTO_ACCESS_TOKEN), or username and password"
                " (MAGENTO_USERNAME, MAGENTO_PASSWORD), or the four OAuth 1.0a keys (MAGENTO_CONSUMER_KEY,"
                " MAGENTO_CONSUMER_SECRET, MAGENTO_ACCESS_TOKEN, MAGENTO_ACCESS_TOKEN_SECRET)"
            },
        )

    def auth(self) -> httpx.Auth:
        """A new ``httpx.Auth`` for :attr:`auth_mode` (the one place a secret is revealed)."""
        mode = self.auth_mode
        if mode == "oauth1":
            return OAuth1(*(_revealed(getattr(self, name)) for name in _OAUTH))
        if mode == "bearer":
            return BearerToken(_revealed(self.access_token))
        return AdminToken(self.username or "", _revealed(self.password))


def _revealed(value: Secret | None) -> str:
    return value.reveal() if value is not None else ""
