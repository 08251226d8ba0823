"""The NetSuite REST driver (``netsuite_rest``): sales orders over SuiteQL, writes over the REST record service.

Theory of operation
-------------------
*Reads* are SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``, ``limit`` in the query
string). A listing is a keyset walk over ``(lastmodifieddate, id)`` (``SEEK_ORDERS``, see ``_suiteql``), so it
meets the engine's zero-loss promise; a page is four queries: the orders, their item lines (walked by
``(transaction, line id)``, so a page of orders with many lines never relies on an offset), and their shipping and
billing address rows. ``get_order`` reads the same rows for one id and maps them the same way, so the copy the
engine reads back after a write is the copy the next download lists. A SuiteQL ``POST`` is a read: it is marked
idempotent so the engine may resend it after a lost answer.

*Writes* go to the REST record service: approval and comments by ``PATCH /record/v1/salesOrder/{id}``,
cancellation by closing the open lines (``isClosed``, the way that works in every status), a shipment by
``POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`` with packages and tracking numbers, a phone order by
``POST /record/v1/salesOrder``. Every create carries an external id derived from the request (so a later attempt
finds it with one SuiteQL look-up before writing) and the ``X-NetSuite-Idempotency-Key`` header derived from the
same external id (so NetSuite itself refuses a second create with it). Writes are never marked idempotent: the
engine never resends one blindly; it runs the whole flow again, look-up first.

*Auth* is :class:`~._auth.ClientCredentialsAuth` (OAuth 2.0 M2M) or :class:`~._auth.TbaAuth` (OAuth 1.0a), an
``httpx.Auth`` the engine passes to every send.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import httpx
import msgspec

from ... import StoreDefaults
from ...driver import (
    Address,
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    ConfigurationError,
    Driver,
    Flow,
    Item,
    ItemQuery,
    KeyPage,
    Limits,
    NewOrder,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    Secret,
    Seek,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    StoreStatus,
    WriteResult,
    mark_idempotent,
    setting,
    settings_from_env,
)
from . import _suiteql as sql
from ._auth import TOKEN_PATH, ClientCredentials, ClientCredentialsAuth, TbaAuth, TbaCredentials, account_host
from ._mapping import (
    LETTER_TO_CODE,
    ORDER_STATUSES,
    decimal,
    item_from_rows,
    order_from_rows,
    order_key_of,
    status_letters,
)

__all__ = ["NetSuiteRestConfig", "NetSuiteRestDriver", "NetSuiteRestSettings"]

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
MAX_LIMIT = 1000
"""SuiteQL over REST answers at most 1000 rows a request."""
MAX_OFFSET = 100_000
"""Rows past this offset cannot be paged to without SuiteAnalytics Connect: probes stop there."""
_APPROVE = frozenset({"_pendingFulfillment", "B", "SalesOrd:B", "approved", "approve"})
_CANCEL = frozenset({"_cancelled", "_closed", "C", "H", "SalesOrd:C", "SalesOrd:H", "canceled", "cancelled", "closed"})
_DERIVED = frozenset({"_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled"})
_APPROVED = frozenset({"B", "D", "E", "F", "G"})
_IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"
# What NetSuite answers a create it has seen before: the idempotency key reused, or the external id taken. Either
# way the record exists (or is being made): the flow looks it up instead of failing.
_ALREADY_CREATED = frozenset({"IDEMPOTENCY_ERROR", "DUP_RCRD"})


def _page_size(_inst: object, _attr: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"NetSuite REST page_size must be between 1 and {MAX_LIMIT}, got {value}")


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _zone(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone {value!r} is not an IANA time zone name such as America/Los_Angeles") from None


@attrs.frozen
class NetSuiteRestSettings:
    """Everything but the credentials."""

    time_zone: str = setting(
        "UTC",
        env="NETSUITE_TIME_ZONE",
        validator=_zone,
        help="The time zone in the integration user's preferences (IANA name): SuiteQL reads and writes times in it.",
    )
    endpoint: str | None = setting(
        None, env="NETSUITE_REST_ENDPOINT", url=True, help="Override https://<account>.suitetalk.api.netsuite.com."
    )
    page_size: int = setting(
        100,
        env="NETSUITE_PAGE_SIZE",
        validator=_page_size,
        help="Sales orders per SuiteQL page, at most what the engine asks for (100); lower it for huge orders.",
    )
    concurrency: int = setting(
        2, env="NETSUITE_CONCURRENCY", validator=_positive, help="Requests in flight for this account."
    )
    connect_timeout: float = setting(10.0, env="NETSUITE_CONNECT_TIMEOUT", validator=_positive, help="Seconds.")
    read_timeout: float = setting(120.0, env="NETSUITE_READ_TIMEOUT", validator=_positive, help="Seconds.")
    max_attempts: int = setting(6, env="NETSUITE_MAX_ATTEMPTS", validator=_positive, help="Attempts per request.")
    currency: str = setting(
        "USD", env="NETSUITE_CURRENCY", help="Currency of orders whose currency's name is not an ISO code."
    )
    currency_id: int | None = setting(None, env="NETSUITE_CURRENCY_ID", help="Currency (internal id) of item prices.")
    price_level: int = setting(1, env="NETSUITE_PRICE_LEVEL", help="Price level (internal id) of item prices.")
    location_id: int | None = setting(
        None, env="NETSUITE_LOCATION_ID", help="Count stock at this location only (internal id); empty: all."
    )
    status_field: str | None = setting(
        None, env="NETSUITE_STATUS_FIELD", help="A custom body field (script id) that receives free-text statuses."
    )
    default_customer_id: str | None = setting(
        None, env="NETSUITE_DEFAULT_CUSTOMER_ID", help="Customer of phone orders that name none."
    )
    pick_pack_ship: bool = setting(
        False,
        env="NETSUITE_PICK_PACK_SHIP",
        help="The account uses Pick, Pack and Ship: fulfilments are created as shipped (shipStatus C).",
    )


@attrs.frozen
class NetSuiteRestConfig(NetSuiteRestSettings):
    """:class:`NetSuiteRestSettings` plus credentials: ``auth="m2m"`` (client id, certificate id, private key) or
    ``auth="tba"`` (consumer key/secret, token id/secret)."""

    account: str = setting(env="NETSUITE_ACCOUNT", kw_only=True, help="Account id, e.g. 1234567 or 1234567_SB1.")
    auth: str = setting(
        "m2m", env="NETSUITE_AUTH", choices=("m2m", "tba"), kw_only=True, help="m2m (OAuth 2.0) or tba."
    )
    client_id: Secret | None = setting(
        None, env="NETSUITE_CLIENT_ID", secret=True, kw_only=True, help="The integration record's client id."
    )
    certificate_id: str | None = setting(
        None, env="NETSUITE_CERTIFICATE_ID", kw_only=True, help="The certificate id of the M2M mapping."
    )
    private_key: Secret | None = setting(
        None, env="NETSUITE_PRIVATE_KEY", secret=True, kw_only=True, help="The certificate's private key (PEM)."
    )
    algorithm: str = setting(
        "PS256", env="NETSUITE_ALGORITHM", kw_only=True, help="PS256/384/512 (RSA key) or ES256/384/512 (EC key)."
    )
    consumer_key: Secret | None = setting(None, env="NETSUITE_CONSUMER_KEY", secret=True, kw_only=True, help="TBA.")
    consumer_secret: Secret | None = setting(
        None, env="NETSUITE_CONSUMER_SECRET", secret=True, kw_only=True, help="TBA."
    )
    token_id: Secret | None = setting(None, env="NETSUITE_TOKEN_ID", secret=True, kw_only=True, help="TBA.")
    token_secret: Secret | None = setting(None, env="NETSUITE_TOKEN_SECRET", secret=True, kw_only=True, help="TBA.")

    def credentials(self) -> ClientCredentials | TbaCredentials:
        """The credentials (the one place the secrets are revealed). ``ValueError`` names what is missing."""

        def need(name: str) -> str:
            value = getattr(self, name)
            if value is None:
                raise ValueError(f"NetSuite {name} is required for auth={self.auth}")
            return value.reveal() if isinstance(value, Secret) else str(value)

        if self.auth == "tba":
            return TbaCredentials(
                self.account, need("consumer_key"), need("consumer_secret"), need("token_id"), need("token_secret")
            )
        return ClientCredentials(
            self.account, need("client_id"), need("certificate_id"), need("private_key"), self.algorithm
        )

    def tuning(self) -> NetSuiteRestSettings:
        return NetSuiteRestSettings(**{f.name: getattr(self, f.name) for f in attrs.fields(NetSuiteRestSettings)})


def _location_id(response: httpx.Response) -> str | None:
    location = response.headers.get("Location", "")
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def _memo_with(memo: str, comment: str | None) -> str | None:
    """The memo that carries ``comment`` as one of its lines, or ``None`` when there is nothing to add (no comment,
    or an earlier attempt already wrote it: not written twice)."""
    if not comment:
        return None
    if comment in memo.splitlines():
        return None
    return f"{memo}\n{comment}" if memo else comment


def _plain(value: Decimal) -> Decimal:
    """A quantity or amount as written to NetSuite: exact, without trailing zeros (``2``, not ``2.000``)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


