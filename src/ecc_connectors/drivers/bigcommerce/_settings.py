"""The BigCommerce driver's settings (``BigCommerceDriver.settings_class``) and its ``X-Auth-Token`` auth.

A store is reached at ``{base_url}/stores/{store_hash}/v2`` (orders) and ``.../v3`` (catalog) with an API
account's access token in the ``X-Auth-Token`` header. The token lives only in :class:`XAuthToken` (a
:class:`Secret`), so no ``repr``, log line or error can show it.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import attrs
import httpx

from ...driver import Secret, setting

__all__ = ["DEFAULT_BASE_URL", "BigCommerceSettings", "XAuthToken"]

DEFAULT_BASE_URL = "https://api.bigcommerce.com"
_HASH = re.compile(r"^[a-z0-9]+$")
_STATUS_IDS = (0, 14)  # the lowest and the highest order status id


class XAuthToken(httpx.Auth):
    """``X-Auth-Token: <token>`` and ``Accept: application/json`` on every request; the token never shows in a
    repr. (BigCommerce answers XML to a v2 request that does not ask for JSON.)"""

    def __init__(self, token: str | Secret) -> None:
        self._token = Secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self._token.reveal()
        request.headers.setdefault("Accept", "application/json")
        yield request

    def __repr__(self) -> str:
        return "XAuthToken(<hidden>)"


def _store_hash(_inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if not _HASH.match(value):
        raise ValueError("a store hash is the short code in the API path (stores/<hash>/v3), letters and digits")


def _positive_or_zero(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} cannot be negative")


@attrs.frozen
class BigCommerceSettings:
    """How to reach one BigCommerce store, and what its post-back statuses are. Loaded by
    ``BigCommerceDriver.from_settings`` (a form, a config file) or ``from_env``."""

    store_hash: str = setting(
        env="BIGCOMMERCE_STORE_HASH",
        validator=_store_hash,
        help="The code in the store's API path (https://api.bigcommerce.com/stores/<hash>/v3), shown with the"
        " API account.",
    )
    access_token: Secret = setting(
        env="BIGCOMMERCE_ACCESS_TOKEN",
        secret=True,
        one_word=True,
        help="The API account's access token (Settings > API > Store-level API accounts), with Orders: modify"
        " and Products: read-only.",
    )
    base_url: str = setting(
        DEFAULT_BASE_URL,
        env="BIGCOMMERCE_BASE_URL",
        url=True,
        label="API base URL",
        help="BigCommerce's API address; change it only to point at a test server.",
    )
    acknowledgement_status_id: int = setting(
        9,
        env="BIGCOMMERCE_ACK_STATUS_ID",
        between=_STATUS_IDS,
        label="Acknowledgement status",
        help="The status id an acknowledged order is set to (9 Awaiting Shipment by default).",
    )
    phone_order_status_id: int = setting(
        11,
        env="BIGCOMMERCE_PHONE_ORDER_STATUS_ID",
        between=_STATUS_IDS,
        label="Phone order status",
        help="The status id a phone order is created in (11 Awaiting Fulfillment by default).",
    )
    requests_per_30s: int = setting(
        150,
        env="BIGCOMMERCE_REQUESTS_PER_30S",
        validator=_positive_or_zero,
        label="Requests per 30 s",
        help="The store's API quota (X-Rate-Limit-Requests-Quota): 150 on Standard and Plus, 450 on Pro; 0 for"
        " an unlimited plan.",
    )
    page_size: int = setting(
        250,
        env="BIGCOMMERCE_PAGE_SIZE",
        between=(1, 250),  # BigCommerce's limit for /v2/orders
        help="Orders per listing request (at most 250).",
    )
