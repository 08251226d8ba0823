"""The Magento 2 driver against respx: exact requests, answers as a store gives them, every flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import respx

from ecc_connectors import (
    AuthenticationError,
    CancelRequest,
    Capability,
    ConfigurationError,
    Customer,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    NumberedPages,
    Order,
    OrderQuery,
    PayloadError,
    RawJSON,
    ShipmentRequest,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    Tracking,
    WriteResult,
    is_idempotent,
)
from ecc_connectors.driver import Address
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from magento_schema import validate_request

BASE = "https://shop.example.test"
V1 = f"{BASE}/rest/default/V1"
TOKEN = "integration-token-s3cr3t"


# Driving flows ---------------------------------------------------------------------------------------------
def run(flow: Any, client: httpx.Client, driver: Magento2Driver, sent: list[httpx.Request] | None = None) -> Any:
    """Drive a flow through ``client``: every request is checked against Adobe's schema, then sent with the
    driver's auth; the flow's return value comes back."""
    try:
        request = next(flow)
    except StopIteration as stop:
        return stop.value
    while True:
        validate_request(request)
        if sent is not None:
            sent.append(request)
        response = client.send(request, auth=driver.auth())
        response.read()
        try:
            request = flow.send(response)
        except StopIteration as stop:
            return stop.value


@pytest.fixture
def driver() -> Magento2Driver:
    return Magento2Driver(BASE, auth=BearerToken(TOKEN))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with respx.mock, httpx.Client() as c:
        yield c


def order_json(entity_id: int, **extra: Any) -> dict[str, Any]:
    """A small order shaped like Magento's (keys and value types as in the recorded responses)."""
    data: dict[str, Any] = {
        "entity_id": entity_id,
        "increment_id": f"{entity_id:09d}",
        "state": "new",
        "status": "pending",
        "created_at": "2024-05-01 10:00:00",
        "updated_at": "2024-05-02 11:30:00",
        "order_currency_code": "USD",
        "customer_email": "roni_cost@example.com",
        "customer_firstname": "Veronica",
        "customer_lastname": "Costello",
        "customer_id": 1,
        "customer_is_guest": 0,
        "subtotal": 69,
        "shipping_amount": 5,
        "tax_amount": 0,
        "discount_amount": 0,
        "grand_total": 74,
        "total_due": 74,
        "items": [
            {
                "item_id": entity_id * 10,
                "sku": "MH09-XS-Blue",
                "name": "Abominable Hoodie",
                "product_type": "simple",
                "qty_ordered": 1,
                "qty_shipped": 0,
                "price": 69,
                "row_total": 69,
                "tax_amount": 0,
                "discount_amount": 0,
            }
        ],
        "payment": {"method": "checkmo", "amount_ordered": 74},
        "status_histories": [],
    }
    data.update(extra)
    return data


def page_json(ids: range | list[int], total: int) -> dict[str, Any]:
    return {
        "items": [order_json(i) for i in ids],
        "search_criteria": {"filter_groups": []},
        "total_count": total,
    }


def params_of(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def sc(group: int, index: int, part: str) -> str:
    return f"searchCriteria[filter_groups][{group}][filters][{index}][{part}]"


SORT_AND_PAGE = [
    ("searchCriteria[sortOrders][0][field]", "updated_at"),
    ("searchCriteria[sortOrders][0][direction]", "ASC"),
    ("searchCriteria[sortOrders][1][field]", "entity_id"),
    ("searchCriteria[sortOrders][1][direction]", "ASC"),
]


def page_params(size: int, page: int) -> list[tuple[str, str]]:
    return [
        *SORT_AND_PAGE,
        ("searchCriteria[pageSize]", str(size)),
        ("searchCriteria[currentPage]", str(page)),
    ]


def first_page_request(driver: Magento2Driver, client: httpx.Client, query: OrderQuery) -> httpx.Request:
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=page_json([], 0)))
    run(driver.first_page(query), client, driver)
    assert route.call_count == 1
    return route.calls.last.request


# Listing -------------------------------------------------------------------------------------------------
def test_listing_without_filters_sorts_by_updated_then_id(driver: Magento2Driver, client: httpx.Client) -> None:
    request = first_page_request(driver, client, OrderQuery())
    assert request.url.path == "/rest/default/V1/orders"
    assert params_of(request) == page_params(100, 1)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_status_filter_is_one_in_group(driver: Magento2Driver, client: httpx.Client) -> None:
    request = first_page_request(driver, client, OrderQuery(statuses=("pending", "processing")))
    assert params_of(request)[:3] == [
        (sc(0, 0, "field"), "status"),
        (sc(0, 0, "value"), "pending,processing"),
        (sc(0, 0, "condition_type"), "in"),
    ]


