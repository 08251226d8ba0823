"""A fake SuiteTalk SOAP endpoint for tests and examples: :class:`FakeSuiteTalk`.

A real HTTP server on 127.0.0.1 (ephemeral port, its own thread, a context manager) that answers the SuiteTalk
operations ``search``, ``searchMoreWithId`` (the driver no longer pages with it, other clients may), ``get``,
``getList``, ``add``, ``update`` and ``initialize``, for its own sales orders, item fulfilments, items and
customers. It behaves the
way the driver has to cope with:

* every request must carry a valid ``tokenPassport`` (signature checked with the fake's secrets, nonces used
  once, timestamps within five minutes); ``applicationInfo`` beside it is refused as ambiguous;
* a search is **not a snapshot**: every page, the first (``search``) as every later one (``searchMoreWithId``),
  runs the search again on the current data, so records edited, created or leaving the criteria between pages
  move the rows behind them. Oracle's help page for searchMoreWithId says so: each page request runs a new
  search for that page index, and records updated between pages so that they no longer match are left out.
  Rows come sorted by internal id unless ``search_order`` says otherwise (Oracle documents no order for basic
  searches);
* search ids expire ``search_ttl`` seconds after last use (``INVALID_JOB_ID``; Oracle's page gives 15 minutes
  without use);
* an enumeration value it does not know (a misspelt status) gives no rows and a ``WARN`` status detail, as
  NetSuite does since 2008.2; ``externalId`` is unique per record type (``DUP_RCRD`` on a second ``add``) and
  ``get`` finds records by ``externalId`` too;
* faults can be injected (concurrency, permission, HTTP 503), answers can be lost after a write was applied
  (:meth:`FakeSuiteTalk.lose_answers`), pages can be made to come back empty, the store can be changed between
  any two requests (:meth:`FakeSuiteTalk.on_answer`), requests can be slowed down, and a concurrency limit can
  be enforced.

Run ``python -m ecc_connectors.testing._netsuite`` to serve the sample data until interrupted.
"""

from __future__ import annotations

import itertools
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..drivers.netsuite._auth import TokenCredentials, passport_account, passport_signature

__all__ = ["FakeSuiteTalk"]

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSD = "http://www.w3.org/2001/XMLSchema"

# Sales order statuses as Oracle's 2023_2 schemas spell them, copied from the XSDs (not from the driver, whose
# tables are what this fake checks): the record's ``SalesOrderOrderStatus`` codes (transactions.saleTypes.xsd),
# and the ``TransactionStatus`` values a search filters sales orders by (the ``_salesOrder...`` values of the same
# file). tests/test_netsuite_statuses.py compares both lists with the XSDs themselves.
ORDER_STATUS_CODES = (
    "_pendingApproval",
    "_pendingFulfillment",
    "_cancelled",
    "_partiallyFulfilled",
    "_pendingBillingPartFulfilled",
    "_pendingBilling",
    "_fullyBilled",
    "_closed",
    "_undefined",
)
SALES_ORDER_SEARCH_STATUSES = {
    "_salesOrderBilled": "_fullyBilled",
    "_salesOrderCancelled": "_cancelled",
    "_salesOrderClosed": "_closed",
    "_salesOrderPartiallyFulfilled": "_partiallyFulfilled",
    "_salesOrderPendingApproval": "_pendingApproval",
    "_salesOrderPendingBilling": "_pendingBilling",
    "_salesOrderPendingBillingPartiallyFulfilled": "_pendingBillingPartFulfilled",
    "_salesOrderPendingFulfillment": "_pendingFulfillment",
}
"""Search value -> the record code of the orders it finds (Oracle pairs them by their UI labels)."""
_STATUS_LABEL = {
    "_pendingApproval": "Pending Approval",
    "_pendingFulfillment": "Pending Fulfillment",
    "_cancelled": "Cancelled",
    "_partiallyFulfilled": "Partially Fulfilled",
    "_pendingBillingPartFulfilled": "Pending Billing/Partially Fulfilled",
    "_pendingBilling": "Pending Billing",
    "_fullyBilled": "Billed",
    "_closed": "Closed",
    "_undefined": "Undefined",
}
_ITEM_SEARCH_TYPE = {
    "InventoryItem": "_inventoryItem",
    "NonInventorySaleItem": "_nonInventoryItem",
    "NonInventoryResaleItem": "_nonInventoryItem",
    "KitItem": "_kit",
    "AssemblyItem": "_assembly",
    "ServiceSaleItem": "_service",
    "ServiceResaleItem": "_service",
}
_FAULTS = {
    "concurrency": (
        "exceededRequestLimitFault",
        "WS_CONCUR_SESSION_DISALLWD",
        "Only one request may be made against a session at a time",
    ),
    "request_blocked": (
        "exceededConcurrentRequestLimitFault",
        "WS_REQUEST_BLOCKED",
        "SuiteTalk concurrent request limit exceeded. Request blocked.",
    ),
    "permission": (
        "insufficientPermissionFault",
        "INSUFFICIENT_PERMISSION",
        "Permission Violation: You need the 'Transactions -> Sales Order' permission to access this page.",
    ),
    "unexpected": ("unexpectedErrorFault", "UNEXPECTED_ERROR", "An unexpected error occurred."),
    "invalid_login": ("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt."),
}


def _ns(version: str) -> dict[str, str]:
    return {
        "soapenv": _SOAP,
        "xsi": _XSI,
        "xsd": _XSD,
        "platformCore": f"urn:core_{version}.platform.webservices.netsuite.com",
        "platformMsgs": f"urn:messages_{version}.platform.webservices.netsuite.com",
        "platformCommon": f"urn:common_{version}.platform.webservices.netsuite.com",
        "platformFaults": f"urn:faults_{version}.platform.webservices.netsuite.com",
        "tranSales": f"urn:sales_{version}.transactions.webservices.netsuite.com",
        "listAcct": f"urn:accounting_{version}.lists.webservices.netsuite.com",
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Any, name: str) -> Any:
    for child in element:
        if _local(child) == name:
            return child
    return None


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name] if element is not None else []


def _value(element: Any, name: str) -> str | None:
    child = _child(element, name) if element is not None else None
    return None if child is None else (child.text or "")


def _parse_dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _SoapError(Exception):
    def __init__(self, kind: str, message: str | None = None, http_status: int = 500) -> None:
        self.kind = kind
        self.message = message
        self.http_status = http_status
        super().__init__(kind)


