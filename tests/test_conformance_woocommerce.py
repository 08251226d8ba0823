"""The driver conformance suite against the WooCommerce driver and the fake WooCommerce store, every request
checked against the wc/v3 OpenAPI document (a violation is answered 400, so it fails the check that made it, and
each test also asserts that the store saw none). ``test_woocommerce_conformance_broken.py`` proves each check
can fail with a deliberately broken twin of the driver."""

from __future__ import annotations

import pytest

from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.pytest_plugin import DriverConformance
from plugin_woocommerce import factory_for, woo_store

pytestmark = pytest.mark.usefixtures("quiet_retries", "woocommerce_spec_clean")


class TestWooCommerceConformance(DriverConformance):
    """The built-in driver passes every check, each against a fresh store of 30 orders, 5 a page."""

    store_factory = staticmethod(woo_store)
    driver_factory = factory_for(WooCommerceDriver)