def test_date_ranges_are_utc_without_offset_each_in_its_own_group(driver: Magento2Driver, client: httpx.Client) -> None:
    eastern = timezone(timedelta(hours=-5))
    query = OrderQuery(
        updated_from=datetime(2024, 3, 10, 21, 30, tzinfo=eastern),  # 02:30 UTC the next day
        updated_to=datetime(2024, 3, 12, 0, 0, tzinfo=timezone.utc),
        created_from=datetime(2024, 1, 1, 8, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        created_to=datetime(2024, 2, 1, tzinfo=timezone.utc),
    )
    params = params_of(first_page_request(driver, client, query))
    assert params[:12] == [
        (sc(0, 0, "field"), "updated_at"),
        (sc(0, 0, "value"), "2024-03-11 02:30:00"),
        (sc(0, 0, "condition_type"), "gteq"),
        (sc(1, 0, "field"), "updated_at"),
        (sc(1, 0, "value"), "2024-03-12 00:00:00"),
        (sc(1, 0, "condition_type"), "lteq"),
        (sc(2, 0, "field"), "created_at"),
        (sc(2, 0, "value"), "2024-01-01 06:00:05"),
        (sc(2, 0, "condition_type"), "gteq"),
        (sc(3, 0, "field"), "created_at"),
        (sc(3, 0, "value"), "2024-02-01 00:00:00"),
        (sc(3, 0, "condition_type"), "lt"),
    ]
    assert params[12:] == page_params(100, 1)


def test_starting_number_is_increment_id_gteq_after_status(driver: Magento2Driver, client: httpx.Client) -> None:
    query = OrderQuery(statuses=("pending",), starting_number="000000100")
    params = params_of(first_page_request(driver, client, query))
    assert params[3:6] == [
        (sc(1, 0, "field"), "increment_id"),
        (sc(1, 0, "value"), "000000100"),
        (sc(1, 0, "condition_type"), "gteq"),
    ]


@pytest.mark.parametrize(
    ("driver_size", "query_size", "expected"),
    [(1000, 1000, 300), (300, 250, 250), (100, 250, 100), (500, 0, 1)],
)
def test_page_size_stays_within_store_limits(
    client: httpx.Client, driver_size: int, query_size: int, expected: int
) -> None:
    driver = Magento2Driver(BASE, auth=BearerToken(TOKEN), page_size=driver_size)
    params = dict(params_of(first_page_request(driver, client, OrderQuery(page_size=query_size))))
    assert params["searchCriteria[pageSize]"] == str(expected)


def test_empty_status_list_asks_nothing(driver: Magento2Driver, client: httpx.Client) -> None:
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=page_json([], 0)))
    page = run(driver.first_page(OrderQuery(statuses=())), client, driver)
    assert page.orders == ()
    assert page.next is None
    assert not route.called


def test_pages_stop_at_total_count_though_the_store_repeats_the_last_page(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["searchCriteria[currentPage]"])
        # Past the end Magento answers with the last page again (ids 201..250).
        start = min(page, 3) * 100 - 99
        return httpx.Response(200, json=page_json(range(start, min(start + 100, 251)), 250))

    route = respx.get(f"{V1}/orders").mock(side_effect=answer)
    first = run(driver.first_page(OrderQuery()), client, driver)
    assert first.total == 250
    assert isinstance(first.next, NumberedPages)
    assert first.next.numbers == range(2, 4)
    orders = list(first.orders)
    for number in first.next.numbers:
        page = run(first.next.fetch(number), client, driver)
        assert page.next is None
        orders += page.orders
    ids = [o.order_id for o in orders if isinstance(o, Order)]
    assert len(ids) == len(set(ids)) == 250
    asked = [int(call.request.url.params["searchCriteria[currentPage]"]) for call in route.calls]
    assert asked == [1, 2, 3]


def test_later_pages_are_independent_flows(driver: Magento2Driver, client: httpx.Client) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["searchCriteria[currentPage]"])
        return httpx.Response(200, json=page_json(range(page * 10, page * 10 + 10), 40))

    respx.get(f"{V1}/orders").mock(side_effect=answer)
    first = run(driver.first_page(OrderQuery(page_size=10)), client, driver)
    assert isinstance(first.next, NumberedPages)
    # Fetched out of order, as concurrent fetching may: each page is its own request.
    fourth = run(first.next.fetch(4), client, driver)
    second = run(first.next.fetch(2), client, driver)
    assert [o.order_id for o in fourth.orders] == [str(i) for i in range(40, 50)]
    assert [o.order_id for o in second.orders] == [str(i) for i in range(20, 30)]


