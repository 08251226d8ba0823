"""WooCommerce REST ``wc/v3`` driver (``woocommerce``). See ``docs/drivers/woocommerce.md``."""

from ._auth import BasicKeys, OAuth1Query, QueryKeys, pick_auth
from ._driver import CORE_STATUSES, REFERENCE_META, WooCommerceDriver
from ._mapping import order_from_payload
from ._settings import WooCommerceSettings

__all__ = [
    "CORE_STATUSES",
    "REFERENCE_META",
    "BasicKeys",
    "OAuth1Query",
    "QueryKeys",
    "WooCommerceDriver",
    "WooCommerceSettings",
    "order_from_payload",
    "pick_auth",
]
