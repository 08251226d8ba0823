"""Shopify Admin GraphQL driver (``shopify``). See ``docs/drivers/shopify.md``."""

from ._auth import CostPacer, ShopifyAuth
from ._driver import ShopifyDriver
from ._settings import API_VERSION, ShopifySettings

__all__ = ["API_VERSION", "CostPacer", "ShopifyAuth", "ShopifyDriver", "ShopifySettings"]
