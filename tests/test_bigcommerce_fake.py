"""The fake BigCommerce store against BigCommerce's own OpenAPI: its tables are the spec's, its answers fit the
spec's response schemas, its spec check catches what it must, and its hostile habits are real."""

from __future__ import annotations

import email.utils
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from _shared import shared_path
from ecc_connectors.testing.bigcommerce import (
    ORDER_SORT_FIELDS,
    PAYMENT_STATES,
    STATUSES,
    BigCommerceSpec,
    FakeBigCommerce,
    load_spec,
)


@pytest.fixture(scope="module")
def spec() -> BigCommerceSpec:
    return load_spec(str(shared_path("specs", "bigcommerce")))


@pytest.fixture
def store() -> Iterator[FakeBigCommerce]:
    with FakeBigCommerce(40, seed=7) as fake:
        yield fake


def get(store: FakeBigCommerce, path: str, token: str | None = None, **params: str) -> httpx.Response:
    return httpx.get(
        f"{store.base_url}/stores/{store.store_hash}{path}",
        params=params,
        headers={"X-Auth-Token": token or store.token, "Accept": "application/json"},
    )


def schema_errors(spec: BigCommerceSpec, version: str, name: str, payload: Any) -> list[str]:
    document = spec.spec(version)
    validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]


# -- tables from the spec ---------------------------------------------------------------------------------


def test_the_status_table_is_the_spec_example(spec: BigCommerceSpec) -> None:
    document = spec.spec("v2")
    answer = document["paths"]["/order_statuses"]["get"]["responses"]["200"]
    while "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].split("/")[-1]]
    example = answer["content"]["application/json"]
    rows = example.get("example") or next(iter(example["examples"].values()))["value"]
    assert [(r["id"], r["system_label"], r["custom_label"], r["order"]) for r in rows] == list(STATUSES)


def _enums(node: Any, key: str) -> list[list[Any]]:
    """Every ``enum`` declared for a property or parameter named ``key`` anywhere in a spec document."""
    found: list[list[Any]] = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, dict) and "enum" in value:
                found.append(value["enum"])
            found += _enums(value, key)
        if node.get("name") == key and isinstance(node.get("schema"), dict) and "enum" in node["schema"]:
            found.append(node["schema"]["enum"])
    elif isinstance(node, list):
        for value in node:
            found += _enums(value, key)
    return found


def test_the_payment_states_and_sort_fields_are_the_spec_enums(spec: BigCommerceSpec) -> None:
    document = spec.spec("v2")
    assert list(PAYMENT_STATES) in _enums(document, "payment_status")
    assert list(ORDER_SORT_FIELDS) in _enums(document["components"]["parameters"], "sort")


# -- answers fit the spec ---------------------------------------------------------------------------------


def test_every_answer_shape_fits_the_spec_schemas(spec: BigCommerceSpec, store: FakeBigCommerce) -> None:
    orders = get(store, "/v2/orders", limit="250").json()
    shipped = next(o for o in orders if o["items_shipped"])
    problems = []
    for order in orders:
        problems += schema_errors(spec, "v2", "order_Resp", order)
    order_id = shipped["id"]
    for name, schema in (
        ("products", "orderProducts"),
        ("shipping_addresses", "orderShippingAddress"),
        ("shipments", "orderShipment"),
    ):
        for row in get(store, f"/v2/orders/{order_id}/{name}").json():
            problems += [f"{name}: {p}" for p in schema_errors(spec, "v2", schema, row)]
    for status in get(store, "/v2/order_statuses").json():
        problems += schema_errors(spec, "v2", "orderStatus_Base", status)
    assert problems == []
    catalog = get(store, "/v3/catalog/products", include="variants").json()
    assert set(catalog["meta"]["pagination"]) >= {"total", "count", "per_page", "current_page", "total_pages"}
    for product in catalog["data"]:
        for variant in product["variants"]:
            assert schema_errors(spec, "v3", "productVariant_Full", variant) == []


def test_times_are_rfc_2822_and_money_four_decimal_strings(store: FakeBigCommerce) -> None:
    (order,) = get(store, "/v2/orders", limit="1").json()
    assert email.utils.parsedate_to_datetime(order["date_modified"]).utcoffset() is not None
    assert order["date_modified"].endswith("+0000")
    assert isinstance(order["total_inc_tax"], str)
    assert len(order["total_inc_tax"].split(".")[1]) == 4
    assert order["products"]["resource"] == f"/orders/{order['id']}/products"  # a link, not the lines


