"""Magento 2 / Adobe Commerce REST driver (``magento2``). See ``docs/drivers/magento2.md``.

:func:`decode_order` (an order's JSON text; never raises) and :func:`map_order` (that JSON decoded, with numbers as
``Decimal`` for exact money) map an order read some other way, from a webhook or an export, as the driver maps
the orders it lists.
"""

from ._auth import AdminToken, BearerToken, OAuth1
from ._driver import Magento2Driver
from ._mapping import map_order
from ._schema import decode_order
from ._settings import Magento2Settings

__all__ = ["AdminToken", "BearerToken", "Magento2Driver", "Magento2Settings", "OAuth1", "decode_order", "map_order"]
