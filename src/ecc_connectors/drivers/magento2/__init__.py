"""Magento 2 / Adobe Commerce REST driver (``magento2``). See ``docs/drivers/magento2.md``."""

from ._auth import AdminToken, BearerToken, OAuth1
from ._driver import Magento2Driver
from ._settings import Magento2Settings

__all__ = ["AdminToken", "BearerToken", "Magento2Driver", "Magento2Settings", "OAuth1"]
