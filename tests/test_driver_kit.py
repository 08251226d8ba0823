"""The ready-made parts of ``ecc_connectors.driver`` and running one operation by hand."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest

from ecc_connectors import Connector, SQLiteLedger
from ecc_connectors.driver import (
    AuthenticationError,
    BrokenAnswer,
    FollowCursor,
    JsonRest,
    NumberedPages,
    Page,
    StatusNotAllowed,
    StoreError,
    answer,
    next_link,
    pages_from_headers,
    pages_from_total,
)
from fakedriver import FakeDriver, FakeStore, make_order
from plugin_engine import T0, Clock, make_policy


def _run(flow: Any) -> Any:
    try:
        next(flow)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the flow sent a request")


def _fetch(number: int) -> Any:
    return answer(Page(()))


def test_answer_is_a_flow_that_sends_nothing() -> None:
    assert _run(answer(("a", "b"))) == ("a", "b")


@pytest.mark.parametrize(
    ("total", "size", "shown", "expected"),
    [
        (250, 100, 100, range(2, 4)),
        (200, 100, 100, range(2, 3)),
        (100, 100, 100, None),
        (10**12, 100, 7, None),  # the first page is short: the listing ends there, whatever the total says
        (500, 100, 500, None),  # the store ignored the page size and sent everything
        (1000, 100, 150, None),  # the store ignored the page size: its numbered pages would not line up
        (-1, 100, 0, None),
        (None, 100, 100, None),
    ],
)
def test_pages_from_total(total: Any, size: int, shown: int, expected: range | None) -> None:
    pages = pages_from_total(total, size, _fetch, shown=shown)
    if expected is None:
        assert pages is None
    else:
        assert isinstance(pages, NumberedPages)
        assert pages.numbers == expected
        assert pages.page_size == size


def test_pages_from_headers_reads_totals_and_links() -> None:
    wp = httpx.Response(200, headers={"X-WP-Total": "230", "X-WP-TotalPages": "3"})
    pages = pages_from_headers(wp, 100, _fetch, shown=100)
    assert isinstance(pages, NumberedPages)
    assert pages.numbers == range(2, 4)
    counted = httpx.Response(200, headers={"X-Total-Count": "230"})
    pages = pages_from_headers(counted, 100, _fetch, shown=100)
    assert isinstance(pages, NumberedPages)
    assert pages.numbers == range(2, 4)
    linked = httpx.Response(
        200, headers={"Link": '<https://s.test/orders?page=1>; rel="prev", <https://s.test/orders?page=3>; rel="next"'}
    )
    assert next_link(linked) == "https://s.test/orders?page=3"
    followed: list[str] = []

    def by_link(url: str) -> Any:
        followed.append(url)
        return answer(Page(()))

    cursor = pages_from_headers(linked, 100, _fetch, by_link)
    assert isinstance(cursor, FollowCursor)
    _run(cursor.fetch())
    assert followed == ["https://s.test/orders?page=3"]
    assert pages_from_headers(httpx.Response(200), 100, _fetch) is None


class Shop(JsonRest):
    store_id = "shop"
    error_table: ClassVar = {401: AuthenticationError, 409: StatusNotAllowed}


def _response(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://s.test/orders"), **kwargs)


def test_json_rest_decodes_money_exactly_and_calls_a_broken_body_broken() -> None:
    shop = Shop()
    body = shop.decode(_response(200, content=b'{"total": 19.99, "qty": 2}'))
    assert body == {"total": Decimal("19.99"), "qty": 2}
    with pytest.raises(BrokenAnswer):
        shop.decode(_response(200, content=b'{"total": 19.9'))


def test_json_rest_maps_answers_to_typed_errors() -> None:
    shop = Shop()
    shop.check(_response(200, json={}))
    with pytest.raises(StatusNotAllowed) as refused:
        shop.check(_response(409, json={"message": "cannot move to completed", "code": "bad_status"}), "7")
    assert (refused.value.code, refused.value.order_id, refused.value.http_status) == ("bad_status", "7", 409)
    with pytest.raises(AuthenticationError):
        shop.check(_response(401, json={"error": {"message": "bad key"}}))
    with pytest.raises(StoreError) as other:
        shop.check(_response(422, text="nope"))
    assert "422" in str(other.value)


def test_json_rest_waits_what_the_rate_limit_headers_say() -> None:
    shop = Shop()
    hint = shop.retry_hint(_response(429, headers={"Retry-After": "3"}))
    assert hint is not None
    assert hint.after == 3
    hint = shop.retry_hint(_response(429, headers={"RateLimit-Reset": "7"}))
    assert hint is not None
    assert hint.after == 7
    reset = time.time() + 20
    hint = shop.retry_hint(_response(429, headers={"X-RateLimit-Reset": str(int(reset))}))
    assert hint is not None
    assert hint.after is not None
    assert 15 <= hint.after <= 21
    assert shop.retry_hint(_response(404)) is None


def test_one_operation_by_hand_through_the_connector() -> None:
    store = FakeStore([])
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        driver = FakeDriver()
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        assert connector.run(answer(42)) == 42
        statuses = connector.list_statuses()
        assert {s.code for s in statuses} == {"pending", "processing", "complete", "canceled", "acknowledged"}
        assert connector.check_policy() == []
        store.put(make_order(5, updated=T0))
        assert connector.get_order("5").order_id == "5"
        assert connector.ledger.get(connector.store, "5") is None  # by hand: nothing written
        connector.close()


def test_the_policy_is_checked_against_the_store_and_on_open() -> None:
    import attrs

    from ecc_connectors import ConfigurationError, DownloadRange, StatusMapping, StatusRule

    store = FakeStore([])
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        policy = make_policy(statuses=StatusMapping((StatusRule("processing"), StatusRule("shipped"))))
        connector = Connector(FakeDriver(), policy, ledger, client=client, clock=Clock())
        problems = connector.check_policy()
        assert [p.path for p in problems] == ["statuses.rules[1].status"]
        connector.close()
        broken = attrs.evolve(make_policy(), range=DownloadRange(start=T0 + timedelta(days=2), end=T0))
        with pytest.raises(ConfigurationError, match="range"):
            Connector(FakeDriver(), broken, ledger, client=client, clock=Clock())
