"""The fake WooCommerce store itself: its tables are the vendor document's (extracted again here and compared),
it checks requests against that document, and it behaves as WooCommerce does where a driver could go wrong:
exclusive date bounds, site time without ``dates_are_gmt``, comma-list statuses, ``_fields``, key checks,
nonce replay, error bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from _shared import shared_path
from ecc_connectors.drivers.woocommerce import OAuth1Query
from ecc_connectors.testing.woocommerce import SPEC_TABLES, FakeWooCommerce

SPEC = ("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")


def test_the_tables_are_the_vendor_documents() -> None:
    spec = yaml.load(shared_path(*SPEC).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]
    order = schemas["shop_order"]["properties"]
    listing = {p["name"]: p["schema"] for p in spec["paths"]["/orders"]["get"]["parameters"]}
    notes = {p["name"]: p["schema"] for p in spec["paths"]["/orders/{order_id}/notes"]["get"]["parameters"]}
    extracted = {
        "ORDER_STATUSES": order["status"]["enum"],
        "LISTING_STATUSES": listing["status"]["items"]["enum"],
        "ORDERBY": listing["orderby"]["enum"],
        "LISTING_PARAMS": list(listing),
        "ORDER_FIELDS": list(order),
        "BILLING_FIELDS": list(order["billing"]["properties"]),
        "SHIPPING_FIELDS": list(order["shipping"]["properties"]),
        "LINE_ITEM_FIELDS": list(order["line_items"]["items"]["properties"]),
        "TAX_LINE_FIELDS": list(order["tax_lines"]["items"]["properties"]),
        "SHIPPING_LINE_FIELDS": list(order["shipping_lines"]["items"]["properties"]),
        "FEE_LINE_FIELDS": list(order["fee_lines"]["items"]["properties"]),
        "COUPON_LINE_FIELDS": list(order["coupon_lines"]["items"]["properties"]),
        "REFUND_FIELDS": list(order["refunds"]["items"]["properties"]),
        "NOTE_FIELDS": list(schemas["order_note"]["properties"]),
        "NOTE_TYPES": notes["type"]["enum"],
        "REPORT_TOTAL_FIELDS": list(schemas["report_order_total"]["properties"]),
        "PRODUCT_TYPES": schemas["product"]["properties"]["type"]["enum"],
        "STOCK_STATUSES": schemas["product"]["properties"]["stock_status"]["enum"],
    }
    assert {k: tuple(v) for k, v in extracted.items()} == SPEC_TABLES


@pytest.fixture
def store() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(12, spec=shared_path(*SPEC)) as fake:
        yield fake


def get(store: FakeWooCommerce, path: str, **params: Any) -> httpx.Response:
    auth = OAuth1Query(store.consumer_key, store.consumer_secret)
    return httpx.get(f"{store.url}/wp-json/wc/v3{path}", params=params, auth=auth)


def test_modified_bounds_are_exclusive_and_read_in_site_time_without_dates_are_gmt(store: FakeWooCommerce) -> None:
    with store.lock:
        stamp = store.now() - timedelta(days=60)
        target = store.shop.new_order(modified=stamp)["id"]
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    assert [o["id"] for o in get(store, "/orders", modified_after=text, dates_are_gmt="true").json()].count(target) == 0
    one_before = (stamp - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    found = get(store, "/orders", modified_after=one_before, dates_are_gmt="true", per_page=100).json()
    assert target in [o["id"] for o in found]
    # The same bound without dates_are_gmt is site time (UTC-3 here): three hours later in UTC.
    shifted = get(store, "/orders", modified_after=one_before, per_page=100).json()
    assert target not in [o["id"] for o in shifted]
    local = (stamp - timedelta(hours=3, seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert target in [o["id"] for o in get(store, "/orders", modified_after=local, per_page=100).json()]


def test_status_lists_fields_and_paging_headers(store: FakeWooCommerce) -> None:
    answer = get(store, "/orders", status="processing,shipped", _fields="id,status", per_page=3)
    rows = answer.json()
    assert all(set(row) == {"id", "status"} and row["status"] in ("processing", "shipped") for row in rows)
    total = int(answer.headers["X-WP-Total"])
    assert answer.headers["X-WP-TotalPages"] == str(-(-total // 3))
    assert store.spec_violations == []


def test_a_request_the_document_refuses_is_answered_400_and_kept(store: FakeWooCommerce) -> None:
    answer = get(store, "/orders", orderby="total", colour="blue")
    assert answer.status_code == 400
    assert answer.json()["code"] == "rest_invalid_param"
    assert any("'colour' is not declared" in v for v in store.spec_violations)
    assert any("orderby" in v for v in store.spec_violations)


def test_keys_are_checked_and_a_replayed_nonce_refused(store: FakeWooCommerce) -> None:
    unsigned = httpx.get(f"{store.url}/wp-json/wc/v3/orders")
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == "woocommerce_rest_cannot_view"
    fixed = OAuth1Query(store.consumer_key, store.consumer_secret, nonce=lambda: "same-nonce")
    first = httpx.get(f"{store.url}/wp-json/wc/v3/orders", auth=fixed)
    again = httpx.get(f"{store.url}/wp-json/wc/v3/orders", auth=fixed)
    assert first.status_code == 200
    assert again.status_code == 401
    assert "nonce" in again.json()["message"]
    basic = httpx.get(f"{store.url}/wp-json/wc/v3/orders", auth=(store.consumer_key, store.consumer_secret))
    assert basic.status_code == 401  # Basic counts over HTTPS only


def test_unknown_routes_and_a_missing_extension_answer_rest_no_route() -> None:
    with FakeWooCommerce(1, tracking=False) as store:
        answer = httpx.get(f"{store.url}/shop/orders")
        auth = OAuth1Query(store.consumer_key, store.consumer_secret)
        tracking = httpx.get(f"{store.url}/wp-json/wc-shipment-tracking/v3/orders/701/shipment-trackings", auth=auth)
        assert tracking.status_code == 404
        assert tracking.json()["code"] == "rest_no_route"
        assert answer.status_code == 404
