"""Countries both ways: all 252 values of Oracle's ``Country`` enumeration against the XSD and ISO 3166 (pycountry),
on reads (``_luxembourg`` is ``LU``) and on writes (``LU`` goes out as ``_luxembourg``); a value either side does
not know is a typed error naming the order and the field, never an ISO code sent into an enumeration field."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from decimal import Decimal
from pathlib import Path

import pycountry
import pytest
from lxml import etree

from ecc_connectors import Address, Customer, NewOrder, NewOrderLine, OrderQuery, PayloadError, StoreError
from ecc_connectors.drivers.netsuite import (
    COUNTRY_TO_ISO,
    ISO_TO_COUNTRY,
    NetSuiteDriver,
    UnknownCountry,
    country_from_iso,
    iso_from_country,
    packaged_wsdl,
)
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import Runner

XSD = "http://www.w3.org/2001/XMLSchema"
# Codes outside ISO 3166-1 that NetSuite lists as countries (ISO 3166/MA exceptional reservations, and Kosovo's
# user-assigned code): pycountry rightly does not have them.
NOT_ISO_3166_1 = {"_canaryIslands": "IC", "_ceutaAndMelilla": "EA", "_kosovo": "XK"}
# NetSuite's word for a country where it differs from every name pycountry gives it.
NAMED_OTHERWISE = {"_holySee": "VA", "_wallisAndFutunaIslands": "WF"}


def countries_in(path: Path) -> list[str]:
    found = (
        etree.parse(str(path))
        .getroot()
        .xpath("//x:simpleType[@name='Country']/x:restriction/x:enumeration/@value", namespaces={"x": XSD})
    )
    assert isinstance(found, list)
    return [str(v) for v in found]


@pytest.fixture(scope="module")
def oracle_common_types() -> Path:
    from _shared import shared_path

    return shared_path("specs", "netsuite", "2023_2", "xsd", "platform.commonTypes.xsd")


def words(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", ascii_text.lower().replace(" the ", " "))


def test_the_packaged_xsds_are_oracles_unchanged(oracle_common_types: Path) -> None:
    packaged = packaged_wsdl().parent
    for name in ("platform.commonTypes.xsd", "transactions.saleTypes.xsd"):
        assert (packaged / name).read_bytes() == (oracle_common_types.parent / name).read_bytes(), name


def test_all_252_values_of_the_xsd_map_in_its_order(oracle_common_types: Path) -> None:
    values = countries_in(oracle_common_types)
    assert len(values) == 252
    assert list(COUNTRY_TO_ISO) == values == countries_in(packaged_wsdl().parent / "platform.commonTypes.xsd")
    assert len(set(COUNTRY_TO_ISO.values())) == 252  # one code per value: the table inverts
    assert {ISO_TO_COUNTRY[iso]: iso for iso in ISO_TO_COUNTRY} == dict(COUNTRY_TO_ISO)


def test_every_iso_3166_country_has_its_value_and_the_names_agree() -> None:
    iso_codes = {c.alpha_2 for c in pycountry.countries}
    assert len(iso_codes) == 249
    assert iso_codes == set(COUNTRY_TO_ISO.values()) - set(NOT_ISO_3166_1.values())
    for value, iso in COUNTRY_TO_ISO.items():
        if value in NOT_ISO_3166_1:
            assert NOT_ISO_3166_1[value] == iso
            assert pycountry.countries.get(alpha_2=iso) is None
            continue
        if value in NAMED_OTHERWISE:
            assert NAMED_OTHERWISE[value] == iso
            continue
        country = pycountry.countries.get(alpha_2=iso)
        names = {words(getattr(country, a)) for a in ("name", "common_name", "official_name") if hasattr(country, a)}
        # "_koreaTheRepublicOf" is pycountry's "Korea, Republic of" with NetSuite's "the".
        assert words(value[1:]).replace("the", "") in {n.replace("the", "") for n in names}, (value, iso, names)


@pytest.mark.parametrize("value", list(COUNTRY_TO_ISO))
def test_both_ways(value: str) -> None:
    iso = iso_from_country(value)
    assert country_from_iso(iso) == value
    assert country_from_iso(iso.lower()) == value


def test_the_two_names_the_old_table_had_wrong() -> None:
    assert (iso_from_country("_czechia"), iso_from_country("_koreaTheRepublicOf")) == ("CZ", "KR")
    assert (country_from_iso("CZ"), country_from_iso("KR")) == ("_czechia", "_koreaTheRepublicOf")
    for wrong in ("_czechRepublic", "_koreaRepublicOf"):
        with pytest.raises(UnknownCountry, match=wrong):
            iso_from_country(wrong)


def test_unknown_values_are_refused_both_ways() -> None:
    with pytest.raises(UnknownCountry) as raised:
        iso_from_country("_atlantis", "shippingAddress.country")
    assert (raised.value.value, raised.value.field) == ("_atlantis", "shippingAddress.country")
    for code in ("XX", "UK", "USA", "Luxembourg"):
        with pytest.raises(UnknownCountry):
            country_from_iso(code)
    assert iso_from_country("") == country_from_iso("  ") == ""


def test_an_order_in_luxembourg_reads_as_lu(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    """The old table knew 32 countries and handed the others through: ``_luxembourg`` came back as itself."""
    address = {"addressee": "Anna", "city": "Luxembourg", "country": "_luxembourg"}
    czech = {"addressee": "Jan", "city": "Praha", "country": "_czechia"}
    oid = fake_suitetalk.add_sales_order([("15", 1, "14.00")], billing=czech, shipping=address)
    order = ns_run(ns_driver.get_order(oid))
    assert (order.shipping_address.country, order.billing_address.country) == ("LU", "CZ")


def test_an_unknown_country_is_a_payload_error_naming_order_and_field_and_the_download_goes_on(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    oid = fake_suitetalk.add_sales_order([("15", 1, "14.00")], shipping={"addressee": "Nobody", "country": "_atlantis"})
    with pytest.raises(PayloadError) as raised:
        ns_run(ns_driver.get_order(oid))
    assert (raised.value.order_ref, raised.value.field) == (oid, "shippingAddress.country")
    assert "_atlantis" in str(raised.value)
    page = ns_run(ns_driver.first_page(OrderQuery()))
    assert page.next is None
    errors = [o for o in page.orders if isinstance(o, PayloadError)]
    assert [(e.order_ref, e.field) for e in errors] == [(oid, "shippingAddress.country")]
    assert sorted(o.order_id for o in page.orders if not isinstance(o, PayloadError)) == ["1505", "1506", "1507"]
    assert errors[0].raw["shippingAddress"]["country"] == "_atlantis"  # the record is kept


def phone_order(country: str) -> NewOrder:
    address = Address(name="Anna", street=("1 Rue",), city="Luxembourg", country=country)
    return NewOrder(
        reference=f"PHONE-{country}",
        customer=Customer(name="Anna", store_customer_id="87"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine(sku="TD-100", quantity=Decimal("1")),),
    )


def test_a_phone_order_to_luxembourg_sends_the_enumeration_value(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    order = ns_run(ns_driver.create_order(phone_order("lu")))
    stored = fake_suitetalk.sales_orders[order.order_id]
    assert stored["shippingAddress"]["country"] == stored["billingAddress"]["country"] == "_luxembourg"
    assert order.shipping_address.country == "LU"


def test_an_iso_code_netsuite_has_no_value_for_is_refused_before_anything_is_sent(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver
) -> None:
    calls = len(fake_suitetalk.calls)
    with pytest.raises(PayloadError) as raised:
        ns_run(ns_driver.create_order(phone_order("XX")))
    assert (raised.value.order_ref, raised.value.field) == ("PHONE-XX", "billing_address.country")
    assert fake_suitetalk.calls[calls:] == []


@pytest.mark.parametrize("sent", ["LU", "_czechRepublic", "_koreaRepublicOf"])
def test_the_fake_refuses_what_the_old_driver_sent(
    fake_suitetalk: FakeSuiteTalk, ns_run: Runner, ns_driver: NetSuiteDriver, sent: str
) -> None:
    """An ISO code (every country outside the old 32) and the old table's two misspellings: none is a value of
    Oracle's enumeration, so the fake refuses them as NetSuite would."""
    record = ns_driver._sales_order(
        entity={"internalId": "87"},
        shippingAddress={"country": sent, "city": "Somewhere"},
        itemList={"item": [{"item": {"internalId": "15"}, "quantity": 1}]},
    )
    with pytest.raises(StoreError, match=f"Invalid country reference key {sent}") as raised:
        ns_run(ns_driver._write("add", record, None, "add sales order"))
    assert raised.value.code == "INVALID_FLD_VALUE"


def test_the_country_table_needs_neither_zeep_nor_lxml_nor_pycountry() -> None:
    """The REST driver imports it; it is plain data, loaded without the SOAP stack."""
    code = (
        "import sys; from ecc_connectors.drivers.netsuite import COUNTRY_TO_ISO; "
        "print(len(COUNTRY_TO_ISO), sorted(m for m in ('zeep', 'lxml', 'pycountry') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["252", "[]"]
