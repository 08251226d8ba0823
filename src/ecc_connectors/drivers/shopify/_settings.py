"""The Shopify driver's settings (``ShopifyDriver.settings_class``) and the shop-domain rule.

A shop is named by its permanent ``<name>.myshopify.com`` domain; a custom domain (``shop.example.com``) is
accepted only when ``custom_domain`` says so, because the Admin API is served on the myshopify domain and a
storefront domain given by mistake would send the token to the wrong host. The API version is a setting
(default :data:`API_VERSION`, a stable quarterly release) and goes in every URL.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ...driver import ConfigurationError, Secret, setting

__all__ = ["API_VERSION", "REFUND_CHOICES", "ShopifySettings", "check_domain", "check_version"]

API_VERSION = "2025-10"
"""The Admin API version the driver is written and tested against (a stable release, supported until
October 2026 by Shopify's twelve-month policy); every field it sends exists in that version."""

_MYSHOPIFY = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_VERSION = re.compile(r"\d{4}-(01|04|07|10)|unstable")
REFUND_CHOICES = ("none", "original")


def check_domain(domain: str, *, custom: bool = False) -> str:
    """The shop's host, lower case, without scheme or path; raises :class:`ConfigurationError` otherwise."""
    host = domain.strip().lower()
    host = re.sub(r"^https?://", "", host).split("/", 1)[0]
    if _MYSHOPIFY.fullmatch(host):
        return host
    if custom and _HOST.fullmatch(host):
        return host
    if _HOST.fullmatch(host):
        raise ConfigurationError(
            f"{host!r} is not a *.myshopify.com domain: give the shop's myshopify domain, or set custom_domain to"
            " use this one"
        )
    raise ConfigurationError(f"{domain!r} is not a shop domain (expected <name>.myshopify.com)")


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(version):
        raise ConfigurationError(f"{version!r} is not a Shopify API version (YYYY-01/04/07/10, or 'unstable')")
    return version


def _domain(inst: Any, _attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        check_domain(value, custom=bool(getattr(inst, "custom_domain", False)))
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None


def _version(_inst: Any, _attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        check_version(value)
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None


@attrs.frozen
class ShopifySettings:
    """How to reach one Shopify shop: its domain, an Admin API access token, the API version, and the choices
    the issue leaves to the merchant (acknowledgement tag, refund on cancel, bulk threshold, 60-day rule)."""

    custom_domain: bool = setting(
        False,
        env="SHOPIFY_CUSTOM_DOMAIN",
        help="Accept a domain that is not <name>.myshopify.com (the Admin API must be served there).",
    )
    shop: str = setting(
        env="SHOPIFY_SHOP",
        validator=_domain,
        label="Shop domain",
        kw_only=True,
        help="The shop's permanent domain, e.g. my-shop.myshopify.com (Settings > Domains).",
    )
    access_token: Secret = setting(
        env="SHOPIFY_ACCESS_TOKEN",
        secret=True,
        one_word=True,
        label="Admin API access token",
        kw_only=True,
        help="The custom app's Admin API access token (shpat_...), with the scopes listed in the Shopify guide.",
    )
    api_version: str = setting(
        API_VERSION,
        env="SHOPIFY_API_VERSION",
        validator=_version,
        label="API version",
        help="The Admin API version in every URL (a stable quarterly release).",
    )
    acknowledge_tag: str = setting(
        "ecc-acknowledged",
        env="SHOPIFY_ACKNOWLEDGE_TAG",
        help="The tag added to an order when the back office acknowledges it (Shopify has no custom status).",
    )
    refund_on_cancel: str = setting(
        "none",
        env="SHOPIFY_REFUND_ON_CANCEL",
        choices=REFUND_CHOICES,
        help="When cancelling: 'none' (no refund) or 'original' (refund to the original payment methods).",
    )
    restock_on_cancel: bool = setting(
        True,
        env="SHOPIFY_RESTOCK_ON_CANCEL",
        help="When cancelling, put the items back in stock.",
    )
    bulk_threshold: int = setting(
        5000,
        env="SHOPIFY_BULK_THRESHOLD",
        help="A first download of more orders than this runs as a bulk operation instead of pages (0: never).",
    )
    allow_recent_only: bool = setting(
        False,
        env="SHOPIFY_ALLOW_RECENT_ONLY",
        help="Without the read_all_orders scope Shopify shows only the last 60 days of orders: allow that (with a"
        " warning) instead of refusing a window that reaches further back.",
    )
    base_url: str | None = setting(
        None,
        env="SHOPIFY_BASE_URL",
        url=True,
        label="API base URL",
        help="Another address for the Admin API (a test server); empty: https://<shop>.",
    )