@pytest.mark.parametrize(
    ("rows", "total", "pages"),
    [
        (1, 0, None),
        (1, 1, None),
        (100, 100, None),
        (100, 101, range(2, 3)),
        (100, 250, range(2, 4)),
        # A short first page ends the listing, whatever total_count says.
        (1, 101, None),
        (99, 5000, None),
        # A store that ignores pageSize: the page is read once and nothing more is planned.
        (150, 150, None),
        (150, 400, None),
    ],
)
def test_page_count_from_total(driver: Magento2Driver, client: httpx.Client, rows: int, total: int, pages: Any) -> None:
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=page_json(range(1, rows + 1), total)))
    first = run(driver.first_page(OrderQuery()), client, driver)
    assert first.total == total
    assert len(first.orders) == rows
    assert (first.next.numbers if first.next else None) == pages
    if first.next is not None:
        assert isinstance(first.next, NumberedPages)
        assert first.next.page_size == 100


def test_a_malformed_order_is_a_payload_error_and_the_page_still_lands(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    bad_date = order_json(2, created_at="yesterday")
    bad_amount = order_json(3, grand_total="lots")
    no_id = order_json(4)
    del no_id["entity_id"]
    body = {"items": [order_json(1), bad_date, bad_amount, no_id, order_json(5)], "total_count": 5}
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=body))
    page = run(driver.first_page(OrderQuery()), client, driver)
    good = [o.order_id for o in page.orders if isinstance(o, Order)]
    errors = [o for o in page.orders if isinstance(o, PayloadError)]
    assert good == ["1", "5"]
    assert [(e.order_ref, e.field) for e in errors] == [
        ("000000002", "created_at"),
        ("000000003", "grand_total"),
        ("000000004", "entity_id"),
    ]
    assert errors[0].store == driver.store_id
    assert isinstance(errors[1].raw, RawJSON)
    assert errors[1].raw.data() == bad_amount


def test_amounts_are_exact_decimals_never_floats(driver: Magento2Driver, client: httpx.Client) -> None:
    order = order_json(7, subtotal=0.1, shipping_amount=0.2, tax_amount=0, grand_total=0.3, total_due=0.3)
    order["items"][0].update(price="PRICE", row_total=0.1)
    # Written as JSON text: a Python float could not even hold this price.
    raw = json.dumps({"items": [order], "total_count": 1}).replace('"PRICE"', "1234567.8912345678").encode()
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, content=raw))
    (parsed,) = run(driver.first_page(OrderQuery()), client, driver).orders
    assert isinstance(parsed, Order)
    assert parsed.totals.subtotal + parsed.totals.shipping == parsed.totals.grand_total == Decimal("0.3")
    assert parsed.lines[0].unit_price == Decimal("1234567.8912345678")
    assert isinstance(parsed.raw, RawJSON)
    assert "1234567.8912345678" in parsed.raw
    assert parsed.raw.data()["items"][0]["price"] == Decimal("1234567.8912345678")


def test_dates_are_read_as_utc(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders/7").mock(return_value=httpx.Response(200, json=order_json(7)))
    order = run(driver.get_order("7"), client, driver)
    assert order.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert order.updated_at == datetime(2024, 5, 2, 11, 30, tzinfo=timezone.utc)


# Mapping details --------------------------------------------------------------------------------------------
def test_edited_order_replaces_its_parent(driver: Magento2Driver, client: httpx.Client) -> None:
    edited = order_json(
        10,
        increment_id="000000013-1",
        relation_parent_id="9",
        original_increment_id="000000013",
        edit_increment=1,
    )
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json={"items": [edited], "total_count": 1}))
    (order,) = run(driver.first_page(OrderQuery()), client, driver).orders
    assert isinstance(order, Order)
    assert (order.order_id, order.number, order.replaces) == ("10", "000000013-1", "9")


