"""The fake shares none of the driver's assumptions: it checks the token passport with its own signer (oauthlib's
HMAC-SHA256), reads its enumerations from Oracle's XSDs, refuses values those do not list, and answers with
Oracle's own status codes. So a driver bug in any of these is refused, not mirrored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

import ecc_connectors.drivers.netsuite._auth as driver_auth  # private: the driver's signer is patched with buggy ones
from ecc_connectors import AuthenticationError, ShipmentRequest, StoreError
from ecc_connectors.drivers.netsuite import NetSuiteDriver, passport_signature
from ecc_connectors.testing import FakeSuiteTalk
from ecc_connectors.testing import netsuite as fake_module
from ecc_connectors.testing.netsuite import oracle_enumeration, sales_order_search_statuses
from plugin_netsuite import Runner

XSD = "http://www.w3.org/2001/XMLSchema"


def enumeration(path: Path, type_name: str) -> list[str]:
    found = (
        etree.parse(str(path))
        .getroot()
        .xpath(f"//x:simpleType[@name='{type_name}']/x:restriction/x:enumeration/@value", namespaces={"x": XSD})
    )
    assert isinstance(found, list)
    return [str(v) for v in found]


@pytest.fixture(scope="module")
def oracle_xsd() -> Path:
    from _shared import shared_path

    return shared_path("specs", "netsuite", "2023_2", "xsd")


# -- the passport --------------------------------------------------------------------------------------------------


def test_the_fake_signs_with_its_own_signer_not_the_drivers() -> None:
    assert fake_module.passport_signature is not passport_signature
    for name in ("_netsuite.py", "_netsuite_records.py", "_netsuite_search.py", "_netsuite_soap.py"):
        imports = [ln for ln in (Path(fake_module.__file__).parent / name).read_text().splitlines() if "import" in ln]
        driver_imports = [ln for ln in imports if "drivers.netsuite" in ln]
        # Only the driver's public input type (the credentials handed to it) and the packaged XSDs' location.
        assert all(re.search(r"import (TokenCredentials|packaged_wsdl)$", ln) for ln in driver_imports), (
            name,
            driver_imports,
        )


def test_the_fakes_signer_agrees_with_oracles_definition_by_hand() -> None:
    """Oracle's help: Base64(HMAC-SHA256(key=consumerSecret&tokenSecret, account&consumerKey&token&nonce&ts))."""
    passport = {
        "account": "1234567_SB1",
        "consumerKey": "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
        "token": "2e9f8b0e1f4e4e0b9a2c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809112",
        "nonce": "fjDBDhFhMQDRuIVmnKgX",
        "timestamp": "1508242306",
    }
    secrets = ("d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9a8f5", "c29a677df7d5439a458c063654187e3d")
    base = "&".join(passport[k] for k in ("account", "consumerKey", "token", "nonce", "timestamp"))
    by_hand = base64.b64encode(hmac.new("&".join(secrets).encode(), base.encode(), hashlib.sha256).digest()).decode()
    assert fake_module.passport_signature(passport, *secrets) == by_hand
    assert (
        passport_signature(
            "1234567-sb1", passport["consumerKey"], passport["token"], passport["nonce"], 1508242306, *secrets
        )
        == by_hand
    )


@pytest.mark.parametrize(
    "bug",
    ["secrets swapped", "account as the host writes it", "timestamp in milliseconds", "no key separator"],
)
def test_a_driver_signing_bug_is_refused_by_the_fake(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, monkeypatch: pytest.MonkeyPatch, bug: str
) -> None:
    """With the fake checking the passport through the driver's own function, each of these bugs passed."""
    right = driver_auth.passport_signature

    def buggy(account: str, ck: str, token: str, nonce: str, ts: int, cs: str, tsecret: str) -> str:
        if bug == "secrets swapped":
            return right(account, ck, token, nonce, ts, tsecret, cs)
        if bug == "account as the host writes it":
            base = "&".join((driver_auth.account_host(account), ck, token, nonce, str(ts)))
            digest = hmac.new(f"{cs}&{tsecret}".encode(), base.encode(), hashlib.sha256).digest()
            return base64.b64encode(digest).decode()
        if bug == "timestamp in milliseconds":
            return right(account, ck, token, nonce, ts * 1000, cs, tsecret)
        digest = hmac.new(f"{cs}{tsecret}".encode(), "&".join((account, ck, token, nonce, str(ts))).encode(), "sha256")
        return base64.b64encode(digest.digest()).decode()

    monkeypatch.setattr(driver_auth, "passport_signature", buggy)
    with pytest.raises(AuthenticationError):
        ns_run(ns_driver.get_order("1505"))


