"""BigCommerce driver (``bigcommerce``): orders v2 and catalog v3 over ``X-Auth-Token``. See
``docs/drivers/bigcommerce.md``."""

from ._driver import CANCELLED, PAGE_LIMIT, STATUS_NAMES, BigCommerceDriver
from ._mapping import Pieces, parse_order, parse_time
from ._settings import DEFAULT_BASE_URL, BigCommerceSettings, XAuthToken

__all__ = [
    "CANCELLED",
    "DEFAULT_BASE_URL",
    "PAGE_LIMIT",
    "STATUS_NAMES",
    "BigCommerceDriver",
    "BigCommerceSettings",
    "Pieces",
    "XAuthToken",
    "parse_order",
    "parse_time",
]
