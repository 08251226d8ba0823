"""Keyset listing on Magento: the filter groups each Seek sends, probe, list_keys, and the keys of every row."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

import test_magento_driver
from ecc_connectors import BrokenAnswer, KeyPage, Order, OrderKey, OrderQuery, Page, PayloadError, Probe, Seek
from ecc_connectors.driver import OrdersOnDemand
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver

# private: Magento's filter semantics are checked on the criteria the driver builds
from ecc_connectors.drivers.magento2._search import seek_criteria
from test_magento_driver import (
    BASE,
    SORT_AND_PAGE,
    TOKEN,
    V1,
    order_json,
    params_of,
    run,
    sc,
)

# The respx-mocked client and the Bearer-token driver of test_magento_driver, as this module's fixtures.
client = test_magento_driver.client
driver = test_magento_driver.driver

UTC = timezone.utc
T1 = datetime(2024, 5, 2, 11, 30, tzinfo=UTC)
T2 = datetime(2024, 5, 3, 8, 0, 5, tzinfo=UTC)
KEY_FIELDS = ("fields", "items[entity_id,updated_at],total_count")


def group(index: int, *filters: tuple[str, str, str]) -> list[tuple[str, str]]:
    out = []
    for number, (field, value, condition) in enumerate(filters):
        out += [
            (sc(index, number, "field"), field),
            (sc(index, number, "value"), value),
            (sc(index, number, "condition_type"), condition),
        ]
    return out


def paging(size: int, page: int = 1) -> list[tuple[str, str]]:
    return [*SORT_AND_PAGE, ("searchCriteria[pageSize]", str(size)), ("searchCriteria[currentPage]", str(page))]


def empty(total: int = 0) -> httpx.Response:
    return httpx.Response(200, json={"items": [], "search_criteria": {}, "total_count": total})


def sent_params(driver: Magento2Driver, client: httpx.Client, flow: Any) -> list[tuple[str, str]]:
    route = respx.get(f"{V1}/orders").mock(return_value=empty())
    before = route.call_count
    run(flow, client, driver)  # run() checks every request against Adobe's schema
    assert route.call_count == before + 1
    return params_of(route.calls.last.request)


# The filter groups of each Seek shape ---------------------------------------------------------------------
def test_after_a_key_is_two_groups(driver: Magento2Driver, client: httpx.Client) -> None:
    seek = Seek(after=OrderKey(T1, 41))
    assert sent_params(driver, client, driver.seek_page(OrderQuery(), seek, 50)) == [
        *group(0, ("updated_at", "2024-05-02 11:30:00", "gteq")),
        *group(1, ("updated_at", "2024-05-02 11:30:00", "gt"), ("entity_id", "41", "gt")),
        *paging(50),
    ]


def test_through_a_key_is_two_groups(driver: Magento2Driver, client: httpx.Client) -> None:
    seek = Seek(through=OrderKey(T2, 77))
    assert sent_params(driver, client, driver.seek_page(OrderQuery(), seek, 50)) == [
        *group(0, ("updated_at", "2024-05-03 08:00:05", "lteq")),
        *group(1, ("updated_at", "2024-05-03 08:00:05", "lt"), ("entity_id", "77", "lteq")),
        *paging(50),
    ]


def test_both_bounds_with_the_query_filters(driver: Magento2Driver, client: httpx.Client) -> None:
    query = OrderQuery(
        updated_from=datetime(2024, 1, 1, tzinfo=UTC),  # superseded by seek.after
        updated_to=datetime(2025, 1, 1, tzinfo=UTC),  # superseded by seek.through
        created_from=datetime(2023, 6, 1, tzinfo=UTC),
        created_to=datetime(2024, 6, 1, tzinfo=UTC),
        starting_number="000000100",
        statuses=("pending", "processing"),
    )
    seek = Seek(after=OrderKey(T1, 41), through=OrderKey(T2, 77))
    assert sent_params(driver, client, driver.seek_page(query, seek, 500)) == [
        *group(0, ("status", "pending,processing", "in")),
        *group(1, ("updated_at", "2024-05-02 11:30:00", "gteq")),
        *group(2, ("updated_at", "2024-05-02 11:30:00", "gt"), ("entity_id", "41", "gt")),
        *group(3, ("updated_at", "2024-05-03 08:00:05", "lteq")),
        *group(4, ("updated_at", "2024-05-03 08:00:05", "lt"), ("entity_id", "77", "lteq")),
        *group(5, ("created_at", "2023-06-01 00:00:00", "gteq")),
        *group(6, ("created_at", "2024-06-01 00:00:00", "lt")),
        *group(7, ("increment_id", "000000100", "gteq")),
        *paging(100),  # clamped to the driver's page size
    ]


def test_no_keys_fall_back_to_the_query_range(driver: Magento2Driver, client: httpx.Client) -> None:
    eastern = timezone(timedelta(hours=-5))
    query = OrderQuery(
        updated_from=datetime(2024, 3, 10, 21, 30, tzinfo=eastern), updated_to=datetime(2024, 3, 12, tzinfo=UTC)
    )
    assert sent_params(driver, client, driver.seek_page(query, Seek(), 20)) == [
        *group(0, ("updated_at", "2024-03-11 02:30:00", "gteq")),
        *group(1, ("updated_at", "2024-03-12 00:00:00", "lteq")),
        *paging(20),
    ]


def test_no_keys_and_no_range_send_no_bounds(driver: Magento2Driver, client: httpx.Client) -> None:
    assert sent_params(driver, client, driver.seek_page(OrderQuery(), Seek(), 300)) == paging(100)
    big = Magento2Driver(BASE, auth=BearerToken(TOKEN), page_size=1000)
    assert sent_params(big, client, big.seek_page(OrderQuery(), Seek(), 1000)) == paging(300)


def test_a_key_with_a_fraction_of_a_second_is_exact(driver: Magento2Driver, client: httpx.Client) -> None:
    # Rows are stamped in whole seconds: key <= (08:00:05.5, 77) is key <= (08:00:06, 0), not a truncation
    # to 08:00:05 (which would drop the rows of 08:00:05 with an id above 77).
    fraction = T2 + timedelta(microseconds=500_000)
    seek = Seek(after=OrderKey(fraction - timedelta(days=1), 9), through=OrderKey(fraction, 77))
    assert sent_params(driver, client, driver.seek_page(OrderQuery(), seek, 10)) == [
        *group(0, ("updated_at", "2024-05-02 08:00:06", "gteq")),
        *group(1, ("updated_at", "2024-05-02 08:00:06", "gt"), ("entity_id", "0", "gt")),
        *group(2, ("updated_at", "2024-05-03 08:00:06", "lteq")),
        *group(3, ("updated_at", "2024-05-03 08:00:06", "lt"), ("entity_id", "0", "lteq")),
        *paging(10),
    ]


def test_a_key_in_another_zone_is_sent_in_utc(driver: Magento2Driver, client: httpx.Client) -> None:
    paris = timezone(timedelta(hours=2))
    seek = Seek(after=OrderKey(datetime(2024, 5, 2, 13, 30, tzinfo=paris), 41))
    assert sent_params(driver, client, driver.seek_page(OrderQuery(), seek, 50))[:3] == group(
        0, ("updated_at", "2024-05-02 11:30:00", "gteq")
    )


# The filters mean exactly "after < key <= through" --------------------------------------------------------
def _matches(row: tuple[str, int], condition: str, field: str, value: str) -> bool:
    stamp, entity = row
    mine: Any = stamp if field == "updated_at" else entity
    theirs: Any = value if field == "updated_at" else int(value)
    return {
        "gt": mine > theirs,
        "gteq": mine >= theirs,
        "lt": mine < theirs,
        "lteq": mine <= theirs,
    }[condition]


def _selected(row: tuple[str, int], seek: Seek) -> bool:
    """How Magento reads the groups: every group must hold (AND), any filter of a group may (OR)."""
    criteria = seek_criteria(OrderQuery(), seek, 10)
    return all(any(_matches(row, f.condition, f.field, f.value) for f in g) for g in criteria.groups)


SECONDS = st.integers(0, 6)
STAMP = SECONDS.map(lambda s: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=s))
KEY = st.builds(
    OrderKey,
    st.tuples(STAMP, st.sampled_from([0, 0, 250_000, 999_999])).map(lambda p: p[0] + timedelta(microseconds=p[1])),
    st.integers(1, 6),
)


@settings(max_examples=300, deadline=None)
@given(after=st.none() | KEY, through=st.none() | KEY, rows=st.lists(st.tuples(STAMP, st.integers(1, 6))))
def test_groups_select_exactly_the_keys_in_the_window(
    after: OrderKey | None, through: OrderKey | None, rows: list[tuple[datetime, int]]
) -> None:
    seek = Seek(after, through)
    for stamp, entity in rows:
        key = OrderKey(stamp, entity)
        expected = (after is None or key > after) and (through is None or key <= through)
        assert _selected((stamp.strftime("%Y-%m-%d %H:%M:%S"), entity), seek) is expected


@settings(max_examples=300, deadline=None)
@given(after=st.none() | KEY, before=KEY, rows=st.lists(st.tuples(STAMP, st.integers(1, 6))))
def test_groups_with_before_select_exactly_the_keys_below_it(
    after: OrderKey | None, before: OrderKey, rows: list[tuple[datetime, int]]
) -> None:
    # The slices between pages read by number end just below the next page's first key.
    seek = Seek(after, before=before)
    for stamp, entity in rows:
        key = OrderKey(stamp, entity)
        expected = (after is None or key > after) and key < before
        assert _selected((stamp.strftime("%Y-%m-%d %H:%M:%S"), entity), seek) is expected


def test_a_seek_has_through_or_before_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        Seek(through=OrderKey(T2, 1), before=OrderKey(T2, 2))


def test_listing_page_asks_for_the_page_by_number_without_seek_bounds(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    params = sent_params(driver, client, driver.listing_page(OrderQuery(), 12, 100))
    assert ("searchCriteria[currentPage]", "12") in params
    # No key bound (the position is the page number); the sort is the keyset one.
    assert not [p for p in params if "filter_groups" in p[0] and p[1] == "entity_id"]
    assert ("searchCriteria[sortOrders][1][field]", "entity_id") in params
    with pytest.raises(ValueError, match="start at 1"):
        next(driver.listing_page(OrderQuery(), 0, 100))


# seek_page answers ----------------------------------------------------------------------------------------
def test_seek_page_keys_every_row_including_the_malformed(driver: Magento2Driver, client: httpx.Client) -> None:
    bad_amount = order_json(3, grand_total="lots", updated_at="2024-05-02 11:30:01")
    no_status = order_json(4, updated_at="2024-05-02 11:30:02")
    del no_status["status"]
    body = {
        "items": [order_json(2, updated_at="2024-05-02 11:30:00"), bad_amount, no_status],
        "search_criteria": {},
        "total_count": 3,
    }
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=body))
    page = run(driver.seek_page(OrderQuery(), Seek(), 10), client, driver)
    assert isinstance(page, Page)
    assert page.next is None
    assert page.total == 3
    assert [type(o).__name__ for o in page.orders] == ["Order", "PayloadError", "PayloadError"]
    assert page.keys == (
        OrderKey(datetime(2024, 5, 2, 11, 30, tzinfo=UTC), 2),
        OrderKey(datetime(2024, 5, 2, 11, 30, 1, tzinfo=UTC), 3),
        OrderKey(datetime(2024, 5, 2, 11, 30, 2, tzinfo=UTC), 4),
    )


def test_seek_page_key_is_the_raw_updated_at_and_entity_id_as_text(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    row = order_json(7, updated_at="2024-05-02 11:30:00")
    row["entity_id"] = "7"  # some stores send ids as JSON strings
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json={"items": [row], "total_count": 1}))
    page = run(driver.seek_page(OrderQuery(), Seek(), 10), client, driver)
    assert page.keys == (OrderKey(datetime(2024, 5, 2, 11, 30, tzinfo=UTC), 7),)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda o: o.pop("entity_id"),
        lambda o: o.pop("updated_at"),
        lambda o: o.update(updated_at="not a date"),
        lambda o: o.update(entity_id="12a"),
        lambda o: o.update(entity_id=True),
        lambda o: o.update(entity_id=[12]),
    ],
    ids=["no entity_id", "no updated_at", "bad updated_at", "id not a number", "boolean id", "id a list"],
)
def test_a_row_without_a_readable_key_makes_the_page_broken(
    driver: Magento2Driver, client: httpx.Client, spoil: Any
) -> None:
    row = order_json(8)
    spoil(row)
    body = {"items": [order_json(7), row], "total_count": 2}
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(BrokenAnswer, match="row 1") as caught:
        run(driver.seek_page(OrderQuery(), Seek(), 10), client, driver)
    assert caught.value.store == driver.store_id


def test_empty_status_list_seeks_nothing(driver: Magento2Driver, client: httpx.Client) -> None:
    route = respx.get(f"{V1}/orders").mock(return_value=empty())
    query = OrderQuery(statuses=())
    assert run(driver.seek_page(query, Seek(), 10), client, driver) == Page((), total=0)
    assert run(driver.probe(query, 0), client, driver) == Probe(None, 0)
    assert run(driver.list_keys(query, Seek(), 10), client, driver) == KeyPage((), 0)
    assert not route.called


# probe --------------------------------------------------------------------------------------------------
def keys_body(rows: list[tuple[int, str]], total: int) -> dict[str, Any]:
    return {"items": [{"entity_id": i, "updated_at": t} for i, t in rows], "total_count": total}


def test_probe_asks_one_row_of_two_columns_at_the_offset(driver: Magento2Driver, client: httpx.Client) -> None:
    route = respx.get(f"{V1}/orders").mock(
        return_value=httpx.Response(200, json=keys_body([(55, "2024-05-02 11:30:00")], 240))
    )
    query = OrderQuery(
        updated_from=datetime(2024, 5, 1, tzinfo=UTC),
        updated_to=datetime(2024, 5, 4, tzinfo=UTC),
        statuses=("pending",),
    )
    found = run(driver.probe(query, 120), client, driver)
    assert found == Probe(OrderKey(datetime(2024, 5, 2, 11, 30, tzinfo=UTC), 55), 240)
    assert params_of(route.calls.last.request) == [
        *group(0, ("status", "pending", "in")),
        *group(1, ("updated_at", "2024-05-01 00:00:00", "gteq")),
        *group(2, ("updated_at", "2024-05-04 00:00:00", "lteq")),
        *paging(1, 121),
        KEY_FIELDS,
    ]


@pytest.mark.parametrize(("offset", "total"), [(240, 240), (500, 240), (0, 0)])
def test_probe_past_the_end_finds_nothing(
    driver: Magento2Driver, client: httpx.Client, offset: int, total: int
) -> None:
    # Past the end Magento serves the last page again: its row is not the one at the offset.
    rows = [(999, "2024-05-03 23:59:59")] if total else []
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=keys_body(rows, total)))
    assert run(driver.probe(OrderQuery(), offset), client, driver) == Probe(None, total)


def test_probe_with_fields_filter_null_items(driver: Magento2Driver, client: httpx.Client) -> None:
    # Magento's fields filter can turn an empty items list into null.
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json={"items": None, "total_count": 0}))
    assert run(driver.probe(OrderQuery(), 0), client, driver) == Probe(None, 0)


def test_probe_inside_the_listing_without_a_row_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=keys_body([], 10)))
    with pytest.raises(BrokenAnswer):
        run(driver.probe(OrderQuery(), 3), client, driver)


def test_probe_refuses_a_negative_offset(driver: Magento2Driver) -> None:
    with pytest.raises(ValueError, match="offset"):
        next(driver.probe(OrderQuery(), -1))


# list_keys ----------------------------------------------------------------------------------------------
def test_list_keys_sends_the_seek_filters_with_the_key_fields(driver: Magento2Driver, client: httpx.Client) -> None:
    rows = [(41, "2024-05-02 11:30:00"), (42, "2024-05-02 11:30:00"), (3, "2024-05-02 11:30:01")]
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=keys_body(rows, 3)))
    seek = Seek(after=OrderKey(T1, 40), through=OrderKey(T2, 77))
    found = run(driver.list_keys(OrderQuery(statuses=("complete",)), seek, 1000), client, driver)
    assert found == KeyPage(
        (
            OrderKey(T1, 41),
            OrderKey(T1, 42),
            OrderKey(T1 + timedelta(seconds=1), 3),
        ),
        3,
    )
    sent = params_of(route.calls.last.request)
    page_seek = seek_criteria(OrderQuery(statuses=("complete",)), seek, 300).params()
    assert sent == [*page_seek, KEY_FIELDS]
    assert ("searchCriteria[pageSize]", "300") in sent  # up to 300 whatever the driver's page size


def test_list_keys_with_a_row_without_key_is_broken(driver: Magento2Driver, client: httpx.Client) -> None:
    body = {"items": [{"entity_id": 4, "updated_at": "2024-05-02 11:30:00"}, {"entity_id": 5}], "total_count": 2}
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(BrokenAnswer, match="row 1"):
        run(driver.list_keys(OrderQuery(), Seek(), 10), client, driver)


def test_list_keys_reads_a_key_even_from_a_poisoned_row(driver: Magento2Driver, client: httpx.Client) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    body = (
        b'{"items":[{"entity_id":4,"updated_at":"2024-05-02 11:30:00","x":' + deep + b"},"
        b'{"updated_at":"2024-05-02 11:30:01","entity_id":"5","note":"\xff"}],"total_count":2}'
    )
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, content=body))
    found = run(driver.list_keys(OrderQuery(), Seek(), 10), client, driver)
    assert found.keys == (OrderKey(T1, 4), OrderKey(T1 + timedelta(seconds=1), 5))


def test_seek_page_body_is_sent_to_the_schema_check(driver: Magento2Driver, client: httpx.Client) -> None:
    # Every shape at once, to be sure the schema helper sees the OR groups (two filters in one group).
    route = respx.get(f"{V1}/orders").mock(return_value=empty())
    seek = Seek(after=OrderKey(T1, 1), through=OrderKey(T2, 2))
    run(driver.seek_page(OrderQuery(statuses=("a",)), seek, 5), client, driver)
    run(driver.list_keys(OrderQuery(statuses=("a",)), seek, 5), client, driver)
    run(driver.probe(OrderQuery(statuses=("a",)), 3), client, driver)
    assert route.call_count == 3
    assert all(
        request.url.params.get("searchCriteria[filter_groups][2][filters][1][field]") == "entity_id"
        for request in [c.request for c in route.calls][:2]
    )


def test_seek_page_orders_are_the_decoded_rows(driver: Magento2Driver, client: httpx.Client) -> None:
    body = json.dumps({"items": [order_json(9)], "total_count": 1})
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, content=body))
    (order,) = run(driver.seek_page(OrderQuery(), Seek(), 10), client, driver).orders
    assert isinstance(order, Order)
    assert not isinstance(order, PayloadError)
    assert order.order_id == "9"


def test_seek_page_reads_only_the_keys_and_decodes_each_order_when_it_is_read(
    driver: Magento2Driver, client: httpx.Client
) -> None:
    # The engine sends a slice's next request once a page's keys are read; the orders are decoded after that.
    body = json.dumps({"items": [order_json(2), order_json(3, grand_total="lots")], "total_count": 2})
    respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, content=body))
    page = run(driver.seek_page(OrderQuery(), Seek(), 10), client, driver)
    assert isinstance(page.orders, OrdersOnDemand)
    assert [key.id for key in page.keys] == [2, 3]
    assert repr(page.orders) == "OrdersOnDemand(2 rows, 0 decoded)"
    second = page.orders[1]
    assert repr(page.orders) == "OrdersOnDemand(2 rows, 1 decoded)"
    assert isinstance(second, PayloadError)
    assert second.field == "grand_total"
    assert page.orders[1] is second  # decoded once, then kept
    first = page.orders[0]
    assert isinstance(first, Order)
    assert first.order_id == "2"