# Record bodies are JSON with exact numbers: a Decimal is written as a JSON number with its own digits (NetSuite
# reads quantities and rates as numbers, and a float would not keep them).
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class NetSuiteRestDriver(Driver):
    """SuiteTalk REST + SuiteQL driver, authenticated by OAuth 2.0 client credentials or TBA."""

    name: ClassVar[str] = "netsuite_rest"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LIST_STATUSES,
            Capability.LIST_ORDERS,
            Capability.SEEK_ORDERS,
            Capability.LIST_KEYS,
            Capability.GET_ORDER,
            Capability.SHIP,
            Capability.SET_STATUS,
            Capability.CANCEL,
            Capability.SEARCH_ITEMS,
            Capability.CREATE_ORDER,
        }
    )
    sorts_by_updated: ClassVar[bool] = True
    settings_class: ClassVar[type[Any] | None] = NetSuiteRestConfig

    def __init__(
        self,
        credentials: ClientCredentials | TbaCredentials,
        settings: NetSuiteRestSettings | None = None,
        store_id: str | None = None,
    ) -> None:
        if not isinstance(credentials, (ClientCredentials, TbaCredentials)):
            raise ConfigurationError("NetSuite REST credentials must be ClientCredentials or TbaCredentials")
        self.settings = settings or NetSuiteRestSettings()
        self.account = credentials.account
        self.store_id = store_id or f"netsuite:{credentials.account.upper().replace('-', '_')}"
        default = f"https://{account_host(credentials.account)}.suitetalk.api.netsuite.com"
        self.base_url = (self.settings.endpoint or default).rstrip("/")
        self.zone = ZoneInfo(self.settings.time_zone)
        self._auth: httpx.Auth
        if isinstance(credentials, ClientCredentials):
            self._auth = ClientCredentialsAuth(credentials, self.base_url + TOKEN_PATH)
        else:
            self._auth = TbaAuth(credentials)

    @classmethod
    def from_config(cls, settings: NetSuiteRestConfig) -> NetSuiteRestDriver:
        try:
            credentials = settings.credentials()
        except ValueError as exc:  # names the field or the account id, never a secret
            raise ConfigurationError(str(exc)) from None
        return cls(credentials, settings.tuning())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NetSuiteRestDriver:
        """``NETSUITE_ACCOUNT`` and, for M2M, ``NETSUITE_CLIENT_ID``, ``NETSUITE_CERTIFICATE_ID``,
        ``NETSUITE_PRIVATE_KEY`` (or ``NETSUITE_AUTH=tba`` and the four TBA variables), plus the optional settings."""
        return cls.from_config(settings_from_env(NetSuiteRestConfig, env))

    def __repr__(self) -> str:
        return f"NetSuiteRestDriver(account={self.account!r}, base_url={self.base_url!r})"

    def auth(self) -> httpx.Auth:
        return self._auth

    def store_defaults(self) -> StoreDefaults:
        """NetSuite's words: a fulfilled order becomes Pending Billing and an order whose lines are closed becomes
        Closed by themselves; a ship or cancel with those statuses writes nothing more."""
        return StoreDefaults(post_back_status="_pendingBilling", cancellation_status="_closed")

    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            concurrency=int(s.concurrency),
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            max_attempts=s.max_attempts,
        )

    # plumbing ----------------------------------------------------------------------------------------------
    def _error(self, response: httpx.Response, order_id: str | None = None, what: str = "") -> StoreError:
        code, detail = None, ""
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            details = body.get("o:errorDetails")
            if isinstance(details, list) and details and isinstance(details[0], Mapping):
                code = details[0].get("o:errorCode")
                detail = str(details[0].get("detail") or "")
            detail = detail or str(body.get("title") or "")
        status = response.status_code
        text = f"NetSuite {what or 'request'} failed (HTTP {status}{', ' + str(code) if code else ''}): {detail}"
        if status == 401:
            raise AuthenticationError(f"NetSuite refused the credentials (HTTP 401, {code or 'no code'})")
        return StoreError(
            text, code=str(code) if code else None, http_status=status, store=self.store_id, order_id=order_id
        )

    def _decode(self, response: httpx.Response, what: str) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise BrokenAnswer(
                f"NetSuite answered {what} with a body that is not JSON", code="NOT_JSON", store=self.store_id
            ) from None

    def _query(self, text: str, limit: int, offset: int = 0) -> Flow[dict[str, Any]]:
        """One SuiteQL page; a read, so it may be sent again after a lost answer."""
        request = httpx.Request(
            "POST",
            f"{self.base_url}{SUITEQL_PATH}",
            params={"limit": str(limit), "offset": str(offset)},
            json={"q": text},
            headers={"Prefer": "transient", "Accept": "application/json"},
        )
        response = yield mark_idempotent(request)
        if response.status_code != 200:
            raise self._error(response, what="SuiteQL query")
        body = self._decode(response, "a SuiteQL query")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BrokenAnswer("NetSuite answered a SuiteQL query without items", code="NO_ITEMS", store=self.store_id)
        for row in body["items"]:
            if not isinstance(row, dict):
                raise BrokenAnswer("a SuiteQL row that is not an object", code="BAD_ROW", store=self.store_id)
        return body

    def _all_rows(self, text: str) -> Flow[list[dict[str, Any]]]:
        """Every row of a query whose rows do not move (look-ups by fixed keys), paged by offset."""
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = yield from self._query(text, MAX_LIMIT, offset)
            rows += body["items"]
            # A full answer is followed up whatever hasMore says: a flag that lies must not drop rows.
            full = len(body["items"]) >= MAX_LIMIT
            if not body["items"] or not (full or body.get("hasMore")) or offset + MAX_LIMIT >= MAX_OFFSET:
                return rows
            offset += MAX_LIMIT

    def _total(self, body: Mapping[str, Any], offset: int = 0) -> int | None:
        """``totalResults`` when it can be true: at least the rows sent, and agreeing with ``hasMore``. A total too
        small would end a keyset slice early, so one that contradicts the answer is not used (``None``)."""
        total = body.get("totalResults")
        if not isinstance(total, int) or isinstance(total, bool):
            return None
        shown = offset + len(body["items"])
        if total < shown or (body.get("hasMore") is True and total <= shown):
            return None
        return total

    def _letters(self, query: OrderQuery) -> list[str] | None:
        try:
            return status_letters(query.statuses)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    # reads -------------------------------------------------------------------------------------------------
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        # Sales order statuses are fixed by NetSuite (no custom ones): the table is the whole list.
        return ORDER_STATUSES
        yield  # pragma: no cover - a flow that sends nothing

    def _orders(self, headers: Sequence[dict[str, Any]]) -> Flow[list[Order | PayloadError]]:
        """Full orders for transaction rows: their item lines (as many answers as they take, walked by key) and their
        rows in the two address tables."""
        ids = [int(str(h["id"])) for h in headers if str(h.get("id", "")).isdigit()]
        lines: dict[str, list[dict[str, Any]]] = {}
        after: tuple[int, int] | None = None
        while ids:
            body = yield from self._query(sql.lines_query(ids, after), MAX_LIMIT)
            rows = body["items"]
            for row in rows:
                lines.setdefault(str(row.get("transaction")), []).append(row)
            if not rows or (len(rows) < MAX_LIMIT and not body.get("hasMore")):
                break  # a full answer is followed up whatever hasMore says: a flag that lies must not drop lines
            try:
                next_after = (int(str(rows[-1]["transaction"])), int(str(rows[-1]["id"])))
            except (KeyError, ValueError):
                raise BrokenAnswer("a line row without its ids", code="BAD_ROW", store=self.store_id) from None
            if after is not None and next_after <= after:
                raise BrokenAnswer("line rows are not sorted", code="UNSORTED", store=self.store_id)
            after = next_after
        addresses: dict[str, dict[str, dict[str, Any]]] = {}
        for table, column in (
            ("transactionshippingaddress", "shippingaddress"),
            ("transactionbillingaddress", "billingaddress"),
        ):
            keys = sorted({int(str(h[column])) for h in headers if str(h.get(column, "")).isdigit()})
            found: dict[str, dict[str, Any]] = {}
            if keys:
                for row in (yield from self._all_rows(sql.addresses_query(table, keys))):
                    found[str(row.get("nkey"))] = row
            addresses[column] = found
        orders: list[Order | PayloadError] = []
        for header in headers:
            order_id = str(header.get("id"))
            try:
                orders.append(
                    order_from_rows(
                        header,
                        lines.get(order_id, []),
                        addresses["shippingaddress"].get(str(header.get("shippingaddress"))),
                        addresses["billingaddress"].get(str(header.get("billingaddress"))),
                        store=self.store_id,
                        default_currency=self.settings.currency,
                        zone=self.zone,
                    )
                )
            except PayloadError as error:
                orders.append(error)
        return orders

    def _keys(self, rows: Sequence[Mapping[str, Any]]) -> tuple[OrderKey, ...]:
        keys = []
        for index, row in enumerate(rows):
            found = order_key_of(row, self.zone)
            if found is None:
                raise BrokenAnswer(
                    f"row {index} without a readable id and lastmodifieddate", code="BAD_KEY", store=self.store_id
                )
            keys.append(OrderKey(found[1], found[0]))
        return tuple(keys)

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Orders of ``query`` with keys in ``(seek.after, seek.through]``, sorted by ``(lastmodifieddate, id)``."""
        letters = self._letters(query)
        if letters == []:
            return Page(orders=(), total=0)
        limit = max(1, min(size, self.settings.page_size, MAX_LIMIT))
        body = yield from self._query(sql.orders_query(query, letters, seek, self.zone), limit)
        rows = body["items"]
        keys = self._keys(rows)
        orders = yield from self._orders(rows)
        return Page(orders=tuple(orders), total=self._total(body), keys=keys)

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of the listing: one row of two columns, and the count."""
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        letters = self._letters(query)
        if letters == []:
            return Probe(None, 0)
        if offset >= MAX_OFFSET:
            return Probe(None, None)  # SuiteQL pages no further by offset: the engine reads one bigger slice
        body = yield from self._query(sql.orders_query(query, letters, Seek(), self.zone, keys_only=True), 1, offset)
        total = self._total(body, offset)
        if not body["items"]:
            return Probe(None, total)
        return Probe(self._keys(body["items"])[0], total)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        letters = self._letters(query)
        if letters == []:
            return KeyPage((), 0)
        limit = max(1, min(size, MAX_LIMIT))
        body = yield from self._query(sql.orders_query(query, letters, seek, self.zone, keys_only=True), limit)
        return KeyPage(self._keys(body["items"]), self._total(body))

    def get_order(self, order_id: str) -> Flow[Order]:
        if not str(order_id).strip().isdigit():
            raise StoreError(
                f"NetSuite order ids are numbers, got {order_id!r}",
                code="BAD_ID",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        body = yield from self._query(sql.order_by_id(int(order_id)), 1)
        if not body["items"]:
            raise StoreError(
                f"NetSuite has no sales order {order_id}",
                code="RCRD_DSNT_EXIST",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        (order,) = yield from self._orders(body["items"])
        if isinstance(order, PayloadError):
            raise order
        return order

    # record service ----------------------------------------------------------------------------------------
    def _record_url(self, path: str) -> str:
        return f"{self.base_url}{RECORD_PATH}{path}"

    def _sales_order(self, order_id: str) -> Flow[dict[str, Any]]:
        """The sales order as the record service has it (a read: what a write needs to decide)."""
        request = httpx.Request(
            "GET", self._record_url(f"/salesOrder/{int(order_id)}"), params={"expandSubResources": "true"}
        )
        response = yield request
        if response.status_code != 200:
            raise self._error(response, order_id, "read sales order")
        body = self._decode(response, "a sales order read")
        if not isinstance(body, dict):
            raise BrokenAnswer("a sales order that is not an object", code="BAD_RECORD", store=self.store_id)
        return body

    def _write(
        self, method: str, path: str, body: Mapping[str, Any], order_id: str | None, what: str, key: str | None = None
    ) -> Flow[httpx.Response]:
        headers = {"Accept": "application/json"}
        if key is not None:
            headers[_IDEMPOTENCY_HEADER] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.store_id}/{key}"))
        headers["Content-Type"] = "application/json"
        request = httpx.Request(method, self._record_url(path), content=_ENCODER.encode(dict(body)), headers=headers)
        response = yield mark_idempotent(request, False)
        if response.status_code not in (200, 201, 204):
            raise self._error(response, order_id, what)
        return response

    def _find(self, record_type: str, external_id: str) -> Flow[dict[str, Any] | None]:
        body = yield from self._query(sql.by_external_id(record_type, external_id), 1)
        return body["items"][0] if body["items"] else None

    @staticmethod
    def _lines(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        sublist = record.get("item")
        items = sublist.get("items") if isinstance(sublist, Mapping) else None
        return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []

    @staticmethod
    def _letter(record: Mapping[str, Any]) -> str:
        status = record.get("orderStatus")
        return str(status.get("id") if isinstance(status, Mapping) else status or "")

    # writes ------------------------------------------------------------------------------------------------
    def ship_key(self, request: ShipmentRequest) -> str:
        """The external id of the fulfilment made for ``request``: its order and tracking numbers (or, without
        any, its lines and first attempt), so every attempt of one shipment names the same record."""
        parts = [request.order_id, *sorted(t.number for t in request.tracking)]
        if not request.tracking:
            parts += [f"{line}:{qty}" for line, qty in request.lines]
            parts.append(request.since.isoformat() if request.since else "")
        return "ecc-ship-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Transform the order into an item fulfilment with the tracking numbers as packages, unless the
        fulfilment with this request's external id exists already (an attempt whose answer was lost)."""
        key = self.ship_key(request)
        existing = yield from self._find("ItemShip", key)
        if existing is not None:
            return ShipmentResult(str(existing.get("id")), already_shipped=True)
        record = yield from self._sales_order(request.order_id)
        open_lines = []
        for line in self._lines(record):
            remaining = (decimal(line.get("quantity")) or Decimal("0")) - (
                decimal(line.get("quantityFulfilled")) or Decimal("0")
            )
            if not line.get("isClosed") and remaining > 0:
                open_lines.append((str(line.get("line")), remaining))
        if not open_lines:
            raise StatusNotAllowed(
                "NetSuite: nothing left to fulfil on this order",
                code="NOTHING_TO_FULFILL",
                store=self.store_id,
                order_id=request.order_id,
            )
        requested = {str(line): qty for line, qty in request.lines}
        unknown = sorted(set(requested) - {line_id for line_id, _ in open_lines})
        if unknown:
            raise StatusNotAllowed(
                f"NetSuite: order lines {', '.join(unknown)} have nothing left to fulfil",
                code="LINE_NOT_FULFILLABLE",
                store=self.store_id,
                order_id=request.order_id,
            )
        items = []
        for line_id, remaining in open_lines:
            receive = not requested or line_id in requested
            item: dict[str, Any] = {"orderLine": int(line_id), "itemReceive": receive}
            if receive:
                item["quantity"] = _plain(requested.get(line_id, remaining))
            items.append(item)
        body: dict[str, Any] = {"externalId": key, "item": {"items": items}}
        if self.settings.pick_pack_ship:
            body["shipStatus"] = {"id": "C"}  # shipped; without Pick, Pack and Ship every fulfilment is shipped
        if request.comment:
            body["memo"] = request.comment
        if request.tracking:
            body["package"] = {
                "items": [
                    {"packageTrackingNumber": t.number, "packageDescr": t.title or t.carrier_code}
                    for t in request.tracking
                ]
            }
        path = f"/salesOrder/{int(request.order_id)}/!transform/itemFulfillment"
        try:
            response = yield from self._write("POST", path, body, request.order_id, "fulfil order", key)
        except StoreError as error:
            if error.code not in _ALREADY_CREATED:
                raise
            # NetSuite saw this create already: the fulfilment is there (or about to be); report it.
            found = yield from self._find("ItemShip", key)
            if found is None:
                raise
            return ShipmentResult(str(found.get("id")), already_shipped=True)
        shipment_id = _location_id(response)
        if shipment_id is None:
            found = yield from self._find("ItemShip", key)
            shipment_id = str(found.get("id")) if found else ""
        yield from self._status_after_shipping(request)
        return ShipmentResult(shipment_id)

    def _status_after_shipping(self, request: ShipmentRequest) -> Flow[None]:
        """A status asked for with a shipment: the ones NetSuite derives from fulfilments are its own doing;
        anything else (an approval, free text into ``status_field``) is set once, like :meth:`set_status`."""
        status = request.status
        if not status or status in _DERIVED or status in _APPROVE:
            return
        yield from self.set_status(StatusChange(request.order_id, status, "", False, request.since))

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Approve (``_pendingFulfillment`` from pending approval), cancel (see :meth:`cancel`), or write free text
        into the custom body field ``settings.status_field``. The order is read first; what it already shows is
        not written again."""
        status = change.status
        if status in _CANCEL:
            return (
                yield from self.cancel(
                    CancelRequest(change.order_id, status, change.comment, change.notify, change.since)
                )
            )
        if status in _DERIVED or status == "_undefined":
            raise CapabilityNotSupported(
                self.name, Capability.SET_STATUS.value, f"NetSuite sets {status} itself from fulfilments and billing"
            )
        if status in _APPROVE:
            record = yield from self._sales_order(change.order_id)
            letter = self._letter(record)
            memo = _memo_with(str(record.get("memo") or ""), change.comment)
            if letter in _APPROVED:
                found = f"the order is already approved ({LETTER_TO_CODE.get(letter, letter)})"
                if memo is None:
                    return WriteResult(already_done=True, found=found)
                yield from self._write(
                    "PATCH", f"/salesOrder/{int(change.order_id)}", {"memo": memo}, change.order_id, "add comment"
                )
                return WriteResult(found=found)
            if letter != "A":
                raise StatusNotAllowed(
                    f"NetSuite approves only orders pending approval; this one is {LETTER_TO_CODE.get(letter, letter)}",
                    code="NOT_PENDING_APPROVAL",
                    store=self.store_id,
                    order_id=change.order_id,
                )
            body: dict[str, Any] = {"orderStatus": {"id": "B"}}
            if memo is not None:
                body["memo"] = memo
            yield from self._write(
                "PATCH", f"/salesOrder/{int(change.order_id)}", body, change.order_id, "approve order"
            )
            return WriteResult(found="the order was pending approval")
        field_id = self.settings.status_field
        if not field_id:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite has no free-text status like {status!r}; set status_field to a custom body field",
            )
        record = yield from self._sales_order(change.order_id)
        current = record.get(field_id)
        memo = _memo_with(str(record.get("memo") or ""), change.comment)
        if current == status and memo is None:
            return WriteResult(already_done=True, found=f"{field_id} already reads {status!r}")
        body = {field_id: status}
        if memo is not None:
            body["memo"] = memo
        yield from self._write(
            "PATCH", f"/salesOrder/{int(change.order_id)}", body, change.order_id, "set status field"
        )
        return WriteResult(found=f"{field_id} read {current!r}")

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Close every open line (``isClosed``): NetSuite then shows the order as closed. Orders already cancelled
        or closed, or without an open line, are ``already_done``; fully fulfilled ones cannot be cancelled."""
        record = yield from self._sales_order(request.order_id)
        letter = self._letter(record)
        memo = _memo_with(str(record.get("memo") or ""), request.comment)
        open_lines = [line.get("line") for line in self._lines(record) if not line.get("isClosed") and line.get("line")]
        path = f"/salesOrder/{int(request.order_id)}"
        if letter in ("C", "H") or not open_lines:
            found = (
                f"the order is already {LETTER_TO_CODE.get(letter, letter)}"
                if letter in ("C", "H")
                else ("every line of the order is closed")
            )
            if memo is None:
                return WriteResult(already_done=True, found=found)
            yield from self._write("PATCH", path, {"memo": memo}, request.order_id, "add comment")
            return WriteResult(found=found)
        if letter in ("F", "G"):
            raise StatusNotAllowed(
                f"NetSuite: the order is fully fulfilled ({LETTER_TO_CODE[letter]}) and cannot be closed",
                code="ALREADY_FULFILLED",
                store=self.store_id,
                order_id=request.order_id,
            )
        body: dict[str, Any] = {"item": {"items": [{"line": int(str(line)), "isClosed": True} for line in open_lines]}}
        if memo is not None:
            body["memo"] = memo
        yield from self._write("PATCH", path, body, request.order_id, "close order lines")
        return WriteResult(found=f"open lines {', '.join(str(line) for line in open_lines)}")

    # items and phone orders --------------------------------------------------------------------------------
    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Active sellable items by exact item id (``skus``) or text in the item id or display name, with their
        price (price level and currency of the settings) and the quantity available (the settings' location, or
        all)."""
        body = yield from self._query(sql.items_query(query.skus, query.text), max(1, min(query.limit, MAX_LIMIT)))
        rows = [row for row in body["items"] if str(row.get("id", "")).isdigit()]
        if not rows:
            return ()
        ids = [int(str(row["id"])) for row in rows]
        s = self.settings
        prices = yield from self._all_rows(sql.prices_query(ids, s.price_level, s.currency_id))
        stock = yield from self._all_rows(sql.stock_query(ids, s.location_id))
        by_item: dict[str, list[dict[str, Any]]] = {}
        for row in prices:
            by_item.setdefault(str(row.get("item")), []).append(row)
        stock_by_item: dict[str, list[dict[str, Any]]] = {}
        for row in stock:
            stock_by_item.setdefault(str(row.get("item")), []).append(row)
        items = [
            item_from_rows(row, by_item.get(str(row["id"]), []), stock_by_item.get(str(row["id"]), []), s.currency)
            for row in rows
        ]
        return tuple(items[: query.limit])

    @staticmethod
    def order_key(reference: str) -> str:
        """The external id of the sales order made for a phone order: derived from its reference alone."""
        return "ecc-order-" + hashlib.sha256(reference.encode()).hexdigest()[:32]

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """The external id the order will get: fixed before it is placed, no I/O."""
        return self.order_key(order.reference)
        yield  # pragma: no cover - a flow that sends nothing

    @staticmethod
    def _address(address: Address) -> dict[str, Any]:
        street = [*address.street, "", "", ""]
        values = {
            "addressee": address.name,
            "attention": address.company,
            "addrPhone": address.phone,
            "addr1": street[0],
            "addr2": street[1],
            "addr3": street[2],
            "city": address.city,
            "state": address.region,
            "zip": address.postcode,
        }
        body: dict[str, Any] = {k: v for k, v in values.items() if v}
        if address.country:
            body["country"] = {"id": address.country.upper()}
        return body

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``POST /record/v1/salesOrder`` for a phone order, then read it. The order's external id is
        :meth:`order_key` of its reference (or the ``reservation``); a sales order with it is looked up first, and
        the create carries an idempotency key made from it, so a retry never makes a second order."""
        key = reservation or self.order_key(order.reference)
        entity = order.customer.store_customer_id or self.settings.default_customer_id
        if not entity:
            raise ConfigurationError(
                "a NetSuite sales order needs a customer: give customer.store_customer_id or set default_customer_id"
            )
        placed = yield from self._find("SalesOrd", key)
        if placed is not None:
            return (yield from self.get_order(str(placed.get("id"))))
        missing = tuple(line.sku for line in order.lines if not line.item_id)
        ids: dict[str, str] = {}
        if missing:
            found = yield from self.search_items(ItemQuery(skus=missing, limit=max(5, len(missing))))
            ids = {item.sku: item.item_id for item in found}
            unknown = [sku for sku in missing if sku not in ids]
            if unknown:
                raise StoreError(
                    f"NetSuite has no active item {', '.join(unknown)}", code="UNKNOWN_ITEM", store=self.store_id
                )
        items = []
        for line in order.lines:
            item: dict[str, Any] = {"item": {"id": line.item_id or ids[line.sku]}, "quantity": _plain(line.quantity)}
            if line.unit_price is not None:
                item["price"] = {"id": "-1"}  # custom price level: the rate given is used as is
                item["rate"] = line.unit_price
            if line.name:
                item["description"] = line.name
            items.append(item)
        body: dict[str, Any] = {
            "entity": {"id": str(entity)},
            "externalId": key,
            "otherRefNum": order.reference,
            "billingAddress": self._address(order.billing_address),
            "shippingAddress": self._address(order.shipping_address),
            "item": {"items": items},
        }
        if order.customer.email:
            body["email"] = order.customer.email
        if order.shipping_method.isdigit():
            body["shipMethod"] = {"id": order.shipping_method}
        try:
            response = yield from self._write("POST", "/salesOrder", body, None, "create sales order", key)
            order_id = _location_id(response)
        except StoreError as error:
            if error.code not in _ALREADY_CREATED:
                raise
            order_id = None
        if order_id is None:
            again = yield from self._find("SalesOrd", key)
            if again is None:
                raise StoreError(
                    "NetSuite did not say which sales order it created", code="NO_LOCATION", store=self.store_id
                )
            order_id = str(again.get("id"))
        return (yield from self.get_order(order_id))