def test_configurable_child_does_not_count_and_absent_paid_is_zero(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    parent = {
        "item_id": 16,
        "sku": "MH09-XS-Blue",
        "name": "Hoodie",
        "product_type": "configurable",
        "qty_ordered": 2,
        "qty_shipped": 2,
        "price": 69,
        "row_total": 138,
        "tax_amount": 11.39,
    }
    child = {
        "item_id": 17,
        "parent_item_id": 16,
        "sku": "MH09-XS-Blue",
        "name": "Hoodie-XS-Blue",
        "product_type": "simple",
        "qty_ordered": 2,
        "qty_shipped": 2,
        "price": 69,
        "row_total": 0,
    }
    data = order_json(9, items=[parent, child], subtotal=138, grand_total=154.39)
    data.pop("total_due")
    respx.get(f"{V1}/orders/9").mock(return_value=httpx.Response(200, json=data))
    order = run(driver.get_order("9"), client, driver)
    assert [(line.line_id, line.parent_line_id, line.counts) for line in order.lines] == [
        ("16", None, True),
        ("17", "16", False),
    ]
    assert sum(line.row_total for line in order.lines if line.counts) == order.totals.subtotal
    assert order.totals.paid == Decimal(0)
    assert order.totals.due == Decimal("154.39")
    assert order.fully_shipped


@pytest.mark.parametrize(("child_price", "bundle_counts"), [(Decimal(20), False), (Decimal(0), True)])
def test_bundle_counts_where_the_amounts_are(
    driver: Magento2Driver, client: httpx.Client, child_price: Decimal, bundle_counts: bool
) -> None:
    bundle = {
        "item_id": 1,
        "sku": "KIT",
        "name": "Kit",
        "product_type": "bundle",
        "qty_ordered": 1,
        "price": 40,
        "row_total": 40,
    }
    children = [
        {
            "item_id": i,
            "parent_item_id": 1,
            "sku": f"PART-{i}",
            "name": "Part",
            "product_type": "simple",
            "qty_ordered": 1,
            "price": str(child_price),
            "row_total": str(child_price),
        }
        for i in (2, 3)
    ]
    respx.get(f"{V1}/orders/5").mock(
        return_value=httpx.Response(200, json=order_json(5, items=[bundle, *children], subtotal=40))
    )
    order = run(driver.get_order("5"), client, driver)
    # The parts of a bundle are real lines either way (they are what ships); only the amounts move.
    assert [line.counts for line in order.lines] == [bundle_counts, True, True]
    assert sum(line.row_total for line in order.lines if line.counts) == order.totals.subtotal


def test_shipping_address_and_method_come_from_the_shipping_assignment(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    address = {
        "firstname": "Jane",
        "lastname": "Doe",
        "street": ["1 Main St", "Apt 2"],
        "city": "Austin",
        "region": "Texas",
        "region_code": "TX",
        "postcode": "78701",
        "country_id": "US",
        "telephone": "512-555-1111",
        "email": "jdoe@example.com",
    }
    data = order_json(
        3,
        shipping_description="Best Way - Table Rate",
        billing_address={**address, "city": "Dallas"},
        extension_attributes={
            "shipping_assignments": [{"shipping": {"address": address, "method": "tablerate_bestway"}}]
        },
        status_histories=[
            {
                "comment": "Called the customer",
                "created_at": "2024-05-02 09:00:00",
                "is_customer_notified": 0,
                "is_visible_on_front": 1,
                "parent_id": 3,
                "status": "pending",
            }
        ],
        payment={"method": "checkmo", "amount_paid": 74, "amount_authorized": 74, "last_trans_id": "T-1"},
        total_paid=74,
        total_due=0,
    )
    respx.get(f"{V1}/orders/3").mock(return_value=httpx.Response(200, json=data))
    order = run(driver.get_order("3"), client, driver)
    assert order.shipping_method == "tablerate_bestway"
    assert order.shipping_address is not None
    assert order.billing_address is not None
    assert (order.shipping_address.city, order.billing_address.city) == ("Austin", "Dallas")
    assert order.shipping_address.street == ("1 Main St", "Apt 2")
    assert order.shipping_address.name == "Jane Doe"
    assert order.notes[0].text == "Called the customer"
    assert order.notes[0].customer_visible
    assert order.notes[0].created_at == datetime(2024, 5, 2, 9, tzinfo=timezone.utc)
    assert order.payments[0].amount_paid == Decimal(74)
    assert order.payments[0].transaction_id == "T-1"
    assert order.fully_paid
    no_assignment = {k: v for k, v in data.items() if k != "extension_attributes"}
    respx.get(f"{V1}/orders/4").mock(return_value=httpx.Response(200, json={**no_assignment, "entity_id": 4}))
    assert run(driver.get_order("4"), client, driver).shipping_method == "Best Way - Table Rate"


def test_get_order_refuses_an_increment_id_before_sending(driver: Magento2Driver) -> None:
    with pytest.raises(ValueError, match="increment_id"):
        next(driver.get_order("000000013"))


# Errors -----------------------------------------------------------------------------------------------------
def test_error_body_placeholders_are_filled(driver: Magento2Driver, client: httpx.Client) -> None:
    body = {
        "message": "The entity that was requested doesn't exist. Verify the %fieldName and try again.",
        "parameters": {"fieldName": "entity_id"},
    }
    respx.get(f"{V1}/orders/404").mock(return_value=httpx.Response(404, json=body))
    with pytest.raises(StoreError) as caught:
        run(driver.get_order("404"), client, driver)
    err = caught.value
    assert err.message == "The entity that was requested doesn't exist. Verify the entity_id and try again."
    assert err.http_status == 404
    assert err.order_id == "404"
    assert err.store == driver.store_id


def test_list_placeholders_do_not_confuse_ten_with_one(driver: Magento2Driver, client: httpx.Client) -> None:
    body = {"message": "%1 and %2 then %10 (%3)", "parameters": list("abcdefghij")}
    respx.get(f"{V1}/orders/5").mock(return_value=httpx.Response(200, json=order_json(5)))
    respx.post(f"{V1}/order/5/invoice").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(StoreError) as caught:
        run(driver.invoice("5"), client, driver)
    assert caught.value.message == "a and b then j (c)"
    assert caught.value.http_status == 400


def test_non_json_error_keeps_status(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders/5").mock(return_value=httpx.Response(503, text="<html>maintenance</html>"))
    with pytest.raises(StoreError) as caught:
        run(driver.get_order("5"), client, driver)
    assert caught.value.http_status == 503
    assert "maintenance" in caught.value.message


def test_401_is_an_authentication_error_without_the_token(driver: Magento2Driver, client: httpx.Client) -> None:
    body = {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Sales::actions_view"},
    }
    respx.get(f"{V1}/orders/5").mock(return_value=httpx.Response(401, json=body))
    with pytest.raises(AuthenticationError) as caught:
        run(driver.get_order("5"), client, driver)
    assert "Magento_Sales::actions_view" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


# Post back --------------------------------------------------------------------------------------------------
def shipments_json(*shipments: tuple[int, list[str]]) -> dict[str, Any]:
    return {
        "items": [
            {
                "entity_id": sid,
                "order_id": 12,
                "items": [],
                "comments": [],
                "tracks": [
                    {
                        "order_id": 12,
                        "parent_id": sid,
                        "weight": 0,
                        "qty": 1,
                        "description": "",
                        "track_number": n,
                        "title": "UPS",
                        "carrier_code": "ups",
                    }
                    for n in numbers
                ],
            }
            for sid, numbers in shipments
        ],
        "search_criteria": {"filter_groups": []},
        "total_count": len(shipments),
    }


SHIPMENT_LOOKUP = [
    (sc(0, 0, "field"), "order_id"),
    (sc(0, 0, "value"), "12"),
    (sc(0, 0, "condition_type"), "eq"),
    ("searchCriteria[pageSize]", "300"),
    ("searchCriteria[currentPage]", "1"),
]


def test_ship_checks_existing_shipments_then_posts(driver: Magento2Driver, client: httpx.Client) -> None:
    lookup = respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json((2, ["OLD"]))))
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, text='"3"'))
    request = ShipmentRequest(
        order_id="12",
        tracking=(Tracking("1Z999", "ups", "UPS Ground"), Tracking("1Z998", "custom")),
        lines=(("24", Decimal(1)), ("25", Decimal("2.5"))),
        notify=True,
        comment="Shipped from the warehouse",
    )
    sent: list[httpx.Request] = []
    result = run(driver.ship(request), client, driver, sent)
    assert (result.shipment_id, result.already_shipped) == ("3", False)
    assert params_of(lookup.calls.last.request) == SHIPMENT_LOOKUP
    assert body_of(post.calls.last.request) == {
        "notify": True,
        "items": [{"order_item_id": 24, "qty": 1}, {"order_item_id": 25, "qty": 2.5}],
        "appendComment": True,
        "comment": {"comment": "Shipped from the warehouse", "is_visible_on_front": 1},
        "tracks": [
            {"track_number": "1Z999", "title": "UPS Ground", "carrier_code": "ups"},
            {"track_number": "1Z998", "title": "custom", "carrier_code": "custom"},
        ],
    }
    assert [r.method for r in sent] == ["GET", "POST"]
    assert not is_idempotent(sent[1])