def test_the_right_signature_is_taken(fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver) -> None:
    assert ns_run(ns_driver.get_order("1505")).order_id == "1505"


# -- Oracle's enumerations -----------------------------------------------------------------------------------------


def test_the_fakes_enumerations_are_read_from_oracles_xsds(oracle_xsd: Path) -> None:
    sale_types = oracle_xsd / "transactions.saleTypes.xsd"
    assert list(oracle_enumeration("Country")) == enumeration(oracle_xsd / "platform.commonTypes.xsd", "Country")
    for name in ("SalesOrderOrderStatus", "ItemFulfillmentShipStatus", "TransactionStatus"):
        assert list(oracle_enumeration(name)) == enumeration(sale_types, name)
    pairs = sales_order_search_statuses()
    assert sorted(pairs) == sorted(
        v for v in enumeration(sale_types, "TransactionStatus") if v.startswith("_salesOrder")
    )
    assert pairs["_salesOrderPendingBillingPartiallyFulfilled"] == "_pendingBillingPartFulfilled"
    assert pairs["_salesOrderBilled"] == "_fullyBilled"


def test_the_fake_refuses_an_order_status_the_xsd_does_not_list(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    record = ns_driver._sales_order(internalId="1506", orderStatus="_approved")
    with pytest.raises(StoreError, match="Invalid orderStatus value _approved") as raised:
        ns_run(ns_driver._write("update", record, "1506", "approve"))
    assert raised.value.code == "INVALID_FLD_VALUE"
    assert fake_suitetalk.sales_orders["1506"]["orderStatus"] == "_pendingApproval"


def test_the_fake_refuses_a_ship_status_the_xsd_does_not_list(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    fulfilment = ns_driver._soap.type("sales", "ItemFulfillment")(
        createdFrom={"internalId": "1505"},
        shipStatus="_delivered",
        itemList={"replaceAll": False, "item": [{"orderLine": 1, "quantity": Decimal("1")}]},
    )
    with pytest.raises(StoreError, match="Invalid shipStatus value _delivered"):
        ns_run(ns_driver._write("add", fulfilment, "1505", "add fulfilment"))
    assert not fake_suitetalk.fulfilments
    assert ns_run(ns_driver.ship(ShipmentRequest("1505"))).shipment_id  # Oracle's _shipped is taken


def test_every_status_code_the_fake_answers_with_is_oracles(oracle_xsd: Path) -> None:
    codes = set(enumeration(oracle_xsd / "platform.faultTypes.xsd", "StatusDetailCodeType"))
    fault_codes = set(enumeration(oracle_xsd / "platform.faultTypes.xsd", "FaultCodeType")) | codes
    sources = [
        Path(fake_module.__file__).parent / name
        for name in ("_netsuite.py", "_netsuite_records.py", "_netsuite_search.py", "_netsuite_soap.py")
    ]
    used = set()
    for path in sources:
        used |= set(re.findall(r'_StatusError\(\s*"([A-Z_]+)"', path.read_text()))
    assert used >= {"INVALID_ORD_STATUS", "INVALID_FLD_VALUE", "LOCATION_REQD", "INVALID_INVENTORY_NUM", "DUP_RCRD"}
    assert used <= codes, sorted(used - codes)
    # private: the fault table is the fake's own, held against Oracle's list like its sources above
    from ecc_connectors.testing._netsuite_soap import _FAULTS

    assert {code for _name, code, _message in _FAULTS.values()} <= fault_codes
