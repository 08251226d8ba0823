"""The fake Shopify shop itself: it refuses what the real schema refuses (and fails the test that sent it),
charges cost as Shopify publishes it, walks bulk operations through their states, serves byte ranges, and the
driver runs on it through the async shell too."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ecc_connectors import AsyncConnector, SQLiteLedger
from ecc_connectors.testing.shopify import FakeShopify
from test_shopify_support import fake_shop, policy, shopify_driver


def _post(store: FakeShopify, query: str, variables: dict[str, Any] | None = None) -> Any:
    return httpx.post(
        f"{store.base_url}/admin/api/2025-10/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": store.token},
    ).json()


def test_an_unknown_field_or_a_wrong_argument_type_is_refused_and_fails_the_test() -> None:
    store = fake_shop().start()
    unknown = _post(store, "{ orders(first: 2) { nodes { id bogusField } } }")
    wrong = _post(store, '{ orders(first: "two") { nodes { id } } }')
    missing = _post(store, "query ($id: ID!) { order(id: $id) { id } }")
    assert "bogusField" in unknown["errors"][0]["message"]
    assert "data" not in unknown
    assert "Int" in wrong["errors"][0]["message"]
    assert "$id" in missing["errors"][0]["message"]
    assert len(store.violations) == 3
    with pytest.raises(AssertionError, match="Admin schema refuses"):
        store.__exit__(None, None, None)


def test_answers_carry_the_cost_shopify_publishes() -> None:
    with fake_shop(3, bucket_size=1000, restore_rate=50) as store:
        answer = _post(store, "{ orders(first: 3) { nodes { id lineItems(first: 4) { nodes { sku } } } } }")
        cost = answer["extensions"]["cost"]
    # A connection is 2 + first x node; an order node is 1 + its lines' connection (2 + 4 x 1).
    assert cost["requestedQueryCost"] == 2 + 3 * (1 + 2 + 4 * 1)
    assert cost["throttleStatus"]["maximumAvailable"] == 1000
    assert cost["throttleStatus"]["restoreRate"] == 50
    assert cost["throttleStatus"]["currentlyAvailable"] < 1000


def test_a_bulk_operation_walks_its_states_and_serves_its_file_in_ranges() -> None:
    with fake_shop(4) as store:
        store.bulk(steps=2)
        inner = "{ orders { edges { node { id legacyResourceId lineItems { edges { node { id sku } } } } } } }"
        started = _post(
            store,
            "mutation ($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) {"
            " bulkOperation { id status } userErrors { message } } }",
            {"q": inner},
        )
        operation = started["data"]["bulkOperationRunQuery"]["bulkOperation"]
        assert operation["status"] == "CREATED"
        status = "query ($id: ID!) { node(id: $id) { ... on BulkOperation { status url objectCount } } }"
        seen = [_post(store, status, {"id": operation["id"]})["data"]["node"] for _ in range(4)]
        assert [s["status"] for s in seen] == ["RUNNING", "RUNNING", "COMPLETED", "COMPLETED"]
        url = seen[-1]["url"]
        whole = httpx.get(url).content
        part = httpx.get(url, headers={"Range": "bytes=0-99"})
        beyond = httpx.get(url, headers={"Range": f"bytes={len(whole)}-"})
    lines = [json.loads(line) for line in whole.splitlines()]
    roots = [row for row in lines if "__parentId" not in row]
    children = [row for row in lines if "__parentId" in row]
    assert len(roots) == 4
    assert int(seen[-1]["objectCount"]) == len(lines)
    assert {c["__parentId"] for c in children} <= {r["id"] for r in roots}
    assert part.status_code == 206
    assert part.content == whole[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    assert beyond.status_code == 416


def test_a_failed_bulk_operation_reports_failed() -> None:
    with fake_shop(2) as store:
        store.bulk(steps=1, fail=True)
        started = _post(
            store,
            'mutation { bulkOperationRunQuery(query: "{ orders { edges { node { id } } } }",'
            " groupObjects: false) { bulkOperation { id } userErrors { message } } }",
        )
        bulk_id = started["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        query = "query ($id: ID!) { node(id: $id) { ... on BulkOperation { status errorCode } } }"
        states = [_post(store, query, {"id": bulk_id})["data"]["node"] for _ in range(3)]
    assert states[-1] == {"status": "FAILED", "errorCode": "INTERNAL_SERVER_ERROR"}


def test_the_driver_runs_through_the_async_shell() -> None:
    async def run(store: FakeShopify) -> int:
        async with AsyncConnector(shopify_driver(store, page_size=3), policy(), SQLiteLedger()) as connector:
            report = await connector.download()
            return report.downloaded + report.ignored

    with fake_shop(12, bucket_size=1000, restore_rate=3000) as store:
        assert asyncio.run(run(store)) == 12
        assert store.bucket.throttled == 0