def test_ship_everything_omits_items_and_accepts_an_integer_id(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json()))
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, json=7))
    result = run(driver.ship(ShipmentRequest("12", tracking=(Tracking("T1"),), notify=False)), client, driver)
    assert result.shipment_id == "7"
    assert body_of(post.calls.last.request) == {
        "notify": False,
        "tracks": [{"track_number": "T1", "title": "custom", "carrier_code": "custom"}],
    }


def test_ship_retry_finds_the_shipment_and_posts_nothing(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(
        return_value=httpx.Response(200, json=shipments_json((2, ["OTHER"]), (3, ["1Z999", "1Z998"])))
    )
    post = respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, text='"4"'))
    request = ShipmentRequest("12", tracking=(Tracking("1Z999", "ups"),))
    result = run(driver.ship(request), client, driver)
    assert (result.shipment_id, result.already_shipped) == ("3", True)
    assert not post.called


def test_ship_with_status_adds_a_status_comment(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json()))
    respx.get(f"{V1}/orders/12").mock(return_value=httpx.Response(200, json=order_json(12)))
    respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, text='"3"'))
    comments = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    request = ShipmentRequest("12", tracking=(Tracking("T1"),), status="complete", comment="Sent")
    assert run(driver.ship(request), client, driver).shipment_id == "3"
    assert body_of(comments.calls.last.request) == {
        "statusHistory": {
            "comment": "Sent",
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "parent_id": 12,
            "status": "complete",
        }
    }