class _StatusError(Exception):
    """An operation that answers normally with ``isSuccess="false"``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class _SearchWarning(Exception):
    """A search NetSuite answers with no rows and a warning (an enumeration value it does not know)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class FakeSuiteTalk:
    """A local SuiteTalk endpoint. Use as a context manager; point the driver at :attr:`url` with
    :attr:`credentials`::

        with FakeSuiteTalk() as fake:
            driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url))
    """

    def __init__(
        self,
        *,
        account: str = "TSTDRV1234567",
        consumer_key: str = "fake-consumer-key",
        consumer_secret: str = "fake-consumer-secret",
        token_id: str = "fake-token-id",
        token_secret: str = "fake-token-secret",
        version: str = "2023_2",
        search_ttl: float = 900.0,
        latency: float = 0.0,
        concurrency_limit: int | None = None,
        seed: bool = True,
        new_order_status: str = "_pendingFulfillment",
        clock: Callable[[], float] = time.monotonic,
        search_order: str = "internalId",
        max_page_size: int = 1000,
    ) -> None:
        self.credentials = TokenCredentials(account, consumer_key, consumer_secret, token_id, token_secret)
        self.version = version
        self.search_ttl = search_ttl
        self.latency = latency
        self.concurrency_limit = concurrency_limit
        self.new_order_status = new_order_status
        self.search_order = search_order
        self.max_page_size = max_page_size
        """Pages are at most this long whatever the request asks (the answer's ``pageSize`` says so)."""
        """How search rows are sorted: ``"internalId"`` (default), ``"reverse"`` (internal id descending),
        ``"lastModifiedDate"``, ``"createdDate"`` or ``"tranDate"`` (ties by internal id). Oracle documents no order
        for basic searches; the driver must not depend on one."""
        self._clock = clock
        self._ns = _ns(version)
        self._lock = threading.RLock()
        self._ids = itertools.count(1000)
        self._nonces: set[str] = set()
        self._in_flight = 0
        self._faults: list[tuple[str, str | None]] = []  # (kind, operation or None for any)
        self._empty_pages: dict[int, int] = {}
        self._lost: list[tuple[str, str | None]] = []  # (mode, operation or None for any)
        self._hooks: list[Callable[[str, FakeSuiteTalk], None]] = []
        self._searches: dict[str, dict[str, Any]] = {}
        self.sales_orders: dict[str, dict[str, Any]] = {}
        self.fulfilments: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, str] = {}
        self.calls: list[str] = []
        """Operation names in the order they were answered (faults included)."""
        self.nonces: list[str] = []
        """The passport nonce of every request, in arrival order."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if seed:
            self.seed_sample_data()

    # server -------------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeSuiteTalk:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._server is not None:
            return
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm holds the body until
                # the client's delayed ACK, some 40 ms per request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, content_type, payload = fake._handle(self.path, self.headers.get("SOAPAction"), body)
                if status == 0:  # the answer is lost: the connection closes without a byte of it
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="FakeSuiteTalk",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSuiteTalk is not running; use it as a context manager or call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/services/NetSuitePort_{self.version}"

    # test controls ------------------------------------------------------------------------------------------
    def fail_next(self, kind: str, times: int = 1, operation: str | None = None) -> None:
        """Answer the next ``times`` requests (of ``operation``, or any) with a fault: ``concurrency``
        (WS_CONCUR_SESSION_DISALLWD), ``request_blocked`` (WS_REQUEST_BLOCKED), ``permission``,
        ``unexpected``, ``invalid_login``, or ``unavailable`` (HTTP 503 without SOAP)."""
        if kind not in _FAULTS and kind != "unavailable":
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.extend([(kind, operation)] * times)

    def lose_answers(self, times: int = 1, operation: str | None = None, mode: str = "drop") -> None:
        """The next ``times`` requests (of ``operation``, or any) are carried out, then their answer is lost:
        ``"drop"`` closes the connection without answering, ``"500"`` answers HTTP 500 with an HTML page (a proxy
        that gave up). A write is applied all the same, as when NetSuite acts and the answer never arrives."""
        if mode not in ("drop", "500"):
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self._lost.extend([(mode, operation)] * times)

    def on_answer(self, hook: Callable[[str, FakeSuiteTalk], None]) -> None:
        """Call ``hook(operation, fake)`` after every answered request, before the next one is read: a test
        changes the store between pages this way (edits, new orders) even when the engine drives the paging."""
        with self._lock:
            self._hooks.append(hook)

    def expire_searches(self) -> None:
        """Make every search id issued so far unknown, as after 15 idle minutes."""
        with self._lock:
            self._searches.clear()

    def empty_page(self, page_index: int, times: int = 1) -> None:
        """The next ``times`` reads of ``page_index`` return no records, the totals unchanged."""
        with self._lock:
            self._empty_pages[page_index] = self._empty_pages.get(page_index, 0) + times

    def _next_id(self) -> str:
        return str(next(self._ids))

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)

    def add_customer(self, name: str, internal_id: str | None = None) -> str:
        with self._lock:
            cid = internal_id or self._next_id()
            self.customers[cid] = name
            return cid

    def add_item(
        self,
        item_id: str,
        display_name: str = "",
        *,
        kind: str = "InventoryItem",
        price: Decimal | str | None = None,
        rate: Decimal | str | None = None,
        available: Decimal | str | None = None,
        inactive: bool = False,
        internal_id: str | None = None,
    ) -> str:
        """An item; ``price`` goes in the pricing matrix (base price level), ``rate`` on the record."""
        if kind not in _ITEM_SEARCH_TYPE:
            raise ValueError(f"unknown item kind {kind!r}")
        with self._lock:
            iid = internal_id or self._next_id()
            self.items[iid] = {
                "internalId": iid,
                "kind": kind,
                "itemId": item_id,
                "displayName": display_name or item_id,
                "isInactive": inactive,
                "price": None if price is None else Decimal(price),
                "rate": None if rate is None else Decimal(rate),
                "quantityAvailable": None if available is None else Decimal(available),
                "lastModifiedDate": self.now(),
                "createdDate": self.now(),
            }
            return iid

    def add_sales_order(
        self,
        lines: Iterable[tuple[str, Decimal | str | int, Decimal | str]],
        *,
        customer: str | None = None,
        status: str = "_pendingFulfillment",
        tran_id: str | None = None,
        created: datetime | None = None,
        modified: datetime | None = None,
        shipping_cost: Decimal | str = "0",
        tax_total: Decimal | str = "0",
        discount_total: Decimal | str = "0",
        billing: dict[str, Any] | None = None,
        shipping: dict[str, Any] | None = None,
        custom_fields: dict[str, Any] | None = None,
        external_id: str | None = None,
        email: str = "",
        currency: str = "USD",
        internal_id: str | None = None,
        quantity_fulfilled: dict[int, Decimal | str] | None = None,
    ) -> str:
        """A sales order. ``lines`` are ``(item internalId, quantity, rate)``; totals are computed."""
        with self._lock:
            oid = internal_id or self._next_id()
            customer = customer or next(iter(self.customers), None) or self.add_customer("Walk-in Customer")
            built = []
            for number, (item_ref, quantity, rate) in enumerate(lines, start=1):
                item = self.items.get(item_ref)
                qty = Decimal(str(quantity))
                built.append(
                    {
                        "line": number,
                        "item": item_ref,
                        "itemName": item["itemId"] if item else item_ref,
                        "description": item["displayName"] if item else "",
                        "quantity": qty,
                        "rate": Decimal(rate),
                        "amount": qty * Decimal(rate),
                        "isClosed": False,
                        "quantityFulfilled": Decimal((quantity_fulfilled or {}).get(number, "0")),
                        "quantityBilled": Decimal("0"),
                    }
                )
            created = created or self.now()
            self.sales_orders[oid] = {
                "internalId": oid,
                "externalId": external_id,
                "tranId": tran_id or f"SO{oid}",
                "orderStatus": status,
                "entity": customer,
                "email": email,
                "currency": currency,
                "createdDate": created,
                "tranDate": created.replace(hour=0, minute=0, second=0),
                "lastModifiedDate": modified or created,
                "memo": "",
                "billingAddress": billing,
                "shippingAddress": shipping,
                "shipMethod": ("4", "UPS Ground"),
                "shippingCost": Decimal(shipping_cost),
                "taxTotal": Decimal(tax_total),
                "discountTotal": Decimal(discount_total),
                "lines": built,
                "customFields": dict(custom_fields or {}),
            }
            return oid

    def touch(self, order_id: str, **changes: Any) -> None:
        """Change a sales order as a user would (``orderStatus=...``), moving its lastModifiedDate."""
        with self._lock:
            order = self.sales_orders[order_id]
            order.update(changes)
            order["lastModifiedDate"] = self.now()

    def seed_sample_data(self) -> None:
        """A few customers, items of every kind offered for phone orders, and sales orders."""
        with self._lock:
            abe = self.add_customer("Abe Simpson", "87")
            self.add_customer("Phone Orders", "88")
            depressor = self.add_item(
                "TD-100", "Tongue Depressor", price="14.00", available="120", internal_id="15"
            )
            kit = self.add_item("KIT-FA", "First Aid Kit", kind="KitItem", price="39.95", internal_id="16")
            self.add_item(
                "SVC-FIT", "Fitting Service", kind="ServiceSaleItem", rate="75.00", internal_id="17"
            )
            self.add_item(
                "NI-GLOVE",
                "Nitrile Gloves (box)",
                kind="NonInventorySaleItem",
                price="8.50",
                internal_id="18",
            )
            self.add_item(
                "ASM-CHAIR",
                "Exam Chair",
                kind="AssemblyItem",
                price="249.00",
                available="3",
                internal_id="19",
            )
            self.add_item(
                "TD-OLD", "Old Tongue Depressor", price="9.00", available="0", inactive=True, internal_id="20"
            )
            address = {
                "addressee": "Abe Simpson",
                "addr1": "34 Elm St",
                "city": "Great Falls",
                "state": "MT",
                "zip": "59401",
                "country": "_unitedStates",
                "addrPhone": "406-555-0101",
            }
            base = datetime(2024, 3, 1, 15, 0, tzinfo=timezone.utc)
            self.add_sales_order(
                [(depressor, 2, "14.00"), (kit, 1, "39.95")],
                customer=abe,
                status="_pendingFulfillment",
                created=base,
                billing=address,
                shipping=address,
                shipping_cost="5.00",
                email="asimpson@example.com",
                internal_id="1505",
                custom_fields={"custbody_channel": "web"},
            )
            self.add_sales_order(
                [(depressor, 5, "14.00")],
                customer=abe,
                status="_pendingApproval",
                created=base + timedelta(hours=2),
                billing=address,
                shipping=address,
                internal_id="1506",
            )
            self.add_sales_order(
                [(kit, 2, "39.95")],
                customer=abe,
                status="_pendingBilling",
                created=base + timedelta(hours=4),
                billing=address,
                shipping=address,
                internal_id="1507",
                quantity_fulfilled={1: "2"},
            )

    # request handling ---------------------------------------------------------------------------------------
    def _handle(self, path: str, action: str | None, body: bytes) -> tuple[int, str, bytes]:
        from lxml import etree

        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self._in_flight += 1
            busy = self.concurrency_limit is not None and self._in_flight > self.concurrency_limit
        try:
            try:
                root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError:
                return 400, "text/plain", b"not XML"
            envelope_body = root.find(f"{{{_SOAP}}}Body")
            operation_element = (
                next((c for c in envelope_body if isinstance(c.tag, str)), None)
                if envelope_body is not None
                else None
            )
            operation = _local(operation_element) if operation_element is not None else ""
            with self._lock:
                self.calls.append(operation)
            try:
                if not path.endswith(f"/NetSuitePort_{self.version}"):
                    raise _SoapError("unexpected", f"no such endpoint {path}")
                self._check_passport(root)
                if busy:
                    raise _SoapError("request_blocked")
                self._injected(operation)
                with self._lock:
                    answer = self._dispatch(operation, operation_element, root)
                    payload = self._envelope(answer)
                    lost = self._take_lost(operation)
                    for hook in list(self._hooks):
                        hook(operation, self)
                if lost == "drop":
                    return 0, "", b""
                if lost == "500":
                    return 500, "text/html", b"<html><body>500 Internal Server Error</body></html>"
                return 200, "text/xml; charset=utf-8", payload
            except _SoapError as fault:
                if fault.kind == "unavailable":
                    return 503, "text/html", b"<html><body>Service Temporarily Unavailable</body></html>"
                return fault.http_status, "text/xml; charset=utf-8", self._fault(fault)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _take_lost(self, operation: str) -> str | None:
        for index, (mode, only) in enumerate(self._lost):
            if only is None or only == operation:
                del self._lost[index]
                return mode
        return None

    def _injected(self, operation: str) -> None:
        with self._lock:
            for index, (kind, only) in enumerate(self._faults):
                if only is None or only == operation:
                    del self._faults[index]
                    raise _SoapError(kind)

    def _check_passport(self, root: Any) -> None:
        header = root.find(f"{{{_SOAP}}}Header")
        passport = _child(header, "tokenPassport") if header is not None else None
        if passport is None:
            raise _SoapError(
                "invalid_login", "No token passport: this endpoint takes token-based authentication."
            )
        if _child(header, "applicationInfo") is not None:
            raise _SoapError(
                "invalid_login", "Ambiguous authentication: applicationInfo sent with a token passport."
            )
        creds = self.credentials
        nonce = _value(passport, "nonce") or ""
        timestamp_text = _value(passport, "timestamp") or "0"
        signature = _child(passport, "signature")
        try:
            timestamp = int(timestamp_text)
        except ValueError:
            raise _SoapError("invalid_login") from None
        expected = passport_signature(
            creds.account,
            creds.consumer_key,
            creds.token_id,
            nonce,
            timestamp,
            creds.consumer_secret,
            creds.token_secret,
        )
        with self._lock:
            self.nonces.append(nonce)
            reused = nonce in self._nonces
            self._nonces.add(nonce)
        if (
            _value(passport, "account") != passport_account(creds.account)
            or _value(passport, "consumerKey") != creds.consumer_key
            or _value(passport, "token") != creds.token_id
            or signature is None
            or signature.get("algorithm") != "HMAC-SHA256"
            or (signature.text or "") != expected
            or len(nonce) < 6
            or reused
            or abs(time.time() - timestamp) > 300
        ):
            raise _SoapError("invalid_login")

    def _dispatch(self, operation: str, element: Any, root: Any) -> Any:
        handler = {
            "search": self._op_search,
            "searchMoreWithId": self._op_search_more,
            "get": self._op_get,
            "getList": self._op_get_list,
            "add": self._op_add,
            "update": self._op_update,
            "initialize": self._op_initialize,
        }.get(operation)
        if handler is None:
            raise _SoapError("unexpected", f"operation {operation!r} is not served by this fake")
        return handler(element, root)

    # XML building -------------------------------------------------------------------------------------------
    def _q(self, prefix: str, name: str) -> str:
        return f"{{{self._ns[prefix]}}}{name}"

    def _el(self, parent: Any, prefix: str, name: str, text: Any = None, **attrs: Any) -> Any:
        from lxml import etree

        element = etree.SubElement(parent, self._q(prefix, name))
        for key, value in attrs.items():
            if value is not None:
                element.set(key, _text(value))
        if text is not None:
            element.text = _text(text)
        return element

    def _ref(self, parent: Any, prefix: str, name: str, internal_id: str | None, label: str = "") -> None:
        if internal_id is None:
            return
        ref = self._el(parent, prefix, name, internalId=internal_id)
        if label:
            self._el(ref, "platformCore", "name", label)

    def _envelope(self, build: Callable[[Any], None]) -> bytes:
        from lxml import etree

        nsmap = {k: v for k, v in self._ns.items() if k in ("soapenv", "xsi", "xsd")}
        root = etree.Element(f"{{{_SOAP}}}Envelope", nsmap=nsmap)
        header = etree.SubElement(root, f"{{{_SOAP}}}Header")
        info = etree.SubElement(
            header, self._q("platformMsgs", "documentInfo"), nsmap={"platformMsgs": self._ns["platformMsgs"]}
        )
        self._el(
            info, "platformMsgs", "nsId", f"WEBSERVICES_{passport_account(self.credentials.account)}_fake"
        )
        body = etree.SubElement(root, f"{{{_SOAP}}}Body")
        build(body)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))

    def _fault(self, fault: _SoapError) -> bytes:
        from lxml import etree

        detail_name, code, message = _FAULTS[fault.kind]
        message = fault.message or message
        root = etree.Element(f"{{{_SOAP}}}Envelope", nsmap={"soapenv": _SOAP, "xsi": _XSI, "xsd": _XSD})
        body = etree.SubElement(root, f"{{{_SOAP}}}Body")
        node = etree.SubElement(body, f"{{{_SOAP}}}Fault")
        etree.SubElement(node, "faultcode").text = "soapenv:Server.userException"
        etree.SubElement(node, "faultstring").text = message
        detail = etree.SubElement(node, "detail")
        inner = etree.SubElement(
            detail,
            self._q("platformFaults", detail_name),
            nsmap={"platformFaults": self._ns["platformFaults"]},
        )
        self._el(inner, "platformFaults", "code", code)
        self._el(inner, "platformFaults", "message", message)
        etree.SubElement(detail, "{http://xml.apache.org/axis/}hostname").text = "fake-suitetalk"
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))

    def _response(self, operation: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
        from lxml import etree

        def wrap(fill: Callable[[Any], None]) -> Callable[[Any], None]:
            def build(body: Any) -> None:
                nsmap: Any = {None: self._ns["platformMsgs"], "platformCore": self._ns["platformCore"]}
                node = etree.SubElement(body, self._q("platformMsgs", f"{operation}Response"), nsmap=nsmap)
                fill(node)

            return build

        return wrap

    def _status(
        self, parent: Any, error: _StatusError | None = None, warning: _SearchWarning | None = None
    ) -> None:
        status = self._el(parent, "platformCore", "status", isSuccess=error is None)
        if error is not None:
            detail = self._el(status, "platformCore", "statusDetail", type="ERROR")
            self._el(detail, "platformCore", "code", error.code)
            self._el(detail, "platformCore", "message", error.message)
        if warning is not None:
            detail = self._el(status, "platformCore", "statusDetail", type="WARN")
            self._el(detail, "platformCore", "code", "WARNING")
            self._el(detail, "platformCore", "message", warning.message)

    def _record(
        self, parent: Any, tag_prefix: str, tag: str, kind: str, data: dict[str, Any], body_only: bool = False
    ) -> None:
        from lxml import etree

        prefix = "listAcct" if kind in _ITEM_SEARCH_TYPE else "tranSales"
        # xsi:type values name prefixes, so the record declares the ones it and its fields use.
        nsmap = {p: self._ns[p] for p in (prefix, "platformCore", "platformCommon", "xsi")}
        record = etree.SubElement(parent, self._q(tag_prefix, tag), nsmap=nsmap)
        for key in ("internalId", "externalId"):
            if data.get(key):
                record.set(key, str(data[key]))
        record.set(f"{{{_XSI}}}type", f"{prefix}:{kind}")
        if kind == "SalesOrder":
            self._sales_order_fields(record, data, body_only)
        elif kind == "ItemFulfillment":
            self._fulfilment_fields(record, data, body_only)
        else:
            self._item_fields(record, data)

    def _address(self, parent: Any, name: str, address: dict[str, Any] | None) -> None:
        if not address:
            return
        node = self._el(parent, "tranSales", name)
        for key in (
            "country",
            "attention",
            "addressee",
            "addrPhone",
            "addr1",
            "addr2",
            "addr3",
            "city",
            "state",
            "zip",
        ):
            if address.get(key):
                self._el(node, "platformCommon", key, address[key])

    def _custom_fields(self, parent: Any, prefix: str, values: dict[str, Any]) -> None:
        if not values:
            return
        node = self._el(parent, prefix, "customFieldList")
        for script_id, value in values.items():
            field = self._el(node, "platformCore", "customField", scriptId=script_id)
            kind = (
                "BooleanCustomFieldRef"
                if isinstance(value, bool)
                else "DoubleCustomFieldRef"
                if isinstance(value, Decimal)
                else "StringCustomFieldRef"
            )
            field.set(f"{{{_XSI}}}type", f"platformCore:{kind}")
            self._el(field, "platformCore", "value", value)

    def _totals(self, order: dict[str, Any]) -> dict[str, Decimal]:
        subtotal = sum((line["amount"] for line in order["lines"]), Decimal("0"))
        total = subtotal + order["shippingCost"] + order["taxTotal"] + order["discountTotal"]
        return {"subTotal": subtotal, "total": total}

    def _sales_order_fields(self, record: Any, order: dict[str, Any], body_only: bool) -> None:
        el = self._el
        if order.get("createdDate"):
            el(record, "tranSales", "createdDate", order["createdDate"])
        self._ref(record, "tranSales", "entity", order["entity"], self.customers.get(order["entity"], ""))
        self._ref(record, "tranSales", "currency", "1", order["currency"])
        if order.get("tranDate"):
            el(record, "tranSales", "tranDate", order["tranDate"])
        el(record, "tranSales", "tranId", order["tranId"])
        el(record, "tranSales", "orderStatus", order["orderStatus"])
        if order.get("otherRefNum"):
            el(record, "tranSales", "otherRefNum", order["otherRefNum"])
        if order.get("memo"):
            el(record, "tranSales", "memo", order["memo"])
        if order.get("email"):
            el(record, "tranSales", "email", order["email"])
        self._address(record, "billingAddress", order.get("billingAddress"))
        self._address(record, "shippingAddress", order.get("shippingAddress"))
        ship_id, ship_name = order["shipMethod"]
        self._ref(record, "tranSales", "shipMethod", ship_id, ship_name)
        totals = self._totals(order)
        el(record, "tranSales", "shippingCost", order["shippingCost"])
        el(record, "tranSales", "subTotal", totals["subTotal"])
        el(record, "tranSales", "discountTotal", order["discountTotal"])
        el(record, "tranSales", "taxTotal", order["taxTotal"])
        el(record, "tranSales", "total", totals["total"])
        el(record, "tranSales", "lastModifiedDate", order["lastModifiedDate"])
        el(record, "tranSales", "status", _STATUS_LABEL.get(order["orderStatus"], ""))
        if not body_only:
            items = el(record, "tranSales", "itemList")
            for line in order["lines"]:
                node = el(items, "tranSales", "item")
                self._ref(node, "tranSales", "item", line["item"], line["itemName"])
                el(node, "tranSales", "quantity", line["quantity"])
                if line["description"]:
                    el(node, "tranSales", "description", line["description"])
                self._ref(node, "tranSales", "price", "1", "Base Price")
                el(node, "tranSales", "rate", line["rate"])
                el(node, "tranSales", "amount", line["amount"])
                el(node, "tranSales", "isClosed", line["isClosed"])
                el(node, "tranSales", "line", line["line"])
                el(node, "tranSales", "quantityBilled", line["quantityBilled"])
                el(node, "tranSales", "quantityFulfilled", line["quantityFulfilled"])
        self._custom_fields(record, "tranSales", order.get("customFields") or {})

    def _fulfilment_fields(self, record: Any, data: dict[str, Any], body_only: bool) -> None:
        el = self._el
        if data.get("createdDate"):
            el(record, "tranSales", "createdDate", data["createdDate"])
            el(record, "tranSales", "lastModifiedDate", data["createdDate"])
        order = self.sales_orders.get(data["createdFrom"], {})
        self._ref(
            record,
            "tranSales",
            "entity",
            order.get("entity"),
            self.customers.get(order.get("entity", ""), ""),
        )
        self._ref(
            record, "tranSales", "createdFrom", data["createdFrom"], f"Sales Order #{order.get('tranId', '')}"
        )
        if data.get("shipStatus"):
            el(record, "tranSales", "shipStatus", data["shipStatus"])
        if data.get("tranId"):
            el(record, "tranSales", "tranId", data["tranId"])
        if data.get("memo"):
            el(record, "tranSales", "memo", data["memo"])
        if not body_only and data.get("packages"):
            packages = el(record, "tranSales", "packageList")
            for number, descr in data["packages"]:
                package = el(packages, "tranSales", "package")
                if descr:
                    el(package, "tranSales", "packageDescr", descr)
                el(package, "tranSales", "packageTrackingNumber", number)
        if not body_only:
            items = el(record, "tranSales", "itemList")
            for line in data["lines"]:
                node = el(items, "tranSales", "item")
                el(node, "tranSales", "itemReceive", line.get("itemReceive", True))
                el(node, "tranSales", "itemName", line["itemName"])
                el(node, "tranSales", "quantity", line["quantity"])
                self._ref(node, "tranSales", "item", line["item"], line["itemName"])
                el(node, "tranSales", "orderLine", line["orderLine"])
                if "quantityRemaining" in line:
                    el(node, "tranSales", "quantityRemaining", line["quantityRemaining"])

    def _item_fields(self, record: Any, item: dict[str, Any]) -> None:
        el = self._el
        el(record, "listAcct", "createdDate", item["createdDate"])
        el(record, "listAcct", "lastModifiedDate", item["lastModifiedDate"])
        el(record, "listAcct", "itemId", item["itemId"])
        el(record, "listAcct", "displayName", item["displayName"])
        el(record, "listAcct", "isInactive", item["isInactive"])
        if item["price"] is not None:
            matrix = el(record, "listAcct", "pricingMatrix")
            pricing = el(matrix, "listAcct", "pricing")
            self._ref(pricing, "listAcct", "currency", "1", "USD")
            self._ref(pricing, "listAcct", "priceLevel", "1", "Base Price")
            prices = el(pricing, "listAcct", "priceList")
            price = el(prices, "listAcct", "price")
            el(price, "listAcct", "value", item["price"])
            el(price, "listAcct", "quantity", "0")
        if item["quantityAvailable"] is not None:
            el(record, "listAcct", "quantityAvailable", item["quantityAvailable"])
        if item["rate"] is not None:
            el(record, "listAcct", "rate", item["rate"])

    # search -------------------------------------------------------------------------------------------------
    def _criteria(self, search_record: Any) -> dict[str, Any]:
        kind = (search_record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        criteria: dict[str, Any] = {"_kind": kind}
        for child in search_record:
            name = _local(child)
            if not name:
                continue
            values = _children(child, "searchValue")
            criteria[name] = {
                "operator": child.get("operator"),
                "values": [
                    v.get("internalId") if v.get("internalId") is not None else (v.text or "") for v in values
                ],
                "value2": _value(child, "searchValue2"),
            }
        return criteria

    @staticmethod
    def _date_match(value: datetime, rule: dict[str, Any]) -> bool:
        first = _parse_dt(rule["values"][0]) if rule["values"] else None
        op = rule["operator"]
        if first is None:
            return True
        if op == "within":
            second = _parse_dt(rule["value2"]) if rule["value2"] else first
            return first <= value <= second
        if op == "onOrAfter":
            return value >= first
        if op == "after":
            return value > first
        if op == "onOrBefore":
            return value <= first
        if op == "before":
            return value < first
        return value == first

    @staticmethod
    def _string_match(value: str, rule: dict[str, Any]) -> bool:
        wanted = str((rule["values"] or [""])[0]).lower()
        value = value.lower()
        op = rule["operator"] or "is"
        if op == "contains":
            return wanted in value
        if op == "startsWith":
            return value.startswith(wanted)
        return value == wanted

    @staticmethod
    def _long_match(value: int, rule: dict[str, Any]) -> bool:
        """SearchLongField operators; ``between`` includes both ends."""
        values = [int(v) for v in rule["values"] if v not in ("", None)]
        if not values:
            return True
        first, op = values[0], rule["operator"] or "equalTo"
        second = int(rule["value2"]) if rule["value2"] not in ("", None) else first
        checks: dict[str, Callable[[], bool]] = {
            "equalTo": lambda: value == first,
            "notEqualTo": lambda: value != first,
            "greaterThan": lambda: value > first,
            "greaterThanOrEqualTo": lambda: value >= first,
            "lessThan": lambda: value < first,
            "lessThanOrEqualTo": lambda: value <= first,
            "between": lambda: first <= value <= second,
            "notBetween": lambda: not first <= value <= second,
        }
        if op not in checks:
            raise _SoapError("unexpected", f"operator {op!r} is not served by this fake")
        return checks[op]()

    def _sort_key(self, pair: tuple[str, dict[str, Any]]) -> Any:
        data = pair[1]
        order = self.search_order
        if order == "internalId":
            return int(data["internalId"])
        if order == "reverse":
            return -int(data["internalId"])
        if order in ("lastModifiedDate", "tranDate", "createdDate"):
            stamp = data.get(order) or data.get("createdDate") or datetime.min.replace(tzinfo=timezone.utc)
            return (stamp, int(data["internalId"]))
        raise ValueError(f"unknown search_order {order!r}")

    def _matches(self, criteria: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        kind = criteria["_kind"]
        found: list[tuple[str, dict[str, Any]]] = []
        status = criteria.get("status")
        for value in (status or {}).get("values") or []:
            if value not in SALES_ORDER_SEARCH_STATUSES:
                # What NetSuite does since 2008.2 with an enumeration value it does not know: no rows, a warning.
                raise _SearchWarning(f"The field status's enum value <{value}> is invalid for this search.")
        ids = criteria.get("internalIdNumber")
        if kind == "TransactionSearchBasic":
            types = set(criteria.get("type", {}).get("values") or ["_salesOrder", "_itemFulfillment"])
            if "_salesOrder" in types:
                for order in self.sales_orders.values():
                    if self._order_matches(order, criteria):
                        found.append(("SalesOrder", order))
            if "_itemFulfillment" in types:
                for fulfilment in self.fulfilments.values():
                    created_from = criteria.get("createdFrom")
                    if created_from and fulfilment["createdFrom"] not in created_from["values"]:
                        continue
                    found.append(("ItemFulfillment", fulfilment))
        elif kind == "ItemSearchBasic":
            types = set(criteria.get("type", {}).get("values") or [])
            for item in self.items.values():
                if types and _ITEM_SEARCH_TYPE[item["kind"]] not in types:
                    continue
                inactive = criteria.get("isInactive")
                if (
                    inactive
                    and inactive["values"]
                    and (inactive["values"][0] == "true") != item["isInactive"]
                ):
                    continue
                if "itemId" in criteria and not self._string_match(item["itemId"], criteria["itemId"]):
                    continue
                if "displayName" in criteria and not self._string_match(
                    item["displayName"], criteria["displayName"]
                ):
                    continue
                found.append((item["kind"], item))
        else:
            raise _SoapError("unexpected", f"search record {kind!r} is not served by this fake")
        if ids:
            found = [pair for pair in found if self._long_match(int(pair[1]["internalId"]), ids)]
        found.sort(key=self._sort_key)
        return found

    def _order_matches(self, order: dict[str, Any], criteria: dict[str, Any]) -> bool:
        status = criteria.get("status")
        if status and status["values"]:
            codes = {SALES_ORDER_SEARCH_STATUSES.get(v, "") for v in status["values"]}
            if order["orderStatus"] not in codes:
                return False
        if "lastModifiedDate" in criteria and not self._date_match(
            order["lastModifiedDate"], criteria["lastModifiedDate"]
        ):
            return False
        if "tranDate" in criteria and not self._date_match(order["tranDate"], criteria["tranDate"]):
            return False
        if "dateCreated" in criteria and not self._date_match(order["createdDate"], criteria["dateCreated"]):
            return False
        return "tranId" not in criteria or self._string_match(order["tranId"], criteria["tranId"])

    def _search_page(self, search_id: str, page_index: int) -> Callable[[Any], None]:
        search = self._searches[search_id]
        search["last_used"] = self._clock()
        warning: _SearchWarning | None = None
        try:
            found = self._matches(search["criteria"])  # every page runs the search again, as NetSuite does
        except _SearchWarning as exc:
            found, warning = [], exc
        size = search["page_size"]
        total_pages = max(1, math.ceil(len(found) / size)) if found else 0
        page = found[(page_index - 1) * size : page_index * size]
        if self._empty_pages.get(page_index):
            self._empty_pages[page_index] -= 1
            page = []
        body_only = search["body_only"]

        def fill(node: Any) -> None:
            result = self._el(node, "platformCore", "searchResult")
            self._status(result, warning=warning)
            self._el(result, "platformCore", "totalRecords", len(found))
            self._el(result, "platformCore", "pageSize", size)
            self._el(result, "platformCore", "totalPages", total_pages)
            self._el(result, "platformCore", "pageIndex", page_index)
            self._el(result, "platformCore", "searchId", search_id)
            records = self._el(result, "platformCore", "recordList")
            for kind, data in page:
                self._record(records, "platformCore", "record", kind, data, body_only)

        return fill

    def _search_preferences(self, root: Any) -> tuple[int, bool]:
        header = root.find(f"{{{_SOAP}}}Header")
        prefs = _child(header, "searchPreferences") if header is not None else None
        size = int(_value(prefs, "pageSize") or 1000) if prefs is not None else 1000
        body_only = (_value(prefs, "bodyFieldsOnly") or "true") == "true" if prefs is not None else True
        if not 5 <= size <= 1000:
            raise _SoapError("unexpected", f"pageSize must be between 5 and 1000, got {size}")
        return min(size, self.max_page_size), body_only

    def _op_search(self, element: Any, root: Any) -> Callable[[Any], None]:
        size, body_only = self._search_preferences(root)
        criteria = self._criteria(_child(element, "searchRecord"))
        search_id = f"WEBSERVICES_{passport_account(self.credentials.account)}_{self._next_id()}"
        self._searches[search_id] = {
            "criteria": criteria,
            "page_size": size,
            "body_only": body_only,
            "last_used": self._clock(),
        }
        return self._response("search")(self._search_page(search_id, 1))

    def _op_search_more(self, element: Any, root: Any) -> Callable[[Any], None]:
        search_id = _value(element, "searchId") or ""
        page_index = int(_value(element, "pageIndex") or 1)
        search = self._searches.get(search_id)
        if search is None or self._clock() - search["last_used"] > self.search_ttl:
            self._searches.pop(search_id, None)
            error = _StatusError("INVALID_JOB_ID", f"The search id {search_id} is invalid or has expired.")

            def fill_expired(node: Any) -> None:
                result = self._el(node, "platformCore", "searchResult")
                self._status(result, error)

            return self._response("searchMoreWithId")(fill_expired)
        return self._response("searchMoreWithId")(self._search_page(search_id, page_index))

    # records ------------------------------------------------------------------------------------------------
    def _find(self, ref: Any) -> tuple[str, dict[str, Any]]:
        record_type = ref.get("type") or ""
        internal_id = ref.get("internalId")
        external_id = ref.get("externalId")
        tables: list[tuple[str, dict[str, dict[str, Any]]]] = []
        if record_type in ("", "salesOrder"):
            tables.append(("SalesOrder", self.sales_orders))
        if record_type in ("", "itemFulfillment"):
            tables.append(("ItemFulfillment", self.fulfilments))
        for kind, table in tables:
            for data in table.values():
                if (internal_id and data["internalId"] == internal_id) or (
                    external_id and data.get("externalId") == external_id
                ):
                    return kind, data
        for item in self.items.values():
            if item["internalId"] == internal_id and record_type.lower() == item["kind"].lower():
                return item["kind"], item
        raise _StatusError(
            "INVALID_KEY_OR_REF", f"That record does not exist. {record_type} {internal_id or external_id}"
        )

    def _read(self, parent: Any, ref: Any) -> None:
        node = self._el(parent, "platformMsgs", "readResponse")
        try:
            kind, data = self._find(ref)
        except _StatusError as error:
            self._status(node, error)
            return
        self._status(node)
        self._record(node, "platformMsgs", "record", kind, data)

    def _op_get(self, element: Any, root: Any) -> Callable[[Any], None]:
        ref = _child(element, "baseRef")
        return self._response("get")(lambda node: self._read(node, ref))

    def _op_get_list(self, element: Any, root: Any) -> Callable[[Any], None]:
        refs = _children(element, "baseRef")

        def fill(node: Any) -> None:
            responses = self._el(node, "platformMsgs", "readResponseList")
            self._status(responses)
            for ref in refs:
                self._read(responses, ref)

        return self._response("getList")(fill)

    def _op_initialize(self, element: Any, root: Any) -> Callable[[Any], None]:
        init = _child(element, "initializeRecord")
        reference = _child(init, "reference")
        order_id = reference.get("internalId") if reference is not None else None
        order = self.sales_orders.get(order_id or "")
        error: _StatusError | None = None
        lines = []
        if (
            _value(init, "type") != "itemFulfillment"
            or order is None
            or order["orderStatus"] in ("_pendingApproval", "_cancelled", "_closed")
        ):
            error = _StatusError(
                "INVALID_INITIALIZE_REF",
                f"You can not initialize itemfulfillment: invalid reference {order_id}.",
            )
        else:
            for line in order["lines"]:
                remaining = line["quantity"] - line["quantityFulfilled"]
                if line["isClosed"] or remaining <= 0:
                    continue
                lines.append(
                    {
                        "itemName": line["itemName"],
                        "item": line["item"],
                        "quantity": remaining,
                        "orderLine": line["line"],
                        "quantityRemaining": remaining,
                    }
                )
            if not lines:
                error = _StatusError(
                    "INVALID_INITIALIZE_REF",
                    f"You can not initialize itemfulfillment: invalid reference {order_id}.",
                )

        def fill(node: Any) -> None:
            response = self._el(node, "platformMsgs", "readResponse")
            self._status(response, error)
            if error is None:
                assert order is not None
                data = {"createdFrom": order["internalId"], "lines": lines, "shipStatus": "_picked"}
                self._record(response, "platformMsgs", "record", "ItemFulfillment", data)

        return self._response("initialize")(fill)

    def _write(self, operation: str, action: Callable[[], tuple[str, str]]) -> Callable[[Any], None]:
        try:
            internal_id, record_type = action()
            error = None
        except _StatusError as exc:
            internal_id, record_type, error = "", "", exc

        def fill(node: Any) -> None:
            response = self._el(node, "platformMsgs", "writeResponse")
            self._status(response, error)
            if error is None:
                ref = self._el(response, "platformMsgs", "baseRef", internalId=internal_id, type=record_type)
                ref.set(f"{{{_XSI}}}type", "platformCore:RecordRef")

        return self._response(operation)(fill)

    def _op_add(self, element: Any, root: Any) -> Callable[[Any], None]:
        record = _child(element, "record")
        kind = (record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        if kind == "SalesOrder":
            return self._write("add", lambda: (self._add_order(record), "salesOrder"))
        if kind == "ItemFulfillment":
            return self._write("add", lambda: (self._add_fulfilment(record), "itemFulfillment"))
        return self._write("add", lambda: self._refuse(f"this fake cannot add {kind}"))

    @staticmethod
    def _refuse(message: str) -> tuple[str, str]:
        raise _StatusError("INVALID_RCRD_TYPE", message)

    def _duplicate(self, table: dict[str, dict[str, Any]], external_id: str | None) -> None:
        if external_id and any(d.get("externalId") == external_id for d in table.values()):
            raise _StatusError("DUP_RCRD", "This record already exists")

    def _read_address(self, node: Any) -> dict[str, Any] | None:
        if node is None:
            return None
        return {_local(c): c.text or "" for c in node if _local(c)}

    def _add_order(self, record: Any) -> str:
        external_id = record.get("externalId")
        self._duplicate(self.sales_orders, external_id)
        entity = _child(record, "entity")
        customer = entity.get("internalId") if entity is not None else None
        if customer not in self.customers:
            raise _StatusError("INVALID_KEY_OR_REF", f"Invalid entity reference key {customer}.")
        lines = []
        for node in _children(_child(record, "itemList"), "item"):
            ref = _child(node, "item")
            item = self.items.get(ref.get("internalId") if ref is not None else "")
            if item is None or item["isInactive"]:
                raise _StatusError("INVALID_KEY_OR_REF", "Invalid item reference key.")
            rate_text = _value(node, "rate")
            rate = Decimal(rate_text) if rate_text else (item["price"] or item["rate"] or Decimal("0"))
            lines.append((item["internalId"], Decimal(_value(node, "quantity") or "1"), rate))
        if not lines:
            raise _StatusError("USER_ERROR", "You must enter at least one line item for this transaction.")
        custom = {
            c.get("scriptId"): _value(c, "value")
            for c in _children(_child(record, "customFieldList"), "customField")
        }
        order_id = self.add_sales_order(
            lines,
            customer=customer,
            status=self.new_order_status,
            external_id=external_id,
            billing=self._read_address(_child(record, "billingAddress")),
            shipping=self._read_address(_child(record, "shippingAddress")),
            email=_value(record, "email") or "",
            custom_fields=custom,
        )
        order = self.sales_orders[order_id]
        order["otherRefNum"] = _value(record, "otherRefNum") or ""
        order["memo"] = _value(record, "memo") or ""
        for line, node in zip(order["lines"], _children(_child(record, "itemList"), "item"), strict=False):
            if _value(node, "description"):
                line["description"] = _value(node, "description")
        return order_id

    def _add_fulfilment(self, record: Any) -> str:
        self._duplicate(self.fulfilments, record.get("externalId"))
        created_from = _child(record, "createdFrom")
        order = self.sales_orders.get(created_from.get("internalId") if created_from is not None else "")
        if order is None or order["orderStatus"] in ("_pendingApproval", "_cancelled", "_closed"):
            raise _StatusError(
                "INVALID_INITIALIZE_REF", "You can not initialize itemfulfillment: invalid reference."
            )
        by_line = {line["line"]: line for line in order["lines"]}
        shipped = []
        for node in _children(_child(record, "itemList"), "item"):
            if (_value(node, "itemReceive") or "true") == "false":
                continue
            line = by_line.get(int(_value(node, "orderLine") or 0))
            if line is None or line["isClosed"]:
                raise _StatusError("USER_ERROR", "Invalid order line.")
            remaining = line["quantity"] - line["quantityFulfilled"]
            quantity = Decimal(_value(node, "quantity") or remaining)
            if quantity <= 0 or quantity > remaining:
                raise _StatusError(
                    "USER_ERROR", f"You can not fulfill more than {remaining} on line {line['line']}."
                )
            shipped.append((line, quantity))
        if not shipped:
            raise _StatusError("USER_ERROR", "You must enter at least one line item for this transaction.")
        for line, quantity in shipped:
            line["quantityFulfilled"] += quantity
        open_lines = [line for line in order["lines"] if not line["isClosed"]]
        done = all(line["quantityFulfilled"] >= line["quantity"] for line in open_lines)
        order["orderStatus"] = "_pendingBilling" if done else "_partiallyFulfilled"
        order["lastModifiedDate"] = self.now()
        fid = self._next_id()
        self.fulfilments[fid] = {
            "internalId": fid,
            "externalId": record.get("externalId"),
            "createdFrom": order["internalId"],
            "tranId": f"IF{fid}",
            "shipStatus": _value(record, "shipStatus") or "_shipped",
            "memo": _value(record, "memo") or "",
            "createdDate": self.now(),
            "packages": [
                (_value(p, "packageTrackingNumber") or "", _value(p, "packageDescr") or "")
                for p in _children(_child(record, "packageList"), "package")
            ],
            "lines": [
                {
                    "itemName": line["itemName"],
                    "item": line["item"],
                    "quantity": quantity,
                    "orderLine": line["line"],
                }
                for line, quantity in shipped
            ],
        }
        return fid

    def _op_update(self, element: Any, root: Any) -> Callable[[Any], None]:
        record = _child(element, "record")
        return self._write("update", lambda: (self._update_order(record), "salesOrder"))

    def _update_order(self, record: Any) -> str:
        kind = (record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        if kind != "SalesOrder":
            raise _StatusError("INVALID_RCRD_TYPE", f"this fake cannot update {kind}")
        order = self.sales_orders.get(record.get("internalId") or "")
        if order is None:
            raise _StatusError("INVALID_KEY_OR_REF", "That record does not exist.")
        status = _value(record, "orderStatus")
        if status is not None and status != order["orderStatus"]:
            allowed = {("_pendingApproval", "_pendingFulfillment"), ("_pendingApproval", "_cancelled")}
            if (order["orderStatus"], status) not in allowed:
                raise _StatusError(
                    "INVALID_ORDER_STATUS",
                    f"You can not change the order status from {order['orderStatus']} to {status}.",
                )
            order["orderStatus"] = status
        items = _child(record, "itemList")
        if items is not None:
            if items.get("replaceAll", "true") != "false":
                raise _StatusError("USER_ERROR", "this fake updates lines only with replaceAll=false")
            by_line = {line["line"]: line for line in order["lines"]}
            for node in _children(items, "item"):
                line = by_line.get(int(_value(node, "line") or 0))
                if line is None:
                    raise _StatusError("USER_ERROR", "Invalid line.")
                if _value(node, "isClosed") == "true":
                    line["isClosed"] = True
            settled = all(
                line["isClosed"] or line["quantityFulfilled"] >= line["quantity"] for line in order["lines"]
            )
            short = any(line["quantityFulfilled"] < line["quantity"] for line in order["lines"])
            if settled and short:  # every line closed or shipped, some closed before shipping in full
                order["orderStatus"] = "_closed"
        for custom in _children(_child(record, "customFieldList"), "customField"):
            order["customFields"][custom.get("scriptId")] = _value(custom, "value")
        memo = _value(record, "memo")
        if memo is not None:
            order["memo"] = memo
        order["lastModifiedDate"] = self.now()
        return str(order["internalId"])


def main() -> None:  # pragma: no cover - a manual convenience
    with FakeSuiteTalk() as fake:
        print(f"FakeSuiteTalk at {fake.url} (account {fake.credentials.account}); Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
