"""Fixtures for the WooCommerce conformance tests: the fake store against the wc/v3 OpenAPI document, a driver
factory for the built-in driver or a broken twin of it, and ``woocommerce_spec_clean``, which fails a test whose
requests broke the document (the store answers such a request 400, so it also fails the check that made it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from _shared import shared_path
from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.woocommerce import WooCommerceConformanceStore

SPEC = ("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")
_stores: list[WooCommerceConformanceStore] = []


def woo_store() -> WooCommerceConformanceStore:
    """A fresh store (seed 3), remembered for ``woocommerce_spec_clean``."""
    store = WooCommerceConformanceStore(seed=3, spec=shared_path(*SPEC))
    _stores.append(store)
    return store


def factory_for(driver_class: type[WooCommerceDriver]) -> Callable[[WooCommerceConformanceStore], WooCommerceDriver]:
    """A driver factory making ``driver_class`` for a store, 5 orders a page."""

    def make(store: WooCommerceConformanceStore) -> WooCommerceDriver:
        return driver_class(store.base_url, store.fake.consumer_key, store.fake.consumer_secret, page_size=5)

    return make


@pytest.fixture
def woocommerce_spec_clean() -> Iterator[None]:
    """Fails the test if a store ``woo_store`` made during it saw a request that broke the document."""
    _stores.clear()
    yield
    violations = [v for store in _stores for v in store.fake.spec_violations]
    _stores.clear()
    assert violations == [], "requests broke the wc/v3 OpenAPI document:\n" + "\n".join(violations[:10])