def test_ship_status_refused_after_shipping_keeps_the_shipment_id(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json()))
    respx.get(f"{V1}/orders/12").mock(return_value=httpx.Response(200, json=order_json(12)))
    respx.post(f"{V1}/order/12/ship").mock(return_value=httpx.Response(200, text='"3"'))
    refusal = {
        "message": 'Unable to add comment: The status "%1" is not part of the order status history.',
        "parameters": ["pending"],
    }
    respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(400, json=refusal))
    with pytest.raises(StatusNotAllowed) as caught:
        run(driver.ship(ShipmentRequest("12", tracking=(Tracking("T1"),), status="pending")), client, driver)
    assert caught.value.detail["shipment_id"] == "3"


def test_ship_retry_with_status_sets_it_only_if_not_yet_set(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/shipments").mock(return_value=httpx.Response(200, json=shipments_json((3, ["T1"]))))
    respx.get(f"{V1}/orders/12").mock(
        side_effect=[
            httpx.Response(200, json=order_json(12, state="complete", status="complete")),
            httpx.Response(200, json=order_json(12, state="processing", status="processing")),
        ]
    )
    comments = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    request = ShipmentRequest("12", tracking=(Tracking("T1"),), status="complete")
    assert run(driver.ship(request), client, driver).already_shipped
    assert not comments.called
    assert run(driver.ship(request), client, driver).already_shipped
    assert comments.call_count == 1


def test_set_status_posts_a_status_comment(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders/9").mock(return_value=httpx.Response(200, json=order_json(9)))
    route = respx.post(f"{V1}/orders/9/comments").mock(return_value=httpx.Response(200, json=True))
    change = StatusChange("9", "acknowledged", comment="Received by the back office", notify=True)
    assert run(driver.set_status(change), client, driver) == WriteResult()
    assert body_of(route.calls.last.request) == {
        "statusHistory": {
            "comment": "Received by the back office",
            "is_customer_notified": 1,
            "is_visible_on_front": 1,
            "parent_id": 9,
            "status": "acknowledged",
        }
    }


def test_status_outside_the_state_is_status_not_allowed(driver: Magento2Driver, client: httpx.Client) -> None:
    refusal = {
        "message": 'Unable to add comment: The status "%1" is not part of the order status history.',
        "parameters": ["processing"],
    }
    respx.get(f"{V1}/orders/9").mock(return_value=httpx.Response(200, json=order_json(9)))
    respx.post(f"{V1}/orders/9/comments").mock(return_value=httpx.Response(400, json=refusal))
    with pytest.raises(StatusNotAllowed) as caught:
        run(driver.set_status(StatusChange("9", "processing")), client, driver)
    err = caught.value
    assert isinstance(err, StoreError)
    assert err.order_id == "9"
    assert err.http_status == 400
    assert err.message == 'Unable to add comment: The status "processing" is not part of the order status history.'


def test_cancel_then_notified_comment(driver: Magento2Driver, client: httpx.Client) -> None:
    cancel = respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=True))
    respx.get(f"{V1}/orders/12").mock(
        return_value=httpx.Response(200, json=order_json(12, state="canceled", status="canceled"))
    )
    comments = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    request = CancelRequest("12", status="canceled", comment="Out of stock", notify=True)
    sent: list[httpx.Request] = []
    assert run(driver.cancel(request), client, driver, sent) == WriteResult()
    assert [(r.method, r.url.path) for r in sent] == [
        ("POST", "/rest/default/V1/orders/12/cancel"),
        ("GET", "/rest/default/V1/orders/12"),
        ("POST", "/rest/default/V1/orders/12/comments"),
    ]
    assert cancel.calls.last.request.content == b""
    assert body_of(comments.calls.last.request)["statusHistory"] == {
        "comment": "Out of stock",
        "is_customer_notified": 1,
        "is_visible_on_front": 1,
        "parent_id": 12,
        "status": "canceled",
    }


def test_cancel_alone_sends_no_comment(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=True))
    comments = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    run(driver.cancel(CancelRequest("12")), client, driver)
    assert not comments.called


def test_cancel_refused_is_a_store_error(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=False))
    respx.get(f"{V1}/orders/12").mock(
        return_value=httpx.Response(200, json=order_json(12, state="complete", status="complete"))
    )
    with pytest.raises(StoreError, match="cannot be cancelled") as caught:
        run(driver.cancel(CancelRequest("12", comment="x", notify=True)), client, driver)
    assert caught.value.order_id == "12"


