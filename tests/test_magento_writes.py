"""Exactly-once writes: every non-idempotent write reads the store first, and a re-run that finds the work done
returns without writing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

import test_magento_driver
from _shared import shared_path
from ecc_connectors import (
    CancelRequest,
    Order,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StoreError,
    Tracking,
    WriteResult,
    is_idempotent,
)
from ecc_connectors.drivers.magento2 import Magento2Driver
from test_magento_driver import (
    V1,
    body_of,
    new_order,
    order_json,
    run,
    shipments_json,
)

# The respx-mocked client and the Bearer-token driver of test_magento_driver, as this module's fixtures.
client = test_magento_driver.client
driver = test_magento_driver.driver

UTC = timezone.utc
SINCE = datetime(2024, 5, 2, 9, 0, 0, 700_000, tzinfo=UTC)  # the first attempt, with a fraction of a second


def history(**entry: Any) -> dict[str, Any]:
    base = {
        "entity_id": 77,
        "parent_id": 12,
        "comment": "Received by the back office",
        "created_at": "2024-05-02 09:00:00",  # the same second as SINCE: Magento's stamps are whole seconds
        "entity_name": "order",
        "is_customer_notified": 1,
        "is_visible_on_front": 1,
        "status": "acknowledged",
    }
    return {**base, **entry}


CHANGE = StatusChange("12", "acknowledged", comment="Received by the back office", notify=True, since=SINCE)


def mock_order(**extra: Any) -> respx.Route:
    return respx.get(f"{V1}/orders/12").mock(return_value=httpx.Response(200, json=order_json(12, **extra)))


def mock_comments() -> respx.Route:
    return respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))


# Status comments --------------------------------------------------------------------------------------------
def test_a_comment_already_in_the_history_is_not_posted_again(driver: Magento2Driver, client: httpx.Client) -> None:
    read = mock_order(status_histories=[history(entity_id=76, comment="older"), history()])
    post = mock_comments()
    sent: list[httpx.Request] = []
    result = run(driver.set_status(CHANGE), client, driver, sent)
    assert result.already_done
    assert result.reference == "77"
    assert "77" in result.found
    assert not post.called
    assert [r.method for r in sent] == ["GET"]
    assert read.calls.last.request.url.params["fields"] == "entity_id,increment_id,state,status,status_histories"


@pytest.mark.parametrize(
    "entry",
    [
        history(status="processing"),
        history(comment="Something else"),
        history(is_customer_notified=0),
        history(created_at="2024-05-02 08:59:59"),  # before the first attempt: someone else's
        history(created_at=None),
    ],
    ids=["other status", "other text", "other notification", "older than since", "no date"],
)
def test_a_different_comment_does_not_count(
    driver: Magento2Driver, client: httpx.Client, entry: dict[str, Any]
) -> None:
    mock_order(status_histories=[entry])
    post = mock_comments()
    sent: list[httpx.Request] = []
    assert run(driver.set_status(CHANGE), client, driver, sent) == WriteResult()
    assert post.call_count == 1
    assert body_of(post.calls.last.request)["statusHistory"]["status"] == "acknowledged"
    assert [r.method for r in sent] == ["GET", "POST"]
    assert not is_idempotent(sent[1])  # never resent blindly: the flow runs again, check included


def test_without_since_any_equal_comment_counts(driver: Magento2Driver, client: httpx.Client) -> None:
    mock_order(status_histories=[history(created_at="2019-01-01 00:00:00")])
    post = mock_comments()
    result = run(
        driver.set_status(StatusChange("12", "acknowledged", "Received by the back office", True)), client, driver
    )
    assert result.already_done
    assert not post.called


def test_a_comment_without_status_matches_on_text_and_flag(driver: Magento2Driver, client: httpx.Client) -> None:
    # The entry has no status key at all, as in the recorded histories; the request sets no status either.
    entry = history(comment="Out of stock")
    del entry["status"]
    mock_order(state="canceled", status="canceled", status_histories=[entry])
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=True))
    post = mock_comments()
    request = CancelRequest("12", status=None, comment="Out of stock", notify=True, since=SINCE)
    result = run(driver.cancel(request), client, driver)
    assert result.reference == "77"
    assert not result.already_done  # the cancel itself was done now
    assert not post.called


@pytest.mark.parametrize(
    ("comment", "notify", "found"),
    [("", False, True), ("", True, False), ("x", False, False)],
)
def test_no_text_matches_magentos_null_comment(
    driver: Magento2Driver, client: httpx.Client, comment: str, notify: bool, found: bool
) -> None:
    # Magento keeps a comment posted without text as null, and its notified flag as null too.
    mock_order(status_histories=[history(comment=None, is_customer_notified=None, status="canceled")])
    post = mock_comments()
    result = run(driver.set_status(StatusChange("12", "canceled", comment, notify, since=SINCE)), client, driver)
    assert result.already_done is found
    assert post.called is not found


def test_a_history_that_is_not_a_list_holds_no_comment(driver: Magento2Driver, client: httpx.Client) -> None:
    # PHP writes an array with gaps as an object: {"0": {...}} is not a history a comment can be found in.
    respx.get(f"{V1}/orders/12").mock(
        return_value=httpx.Response(
            200, json={**order_json(12), "status_histories": {"0": history(comment=None, status="canceled")}}
        )
    )
    post = mock_comments()
    result = run(driver.set_status(StatusChange("12", "canceled", "", False)), client, driver)
    assert not result.already_done
    assert post.called


def test_cancel_already_canceled_with_its_comment_in_history_writes_nothing_more(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=False))
    mock_order(
        state="canceled",
        status="canceled",
        status_histories=[
            history(entity_id=90, status="canceled", comment="Out of stock", created_at="2024-05-02 09:00:03")
        ],
    )
    post = mock_comments()
    request = CancelRequest("12", status="canceled", comment="Out of stock", notify=True, since=SINCE)
    sent: list[httpx.Request] = []
    result = run(driver.cancel(request), client, driver, sent)
    assert result.already_done
    assert result.reference == "90"
    assert "already canceled" in result.found
    assert not post.called
    # The order read for the state is the one the comment is checked against: one read, not two.
    assert [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in sent] == [("POST", "cancel"), ("GET", "12")]


def test_cancel_posts_its_comment_when_the_history_lacks_it(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=True))
    # Magento's own cancellation entry (no comment, nobody notified) is not the notified comment asked for.
    mock_order(
        state="canceled",
        status="canceled",
        status_histories=[history(status="canceled", comment=None, is_customer_notified=None)],
    )
    post = mock_comments()
    request = CancelRequest("12", status="canceled", comment="Out of stock", notify=True, since=SINCE)
    assert run(driver.cancel(request), client, driver) == WriteResult()
    assert post.call_count == 1


# Shipments ------------------------------------------------------------------------------------------------
def shipment(sid: int, lines: list[tuple[int, Any]], created: str = "2024-05-02 09:00:01") -> dict[str, Any]:
    return {
        "entity_id": sid,
        "order_id": 12,
        "created_at": created,
        "items": [{"order_item_id": line, "qty": qty, "parent_id": sid} for line, qty in lines],
        "tracks": [],
        "comments": [],
    }


def shipments(*records: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"items": list(records), "total_count": len(records)})


def two_lines(shipped: tuple[Any, Any], **extra: Any) -> dict[str, Any]:
    line = order_json(12)["items"][0]
    return {
        "items": [
            {**line, "item_id": 24, "qty_ordered": 1, "qty_shipped": shipped[0]},
            {**line, "item_id": 25, "qty_ordered": 2, "qty_shipped": shipped[1]},
        ],
        **extra,
    }


def test_ship_everything_already_shipped_finds_the_shipment(driver: Magento2Driver, client: httpx.Client) -> None:
    mock_order(**two_lines((1, 2)))
    lookup = respx.get(f"{V1}/shipments").mock(
        return_value=shipments(shipment(5, [(24, 1)], "2024-05-01 10:00:00"), shipment(6, [(25, 2)]))
    )
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="7"))
    result = run(driver.ship(ShipmentRequest("12", since=SINCE)), client, driver)
    assert result == ShipmentResult("6", already_shipped=True)
    assert lookup.called
    assert not post.called


def test_ship_lines_already_shipped_matches_the_shipment_by_its_items(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    mock_order(**two_lines((1, 2)))
    respx.get(f"{V1}/shipments").mock(
        return_value=shipments(
            shipment(5, [(24, 1), (25, 2)]),  # more than asked: not this request's shipment
            shipment(6, [(25, "2.0000")]),  # qty as Magento may write it
            shipment(8, [(25, 1)]),  # less than asked
        )
    )
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="7"))
    request = ShipmentRequest("12", lines=(("25", Decimal(2)),), since=SINCE)
    assert run(driver.ship(request), client, driver) == ShipmentResult("6", already_shipped=True)
    assert not post.called


def test_ship_lines_not_yet_shipped_posts_without_looking_up_shipments(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    mock_order(**two_lines((1, 0)))
    lookup = respx.get(f"{V1}/shipments").mock(return_value=shipments())
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="7"))
    request = ShipmentRequest("12", lines=(("25", Decimal(2)),), since=SINCE)
    assert run(driver.ship(request), client, driver) == ShipmentResult("7")
    assert not lookup.called
    assert body_of(post.calls.last.request)["items"] == [{"order_item_id": 25, "qty": 2}]


@pytest.mark.parametrize(
    "found",
    [
        [shipment(6, [(25, 2)], "2024-05-02 08:00:00")],  # made before the first attempt: someone else's
        [shipment(6, [(25, 1)])],  # another quantity
        [],
    ],
    ids=["older than since", "other quantity", "none"],
)
def test_ship_shipped_lines_without_a_matching_shipment_is_left_to_the_store(
    driver: Magento2Driver, client: httpx.Client, found: list[dict[str, Any]]
) -> None:
    mock_order(**two_lines((1, 2)))
    respx.get(f"{V1}/shipments").mock(return_value=shipments(*found))
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="7"))
    request = ShipmentRequest("12", lines=(("25", Decimal(2)),), since=SINCE)
    assert run(driver.ship(request), client, driver) == ShipmentResult("7")
    assert post.called


def test_ship_everything_counts_a_configurable_once_and_skips_virtual_lines(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    line = order_json(12)["items"][0]
    items = [
        {**line, "item_id": 30, "product_type": "configurable", "qty_ordered": 1, "qty_shipped": 1},
        {**line, "item_id": 31, "parent_item_id": 30, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 0},
        {**line, "item_id": 32, "product_type": "virtual", "is_virtual": 1, "qty_ordered": 1, "qty_shipped": 0},
        {**line, "item_id": 33, "qty_ordered": 3, "qty_canceled": 1, "qty_shipped": 2},
    ]
    mock_order(items=items)
    respx.get(f"{V1}/shipments").mock(return_value=shipments(shipment(9, [(30, 1), (31, 1), (33, 2)])))
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json="7"))
    assert run(driver.ship(ShipmentRequest("12", since=SINCE)), client, driver) == ShipmentResult("9", True)
    assert not post.called


def test_ship_found_without_tracking_sets_the_status_once(driver: Magento2Driver, client: httpx.Client) -> None:
    mock_order(
        status="processing",
        status_histories=[history(status="complete", comment="Sent", is_customer_notified=0)],
        **two_lines((1, 2)),
    )
    respx.get(f"{V1}/shipments").mock(return_value=shipments(shipment(6, [(24, 1), (25, 2)])))
    post = mock_comments()
    request = ShipmentRequest("12", status="complete", comment="Sent", since=SINCE)
    assert run(driver.ship(request), client, driver) == ShipmentResult("6", True)
    assert not post.called  # the status comment is in the history already


def test_ship_with_tracking_found_checks_the_history_before_the_status(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json((3, ["T1"]))))
    mock_order(status="processing", status_histories=[history(status="complete", comment="", is_customer_notified=0)])
    post = mock_comments()
    request = ShipmentRequest("12", tracking=(Tracking("T1"),), status="complete", since=SINCE)
    assert run(driver.ship(request), client, driver) == ShipmentResult("3", True)
    assert not post.called


# Invoices -------------------------------------------------------------------------------------------------
def invoice_record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        shared_path("fixtures", "magento", "invoice_get_3_adobe_docs_tutorial.json").read_text()
    )
    return record


def invoiced(*qty: Any) -> list[dict[str, Any]]:
    line = order_json(12)["items"][0]
    return [
        {**line, "item_id": 40, "product_type": "configurable", "qty_ordered": 2, "qty_invoiced": qty[0]},
        {**line, "item_id": 41, "parent_item_id": 40, "qty_ordered": 2, "qty_invoiced": 0},
        {**line, "item_id": 42, "qty_ordered": 1, "qty_invoiced": qty[1]},
    ]


def test_invoice_of_a_fully_invoiced_order_returns_the_invoice(driver: Magento2Driver, client: httpx.Client) -> None:
    read = mock_order(items=invoiced(2, 1))
    recorded = invoice_record()
    older = {**recorded, "entity_id": 2, "created_at": "2017-08-20 10:00:00"}
    lookup = respx.get(f"{V1}/invoices").mock(
        return_value=httpx.Response(200, json={"items": [older, recorded], "total_count": 2})
    )
    post = respx.post(f"{V1}/order/12/invoice").mock(return_value=httpx.Response(200, json="4"))
    result = run(driver.invoice("12"), client, driver)
    assert result.already_done
    assert result.reference == "3"
    assert not post.called
    assert "items[" in read.calls.last.request.url.params["fields"]
    assert lookup.calls.last.request.url.params["searchCriteria[filter_groups][0][filters][0][value]"] == "12"


@pytest.mark.parametrize("qty", [(1, 1), (2, 0), (0, 0)], ids=["half the configurable", "a line left", "nothing"])
def test_invoice_of_a_partly_invoiced_order_posts(
    driver: Magento2Driver, client: httpx.Client, qty: tuple[int, int]
) -> None:
    mock_order(items=invoiced(*qty))
    lookup = respx.get(f"{V1}/invoices").mock(return_value=httpx.Response(200, json={"items": [], "total_count": 0}))
    post = respx.post(f"{V1}/order/12/invoice").mock(return_value=httpx.Response(200, json="4"))
    assert run(driver.invoice("12"), client, driver) == WriteResult(reference="4")
    assert post.called
    assert not lookup.called


def test_invoice_fully_invoiced_but_no_invoice_listed_is_left_to_the_store(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    mock_order(items=invoiced(2, 1))
    respx.get(f"{V1}/invoices").mock(return_value=httpx.Response(200, json={"items": [], "total_count": 0}))
    refusal = {"message": "The order does not allow an invoice to be created."}
    respx.post(f"{V1}/order/12/invoice").mock(return_value=httpx.Response(400, json=refusal))
    with pytest.raises(StoreError, match="does not allow"):
        run(driver.invoice("12"), client, driver)


# Phone orders in two phases -------------------------------------------------------------------------------
MASKED = "fYQ8bKuVzv1xZ1Jd5MBvL6fO0pWwGqD3"


def mock_guest_cart() -> respx.Route:
    respx.post(f"{V1}/guest-carts").mock(return_value=httpx.Response(200, json=MASKED))
    respx.post(f"{V1}/guest-carts/{MASKED}/items").mock(
        return_value=httpx.Response(200, json={"item_id": 1, "sku": "x", "qty": 1, "quote_id": MASKED})
    )
    respx.post(f"{V1}/guest-carts/{MASKED}/shipping-information").mock(return_value=httpx.Response(200, json={}))
    return respx.get(f"{V1}/guest-carts/{MASKED}").mock(
        return_value=httpx.Response(200, json={"id": 57, "is_active": True, "items_count": 2})
    )


def search_by_quote(*entity_ids: int) -> respx.Route:
    body = {"items": [{"entity_id": i} for i in entity_ids], "total_count": len(entity_ids)}
    return respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=body))


def test_reserve_a_guest_order_names_the_cart_and_its_numeric_quote(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    mock_guest_cart()
    place = respx.put(f"{V1}/guest-carts/{MASKED}/order").mock(return_value=httpx.Response(200, json="21"))
    sent: list[httpx.Request] = []
    reservation = run(driver.reserve_order(new_order()), client, driver, sent)
    assert reservation == f"guest:{MASKED}:57"
    assert [(r.method, r.url.path.removeprefix("/rest/default/V1")) for r in sent] == [
        ("POST", "/guest-carts"),
        ("POST", f"/guest-carts/{MASKED}/items"),
        ("POST", f"/guest-carts/{MASKED}/items"),
        ("POST", f"/guest-carts/{MASKED}/shipping-information"),
        ("GET", f"/guest-carts/{MASKED}"),
    ]
    assert not place.called


def test_reserve_a_customer_order_needs_no_extra_read(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.post(f"{V1}/customers/1/carts").mock(return_value=httpx.Response(200, json=42))
    respx.post(f"{V1}/carts/42/items").mock(return_value=httpx.Response(200, json={}))
    respx.post(f"{V1}/carts/42/shipping-information").mock(return_value=httpx.Response(200, json={}))
    sent: list[httpx.Request] = []
    assert run(driver.reserve_order(new_order("1")), client, driver, sent) == "customer:42:42"
    assert len(sent) == 4


def test_create_with_a_reservation_finds_the_placed_order_and_sends_no_put(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    search = search_by_quote(21)
    place = respx.put(f"{V1}/guest-carts/{MASKED}/order").mock(return_value=httpx.Response(200, json="22"))
    respx.get(f"{V1}/orders/21").mock(return_value=httpx.Response(200, json=order_json(21, quote_id=57)))
    sent: list[httpx.Request] = []
    order = run(driver.create_order(new_order(), f"guest:{MASKED}:57"), client, driver, sent)
    assert isinstance(order, Order)
    assert order.order_id == "21"
    assert not place.called
    assert [r.method for r in sent] == ["GET", "GET"]
    params = dict(search.calls.last.request.url.params.multi_items())
    assert (
        params["searchCriteria[filter_groups][0][filters][0][field]"],
        params["searchCriteria[filter_groups][0][filters][0][value]"],
        params["searchCriteria[filter_groups][0][filters][0][condition_type]"],
    ) == ("quote_id", "57", "eq")


def test_create_with_a_reservation_not_yet_placed_places_it(driver: Magento2Driver, client: httpx.Client) -> None:
    search_by_quote()
    place = respx.put(f"{V1}/carts/42/order").mock(return_value=httpx.Response(200, json="22"))
    respx.get(f"{V1}/orders/22").mock(return_value=httpx.Response(200, json=order_json(22)))
    sent: list[httpx.Request] = []
    order = run(driver.create_order(new_order("1"), "customer:42:42"), client, driver, sent)
    assert order.order_id == "22"
    assert body_of(place.calls.last.request) == {"paymentMethod": {"method": "checkmo"}}
    assert [(r.method, r.url.path.removeprefix("/rest/default/V1")) for r in sent] == [
        ("GET", "/orders"),
        ("PUT", "/carts/42/order"),
        ("GET", "/orders/22"),
    ]


def test_a_refused_second_placement_finds_the_first(driver: Magento2Driver, client: httpx.Client) -> None:
    # The PUT went through but its answer was lost; the transport resent it and Magento refused the inactive
    # cart. The order placed by the first one is found by its cart.
    respx.get(f"{V1}/orders").mock(
        side_effect=[
            httpx.Response(200, json={"items": [], "total_count": 0}),
            httpx.Response(200, json={"items": [{"entity_id": 23}], "total_count": 1}),
        ]
    )
    refusal = {
        "message": "No such entity with %fieldName = %fieldValue",
        "parameters": {"fieldName": "cartId", "fieldValue": "42"},
    }
    respx.put(f"{V1}/carts/42/order").mock(return_value=httpx.Response(404, json=refusal))
    respx.get(f"{V1}/orders/23").mock(return_value=httpx.Response(200, json=order_json(23)))
    assert run(driver.create_order(new_order("1"), "customer:42:42"), client, driver).order_id == "23"


def test_a_refused_placement_with_nothing_placed_raises(driver: Magento2Driver, client: httpx.Client) -> None:
    search_by_quote()
    respx.put(f"{V1}/carts/42/order").mock(
        return_value=httpx.Response(400, json={"message": "The shipping method is missing."})
    )
    with pytest.raises(StoreError, match="shipping method"):
        run(driver.create_order(new_order("1"), "customer:42:42"), client, driver)


def test_reserve_then_create_through_a_guest_cart(driver: Magento2Driver, client: httpx.Client) -> None:
    mock_guest_cart()
    search_by_quote()
    respx.put(f"{V1}/guest-carts/{MASKED}/order").mock(return_value=httpx.Response(200, json="21"))
    respx.get(f"{V1}/orders/21").mock(return_value=httpx.Response(200, json=order_json(21)))
    reservation = run(driver.reserve_order(new_order()), client, driver)
    assert run(driver.create_order(new_order(), reservation), client, driver).order_id == "21"


@pytest.mark.parametrize(
    "reservation",
    ["", "guest", "guest:abc", "guest:abc:x", "customer:42:43", "customer:4/2:42", "cart:1:1", "guest:a/b:3"],
)
def test_a_reservation_of_another_shape_is_refused_before_any_request(driver: Magento2Driver, reservation: str) -> None:
    with pytest.raises(ValueError, match="reservation"):
        next(driver.create_order(new_order(), reservation))
