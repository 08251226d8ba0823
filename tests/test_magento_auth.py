"""Magento auth modes: Bearer, admin token (fetched once, reused, refreshed on 401), OAuth 1.0a signatures
checked against an independent RFC 5849 computation, and no secret in any repr, str or error."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import urllib.parse
from typing import Any

import httpx
import pytest
import respx

import test_magento_driver
from ecc_connectors import AuthenticationError, ConfigurationError, OrderQuery, StoreError
from ecc_connectors.drivers.magento2 import AdminToken, BearerToken, Magento2Driver, OAuth1
from magento_schema import validate_request
from test_magento_driver import run

BASE = "https://shop.example.test"
V1 = f"{BASE}/rest/default/V1"
PASSWORD = "adm1n-Pa55word!"
SECRETS = {
    "consumer_key": "ck-6y2v0q7kq3d9w1xq",
    "consumer_secret": "cs-9f8e7d6c5b4a3f2e",
    "access_token": "at-1q2w3e4r5t6y7u8i",
    "access_token_secret": "ats-0p9o8i7u6y5t4r3e",
}
# The respx-mocked client of test_magento_driver, as this module's fixture.
client = test_magento_driver.client
EMPTY_PAGE = {"items": [], "search_criteria": {"filter_groups": []}, "total_count": 0}


# Bearer ---------------------------------------------------------------------------------------------------
def test_bearer_token_header(client: httpx.Client) -> None:
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
    driver = Magento2Driver(BASE, auth=BearerToken("tok-123"))
    run(driver.first_page(OrderQuery()), client, driver)
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-123"


# Admin token ----------------------------------------------------------------------------------------------
def token_route(*tokens: str) -> respx.Route:
    return respx.post(f"{V1}/integration/admin/token").mock(side_effect=[httpx.Response(200, json=t) for t in tokens])


def orders_accepting(token: str) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == f"Bearer {token}":
            return httpx.Response(200, json=EMPTY_PAGE)
        return httpx.Response(
            401,
            json={
                "message": "The consumer isn't authorized to access %resources.",
                "parameters": {"resources": "Magento_Sales::sales"},
            },
        )

    return respx.get(f"{V1}/orders").mock(side_effect=answer)


def test_admin_token_is_fetched_once_and_reused(client: httpx.Client) -> None:
    tokens = token_route("admin-tok-1")
    orders = orders_accepting("admin-tok-1")
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    for _ in range(3):
        run(driver.first_page(OrderQuery()), client, driver)
    assert tokens.call_count == 1
    assert orders.call_count == 3
    token_request = tokens.calls.last.request
    validate_request(token_request)
    assert httpx.Response(200, content=token_request.content).json() == {
        "username": "admin",
        "password": PASSWORD,
    }


def test_admin_token_is_refreshed_once_on_401(client: httpx.Client) -> None:
    tokens = token_route("old-tok", "new-tok")
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    orders_accepting("old-tok")
    run(driver.first_page(OrderQuery()), client, driver)
    # The store expires the token: the next request is refused once, the token renewed, the request resent.
    orders = orders_accepting("new-tok")  # respx keeps one route per pattern, with its earlier calls
    page = run(driver.first_page(OrderQuery()), client, driver)
    assert page.total == 0
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in orders.calls] == [
        "Bearer old-tok",
        "Bearer old-tok",
        "Bearer new-tok",
    ]
    assert [c.response.status_code for c in orders.calls] == [200, 401, 200]


def test_admin_token_still_refused_after_refresh_is_an_authentication_error(client: httpx.Client) -> None:
    tokens = token_route("t1", "t2")
    orders_accepting("never")
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    with pytest.raises(AuthenticationError, match="Magento_Sales::sales"):
        run(driver.first_page(OrderQuery()), client, driver)
    assert tokens.call_count == 2


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            401,
            {
                "message": "The account sign-in was incorrect or your account is disabled temporarily. "
                "Please wait and try again later."
            },
            "sign-in was incorrect",
        ),
        (401, {"message": "Please use the 2fa provider-specific endpoints to obtain a token."}, "2fa"),
    ],
)
def test_refused_admin_credentials(client: httpx.Client, status: int, body: dict[str, Any], words: str) -> None:
    respx.post(f"{V1}/integration/admin/token").mock(return_value=httpx.Response(status, json=body))
    orders = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    with pytest.raises(AuthenticationError, match=words) as caught:
        run(driver.first_page(OrderQuery()), client, driver)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value)
    assert not orders.called


def test_admin_token_endpoint_failure_is_a_store_error_not_bad_credentials(client: httpx.Client) -> None:
    respx.post(f"{V1}/integration/admin/token").mock(return_value=httpx.Response(503, text="maintenance"))
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    with pytest.raises(StoreError) as caught:
        run(driver.first_page(OrderQuery()), client, driver)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.http_status == 503
    assert PASSWORD not in str(caught.value)


def test_admin_token_url_follows_the_store_code(client: httpx.Client) -> None:
    tokens = respx.post(f"{BASE}/rest/all/V1/integration/admin/token").mock(return_value=httpx.Response(200, json="t"))
    respx.get(f"{BASE}/rest/all/V1/orders").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
    driver = Magento2Driver(BASE, store_code="all", auth=AdminToken("admin", PASSWORD))
    run(driver.first_page(OrderQuery()), client, driver)
    assert tokens.called


# OAuth 1.0a -----------------------------------------------------------------------------------------------
def rfc5849_hmac_sha256(method: str, url: str, oauth: dict[str, str], consumer_secret: str, token_secret: str) -> str:
    """The signature as RFC 5849 section 3.4 defines it, written out independently of oauthlib."""

    def enc(value: str) -> str:
        return urllib.parse.quote(value, safe="~")

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    default_port = {"http": 80, "https": 443}[parts.scheme]
    authority = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    base_uri = f"{parts.scheme}://{authority}{parts.path or '/'}"
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    pairs += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
    base_string = "&".join((method.upper(), enc(base_uri), enc(normalized)))
    key = f"{enc(consumer_secret)}&{enc(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()).decode()


def header_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    out = {}
    for item in header[len("OAuth ") :].split(","):
        key, _, value = item.strip().partition("=")
        out[key] = urllib.parse.unquote(value.strip('"'))
    return out


def fixed_oauth() -> OAuth1:
    return OAuth1(**SECRETS, nonce=lambda: "kllo9940pd9333jh", clock=lambda: 1191242096)


def test_oauth_signature_matches_an_independent_rfc5849_computation(client: httpx.Client) -> None:
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
    driver = Magento2Driver(BASE, auth=fixed_oauth())
    query = OrderQuery(statuses=("pending", "on hold"), starting_number="000000100")
    run(driver.first_page(query), client, driver)
    request = route.calls.last.request
    sent = header_params(request.headers["Authorization"])
    assert sent["oauth_signature_method"] == "HMAC-SHA256"
    assert sent["oauth_consumer_key"] == SECRETS["consumer_key"]
    assert sent["oauth_token"] == SECRETS["access_token"]
    assert (sent["oauth_nonce"], sent["oauth_timestamp"], sent["oauth_version"]) == (
        "kllo9940pd9333jh",
        "1191242096",
        "1.0",
    )
    # The URL carries searchCriteria with brackets, a space and a comma: all of it is in the base string.
    assert "%5Bfilter_groups%5D" in str(request.url)
    expected = rfc5849_hmac_sha256(
        "GET", str(request.url), sent, SECRETS["consumer_secret"], SECRETS["access_token_secret"]
    )
    assert sent["oauth_signature"] == expected
    without_query = rfc5849_hmac_sha256(
        "GET",
        str(request.url.copy_with(query=None)),
        sent,
        SECRETS["consumer_secret"],
        SECRETS["access_token_secret"],
    )
    assert sent["oauth_signature"] != without_query


def test_oauth_signs_a_post_without_its_json_body() -> None:
    request = httpx.Request("POST", f"{V1}/orders/9/comments?x=1", json={"statusHistory": {"comment": "a"}})
    fixed_oauth().sign(request)
    sent = header_params(request.headers["Authorization"])
    expected = rfc5849_hmac_sha256(
        "POST", str(request.url), sent, SECRETS["consumer_secret"], SECRETS["access_token_secret"]
    )
    assert sent["oauth_signature"] == expected


def test_oauth_known_vector() -> None:
    # Computed once with rfc5849_hmac_sha256 above and pinned, so a change on either side shows up.
    request = httpx.Request("GET", f"{V1}/orders/9", params={"searchCriteria[pageSize]": "5"})
    fixed_oauth().sign(request)
    sent = header_params(request.headers["Authorization"])
    assert sent["oauth_signature"] == "S7XIp0uHwp0di4+xphr3E9pMF3XnMm67Sma1wqYSQDU="


def test_oauth_nonce_and_timestamp_change_by_default() -> None:
    auth = OAuth1(**SECRETS)
    first, second = httpx.Request("GET", f"{V1}/orders"), httpx.Request("GET", f"{V1}/orders")
    auth.sign(first)
    auth.sign(second)
    assert (
        header_params(first.headers["Authorization"])["oauth_nonce"]
        != header_params(second.headers["Authorization"])["oauth_nonce"]
    )


# Secrets never shown ----------------------------------------------------------------------------------------
def all_secrets() -> list[str]:
    return [PASSWORD, "tok-secret-123", *SECRETS.values()]


@pytest.mark.parametrize(
    "auth",
    [BearerToken("tok-secret-123"), AdminToken("admin", PASSWORD), OAuth1(**SECRETS)],
    ids=["bearer", "admin", "oauth1"],
)
def test_no_secret_in_repr_or_str(auth: httpx.Auth) -> None:
    driver = Magento2Driver(BASE, auth=auth)
    for text in (repr(auth), str(auth), repr(driver), str(driver)):
        for secret in all_secrets():
            assert secret not in text
    assert "***" in repr(auth)
    assert repr(auth) in repr(driver)


def test_no_secret_in_logs(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token_route("admin-tok-1")
    orders_accepting("admin-tok-1")
    driver = Magento2Driver(BASE, auth=AdminToken("admin", PASSWORD))
    run(driver.first_page(OrderQuery()), client, driver)
    assert PASSWORD not in caplog.text


def test_no_oauth_key_in_logs(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    # oauthlib logs the parameters it signs at DEBUG level: the consumer key and the access token among them.
    caplog.set_level(logging.DEBUG)
    route = respx.get(f"{V1}/orders").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
    driver = Magento2Driver(BASE, auth=OAuth1(**SECRETS))
    run(driver.first_page(OrderQuery()), client, driver)
    assert route.called
    assert "oauthlib" in caplog.text  # its other lines still pass
    for secret in SECRETS.values():
        assert secret not in caplog.text


# from_env ---------------------------------------------------------------------------------------------------
def test_from_env_picks_the_auth_mode() -> None:
    base = {"MAGENTO_BASE_URL": BASE}
    bearer = Magento2Driver.from_env({**base, "MAGENTO_ACCESS_TOKEN": "t", "MAGENTO_STORE_CODE": "en"})
    assert isinstance(bearer.auth(), BearerToken)
    assert bearer.url("/V1/orders") == f"{BASE}/rest/en/V1/orders"
    admin = Magento2Driver.from_env({**base, "MAGENTO_USERNAME": "admin", "MAGENTO_PASSWORD": PASSWORD})
    assert isinstance(admin.auth(), AdminToken)
    assert admin.store_code == "default"
    oauth = Magento2Driver.from_env(
        {
            **base,
            "MAGENTO_CONSUMER_KEY": "a",
            "MAGENTO_CONSUMER_SECRET": "b",
            "MAGENTO_ACCESS_TOKEN": "c",
            "MAGENTO_ACCESS_TOKEN_SECRET": "d",
        }
    )
    assert isinstance(oauth.auth(), OAuth1)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "MAGENTO_BASE_URL"),
        ({"MAGENTO_BASE_URL": BASE}, "no Magento credentials"),
        ({"MAGENTO_BASE_URL": BASE, "MAGENTO_USERNAME": "admin"}, "MAGENTO_PASSWORD"),
        (
            {"MAGENTO_BASE_URL": BASE, "MAGENTO_CONSUMER_KEY": "ck-x", "MAGENTO_ACCESS_TOKEN": PASSWORD},
            "MAGENTO_CONSUMER_SECRET",
        ),
    ],
)
def test_from_env_says_what_is_missing_without_values(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        Magento2Driver.from_env(env)
    assert PASSWORD not in str(caught.value)


def test_empty_credentials_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        BearerToken("")
    with pytest.raises(ConfigurationError):
        AdminToken("admin", "")
