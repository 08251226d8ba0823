"""The fake Magento store, driven with plain httpx: it must answer the way a Magento 2.4 store does.

Every request these tests send through the ``fake_magento`` / ``fake_magento_factory`` fixtures is checked
against Adobe's schema at teardown; the few that are invalid on purpose use ``validate=False``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

import magento_schema
from _shared import in_threads, shared_path
from ecc_connectors.testing import FakeMagentoStore, MagentoOAuthKeys, ReceivedRequest
from ecc_connectors.testing.base import LostAnswerMode

ANCHOR = datetime(2026, 3, 1, tzinfo=timezone.utc)
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
Factory = Callable[..., FakeMagentoStore]


def api(store: FakeMagentoStore, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or store.token}"}
    return httpx.Client(base_url=store.api_url(), headers=headers, timeout=10)


def criteria(
    *groups: list[tuple[str, Any, str]],
    page_size: int | None = None,
    page: int | None = None,
    sorts: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """searchCriteria query parameters, snake_case spelling (as Adobe's docs write them)."""
    params: dict[str, Any] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[condition_type]"] = condition
    for k, (field, direction) in enumerate(sorts):
        params[f"searchCriteria[sortOrders][{k}][field]"] = field
        params[f"searchCriteria[sortOrders][{k}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = page_size
    if page is not None:
        params["searchCriteria[currentPage]"] = page
    if not params:
        params["searchCriteria"] = ""
    return params


def all_ids(client: httpx.Client, params: dict[str, Any]) -> list[int]:
    response = client.get("/V1/orders", params={**params, "searchCriteria[pageSize]": 300})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_count"] == len(body["items"])
    return [o["entity_id"] for o in body["items"]]


@pytest.fixture
def store(fake_magento_factory: Factory) -> FakeMagentoStore:
    return fake_magento_factory(seed=11, order_count=120, anchor=ANCHOR)


@pytest.fixture
def client(store: FakeMagentoStore) -> Iterator[httpx.Client]:
    with api(store) as c:
        yield c


def first(store: FakeMagentoStore, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return next(o for o in store.orders() if predicate(o))


def top_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in order["items"] if "parent_item_id" not in i]


# -- seeded data ---------------------------------------------------------------------------------------------


def test_generated_orders_cover_every_state_and_look_like_magento(store: FakeMagentoStore) -> None:
    orders = store.orders()
    pairs = {(o["state"], o["status"]) for o in orders}
    for pair in [
        ("new", "pending"),
        ("processing", "processing"),
        ("complete", "complete"),
        ("canceled", "canceled"),
        ("holded", "holded"),
        ("closed", "closed"),
        ("pending_payment", "pending_payment"),
    ]:
        assert pair in pairs
    for order in orders:
        assert re.fullmatch(r"\d{9}(-\d+)?", order["increment_id"])
        assert DATE.match(order["created_at"])
        assert DATE.match(order["updated_at"])
        assert order["updated_at"] >= order["created_at"]
        assert isinstance(order["grand_total"], (int, float))
        assert 1 <= len(top_items(order)) <= 4
        assert all("qty_shipped" in i for i in order["items"])
        address = order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
        assert address["address_type"] == "shipping"
        assert address["street"]
        if order["state"] in ("new", "pending_payment", "canceled"):
            # Unpaid: the keys are absent, not zero, as on a real store.
            assert "total_paid" not in order
            assert "total_invoiced" not in order
            assert order["total_due"] == order["grand_total"]
        if order["state"] in ("complete", "closed"):
            assert order["total_paid"] == order["grand_total"]
            assert order["total_due"] == 0
            assert all(i["qty_shipped"] == i["qty_ordered"] for i in order["items"])
    guests = [o for o in orders if o["customer_is_guest"] == 1]
    assert guests
    assert all("customer_id" not in o for o in guests)
    children = [i for o in orders for i in o["items"] if "parent_item_id" in i]
    assert children
    child = children[0]
    assert child["parent_item"]["item_id"] == child["parent_item_id"]
    assert child["parent_item"]["product_type"] == "configurable"
    assert any(o["status_histories"] for o in orders)


def test_same_seed_and_anchor_give_the_same_orders() -> None:
    one = FakeMagentoStore(seed=5, order_count=15, anchor=ANCHOR)
    two = FakeMagentoStore(seed=5, order_count=15, anchor=ANCHOR)
    other = FakeMagentoStore(seed=6, order_count=15, anchor=ANCHOR)
    assert one.orders() == two.orders()
    assert one.orders() != other.orders()


def test_seeded_edited_pair_links_original_and_replacement(store: FakeMagentoStore) -> None:
    child = first(store, lambda o: "relation_parent_id" in o)
    original = store.order(int(child["relation_parent_id"]))
    assert child["increment_id"] == f"{original['increment_id']}-1"
    assert child["original_increment_id"] == original["increment_id"]
    assert child["relation_parent_real_id"] == original["increment_id"]
    assert (original["state"], original["status"]) == ("canceled", "canceled")
    assert original["relation_child_id"] == str(child["entity_id"])
    assert child["state"] == "new"
    assert {i["item_id"] for i in child["items"]}.isdisjoint(i["item_id"] for i in original["items"])
    assert child["total_qty_ordered"] == original["total_qty_ordered"] + 1


def test_add_order_serves_a_real_fixture_unchanged(fake_magento_factory: Factory) -> None:
    path = shared_path("fixtures", "magento", "order_get_9_new_pending_configurable.json")
    payload = json.loads(path.read_text(encoding="utf-8"))
    store = fake_magento_factory(orders=[payload])
    with api(store) as c:
        assert c.get("/V1/orders/9").json() == payload
        listed = c.get("/V1/orders", params=criteria()).json()
    assert listed["total_count"] == 1
    assert listed["items"] == [payload]
    # New entities do not collide with the ids the fixture brought.
    new_id = store.generate_order()
    assert new_id > 9
    assert min(i["item_id"] for i in store.order(new_id)["items"]) > 18


@pytest.mark.parametrize("defect", ["bad_amount", "missing_items", "bad_date", "no_increment_id", "not_an_object"])
def test_malformed_orders_are_served_as_seeded(fake_magento_factory: Factory, defect: str) -> None:
    store = fake_magento_factory(order_count=2, edited_pairs=0)
    entity_id = store.add_malformed_order(defect)
    with api(store) as c:
        order = c.get(f"/V1/orders/{entity_id}").json()
    checks = {
        "bad_amount": lambda o: o["grand_total"] == "twelve",
        "missing_items": lambda o: "items" not in o,
        "bad_date": lambda o: o["created_at"] == "yesterday-ish",
        "no_increment_id": lambda o: "increment_id" not in o,
        "not_an_object": lambda o: o["items"] == ["not an item"],
    }
    assert checks[defect](order)


# -- search --------------------------------------------------------------------------------------------------


def test_list_envelope_default_page_size_and_store_codes(store: FakeMagentoStore, client: httpx.Client) -> None:
    body = client.get("/V1/orders", params={"searchCriteria[currentPage]": 1}).json()
    assert set(body) == {"items", "search_criteria", "total_count"}
    assert body["total_count"] == len(store.order_ids())
    assert len(body["items"]) == 20
    # page_size is left out of the echo when the request sent none (2.4.4+).
    assert "page_size" not in body["search_criteria"]
    assert body["search_criteria"]["current_page"] == 1
    headers = client.headers
    for prefix in ("/rest/V1", "/rest/all/V1"):
        other = httpx.get(f"{store.base_url}{prefix}/orders", params=criteria(page_size=3), headers=headers)
        assert other.status_code == 200
        assert len(other.json()["items"]) == 3
    wrong = httpx.get(f"{store.base_url}/rest/nowhere/V1/orders", params=criteria(), headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["message"] == "Requested store is not found"


def _num(value: str) -> float:
    return float(value)


CONDITION_CASES: list[tuple[str, list[tuple[str, Any, str]], Callable[[dict[str, Any]], bool]]] = [
    ("eq", [("status", "processing", "eq")], lambda o: o["status"] == "processing"),
    ("neq", [("state", "canceled", "neq")], lambda o: o["state"] != "canceled"),
    ("gt", [("grand_total", "150", "gt")], lambda o: o["grand_total"] > 150),
    ("gteq", [("grand_total", "150", "gteq")], lambda o: o["grand_total"] >= 150),
    ("lt", [("grand_total", "80.5", "lt")], lambda o: o["grand_total"] < 80.5),
    ("lteq", [("entity_id", "10", "lteq")], lambda o: o["entity_id"] <= 10),
    (
        "from",
        [("created_at", "2026-02-10 00:00:00", "from")],
        lambda o: o["created_at"] >= "2026-02-10 00:00:00",
    ),
    ("to", [("created_at", "2026-01-20", "to")], lambda o: o["created_at"] <= "2026-01-20"),
    (
        "in",
        [("status", "pending,holded, closed", "in")],
        lambda o: o["status"] in ("pending", "holded", "closed"),
    ),
    ("nin", [("status", "pending,complete", "nin")], lambda o: o["status"] not in ("pending", "complete")),
    ("like", [("customer_email", "%OLIVIA%", "like")], lambda o: "olivia" in o["customer_email"]),
    (
        "like_underscore",
        [("increment_id", "00000001_", "like")],
        lambda o: re.fullmatch(r"00000001\d", o["increment_id"]) is not None,
    ),
    ("nlike", [("customer_email", "%olivia%", "nlike")], lambda o: "olivia" not in o["customer_email"]),
    ("null", [("customer_id", "1", "null")], lambda o: o.get("customer_id") is None),
    ("notnull", [("customer_id", "1", "notnull")], lambda o: o.get("customer_id") is not None),
    (
        "finset",
        [("applied_rule_ids", "1", "finset")],
        lambda o: "1" in str(o.get("applied_rule_ids", "")).split(","),
    ),
    (
        "or_in_group",
        [("status", "closed", "eq"), ("status", "holded", "eq")],
        lambda o: o["status"] in ("closed", "holded"),
    ),
]


@pytest.mark.parametrize(("name", "group", "expected"), CONDITION_CASES, ids=[c[0] for c in CONDITION_CASES])
def test_each_condition_type(
    store: FakeMagentoStore,
    client: httpx.Client,
    name: str,
    group: list[tuple[str, Any, str]],
    expected: Callable[[dict[str, Any]], bool],
) -> None:
    want = sorted(o["entity_id"] for o in store.orders() if expected(o))
    got = all_ids(client, criteria(group))
    assert got == want
    # Each case must select something and leave something out, or it proves nothing.
    assert 0 < len(got) < len(store.order_ids())


def test_finset_matches_whole_members_only(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(order_count=4, edited_pairs=0)
    rules = {}
    for entity_id, value in zip(store.order_ids(), ["2,3", "12", "3", None], strict=True):
        store.edit_order(entity_id, {"applied_rule_ids": value})
        rules[entity_id] = value
    with api(store) as c:
        assert all_ids(c, criteria([("applied_rule_ids", "3", "finset")])) == [
            i for i, v in rules.items() if v in ("2,3", "3")
        ]
        assert all_ids(c, criteria([("applied_rule_ids", "2", "finset")])) == [
            i for i, v in rules.items() if v == "2,3"
        ]


def test_groups_are_anded(store: FakeMagentoStore, client: httpx.Client) -> None:
    got = all_ids(
        client,
        criteria(
            [("created_at", "2026-01-15 00:00:00", "from")],
            [("created_at", "2026-02-15 00:00:00", "to")],
            [("state", "processing", "eq"), ("state", "new", "eq")],
        ),
    )
    want = sorted(
        o["entity_id"]
        for o in store.orders()
        if "2026-01-15 00:00:00" <= o["created_at"] <= "2026-02-15 00:00:00" and o["state"] in ("processing", "new")
    )
    assert got == want
    assert want


def test_camel_case_spelling_is_read_too(store: FakeMagentoStore, client: httpx.Client) -> None:
    params = {
        "searchCriteria[filterGroups][0][filters][0][field]": "state",
        "searchCriteria[filterGroups][0][filters][0][value]": "complete",
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq",
    }
    assert all_ids(client, params) == sorted(o["entity_id"] for o in store.orders() if o["state"] == "complete")


def test_sort_orders(store: FakeMagentoStore, client: httpx.Client) -> None:
    body = client.get(
        "/V1/orders", params=criteria(page_size=300, sorts=(("status", "ASC"), ("grand_total", "desc")))
    ).json()
    keys = [(o["status"], -o["grand_total"]) for o in body["items"]]
    assert keys == sorted(keys)
    newest = client.get("/V1/orders", params=criteria(page_size=5, sorts=(("created_at", "DESC"),))).json()
    created = sorted((o["created_at"] for o in store.orders()), reverse=True)[:5]
    assert [o["created_at"] for o in newest["items"]] == created


def test_paging_covers_everything_once_and_repeats_the_last_page(store: FakeMagentoStore, client: httpx.Client) -> None:
    total = len(store.order_ids())
    pages = -(-total // 7)
    seen: list[int] = []
    for page in range(1, pages + 1):
        body = client.get("/V1/orders", params=criteria(page_size=7, page=page)).json()
        assert body["total_count"] == total
        assert body["search_criteria"]["page_size"] == 7
        assert body["search_criteria"]["current_page"] == page
        seen.extend(o["entity_id"] for o in body["items"])
    assert seen == sorted(store.order_ids())
    last = [o["entity_id"] for o in client.get("/V1/orders", params=criteria(page_size=7, page=pages)).json()["items"]]
    for beyond in (pages + 1, pages + 5):
        body = client.get("/V1/orders", params=criteria(page_size=7, page=beyond)).json()
        assert [o["entity_id"] for o in body["items"]] == last
        assert body["total_count"] == total


def test_page_size_input_limit(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(order_count=5, max_page_size=300)
    with api(store) as c:
        assert c.get("/V1/orders", params=criteria(page_size=300)).status_code == 200
        over = c.get("/V1/orders", params=criteria(page_size=301))
    assert over.status_code == 400
    assert over.json() == {"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 300}}


def test_search_criteria_is_required(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(order_count=2, validate=False)
    with api(store) as c:
        response = c.get("/V1/orders")
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "searchCriteria"}


def test_get_order_and_unknown_order(store: FakeMagentoStore, client: httpx.Client) -> None:
    entity_id = store.order_ids()[3]
    assert client.get(f"/V1/orders/{entity_id}").json() == store.order(entity_id)
    missing = client.get("/V1/orders/999999")
    assert missing.status_code == 404
    assert missing.json()["message"].startswith("The entity that was requested doesn't exist")


# -- writes --------------------------------------------------------------------------------------------------


def test_ship_partially_then_fully_then_nothing_left(fake_magento_factory: Factory) -> None:
    clock = [ANCHOR + timedelta(days=1)]
    store = fake_magento_factory(seed=2, order_count=60, anchor=ANCHOR, clock=lambda: clock[0])
    order = first(store, lambda o: o["state"] == "new" and len(top_items(o)) >= 2)
    entity_id = order["entity_id"]
    line, other = top_items(order)[:2]
    with api(store) as c:
        ship = {
            "items": [{"order_item_id": line["item_id"], "qty": line["qty_ordered"]}],
            "notify": True,
            "appendComment": True,
            "comment": {"comment": "On its way", "is_visible_on_front": 1},
            "tracks": [{"track_number": "1Z999", "title": "UPS", "carrier_code": "ups"}],
        }
        response = c.post(f"/V1/order/{entity_id}/ship", json=ship)
        assert response.status_code == 200
        shipment_id = response.json()
        assert isinstance(shipment_id, str)
        assert shipment_id.isdigit()
        after = store.order(entity_id)
        shipped = {i["item_id"]: i["qty_shipped"] for i in after["items"]}
        assert shipped[line["item_id"]] == line["qty_ordered"]
        assert shipped[other["item_id"]] == 0
        assert (after["state"], after["status"]) == ("processing", "processing")
        assert after["updated_at"] == "2026-03-02 00:00:00"

        listed = c.get("/V1/shipments", params=criteria([("order_id", str(entity_id), "eq")])).json()
        assert listed["total_count"] == 1
        assert listed["items"][0]["entity_id"] == int(shipment_id)
        assert listed["items"][0]["tracks"][0]["track_number"] == "1Z999"
        assert listed["items"][0]["tracks"][0]["carrier_code"] == "ups"

        clock[0] += timedelta(minutes=5)
        assert c.post(f"/V1/order/{entity_id}/ship", json={"items": []}).status_code == 200
        after = store.order(entity_id)
        assert all(i["qty_shipped"] == i["qty_ordered"] for i in after["items"])
        # Everything shipped but nothing invoiced: Magento keeps the order in processing.
        assert after["state"] == "processing"
        assert "total_paid" not in after
        assert after["updated_at"] == "2026-03-02 00:05:00"

        again = c.post(f"/V1/order/{entity_id}/ship", json={"items": []})
        assert again.status_code == 400
        assert "does not allow a shipment" in again.json()["message"]
        assert len(store.shipments(entity_id)) == 2


def test_ship_more_than_ordered_is_refused(store: FakeMagentoStore, client: httpx.Client) -> None:
    order = first(store, lambda o: o["state"] == "new")
    line = top_items(order)[0]
    response = client.post(
        f"/V1/order/{order['entity_id']}/ship",
        json={"items": [{"order_item_id": line["item_id"], "qty": line["qty_ordered"] + 1}]},
    )
    assert response.status_code == 400
    assert store.order(order["entity_id"])["items"][0]["qty_shipped"] == 0


def test_shipping_a_configurable_line_ships_its_child(store: FakeMagentoStore, client: httpx.Client) -> None:
    order = first(store, lambda o: o["state"] == "new" and any("parent_item_id" in i for i in o["items"]))
    child = next(i for i in order["items"] if "parent_item_id" in i)
    qty = child["qty_ordered"]
    response = client.post(
        f"/V1/order/{order['entity_id']}/ship",
        json={"items": [{"order_item_id": child["parent_item_id"], "qty": qty}]},
    )
    assert response.status_code == 200
    after = {i["item_id"]: i for i in store.order(order["entity_id"])["items"]}
    assert after[child["parent_item_id"]]["qty_shipped"] == qty
    assert after[child["item_id"]]["qty_shipped"] == qty
    assert after[child["item_id"]]["parent_item"]["qty_shipped"] == qty


def test_invoice_then_ship_completes(store: FakeMagentoStore, client: httpx.Client) -> None:
    order = first(store, lambda o: o["state"] == "new")
    entity_id = order["entity_id"]
    assert "total_paid" not in order
    response = client.post(f"/V1/order/{entity_id}/invoice", json={"capture": True, "notify": False})
    assert response.status_code == 200
    assert isinstance(response.json(), str)
    paid = store.order(entity_id)
    assert paid["total_paid"] == paid["grand_total"] == paid["total_invoiced"]
    assert paid["total_due"] == 0
    assert paid["base_total_due"] == 0
    assert (paid["state"], paid["status"]) == ("processing", "processing")
    listed = client.get("/V1/invoices", params=criteria([("order_id", str(entity_id), "eq")])).json()
    assert listed["total_count"] == 1
    assert listed["items"][0]["entity_id"] == int(response.json())
    again = client.post(f"/V1/order/{entity_id}/invoice", json={"capture": True})
    assert again.status_code == 400
    assert "does not allow an invoice" in again.json()["message"]
    assert client.post(f"/V1/order/{entity_id}/ship", json={}).status_code == 200
    assert (store.order(entity_id)["state"], store.order(entity_id)["status"]) == ("complete", "complete")


def _comment(entity_id: int, comment: str, status: str | None = None, notified: int = 0) -> dict[str, Any]:
    history: dict[str, Any] = {
        "comment": comment,
        "is_customer_notified": notified,
        "is_visible_on_front": 0,
        "parent_id": entity_id,
    }
    if status is not None:
        history["status"] = status
    return {"statusHistory": history}


def test_comment_status_must_belong_to_the_current_state(store: FakeMagentoStore, client: httpx.Client) -> None:
    pending = first(store, lambda o: o["state"] == "new")
    entity_id = pending["entity_id"]
    refused = client.post(f"/V1/orders/{entity_id}/comments", json=_comment(entity_id, "ok", "processing"))
    assert refused.status_code == 400
    assert refused.json() == {
        "message": 'Unable to add comment: The status "%1" is not part of the order status history.',
        "parameters": ["processing"],
    }
    assert store.order(entity_id)["status"] == "pending"
    accepted = client.post(f"/V1/orders/{entity_id}/comments", json=_comment(entity_id, "Seen by ERP", "pending", 1))
    assert accepted.status_code == 200
    assert accepted.json() is True
    after = store.order(entity_id)
    newest = after["status_histories"][0]
    assert newest["comment"] == "Seen by ERP"
    assert newest["is_customer_notified"] == 1
    assert newest["status"] == "pending"
    assert after["updated_at"] > pending["updated_at"]

    processing = first(store, lambda o: o["state"] == "processing" and o["status"] == "processing")
    pid = processing["entity_id"]
    assert client.post(f"/V1/orders/{pid}/comments", json=_comment(pid, "check", "fraud")).json() is True
    assert store.order(pid)["status"] == "fraud"
    assert client.post(f"/V1/orders/{pid}/comments", json=_comment(pid, "note only")).json() is True
    assert store.order(pid)["status"] == "fraud"


def test_cancel(store: FakeMagentoStore, client: httpx.Client) -> None:
    order = first(store, lambda o: o["state"] == "new")
    assert client.post(f"/V1/orders/{order['entity_id']}/cancel").json() is True
    after = store.order(order["entity_id"])
    assert (after["state"], after["status"]) == ("canceled", "canceled")
    assert after["total_canceled"] == after["grand_total"]
    assert all(i["qty_canceled"] == i["qty_ordered"] for i in after["items"])
    assert client.post(f"/V1/orders/{order['entity_id']}/cancel").json() is False
    for state in ("complete", "closed"):
        done = first(store, lambda o, s=state: o["state"] == s)
        assert client.post(f"/V1/orders/{done['entity_id']}/cancel").json() is False
        assert store.order(done["entity_id"])["state"] == state


def test_hold_and_unhold(store: FakeMagentoStore, client: httpx.Client) -> None:
    order = first(store, lambda o: o["state"] == "processing" and o["status"] == "processing")
    entity_id = order["entity_id"]
    assert client.post(f"/V1/orders/{entity_id}/hold").json() is True
    held = store.order(entity_id)
    assert (held["state"], held["status"]) == ("holded", "holded")
    assert client.post(f"/V1/orders/{entity_id}/hold").status_code == 400
    assert client.post(f"/V1/orders/{entity_id}/unhold").json() is True
    back = store.order(entity_id)
    assert (back["state"], back["status"]) == ("processing", "processing")
    assert "hold_before_state" not in back
    refused = client.post(f"/V1/orders/{entity_id}/unhold")
    assert refused.status_code == 400
    assert refused.json()["message"] == "You cannot remove the hold."
    canceled = first(store, lambda o: o["state"] == "canceled")
    assert client.post(f"/V1/orders/{canceled['entity_id']}/hold").status_code == 400


# -- products, carts, auth -----------------------------------------------------------------------------------


def test_product_search(store: FakeMagentoStore, client: httpx.Client) -> None:
    body = client.get("/V1/products", params=criteria([("name", "%hoodie%", "like")], page_size=100)).json()
    names = [p["name"] for p in body["items"]]
    assert names
    assert all("hoodie" in n.lower() for n in names)
    assert body["total_count"] == sum("hoodie" in p["name"].lower() for p in store.products)
    by_sku = client.get("/V1/products", params=criteria([("sku", "GB01", "eq")])).json()
    assert [p["name"] for p in by_sku["items"]] == ["Trailhead Water Bottle"]
    assert client.get("/V1/products/GB01").json()["price"] == 12.99


def _address(email: str) -> dict[str, Any]:
    return {
        "region": "Texas",
        "region_id": 57,
        "region_code": "TX",
        "country_id": "US",
        "street": ["1 Test Lane"],
        "telephone": "512-555-0100",
        "postcode": "78701",
        "city": "Austin",
        "firstname": "Pat",
        "lastname": "Phone",
        "email": email,
    }


def test_guest_cart_creates_an_order(store: FakeMagentoStore) -> None:
    with httpx.Client(base_url=store.api_url()) as anonymous:
        cart_id = anonymous.post("/V1/guest-carts").json()
        assert isinstance(cart_id, str)
        assert len(cart_id) == 32
        item = anonymous.post(
            f"/V1/guest-carts/{cart_id}/items",
            json={"cartItem": {"sku": "GB02", "qty": 2, "quote_id": cart_id}},
        )
        assert item.status_code == 200
        assert item.json()["price"] == 45
        unknown = anonymous.post(
            f"/V1/guest-carts/{cart_id}/items",
            json={"cartItem": {"sku": "NOPE", "qty": 1, "quote_id": cart_id}},
        )
        assert unknown.status_code == 404
        shipping = anonymous.post(
            f"/V1/guest-carts/{cart_id}/shipping-information",
            json={
                "addressInformation": {
                    "shipping_address": _address("pat@example.com"),
                    "billing_address": _address("pat@example.com"),
                    "shipping_method_code": "flatrate",
                    "shipping_carrier_code": "flatrate",
                }
            },
        )
        assert shipping.status_code == 200
        assert shipping.json()["payment_methods"]
        placed = anonymous.put(f"/V1/guest-carts/{cart_id}/order", json={"paymentMethod": {"method": "checkmo"}})
        assert placed.status_code == 200
        entity_id = int(placed.json())
        assert (
            anonymous.put(f"/V1/guest-carts/{cart_id}/order", json={"paymentMethod": {"method": "checkmo"}}).status_code
            == 404
        )
    order = store.order(entity_id)
    assert order["customer_is_guest"] == 1
    assert order["customer_email"] == "pat@example.com"
    assert [(i["sku"], i["qty_ordered"]) for i in order["items"]] == [("GB02", 2)]
    assert order["grand_total"] == 100  # 2 x 45 + flat rate 5 per item
    assert (order["state"], order["status"]) == ("new", "pending")
    assert order["billing_address"]["city"] == "Austin"


def test_customer_cart_as_admin_creates_an_order(store: FakeMagentoStore, client: httpx.Client) -> None:
    quote_id = client.post("/V1/customers/1042/carts").json()
    assert isinstance(quote_id, int)
    client.post(
        f"/V1/carts/{quote_id}/items",
        json={"cartItem": {"sku": "MH01-M-Blue", "qty": 1, "quote_id": str(quote_id)}},
    ).raise_for_status()
    client.post(
        f"/V1/carts/{quote_id}/shipping-information",
        json={
            "addressInformation": {
                "shipping_address": _address("c@example.com"),
                "shipping_method_code": "bestway",
                "shipping_carrier_code": "tablerate",
            }
        },
    ).raise_for_status()
    entity_id = int(
        client.put(f"/V1/carts/{quote_id}/order", json={"paymentMethod": {"method": "banktransfer"}}).json()
    )
    order = store.order(entity_id)
    assert order["customer_id"] == 1042
    assert order["customer_is_guest"] == 0
    parent, child = order["items"]
    assert parent["product_type"] == "configurable"
    assert child["parent_item_id"] == parent["item_id"]
    assert order["payment"]["method"] == "banktransfer"


def test_admin_token(store: FakeMagentoStore) -> None:
    with httpx.Client(base_url=store.api_url()) as anonymous:
        bad = anonymous.post("/V1/integration/admin/token", json={"username": "admin", "password": "nope"})
        assert bad.status_code == 401
        assert "sign-in was incorrect" in bad.json()["message"]
        good = anonymous.post("/V1/integration/admin/token", json={"username": "admin", "password": "admin123"})
        assert good.status_code == 200
        token = good.json()
    assert isinstance(token, str)
    assert token
    with api(store, token) as admin:
        assert admin.get("/V1/orders", params=criteria(page_size=1)).status_code == 200
        store.expire_admin_tokens()
        assert admin.get("/V1/orders", params=criteria(page_size=1)).status_code == 401


def test_unauthorized_body(store: FakeMagentoStore) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{store.api_url()}/V1/orders", params=criteria(), headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Sales::actions_view"},
        }
    ship = httpx.post(f"{store.api_url()}/V1/order/1/ship", json={})
    assert ship.json()["parameters"] == {"resources": "Magento_Sales::ship"}


def test_oauth_signed_requests(fake_magento_factory: Factory) -> None:
    keys = MagentoOAuthKeys("ck", "cs-secret", "at", "ats-secret")
    assert "secret" not in repr(keys)
    store = fake_magento_factory(order_count=3, oauth=keys, tokens=())

    def signed(url: str, method: str = "GET", consumer_secret: str = "cs-secret", body: Any = None) -> httpx.Response:
        signer = Client(
            "ck",
            client_secret=consumer_secret,
            resource_owner_key="at",
            resource_owner_secret="ats-secret",
            signature_method=SIGNATURE_HMAC_SHA256,
        )
        uri, headers, _ = signer.sign(url, http_method=method)
        return httpx.request(method, uri, headers=headers, json=body)

    url = str(httpx.URL(f"{store.api_url()}/V1/orders", params=criteria(page_size=2)))
    assert signed(url).status_code == 200
    assert signed(url, consumer_secret="wrong").status_code == 401
    entity_id = store.order_ids()[0]
    assert signed(f"{store.api_url()}/V1/orders/{entity_id}/hold", "POST").status_code in (200, 400)
    # Changing the query after signing breaks the signature.
    signer = Client(
        "ck",
        client_secret="cs-secret",
        resource_owner_key="at",
        resource_owner_secret="ats-secret",
        signature_method=SIGNATURE_HMAC_SHA256,
    )
    _, headers, _ = signer.sign(url, http_method="GET")
    tampered = httpx.get(
        url.replace("searchCriteria%5BpageSize%5D=2", "searchCriteria%5BpageSize%5D=3"), headers=headers
    )
    assert tampered.status_code == 401
    assert httpx.get(url, headers={"Authorization": 'OAuth oauth_consumer_key="ck"'}).status_code == 401


# -- knobs ---------------------------------------------------------------------------------------------------


def test_injected_429_and_5xx(store: FakeMagentoStore, client: httpx.Client) -> None:
    store.inject_429(2, retry_after=7)
    store.inject_5xx(1, status=502)
    params = criteria(page_size=1)
    for _ in range(2):
        limited = client.get("/V1/orders", params=params)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "7"
        assert set(limited.json()) == {"message", "parameters"}
    assert client.get("/V1/orders", params=params).status_code == 502
    assert client.get("/V1/orders", params=params).status_code == 200


def test_dropped_connection_is_a_transport_error(store: FakeMagentoStore, client: httpx.Client) -> None:
    params = criteria(page_size=1)
    assert client.get("/V1/orders", params=params).status_code == 200  # a kept-alive connection
    store.drop_connections(1)
    with pytest.raises(httpx.TransportError):
        client.get("/V1/orders", params=params)
    assert store.dropped_connections == 1
    assert client.get("/V1/orders", params=params).status_code == 200


def test_latency_is_applied_per_request_without_serialising(store: FakeMagentoStore) -> None:
    store.latency = 0.2

    def fetch() -> None:
        with api(store) as c:
            c.get("/V1/orders", params=criteria(page_size=1)).raise_for_status()

    assert in_threads(fetch, 4) == []
    assert store.latency_applied == pytest.approx(0.8)
    assert store.peak_concurrent_latency >= 2


def test_rate_limit_refuses_past_the_window_with_retry_after_and_counts(
    fake_magento_factory: Factory,
) -> None:
    now = [100.0]
    store = fake_magento_factory(seed=3, order_count=5, rate_limit=3, monotonic=lambda: now[0], validate=False)
    params = criteria(page_size=1)
    with api(store) as c:
        assert c.get("/V1/orders", params=params).status_code == 200
        assert c.get("/V1/nowhere").status_code == 404  # every request counts, whatever it asks for
        unauthenticated = httpx.get(f"{store.api_url()}/V1/orders", params=params)
        assert unauthenticated.status_code == 401
        now[0] = 100.4
        refused = c.get("/V1/orders", params=params)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        body = refused.json()
        assert set(body) == {"message", "parameters"}
        assert "%1" in body["message"]
        assert body["parameters"] == ["1"]
        assert store.throttled == 1
        # A refused request takes no place: once the first second is over, there is room again.
        now[0] = 100.999
        assert c.get("/V1/orders", params=params).status_code == 429
        now[0] = 101.0
        assert [c.get("/V1/orders", params=params).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert store.throttled == 3
    stats = store.stats
    assert stats["requests"] == store.request_count == 9
    assert stats["throttled"] == 3
    assert stats["injected"] == 0


def test_rate_limit_spares_injected_faults_and_can_change_while_serving(
    fake_magento_factory: Factory,
) -> None:
    now = [0.0]
    store = fake_magento_factory(seed=3, order_count=5, monotonic=lambda: now[0])
    assert store.rate_limit is None
    params = criteria(page_size=1)
    with api(store) as c:
        store.rate_limit = 1
        assert c.get("/V1/orders", params=params).status_code == 200
        store.inject_429(1, retry_after=7)
        throttled = c.get("/V1/orders", params=params)
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
        now[0] = 1.0
        injected = c.get("/V1/orders", params=params)  # the injected fault waited for an admitted request
        assert (injected.status_code, injected.headers["Retry-After"]) == (429, "7")
        store.rate_limit = None
        assert [c.get("/V1/orders", params=params).status_code for _ in range(3)] == [200] * 3
        # Fractional rates: 0.5 per second is one request per two seconds; Retry-After rounds up.
        store.rate_limit = 0.5
        now[0] = 5.0
        assert c.get("/V1/orders", params=params).status_code == 200
        now[0] = 5.5
        slow = c.get("/V1/orders", params=params)
        assert (slow.status_code, slow.headers["Retry-After"]) == (429, "2")
        now[0] = 7.0
        assert c.get("/V1/orders", params=params).status_code == 200
    assert store.throttled == 2
    assert store.stats["injected"] == 1
    with pytest.raises(ValueError, match="positive"):
        store.rate_limit = 0


def test_api_paths_may_end_with_a_slash(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=3, order_count=5, validate=False)
    params = criteria(page_size=2, sorts=(("entity_id", "ASC"),))
    with api(store) as c:
        plain = c.get("/V1/orders", params=params)
        slashed = c.get("/V1/orders/", params=params)
        assert slashed.status_code == 200
        assert slashed.json() == plain.json()
        entity_id = plain.json()["items"][0]["entity_id"]
        assert c.get(f"/V1/orders/{entity_id}/").json()["entity_id"] == entity_id
        assert c.get("/V1/").status_code == 404


def test_edit_order_bumps_updated_at(fake_magento_factory: Factory) -> None:
    now = [ANCHOR + timedelta(hours=3)]
    store = fake_magento_factory(seed=4, order_count=10, anchor=ANCHOR, clock=lambda: now[0])
    order = first(store, lambda o: o["state"] == "new" and "parent_item_id" not in o["items"][0])
    entity_id = order["entity_id"]
    line = order["items"][0]
    store.edit_order(
        entity_id,
        {
            "shipping_address": {"street": ["99 New Road"], "city": "Lyon"},
            "item_qty": {line["item_id"]: line["qty_ordered"] + 2},
        },
    )
    after = store.order(entity_id)
    assert after["updated_at"] == "2026-03-01 03:00:00" > order["updated_at"]
    address = after["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    assert address["street"] == ["99 New Road"]
    assert address["city"] == "Lyon"
    assert after["items"][0]["qty_ordered"] == line["qty_ordered"] + 2
    assert after["grand_total"] > order["grand_total"]
    assert after["extension_attributes"]["shipping_assignments"][0]["items"][0]["qty_ordered"] == (
        line["qty_ordered"] + 2
    )
    with api(store) as c:
        changed = all_ids(c, criteria([("updated_at", "2026-03-01 02:00:00", "gteq")]))
    assert changed == [entity_id]


def test_admin_edit_creates_the_linked_entity(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=4, order_count=10, anchor=ANCHOR, edited_pairs=0)
    order = first(store, lambda o: o["state"] == "new")
    line = top_items(order)[0]
    new_id = store.admin_edit(order["entity_id"], {"item_qty": {line["item_id"]: line["qty_ordered"] + 1}})
    edited, original = store.order(new_id), store.order(order["entity_id"])
    assert edited["increment_id"] == order["increment_id"] + "-1"
    assert edited["relation_parent_id"] == str(order["entity_id"])
    assert edited["original_increment_id"] == order["increment_id"]
    assert top_items(edited)[0]["qty_ordered"] == line["qty_ordered"] + 1
    assert original["state"] == "canceled"
    assert original["relation_child_id"] == str(new_id)
    second = store.admin_edit(new_id, {})
    assert store.order(second)["increment_id"] == order["increment_id"] + "-2"
    assert store.order(second)["relation_parent_id"] == str(new_id)
    with api(store) as c:
        assert all_ids(c, criteria([("relation_parent_id", "", "notnull")])) == [new_id, second]


def test_request_log_and_hooks(store: FakeMagentoStore, client: httpx.Client) -> None:
    seen: list[ReceivedRequest] = []
    store.on_request(seen.append)
    store.clear_requests()
    client.post("/V1/orders/1/comments", json=_comment(1, "hello"))
    (received,) = store.requests
    assert seen == [received]
    assert (received.method, received.path) == ("POST", "/rest/default/V1/orders/1/comments")
    assert received.json()["statusHistory"]["comment"] == "hello"
    assert received.headers["authorization"] == f"Bearer {store.token}"
    assert store.token not in repr(received)

    def broken(_: ReceivedRequest) -> None:
        raise ValueError("check failed")

    store.on_request(broken)
    response = client.get("/V1/orders", params=criteria(page_size=1))
    assert response.status_code == 500
    assert "check failed" in response.text
    assert [str(e) for e in store.hook_errors] == ["check failed"]


def test_concurrent_keep_alive_clients(store: FakeMagentoStore) -> None:
    store.clear_requests()
    failures: list[BaseException] = []
    with api(store) as shared:

        def work(page: int) -> None:
            try:
                for _ in range(10):
                    body = shared.get("/V1/orders", params=criteria(page_size=10, page=page)).json()
                    assert len(body["items"]) == 10
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(p,)) for p in range(1, 7)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures
    assert len(store.requests) == 60


def test_separate_process_entry_point() -> None:
    from ecc_connectors.testing.magento_main import spawn_fake_magento

    with spawn_fake_magento("--edited-pairs", "0", orders=5) as process:
        response = httpx.get(
            f"{process.base_url}/rest/V1/orders",
            params=criteria(),
            headers={"Authorization": f"Bearer {process.token}"},
        )
        assert response.status_code == 200
        assert response.json()["total_count"] == 5
    assert process.process.returncode is not None


# -- schema validation ---------------------------------------------------------------------------------------


def test_fake_store_requests_validate(
    magento_schema_validator: magento_schema.MagentoSchema, store: FakeMagentoStore, client: httpx.Client
) -> None:
    order = first(store, lambda o: o["state"] == "new")
    store.clear_requests()
    client.get(
        "/V1/orders",
        params=criteria([("status", "pending", "eq")], page_size=5, sorts=(("entity_id", "ASC"),)),
    )
    line = top_items(order)[0]
    client.post(
        f"/V1/order/{order['entity_id']}/ship",
        json={
            "items": [{"order_item_id": line["item_id"], "qty": 1}],
            "notify": True,
            "tracks": [{"track_number": "T1", "title": "DHL", "carrier_code": "dhl"}],
        },
    )
    assert len(store.requests) == 2
    for received in store.requests:
        magento_schema.validate_raw(received.method, received.path, received.query, received.headers, received.body)


def test_validator_reports_invalid_requests(
    magento_schema_validator: magento_schema.MagentoSchema, fake_magento_factory: Factory
) -> None:
    store = fake_magento_factory(order_count=3, validate=False)
    with api(store) as c:
        c.post(
            "/V1/order/1/ship",
            json={
                "items": [{"order_item_id": "24", "qty": 1}],
                "tracks": [{"track_number": "X"}],
                "notifyCustomer": True,
            },
        )
        c.get(
            "/V1/orders",
            params={
                "searchCriteria[filter_groups][0][filters][0][field]": "status",
                "searchCriteria[filter_groups][0][filters][0][condition_type]": "equals",
                "searchCriteria[page_size]": "ten",
                "limit": "5",
            },
        )
    ship, search = store.requests
    errors = magento_schema.request_errors(ship.method, ship.path, ship.query, ship.headers, ship.body)
    text = "\n".join(errors)
    assert "order_item_id: '24' is not of type 'integer'" in text
    assert "'title' is a required property" in text
    assert "'carrier_code' is a required property" in text
    assert "'notifyCustomer' is not declared" in text
    with pytest.raises(AssertionError, match="value' is required"):
        magento_schema.validate_raw(search.method, search.path, search.query, search.headers, search.body)
    text = "\n".join(magento_schema.request_errors(search.method, search.path, search.query))
    assert "unknown condition_type 'equals'" in text
    assert "'searchCriteria[page_size]': 'ten' is not an integer" in text
    assert "'limit' is not declared" in text
    with pytest.raises(AssertionError, match="path not in the schema"):
        magento_schema.validate_request(httpx.Request("GET", "http://x/rest/V1/orderz"))
    with pytest.raises(AssertionError, match="method not allowed"):
        magento_schema.validate_request(httpx.Request("DELETE", "http://x/rest/default/V1/orders/5"))
    with pytest.raises(AssertionError, match="parent_id"):
        magento_schema.validate_request(
            httpx.Request(
                "POST",
                "http://x/rest/default/V1/orders/5/comments",
                json={"statusHistory": {"comment": "x", "is_customer_notified": 0, "is_visible_on_front": 0}},
            )
        )
    magento_schema.validate_request(
        httpx.Request("POST", "http://x/rest/default/V1/orders/5/comments", json=_comment(5, "fine", "pending"))
    )


def test_schema_loads_once_per_process(magento_schema_validator: magento_schema.MagentoSchema) -> None:
    assert magento_schema.magento_schema() is magento_schema_validator
    assert magento_schema.load_seconds is not None


def test_fake_magento_fixture_fails_a_test_that_sent_an_invalid_request(tmp_path: Path) -> None:
    shared_path(*magento_schema.SPEC_PARTS)
    tests_dir = Path(__file__).resolve().parent
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(tests_dir)!r})\npytest_plugins = ['plugin_magento']\n"
    )
    (tmp_path / "test_inner.py").write_text(
        "import httpx\n\n"
        "def _post(store, body):\n"
        "    return httpx.post(store.api_url() + '/V1/order/1/ship', json=body,\n"
        "                      headers={'Authorization': 'Bearer ' + store.token})\n\n"
        "def test_bad(fake_magento):\n"
        "    _post(fake_magento, {'items': [{'order_item_id': 'one', 'qty': 1}]})\n\n"
        "def test_good(fake_magento):\n"
        "    _post(fake_magento, {'items': [{'order_item_id': 1, 'qty': 1}]})\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "2 passed, 1 error" in output  # test_bad itself ran; its teardown fails
    assert "ERROR at teardown of test_bad" in output
    assert "do not match Adobe's schema" in output
    assert "'one' is not of type 'integer'" in output


def test_fields_filter_trims_the_response(store: FakeMagentoStore, client: httpx.Client) -> None:
    params = {**criteria(page_size=3), "fields": "items[entity_id,status,billing_address[city]],total_count"}
    body = client.get("/V1/orders", params=params).json()
    assert set(body) == {"items", "total_count"}
    assert body["total_count"] == len(store.order_ids())
    for item in body["items"]:
        assert set(item) == {"entity_id", "status", "billing_address"}
        assert set(item["billing_address"]) == {"city"}


def test_stop_hangs_up_on_kept_alive_clients(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(order_count=2)
    with api(store) as c:
        assert c.get("/V1/orders", params=criteria()).status_code == 200
        store.stop()
        with pytest.raises(httpx.TransportError):
            c.get("/V1/orders", params=criteria())


def test_many_concurrent_async_requests(store: FakeMagentoStore) -> None:
    import asyncio

    page_count = -(-len(store.order_ids()) // 5)

    async def run() -> list[int]:
        headers = {"Authorization": f"Bearer {store.token}"}
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=store.api_url(), headers=headers, limits=limits) as c:
            pages = await asyncio.gather(
                *(c.get("/V1/orders", params=criteria(page_size=5, page=p)) for p in range(1, page_count + 1))
            )
        return [o["entity_id"] for page in pages for o in page.json()["items"]]

    ids = asyncio.run(run())
    assert ids == sorted(store.order_ids())


def test_served_orders_match_the_schema_like_real_ones(
    magento_schema_validator: magento_schema.MagentoSchema, store: FakeMagentoStore, client: httpx.Client
) -> None:
    # Real stores send null for these two payment fields although the schema does not allow it (the recorded
    # fixtures do the same); everything else must match.
    tolerated = {".payment.account_status", ".payment.cc_last4"}
    listed = client.get("/V1/orders", params=criteria(page_size=300)).json()
    assert (
        magento_schema_validator.payload_errors("sales-data-order-search-result-interface", {**listed, "items": []})
        == []
    )
    for order in listed["items"]:
        errors = magento_schema_validator.payload_errors("sales-data-order-interface", order)
        assert {e.split(":")[0] for e in errors} <= tolerated, errors
    products = client.get("/V1/products", params=criteria(page_size=5)).json()
    for product in products["items"]:
        assert magento_schema_validator.payload_errors("catalog-data-product-interface", product) == []
    real = json.loads(shared_path("fixtures", "magento", "order_get_16_guest.json").read_text(encoding="utf-8"))
    real_errors = magento_schema_validator.payload_errors("sales-data-order-interface", real)
    assert {e.split(":")[0] for e in real_errors} == tolerated


# -- hostile store: clock, churn, ties, broken answers, poisons, lies ----------------------------------------


def _fixed_clock(start: datetime) -> tuple[list[datetime], Callable[[], datetime]]:
    now = [start]
    return now, lambda: now[0]


def test_date_header_is_the_store_clock_and_comes_once(fake_magento_factory: Factory) -> None:
    from email.utils import parsedate_to_datetime

    now, clock = _fixed_clock(datetime(2030, 5, 17, 8, 30, 15, 999_000, tzinfo=timezone.utc))
    store = fake_magento_factory(seed=3, order_count=5, clock=clock, validate=False)
    entity_id = first(store, lambda o: o["state"] == "new")["entity_id"]
    with api(store) as c:
        listed = c.get("/V1/orders", params=criteria(page_size=1))
        assert listed.headers.get_list("date") == ["Fri, 17 May 2030 08:30:15 GMT"]
        # Every answer carries it: errors, refusals, injected faults.
        assert c.get("/V1/orders/999999").headers.get_list("date") == ["Fri, 17 May 2030 08:30:15 GMT"]
        unauthorized = httpx.get(f"{store.api_url()}/V1/orders", params=criteria())
        assert unauthorized.headers.get_list("date") == ["Fri, 17 May 2030 08:30:15 GMT"]
        store.inject_5xx(1)
        assert c.get("/V1/orders", params=criteria()).headers.get_list("date") == ["Fri, 17 May 2030 08:30:15 GMT"]
        # A store clock behind the client's; what the store writes is stamped from the same clock.
        now[0] = datetime(2019, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
        posted = c.post(f"/V1/orders/{entity_id}/comments", json=_comment(entity_id, "clock check"))
        assert posted.status_code == 200
        sent = parsedate_to_datetime(posted.headers["date"])
        assert sent == now[0]
    newest = store.comments(entity_id)[0]
    assert newest["created_at"] == "2019-12-31 23:59:59" == store.order(entity_id)["updated_at"]
    assert store.http_date() == "Tue, 31 Dec 2019 23:59:59 GMT"


def _page_ids(c: httpx.Client, params: dict[str, Any]) -> list[int]:
    response = c.get("/V1/orders", params=params)
    assert response.status_code == 200, response.text
    return [o["entity_id"] for o in response.json()["items"]]


def test_churn_changes_the_store_between_listing_answers(fake_magento_factory: Factory) -> None:
    _, clock = _fixed_clock(ANCHOR + timedelta(hours=2))
    store = fake_magento_factory(seed=8, order_count=30, edited_pairs=0, anchor=ANCHOR, clock=clock)
    before = {o["entity_id"]: o for o in store.orders()}
    churn = store.churn(2, edit=2, create=1, leave=1, seed=5)
    params = criteria(page_size=10, sorts=(("updated_at", "ASC"), ("entity_id", "ASC")))
    with api(store) as c:
        first_page = c.get("/V1/orders", params=params).json()
        assert first_page["total_count"] == 30
        assert churn.events == []
        second = c.get("/V1/orders", params={**params, "searchCriteria[currentPage]": 2}).json()
        # The change happened before this answer was computed: it counts the new order already.
        assert second["total_count"] == 31
        assert store.listing_requests == 2
        c.get("/V1/orders", params=params).raise_for_status()
    kinds = [(e.listing_request, e.kind) for e in churn.events]
    assert kinds == [(2, "edit"), (2, "edit"), (2, "leave"), (2, "create")]
    assert all(e.updated_at == "2026-03-01 02:00:00" for e in churn.events)
    for entity_id in churn.entity_ids("edit"):
        after = store.order(entity_id)
        city = after["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]["city"]
        assert city == f"Churned 2-{entity_id}"
        assert after["updated_at"] == "2026-03-01 02:00:00" > before[entity_id]["updated_at"]
    (left,) = churn.entity_ids("leave")
    assert before[left]["state"] in ("new", "processing")
    assert (store.order(left)["state"], store.order(left)["status"]) == ("holded", "holded")
    (created,) = churn.entity_ids("create")
    assert created not in before
    new = store.order(created)
    assert (new["state"], new["status"], new["created_at"]) == ("new", "pending", "2026-03-01 02:00:00")
    assert len(store.order_ids()) == 31  # it fired once

    # Deterministic for a seed: the same store and churn make the same changes.
    twin = fake_magento_factory(seed=8, order_count=30, edited_pairs=0, anchor=ANCHOR, clock=clock)
    again = twin.churn(1, edit=2, create=1, leave=1, seed=5)
    with api(twin) as c:
        c.get("/V1/orders", params=params).raise_for_status()
    assert [(e.kind, e.entity_id) for e in again.events] == [(e.kind, e.entity_id) for e in churn.events]


def test_churn_on_a_predicate_and_schedule(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=8, order_count=10, edited_pairs=0, anchor=ANCHOR)
    with api(store) as c:
        c.get("/V1/orders", params=criteria(page_size=1)).raise_for_status()  # before the churn: not counted
        churn = store.churn(lambda n: n % 2 == 0, create=1, seed=1)
        seen: list[int] = []
        store.schedule(after_listing_requests=2, action=lambda s: seen.append(s.listing_requests))
        c.get("/V1/orders/1").raise_for_status()  # not a listing
        totals = [c.get("/V1/orders", params=criteria(page_size=1)).json()["total_count"] for _ in range(5)]
        assert totals == [10, 11, 11, 12, 12]
        assert seen == [4]  # after the churn's 1st and 2nd listings: before the 3rd (the store's 4th)
        churn.stop()
        assert [c.get("/V1/orders", params=criteria(page_size=1)).json()["total_count"] for _ in range(2)] == [12, 12]
    assert [e.listing_request for e in churn.events] == [2, 4]

    def broken(_: FakeMagentoStore) -> None:
        raise RuntimeError("scheduled change broke")

    store.schedule(0, broken)
    with api(store) as c:
        failed = c.get("/V1/orders", params=criteria(page_size=1))
    assert failed.status_code == 500
    assert "scheduled change broke" in failed.text
    assert [str(e) for e in store.hook_errors] == ["scheduled change broke"]


def test_churn_is_thread_safe_under_concurrent_listing(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=2, order_count=50, edited_pairs=0, anchor=ANCHOR)
    churn = store.churn(lambda n: True, edit=1, create=1, seed=9)
    params = criteria(page_size=5, sorts=(("updated_at", "ASC"), ("entity_id", "ASC")))

    def work() -> None:
        with api(store) as c:
            for page in range(1, 6):
                body = c.get("/V1/orders", params={**params, "searchCriteria[currentPage]": page}).json()
                assert len(body["items"]) == 5

    assert in_threads(work, 6) == []
    assert store.listing_requests == 30
    assert len(churn.entity_ids("create")) == 30
    assert sorted({e.listing_request for e in churn.events}) == list(range(1, 31))
    assert len(store.order_ids()) == 80


def _tied_store(fake_magento_factory: Factory, **kwargs: Any) -> FakeMagentoStore:
    """30 orders: 3 stamps, 10 orders each (written at the same second, as an import or a mass action does)."""
    now, clock = _fixed_clock(ANCHOR)
    store = fake_magento_factory(seed=4, order_count=0, edited_pairs=0, anchor=ANCHOR, clock=clock, **kwargs)
    for minute in range(3):
        now[0] = ANCHOR + timedelta(minutes=minute)
        for _ in range(10):
            store.generate_order()
    return store


def test_shuffle_ties_reorders_rows_tied_on_every_sort_field(fake_magento_factory: Factory) -> None:
    store = _tied_store(fake_magento_factory, shuffle_ties=True)
    assert store.shuffle_ties
    ids = store.order_ids()
    by_stamp = criteria(page_size=30, sorts=(("updated_at", "ASC"),))
    with api(store) as c:
        orders = [c.get("/V1/orders", params=by_stamp).json()["items"] for _ in range(5)]
        for items in orders:
            stamps = [o["updated_at"] for o in items]
            assert stamps == sorted(stamps)  # the sort itself holds; only ties move
            assert sorted(o["entity_id"] for o in items) == ids
        assert len({tuple(o["entity_id"] for o in items) for items in orders}) > 1
        # A tie-breaker leaves nothing to shuffle.
        exact = criteria(page_size=30, sorts=(("updated_at", "ASC"), ("entity_id", "ASC")))
        assert all(_page_ids(c, exact) == ids for _ in range(3))
        # Paging a tied sort: each page is drawn afresh, so pages can overlap and skip.
        paged = criteria(page_size=5, sorts=(("updated_at", "ASC"),))
        draws = [
            [i for page in (1, 2) for i in _page_ids(c, {**paged, "searchCriteria[currentPage]": page})]
            for _ in range(10)
        ]
        assert any(len(set(d)) < 10 for d in draws)
        assert all(set(d) <= set(ids[:10]) for d in draws)  # never past the tie group
        # Off again: primary-key order for ties.
        store.shuffle_ties = False
        assert _page_ids(c, by_stamp) == ids
        # Other lists shuffle their ties too.
        store.shuffle_ties = True
        products = [c.get("/V1/products", params=criteria(page_size=50)).json()["items"] for _ in range(3)]
        assert len({tuple(p["id"] for p in items) for items in products}) > 1


def test_shuffle_ties_is_seeded(fake_magento_factory: Factory) -> None:
    draws = []
    for _ in range(2):
        store = _tied_store(fake_magento_factory, shuffle_ties=True)
        with api(store) as c:
            draws.append([_page_ids(c, criteria(page_size=30)) for _ in range(3)])
    assert draws[0] == draws[1]
    # No sort order at all: everything is one tie.
    assert draws[0][0] != sorted(draws[0][0])


def test_short_bodies_cut_the_json_with_a_matching_content_length(store: FakeMagentoStore) -> None:
    params = criteria(page_size=5)
    with api(store) as c:
        whole = c.get("/V1/orders", params=params).content
        store.short_bodies(2)
        for _ in range(2):
            cut = c.get("/V1/orders", params=params)
            assert cut.status_code == 200
            assert int(cut.headers["content-length"]) == len(cut.content) == int(len(whole) * 0.6)
            assert whole.startswith(cut.content)
            with pytest.raises(json.JSONDecodeError):
                json.loads(cut.content)
        assert c.get("/V1/orders", params=params).content == whole  # used up; the connection still works
        # Only the methods named; refusals do not use it up; writes are applied.
        store.short_bodies(1, methods=("POST",))
        order = first(store, lambda o: o["state"] == "new")
        assert c.get("/V1/orders", params=params).content == whole
        assert c.post("/V1/orders/999999/comments", json=_comment(999999, "nope")).status_code == 404
        posted = c.post(f"/V1/orders/{order['entity_id']}/comments", json=_comment(order["entity_id"], "cut"))
        assert (posted.status_code, posted.content) == (200, b"tr")
    assert store.comments(order["entity_id"])[0]["comment"] == "cut"
    assert store.stats["truncated"] == 3


@pytest.mark.parametrize("mode", ["500", "drop", "short"])
def test_lost_write_answers_are_applied_anyway(fake_magento_factory: Factory, mode: LostAnswerMode) -> None:
    store = fake_magento_factory(seed=11, order_count=40, anchor=ANCHOR)
    order = first(store, lambda o: o["state"] == "new")
    entity_id = order["entity_id"]
    store.lose_write_answers(1, mode=mode)
    with httpx.Client(base_url=store.api_url()) as anonymous:
        token = anonymous.post("/V1/integration/admin/token", json={"username": "admin", "password": "admin123"})
        assert token.status_code == 200  # the admin-token endpoint is spared
    with api(store) as c:
        assert c.get("/V1/orders", params=criteria(page_size=1)).status_code == 200  # reads are spared
        refused = c.post(f"/V1/orders/{entity_id}/comments", json=_comment(entity_id, "bad", "processing"))
        assert refused.status_code == 400  # a refused write uses nothing up
        if mode == "drop":
            with pytest.raises(httpx.TransportError):
                c.post(f"/V1/order/{entity_id}/invoice", json={"capture": True})
        else:
            lost = c.post(f"/V1/order/{entity_id}/invoice", json={"capture": True})
            if mode == "500":
                assert lost.status_code == 500
                body = lost.json()
                assert body["message"] == "Internal Error. Details are available in Magento log file. Report ID: %1"
                assert re.fullmatch(r"webapi-[0-9a-f]{13}", body["parameters"][0])
            else:
                assert lost.status_code == 200
                assert int(lost.headers["content-length"]) == len(lost.content)
                with pytest.raises(json.JSONDecodeError):
                    json.loads(lost.content)
        # Applied: the invoice exists and the order is paid, so a retry is refused.
        assert len(store.invoices(entity_id)) == 1
        assert store.order(entity_id)["total_paid"] == store.order(entity_id)["grand_total"]
        again = c.post(f"/V1/order/{entity_id}/invoice", json={"capture": True})
        assert again.status_code == 400
    assert store.stats["lost_answers"] == 1


def test_stamp_outside_window_rewrites_the_answer_only(store: FakeMagentoStore, client: httpx.Client) -> None:
    window = criteria(
        [("updated_at", "2026-02-01 00:00:00", "gteq")],
        [("updated_at", "2026-02-20 00:00:00", "lt")],
        page_size=5,
        sorts=(("updated_at", "ASC"), ("entity_id", "ASC")),
    )
    honest = client.get("/V1/orders", params=window).json()["items"]
    store.stamp_outside_window(2)
    lied = client.get("/V1/orders", params=window).json()["items"]
    assert lied[0]["updated_at"] == "2099-01-01 00:00:00"
    assert {**lied[0], "updated_at": honest[0]["updated_at"]} == honest[0]
    assert lied[1:] == honest[1:]
    assert store.order(honest[0]["entity_id"])["updated_at"] == honest[0]["updated_at"]
    assert client.get(f"/V1/orders/{honest[0]['entity_id']}").json() == honest[0]
    # The reconcile listing is lied to the same way.
    reconcile = {**window, "fields": "items[entity_id,updated_at],total_count"}
    assert client.get("/V1/orders", params=reconcile).json()["items"][0] == {
        "entity_id": honest[0]["entity_id"],
        "updated_at": "2099-01-01 00:00:00",
    }
    assert client.get("/V1/orders", params=window).json()["items"] == honest  # used up
    store.stamp_outside_window(1, stamp="1999-01-01 00:00:00")
    assert client.get("/V1/orders", params=window).json()["items"][0]["updated_at"] == "1999-01-01 00:00:00"


def test_leaked_order_appears_whatever_the_filters(store: FakeMagentoStore, client: httpx.Client) -> None:
    pending = criteria([("status", "pending", "eq")])
    want = sorted(o["entity_id"] for o in store.orders() if o["status"] == "pending")
    outsider = first(store, lambda o: o["status"] == "complete")["entity_id"]
    store.leak_order(outsider)
    got = all_ids(client, pending)  # total_count counts it too
    assert got == sorted([*want, outsider])
    reconcile = client.get(
        "/V1/orders", params={**pending, "searchCriteria[pageSize]": 300, "fields": "items[entity_id]"}
    ).json()
    assert outsider in [o["entity_id"] for o in reconcile["items"]]
    store.unleak_order(outsider)
    assert all_ids(client, pending) == want
    with pytest.raises(KeyError):
        store.leak_order(999999)


@pytest.mark.parametrize("defect", ["huge_exponent", "invalid_utf8", "deep_nesting"])
def test_poisoned_orders_are_served_raw_among_intact_ones(fake_magento_factory: Factory, defect: str) -> None:
    store = fake_magento_factory(seed=6, order_count=4, edited_pairs=0, anchor=ANCHOR)
    poisoned = store.add_malformed_order(defect)
    raw = store.raw_order(poisoned)
    planted = {
        "huge_exponent": b'"grand_total":1e1000000',
        "invalid_utf8": b"\xff\xfe",
        "deep_nesting": b'"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
    }[defect]
    assert planted in raw
    with pytest.raises(ValueError, match=r"utf-8|range|too deep"):
        raw.decode("utf-8") if defect == "invalid_utf8" else _strict_json(raw)
    ids = store.order_ids()
    with api(store) as c:
        page = c.get("/V1/orders", params=criteria(page_size=10, sorts=(("entity_id", "ASC"),)))
        assert page.status_code == 200
        # The page is every order's raw bytes, side by side: the others intact, the poison verbatim.
        assert page.content.startswith(b'{"items":[' + b",".join(store.raw_order(i) for i in ids) + b"]")
        single = c.get(f"/V1/orders/{poisoned}")
        assert (single.status_code, single.content) == (200, raw)
        # The reconcile listing is still answered from the index.
        reconcile = c.get(
            "/V1/orders", params={**criteria(page_size=10), "fields": "items[entity_id,updated_at],total_count"}
        ).json()
        assert [o["entity_id"] for o in reconcile["items"]] == ids
    for entity_id in ids:
        if entity_id != poisoned:
            assert json.loads(store.raw_order(entity_id)) == store.order(entity_id)
    # The store's own view is the clean payload; the poison survives a change to the order.
    assert store.order(poisoned)["entity_id"] == poisoned
    store.edit_order(poisoned, {"customer_note": "changed"})
    assert planted in store.raw_order(poisoned)
    assert b'"customer_note":"changed"' in store.raw_order(poisoned)
    with pytest.raises(ValueError, match="unknown defect"):
        store.add_malformed_order("nonsense")


def _strict_json(raw: bytes) -> Any:
    """Parse like a strict client: no infinities, no nesting past 1,000 levels."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"non-finite number {constant}")

    try:
        return json.loads(raw, parse_constant=refuse, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("nested too deep") from exc


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text}")
    return value


def test_lying_total_count_and_ignored_page_size(store: FakeMagentoStore, client: httpx.Client) -> None:
    total = len(store.order_ids())
    store.total_count_override = 5
    body = client.get("/V1/orders", params=criteria(page_size=10, page=3)).json()
    assert body["total_count"] == 5
    assert len(body["items"]) == 10  # paging still follows the real matches
    assert client.get("/V1/orders", params={**criteria(page_size=2), "fields": "total_count"}).json() == {
        "total_count": 5
    }
    store.total_count_override = None
    store.ignore_page_size = True
    assert store.ignore_page_size
    body = client.get("/V1/orders", params=criteria(page_size=10, page=2)).json()
    assert len(body["items"]) == body["total_count"] == total
    assert body["search_criteria"]["page_size"] == 10  # echoed as sent
    assert client.get("/V1/orders", params=criteria(page_size=301)).status_code == 400
    store.ignore_page_size = False
    assert len(client.get("/V1/orders", params=criteria(page_size=10, page=2)).json()["items"]) == 10


def test_comments_build_the_status_history_like_magento(fake_magento_factory: Factory) -> None:
    now, clock = _fixed_clock(ANCHOR + timedelta(days=1))
    store = fake_magento_factory(seed=11, order_count=40, anchor=ANCHOR, clock=clock)
    order = first(store, lambda o: o["state"] == "new" and not o["status_histories"])
    entity_id = order["entity_id"]
    with api(store) as c:
        assert c.post(f"/V1/orders/{entity_id}/comments", json=_comment(entity_id, "ERP got it")).json() is True
        now[0] += timedelta(minutes=3)
        second = _comment(entity_id, "Shipped from WH/2", "pending", notified=1)
        second["statusHistory"]["is_visible_on_front"] = 1
        assert c.post(f"/V1/orders/{entity_id}/comments", json=second).json() is True
        histories = c.get(f"/V1/orders/{entity_id}").json()["status_histories"]
        listed = c.get(f"/V1/orders/{entity_id}/comments").json()
        nothing = c.get("/V1/orders/999999/comments").json()
    assert [h["comment"] for h in histories] == ["Shipped from WH/2", "ERP got it"]  # newest first
    newest, oldest = histories
    assert newest == {
        "comment": "Shipped from WH/2",
        "created_at": "2026-03-02 00:03:00",
        "entity_id": newest["entity_id"],
        "entity_name": "order",
        "is_customer_notified": 1,
        "is_visible_on_front": 1,
        "parent_id": entity_id,
        "status": "pending",
    }
    assert oldest["created_at"] == "2026-03-02 00:00:00"
    assert (oldest["is_customer_notified"], oldest["is_visible_on_front"]) == (0, 0)
    assert oldest["entity_id"] < newest["entity_id"]
    assert store.comments(entity_id) == histories
    # The comments list is the history repository's: primary-key order, filtered on parent_id.
    assert listed["items"] == [oldest, newest]
    assert listed["total_count"] == 2
    assert listed["search_criteria"] == {
        "filter_groups": [{"filters": [{"field": "parent_id", "value": str(entity_id), "condition_type": "eq"}]}]
    }
    assert (nothing["items"], nothing["total_count"]) == ([], 0)


def test_orders_placed_from_carts_carry_their_quote_id(store: FakeMagentoStore, client: httpx.Client) -> None:
    shipping = {
        "addressInformation": {
            "shipping_address": _address("pat@example.com"),
            "shipping_method_code": "flatrate",
            "shipping_carrier_code": "flatrate",
        }
    }
    with httpx.Client(base_url=store.api_url()) as anonymous:
        masked = anonymous.post("/V1/guest-carts").json()
        anonymous.post(
            f"/V1/guest-carts/{masked}/items", json={"cartItem": {"sku": "GB01", "qty": 1, "quote_id": masked}}
        ).raise_for_status()
        anonymous.post(f"/V1/guest-carts/{masked}/shipping-information", json=shipping).raise_for_status()
        placed = int(
            anonymous.put(f"/V1/guest-carts/{masked}/order", json={"paymentMethod": {"method": "checkmo"}}).json()
        )
        quote_id = store.cart_quote_id(masked)
        again = anonymous.put(f"/V1/guest-carts/{masked}/order", json={"paymentMethod": {"method": "checkmo"}})
        unknown = anonymous.put("/V1/guest-carts/0123456789abcdef/order", json={"paymentMethod": {"method": "checkmo"}})
    assert store.order(placed)["quote_id"] == quote_id
    assert again.status_code == 404  # the cart is inactive once placed
    assert again.json() == {
        "message": "No such entity with %fieldName = %fieldValue",
        "parameters": {"fieldName": "cartId", "fieldValue": quote_id},
    }
    assert unknown.status_code == 404
    assert unknown.json()["parameters"] == {"fieldName": "cartId", "fieldValue": None}
    assert all_ids(client, criteria([("quote_id", str(quote_id), "eq")])) == [placed]

    customer_cart = client.post("/V1/customers/1042/carts").json()
    client.post(
        f"/V1/carts/{customer_cart}/items",
        json={"cartItem": {"sku": "GB02", "qty": 1, "quote_id": str(customer_cart)}},
    ).raise_for_status()
    client.post(f"/V1/carts/{customer_cart}/shipping-information", json=shipping).raise_for_status()
    order_id = int(client.put(f"/V1/carts/{customer_cart}/order", json={"paymentMethod": {"method": "checkmo"}}).json())
    assert store.order(order_id)["quote_id"] == customer_cart == store.cart_quote_id(str(customer_cart))
    assert all_ids(client, criteria([("quote_id", str(customer_cart), "eq")])) == [order_id]
    twice = client.put(f"/V1/carts/{customer_cart}/order", json={"paymentMethod": {"method": "checkmo"}})
    assert twice.status_code == 404
    assert twice.json()["parameters"] == {"fieldName": "cartId", "fieldValue": customer_cart}


def test_invoices_and_shipments_are_listed_by_order_with_their_lines(
    magento_schema_validator: magento_schema.MagentoSchema, fake_magento_factory: Factory
) -> None:
    store = fake_magento_factory(seed=2, order_count=60, anchor=ANCHOR)
    order = first(
        store,
        lambda o: (
            o["state"] == "new"
            and len(top_items(o)) >= 2
            and any("parent_item_id" in i for i in o["items"])
            and top_items(o)[0]["qty_ordered"] >= 1
        ),
    )
    entity_id = order["entity_id"]
    lines = top_items(order)
    by_order = criteria([("order_id", str(entity_id), "eq")])
    with api(store) as c:
        part = {"items": [{"order_item_id": lines[0]["item_id"], "qty": lines[0]["qty_ordered"]}]}
        first_invoice = int(c.post(f"/V1/order/{entity_id}/invoice", json={**part, "capture": True}).json())
        partly = store.order(entity_id)
        assert 0 < partly["total_paid"] < partly["grand_total"]
        assert partly["total_due"] == pytest.approx(partly["grand_total"] - partly["total_paid"])
        assert (partly["state"], partly["status"]) == ("processing", "processing")
        too_much = c.post(
            f"/V1/order/{entity_id}/invoice",
            json={"items": [{"order_item_id": lines[0]["item_id"], "qty": 1}]},
        )
        assert too_much.status_code == 400
        assert "uninvoiced quantity" in too_much.json()["message"]
        rest = int(c.post(f"/V1/order/{entity_id}/invoice", json={"capture": True}).json())
        ship = {"items": [{"order_item_id": lines[1]["item_id"], "qty": 1}]}
        shipment_id = int(c.post(f"/V1/order/{entity_id}/ship", json=ship).json())
        invoices = c.get("/V1/invoices", params=by_order).json()
        shipments = c.get("/V1/shipments", params=by_order).json()
        assert c.get(f"/V1/invoices/{first_invoice}").json() == invoices["items"][0]
        assert c.get(f"/V1/shipment/{shipment_id}").json() == shipments["items"][0]
        assert c.get("/V1/invoices/999999").status_code == 404
    paid = store.order(entity_id)
    assert paid["total_paid"] == paid["grand_total"] == paid["total_invoiced"]
    assert paid["total_due"] == 0
    assert invoices["total_count"] == 2
    one, two = invoices["items"]
    assert (one["entity_id"], two["entity_id"]) == (first_invoice, rest)
    # Recognisable by lines and quantities: the first holds line 0 (and its child when configurable).
    assert {(i["order_item_id"], i["qty"]) for i in one["items"] if i["order_item_id"] == lines[0]["item_id"]} == {
        (lines[0]["item_id"], lines[0]["qty_ordered"])
    }
    assert lines[0]["item_id"] not in {i["order_item_id"] for i in two["items"]}
    invoiced = {i["order_item_id"]: i["qty"] for inv in (one, two) for i in inv["items"]}
    assert invoiced == {i["item_id"]: i["qty_ordered"] for i in order["items"]}
    assert one["grand_total"] + two["grand_total"] == pytest.approx(paid["grand_total"])
    assert one["shipping_amount"] == order["shipping_amount"]  # the first invoice carries the shipping
    assert two["shipping_amount"] == 0
    assert one["total_qty"] == sum(i["qty"] for i in one["items"])
    (shipment,) = shipments["items"]
    assert [(i["order_item_id"], i["qty"]) for i in shipment["items"]] == [(lines[1]["item_id"], 1)]
    for invoice in (one, two):
        assert magento_schema_validator.payload_errors("sales-data-invoice-interface", invoice) == []
    assert magento_schema_validator.payload_errors("sales-data-shipment-interface", shipment) == []


def test_php_json_escapes_like_json_encode(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=3, order_count=3, edited_pairs=0, anchor=ANCHOR)
    entity_id = store.order_ids()[0]
    store.edit_order(entity_id, {"customer_firstname": "Chloé 😀", "customer_note": "WH/2 <b>&'"})
    with api(store) as c:
        plain = c.get(f"/V1/orders/{entity_id}").content
        store.php_json = True
        php = c.get(f"/V1/orders/{entity_id}").content
        listed = c.get("/V1/orders", params=criteria(page_size=3)).content
        error = c.get("/V1/orders/999999").content
    assert "Chloé 😀".encode() in plain
    assert b'"customer_firstname":"Chlo\\u00e9 \\ud83d\\ude00"' in php
    assert b'"customer_note":"WH\\/2 <b>&\'"' in php  # like PHP: slashes escaped, <>&' left alone
    assert php.isascii()
    assert json.loads(php) == json.loads(plain) == store.order(entity_id)
    assert listed.isascii()
    assert php in listed
    assert json.loads(error)["message"].startswith("The entity that was requested")
    store.php_json = False
    with api(store) as c:
        assert c.get(f"/V1/orders/{entity_id}").content == plain


def test_gzip_when_the_client_accepts_it(fake_magento_factory: Factory) -> None:
    import zlib

    store = fake_magento_factory(seed=3, order_count=30, edited_pairs=0, anchor=ANCHOR, gzip=True, php_json=True)
    params = criteria(page_size=20)
    with httpx.Client(base_url=store.api_url(), headers={"Authorization": f"Bearer {store.token}"}) as c:
        identity = c.get("/V1/orders", params=params, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in identity.headers
        assert identity.headers["vary"] == "Accept-Encoding"
        with c.stream("GET", "/V1/orders", params=params, headers={"Accept-Encoding": "gzip"}) as streamed:
            assert streamed.headers["content-encoding"] == "gzip"
            raw = b"".join(streamed.iter_raw())
        assert int(streamed.headers["content-length"]) == len(raw) < len(identity.content) / 3
        # One gzip member, CRC and length checked, holding exactly the plain answer.
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        assert inflater.decompress(raw) == identity.content
        assert inflater.eof
        assert inflater.unused_data == b""
        small = c.get("/V1/orders/999999", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in small.headers  # under 1,100 bytes: sent as is
        # A short body is cut before compression: it inflates fine into broken JSON.
        store.short_bodies(1)
        cut = c.get("/V1/orders", params=params, headers={"Accept-Encoding": "gzip, deflate"})
        assert cut.headers["content-encoding"] == "gzip"
        assert cut.content == identity.content[: int(len(identity.content) * 0.6)]
        store.gzip = False
        assert "content-encoding" not in c.get("/V1/orders", params=params).headers
        store.gzip = True
        assert c.get("/V1/orders", params=params).content == identity.content


def test_reconcile_listing_is_answered_without_decoding_orders(
    store: FakeMagentoStore, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [{"entity_id": o["entity_id"], "updated_at": o["updated_at"]} for o in store.orders()]

    def no_decoding(record: Any) -> Any:
        raise AssertionError("the reconcile listing decoded a stored order")

    monkeypatch.setattr(FakeMagentoStore, "_decode", staticmethod(no_decoding))
    params = {**criteria(page_size=300), "fields": "items[updated_at,entity_id],total_count"}
    body = client.get("/V1/orders", params=params).json()
    assert body == {"items": expected, "total_count": len(expected)}
    assert [list(item) for item in body["items"]][:1] == [["entity_id", "updated_at"]]  # the data's order
    monkeypatch.undo()
    nested = client.get("/V1/orders", params={**criteria(page_size=2), "fields": "items[entity_id,payment[method]]"})
    assert set(nested.json()["items"][0]) == {"entity_id", "payment"}


def test_generated_orders_come_with_the_invoices_and_shipments_their_lines_imply(
    magento_schema_validator: magento_schema.MagentoSchema, store: FakeMagentoStore, client: httpx.Client
) -> None:
    invoices: dict[int, list[dict[str, Any]]] = {}
    shipments: dict[int, list[dict[str, Any]]] = {}
    for path, found in (("/V1/invoices", invoices), ("/V1/shipments", shipments)):
        body = client.get(path, params=criteria(page_size=300)).json()
        assert body["total_count"] == len(body["items"]) > 0
        for document in body["items"]:
            found.setdefault(document["order_id"], []).append(document)
    for order in store.orders():
        entity_id = order["entity_id"]
        invoiced = {i["item_id"]: i["qty_invoiced"] for i in order["items"] if i["qty_invoiced"]}
        shipped = {i["item_id"]: i["qty_shipped"] for i in top_items(order) if i["qty_shipped"]}
        listed = invoices.get(entity_id, [])
        assert {i["order_item_id"]: i["qty"] for inv in listed for i in inv["items"]} == invoiced
        assert {i["order_item_id"]: i["qty"] for s in shipments.get(entity_id, []) for i in s["items"]} == shipped
        if listed:
            (invoice,) = listed
            assert invoice["grand_total"] == order["total_invoiced"]
    schemas = ((invoices, "sales-data-invoice-interface"), (shipments, "sales-data-shipment-interface"))
    for documents, definition in schemas:
        for document in [d for group in documents.values() for d in group][:10]:
            assert magento_schema_validator.payload_errors(definition, document) == []
    states = {o["state"] for o in store.orders() if o["entity_id"] in invoices}
    assert {"processing", "complete", "closed"} <= states
    assert not any(o["entity_id"] in invoices for o in store.orders() if o["state"] == "new")
