"""The Shopify driver's settings, auth and API version: the domain rule, the version in the URL, the token
masked everywhere and sent only to the shop, the registry entry point."""

from __future__ import annotations

import json

import httpx
import pytest

import ecc_connectors
from ecc_connectors import ConfigurationError, SettingsError, describe_settings
from ecc_connectors.drivers.shopify import API_VERSION, ShopifyAuth, ShopifyDriver, ShopifySettings

TOKEN = "shpat_0123456789abcdef"


def test_from_env_builds_the_driver_with_the_version_in_the_url() -> None:
    driver = ShopifyDriver.from_env({"SHOPIFY_SHOP": "my-shop.myshopify.com", "SHOPIFY_ACCESS_TOKEN": TOKEN})
    assert driver.url == f"https://my-shop.myshopify.com/admin/api/{API_VERSION}/graphql.json"
    assert API_VERSION == "2025-10"
    other = ShopifyDriver.from_env(
        {
            "SHOPIFY_SHOP": "https://My-Shop.myshopify.com/admin",
            "SHOPIFY_ACCESS_TOKEN": TOKEN,
            "SHOPIFY_API_VERSION": "2026-01",
        }
    )
    assert other.url.endswith("/admin/api/2026-01/graphql.json")
    assert other.shop == "my-shop.myshopify.com"


def test_every_bad_setting_is_reported_at_once_without_the_token() -> None:
    with pytest.raises(SettingsError) as caught:
        ShopifyDriver.from_settings(
            {"shop": "shop.example.com", "access_token": "shpat with space", "api_version": "2025-13"}
        )
    assert set(caught.value.problems) == {"shop", "access_token", "api_version"}
    assert "shpat with space" not in str(caught.value)
    assert "custom_domain" in str(caught.value)


def test_a_custom_domain_is_taken_only_when_said() -> None:
    with pytest.raises(ConfigurationError):
        ShopifyDriver("shop.example.com", TOKEN)
    driver = ShopifyDriver("shop.example.com", TOKEN, custom_domain=True)
    assert driver.shop == "shop.example.com"
    settings = ShopifySettings(shop="shop.example.com", access_token=TOKEN, custom_domain=True)  # type: ignore[arg-type]
    assert ShopifyDriver.from_config(settings).shop == "shop.example.com"
    with pytest.raises(ConfigurationError):
        ShopifyDriver("not a domain", TOKEN)


def test_the_token_is_masked_in_reprs_and_settings() -> None:
    driver = ShopifyDriver("my-shop.myshopify.com", TOKEN)
    assert TOKEN not in repr(driver)
    assert TOKEN not in repr(driver.auth())
    settings = ShopifySettings(shop="my-shop.myshopify.com", access_token=TOKEN)  # type: ignore[arg-type]
    assert TOKEN not in repr(settings)
    info = {i.name: i for i in describe_settings(ShopifySettings)}
    assert info["access_token"].secret
    assert info["access_token"].env == "SHOPIFY_ACCESS_TOKEN"
    assert info["refund_on_cancel"].choices == ("none", "original")


def test_the_token_goes_to_the_shop_and_nowhere_else() -> None:
    """A bulk operation's result lives on another host (cloud storage): it must not receive the token."""
    auth = ShopifyAuth(TOKEN, "my-shop.myshopify.com")
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("X-Shopify-Access-Token")
        return httpx.Response(200, json={"data": {}})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.post(
            "https://my-shop.myshopify.com/admin/api/2025-10/graphql.json",
            content=json.dumps({"query": "{ shop { name } }"}),
        )
        client.get("https://storage.googleapis.com/bulk/result.jsonl")
    assert seen == {"my-shop.myshopify.com": TOKEN, "storage.googleapis.com": None}


def test_the_driver_is_registered_as_shopify() -> None:
    assert "shopify" in ecc_connectors.available_drivers()
    driver = ecc_connectors.create_driver("shopify", shop="my-shop.myshopify.com", access_token=TOKEN)
    assert isinstance(driver, ShopifyDriver)
