"""The settings of one WooCommerce store (``WooCommerceSettings``): where it is, its REST API keys, how to send
them, and the choices the issue leaves to the merchant (page size, phone orders paid or not, Shipment Tracking).

Loaded by ``WooCommerceDriver.from_settings`` (a form, a config file) or ``from_env`` (``WOOCOMMERCE_*``
variables); the keys are :class:`Secret` values, shown as ``***`` everywhere.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ...driver import Secret, setting

__all__ = ["WooCommerceSettings"]


@attrs.frozen
class WooCommerceSettings:
    """How to reach one WooCommerce store (REST ``wc/v3``)."""

    url: str = setting(
        env="WOOCOMMERCE_URL",
        url=True,
        label="Store URL",
        help="The WordPress site's address, e.g. https://shop.example.com (the REST API is under /wp-json/wc/v3).",
    )
    consumer_key: Secret = setting(
        env="WOOCOMMERCE_CONSUMER_KEY",
        secret=True,
        one_word=True,
        help="WooCommerce > Settings > Advanced > REST API: a key with Read/Write access (ck_...).",
    )
    consumer_secret: Secret = setting(
        env="WOOCOMMERCE_CONSUMER_SECRET",
        secret=True,
        one_word=True,
        help="The secret shown once next to the consumer key (cs_...).",
    )
    auth: Literal["auto", "basic", "query", "oauth1"] = setting(
        "auto",
        env="WOOCOMMERCE_AUTH",
        label="How to send the keys",
        help="auto: HTTP Basic over HTTPS, OAuth 1.0a signing over plain HTTP. query: keys in the query string"
        " (HTTPS only), for hosts that strip the Authorization header. oauth1: always sign.",
    )
    page_size: int = setting(
        100,
        env="WOOCOMMERCE_PAGE_SIZE",
        between=(1, 100),  # WooCommerce's per_page maximum
        help="Orders per request, 1 to 100.",
    )
    phone_orders_paid: bool = setting(
        False,
        env="WOOCOMMERCE_PHONE_ORDERS_PAID",
        help="Create phone orders with set_paid (status processing, stock reduced) instead of pending payment.",
    )
    shipment_tracking: Literal["auto", "off"] = setting(
        "auto",
        env="WOOCOMMERCE_SHIPMENT_TRACKING",
        help="auto: add tracking items through the Shipment Tracking extension when the store answers at its"
        " endpoint; off: the customer note only.",
    )
    store_id: str = setting(
        "",
        env="WOOCOMMERCE_STORE_ID",
        help="Names the store in the ledger; default woocommerce:<host><path>.",
    )
