"""The WooCommerce driver's auth, settings, statuses and errors against the fake store over a socket (and a few
flows answered by hand): OAuth 1.0a over HTTP signed afresh on every attempt and following the store's clock,
Basic and query keys over HTTPS, secrets kept out of reprs, errors and logs, plugin statuses, typed errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from _shared import shared_path
from ecc_connectors import (
    AuthenticationError,
    ConfigurationError,
    Connector,
    DownloadRange,
    SettingsError,
    SQLiteLedger,
    StatusMapping,
    StatusNotAllowed,
    StatusRule,
    StoreError,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.woocommerce import (
    CORE_STATUSES,
    BasicKeys,
    OAuth1Query,
    QueryKeys,
    WooCommerceDriver,
    pick_auth,
)
from ecc_connectors.testing.woocommerce import FakeWooCommerce

SPEC = ("specs", "woocommerce", "wc-v3-openapi-3.0.x.yml")
POLICY = SyncPolicy(
    statuses=StatusMapping((StatusRule("processing"), StatusRule("shipped"))),
    range=DownloadRange(start=datetime(2020, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)


@pytest.fixture
def store() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(20, seed=2, spec=shared_path(*SPEC)) as fake:
        yield fake
        assert fake.spec_violations == []


def connect(driver: WooCommerceDriver) -> Connector:
    return Connector(driver, POLICY, SQLiteLedger())


def test_oauth_over_http_signs_in_the_query_with_a_fresh_nonce_per_attempt(store: FakeWooCommerce) -> None:
    """The fake refuses a nonce it has seen: a 503 then a retry only succeeds because the retry is signed anew."""
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    assert driver.auth_kind == "oauth1"
    store.inject_5xx(1, status=503)
    with connect(driver) as connector:
        logging.disable(logging.WARNING)
        try:
            order = connector.get_order(next(str(i) for i in store.shop.orders))
        finally:
            logging.disable(logging.NOTSET)
    assert order.currency == "EUR"
    first, second = store.requests[-2:]
    assert "authorization" not in {k.lower() for k in second.headers}
    assert second.param("oauth_signature_method") == "HMAC-SHA256"
    assert first.param("oauth_nonce") != second.param("oauth_nonce")


def test_a_wrong_secret_is_an_authentication_error_that_quotes_no_secret(store: FakeWooCommerce) -> None:
    driver = WooCommerceDriver(store.url, store.consumer_key, "cs_wrong_secret_value")
    with connect(driver) as connector, pytest.raises(AuthenticationError) as caught:
        connector.download()
    assert "Invalid signature" in str(caught.value)
    assert "cs_wrong_secret_value" not in str(caught.value)
    assert store.consumer_key not in str(caught.value)


def test_signing_follows_the_store_clock_when_it_refuses_our_timestamp(store: FakeWooCommerce) -> None:
    """WooCommerce refuses a timestamp 15 minutes off its clock: the auth learns the offset from the refusal's
    Date header and signs again once; later requests use it at once."""
    store.set_clock(lambda: datetime.now(timezone.utc) + timedelta(hours=2))
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    with connect(driver) as connector:
        connector.list_statuses()
        auth = driver.auth()
        assert isinstance(auth, OAuth1Query)
        assert abs(auth.clock_offset - 7200) <= 5
        sent = len(store.requests)
        connector.get_order(next(str(i) for i in store.shop.orders))
        assert len(store.requests) == sent + 1  # no refusal any more


def test_basic_over_https_and_query_keys_when_the_host_strips_the_header() -> None:
    with FakeWooCommerce(3, https=True) as store:
        basic = WooCommerceDriver(store.url, auth=BasicKeys(store.consumer_key, store.consumer_secret))
        with connect(basic) as connector:
            assert len(connector.list_statuses()) >= 8
        store.strip_authorization = True
        with connect(basic) as connector, pytest.raises(AuthenticationError, match="cannot list"):
            connector.list_statuses()
        query = WooCommerceDriver(store.url, auth=QueryKeys(store.consumer_key, store.consumer_secret))
        with connect(query) as connector:
            connector.list_statuses()
        assert store.requests[-1].param("consumer_key") == store.consumer_key


def test_pick_auth_follows_the_scheme_and_never_sends_the_secret_over_plain_http() -> None:
    assert isinstance(pick_auth("https://shop.example", "ck_1", "cs_2"), BasicKeys)
    assert isinstance(pick_auth("http://shop.example", "ck_1", "cs_2"), OAuth1Query)
    assert isinstance(pick_auth("https://shop.example", "ck_1", "cs_2", "query"), QueryKeys)
    assert isinstance(pick_auth("https://shop.example", "ck_1", "cs_2", "oauth1"), OAuth1Query)
    for mode in ("basic", "query"):
        with pytest.raises(ConfigurationError, match="needs HTTPS"):
            pick_auth("http://shop.example", "ck_1", "cs_2", mode)
    with pytest.raises(ConfigurationError, match="consumer secret is required"):
        WooCommerceDriver("https://shop.example", "ck_1", "")


def test_secrets_stay_out_of_reprs_settings_and_logs(store: FakeWooCommerce, caplog: pytest.LogCaptureFixture) -> None:
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    for shown in (repr(driver), repr(driver.auth()), repr(BasicKeys("ck_1", "cs_2")), repr(QueryKeys("ck_1", "cs_2"))):
        assert store.consumer_key not in shown
        assert store.consumer_secret not in shown
        assert "cs_2" not in shown
    with caplog.at_level(logging.DEBUG), connect(driver) as connector:
        connector.download()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "oauth" in text.lower() or "GET" in text  # something was logged
    assert store.consumer_key not in text
    assert store.consumer_secret not in text
    assert "oauth_signature=***" in text  # httpx's URL line is there, masked
    assert not re.search(r"oauth_signature=[^*]", text)


def test_settings_from_the_environment_and_every_bad_value_at_once() -> None:
    driver = WooCommerceDriver.from_env(
        {
            "WOOCOMMERCE_URL": "https://shop.example.com/store/",
            "WOOCOMMERCE_CONSUMER_KEY": "ck_live",
            "WOOCOMMERCE_CONSUMER_SECRET": "cs_live_secret",
            "WOOCOMMERCE_PAGE_SIZE": "50",
            "WOOCOMMERCE_SHIPMENT_TRACKING": "off",
        }
    )
    assert driver.base_url == "https://shop.example.com/store/wp-json/wc/v3"
    assert driver.store_id == "woocommerce:shop.example.com/store"
    assert (driver.page_size, driver.shipment_tracking, driver.auth_kind) == (50, "off", "basic")
    with pytest.raises(SettingsError) as caught:
        WooCommerceDriver.from_settings(
            {"url": "shop", "consumer_key": "ck x", "consumer_secret": "cs_s3cret", "page_size": "500"}
        )
    assert {"url", "consumer_key", "page_size"} <= set(caught.value.problems)
    assert "cs_s3cret" not in str(caught.value)


def test_plugin_statuses_are_listed_and_kept_as_orders_carry_them(store: FakeWooCommerce) -> None:
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    with connect(driver) as connector:
        codes = [s.code for s in connector.list_statuses()]
        assert "shipped" in codes
        assert "checkout-draft" in codes
        assert connector.check_policy() == []
        connector.download()
        shipped = [r for r in connector.orders() if r.order.status == "shipped"]
    assert shipped, "the seeded plugin status did not reach the Orders tab"


def test_statuses_fall_back_to_core_when_reports_are_forbidden() -> None:
    driver = WooCommerceDriver("https://shop.example", "ck_1", "cs_2")
    flow = driver.list_statuses()
    request = next(flow)
    assert request.url.path == "/wp-json/wc/v3/reports/orders/totals"
    with pytest.raises(StopIteration) as done:
        flow.send(httpx.Response(403, json={"code": "woocommerce_rest_cannot_view", "message": "no", "data": {}}))
    assert [s.code for s in done.value.value] == [code for code, _ in CORE_STATUSES]


def test_a_refused_status_is_status_not_allowed_and_a_missing_order_a_404(store: FakeWooCommerce) -> None:
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    with connect(driver) as connector:
        target = next(str(i) for i in store.shop.orders)
        store.spec_violations.clear()
        store._spec_path = None  # the spec would refuse the unknown status before WooCommerce does
        with pytest.raises(StatusNotAllowed, match="not one of") as refused:
            connector.set_status(target, "wc-bogus-status")
        assert refused.value.code == "rest_invalid_param"
        assert refused.value.order_id == target
        with pytest.raises(StoreError) as missing:
            connector.get_order("999999")
        assert missing.value.http_status == 404
        assert missing.value.code == "woocommerce_rest_shop_order_invalid_id"


def test_one_malformed_order_never_stops_the_page(store: FakeWooCommerce) -> None:
    with store.lock:
        broken = next(iter(store.shop.orders.values()))
        broken["total"] = "twelve"
    driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret)
    with connect(driver) as connector:
        report = connector.download()
        failures = connector.failures()
    assert report.failures == 1
    assert report.downloaded + report.ignored == 19
    assert failures[0].order_ref == str(broken["id"])
    assert failures[0].field == "total"


def test_the_async_shell_downloads_and_ships_through_the_same_flows(store: FakeWooCommerce) -> None:
    import asyncio

    from ecc_connectors import AsyncConnector

    async def run() -> tuple[int, str]:
        driver = WooCommerceDriver(store.url, store.consumer_key, store.consumer_secret, page_size=6)
        async with AsyncConnector(driver, POLICY, SQLiteLedger()) as connector:
            report = await connector.download()
            target = next(r.order_id for r in connector.orders() if r.order.status == "processing")
            await connector.ship(target, "1ZASYNC")
            return report.downloaded + report.ignored, target

    listed, target = asyncio.run(run())
    assert listed == 20
    assert store.shop.orders[int(target)]["status"] == "completed"
    assert [t["tracking_number"] for t in store.shop.trackings(target)] == ["1ZASYNC"]


def test_the_driver_guide_code_blocks_run() -> None:
    """docs/drivers/woocommerce.md: every ```python block, in order, in one namespace."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "drivers" / "woocommerce.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/drivers/woocommerce.md", "exec"), namespace)
