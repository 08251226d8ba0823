"""The status tables against Oracle's XSD, the created-date filter, and account ids that cannot leave NetSuite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from lxml import etree

from ecc_connectors import ConfigurationError, OrderQuery, StoreError
from ecc_connectors.drivers.netsuite import (
    ORDER_STATUSES,
    SEARCH_STATUS,
    NetSuiteDriver,
    NetSuiteSettings,
    TokenCredentials,
    account_host,
    passport_signature,
)
from ecc_connectors.testing.netsuite import ORDER_STATUS_CODES, SALES_ORDER_SEARCH_STATUSES, FakeSuiteTalk
from plugin_netsuite import Runner, collect_orders

XSD = "http://www.w3.org/2001/XMLSchema"


def enumeration(path: Path, type_name: str) -> list[str]:
    root = etree.parse(str(path)).getroot()
    found = root.xpath(f"//x:simpleType[@name='{type_name}']/x:restriction/x:enumeration/@value", namespaces={"x": XSD})
    assert isinstance(found, list)
    assert found, f"{type_name} not in {path.name}"
    return [str(v) for v in found]


@pytest.fixture(scope="module")
def sale_types() -> Path:
    from _shared import shared_path

    return shared_path("specs", "netsuite", "2023_2", "xsd", "transactions.saleTypes.xsd")


def test_the_fakes_status_tables_are_oracles(sale_types: Path) -> None:
    """The fake spells statuses as the XSD does, so it can tell a driver that misspells one."""
    assert list(ORDER_STATUS_CODES) == enumeration(sale_types, "SalesOrderOrderStatus")
    sales_order_values = [v for v in enumeration(sale_types, "TransactionStatus") if v.startswith("_salesOrder")]
    assert sorted(SALES_ORDER_SEARCH_STATUSES) == sorted(sales_order_values)
    assert set(SALES_ORDER_SEARCH_STATUSES.values()) <= set(ORDER_STATUS_CODES)


def test_the_drivers_status_tables_are_oracles(sale_types: Path) -> None:
    assert [s.code for s in ORDER_STATUSES] == enumeration(sale_types, "SalesOrderOrderStatus")
    known = set(enumeration(sale_types, "TransactionStatus"))
    values = {v for v in SEARCH_STATUS.values() if v}
    assert values <= known, sorted(values - known)
    assert SEARCH_STATUS["_pendingBillingPartFulfilled"] == "_salesOrderPendingBillingPartiallyFulfilled"
    # Every record code but _undefined has its search value, and the pairs are the fake's (checked above).
    assert {v: k for k, v in SEARCH_STATUS.items() if v} == SALES_ORDER_SEARCH_STATUSES


def test_orders_pending_billing_and_partly_fulfilled_are_found(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fake_suitetalk.touch("1505", orderStatus="_pendingBillingPartFulfilled")
    listed, _ = collect_orders(ns_run, ns_driver, OrderQuery(statuses=("_pendingBillingPartFulfilled",)))
    assert [o.order_id for o in listed] == ["1505"]


def test_a_search_netsuite_does_not_understand_is_an_error_not_an_empty_listing(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    """NetSuite answers an enumeration value it does not know with no rows and a warning (since 2008.2)."""
    record = ns_driver._soap.type("common", "TransactionSearchBasic")(
        type={"operator": "anyOf", "searchValue": ["_salesOrder"]},
        status={"operator": "anyOf", "searchValue": ["_salesOrderPendingBillingPartFulfilled"]},
    )
    with pytest.raises(StoreError, match="enum value <_salesOrderPendingBillingPartFulfilled> is invalid") as raised:
        ns_run(ns_driver._search(record))
    assert raised.value.code == "WARNING"


def test_the_created_range_filters_on_the_date_orders_are_created_at(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    """An order entered on 1 March with an order date (tranDate) of 15 January: created_at is 1 March, so a
    download of orders created in March finds it, and one of January does not."""
    march = datetime(2024, 3, 1, tzinfo=timezone.utc)
    fake_suitetalk.sales_orders["1505"]["tranDate"] = datetime(2024, 1, 15, tzinfo=timezone.utc)
    fake_suitetalk.sales_orders["1506"]["createdDate"] = datetime(2024, 2, 10, tzinfo=timezone.utc)
    fake_suitetalk.sales_orders["1506"]["tranDate"] = datetime(2024, 3, 5, tzinfo=timezone.utc)
    in_march, _ = collect_orders(
        ns_run, ns_driver, OrderQuery(created_from=march, created_to=march + timedelta(days=30))
    )
    assert [o.order_id for o in in_march] == ["1505", "1507"]
    assert all(march <= o.created_at <= march + timedelta(days=30) for o in in_march)
    in_january, _ = collect_orders(
        ns_run,
        ns_driver,
        OrderQuery(created_from=datetime(2024, 1, 1, tzinfo=timezone.utc), created_to=march - timedelta(days=1)),
    )
    assert [o.order_id for o in in_january] == ["1506"]


# Account ids ------------------------------------------------------------------------------------------------
SECRETS = ("ck", "cs", "tok", "ts")


@pytest.mark.parametrize(
    ("account", "host"),
    [
        ("1234567", "1234567"),
        ("1234567_SB1", "1234567-sb1"),
        ("1234567-sb12", "1234567-sb12"),
        ("tstdrv1234567", "tstdrv1234567"),
        ("TSTDRV1234567_SB2", "tstdrv1234567-sb2"),
        ("1234567_RP", "1234567-rp"),
        ("  1234567_SB1\n", "1234567-sb1"),
    ],
)
def test_account_ids_that_are_account_ids(account: str, host: str) -> None:
    assert account_host(account) == host
    driver = NetSuiteDriver(TokenCredentials(account, *SECRETS))
    assert driver.endpoint == f"https://{host}.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"


@pytest.mark.parametrize(
    "account",
    [
        "evil.example.com/x?",  # would put the signed requests on another host
        "1234567.evil.example.com#",
        "1234567@evil.example.com",
        "1234567_SB1/../x",
        "1234567 SB1",
        "ACME",
        "1234567_SANDBOX",
        "_SB1",
    ],
)
def test_anything_else_never_reaches_a_host_name(account: str) -> None:
    with pytest.raises(ValueError, match="not an account id"):
        TokenCredentials(account, *SECRETS)
    with pytest.raises(ValueError, match="not an account id"):
        account_host(account)
    names = ("CONSUMER_KEY", "CONSUMER_SECRET", "TOKEN_ID", "TOKEN_SECRET")
    env = {"NETSUITE_ACCOUNT": account, **{f"NETSUITE_{name}": "x" for name in names}}
    with pytest.raises(ConfigurationError, match="not an account id"):
        NetSuiteDriver.from_env(env=env)


def test_every_credential_is_stripped_of_whitespace(fake_suitetalk: FakeSuiteTalk) -> None:
    """A secret pasted with a trailing newline would sign a different base string: every value is stripped."""
    creds = fake_suitetalk.credentials
    padded = TokenCredentials(
        f" {creds.account}\n",
        f"{creds.consumer_key} ",
        f"\t{creds.consumer_secret}",
        f"{creds.token_id}\r\n",
        f" {creds.token_secret} ",
    )
    assert padded == creds
    passport = padded.passport(nonce="nonce-123456", timestamp=1_700_000_000)
    assert passport["signature"] == passport_signature(
        creds.account,
        creds.consumer_key,
        creds.token_id,
        "nonce-123456",
        1_700_000_000,
        creds.consumer_secret,
        creds.token_secret,
    )
    driver = NetSuiteDriver(padded, NetSuiteSettings(endpoint=fake_suitetalk.url))
    with httpx.Client(timeout=10) as client:
        from plugin_netsuite import run_flow

        assert run_flow(driver.get_order("1505"), client, driver.auth()).order_id == "1505"
    env = {
        "NETSUITE_ACCOUNT": " 1234567 ",
        "NETSUITE_CONSUMER_KEY": "ck\n",
        "NETSUITE_CONSUMER_SECRET": "cs",
        "NETSUITE_TOKEN_ID": "tok",
        "NETSUITE_TOKEN_SECRET": "   ",
    }
    with pytest.raises(ConfigurationError, match="NETSUITE_TOKEN_SECRET"):
        NetSuiteDriver.from_env(env=env)
