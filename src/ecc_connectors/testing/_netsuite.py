"""A fake SuiteTalk SOAP endpoint for tests and examples: :class:`FakeSuiteTalk` (public as
``ecc_connectors.testing.FakeSuiteTalk`` and in ``ecc_connectors.testing.netsuite`` with its tables).

Built on :class:`~ecc_connectors.testing.base.FakeStore`: the server (a real socket on 127.0.0.1, an ephemeral
port, its own thread, a context manager), the request log (:attr:`~FakeStore.requests`), ``on_request`` hooks,
``latency``, ``rate_limit``, injected faults (``inject_5xx``, ``drop_connections``, ``lose_write_answers``
...), ``on_listing`` / ``schedule`` and the store clock (``clock`` / ``set_clock``: the ``Date`` header and every
stamp the fake puts on records) come from the base. This module adds the SOAP dialect: envelope parsing, the
operations ``search``, ``searchMoreWithId`` (the driver no longer pages with it, other clients may), ``get``,
``getList``, ``add``, ``update`` and ``initialize`` (``_netsuite_search`` and ``_netsuite_records``), the
XSD-derived tables and the XML writer (``_netsuite_soap``), and token passport verification. It behaves the
way the driver has to cope with:

* every request must carry a valid ``tokenPassport`` (signature checked with the fake's secrets, nonces used
  once, timestamps within five minutes); ``applicationInfo`` beside it is refused as ambiguous;
* a search is **not a snapshot**: every page, the first (``search``) as every later one (``searchMoreWithId``),
  runs the search again on the current data, so records edited, created or leaving the criteria between pages
  move the rows behind them. Oracle's help page for searchMoreWithId says so: each page request runs a new
  search for that page index, and records updated between pages so that they no longer match are left out.
  Rows come sorted by internal id unless ``search_order`` says otherwise (Oracle documents no order for basic
  searches);
* search ids expire ``search_ttl`` seconds after last use by ``search_clock`` (``INVALID_JOB_ID``; Oracle's page
  gives 15 minutes without use);
* an enumeration value it does not know (a misspelt status) gives no rows and a ``WARN`` status detail, as
  NetSuite does since 2008.2; ``externalId`` is unique per record type (``DUP_RCRD`` on a second ``add``) and
  ``get`` finds records by ``externalId`` too;
* SOAP faults can be injected per operation (:meth:`FakeSuiteTalk.fail_next`: concurrency, permission, HTTP
  503), answers can be lost after a write was applied (:meth:`FakeSuiteTalk.lose_answers` for one operation, or
  the base's ``lose_write_answers`` for the next write: ``add`` or ``update``), pages can be made to come back
  empty, the store can be changed between any two requests (:meth:`FakeSuiteTalk.on_answer`) or before a
  sales order search (``on_listing``), and a concurrency limit can be enforced.

Run ``python -m ecc_connectors.testing._netsuite`` to serve the sample data until interrupted.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..drivers.netsuite import TokenCredentials
from ._base_http import Answer, HttpError, ReceivedRequest
from ._netsuite_records import RecordOperations
from ._netsuite_search import SearchOperations
from ._netsuite_soap import (
    _FAULTS,
    _ITEM_SEARCH_TYPE,
    _SOAP,
    _child,
    _local,
    _ns,
    _value,
    account_id,
)
from ._netsuite_soap import _SoapError as _SoapFault
from .base import FakeStore, Route

__all__ = ["FakeSuiteTalk", "passport_signature"]


def passport_signature(passport: Mapping[str, str], consumer_secret: str, token_secret: str) -> str:
    """The signature a token passport must carry, computed without the driver's code.

    Oracle's token-based authentication help defines it: the base string is ``account&consumerKey&token&nonce&
    timestamp`` (the passport's own values, joined with ``&``), signed with HMAC-SHA256 under the key
    ``consumerSecret&tokenSecret`` and Base64-encoded. The signing is oauthlib's (the OAuth 1.0a HMAC-SHA256
    signer, which keys the HMAC with the two secrets joined by ``&`` the same way), so a bug in the driver's own
    signing function shows up here as a refused passport instead of being repeated.
    """
    from oauthlib.oauth1 import Client
    from oauthlib.oauth1.rfc5849.signature import sign_hmac_sha256_with_client

    base = "&".join(passport[name] for name in ("account", "consumerKey", "token", "nonce", "timestamp"))
    signer = Client(passport["consumerKey"], client_secret=consumer_secret, resource_owner_secret=token_secret)
    # types-oauthlib leaves this signer untyped; it returns the Base64 text.
    return str(sign_hmac_sha256_with_client(base, signer))  # type: ignore[no-untyped-call]


_XML = "text/xml; charset=utf-8"
_WRITES = frozenset({"add", "addList", "update", "updateList", "upsert", "upsertList", "delete", "deleteList"})
_OPERATION = re.compile(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([A-Za-z]+)\b")


def operation_of(request: ReceivedRequest) -> str:
    """The SOAP operation a request names (the first element of its ``Body``), ``""`` when none."""
    found = _OPERATION.search(request.body)
    return found.group(1).decode() if found else ""


class FakeSuiteTalk(FakeStore, SearchOperations, RecordOperations):
    """A local SuiteTalk endpoint. Use as a context manager; point the driver at :attr:`url` with
    :attr:`credentials`::

        with FakeSuiteTalk() as fake:
            driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url))

    ``search_clock`` (monotonic seconds) times search ids out; ``clock`` (the base's) is the store's own time.
    Further keyword arguments go to :class:`FakeStore` (``rate_limit``, ``monotonic``, ``request_log_size``).
    """

    name = "FakeSuiteTalk"
    description = "fake SuiteTalk endpoint"

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
        search_clock: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] | None = None,
        search_order: str = "internalId",
        max_page_size: int = 1000,
        cancel_by_status: bool = False,
        pick_pack_ship: bool = True,
        **store_kwargs: Any,
    ) -> None:
        super().__init__(latency=latency, clock=clock, **store_kwargs)
        self.credentials = TokenCredentials(account, consumer_key, consumer_secret, token_id, token_secret)
        self.version = version
        self.search_ttl = search_ttl
        self.concurrency_limit = concurrency_limit
        self.new_order_status = new_order_status
        self.search_order = search_order
        """How search rows are sorted: ``"internalId"`` (default), ``"reverse"`` (internal id descending),
        ``"lastModifiedDate"``, ``"createdDate"`` or ``"tranDate"`` (ties by internal id). Oracle documents no order
        for basic searches; the driver must not depend on one."""
        self.max_page_size = max_page_size
        """Pages are at most this long whatever the request asks (the answer's ``pageSize`` says so)."""
        self.cancel_by_status = cancel_by_status
        """Whether an ``update`` may set ``orderStatus=_cancelled`` on an order pending approval. Off by default:
        no Oracle page documents that SuiteTalk takes it (its UI's "Cancel Order" is a button, and the SOAP
        record's status moves only by approval, fulfilment, billing and closed lines), so the fake refuses it
        with ``INVALID_ORD_STATUS`` unless a test turns it on."""
        self.pick_pack_ship = pick_pack_ship
        """Whether the account has Pick, Pack and Ship: fulfilments then carry a ``shipStatus`` (initialized as
        ``_picked``); without it a ``shipStatus`` sent is refused."""
        self._search_clock = search_clock
        self._ns = _ns(version)
        self._ids = itertools.count(1000)
        self._nonces: set[str] = set()
        self._in_flight = 0
        self._local = threading.local()
        self._soap_faults: list[tuple[str, str | None]] = []  # (kind, operation or None for any)
        self._empty_pages: dict[int, int] = {}
        self._lost: list[tuple[str, str | None]] = []  # (mode, operation or None for any)
        self._losing: set[int] = set()  # ids of requests whose answer is being lost through the base
        self._answer_hooks: list[Callable[[str, FakeSuiteTalk], None]] = []
        self._searches: dict[str, dict[str, Any]] = {}
        self.sales_orders: dict[str, dict[str, Any]] = {}
        self.fulfilments: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, str] = {}
        self.calls: list[str] = []
        """Operation names in the order they were answered (faults included)."""
        self.nonces: list[str] = []
        """The passport nonce of every request, in arrival order."""
        for operation, handler in (
            ("search", self._op_search),
            ("searchMoreWithId", self._op_search_more),
            ("get", self._op_get),
            ("getList", self._op_get_list),
            ("add", self._op_add),
            ("update", self._op_update),
            ("initialize", self._op_initialize),
        ):
            self.route("POST", operation, handler)
        if seed:
            self.seed_sample_data()

    @property
    def url(self) -> str:
        """The SOAP endpoint (``{base_url}/services/NetSuitePort_{version}``)."""
        return f"{self.base_url}/services/NetSuitePort_{self.version}"

    # test controls ------------------------------------------------------------------------------------------
    def fail_next(self, kind: str, times: int = 1, operation: str | None = None) -> None:
        """Answer the next ``times`` requests (of ``operation``, or any) with a fault: ``concurrency``
        (WS_CONCUR_SESSION_DISALLWD), ``request_blocked`` (WS_REQUEST_BLOCKED), ``permission``,
        ``unexpected``, ``invalid_login``, or ``unavailable`` (HTTP 503 without SOAP). The faults come after
        the passport check, in place of the operation."""
        if kind not in _FAULTS and kind != "unavailable":
            raise ValueError(f"unknown fault kind {kind!r}")
        with self.lock:
            self._soap_faults.extend([(kind, operation)] * times)

    def lose_answers(self, times: int = 1, operation: str | None = None, mode: str = "drop") -> None:
        """The next ``times`` requests (of ``operation``, or any, reads included) are carried out, then their
        answer is lost: ``"drop"`` closes the connection without answering, ``"500"`` answers HTTP 500 with an
        HTML page (a proxy that gave up), ``"short"`` a 200 whose body is cut. A write is applied all the same,
        as when NetSuite acts and the answer never arrives. (For the next write whatever its operation, the
        base's ``lose_write_answers`` does the same.)"""
        if mode not in ("drop", "500", "short"):
            raise ValueError(f"unknown mode {mode!r}")
        with self.lock:
            self._lost.extend([(mode, operation)] * times)

    def on_answer(self, hook: Callable[[str, FakeSuiteTalk], None]) -> None:
        """Call ``hook(operation, fake)`` after every answered request, before the next one is read: a test
        changes the store between pages this way (edits, new orders) even when the engine drives the paging."""
        with self.lock:
            self._answer_hooks.append(hook)

    def expire_searches(self) -> None:
        """Make every search id issued so far unknown, as after 15 idle minutes."""
        with self.lock:
            self._searches.clear()

    def empty_page(self, page_index: int, times: int = 1) -> None:
        """The next ``times`` reads of ``page_index`` return no records, the totals unchanged."""
        with self.lock:
            self._empty_pages[page_index] = self._empty_pages.get(page_index, 0) + times

    def now(self) -> datetime:
        """The store's clock, now, to the second (as NetSuite stamps records)."""
        return super().now().replace(microsecond=0)

    # the dialect: FakeStore hooks ---------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, raw_url: str = ""
    ) -> Answer | None:
        self._local.counted = False
        try:
            return super().handle(method, target, headers, body, raw_url)
        finally:
            if self._local.counted:
                with self.lock:
                    self._in_flight -= 1

    def route_path(self, request: ReceivedRequest) -> str:
        """Parse the envelope; the route table is keyed by the operation's name."""
        from lxml import etree

        with self.lock:  # counted after the latency, as the work a concurrency limit guards
            self._in_flight += 1
            self._local.counted = True
            self._local.busy = self.concurrency_limit is not None and self._in_flight > self.concurrency_limit
        try:
            root = etree.fromstring(request.body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            raise HttpError(400, "not XML") from None
        envelope_body = root.find(f"{{{_SOAP}}}Body")
        element = (
            next((c for c in envelope_body if isinstance(c.tag, str)), None) if envelope_body is not None else None
        )
        operation = _local(element) if element is not None else ""
        with self.lock:
            self.calls.append(operation)
        self._local.root, self._local.element = root, element
        if not request.path.endswith(f"/NetSuitePort_{self.version}"):
            raise _SoapFault("unexpected", f"no such endpoint {request.path}")
        return operation

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        """The token passport, then a concurrency limit exceeded, then a fault :meth:`fail_next` set."""
        self._check_passport(self._local.root)
        if self._local.busy:
            raise _SoapFault("request_blocked")
        operation = route.pattern.pattern
        with self.lock:
            for index, (kind, only) in enumerate(self._soap_faults):
                if only is None or only == operation:
                    del self._soap_faults[index]
                    raise _SoapFault(kind, http_status=503 if kind == "unavailable" else 500)

    def dispatch(self, route: Route, found: re.Match[str], request: ReceivedRequest) -> Any:
        operation = route.pattern.pattern
        with self.lock:
            build = route.handler(self._local.element, self._local.root)
            payload = self._envelope(build)
            lost = self._take_lost(operation)
            for hook in list(self._answer_hooks):
                hook(operation, self)
            if lost is not None:  # the base loses it: is_write says yes for this request
                self._losing.add(id(request))
                self.lose_write_answers(1, mode="500" if lost == "500" else lost)  # type: ignore[arg-type]
        return Answer(200, payload, content_type=_XML)

    def _take_lost(self, operation: str) -> str | None:
        for index, (mode, only) in enumerate(self._lost):
            if only is None or only == operation:
                del self._lost[index]
                return mode
        return None

    def is_write(self, request: ReceivedRequest) -> bool:
        """``add``, ``update`` (and the other writes SuiteTalk has), or a request :meth:`lose_answers` picked."""
        with self.lock:
            if id(request) in self._losing:
                self._losing.discard(id(request))
                return True
        return operation_of(request) in _WRITES

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """A SOAP fault (HTTP 500 as NetSuite answers them), or the HTML page a proxy sends (a 503 unavailable,
        a 400 for a body that is not XML, a 429 from the rate limit)."""
        kind = parameters.get("fault") if isinstance(parameters, dict) else None
        if kind == "unavailable" or (kind is None and status in (502, 503, 504)):
            return Answer(
                503 if kind else status,
                b"<html><body>Service Temporarily Unavailable</body></html>",
                dict(headers or {}),
                "text/html",
            )
        if kind is None and status in (400, 429):
            return Answer(status, message.encode(), dict(headers or {}), "text/plain")
        if kind is None:
            kind = "invalid_login" if status == 401 else "unexpected"
            if status == 404:
                message = "this operation is not served by this fake"
            message = message.replace("%1", ", ".join(map(str, parameters or [])))
            status = 500
        return Answer(status, self._fault(kind, message or None), dict(headers or {}), _XML)

    def internal_error_answer(self) -> Answer:
        return Answer(500, b"<html><body>500 Internal Server Error</body></html>", content_type="text/html")

    def crash_answer(self, exc: BaseException) -> Answer:
        return self.error_answer(500, f"The fake failed: {type(exc).__name__}: {exc}")

    def _check_passport(self, root: Any) -> None:
        header = root.find(f"{{{_SOAP}}}Header")
        passport = _child(header, "tokenPassport") if header is not None else None
        if passport is None:
            raise _SoapFault("invalid_login", "No token passport: this endpoint takes token-based authentication.")
        if _child(header, "applicationInfo") is not None:
            raise _SoapFault("invalid_login", "Ambiguous authentication: applicationInfo sent with a token passport.")
        creds = self.credentials
        values = {name: _value(passport, name) or "" for name in ("account", "consumerKey", "token", "nonce")}
        values["timestamp"] = (_value(passport, "timestamp") or "").strip()
        nonce = values["nonce"]
        signature = _child(passport, "signature")
        with self.lock:
            self.nonces.append(nonce)
            reused = nonce in self._nonces
            self._nonces.add(nonce)
        if (
            values["account"] != account_id(creds.account)
            or values["consumerKey"] != creds.consumer_key
            or values["token"] != creds.token_id
            or not values["timestamp"].isdigit()
            or signature is None
            or signature.get("algorithm") != "HMAC-SHA256"
            or (signature.text or "") != passport_signature(values, creds.consumer_secret, creds.token_secret)
            or len(nonce) < 6
            or reused
            or abs(time.time() - int(values["timestamp"])) > 300
        ):
            raise _SoapFault("invalid_login")

    # the store's data ---------------------------------------------------------------------------------------
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
        carrier: str | None = None,
        locations: dict[int, str] | None = None,
        lots: dict[int, dict[str, Decimal | str]] | None = None,
    ) -> str:
        """A sales order. ``lines`` are ``(item internalId, quantity, rate)``; totals are computed.

        ``carrier`` (``"ups"``, ``"fedex"``, ``"usps"``) makes its shipping method one of NetSuite's integrated
        carriers (packages then go in that carrier's list); ``locations`` gives lines (by line number) the
        location they ship from (multi-location inventory: a fulfilment line must name it); ``lots`` gives lines
        lot or serial numbers (inventory number internalId -> quantity on hand: a fulfilment line must assign
        them in an ``inventoryDetail`` for exactly the quantity it ships)."""
        if carrier not in (None, "ups", "fedex", "usps"):
            raise ValueError(f"unknown carrier {carrier!r}")
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
                        "location": (locations or {}).get(number),
                        "lots": {k: Decimal(v) for k, v in ((lots or {}).get(number) or {}).items()},
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
                "carrier": carrier,
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
            depressor = self.add_item("TD-100", "Tongue Depressor", price="14.00", available="120", internal_id="15")
            kit = self.add_item("KIT-FA", "First Aid Kit", kind="KitItem", price="39.95", internal_id="16")
            self.add_item("SVC-FIT", "Fitting Service", kind="ServiceSaleItem", rate="75.00", internal_id="17")
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
            abes_order = functools.partial(self.add_sales_order, customer=abe, billing=address, shipping=address)
            abes_order(
                [(depressor, 2, "14.00"), (kit, 1, "39.95")],
                status="_pendingFulfillment",
                created=base,
                shipping_cost="5.00",
                email="asimpson@example.com",
                internal_id="1505",
                custom_fields={"custbody_channel": "web"},
            )
            abes_order(
                [(depressor, 5, "14.00")],
                status="_pendingApproval",
                created=base + timedelta(hours=2),
                internal_id="1506",
            )
            abes_order(
                [(kit, 2, "39.95")],
                status="_pendingBilling",
                created=base + timedelta(hours=4),
                internal_id="1507",
                quantity_fulfilled={1: "2"},
            )


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
