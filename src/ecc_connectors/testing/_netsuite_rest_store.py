"""The fake NetSuite REST endpoint: token endpoint, SuiteQL and the record service over the kit's ``FakeStore``.

Theory of operation
-------------------
The fake keeps sales orders, item fulfilments, customers and items as records shaped like the REST record service
(field names of Oracle's schema, ``_netsuite_rest_xsd``), and answers three kinds of request:

* ``POST /services/rest/auth/oauth2/v1/token``: the client credentials grant. The client assertion is checked
  with PyJWT against the public key of the certificate mapped to the client: its signature, its ``alg`` (one of
  Oracle's six), ``kid`` (the certificate id), ``iss`` (the client id), ``aud`` (this token URL), ``scope``
  (``rest_webservices``), ``iat`` and ``exp`` (not expired, at most 60 minutes apart). A bearer token valid for
  ``token_lifetime`` seconds comes back. TBA requests are checked with oauthlib's HMAC-SHA256 signature code.
* ``POST /services/rest/query/v1/suiteql``: the query runs through ``_netsuite_rest_sql`` over tables computed from
  the records (``transaction``, ``transactionline`` with its main and tax lines and negative quantities and amounts,
  the address tables, ``item``, ``pricing``, ``inventoryitemlocations``), in the session time zone
  (``time_zone``), paged by ``limit`` (1..1000) and ``offset``, refused without ``Prefer: transient``. Every query
  over ``transaction`` is a listing request for the base's ``on_listing`` / ``schedule`` hooks.
* the record service: ``GET`` / ``PATCH`` of a sales order, ``POST`` of a sales order and of
  ``salesOrder/{id}/!transform/itemFulfillment``. Bodies are checked against the schema's field names and the
  status letters; creates honour ``X-NetSuite-Idempotency-Key`` (a second request with a key already used is
  refused with ``IDEMPOTENCY_ERROR``, as Oracle documents) and refuse a duplicate external id; an answer is 204
  with a ``Location`` header, as NetSuite answers.

Status letters follow the ``SalesOrderOrderStatus`` enumeration's order (``A`` first); closing every line makes an
order ``H`` (Closed); fulfilling every line makes it ``F`` (Pending Billing), some of them ``E``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ._base_http import Answer, HttpError, ReceivedRequest, Route, dumps
from ._netsuite_rest_sql import SqlError, Table, run_query
from ._netsuite_rest_xsd import (
    ADDRESS_FIELDS,
    FULFILMENT_FIELDS,
    FULFILMENT_ITEM_FIELDS,
    PACKAGE_FIELDS,
    SALES_ORDER_FIELDS,
    SALES_ORDER_ITEM_FIELDS,
    SALES_ORDER_STATUSES,
    SHIP_STATUSES,
)
from .base import FakeStore

__all__ = ["FakeNetSuiteRest", "status_code"]

# The letters of SuiteQL's transaction.status, in the order of Oracle's SalesOrderOrderStatus enumeration.
_LETTERS: dict[str, str] = dict(zip("ABCDEFGH", SALES_ORDER_STATUSES[:8], strict=True))
# ItemShip:A Picked, B Packed, C Shipped (Oracle's transaction status list); the names are the schema's.
_SHIP_LETTERS = {"A": "_picked", "B": "_packed", "C": "_shipped"}
assert set(_SHIP_LETTERS.values()) == set(SHIP_STATUSES)
_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
_ERROR_CODES = {
    400: "INVALID_PARAMETER",
    401: "INVALID_LOGIN",
    403: "INSUFFICIENT_PERMISSION",
    404: "NONEXISTENT_ID",
    405: "METHOD_NOT_ALLOWED",
    429: "CONCURRENCY_LIMIT_EXCEEDED",
    500: "UNEXPECTED_ERROR",
}
# SuiteQL analytics columns that are not record field names in the schema (Oracle's Records Catalog).
_TRANSACTION_EXTRA = {"id", "type", "externalid", "foreigntotal", "shippingaddress", "billingaddress"}
_LINE_EXTRA = {
    "transaction",
    "id",
    "linesequencenumber",
    "mainline",
    "taxline",
    "foreignamount",
    "quantityshiprecv",
    "memo",
    "itemtype",
}


_KEYS: list[Any] = []
_KEYS_LOCK = threading.Lock()


def _key_pair() -> Any:
    """The RSA key of the fake's M2M certificate: made once per process (2048-bit keys take a while to make)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _KEYS_LOCK:
        if not _KEYS:
            _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEYS[0]