# -- the spec check ---------------------------------------------------------------------------------------


def test_the_spec_check_reports_what_the_spec_forbids(spec: BigCommerceSpec) -> None:
    headers = {"X-Auth-Token": "t", "Accept": "application/json", "Content-Type": "application/json"}
    base = "/stores/abc123/v2"
    assert (
        spec.request_errors("GET", f"{base}/orders", [("sort", "date_modified:asc"), ("limit", "250")], headers) == []
    )
    assert spec.request_errors("GET", f"{base}/orders", [("sort", "updated:asc")], headers)  # not a sort field
    assert spec.request_errors("GET", f"{base}/orders", [("limit", "many")], headers)
    assert spec.request_errors("GET", f"{base}/orders", [("modified_since", "x")], headers)  # not declared
    assert spec.request_errors("GET", f"{base}/orders", [], {"Accept": "application/json"})  # no token
    assert spec.request_errors("PATCH", f"{base}/orders/5", [], headers)
    assert spec.request_errors("GET", f"{base}/invoices", [], headers)
    bad_body = json.dumps({"status_id": 2, "status_label": "Shipped"}).encode()
    assert any("status_label" in e for e in spec.request_errors("PUT", f"{base}/orders/5", [], headers, bad_body))
    nested = json.dumps({"order_address_id": 1, "items": [{"order_product_id": 1, "qty": 1}]}).encode()
    assert spec.request_errors("POST", f"{base}/orders/5/shipments", [], headers, nested)


def test_a_store_given_the_spec_keeps_every_violation(spec: BigCommerceSpec) -> None:
    with FakeBigCommerce(2, spec_dir=shared_path("specs", "bigcommerce")) as store:
        get(store, "/v2/orders", sort="date_modified:asc")
        store.assert_valid()
        get(store, "/v2/orders", sort="updated")
        with pytest.raises(AssertionError, match="sort"):
            store.assert_valid()


# -- hostile habits ---------------------------------------------------------------------------------------


def test_ties_in_one_second_do_not_come_back_by_id(store: FakeBigCommerce) -> None:
    rows = get(store, "/v2/orders", sort="date_modified:asc", limit="250").json()
    groups = [[r["id"] for r in group] for _, group in itertools.groupby(rows, key=lambda r: r["date_modified"])]
    crowded = [g for g in groups if len(g) > 2]
    assert crowded
    assert any(g != sorted(g) for g in crowded)
    by_id = get(store, "/v2/orders", sort="id:asc", limit="250").json()
    assert [r["id"] for r in by_id] == sorted(r["id"] for r in by_id)


def test_an_empty_list_is_204_with_no_body(store: FakeBigCommerce) -> None:
    empty = get(store, "/v2/orders", min_id="999999")
    assert (empty.status_code, empty.content) == (204, b"")
    order = store.shop.add_order(status_id=11)
    assert get(store, f"/v2/orders/{order['id']}/shipments").status_code == 204


def test_auth_store_hash_and_quota_answers(store: FakeBigCommerce) -> None:
    refused = get(store, "/v2/orders", token="nope")
    assert refused.status_code == 401
    assert refused.json()[0]["status"] == 401
    assert httpx.get(f"{store.base_url}/stores/other/v2/orders").status_code == 404
    store.quota(2, window_ms=60_000)
    assert [get(store, "/v2/order_statuses").status_code for _ in range(3)] == [200, 200, 429]
    throttled = get(store, "/v2/order_statuses")
    assert "retry-after" not in throttled.headers
    assert throttled.headers["x-rate-limit-requests-left"] == "0"
    assert int(throttled.headers["x-rate-limit-time-reset-ms"]) > 0
    assert throttled.headers["x-rate-limit-requests-quota"] == "2"


def test_shipping_more_than_is_left_is_refused(store: FakeBigCommerce) -> None:
    order = store.shop.add_order(status_id=11, lines=1)
    product = store.shop.products[order["id"]][0]
    address = store.shop.addresses[order["id"]][0]
    body = {
        "order_address_id": address["id"],
        "items": [{"order_product_id": product["id"], "quantity": product["quantity"] + 1}],
    }
    answer = httpx.post(
        f"{store.base_url}/stores/{store.store_hash}/v2/orders/{order['id']}/shipments",
        json=body,
        headers={"X-Auth-Token": store.token},
    )
    assert answer.status_code == 400
    assert "exceeds" in answer.json()[0]["message"]
    assert store.shop.shipments[order["id"]] == []
