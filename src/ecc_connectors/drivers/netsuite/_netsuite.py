"""The NetSuite driver (``netsuite``): sales orders, fulfilments and items over SuiteTalk SOAP.

See ``docs/drivers/netsuite.md`` for setup, the status mapping and what each post-back does in NetSuite.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import httpx

from ..._driver import (
    CancelRequest,
    Capability,
    Driver,
    Flow,
    FollowCursor,
    ItemQuery,
    Limits,
    NewOrder,
    OrderQuery,
    Page,
    RetryHint,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    is_idempotent,
)
from ..._errors import CapabilityNotSupported, ConfigurationError, PayloadError, StatusNotAllowed, StoreError
from ..._model import Address, Item, Order, StoreStatus
from ..._retry import default_retry_hint
from ._auth import TokenCredentials, TokenPassportAuth, account_host
from ._mapping import (
    ISO_TO_COUNTRY,
    ORDER_STATUSES,
    field,
    item_from_record,
    jsonable,
    order_from_record,
    search_status_values,
    to_decimal,
)
from ._soap import (
    PACKAGED_VERSION,
    SoapClient,
    fault_from_response,
    load_zeep_client,
    packaged_wsdl,
    raise_for_status,
    status_codes,
)

__all__ = ["NetSuiteDriver", "NetSuiteSettings", "wsdl_location"]

_ITEM_TYPES = ("_inventoryItem", "_nonInventoryItem", "_kit", "_assembly", "_service")
_SEARCH_EXPIRED = frozenset({"INVALID_JOB_ID", "SEARCH_ID_EXPIRED"})
# What NetSuite answers when an order has nothing left to fulfil (or cannot be fulfilled in its state).
_NOTHING_TO_FULFIL = frozenset({"INVALID_INITIALIZE_REF"})
# Statuses NetSuite derives from fulfilments and billing; no request can set them.
_DERIVED = frozenset(
    {"_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled", "_undefined"}
)
_APPROVE = frozenset({"_pendingFulfillment", "approved", "approve"})
_CANCEL = frozenset({"_cancelled", "_closed", "canceled", "cancelled", "closed"})


def _page_size(_inst: object, _attr: attrs.Attribute[int], value: int) -> None:
    if not 5 <= value <= 1000:
        raise ValueError(f"NetSuite page_size must be between 5 and 1000, got {value}")


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@attrs.frozen
class NetSuiteSettings:
    """Everything but the credentials.

    ``wsdl``: ``None`` uses the project's packaged compact WSDL (2023_2 only; other versions load from the
    account); ``"account"`` loads the full WSDL of ``version`` from the account's own host; anything else is a
    local path or URL. Remote WSDLs are cached on disk in ``wsdl_cache`` (zeep's ``SqliteCache``).
    ``endpoint`` overrides the SOAP URL (a test server); by default it is the account's
    ``https://<account>.suitetalk.api.netsuite.com/services/NetSuitePort_<version>``.
    """

    version: str = PACKAGED_VERSION
    endpoint: str | None = None
    wsdl: str | None = None
    wsdl_cache: Path | None = None
    wsdl_load_timeout: float = attrs.field(default=60.0, validator=_positive)
    page_size: int = attrs.field(default=1000, validator=_page_size)
    concurrency: int = attrs.field(default=1, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    read_timeout: float = attrs.field(default=300.0, validator=_positive)
    max_attempts: int = attrs.field(default=6, validator=_positive)
    currency: str = "USD"
    currency_id: str | None = None
    price_level: str = "1"
    status_field: str | None = None
    default_customer_id: str | None = None
    max_search_restarts: int = 3


@attrs.define
class _SearchState:
    """One order download: where it is, and which orders it has already returned."""

    criteria: Any
    page_size: int
    starting_number: str | None
    search_id: str | None = None
    next_index: int = 1
    total_records: int | None = None
    restarts: int = 0
    seen: set[str] = attrs.field(factory=set)


def _raw(record: Any) -> Any:
    try:
        return jsonable(record)
    except Exception:  # the record is already broken; keep what can be kept
        return str(record)


def _plain(value: Decimal) -> Decimal:
    """``2.0`` and ``2`` written the same way (``2``), whichever WSDL parsed the number."""
    return Decimal(format(value.normalize(), "f"))


def _number_key(number: str) -> tuple[str, int] | None:
    digits = len(number) - len(number.rstrip("0123456789"))
    if digits == 0:
        return None
    return number[: len(number) - digits], int(number[len(number) - digits :])


def _from_number(number: str, starting: str) -> bool:
    """``number`` comes at or after ``starting`` (same prefix, numeric part compared as a number)."""
    have, want = _number_key(number), _number_key(starting)
    if have is None or want is None or have[0] != want[0]:
        return number >= starting
    return have[1] >= want[1]


def wsdl_location(account: str, version: str, wsdl: str | None) -> str:
    """Where the WSDL comes from: the packaged compact one (2023_2), the account's own host for ``"account"``
    (or for a version not packaged), or the path or URL given."""
    if wsdl is None:
        wsdl = str(packaged_wsdl()) if version == PACKAGED_VERSION else "account"
    if wsdl == "account":
        return f"https://{account_host(account)}.suitetalk.api.netsuite.com/wsdl/v{version}_0/netsuite.wsdl"
    return wsdl


class NetSuiteDriver(Driver):
    """SuiteTalk SOAP driver. ``credentials`` hold the token-based authentication secrets."""

    name: ClassVar[str] = "netsuite"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LIST_STATUSES,
            Capability.LIST_ORDERS,
            Capability.GET_ORDER,
            Capability.SHIP,
            Capability.SET_STATUS,
            Capability.CANCEL,
            Capability.SEARCH_ITEMS,
            Capability.CREATE_ORDER,
        }
    )
    # Basic searches cannot be sorted by lastModifiedDate, so the engine moves its mark only at a run's end.
    sorts_by_updated: ClassVar[bool] = False

    def __init__(
        self,
        credentials: TokenCredentials,
        settings: NetSuiteSettings | None = None,
        store_id: str | None = None,
    ) -> None:
        if not isinstance(credentials, TokenCredentials):
            raise ConfigurationError("NetSuite credentials must be a TokenCredentials")
        self.settings = settings or NetSuiteSettings()
        self._credentials = credentials
        self.account = credentials.account
        self.store_id = store_id or f"netsuite:{credentials.account.upper().replace('-', '_')}"
        host = f"https://{account_host(credentials.account)}.suitetalk.api.netsuite.com"
        version = self.settings.version
        self.endpoint = self.settings.endpoint or f"{host}/services/NetSuitePort_{version}"
        self.wsdl = wsdl = wsdl_location(credentials.account, version, self.settings.wsdl)
        client = load_zeep_client(wsdl, self.settings.wsdl_cache, self.settings.wsdl_load_timeout)
        self._soap = SoapClient(client, version, self.endpoint, credentials.passport)
        self._auth = TokenPassportAuth(credentials)

    @classmethod
    def from_env(
        cls, settings: NetSuiteSettings | None = None, env: dict[str, str] | None = None
    ) -> NetSuiteDriver:
        """Credentials from ``NETSUITE_ACCOUNT``, ``NETSUITE_CONSUMER_KEY``, ``NETSUITE_CONSUMER_SECRET``,
        ``NETSUITE_TOKEN_ID`` and ``NETSUITE_TOKEN_SECRET``."""
        source = os.environ if env is None else env
        names = ("ACCOUNT", "CONSUMER_KEY", "CONSUMER_SECRET", "TOKEN_ID", "TOKEN_SECRET")
        missing = [f"NETSUITE_{n}" for n in names if not source.get(f"NETSUITE_{n}")]
        if missing:
            raise ConfigurationError(f"missing NetSuite settings: {', '.join(missing)}")
        values = [source[f"NETSUITE_{n}"] for n in names]
        return cls(TokenCredentials(*values), settings)

    def __repr__(self) -> str:
        return f"NetSuiteDriver(account={self.account!r}, endpoint={self.endpoint!r}, wsdl={self.wsdl!r})"

    # engine hooks ------------------------------------------------------------------------------------------
    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            concurrency=int(s.concurrency),
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            max_attempts=s.max_attempts,
        )

    def auth(self) -> httpx.Auth:
        return self._auth

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        fault = fault_from_response(response)
        if fault is None:
            return default_retry_hint(response)
        if fault.is_concurrency:
            # NetSuite refused the request before acting on it, so a write may be resent too.
            return RetryHint(f"NetSuite concurrency limit ({fault.code or fault.detail_name})")
        if fault.detail_name == "unexpectedErrorFault" and is_idempotent(response.request):
            return RetryHint("NetSuite unexpected error")
        return None

    # plumbing ----------------------------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        body: dict[str, Any],
        *,
        search: bool = False,
        page_size: int | None = None,
        idempotent: bool = False,
    ) -> Flow[Any]:
        prefs = None
        if search:
            prefs = {
                "bodyFieldsOnly": False,
                "returnSearchColumns": False,
                "pageSize": page_size or self.settings.page_size,
            }
        request = self._soap.request(operation, body, search_preferences=prefs, idempotent=idempotent)
        response = yield request
        return self._soap.reply(operation, response)

    def _search(self, record: Any, page_size: int | None = None) -> Flow[Any]:
        body = yield from self._call(
            "search", {"searchRecord": record}, search=True, page_size=page_size, idempotent=True
        )
        result = body.searchResult
        raise_for_status(result.status, what="search")
        return result

    def _search_more(self, search_id: str, page_index: int, page_size: int | None = None) -> Flow[Any | None]:
        """The page, or ``None`` when the search id has expired."""
        try:
            body = yield from self._call(
                "searchMoreWithId",
                {"searchId": search_id, "pageIndex": page_index},
                search=True,
                page_size=page_size,
                idempotent=True,
            )
        except StoreError as exc:
            if exc.code in _SEARCH_EXPIRED:
                return None
            raise
        result = body.searchResult
        if status_codes(result.status) & _SEARCH_EXPIRED:
            return None
        raise_for_status(result.status, what="searchMoreWithId")
        return result

    def _search_all(self, record: Any, page_size: int = 50) -> Flow[list[Any]]:
        """Every record of a small search (fulfilments of one order, items by text)."""
        result = yield from self._search(record, page_size)
        records = list(field(result.recordList, "record", []) or [])
        total_pages = int(result.totalPages or 0)
        index = 2
        while index <= total_pages:
            more = yield from self._search_more(result.searchId, index, page_size)
            if more is None:  # expired: start over, keeping what is already known
                result = yield from self._search(record, page_size)
                total_pages = int(result.totalPages or 0)
                known = {field(r, "internalId") for r in records}
                records += [
                    r
                    for r in field(result.recordList, "record", []) or []
                    if field(r, "internalId") not in known
                ]
                index = 2
                continue
            records += list(field(more.recordList, "record", []) or [])
            index += 1
        return records

    def _record(self, ref: dict[str, Any], what: str, order_id: str | None = None) -> Flow[Any]:
        body = yield from self._call(
            "get", {"baseRef": self._soap.type("core", "RecordRef")(**ref)}, idempotent=True
        )
        response = body.readResponse
        raise_for_status(response.status, order_id=order_id, what=what)
        return response.record

    def _write(self, operation: str, record: Any, order_id: str | None, what: str) -> Flow[str]:
        body = yield from self._call(operation, {"record": record})
        response = body.writeResponse
        raise_for_status(response.status, order_id=order_id, what=what)
        return str(field(response.baseRef, "internalId", ""))

    def _sales_order(self, **fields: Any) -> Any:
        return self._soap.type("sales", "SalesOrder")(**fields)

    # orders ------------------------------------------------------------------------------------------------
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        return ORDER_STATUSES
        yield  # a flow that needs no request

    def _order_criteria(self, query: OrderQuery) -> Any:
        criteria: dict[str, Any] = {"type": {"operator": "anyOf", "searchValue": ["_salesOrder"]}}
        if query.statuses:
            try:
                values = search_status_values(query.statuses)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
            if values:
                criteria["status"] = {"operator": "anyOf", "searchValue": values}
        for name, start, end in (
            ("lastModifiedDate", query.updated_from, query.updated_to),
            ("tranDate", query.created_from, query.created_to),
        ):
            if start and end:
                criteria[name] = {"operator": "within", "searchValue": start, "searchValue2": end}
            elif start:
                criteria[name] = {"operator": "onOrAfter", "searchValue": start}
            elif end:
                criteria[name] = {"operator": "onOrBefore", "searchValue": end}
        return self._soap.type("common", "TransactionSearchBasic")(**criteria)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        # The query's page size, up to the configured ceiling; NetSuite takes 5 to 1000.
        page_size = min(self.settings.page_size, max(5, query.page_size or self.settings.page_size))
        state = _SearchState(self._order_criteria(query), page_size, query.starting_number)
        return (yield from self._order_page(state))

    def _order_page(self, st: _SearchState) -> Flow[Page]:
        while True:
            if st.search_id is None:
                result = yield from self._search(st.criteria, st.page_size)
                st.search_id = result.searchId
                if st.next_index > 1:
                    result = yield from self._search_more(st.search_id or "", st.next_index, st.page_size)
                    if result is None:  # expired at once: go round again with a new search
                        st.search_id = None
                        continue
            else:
                result = yield from self._search_more(st.search_id, st.next_index, st.page_size)
                if result is None:
                    # Search ids expire 15 minutes after last use: run it again and go on from the same page.
                    st.search_id = None
                    continue
            total = int(result.totalRecords or 0)
            total_pages = int(result.totalPages or 0)
            records = list(field(result.recordList, "record", []) or [])
            moved = st.total_records is not None and total != st.total_records
            short = st.next_index < total_pages and len(records) < int(result.pageSize or st.page_size)
            if (moved or short) and st.restarts < self.settings.max_search_restarts:
                # Each page re-runs the search: a changed count or a short middle page means records moved
                # between pages. Start again from page 1; orders already returned are skipped by internalId.
                st.restarts += 1
                st.search_id = None
                st.next_index = 1
                st.total_records = None
                continue
            st.total_records = total
            break
        orders: list[Order | PayloadError] = []
        for record in records:
            internal_id = str(field(record, "internalId", ""))
            if internal_id in st.seen:
                continue
            st.seen.add(internal_id)
            try:
                order = order_from_record(record, self.store_id, self.settings.currency)
            except Exception as exc:  # one bad record must not cost the page
                orders.append(
                    PayloadError(self.store_id, internal_id or None, "record", str(exc), raw=_raw(record))
                )
                continue
            if st.starting_number and not _from_number(order.number, st.starting_number):
                continue
            orders.append(order)
        st.next_index += 1
        following: FollowCursor | None = None
        if st.next_index <= total_pages:
            following = FollowCursor(fetch=self._cursor(st))
        return Page(orders=tuple(orders), next=following, total=total)

    def _cursor(self, st: _SearchState) -> Callable[[], Flow[Page]]:
        return lambda: self._order_page(st)

    def get_order(self, order_id: str) -> Flow[Order]:
        record = yield from self._record({"internalId": order_id, "type": "salesOrder"}, "get", order_id)
        return order_from_record(record, self.store_id, self.settings.currency)

    # post back ---------------------------------------------------------------------------------------------
    @staticmethod
    def fulfilment_key(request: ShipmentRequest) -> str:
        """The externalId the driver gives a fulfilment: the same request always yields the same key."""
        text = "|".join(
            [
                request.order_id,
                ",".join(sorted(t.number for t in request.tracking)),
                ",".join(f"{line}:{qty}" for line, qty in sorted(request.lines)),
            ]
        )
        return "ecc-ship-" + hashlib.sha256(text.encode()).hexdigest()[:20]

    def _fulfilments(self, order_id: str) -> Flow[list[Any]]:
        ref = self._soap.type("core", "RecordRef")(internalId=order_id)
        criteria = self._soap.type("common", "TransactionSearchBasic")(
            createdFrom={"operator": "anyOf", "searchValue": [ref]},
            type={"operator": "anyOf", "searchValue": ["_itemFulfillment"]},
        )
        return (yield from self._search_all(criteria))

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Fulfil the order: ``initialize`` an ItemFulfillment from it, set lines and packages, ``add`` it.

        A fulfilment made by an earlier attempt (same externalId, or sharing a tracking number) is found first
        and returned as ``already_shipped``, so a retried request never fulfils twice. ``notify`` and
        ``status`` are NetSuite's business: it emails per its own preferences and moves the order status
        itself.
        """
        key = self.fulfilment_key(request)
        wanted = {t.number for t in request.tracking}
        existing = yield from self._fulfilments(request.order_id)
        for fulfilment in existing:
            packages = field(field(fulfilment, "packageList"), "package", []) or []
            numbers = {str(field(p, "packageTrackingNumber", "")) for p in packages} - {""}
            if field(fulfilment, "externalId") == key or (wanted and wanted & numbers):
                return ShipmentResult(str(field(fulfilment, "internalId")), already_shipped=True)
        body = yield from self._call(
            "initialize",
            {
                "initializeRecord": {
                    "type": "itemFulfillment",
                    "reference": {"type": "salesOrder", "internalId": request.order_id},
                }
            },
            idempotent=True,
        )
        response = body.readResponse
        failed = response.status.isSuccess is False
        if failed and not status_codes(response.status) & _NOTHING_TO_FULFIL:
            raise_for_status(response.status, order_id=request.order_id, what="initialize fulfilment")
        lines = [] if failed else (field(field(response.record, "itemList"), "item", []) or [])
        open_lines = [
            ln for ln in lines if (field(ln, "quantityRemaining") or field(ln, "quantity") or 0) > 0
        ]
        if not open_lines:
            if existing and not request.lines:
                return ShipmentResult(str(field(existing[-1], "internalId")), already_shipped=True)
            raise_for_status(response.status, order_id=request.order_id, what="initialize fulfilment")
            raise StatusNotAllowed(
                "NetSuite: nothing left to fulfil on this order",
                code="NOTHING_TO_FULFILL",
                store=self.store_id,
                order_id=request.order_id,
            )
        requested = {str(line): qty for line, qty in request.lines}
        known = {str(field(ln, "orderLine")) for ln in open_lines}
        unknown = sorted(set(requested) - known)
        if unknown:
            raise StatusNotAllowed(
                f"NetSuite: order lines {', '.join(unknown)} have nothing left to fulfil",
                code="LINE_NOT_FULFILLABLE",
                store=self.store_id,
                order_id=request.order_id,
            )
        items = []
        for ln in open_lines:
            line = str(field(ln, "orderLine"))
            remaining = to_decimal(field(ln, "quantityRemaining") or field(ln, "quantity")) or Decimal("0")
            receive = not requested or line in requested
            item: dict[str, Any] = {"itemReceive": receive, "orderLine": int(line)}
            if receive:
                item["quantity"] = _plain(requested.get(line, remaining))
            items.append(item)
        fulfilment = self._soap.type("sales", "ItemFulfillment")(
            createdFrom={"internalId": request.order_id},
            shipStatus="_shipped",
            memo=request.comment or None,
            packageList={
                "package": [
                    {"packageDescr": t.title or t.carrier_code, "packageTrackingNumber": t.number}
                    for t in request.tracking
                ]
            }
            if request.tracking
            else None,
            itemList={"replaceAll": False, "item": items},
            externalId=key,
        )
        shipment_id = yield from self._write("add", fulfilment, request.order_id, "add fulfilment")
        return ShipmentResult(shipment_id)

    def set_status(self, change: StatusChange) -> Flow[None]:
        """Approve (``_pendingFulfillment`` from ``_pendingApproval``), cancel/close (see :meth:`cancel`), or
        write any other text into the custom body field ``settings.status_field``; NetSuite has no free
        status."""
        status = change.status
        if status in _CANCEL:
            return (
                yield from self.cancel(CancelRequest(change.order_id, status, change.comment, change.notify))
            )
        if status in _DERIVED:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite sets {status} itself from fulfilments and billing",
            )
        if status in _APPROVE:
            order = yield from self.get_order(change.order_id)
            if order.status == "_pendingFulfillment":
                return None
            if order.status != "_pendingApproval":
                raise StatusNotAllowed(
                    f"NetSuite approves only orders pending approval; this one is {order.status}",
                    code="NOT_PENDING_APPROVAL",
                    store=self.store_id,
                    order_id=change.order_id,
                )
            record = self._sales_order(internalId=change.order_id, orderStatus="_pendingFulfillment")
            yield from self._write("update", record, change.order_id, "approve order")
            return None
        if not self.settings.status_field:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite has no free-text status like {status!r}; set NetSuiteSettings.status_field to a "
                "custom body field to record it there",
            )
        custom = self._soap.type("core", "StringCustomFieldRef")(
            scriptId=self.settings.status_field, value=status
        )
        record = self._sales_order(internalId=change.order_id, customFieldList={"customField": [custom]})
        yield from self._write("update", record, change.order_id, "set status field")
        return None

    def cancel(self, request: CancelRequest) -> Flow[None]:
        """Pending approval: set ``_cancelled``. Otherwise close every open line (``isClosed``); NetSuite then
        shows the order as closed. Orders fully fulfilled cannot be cancelled (:class:`StatusNotAllowed`)."""
        order = yield from self.get_order(request.order_id)
        if order.status in ("_cancelled", "_closed"):
            return None
        if order.status == "_pendingApproval":
            record = self._sales_order(internalId=request.order_id, orderStatus="_cancelled")
            yield from self._write("update", record, request.order_id, "cancel order")
            return None
        if order.status in ("_pendingBilling", "_fullyBilled"):
            raise StatusNotAllowed(
                f"NetSuite: the order is fully fulfilled ({order.status}) and cannot be closed",
                code="ALREADY_FULFILLED",
                store=self.store_id,
                order_id=request.order_id,
            )
        raw_items = field(field(order.raw, "itemList"), "item", []) or []
        open_lines = [item.get("line") for item in raw_items if not item.get("isClosed") and item.get("line")]
        if not open_lines:
            return None
        record = self._sales_order(
            internalId=request.order_id,
            itemList={
                "replaceAll": False,
                "item": [{"line": int(line), "isClosed": True} for line in open_lines],
            },
        )
        yield from self._write("update", record, request.order_id, "close order lines")
        return None

    # items and phone orders --------------------------------------------------------------------------------
    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Active sellable items (inventory, non-inventory, kit, assembly, service) by exact item ids
        (``skus``) or by text in the item id or the display name (two searches: basic criteria cannot be
        OR-ed)."""
        search_type = self._soap.type("common", "ItemSearchBasic")
        base: dict[str, Any] = {
            "type": {"operator": "anyOf", "searchValue": list(_ITEM_TYPES)},
            "isInactive": {"searchValue": False},
        }
        searches = []
        if query.skus:
            searches = [
                search_type(**base, itemId={"operator": "is", "searchValue": sku}) for sku in query.skus
            ]
        elif query.text:
            searches = [
                search_type(**base, itemId={"operator": "contains", "searchValue": query.text}),
                search_type(**base, displayName={"operator": "contains", "searchValue": query.text}),
            ]
        else:
            searches = [search_type(**base)]
        page_size = min(1000, max(5, query.limit))
        found: dict[str, Item] = {}
        for criteria in searches:
            result = yield from self._search(criteria, page_size)
            for record in field(result.recordList, "record", []) or []:
                item = item_from_record(
                    record, self.settings.currency, self.settings.currency_id, self.settings.price_level
                )
                if "Purchase" in item.item_type:  # bought, never sold: not offered for phone orders
                    continue
                found.setdefault(item.item_id, item)
        return tuple(found.values())[: query.limit]

    def _address(self, address: Address) -> dict[str, Any]:
        street = [*address.street, "", "", ""]
        return {
            "country": ISO_TO_COUNTRY.get(address.country, address.country) or None,
            "attention": address.company or None,
            "addressee": address.name or None,
            "addrPhone": address.phone or None,
            "addr1": street[0] or None,
            "addr2": street[1] or None,
            "addr3": street[2] or None,
            "city": address.city or None,
            "state": address.region or None,
            "zip": address.postcode or None,
        }

    def create_order(self, order: NewOrder) -> Flow[Order]:
        """``add`` a SalesOrder for a phone order, then ``get`` it. The customer is the order's
        ``store_customer_id`` (a NetSuite customer internalId) or ``settings.default_customer_id``; the
        reference becomes the order's externalId, so a second attempt finds the first order instead."""
        entity = order.customer.store_customer_id or self.settings.default_customer_id
        if not entity:
            raise ConfigurationError(
                "a NetSuite sales order needs a customer: give customer.store_customer_id or set "
                "NetSuiteSettings.default_customer_id"
            )
        missing = [line.sku for line in order.lines if not line.item_id]
        ids: dict[str, str] = {}
        if missing:
            found = yield from self.search_items(ItemQuery(skus=tuple(missing), limit=max(5, len(missing))))
            ids = {item.sku: item.item_id for item in found}
            unknown = [sku for sku in missing if sku not in ids]
            if unknown:
                raise StoreError(
                    f"NetSuite has no active item {', '.join(unknown)}",
                    code="UNKNOWN_ITEM",
                    store=self.store_id,
                )
        items = []
        for line in order.lines:
            item: dict[str, Any] = {
                "item": {"internalId": line.item_id or ids[line.sku]},
                "quantity": _plain(line.quantity),
            }
            if line.unit_price is not None:
                item["rate"] = str(line.unit_price)
                item["price"] = {"internalId": "-1"}  # custom price level: the rate given is used as is
            if line.name:
                item["description"] = line.name
            items.append(item)
        record = self._sales_order(
            entity={"internalId": entity},
            otherRefNum=order.reference,
            email=order.customer.email or None,
            billingAddress=self._address(order.billing_address),
            shippingAddress=self._address(order.shipping_address),
            shipMethod={"internalId": order.shipping_method} if order.shipping_method.isdigit() else None,
            itemList={"item": items},
            externalId=order.reference,
        )
        body = yield from self._call("add", {"record": record})
        response = body.writeResponse
        if response.status.isSuccess is False and any(
            c.startswith("DUP") for c in status_codes(response.status)
        ):
            found_order = yield from self._record(
                {"externalId": order.reference, "type": "salesOrder"}, "get by externalId"
            )
            return order_from_record(found_order, self.store_id, self.settings.currency)
        raise_for_status(response.status, what="add sales order")
        order_id = str(field(response.baseRef, "internalId"))
        return (yield from self.get_order(order_id))