def status_code(letter: str) -> str:
    """The schema's ``SalesOrderOrderStatus`` value for a SuiteQL status letter."""
    return _LETTERS[letter]


def _label(code: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", code.lstrip("_")).title()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_fields(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for name in body:
        if name not in allowed and not name.startswith("custbody"):
            raise HttpError(400, f"Invalid field '{name}' for {what}.", "INVALID_FIELD")


def _check_numbers(line: Mapping[str, Any], names: tuple[str, ...], what: str) -> None:
    """Number fields take JSON numbers (the record service refuses text there)."""
    for name in names:
        value = line.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise HttpError(
                400, f"Invalid value type for field '{name}' of {what}: a number is expected.", "INVALID_FLD_VALUE"
            )


def _sublist(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    sub = body.get(name)
    if sub is None:
        return []
    items = sub.get("items") if isinstance(sub, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HttpError(400, f"The sublist '{name}' must be {{\"items\": [...]}}.", "INVALID_PARAMETER")
    return items


def _ref_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


class FakeNetSuiteRest(FakeStore):
    """A fake NetSuite account's REST web services on ``127.0.0.1`` (see the module notes)::

        with FakeNetSuiteRest() as fake:
            credentials = ClientCredentials(fake.account, fake.client_id, fake.certificate_id, fake.private_key_pem)
            driver = NetSuiteRestDriver(credentials, NetSuiteRestSettings(endpoint=fake.base_url,
                                                                          time_zone=fake.time_zone))

    It makes its own RSA key pair (the M2M mapping's certificate); ``private_key_pem`` is what the application
    would hold. Sample data: three customers, five items (``TD-100`` ...) and, with ``orders``, that many sales
    orders pending fulfilment created over the last two days."""

    name = "fake-netsuite-rest"
    description = "fake NetSuite REST endpoint"

    def __init__(
        self,
        orders: int = 0,
        *,
        account: str = "1234567_SB1",
        time_zone: str = "America/Los_Angeles",
        token_lifetime: float = 3600.0,
        new_order_status: str = "B",
        clock: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(clock=clock, **kwargs)
        from cryptography.hazmat.primitives import serialization

        key = _key_pair()
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_keys: dict[str, Any] = {"cert-1": key.public_key()}
        self.account = account
        self.client_id = "fake-client-" + secrets.token_hex(8)
        self.certificate_id = "cert-1"
        self.consumer_key, self.consumer_secret = "ck-" + secrets.token_hex(8), "cs-" + secrets.token_hex(8)
        self.token_id, self.token_secret = "tk-" + secrets.token_hex(8), "ts-" + secrets.token_hex(8)
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.token_lifetime = token_lifetime
        self.new_order_status = new_order_status
        self.understate_totals = 0
        """A hostile knob: SuiteQL answers report ``totalResults`` this much smaller than the truth."""
        self.deny_more = False
        """A hostile knob: SuiteQL answers say ``hasMore: false`` even when more rows follow."""
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.assertions_seen: set[str] = set()
        self.sales_orders: dict[str, dict[str, Any]] = {}
        self.fulfilments: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, str] = {}
        self.customers = {"87": "Acme Corp", "88": "Bolt Ltd", "89": "Cedar LLC"}
        self.currencies = {"1": "USD", "2": "EUR"}
        self.ship_methods = {"4": "UPS Ground"}
        self.items: dict[str, dict[str, Any]] = {}
        self._ids = iter(range(1000, 10**9))
        self._nkeys = iter(range(5000, 10**9))
        self._id_lock = threading.Lock()
        for item_id, sku, name, kind, price, stock in (
            ("15", "TD-100", "Trail Drink 100", "InvtPart", "14.00", {"1": "40", "2": "2"}),
            ("16", "TD-200", "Trail Drink 200", "InvtPart", "19.50", {"1": "0"}),
            ("17", "GIFT-WRAP", "Gift wrapping", "Service", "3.00", {}),
            ("18", "KIT-1", "Starter kit", "Kit", "30.00", {}),
            ("19", "OLD-1", "Retired drink", "InvtPart", "9.00", {"1": "5"}),
        ):
            self.items[item_id] = {
                "id": item_id,
                "itemid": sku,
                "displayname": name,
                "itemtype": kind,
                "isinactive": "T" if sku == "OLD-1" else "F",
                "prices": [(1, Decimal("0"), Decimal(price)), (1, Decimal("10"), Decimal(price) * Decimal("0.9"))],
                "stock": {loc: Decimal(qty) for loc, qty in stock.items()},
            }
        start = self.now() - timedelta(days=2)
        for n in range(orders):
            self.add_sales_order([("15", n % 3 + 1, "14.00")], customer="87", created=start + timedelta(minutes=n))
        r = "/services/rest/record/v1"
        self.route("POST", _TOKEN_PATH, self._token, auth=None)
        self.route("POST", "/services/rest/query/v1/suiteql", self._suiteql)
        self.route("GET", rf"{r}/salesOrder/(\d+)", self._get_order)
        self.route("PATCH", rf"{r}/salesOrder/(\d+)", self._patch_order)
        self.route("POST", rf"{r}/salesOrder", self._post_order)
        self.route("POST", rf"{r}/salesOrder/(\d+)/!transform/itemFulfillment", self._fulfil)

    @classmethod
    def started(cls, orders: int = 0, **kwargs: Any) -> FakeNetSuiteRest:
        return cls(orders, **kwargs).start()

    @property
    def token_url(self) -> str:
        return self.base_url + _TOKEN_PATH

    def _next_id(self) -> str:
        with self._id_lock:
            return str(next(self._ids))

    def _stamp(self) -> datetime:
        return self.now().replace(microsecond=0)  # NetSuite keeps whole seconds

    # -- data --------------------------------------------------------------------------------------------------

    def add_sales_order(
        self,
        lines: Sequence[tuple[str, int | str | Decimal, str]],
        *,
        customer: str = "87",
        status: str | None = None,
        created: datetime | None = None,
        modified: datetime | None = None,
        memo: str = "",
        country: str = "US",
        external_id: str | None = None,
        tax: str = "0.00",
        shipping: str = "5.00",
        internal_id: str | None = None,
        tran_id: str | None = None,
        email: str | None = None,
        address: Mapping[str, Any] | None = None,
    ) -> str:
        """A sales order with ``(item id, quantity, rate)`` lines; returns its internal id. ``status`` is a letter
        or a schema value (``_pendingApproval``); ``address`` (Address field names, an ISO ``country``) is used
        for billing and shipping."""
        letter = status or self.new_order_status
        if letter not in _LETTERS:
            letter = next((k for k, v in _LETTERS.items() if v == letter), "")
            if not letter:
                raise ValueError(f"not a SalesOrderOrderStatus value: {status!r}")
        with self.lock:
            order_id = internal_id or self._next_id()
            when = (created or self._stamp()).astimezone(timezone.utc).replace(microsecond=0)
            changed = (modified or when).astimezone(timezone.utc).replace(microsecond=0)
            items = []
            for n, (item_id, quantity, rate) in enumerate(lines, start=1):
                qty, price = Decimal(str(quantity)), Decimal(rate)
                items.append(
                    {
                        "line": n,
                        "item": item_id,
                        "quantity": qty,
                        "rate": price,
                        "amount": qty * price,
                        "description": self.items[item_id]["displayname"],
                        "quantityFulfilled": Decimal("0"),
                        "isClosed": False,
                    }
                )
            subtotal = sum((i["amount"] for i in items), Decimal("0"))
            postal = (
                dict(address)
                if address is not None
                else {
                    "addressee": self.customers[customer],
                    "addr1": f"{order_id} Main St",
                    "city": "Springfield",
                    "state": "IL",
                    "zip": "62701",
                    "country": country,
                    "addrPhone": "555-0100",
                }
            )
            self.sales_orders[order_id] = {
                "id": order_id,
                "tranId": tran_id or f"SO{order_id}",
                "orderStatus": letter,
                "createdDate": when,
                "lastModifiedDate": changed,
                "entity": customer,
                "email": email if email is not None else f"buyer{order_id}@example.com",
                "memo": memo,
                "otherRefNum": None,
                "externalId": external_id,
                "currency": "1",
                "shipMethod": "4",
                "shippingCost": Decimal(shipping),
                "taxTotal": Decimal(tax),
                "discountTotal": Decimal("0"),
                "total": subtotal + Decimal(shipping) + Decimal(tax),
                "shippingAddress": {**postal, "nkey": next(self._nkeys)},
                "billingAddress": {**postal, "nkey": next(self._nkeys)},
                "item": items,
            }
            return order_id

    def touch(self, order_id: str, **fields: Any) -> None:
        """Change a sales order as a user would (its ``lastModifiedDate`` moves to now)."""
        with self.lock:
            order = self.sales_orders[order_id]
            order.update(fields)
            order["lastModifiedDate"] = self._stamp()

    def status_of(self, order_id: str) -> str:
        with self.lock:
            return str(self.sales_orders[order_id]["orderStatus"])

    def revoke_tokens(self) -> None:
        """Forget every access token issued (a revoked mapping, or tokens expired early)."""
        with self.lock:
            self.tokens.clear()

    # -- the base's hooks --------------------------------------------------------------------------------------

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        given = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        if given.startswith("Bearer "):
            expires = self.tokens.get(given[len("Bearer ") :])
            if expires is not None and expires > time.time():
                return
        elif given.startswith("OAuth ") and self._tba_valid(request):
            return
        raise HttpError(401, "Invalid login attempt. For more details, see the Login Audit Trail.", "INVALID_LOGIN")

    def _tba_valid(self, request: ReceivedRequest) -> bool:
        from oauthlib.common import Request
        from oauthlib.oauth1.rfc5849 import signature

        headers = dict(request.headers)
        method: Any = request.method
        checked: Any = Request(request.raw_url or f"http://{self.host}:{self.port}{request.url}", method, None, headers)
        found = dict(
            signature.collect_parameters(
                uri_query=checked.uri_query, headers=headers, exclude_oauth_signature=False, with_realm=True
            )
        )
        if found.get("oauth_consumer_key") != self.consumer_key or found.get("oauth_token") != self.token_id:
            return False
        if found.get("oauth_signature_method") != "HMAC-SHA256":
            return False
        if found.get("realm") != self.account.upper().replace("-", "_"):
            return False
        checked.params = signature.collect_parameters(uri_query=checked.uri_query, headers=headers)
        checked.signature = found.get("oauth_signature", "")
        return bool(signature.verify_hmac_sha256(checked, self.consumer_secret, self.token_secret))

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        code = parameters if isinstance(parameters, str) else _ERROR_CODES.get(status, "UNEXPECTED_ERROR")
        body = {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": message,
            "status": status,
            "o:errorDetails": [{"detail": message, "o:errorCode": code}],
        }
        return Answer(status, dumps(body), dict(headers or {}))

    def is_write(self, request: ReceivedRequest) -> bool:
        return request.method in ("POST", "PATCH") and "/record/" in request.path

    # -- token endpoint ----------------------------------------------------------------------------------------

    def _token(self, request: ReceivedRequest) -> Answer:
        import urllib.parse

        import jwt

        form = dict(urllib.parse.parse_qsl(request.body.decode(errors="replace")))

        def refuse(error: str) -> Answer:
            return Answer(400, dumps({"error": error}))

        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return refuse("invalid_request")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            return refuse("invalid_request")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in _ALGORITHMS or header.get("typ") != "JWT" or kid not in self.public_keys:
            return refuse("invalid_client")
        try:
            claims = jwt.decode(
                assertion,
                self.public_keys[kid],
                algorithms=[alg],
                audience=self.token_url,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=5,
            )
        except jwt.InvalidTokenError:
            return refuse("invalid_grant")
        scopes = {s.strip() for s in str(claims.get("scope", "")).split(",")}
        if claims.get("iss") != self.client_id or "rest_webservices" not in scopes:
            return refuse("invalid_client")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return refuse("invalid_grant")
        with self.lock:
            if assertion in self.assertions_seen:
                return refuse("invalid_grant")  # an assertion is used once
            self.assertions_seen.add(assertion)
            token = secrets.token_urlsafe(32)
            self.tokens[token] = time.time() + self.token_lifetime
            self.tokens_issued += 1
        return Answer(
            200, dumps({"access_token": token, "expires_in": str(int(self.token_lifetime)), "token_type": "bearer"})
        )

    # -- SuiteQL -----------------------------------------------------------------------------------------------

    def _tables(self) -> dict[str, Table]:
        transactions: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        shipping: list[dict[str, Any]] = []
        billing: list[dict[str, Any]] = []
        for order in self.sales_orders.values():
            oid = int(order["id"])
            transactions.append(
                {
                    "id": oid,
                    "tranid": order["tranId"],
                    "type": "SalesOrd",
                    "status": order["orderStatus"],
                    "createddate": order["createdDate"],
                    "lastmodifieddate": order["lastModifiedDate"],
                    "currency": int(order["currency"]),
                    "entity": int(order["entity"]),
                    "email": order.get("email"),
                    "memo": order.get("memo") or None,
                    "otherrefnum": order.get("otherRefNum"),
                    "externalid": order.get("externalId"),
                    "foreigntotal": order["total"],
                    "taxtotal": order["taxTotal"],
                    "shippingcost": order["shippingCost"],
                    "discounttotal": order["discountTotal"],
                    "shipmethod": int(order["shipMethod"]) if order.get("shipMethod") else None,
                    "shippingaddress": order["shippingAddress"]["nkey"],
                    "billingaddress": order["billingAddress"]["nkey"],
                }
            )
            lines.append(
                {
                    "transaction": oid,
                    "id": 0,
                    "linesequencenumber": 0,
                    "mainline": "T",
                    "taxline": "F",
                    "foreignamount": order["total"],
                }
            )
            for item in order["item"]:
                lines.append(
                    {
                        "transaction": oid,
                        "id": item["line"],
                        "linesequencenumber": item["line"],
                        "mainline": "F",
                        "taxline": "F",
                        "item": int(item["item"]),
                        "memo": item.get("description"),
                        "quantity": -item["quantity"],
                        "rate": item["rate"],
                        "foreignamount": -item["amount"],
                        "quantityshiprecv": item["quantityFulfilled"],
                        "isclosed": "T" if item["isClosed"] else "F",
                        "itemtype": self.items[item["item"]]["itemtype"],
                    }
                )
            if order["taxTotal"]:
                lines.append(
                    {
                        "transaction": oid,
                        "id": 9999,
                        "linesequencenumber": 9999,
                        "mainline": "F",
                        "taxline": "T",
                        "foreignamount": -order["taxTotal"],
                    }
                )
            for table, address in ((shipping, order["shippingAddress"]), (billing, order["billingAddress"])):
                table.append({k.lower(): v for k, v in address.items()})
        for fulfilment in self.fulfilments.values():
            transactions.append(
                {
                    "id": int(fulfilment["id"]),
                    "tranid": f"IF{fulfilment['id']}",
                    "type": "ItemShip",
                    "status": fulfilment["shipStatus"],
                    "createddate": fulfilment["createdDate"],
                    "lastmodifieddate": fulfilment["createdDate"],
                    "memo": fulfilment.get("memo") or None,
                    "externalid": fulfilment.get("externalId"),
                    "entity": int(self.sales_orders[fulfilment["createdFrom"]]["entity"]),
                }
            )
        address_columns = {f.lower() for f in ADDRESS_FIELDS} | {"nkey"}
        item_rows = [{k: v for k, v in i.items() if k not in ("prices", "stock")} for i in self.items.values()]
        prices = [
            {"item": int(i["id"]), "pricelevel": level, "priceqty": qty, "unitprice": price, "currency": 1}
            for i in self.items.values()
            for level, qty, price in i["prices"]
        ]
        stock = [
            {"item": int(i["id"]), "location": int(loc), "quantityavailable": qty}
            for i in self.items.values()
            for loc, qty in i["stock"].items()
        ]
        return {
            "transaction": Table(
                "transaction",
                frozenset({f.lower() for f in SALES_ORDER_FIELDS} | _TRANSACTION_EXTRA),
                transactions,
                {
                    "currency": lambda v: self.currencies.get(str(v)),
                    "entity": lambda v: self.customers.get(str(v)),
                    "shipmethod": lambda v: self.ship_methods.get(str(v)),
                },
            ),
            "transactionline": Table(
                "transactionline",
                frozenset({f.lower() for f in SALES_ORDER_ITEM_FIELDS} | _LINE_EXTRA),
                lines,
                {"item": lambda v: self.items[str(v)]["itemid"]},
            ),
            "transactionshippingaddress": Table("transactionshippingaddress", frozenset(address_columns), shipping),
            "transactionbillingaddress": Table("transactionbillingaddress", frozenset(address_columns), billing),
            "item": Table("item", frozenset({"id", "itemid", "displayname", "itemtype", "isinactive"}), item_rows),
            "pricing": Table("pricing", frozenset({"item", "pricelevel", "priceqty", "unitprice", "currency"}), prices),
            "inventoryitemlocations": Table(
                "inventoryitemlocations", frozenset({"item", "location", "quantityavailable"}), stock
            ),
        }

    def _suiteql(self, request: ReceivedRequest) -> Answer:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("prefer", "").lower() != "transient":
            raise HttpError(400, "The request header 'Prefer: transient' is required for SuiteQL.", "INVALID_HEADER")
        try:
            limit = int(request.param("limit") or "1000")
            offset = int(request.param("offset") or "0")
        except ValueError:
            raise HttpError(400, "limit and offset must be numbers.", "INVALID_PARAMETER") from None
        if not 1 <= limit <= 1000 or offset < 0 or offset % limit or offset + limit > 100_000:
            raise HttpError(400, "Invalid limit or offset.", "INVALID_PARAMETER")
        body = request.json() if request.body else None
        text = body.get("q") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise HttpError(400, 'The request body must be {"q": "<SuiteQL>"}.', "INVALID_PARAMETER")
        with self.lock:
            if re.search(r"\bfrom\s+transaction\b", text, re.IGNORECASE):
                failed = self.listing_request()
                if failed is not None:
                    return failed
            try:
                rows = run_query(text, self._tables(), self.zone)
            except SqlError as error:
                raise HttpError(400, str(error), "INVALID_PARAMETER") from None
        page = rows[offset : offset + limit]
        answer = {
            "links": [],
            "count": len(page),
            "hasMore": offset + limit < len(rows) and not self.deny_more,
            "items": [{"links": [], **row} for row in page],
            "offset": offset,
            "totalResults": max(0, len(rows) - self.understate_totals),
        }
        return self.json_answer(answer)

    # -- record service ----------------------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.sales_orders.get(order_id)
        if order is None:
            raise HttpError(404, f"The record instance does not exist. Provided id: {order_id}.", "NONEXISTENT_ID")
        return order

    def _get_order(self, request: ReceivedRequest, order_id: str) -> Any:
        with self.lock:
            o = self._order(order_id)
            items = [
                {
                    "line": i["line"],
                    "item": {"id": i["item"], "refName": self.items[i["item"]]["itemid"]},
                    "quantity": float(i["quantity"]),
                    "rate": float(i["rate"]),
                    "amount": float(i["amount"]),
                    "description": i.get("description"),
                    "quantityFulfilled": float(i["quantityFulfilled"]),
                    "isClosed": i["isClosed"],
                }
                for i in o["item"]
            ]
            record = {
                "links": [],
                "id": o["id"],
                "tranId": o["tranId"],
                "orderStatus": {"id": o["orderStatus"], "refName": _label(_LETTERS[o["orderStatus"]])},
                "memo": o.get("memo") or None,
                "externalId": o.get("externalId"),
                "lastModifiedDate": _iso(o["lastModifiedDate"]),
                "createdDate": _iso(o["createdDate"]),
                "entity": {"id": o["entity"]},
                "item": {"items": items, "totalResults": len(items)},
            }
            record.update({k: v for k, v in o.items() if k.startswith("custbody")})
            return {k: v for k, v in record.items() if v is not None}

    def _patch_order(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        _check_fields(body, set(SALES_ORDER_FIELDS) | {"item"}, "salesOrder")
        with self.lock:
            order = self._order(order_id)
            changes: dict[str, Any] = {}
            if "orderStatus" in body:
                letter = _ref_id(body["orderStatus"])
                if letter not in _LETTERS:
                    raise HttpError(400, f"Invalid orderStatus reference key {letter}.", "INVALID_KEY_OR_REF")
                if not (order["orderStatus"] == "A" and letter == "B") and letter != order["orderStatus"]:
                    raise HttpError(400, "You cannot set this status on the order.", "INVALID_FLD_VALUE")
                changes["orderStatus"] = letter
            lines = {item["line"]: item for item in order["item"]}
            closing = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(SALES_ORDER_ITEM_FIELDS), "salesOrder.item")
                line = lines.get(change.get("line"))
                if line is None:
                    raise HttpError(400, f"The sublist line {change.get('line')} does not exist.", "INVALID_PARAMETER")
                if change.get("isClosed") is True:
                    closing.append(line)
            for key, value in body.items():
                if key == "memo" or key.startswith("custbody"):
                    changes[key] = value
            for line in closing:
                line["isClosed"] = True
            order.update(changes)
            if (
                order["item"]
                and all(i["isClosed"] or i["quantityFulfilled"] >= i["quantity"] for i in order["item"])
                and closing
            ):
                order["orderStatus"] = "H"
            order["lastModifiedDate"] = self._stamp()
        return Answer(204, b"")

    def _created(self, path: str, record_id: str) -> Answer:
        return Answer(204, b"", {"Location": f"{self.base_url}/services/rest/record/v1/{path}/{record_id}"})

    def _idempotent(self, request: ReceivedRequest) -> str | None:
        key = {k.lower(): v for k, v in request.headers.items()}.get("x-netsuite-idempotency-key")
        if key is not None and key in self.idempotency:
            raise HttpError(400, "A request with the same idempotency key is already submitted.", "IDEMPOTENCY_ERROR")
        return key

    def _external_id_free(self, external_id: Any) -> None:
        if external_id is None:
            return
        taken = [
            r for r in [*self.sales_orders.values(), *self.fulfilments.values()] if r.get("externalId") == external_id
        ]
        if taken:
            raise HttpError(400, "A record with the same external ID already exists.", "DUP_RCRD")

    def _post_order(self, request: ReceivedRequest) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        _check_fields(body, set(SALES_ORDER_FIELDS) | {"item", "externalId"}, "salesOrder")
        for name in ("billingAddress", "shippingAddress"):
            address = body.get(name) or {}
            _check_fields(address, set(ADDRESS_FIELDS), name)
            country = _ref_id(address.get("country"))
            if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
                raise HttpError(400, f"Invalid country reference key {country}.", "INVALID_KEY_OR_REF")
        with self.lock:
            key = self._idempotent(request)
            self._external_id_free(body.get("externalId"))
            customer = _ref_id(body.get("entity"))
            if customer not in self.customers:
                raise HttpError(400, f"Invalid entity reference key {customer}.", "INVALID_KEY_OR_REF")
            lines = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(SALES_ORDER_ITEM_FIELDS), "salesOrder.item")
                _check_numbers(change, ("quantity", "rate"), "salesOrder.item")
                item_id = _ref_id(change.get("item"))
                item = self.items.get(item_id or "")
                if item is None or item["isinactive"] == "T":
                    raise HttpError(400, f"Invalid item reference key {item_id}.", "INVALID_KEY_OR_REF")
                rate = str(change.get("rate") if change.get("rate") is not None else item["prices"][0][2])
                lines.append((str(item_id), str(change.get("quantity")), rate))
            if not lines:
                raise HttpError(400, "You must enter at least one line item for this transaction.", "USER_ERROR")
            order_id = self.add_sales_order(lines, customer=str(customer), external_id=body.get("externalId"))
            order = self.sales_orders[order_id]
            order["otherRefNum"] = body.get("otherRefNum")
            order["email"] = body.get("email") or order["email"]
            for name in ("billingAddress", "shippingAddress"):
                given = {k: (_ref_id(v) if k == "country" else v) for k, v in (body.get(name) or {}).items()}
                order[name] = {**given, "nkey": next(self._nkeys)}
            if key is not None:
                self.idempotency[key] = order_id
        return self._created("salesOrder", order_id)

    def _fulfil(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        sublists = {"item", "package", "packageUps", "packageFedEx", "packageUsps"}
        _check_fields(body, set(FULFILMENT_FIELDS) | sublists, "itemFulfillment")
        with self.lock:
            key = self._idempotent(request)
            order = self._order(order_id)
            self._external_id_free(body.get("externalId"))
            if order["orderStatus"] not in ("B", "D", "E"):
                raise HttpError(
                    400, "You can not initialize itemfulfillment: invalid reference.", "INVALID_INITIALIZE_REF"
                )
            ship = _ref_id(body.get("shipStatus")) or "C"
            if ship not in _SHIP_LETTERS:
                raise HttpError(400, f"Invalid shipStatus reference key {ship}.", "INVALID_KEY_OR_REF")
            lines = {item["line"]: item for item in order["item"]}
            taken: list[tuple[dict[str, Any], Decimal]] = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(FULFILMENT_ITEM_FIELDS), "itemFulfillment.item")
                _check_numbers(change, ("quantity",), "itemFulfillment.item")
                line = lines.get(change.get("orderLine"))
                if line is None:
                    raise HttpError(
                        400, f"The order line {change.get('orderLine')} does not exist.", "INVALID_PARAMETER"
                    )
                if change.get("itemReceive") is False:
                    continue
                remaining = line["quantity"] - line["quantityFulfilled"]
                qty = Decimal(str(change.get("quantity", remaining)))
                if line["isClosed"] or qty <= 0 or qty > remaining:
                    raise HttpError(400, f"Invalid quantity for order line {line['line']}.", "INVALID_QTY")
                taken.append((line, qty))
            if not taken:
                raise HttpError(400, "You must enter at least one line item for this transaction.", "USER_ERROR")
            packages = []
            for package in _sublist(body, "package"):
                _check_fields(package, set(PACKAGE_FIELDS), "itemFulfillment.package")
                packages.append(dict(package))
            for line, qty in taken:
                line["quantityFulfilled"] += qty
            fulfilled = all(i["isClosed"] or i["quantityFulfilled"] >= i["quantity"] for i in order["item"])
            order["orderStatus"] = "F" if fulfilled else "E"
            order["lastModifiedDate"] = self._stamp()
            record_id = self._next_id()
            self.fulfilments[record_id] = {
                "id": record_id,
                "createdFrom": order_id,
                "externalId": body.get("externalId"),
                "memo": body.get("memo"),
                "shipStatus": ship,
                "packages": packages,
                "createdDate": self._stamp(),
                "lines": [(line["line"], qty) for line, qty in taken],
            }
            if key is not None:
                self.idempotency[key] = record_id
        return self._created("itemFulfillment", record_id)
