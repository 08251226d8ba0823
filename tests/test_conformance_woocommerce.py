"""The driver conformance suite against the WooCommerce driver and the fake WooCommerce store, every request
checked against the wc/v3 OpenAPI document (a violation is answered 400, so it fails the check that made it, and
each test also asserts that the store saw none). ``test_woocommerce_conformance_broken.py`` proves each check
can fail with a deliberately broken twin of the driver."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from _shared import shared_path
from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.pytest_plugin import DriverConformance
from ecc_connectors.testing.woocommerce import WooCommerceConformanceStore

SPEC = ("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")
_stores: list[WooCommerceConformanceStore] = []


def woo_store() -> WooCommerceConformanceStore:
    store = WooCommerceConformanceStore(seed=3, spec=shared_path(*SPEC))
    _stores.append(store)
    return store


def factory_for(driver_class: type[WooCommerceDriver]) -> Any:
    def make(store: WooCommerceConformanceStore) -> WooCommerceDriver:
        return driver_class(store.base_url, store.fake.consumer_key, store.fake.consumer_secret, page_size=5)

    return make


@pytest.fixture(autouse=True)
def _quiet_and_spec_clean() -> Iterator[None]:
    logging.disable(logging.WARNING)  # lost answers and dropped connections are the point here
    _stores.clear()
    yield
    logging.disable(logging.NOTSET)
    violations = [v for store in _stores for v in store.fake.spec_violations]
    _stores.clear()
    assert violations == [], "requests broke the wc/v3 OpenAPI document:\n" + "\n".join(violations[:10])


class TestWooCommerceConformance(DriverConformance):
    """The built-in driver passes every check, each against a fresh store of 30 orders, 5 a page."""

    store_factory = staticmethod(woo_store)
    driver_factory = factory_for(WooCommerceDriver)
