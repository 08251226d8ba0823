"""The driver's flows, each request answered by the in-memory shop or by a canned response (no socket)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import httpx
import pytest
from ecc_connectors_ecwid import EcwidDriver, EcwidSettings
from ecc_connectors_ecwid.testing import EcwidShop

from conftest import NOW, drive, run_all
from ecc_connectors.driver import (
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
    Capability,
    ConfigurationError,
    NumberedPages,
    Order,
    OrderKey,
    OrderQuery,
    PayloadError,
    Secret,
    Seek,
    SettingsError,
    ShipmentRequest,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    Tracking,
)

UTC = timezone.utc


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_declares_what_it_does(driver: EcwidDriver) -> None:
    assert driver.capabilities == {
        Capability.LIST_STATUSES, Capability.LIST_ORDERS, Capability.LIST_KEYS, Capability.GET_ORDER,
        Capability.SHIP, Capability.SET_STATUS, Capability.CANCEL,
    }
    assert driver.sorts_by_updated is False
    assert driver.store_id == "ecwid:1003"
    defaults = driver.store_defaults()
    assert (defaults.post_back_status, defaults.cancellation_status, defaults.acknowledgement_status) == (
        "SHIPPED", "CANCELLED", "PROCESSING")
    assert driver.limits().rate == 10.0


def test_no_secret_in_repr_or_errors(shop: EcwidShop) -> None:
    driver = EcwidDriver(shop.store_id, "secret_wrong_token", base_url="http://ecwid.test/api/v3")
    assert "wrong_token" not in repr(driver)
    assert "wrong_token" not in repr(driver.auth())
    with pytest.raises(AuthenticationError) as caught:
        drive(driver.get_order("1"), shop, driver)
    assert "wrong_token" not in str(caught.value)
    assert "Invalid access token" in str(caught.value)


def test_settings_from_the_environment() -> None:
    driver = EcwidDriver.from_env({"ECWID_STORE_ID": "42", "ECWID_TOKEN": "secret_x", "ECWID_BASE_URL": "http://h/"})
    assert driver.base_url == "http://h/42"
    with pytest.raises(ConfigurationError, match="ECWID_TOKEN"):
        EcwidDriver.from_env({"ECWID_STORE_ID": "42"})
    with pytest.raises(ConfigurationError, match="number"):
        EcwidDriver("my-store", "secret_x")


def test_settings_class_from_a_form_and_secrets_stay_hidden() -> None:
    assert EcwidDriver.settings_class is EcwidSettings
    driver = EcwidDriver.from_settings({"store_id": " 42 ", "token": "secret_form", "currency": "EUR"})
    assert (driver.base_url, driver.currency) == ("https://app.ecwid.com/api/v3/42", "EUR")
    settings = EcwidSettings(store_id="42", token=Secret("secret_form"))
    assert "secret_form" not in repr(settings)
    assert "secret_form" not in repr(EcwidDriver.from_config(settings))
    with pytest.raises(SettingsError) as caught:
        EcwidDriver.from_settings({"store_id": "my-store", "token": "two words", "base_url": "ftp://x"})
    assert set(caught.value.problems) == {"store_id", "token", "base_url"}
    assert "two words" not in str(caught.value)


def test_order_money_is_exact_and_times_are_utc(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 100, updated=NOW - 50, total=19.99, subtotal=15.1, tax=1.51,
                            paymentStatus="PAID", fulfillmentStatus="AWAITING_PROCESSING")
    order = drive(driver.get_order(str(placed["internalId"])), shop, driver)
    assert order.totals.grand_total == Decimal("19.99")
    assert order.totals.paid == Decimal("19.99")
    assert order.totals.subtotal == Decimal("15.1")
    assert order.totals.due == 0
    assert order.created_at == at(NOW - 100)
    assert order.updated_at.tzinfo is UTC
    assert order.status == "PAID|AWAITING_PROCESSING"
    assert order.order_id == str(placed["internalId"])
    assert order.number == placed["id"]
    assert all(isinstance(line.unit_price, Decimal) for line in order.lines)
    assert order.billing_address is not None
    assert order.billing_address.city == "San Diego"


def test_an_unreadable_order_is_kept_whole(driver: EcwidDriver) -> None:
    broken = {"internalId": 7, "id": "X7", "createTimestamp": 1, "updateTimestamp": 2, "total": "12.00"}
    found = driver.parse(broken)
    assert isinstance(found, PayloadError)
    assert found.field == "total"
    assert found.raw is broken


def test_statuses_are_the_combinations_of_both_axes(shop: EcwidShop, driver: EcwidDriver) -> None:
    statuses = drive(driver.list_statuses(), shop, driver)
    codes = {status.code for status in statuses}
    assert len(codes) == 6 * 8
    assert "PAID|AWAITING_PROCESSING" in codes
    assert "CANCELLED|WILL_NOT_DELIVER" in codes
    for row in shop.statuses:
        if row["statusId"] == "CUSTOM_FULFILLMENT_STATUS_1":
            row.update(enabled=True, name="Packed")
    statuses = drive(driver.list_statuses(), shop, driver)
    assert ("PAID|CUSTOM_FULFILLMENT_STATUS_1", "Paid / Packed") in {(s.code, s.label) for s in statuses}


def test_statuses_without_the_profile_scope(driver: EcwidDriver) -> None:
    refused = httpx.Response(403, json={"errorMessage": "no scope", "errorCode": "INSUFFICIENT_APP_SCOPE"})
    statuses = run_all(driver.list_statuses(), iter([refused]))
    assert len(statuses) == 6 * 8


def test_listing_filters_and_plans_numbered_pages(shop: EcwidShop, driver: EcwidDriver) -> None:
    shop.seed(250, start=NOW - 10_000, end=NOW - 100)
    query = OrderQuery(updated_from=at(NOW - 20_000).replace(microsecond=1), updated_to=at(NOW),
                       statuses=("PAID|*", "AWAITING_PAYMENT|PROCESSING"))
    page = drive(driver.first_page(query), shop, driver)
    sent = shop.requests[-1].params
    assert sent["updatedFrom"] == str(NOW - 20_000 + 1)  # a stamp at or after a moment with microseconds
    assert sent["updatedTo"] == str(NOW)
    assert sent["paymentStatus"] == "AWAITING_PAYMENT,PAID"
    assert "fulfillmentStatus" not in sent
    assert sent["offset"] == "0"
    assert sent["limit"] == "100"
    assert isinstance(page.next, NumberedPages)
    assert page.total is not None
    assert list(page.next.numbers) == list(range(2, (page.total + 99) // 100 + 1))
    second = drive(page.next.fetch(2), shop, driver)
    assert shop.requests[-1].params["offset"] == "100"
    ids = {o.order_id for o in (*page.orders, *second.orders) if isinstance(o, Order)}
    assert len(ids) == len(page.orders) + len(second.orders)


def test_exact_status_pairs_filter_both_axes(driver: EcwidDriver, shop: EcwidShop) -> None:
    drive(driver.first_page(OrderQuery(statuses=("PAID|SHIPPED", "AWAITING_PAYMENT|AWAITING_PROCESSING"))),
          shop, driver)
    sent = shop.requests[-1].params
    assert sent["paymentStatus"] == "AWAITING_PAYMENT,PAID"
    assert sent["fulfillmentStatus"] == "AWAITING_PROCESSING,SHIPPED"


def test_key_listing_is_sorted_complete_and_small(shop: EcwidShop, driver: EcwidDriver) -> None:
    made = shop.seed(700, start=NOW - 50_000, end=NOW - 100)
    query = OrderQuery(updated_from=at(NOW - 60_000), updated_to=at(NOW))
    page = drive(driver.list_keys(query, Seek(), 300), shop, driver)
    assert list(page.keys) == sorted(page.keys)
    assert len(page.keys) >= 300
    keys = list(page.keys)
    while page.total is None:
        page = drive(driver.list_keys(query, Seek(after=keys[-1]), 300), shop, driver)
        assert all(key > keys[-1] for key in page.keys)
        keys += page.keys
    assert {key.id for key in keys} == {order["internalId"] for order in made}
    assert all(r.params.get("responseFields") == "total,count,items(internalId,updateTimestamp)"
               for r in shop.requests)
    assert len(shop.requests) < 40


def test_key_listing_reads_a_crowded_second_whole(shop: EcwidShop, driver: EcwidDriver) -> None:
    made = [shop.add_order(created=NOW - 500, updated=NOW - 500) for _ in range(230)]
    made += [shop.add_order(created=NOW - 400, updated=NOW - 400) for _ in range(5)]
    query = OrderQuery(updated_from=at(NOW - 1000), updated_to=at(NOW))
    page = drive(driver.list_keys(query, Seek(), 1000), shop, driver)
    assert page.total == len(made) == len(page.keys)
    assert page.keys == tuple(sorted(OrderKey(at(o["updateTimestamp"]), o["internalId"]) for o in made))


def test_get_order_by_internal_id_and_404(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10)
    assert drive(driver.get_order(str(placed["internalId"])), shop, driver).number == placed["id"]
    assert shop.requests[-1].params["ids"] == str(placed["internalId"])
    with pytest.raises(StoreError) as missing:
        drive(driver.get_order("123"), shop, driver)
    assert missing.value.http_status == 404
    assert missing.value.code == "ORDER_NOT_FOUND"


def test_ship_once(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10, fulfillmentStatus="AWAITING_PROCESSING")
    oid = str(placed["internalId"])
    request = ShipmentRequest(oid, (Tracking("1Z999", "ups", "UPS"),), status="SHIPPED")
    result = drive(driver.ship(request), shop, driver)
    assert result.shipment_id == placed["id"]
    assert not result.already_shipped
    put = [r for r in shop.requests if r.method == "PUT"]
    assert [(r.path, r.body) for r in put] == [
        (f"/api/v3/1003/orders/{placed['id']}", {"fulfillmentStatus": "SHIPPED", "trackingNumber": "1Z999"})]
    again = drive(driver.ship(request), shop, driver)
    assert again.already_shipped
    assert len([r for r in shop.requests if r.method == "PUT"]) == 1


def test_ship_adds_a_tracking_number_to_a_shipped_order(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10, fulfillmentStatus="SHIPPED")
    result = drive(driver.ship(ShipmentRequest(str(placed["internalId"]), (Tracking("T-2"),))), shop, driver)
    assert not result.already_shipped
    assert shop.requests[-1].body == {"trackingNumber": "T-2"}


def test_set_status_checks_first(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10, paymentStatus="AWAITING_PAYMENT", fulfillmentStatus="PROCESSING")
    oid = str(placed["internalId"])
    done = drive(driver.set_status(StatusChange(oid, "PAID|SHIPPED")), shop, driver)
    assert done is not None
    assert not done.already_done
    assert shop.requests[-1].body == {"paymentStatus": "PAID", "fulfillmentStatus": "SHIPPED"}
    again = drive(driver.set_status(StatusChange(oid, "SHIPPED")), shop, driver)
    assert again is not None
    assert again.already_done
    assert shop.requests[-1].method == "GET"


def test_a_status_that_is_not_ecwids_is_refused_before_any_request(shop: EcwidShop, driver: EcwidDriver) -> None:
    for status in ("complete", "PAID|PAID", "*|*", "PAID|SHIPPED|X"):
        with pytest.raises(StatusNotAllowed):
            drive(driver.set_status(StatusChange("1", status)), shop, driver)
    assert shop.requests == []


def test_cancel_is_the_cancelled_payment_status(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10, paymentStatus="PAID")
    oid = str(placed["internalId"])
    drive(driver.cancel(CancelRequest(oid)), shop, driver)
    assert shop.orders[placed["internalId"]]["paymentStatus"] == "CANCELLED"
    again = drive(driver.cancel(CancelRequest(oid)), shop, driver)
    assert again is not None
    assert again.already_done


def test_rate_limit_answer_is_retried_after_its_wait(driver: EcwidDriver) -> None:
    refused = httpx.Response(429, headers={"Retry-After": "7"}, json={"errorCode": "RATE_LIMITED"},
                             request=httpx.Request("GET", "http://ecwid.test/"))
    hint = driver.retry_hint(refused)
    assert hint is not None
    assert hint.after == 7


def test_an_answer_without_its_envelope_is_broken(driver: EcwidDriver) -> None:
    for body in (b'{"count": 0}', b"<html>", json.dumps({"items": [], "total": "many"}).encode()):
        with pytest.raises(BrokenAnswer):
            run_all(driver.first_page(OrderQuery()), iter([httpx.Response(200, content=body)]))


def test_update_that_did_not_apply_is_an_error(shop: EcwidShop, driver: EcwidDriver) -> None:
    placed = shop.add_order(created=NOW - 10, paymentStatus="PAID")
    found = httpx.Response(200, json={"total": 1, "items": [placed]})
    with pytest.raises(StoreError, match="updateCount"):
        run_all(driver.cancel(CancelRequest(str(placed["internalId"]))),
                iter([found, httpx.Response(200, json={"updateCount": 0})]))
