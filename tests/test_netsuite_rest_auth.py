"""Authentication of the ``netsuite_rest`` driver: the OAuth 2.0 client assertion, the token cache shared by both
shells, refresh, TBA, account validation, and secrets kept out of reprs, errors and logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ecc_connectors import (
    AsyncConnector,
    AuthenticationError,
    ConfigurationError,
    Connector,
    DownloadRange,
    SettingsError,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
    create_driver,
)
from ecc_connectors.drivers.netsuite_rest import (
    ClientCredentials,
    ClientCredentialsAuth,
    NetSuiteRestDriver,
    NetSuiteRestSettings,
    TbaCredentials,
    account_host,
    valid_account,
)
from ecc_connectors.testing.netsuite_rest import FakeNetSuiteRest

POLICY = SyncPolicy(
    statuses=StatusMapping((StatusRule("_pendingFulfillment"),)),
    range=DownloadRange(start=datetime(2020, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)


@pytest.fixture
def fake() -> Iterator[FakeNetSuiteRest]:
    with FakeNetSuiteRest(6) as store:
        yield store


def m2m(fake: FakeNetSuiteRest, **changes: str) -> ClientCredentials:
    values = {"client_id": fake.client_id, "certificate_id": fake.certificate_id, "private_key": fake.private_key_pem}
    values.update(changes)
    return ClientCredentials(fake.account, **values)


def driver_for(fake: FakeNetSuiteRest, credentials: ClientCredentials | TbaCredentials) -> NetSuiteRestDriver:
    return NetSuiteRestDriver(credentials, NetSuiteRestSettings(endpoint=fake.base_url, time_zone=fake.time_zone))


@pytest.mark.parametrize("bad", ["attacker.example/#", "1234567.evil.com", "123 456", "", "TSTDRV", "1234567_XX1"])
def test_account_ids_that_could_leave_the_host_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an account id"):
        valid_account(bad)
    with pytest.raises(ValueError, match="account id"):
        ClientCredentials(bad, "client", "cert", "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----")


def test_account_ids_and_credentials_are_stripped() -> None:
    assert account_host(" 1234567_SB1\n") == "1234567-sb1"
    assert account_host("tstdrv42") == "tstdrv42"
    creds = TbaCredentials(" 1234567 ", " key\n", "secret ", "\ttoken", "tsecret\n")
    assert (creds.account, creds.consumer_key, creds.consumer_secret) == ("1234567", "key", "secret")


def test_only_oracles_algorithms_and_pem_keys_are_accepted(fake: FakeNetSuiteRest) -> None:
    with pytest.raises(ValueError, match="PS256"):
        m2m(fake, algorithm="RS256")
    with pytest.raises(ValueError, match="PEM"):
        m2m(fake, private_key="not a key")


def test_the_client_assertion_has_the_documented_header_and_claims(fake: FakeNetSuiteRest) -> None:
    auth = ClientCredentialsAuth(m2m(fake), fake.token_url)
    request = auth.token_request()
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = form["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "PS256", "typ": "JWT", "kid": fake.certificate_id}
    claims = jwt.decode(assertion, fake.public_keys[fake.certificate_id], algorithms=["PS256"], audience=fake.token_url)
    assert claims["iss"] == fake.client_id
    assert claims["scope"] == "rest_webservices"
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert abs(claims["iat"] - time.time()) < 5


def test_an_es256_certificate_works(fake: FakeNetSuiteRest) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fake.public_keys["cert-ec"] = key.public_key()
    driver = driver_for(fake, m2m(fake, certificate_id="cert-ec", private_key=pem.decode(), algorithm="ES256"))
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        assert connector.download().downloaded == 6
    assert fake.tokens_issued == 1


def test_one_token_serves_both_shells_and_every_thread(fake: FakeNetSuiteRest) -> None:
    driver = driver_for(fake, m2m(fake))
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        connector.download()
        connector.get_order(next(iter(fake.sales_orders)))

    async def run_async() -> None:
        async with AsyncConnector(driver, POLICY, SQLiteLedger()) as connector:
            await connector.download()

    asyncio.run(run_async())
    assert fake.tokens_issued == 1
    tokens = {
        r.headers.get("Authorization") or r.headers.get("authorization")
        for r in fake.requests
        if "/token" not in r.path
    }
    assert len(tokens) == 1


def test_a_token_about_to_expire_is_replaced_before_use(fake: FakeNetSuiteRest) -> None:
    now = [1_000_000.0]
    auth = ClientCredentialsAuth(m2m(fake), fake.token_url, clock=lambda: now[0])
    url = f"{fake.base_url}/services/rest/record/v1/salesOrder/{next(iter(fake.sales_orders))}"
    with httpx.Client(auth=auth) as client:
        assert client.get(url).status_code == 200
        now[0] += 3000  # still valid
        assert client.get(url).status_code == 200
        assert auth.fetched == 1
        now[0] += 560  # within a minute of expiry: refreshed first
        assert client.get(url).status_code == 200
        assert auth.fetched == 2


def test_a_revoked_token_is_replaced_once(fake: FakeNetSuiteRest) -> None:
    driver = driver_for(fake, m2m(fake))
    order_id = next(iter(fake.sales_orders))
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        connector.get_order(order_id)
        fake.revoke_tokens()
        assert connector.get_order(order_id).order_id == order_id
    assert fake.tokens_issued == 2


def test_refused_client_credentials_are_an_authentication_error_without_secrets(
    fake: FakeNetSuiteRest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    driver = driver_for(fake, m2m(fake, client_id="wrong-client-id-123"))
    with Connector(driver, POLICY, SQLiteLedger()) as connector, pytest.raises(AuthenticationError) as caught:
        connector.download()
    text = str(caught.value) + repr(caught.value) + caplog.text + repr(driver) + repr(driver.auth())
    assert "wrong-client-id-123" not in text
    assert "PRIVATE KEY" not in text


def test_no_secret_reaches_a_log_or_a_repr(fake: FakeNetSuiteRest, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = m2m(fake)
    driver = driver_for(fake, credentials)
    fake.inject_5xx(1)  # a retry, so the I/O layer logs something
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        connector.download()
    issued = [r for r in fake.requests if "/token" not in r.path]
    token = (issued[-1].headers.get("Authorization") or issued[-1].headers.get("authorization") or "").split()[-1]
    shown = caplog.text + repr(credentials) + repr(driver) + repr(driver.auth())
    for secret in (fake.client_id, token, "PRIVATE KEY", fake.private_key_pem.splitlines()[1]):
        assert secret not in shown


def test_tba_signs_every_request(fake: FakeNetSuiteRest) -> None:
    good = TbaCredentials(fake.account, fake.consumer_key, fake.consumer_secret, fake.token_id, fake.token_secret)
    with Connector(driver_for(fake, good), POLICY, SQLiteLedger()) as connector:
        assert connector.download().downloaded == 6
    assert fake.tokens_issued == 0
    nonces = [r.headers.get("Authorization", r.headers.get("authorization", "")) for r in fake.requests]
    assert len(set(nonces)) == len(nonces)  # a fresh nonce and signature each time
    bad = TbaCredentials(fake.account, fake.consumer_key, fake.consumer_secret, fake.token_id, "wrong")
    with Connector(driver_for(fake, bad), POLICY, SQLiteLedger()) as connector, pytest.raises(AuthenticationError):
        connector.download()


def test_settings_from_the_environment(fake: FakeNetSuiteRest) -> None:
    env = {
        "NETSUITE_ACCOUNT": fake.account,
        "NETSUITE_CLIENT_ID": fake.client_id,
        "NETSUITE_CERTIFICATE_ID": fake.certificate_id,
        "NETSUITE_PRIVATE_KEY": fake.private_key_pem,
        "NETSUITE_REST_ENDPOINT": fake.base_url,
        "NETSUITE_TIME_ZONE": fake.time_zone,
    }
    driver = NetSuiteRestDriver.from_env(env)
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        assert connector.download().downloaded == 6
    made = create_driver("netsuite_rest", credentials=m2m(fake), settings=NetSuiteRestSettings(endpoint=fake.base_url))
    assert isinstance(made, NetSuiteRestDriver)
    assert made.store_id == driver.store_id == "netsuite:1234567_SB1"
    with pytest.raises(SettingsError) as caught:
        NetSuiteRestDriver.from_env({**env, "NETSUITE_TIME_ZONE": "Mars/Olympus", "NETSUITE_PAGE_SIZE": "5000"})
    assert set(caught.value.problems) == {"time_zone", "page_size"}
    with pytest.raises(ConfigurationError, match="consumer_key"):
        NetSuiteRestDriver.from_env({"NETSUITE_ACCOUNT": fake.account, "NETSUITE_AUTH": "tba"})
    with pytest.raises(ConfigurationError, match="client_id"):
        NetSuiteRestDriver.from_env({"NETSUITE_ACCOUNT": fake.account})
