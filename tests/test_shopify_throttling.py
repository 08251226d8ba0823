"""Cost-based throttling and Shopify's error shapes: pacing that keeps the bucket from emptying, a THROTTLED
answer waited out and retried, RateLimited when it never clears, userErrors and top-level errors as typed
errors, and a refused token."""

from __future__ import annotations

import logging

import httpx
import pytest

from ecc_connectors import (
    AuthenticationError,
    Connector,
    RateLimited,
    SQLiteLedger,
    StoreError,
)
from ecc_connectors.drivers.shopify import CostPacer, ShopifyDriver
from test_shopify_support import fake_shop, policy, shopify_driver

pytestmark = pytest.mark.usefixtures("quiet_retries")


def test_pacing_keeps_the_bucket_from_emptying() -> None:
    """A bucket of 1,000 points refilled at 2,000 a second, pages of about 650 points: unpaced, every second
    page would be THROTTLED. The pacer waits before a page the bucket cannot pay, so none is."""
    with fake_shop(30, bucket_size=1000, restore_rate=2000) as store:
        driver = shopify_driver(store, page_size=5)
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            report = connector.download()
        assert report.downloaded + report.ignored == 30
        assert store.bucket.throttled == 0
        assert store.bucket.lowest >= 0
        assert driver.pacer.waited > 0  # it did have to wait
        assert driver.pacer.points_used > 1000  # more than one bucket's worth went through


def test_unpaced_requests_get_throttled_which_is_what_pacing_prevents() -> None:
    """The same pages sent back to back without the pacer's waits: the fake bucket refuses some."""
    with fake_shop(0, bucket_size=1000, restore_rate=10) as store:
        query = "{ orders(first: 5) { nodes { id lineItems(first: 40) { nodes { id sku } } } } }"
        headers = {"X-Shopify-Access-Token": store.token}
        url = f"{store.base_url}/admin/api/2025-10/graphql.json"
        answers = [httpx.post(url, json={"query": query}, headers=headers).json() for _ in range(6)]
        codes = [a["errors"][0]["extensions"]["code"] for a in answers if "errors" in a]
        assert "THROTTLED" in codes
        throttled = next(a for a in answers if "errors" in a)
        status = throttled["extensions"]["cost"]["throttleStatus"]
        assert set(status) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_a_throttled_answer_is_waited_out_and_retried() -> None:
    with fake_shop(6) as store:
        driver = shopify_driver(store)
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            store.throttle(3)
            report = connector.download()
        assert report.downloaded + report.ignored == 6
        assert store.bucket.throttled == 0
        assert store.endpoint.throttle_next == 0


def test_throttled_until_retries_run_out_is_rate_limited() -> None:
    with fake_shop(2) as store, Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        store.throttle(50)
        with pytest.raises(RateLimited):
            connector.get_order(next(iter(store.shop.orders)).__str__())


def test_user_errors_are_store_errors_naming_the_order_and_field() -> None:
    with fake_shop() as store:
        with store.lock:
            order = store.shop.add_order(financial="PAID")
            fo = order["fulfillmentOrders"][0]
            store.shop.create_fulfillment({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]})
        number = order["legacyResourceId"]
        with (
            Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector,
            pytest.raises(StoreError) as caught,
        ):
            connector.cancel(number)
        assert caught.value.order_id == number
        assert "orderCancel" in str(caught.value)
        assert "fulfillments" in str(caught.value)


def test_a_top_level_error_is_a_store_error_with_its_code() -> None:
    with fake_shop() as store:
        driver = shopify_driver(store)
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            store.endpoint.max_query_cost = 10  # every order query now costs more than the limit
            with pytest.raises(StoreError) as caught:
                connector.get_order("450789999")
        assert caught.value.code == "MAX_COST_EXCEEDED"
        store.endpoint.violations.clear()  # the refusal was the point


def test_a_refused_token_is_an_authentication_error_without_the_token() -> None:
    with fake_shop() as store:
        driver = ShopifyDriver(store.shop_domain, "shpat_wrong_token", base_url=store.base_url)
        with Connector(driver, policy(), SQLiteLedger()) as connector, pytest.raises(AuthenticationError) as caught:
            connector.get_order("1")
        assert "shpat_wrong_token" not in str(caught.value)
        assert "Invalid API key" in str(caught.value)


def test_the_pacer_waits_for_the_cost_it_expects() -> None:
    now = [0.0]
    pacer = CostPacer(reserve=0.1, clock=lambda: now[0])
    assert pacer.take("Orders") == 0.0  # nothing known yet: send
    pacer.observe(
        "Orders",
        {
            "requestedQueryCost": 500,
            "actualQueryCost": 400,
            "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 550, "restoreRate": 50},
        },
    )
    # 550 available, 500 expected, 100 kept in reserve: 50 points short, one second at 50 a second.
    assert pacer.take("Orders") == pytest.approx(1.0)
    # The first take was charged: the next one waits for both.
    assert pacer.take("Orders") == pytest.approx(11.0)
    now[0] = 20.0
    assert pacer.take("Orders") == 0.0 or pacer.maximum == 1000


def test_fields_shopify_denies_come_back_empty_and_the_rest_of_the_page_lands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without approval for protected customer data Shopify answers the order with field errors and nulls:
    the download goes on (the customer reads as a guest) and says once what was left out."""
    with fake_shop(4) as store:
        store.deny_fields("customer", "email")
        logging.disable(logging.NOTSET)
        with (
            caplog.at_level(logging.WARNING, logger="ecc_connectors.drivers.shopify"),
            Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector,
        ):
            report = connector.download()
            records = connector.orders() + connector.ignored()
        assert report.downloaded + report.ignored == 4
        assert all(r.order.customer.is_guest for r in records)
        assert all(r.order.customer.email == "" for r in records)
        warnings = [r.getMessage() for r in caplog.records if "left fields out" in r.getMessage()]
        assert len(warnings) == 1
        assert "Access denied" in warnings[0]
