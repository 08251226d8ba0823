"""The fake NetSuite REST endpoint: token endpoint, SuiteQL and the record service over the kit's ``FakeStore``.

Theory of operation
-------------------
The fake keeps sales orders, item fulfilments, customers and items as records shaped like the REST record service
(field names of Oracle's schema, ``_netsuite_rest_xsd``), and answers three kinds of request, each in a module of
its own:

* ``POST /services/rest/auth/oauth2/v1/token`` and the check of every request's credentials
  (``_netsuite_rest_auth``: OAuth 2.0 client credentials with a JWT assertion, or TBA);
* ``POST /services/rest/query/v1/suiteql`` (``_netsuite_rest_suiteql``: SuiteQL through ``_netsuite_rest_sql``
  over tables computed from the records);
* the record service (``_netsuite_rest_records``): ``GET`` / ``PATCH`` of a sales order, ``POST`` of a sales
  order and of ``salesOrder/{id}/!transform/itemFulfillment``.

The records and the helpers that add and change them are in ``_netsuite_rest_data``. Here: the account's
credentials and sample data, the routes, and the base's hooks (NetSuite's error body, which requests are writes).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ._base_http import Answer, ReceivedRequest, dumps
from ._netsuite_rest_auth import _TOKEN_PATH, NetSuiteRestAuth, _key_pair
from ._netsuite_rest_data import status_code as status_code
from ._netsuite_rest_records import NetSuiteRestRecords

__all__ = ["FakeNetSuiteRest", "status_code"]

_ERROR_CODES = {
    400: "INVALID_PARAMETER",
    401: "INVALID_LOGIN",
    403: "INSUFFICIENT_PERMISSION",
    404: "NONEXISTENT_ID",
    405: "METHOD_NOT_ALLOWED",
    429: "CONCURRENCY_LIMIT_EXCEEDED",
    500: "UNEXPECTED_ERROR",
}


class FakeNetSuiteRest(NetSuiteRestRecords, NetSuiteRestAuth):
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