def test_cancel_of_an_already_canceled_order_goes_on_to_the_comment(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    respx.post(f"{V1}/orders/12/cancel").mock(return_value=httpx.Response(200, json=False))
    respx.get(f"{V1}/orders/12").mock(
        return_value=httpx.Response(200, json=order_json(12, state="canceled", status="canceled"))
    )
    comments = respx.post(f"{V1}/orders/12/comments").mock(return_value=httpx.Response(200, json=True))
    run(driver.cancel(CancelRequest("12", comment="Out of stock", notify=True)), client, driver)
    assert comments.call_count == 1


def test_invoice_captures(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders/16").mock(return_value=httpx.Response(200, json=order_json(16)))
    route = respx.post(f"{V1}/order/16/invoice").mock(return_value=httpx.Response(200, text='"4"'))
    assert run(driver.invoice("16", notify=True), client, driver) == WriteResult(reference="4")
    assert body_of(route.calls.last.request) == {"capture": True, "notify": True}


# Phone orders -----------------------------------------------------------------------------------------------
PRODUCTS = {
    "items": [
        {
            "id": 181,
            "sku": "MH09-XS-Blue",
            "name": "Abominable Hoodie-XS-Blue",
            "price": 69,
            "status": 1,
            "type_id": "simple",
        },
        {
            "id": 2051,
            "sku": "RACER",
            "name": "Racer Back Maxi Dress",
            "price": 224.99,
            "status": 1,
            "type_id": "simple",
        },
    ],
    "search_criteria": {"filter_groups": []},
    "total_count": 2,
}


def test_search_items_by_text_matches_sku_or_name(driver: Magento2Driver, client: httpx.Client) -> None:
    route = respx.get(f"{V1}/products").mock(return_value=httpx.Response(200, content=json.dumps(PRODUCTS)))
    items = run(driver.search_items(ItemQuery(text="hood", limit=20)), client, driver)
    assert params_of(route.calls.last.request) == [
        (sc(0, 0, "field"), "sku"),
        (sc(0, 0, "value"), "%hood%"),
        (sc(0, 0, "condition_type"), "like"),
        (sc(0, 1, "field"), "name"),
        (sc(0, 1, "value"), "%hood%"),
        (sc(0, 1, "condition_type"), "like"),
        (sc(1, 0, "field"), "status"),
        (sc(1, 0, "value"), "1"),
        (sc(1, 0, "condition_type"), "eq"),
        ("searchCriteria[pageSize]", "20"),
        ("searchCriteria[currentPage]", "1"),
    ]
    assert [(i.source, i.item_id, i.sku, i.price, i.item_type) for i in items] == [
        ("magento2", "181", "MH09-XS-Blue", Decimal(69), "simple"),
        ("magento2", "2051", "RACER", Decimal("224.99"), "simple"),
    ]


def test_search_items_by_skus(driver: Magento2Driver, client: httpx.Client) -> None:
    route = respx.get(f"{V1}/products").mock(return_value=httpx.Response(200, json=PRODUCTS))
    run(driver.search_items(ItemQuery(skus=("RACER", "MH09-XS-Blue"))), client, driver)
    assert params_of(route.calls.last.request)[:3] == [
        (sc(0, 0, "field"), "sku"),
        (sc(0, 0, "value"), "RACER,MH09-XS-Blue"),
        (sc(0, 0, "condition_type"), "in"),
    ]


def new_order(
    customer_id: str | None = None, *, reference: str = "SO-1001", skus: tuple[str, ...] | None = None
) -> NewOrder:
    """A phone order of Jane Doe's (to Austin, TX): two of MH09-XS-Blue and one RACER, or one of each of
    ``skus``."""
    address = Address(
        name="Jane Doe",
        street=("1 Main St",),
        city="Austin",
        region="TX",
        postcode="78701",
        country="US",
        phone="512-555-1111",
    )
    return NewOrder(
        reference=reference,
        customer=Customer(name="Jane Doe", email="jdoe@example.com", store_customer_id=customer_id),
        billing_address=address,
        shipping_address=address,
        lines=(
            (NewOrderLine("MH09-XS-Blue", Decimal(2)), NewOrderLine("RACER", Decimal(1)))
            if skus is None
            else tuple(NewOrderLine(sku, Decimal(1)) for sku in skus)
        ),
        shipping_method="flatrate_flatrate",
        payment_method="checkmo",
    )


def test_create_order_through_a_guest_cart(driver: Magento2Driver, client: httpx.Client) -> None:
    cart = "fYQ8bKuVzv1xZ1Jd5MBvL6fO0pWwGqD3"
    respx.post(f"{V1}/guest-carts").mock(return_value=httpx.Response(200, json=cart))
    items = respx.post(f"{V1}/guest-carts/{cart}/items").mock(
        return_value=httpx.Response(200, json={"item_id": 1, "sku": "x", "qty": 1, "quote_id": "5"})
    )
    shipping = respx.post(f"{V1}/guest-carts/{cart}/shipping-information").mock(
        return_value=httpx.Response(200, json={"payment_methods": [], "totals": {}})
    )
    place = respx.put(f"{V1}/guest-carts/{cart}/order").mock(return_value=httpx.Response(200, text='"21"'))
    respx.get(f"{V1}/orders/21").mock(return_value=httpx.Response(200, json=order_json(21, customer_is_guest=1)))
    sent: list[httpx.Request] = []
    order = run(driver.create_order(new_order()), client, driver, sent)
    assert order.order_id == "21"
    assert order.customer.is_guest
    assert [(r.method, r.url.path.removeprefix("/rest/default/V1")) for r in sent] == [
        ("POST", "/guest-carts"),
        ("POST", f"/guest-carts/{cart}/items"),
        ("POST", f"/guest-carts/{cart}/items"),
        ("POST", f"/guest-carts/{cart}/shipping-information"),
        ("PUT", f"/guest-carts/{cart}/order"),
        ("GET", "/orders/21"),
    ]
    assert [body_of(c.request) for c in items.calls] == [
        {"cartItem": {"sku": "MH09-XS-Blue", "qty": 2, "quote_id": cart}},
        {"cartItem": {"sku": "RACER", "qty": 1, "quote_id": cart}},
    ]
    info = body_of(shipping.calls.last.request)["addressInformation"]
    assert (info["shipping_carrier_code"], info["shipping_method_code"]) == ("flatrate", "flatrate")
    assert info["shipping_address"]["email"] == "jdoe@example.com"
    assert info["shipping_address"]["firstname"] == "Jane"
    assert info["shipping_address"]["lastname"] == "Doe"
    assert info["billing_address"]["region_code"] == "TX"
    assert body_of(place.calls.last.request) == {"paymentMethod": {"method": "checkmo"}}


def test_create_order_for_a_known_customer_uses_their_cart(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.post(f"{V1}/customers/1/carts").mock(return_value=httpx.Response(200, json=42))
    respx.post(f"{V1}/carts/42/items").mock(
        return_value=httpx.Response(200, json={"item_id": 1, "sku": "x", "qty": 1, "quote_id": "42"})
    )
    respx.post(f"{V1}/carts/42/shipping-information").mock(return_value=httpx.Response(200, json={}))
    respx.put(f"{V1}/carts/42/order").mock(return_value=httpx.Response(200, json=22))
    respx.get(f"{V1}/orders/22").mock(return_value=httpx.Response(200, json=order_json(22)))
    sent: list[httpx.Request] = []
    order = run(driver.create_order(new_order(customer_id="1")), client, driver, sent)
    assert order.customer.store_customer_id == "1"
    assert [r.url.path.removeprefix("/rest/default/V1") for r in sent] == [
        "/customers/1/carts",
        "/carts/42/items",
        "/carts/42/items",
        "/carts/42/shipping-information",
        "/carts/42/order",
        "/orders/22",
    ]
    assert body_of(sent[1])["cartItem"]["quote_id"] == "42"


def test_create_order_refuses_a_shipping_method_without_carrier(driver: Magento2Driver) -> None:
    bad = attrs.evolve(new_order(), shipping_method="flatrate")
    with pytest.raises(ValueError, match="carrier"):
        next(driver.create_order(bad))


# Statuses and capabilities ----------------------------------------------------------------------------------
def test_list_statuses_is_the_default_table_without_a_request(driver: Magento2Driver, client: httpx.Client) -> None:
    sent: list[httpx.Request] = []
    statuses = run(driver.list_statuses(), client, driver, sent)
    assert sent == []
    by_code = {s.code: s.state for s in statuses}
    assert by_code["pending"] == "new"
    assert by_code["holded"] == "holded"
    assert by_code["fraud"] == "payment_review"
    assert set(by_code) >= {
        "pending",
        "processing",
        "complete",
        "closed",
        "canceled",
        "holded",
        "payment_review",
        "fraud",
        "pending_payment",
    }


def test_capabilities_and_identity() -> None:
    driver = Magento2Driver(f"{BASE}/", store_code="all", auth=BearerToken(TOKEN))
    assert driver.capabilities == frozenset(Capability)
    assert driver.name == "magento2"
    assert driver.store_id == "magento2:shop.example.test/all"
    assert driver.url("/V1/orders") == f"{BASE}/rest/all/V1/orders"
    assert Magento2Driver("http://127.0.0.1:8080/shop").store_id == "magento2:127.0.0.1:8080/shop/default"
    assert Magento2Driver(BASE, store_id="eu-store").store_id == "eu-store"


@pytest.mark.parametrize("bad", ["ftp://shop", "shop.example.test", ""])
def test_bad_base_url_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        Magento2Driver(bad)


def test_retry_hint_is_the_default(driver: Magento2Driver) -> None:
    request = httpx.Request("GET", f"{V1}/orders")
    assert driver.retry_hint(httpx.Response(429, headers={"Retry-After": "3"}, request=request)).after == 3.0
    assert driver.retry_hint(httpx.Response(400, request=request)) is None
