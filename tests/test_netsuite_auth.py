"""Token-based authentication: passport signature, sandbox naming, fresh nonces, secrets kept out of sight."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import Any

import httpx
import pytest
from lxml import etree

from ecc_connectors import AuthenticationError, OrderQuery
from ecc_connectors.drivers.netsuite import (
    NetSuiteDriver,
    NetSuiteSettings,
    TokenCredentials,
    TokenPassportAuth,
    account_host,
    passport_account,
    passport_signature,
)
from ecc_connectors.testing import FakeSuiteTalk, SyncIO
from plugin_netsuite import run_flow

SECRETS = ("ck-4f1c0a9e", "cs-SECRET-77d2", "tok-91ab3c", "ts-SECRET-0b8e")


def expected_signature(account: str, nonce: str, timestamp: int) -> str:
    consumer_key, consumer_secret, token_id, token_secret = SECRETS
    base = f"{account}&{consumer_key}&{token_id}&{nonce}&{timestamp}".encode()
    key = f"{consumer_secret}&{token_secret}".encode()
    return base64.b64encode(hmac.new(key, base, hashlib.sha256).digest()).decode()


def credentials(account: str = "1234567_SB1") -> TokenCredentials:
    return TokenCredentials(account, *SECRETS)


def passport_of(request: httpx.Request) -> dict[str, str]:
    root = etree.fromstring(request.content)
    found: Any = root.xpath("//*[local-name()='tokenPassport']")
    assert len(found) == 1
    values = {etree.QName(child).localname: child.text or "" for child in found[0]}
    values["algorithm"] = found[0].xpath("*[local-name()='signature']")[0].get("algorithm")
    return values


def test_signature_matches_an_independent_hmac_sha256() -> None:
    nonce, timestamp = "fixedNonce123", 1_700_000_000
    assert passport_signature("1234567_SB1", SECRETS[0], SECRETS[2], nonce, timestamp, SECRETS[1], SECRETS[3]) == (
        expected_signature("1234567_SB1", nonce, timestamp)
    )
    passport = credentials().passport(nonce=nonce, timestamp=timestamp)
    assert passport == {
        "account": "1234567_SB1",
        "consumerKey": SECRETS[0],
        "token": SECRETS[2],
        "nonce": nonce,
        "timestamp": timestamp,
        "signature": expected_signature("1234567_SB1", nonce, timestamp),
    }


def test_sandbox_account_is_underscored_in_the_passport_and_hyphenated_in_the_host() -> None:
    assert passport_account("1234567-sb1") == passport_account("1234567_sb1") == "1234567_SB1"
    assert account_host("1234567_SB1") == "1234567-sb1"
    driver = NetSuiteDriver(credentials("1234567_sb1"))
    assert driver.endpoint == "https://1234567-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"
    request = next(driver.get_order("42"))
    assert str(request.url) == driver.endpoint
    passport = passport_of(request)
    assert passport["account"] == "1234567_SB1"
    assert passport["algorithm"] == "HMAC-SHA256"
    # The signature covers the underscored, upper-case account id.
    assert passport["signature"] == expected_signature("1234567_SB1", passport["nonce"], int(passport["timestamp"]))
    assert request.headers["SOAPAction"] == '"get"'
    assert request.headers["Content-Type"].startswith("text/xml")


def test_production_account_and_version_pick_the_account_endpoint() -> None:
    driver = NetSuiteDriver(credentials("TSTDRV1234567"), NetSuiteSettings(wsdl=None))
    assert driver.endpoint == "https://tstdrv1234567.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"


def test_no_application_info_is_ever_sent(ns_driver: NetSuiteDriver) -> None:
    for flow in (ns_driver.first_page(OrderQuery()), ns_driver.get_order("1")):
        request = next(flow)
        assert b"applicationInfo" not in request.content
        assert b"tokenPassport" in request.content


def test_fake_refuses_application_info_beside_a_passport(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver
) -> None:
    request = next(ns_driver.get_order("1505"))
    body = request.content.replace(
        b"<soap-env:Header>",
        b"<soap-env:Header><m:applicationInfo"
        b" xmlns:m='urn:messages_2023_2.platform.webservices.netsuite.com'>"
        b"<m:applicationId>X</m:applicationId></m:applicationInfo>",
    )
    tampered = httpx.Request("POST", request.url, headers={"SOAPAction": "get"}, content=body)
    with httpx.Client() as client:
        response = client.send(tampered, auth=ns_driver.auth())
    with pytest.raises(AuthenticationError, match="Ambiguous"):
        ns_driver._soap.reply("get", response)


def test_auth_re_signs_every_send_with_a_fresh_nonce() -> None:
    driver = NetSuiteDriver(credentials("1234567_SB1"))
    request = next(driver.get_order("7"))
    auth = TokenPassportAuth(credentials("1234567_SB1"))
    first = next(auth.auth_flow(request))
    second = next(auth.auth_flow(request))
    one, two = passport_of(first), passport_of(second)
    assert one["nonce"] != two["nonce"]
    for passport in (one, two):
        assert passport["signature"] == expected_signature("1234567_SB1", passport["nonce"], int(passport["timestamp"]))
    # The rest of the envelope is untouched.
    body_one = etree.fromstring(first.content).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    body_req = etree.fromstring(request.content).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert etree.tostring(body_one) == etree.tostring(body_req)
    assert first.headers["Content-Length"] == str(len(first.content))


def test_retries_go_out_with_fresh_nonces_the_fake_accepts(
    fake_suitetalk: FakeSuiteTalk, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.fail_next("concurrency", times=2)
    waits: list[float] = []
    io = SyncIO(ns_driver, sleep=waits.append)
    try:
        order = io.run(ns_driver.get_order("1505"))
    finally:
        io.close()
    assert order.number == "SO1505"
    assert fake_suitetalk.calls == ["get", "get", "get"]
    assert len(set(fake_suitetalk.nonces)) == 3  # a resent nonce would have been refused as a replay
    assert len(waits) == 2


def test_wrong_secret_is_an_authentication_error_without_secrets(
    fake_suitetalk: FakeSuiteTalk, caplog: pytest.LogCaptureFixture
) -> None:
    good = fake_suitetalk.credentials
    wrong = TokenCredentials(good.account, good.consumer_key, "not-the-secret-XYZ", good.token_id, good.token_secret)
    driver = NetSuiteDriver(wrong, NetSuiteSettings(endpoint=fake_suitetalk.url))
    caplog.set_level(logging.DEBUG)
    with httpx.Client() as client, pytest.raises(AuthenticationError) as raised:
        run_flow(driver.get_order("1505"), client, driver.auth())
    text = f"{raised.value} {raised.value!r} {caplog.text}"
    assert "INVALID_LOGIN_ATTEMPT" in str(raised.value)
    for secret in ("not-the-secret-XYZ", good.token_secret, good.consumer_key, good.token_id):
        assert secret not in text


def test_secrets_never_appear_in_reprs_or_logs(fake_suitetalk: FakeSuiteTalk, caplog: pytest.LogCaptureFixture) -> None:
    creds = credentials("1234567_SB1")
    driver = NetSuiteDriver(creds)
    shown = " ".join([repr(creds), str(creds), repr(driver), repr(driver.auth()), repr(driver.settings)])
    assert "1234567_SB1" in shown
    for secret in SECRETS:
        assert secret not in shown
    # A whole run against the fake, logged at DEBUG, with retries.
    fake_driver = NetSuiteDriver(fake_suitetalk.credentials, NetSuiteSettings(endpoint=fake_suitetalk.url))
    fake_suitetalk.fail_next("request_blocked")
    caplog.set_level(logging.DEBUG)
    io = SyncIO(fake_driver, sleep=lambda _s: None)
    try:
        io.run(fake_driver.first_page(OrderQuery()))
    finally:
        io.close()
    fake_creds = fake_suitetalk.credentials
    for secret in (
        fake_creds.consumer_secret,
        fake_creds.token_secret,
        fake_creds.token_id,
        fake_creds.consumer_key,
    ):
        assert secret not in caplog.text
    assert "retrying" in caplog.text  # the log did record the retry


def test_empty_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="token_secret"):
        TokenCredentials("123", "ck", "cs", "tok", " ")
