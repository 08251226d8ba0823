"""The driver conformance suite against the Shopify driver and the fake Shopify store (which executes Shopify's
published Admin schema, so every document the suite makes the driver send is also checked against it)."""

from __future__ import annotations

import pytest

from _shared import shared_path
from ecc_connectors.drivers.shopify import ShopifyDriver
from ecc_connectors.testing.pytest_plugin import DriverConformance
from ecc_connectors.testing.shopify import ShopifyConformanceStore


def shopify_store() -> ShopifyConformanceStore:
    # A generous bucket: pacing is tested on its own (test_shopify_throttling.py); here it would only add waits.
    schema = shared_path("specs", "shopify", "admin_schema_unstable_public.graphql")
    return ShopifyConformanceStore(orders=30, seed=3, bucket_size=20_000, restore_rate=20_000, schema_file=schema)


def shopify_driver(store: ShopifyConformanceStore) -> ShopifyDriver:
    return ShopifyDriver(store.fake.shop_domain, store.fake.token, base_url=store.base_url, page_size=3)


pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers and dropped connections are the point


class TestShopifyConformance(DriverConformance):
    """Every check of the suite, each against a fresh shop of 30 orders, the driver reading 3 a page."""

    store_factory = staticmethod(shopify_store)
    driver_factory = staticmethod(shopify_driver)
