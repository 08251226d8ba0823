"""The fake NetSuite REST endpoint on its own: its tables are Oracle's, its SuiteQL refuses what NetSuite refuses,
and its token endpoint checks the client assertion the way Oracle documents it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from lxml import etree

from ecc_connectors.testing.netsuite_rest import SPEC_TABLES, FakeNetSuiteRest, status_code

XS = "{http://www.w3.org/2001/XMLSchema}"
HTTP = httpx.Client(timeout=10)  # one client: building one per request costs more than the request


def _xsd(name: str) -> Any:
    from _shared import shared_path

    return etree.parse(str(shared_path("specs", "netsuite", "2023_2", "xsd", name)))


def _enum(file: str, name: str) -> tuple[str, ...]:
    node = _xsd(file).find(f".//{XS}simpleType[@name='{name}']")
    return tuple(e.get("value") for e in node.iter(f"{XS}enumeration"))


def _fields(file: str, name: str) -> tuple[str, ...]:
    node = _xsd(file).find(f".//{XS}complexType[@name='{name}']")
    return tuple(e.get("name") for e in node.iter(f"{XS}element")) + tuple(
        a.get("name") for a in node.iter(f"{XS}attribute")
    )


@pytest.mark.parametrize(
    ("table", "file", "kind", "name"),
    [
        ("SALES_ORDER_STATUSES", "transactions.saleTypes.xsd", "enum", "SalesOrderOrderStatus"),
        ("SHIP_STATUSES", "transactions.saleTypes.xsd", "enum", "ItemFulfillmentShipStatus"),
        ("SALES_ORDER_FIELDS", "transactions.sales.xsd", "type", "SalesOrder"),
        ("SALES_ORDER_ITEM_FIELDS", "transactions.sales.xsd", "type", "SalesOrderItem"),
        ("FULFILMENT_FIELDS", "transactions.sales.xsd", "type", "ItemFulfillment"),
        ("FULFILMENT_ITEM_FIELDS", "transactions.sales.xsd", "type", "ItemFulfillmentItem"),
        ("PACKAGE_FIELDS", "transactions.sales.xsd", "type", "ItemFulfillmentPackage"),
        ("ADDRESS_FIELDS", "platform.common.xsd", "type", "Address"),
    ],
)
def test_the_fakes_tables_are_oracles_schema(table: str, file: str, kind: str, name: str) -> None:
    expected = _enum(file, name) if kind == "enum" else _fields(file, name)
    assert SPEC_TABLES[table] == expected


def test_sales_order_transaction_statuses_come_from_the_schema() -> None:
    values = tuple(v for v in _enum("transactions.saleTypes.xsd", "TransactionStatus") if v.startswith("_salesOrder"))
    assert values == SPEC_TABLES["TRANSACTION_STATUSES"]
    # Oracle's correct spelling is what the fake knows (issue 12, item 1).
    assert "_salesOrderPendingBillingPartiallyFulfilled" in SPEC_TABLES["TRANSACTION_STATUSES"]


def test_status_letters_follow_the_enumerations_order() -> None:
    assert [status_code(letter) for letter in "ABCDEFGH"] == list(SPEC_TABLES["SALES_ORDER_STATUSES"][:8])
    with pytest.raises(KeyError):
        status_code("I")


@pytest.fixture
def fake() -> Iterator[FakeNetSuiteRest]:
    with FakeNetSuiteRest(3) as store:
        yield store


def _assertion(fake: FakeNetSuiteRest, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": fake.client_id,
        "scope": "rest_webservices",
        "aud": fake.token_url,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    headers = {"typ": "JWT", "kid": fake.certificate_id}
    algorithm = changes.pop("alg", "PS256")
    headers.update(changes.pop("headers", {}))
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, fake.private_key_pem, algorithm=algorithm, headers=headers)


def _token(fake: FakeNetSuiteRest, assertion: str, grant: str = "client_credentials") -> httpx.Response:
    return HTTP.post(
        fake.token_url,
        data={
            "grant_type": grant,
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )


def test_token_endpoint_accepts_a_well_formed_assertion_once(fake: FakeNetSuiteRest) -> None:
    assertion = _assertion(fake)
    answer = _token(fake, assertion)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "3600"
    assert body["access_token"]
    assert _token(fake, assertion).status_code == 400  # the same assertion again: refused


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"alg": "RS256"}, "invalid_client"),  # not one of Oracle's six algorithms
        ({"headers": {"kid": "another-cert"}}, "invalid_client"),
        ({"aud": "https://elsewhere.example/token"}, "invalid_grant"),
        ({"iss": "someone-else"}, "invalid_client"),
        ({"scope": "restlets"}, "invalid_client"),
        ({"exp": int(time.time()) + 7200}, "invalid_grant"),  # more than 60 minutes after iat
        ({"exp": int(time.time()) - 60}, "invalid_grant"),  # expired
        ({"exp": None}, "invalid_grant"),
    ],
)
def test_token_endpoint_refuses_bad_assertions(fake: FakeNetSuiteRest, changes: dict[str, Any], error: str) -> None:
    answer = _token(fake, _assertion(fake, **changes))
    assert answer.status_code == 400
    assert answer.json() == {"error": error}


def test_token_endpoint_refuses_a_foreign_key_and_another_grant(fake: FakeNetSuiteRest) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    forged = jwt.encode(
        {"iss": fake.client_id, "scope": "rest_webservices", "aud": fake.token_url, "iat": now, "exp": now + 60},
        other,
        algorithm="PS256",
        headers={"kid": fake.certificate_id, "typ": "JWT"},
    )
    assert _token(fake, forged).json() == {"error": "invalid_grant"}
    assert _token(fake, _assertion(fake), grant="password").json() == {"error": "unsupported_grant_type"}


def _bearer(fake: FakeNetSuiteRest) -> dict[str, str]:
    token = _token(fake, _assertion(fake)).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Prefer": "transient"}


def _suiteql(fake: FakeNetSuiteRest, q: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return HTTP.post(f"{fake.base_url}/services/rest/query/v1/suiteql", params=params, json={"q": q}, headers=headers)


def test_suiteql_needs_a_token_and_prefer_transient(fake: FakeNetSuiteRest) -> None:
    q = "SELECT t.id FROM transaction t"
    assert _suiteql(fake, q, {"Prefer": "transient"}).status_code == 401
    headers = _bearer(fake)
    assert _suiteql(fake, q, {"Authorization": headers["Authorization"]}).status_code == 400
    answer = _suiteql(fake, q, headers)
    assert answer.status_code == 200
    assert answer.json()["totalResults"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "SELECT t.nosuchcolumn FROM transaction t",
        "SELECT t.id FROM nosuchtable t",
        "SELECT t.id FROM transaction t WHERE t.id = 1 GROUP BY t.id",
        "SELECT TO_CHAR(t.lastmodifieddate, 'DD.MM.YYYY') AS x FROM transaction t",
        "SELECT t.id FROM transaction t WHERE t.lastmodifieddate > '2024-01-01'",
        "SELECT t.id FROM transaction t WHERE t.id IN (1, 2",
    ],
)
def test_suiteql_refuses_what_it_does_not_know(fake: FakeNetSuiteRest, query: str) -> None:
    answer = _suiteql(fake, query, _bearer(fake))
    assert answer.status_code == 400
    assert answer.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_suiteql_shows_bare_stamps_as_dates_and_formats_in_the_users_zone(fake: FakeNetSuiteRest) -> None:
    headers = _bearer(fake)
    q = (
        "SELECT t.id, t.lastmodifieddate, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified "
        "FROM transaction t ORDER BY t.id"
    )
    row = _suiteql(fake, q, headers).json()["items"][0]
    order = fake.sales_orders[row["id"]]
    local = order["lastModifiedDate"].astimezone(fake.zone)
    assert row["lastmodifieddate"] == f"{local.month}/{local.day}/{local.year}"  # no time of day
    assert row["modified"] == local.strftime("%Y-%m-%d %H:%M:%S")


def test_suiteql_lines_have_the_signs_of_postings_and_main_and_tax_lines(fake: FakeNetSuiteRest) -> None:
    order_id = fake.add_sales_order([("15", 2, "14.00")], tax="1.12")
    q = (
        "SELECT tl.id, tl.mainline, tl.taxline, tl.quantity, tl.foreignamount FROM transactionline tl "
        f"WHERE tl.transaction = {order_id} ORDER BY tl.id"
    )
    rows = _suiteql(fake, q, _bearer(fake)).json()["items"]
    assert [(r["mainline"], r["taxline"]) for r in rows] == [("T", "F"), ("F", "F"), ("F", "T")]
    assert rows[1]["quantity"] == "-2"
    assert rows[1]["foreignamount"] == "-28.00"


def test_suiteql_pages_by_limit_and_offset_within_oracles_bounds(fake: FakeNetSuiteRest) -> None:
    headers = _bearer(fake)
    q = "SELECT t.id FROM transaction t ORDER BY t.id"
    first = _suiteql(fake, q, headers, limit="2", offset="0").json()
    second = _suiteql(fake, q, headers, limit="2", offset="2").json()
    assert first["hasMore"] is True
    assert second["hasMore"] is False
    assert len(first["items"]) + len(second["items"]) == 3
    for params in (
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "2", "offset": "1"},
        {"limit": "1000", "offset": "99500"},
    ):
        assert _suiteql(fake, q, headers, **params).status_code == 400


def test_record_writes_refuse_fields_the_schema_does_not_have(fake: FakeNetSuiteRest) -> None:
    headers = _bearer(fake)
    order_id = next(iter(fake.sales_orders))
    url = f"{fake.base_url}/services/rest/record/v1/salesOrder/{order_id}"
    assert HTTP.patch(url, json={"notAField": 1}, headers=headers).status_code == 400
    assert HTTP.patch(url, json={"orderStatus": {"id": "Z"}}, headers=headers).status_code == 400
    # Pending fulfilment cannot be set back to pending approval, nor cancelled by status.
    assert HTTP.patch(url, json={"orderStatus": {"id": "A"}}, headers=headers).status_code == 400
    assert HTTP.patch(url, json={"orderStatus": {"id": "C"}}, headers=headers).status_code == 400
    transform = f"{url}/!transform/itemFulfillment"
    bad_package = {
        "item": {"items": [{"orderLine": 1, "itemReceive": True}]},
        "package": {"items": [{"trackingNumber": "1Z"}]},
    }
    assert HTTP.post(transform, json=bad_package, headers=headers).status_code == 400
    as_text = {"item": {"items": [{"orderLine": 1, "itemReceive": True, "quantity": "1"}]}}
    assert HTTP.post(transform, json=as_text, headers=headers).status_code == 400
    assert fake.fulfilments == {}


def test_creates_honour_the_idempotency_key(fake: FakeNetSuiteRest) -> None:
    headers = {**_bearer(fake), "X-NetSuite-Idempotency-Key": str(uuid.uuid4())}
    order_id = next(iter(fake.sales_orders))
    transform = f"{fake.base_url}/services/rest/record/v1/salesOrder/{order_id}/!transform/itemFulfillment"
    body = {"item": {"items": [{"orderLine": 1, "itemReceive": True, "quantity": 1}]}}
    first = HTTP.post(transform, json=body, headers=headers)
    assert first.status_code == 204
    assert first.headers["Location"].endswith(f"/itemFulfillment/{next(iter(fake.fulfilments))}")
    again = HTTP.post(transform, json=body, headers=headers)
    assert again.status_code == 400
    assert again.json()["o:errorDetails"][0]["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert len(fake.fulfilments) == 1
