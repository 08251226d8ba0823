"""A fake WooCommerce store (REST ``wc/v3``) for tests and trials without credentials.

``FakeWooCommerce`` serves the wc/v3 order, note, report and product routes (and the Shipment Tracking
extension's) over a real local socket, with WooCommerce's key check (OAuth 1.0a over HTTP; Basic and query keys
when playing HTTPS), its error bodies and its listing semantics, plus every knob of
``ecc_connectors.testing.base.FakeStore`` (latency, 429s, dropped connections, lost write answers, edits between
listing requests, the store's clock). Given the vendor's OpenAPI file (``spec=``), it checks every request
against it and answers a violation with 400. ``SPEC_TABLES`` are the document's tables it is built from.
``WooCommerceConformanceStore`` adapts it to the driver conformance suite (``ecc_connectors.testing.conformance``)::

    from ecc_connectors.drivers.woocommerce import WooCommerceDriver
    from ecc_connectors.testing.woocommerce import FakeWooCommerce

    with FakeWooCommerce(orders=50) as store:
        driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
"""

from __future__ import annotations

from . import _woocommerce_spec
from ._woocommerce import FakeWooCommerce
from ._woocommerce_conformance import WooCommerceConformanceStore
from ._woocommerce_schema import WooCommerceSchema
from ._woocommerce_shop import WooShop

__all__ = ["SPEC_TABLES", "FakeWooCommerce", "WooCommerceConformanceStore", "WooCommerceSchema", "WooShop"]

SPEC_TABLES: dict[str, tuple[str, ...]] = {name: getattr(_woocommerce_spec, name) for name in _woocommerce_spec.__all__}
"""The tables of the wc/v3 OpenAPI document the fake is built from (statuses, filters, field names), by name."""
