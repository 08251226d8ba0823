"""Every request the driver sends, and every answer the fake gives, is valid against Oracle's own 2023_2 XSDs (all
46 files, loaded as one lxml schema): element order, types and enumeration values (``Country``, ``orderStatus``,
``shipStatus``, search statuses) included. The compact WSDL and the fake are the project's own writing; this is
where both meet Oracle's text."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from ecc_connectors import Address, Customer, NewOrder, NewOrderLine
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings
from ecc_connectors.testing import FakeSuiteTalk
from test_netsuite_wsdl import scenario

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


@pytest.fixture(scope="module")
def oracle_schema() -> etree.XMLSchema:
    from _shared import shared_path

    folder = shared_path("specs", "netsuite", "2023_2", "xsd")
    imports = "".join(
        f'<xsd:import namespace="{etree.parse(str(path)).getroot().get("targetNamespace")}" '
        f'schemaLocation="{path.name}"/>'
        for path in sorted(folder.glob("*.xsd"))
    )
    root = '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:ecc-check">'
    wrapper = f"{root}{imports}</xsd:schema>"
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=str(folder) + os.sep))


def invalid_parts(schema: etree.XMLSchema, content: bytes) -> list[str]:
    """What in an envelope's header and body (faults aside: SOAP's own) Oracle's schema does not accept."""
    root = etree.fromstring(content)
    problems = []
    for part in (root.find(f"{SOAP}Header"), root.find(f"{SOAP}Body")):
        for element in part if part is not None else ():
            if not isinstance(element.tag, str) or element.tag == f"{SOAP}Fault":
                continue
            if not schema.validate(element):
                problems.append(f"{etree.QName(element).localname}: {schema.error_log.last_error}")
    return problems


@pytest.fixture(scope="module")
def exchanges() -> tuple[list[bytes], list[bytes]]:
    """The requests and answers of every operation the driver performs, on an account with carriers, locations and
    lots as well as the plain sample data, and a phone order to Luxembourg."""
    requests: list[bytes] = []
    answers: list[bytes] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        answers.append(response.content)

    with FakeSuiteTalk() as fake, httpx.Client(timeout=30, event_hooks={"response": [keep]}) as client:
        lines = [("15", 2, "14.00"), ("16", 1, "39.95")]
        old = datetime(2023, 1, 1, tzinfo=timezone.utc)  # outside the scenario's listing windows
        fake.add_sales_order(
            lines, internal_id="2001", created=old, carrier="ups", locations={1: "7", 2: "8"}, lots={1: {"501": "2"}}
        )
        fake.add_sales_order(lines, internal_id="2002", created=old, carrier="fedex", lots={2: {"77": "1"}})
        driver = NetSuiteDriver(
            fake.credentials, NetSuiteSettings(endpoint=fake.url, status_field="custbody_ecc_status")
        )
        scenario(driver, client, lambda request: requests.append(request.content))
        luxembourg = Address(name="Anna", street=("1 Rue",), city="Luxembourg", country="LU")
        order = NewOrder(
            "PHONE-LU",
            Customer(store_customer_id="87"),
            luxembourg,
            luxembourg,
            (NewOrderLine("TD-100", Decimal("1")),),
        )

        flow = driver.create_order(order)
        try:
            request = next(flow)
            while True:
                requests.append(request.content)
                request = flow.send(client.send(request, auth=driver.auth()))
        except StopIteration:
            pass
    return requests, answers


def test_every_request_the_driver_sends_is_valid_against_oracles_xsds(
    oracle_schema: etree.XMLSchema, exchanges: tuple[list[bytes], list[bytes]]
) -> None:
    requests, _ = exchanges
    assert len(requests) >= 25
    problems = {problem for content in requests for problem in invalid_parts(oracle_schema, content)}
    assert not problems, sorted(problems)


def test_every_answer_of_the_fake_is_valid_against_oracles_xsds(
    oracle_schema: etree.XMLSchema, exchanges: tuple[list[bytes], list[bytes]]
) -> None:
    _, answers = exchanges
    assert len(answers) >= 25
    problems = {problem for content in answers for problem in invalid_parts(oracle_schema, content)}
    assert not problems, sorted(problems)


@pytest.mark.parametrize(
    ("field", "value"),
    [("country", "LU"), ("country", "_czechRepublic"), ("orderStatus", "_approved")],
)
def test_the_check_refuses_what_oracle_does_not_list(oracle_schema: etree.XMLSchema, field: str, value: str) -> None:
    """The check itself can fail: the old driver's country values and a status Oracle has no value for."""
    driver = NetSuiteDriver(
        FakeSuiteTalk(seed=False).credentials,
        NetSuiteSettings(endpoint="http://127.0.0.1:9/services/NetSuitePort_2023_2"),
    )
    fields = {"shippingAddress": {"country": value}} if field == "country" else {field: value}
    request = driver._soap.request("update", {"record": driver._sales_order(internalId="1", **fields)})
    problems = invalid_parts(oracle_schema, request.content)
    assert len(problems) == 1
    assert "enumeration" in problems[0]
    assert value in problems[0]
