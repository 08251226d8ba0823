"""The NetSuite driver (``netsuite``): sales orders, fulfilments and items over SuiteTalk SOAP.

See ``docs/drivers/netsuite.md`` for setup, the status mapping and what each post-back does in NetSuite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import httpx

from ...driver import (
    Address,
    BrokenAnswer,
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    ConfigurationError,
    Driver,
    Flow,
    FollowCursor,
    Item,
    ItemQuery,
    Limits,
    NewOrder,
    Order,
    OrderQuery,
    Page,
    PayloadError,
    RetryHint,
    Secret,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    StoreStatus,
    WriteResult,
    default_retry_hint,
    is_idempotent,
    setting,
    settings_from_env,
)
from ._auth import TokenCredentials, TokenPassportAuth, account_host, valid_account
from ._mapping import (
    ISO_TO_COUNTRY,
    ORDER_STATUSES,
    _utc,
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
    status_details,
)

__all__ = ["NetSuiteConfig", "NetSuiteDriver", "NetSuiteSettings", "wsdl_location"]

_ITEM_TYPES = ("_inventoryItem", "_nonInventoryItem", "_kit", "_assembly", "_service")
# What a get answers for a record that does not exist (by internalId or by externalId).
_NOT_FOUND = frozenset({"RCRD_DSNT_EXIST", "INVALID_KEY_OR_REF"})
# A range of internal ids aims at this share of a page, so a denser stretch still fits one answer.
_RANGE_FILL = 0.9
# Answers in a row that neither end a walk nor move its lower bound before it gives up (each narrows the next
# range; a range of one id always fits a page, so a sound walk never gets near this).
_MAX_STALLED = 64
# What NetSuite answers when an order has nothing left to fulfil (or cannot be fulfilled in its state).
_NOTHING_TO_FULFIL = frozenset({"INVALID_INITIALIZE_REF"})
# Statuses NetSuite derives from fulfilments and billing; no request can set them.
_DERIVED = frozenset(
    {"_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled", "_undefined"}
)
_APPROVE = frozenset({"_pendingFulfillment", "approved", "approve"})
_CANCEL = frozenset({"_cancelled", "_closed", "canceled", "cancelled", "closed"})
# Statuses an order reaches only after it was approved: an approval asked for again is already done.
_APPROVED = frozenset(
    {"_pendingFulfillment", "_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling", "_fullyBilled"}
)


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

    version: str = setting(PACKAGED_VERSION, env="NETSUITE_VERSION", help="SuiteTalk endpoint version.")
    endpoint: str | None = setting(
        None, env="NETSUITE_ENDPOINT", url=True, help="Override the SOAP URL (a test server)."
    )
    wsdl: str | None = setting(
        None,
        env="NETSUITE_WSDL",
        label="WSDL",
        help="Empty: the packaged compact WSDL; 'account': the full WSDL from the account's host; or a path or URL.",
    )
    wsdl_cache: Path | None = setting(
        None, env="NETSUITE_WSDL_CACHE", label="WSDL cache", help="zeep's SqliteCache file for remote WSDLs."
    )
    wsdl_load_timeout: float = setting(
        60.0, env="NETSUITE_WSDL_LOAD_TIMEOUT", validator=_positive, help="Seconds to load the WSDL."
    )
    page_size: int = setting(
        1000, env="NETSUITE_PAGE_SIZE", validator=_page_size, help="Largest search page (5 to 1000)."
    )
    concurrency: int = setting(
        1, env="NETSUITE_CONCURRENCY", validator=_positive, help="Requests in flight for this account."
    )
    connect_timeout: float = setting(10.0, env="NETSUITE_CONNECT_TIMEOUT", validator=_positive, help="Seconds.")
    read_timeout: float = setting(300.0, env="NETSUITE_READ_TIMEOUT", validator=_positive, help="Seconds.")
    max_attempts: int = setting(
        6, env="NETSUITE_MAX_ATTEMPTS", validator=_positive, help="Attempts per request when NetSuite is busy."
    )
    currency: str = setting(
        "USD", env="NETSUITE_CURRENCY", help="Currency of orders whose currency record has no ISO code."
    )
    currency_id: str | None = setting(
        None, env="NETSUITE_CURRENCY_ID", help="Pricing-matrix currency of an item's price."
    )
    price_level: str = setting("1", env="NETSUITE_PRICE_LEVEL", help="Pricing-matrix level of an item's price.")
    status_field: str | None = setting(
        None, env="NETSUITE_STATUS_FIELD", help="A custom body field (script id) that receives free-text statuses."
    )
    default_customer_id: str | None = setting(
        None, env="NETSUITE_DEFAULT_CUSTOMER_ID", help="Customer of phone orders that name none."
    )
    max_search_restarts: int = setting(
        3,
        env="NETSUITE_MAX_SEARCH_RESTARTS",
        help="How often an answer with fewer records than it counts is asked again.",
    )
    """How often an answer that carries fewer records than it counts (an "empty page") is asked again before
    the read fails with :class:`BrokenAnswer` (which the engine may ask again in turn)."""


def _account_id(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    valid_account(value)


@attrs.frozen
class NetSuiteConfig(NetSuiteSettings):
    """:class:`NetSuiteSettings` plus the token-based authentication credentials: ``NetSuiteDriver.settings_class``,
    read by ``NetSuiteDriver.from_settings`` and ``from_env``. Secrets are :class:`Secret` values."""

    account: str = setting(
        env="NETSUITE_ACCOUNT", validator=_account_id, kw_only=True, help="Account id, e.g. 1234567 or 1234567_SB1."
    )
    consumer_key: Secret = setting(
        env="NETSUITE_CONSUMER_KEY", secret=True, kw_only=True, help="The integration record's consumer key."
    )
    consumer_secret: Secret = setting(
        env="NETSUITE_CONSUMER_SECRET", secret=True, kw_only=True, help="The integration record's consumer secret."
    )
    token_id: Secret = setting(
        env="NETSUITE_TOKEN_ID", secret=True, kw_only=True, help="The access token's id (user and role)."
    )
    token_secret: Secret = setting(
        env="NETSUITE_TOKEN_SECRET", secret=True, kw_only=True, help="The access token's secret."
    )

    def credentials(self) -> TokenCredentials:
        """The credentials (the one place the secrets are revealed)."""
        return TokenCredentials(
            self.account,
            self.consumer_key.reveal(),
            self.consumer_secret.reveal(),
            self.token_id.reveal(),
            self.token_secret.reveal(),
        )

    def tuning(self) -> NetSuiteSettings:
        """The settings without the credentials."""
        return NetSuiteSettings(**{f.name: getattr(self, f.name) for f in attrs.fields(NetSuiteSettings)})


@attrs.define
class _Walk:
    """A search read as ranges of internal ids, each one proven whole by a single answer.

    SuiteTalk has no snapshot: ``searchMoreWithId`` runs the search again for every page, so a row that leaves
    the result (or moves in an order Oracle does not document) shifts the rows behind it onto a page already
    read. A range ``lo <= internalIdNumber <= hi`` whose count fits one page comes back whole in one answer, and
    an internal id never changes, so a row can neither move into a range already read nor out of the one being
    read: nothing that matches all along can be skipped, whatever the order and whatever changes in between.
    No search id is kept, so none can expire. Ranges are sized from the density of ids measured so far;
    a range that turns out too full is narrowed (its rows still count), one that comes back empty is followed by
    an open one (``>= lo``) that says how many are left."""

    search_type: str
    criteria: dict[str, Any]
    page_size: int
    lo: int | None = None
    """Every match with a smaller internal id has been read (``None``: none yet)."""
    floor: int | None = None
    """Where matches are thought to start while ``lo`` is still open (the smallest id seen, or lower): only
    the size of the next range depends on it."""
    remaining: int | None = None
    """How many matches the last open answer counted from ``lo`` on, less those read since."""
    density: float | None = None
    """Matches per internal id, as last measured."""
    total: int | None = None
    """The first answer's count."""
    hint: int | None = None
    """Where the next range ends, taken from the ids of an open answer."""
    grow: int | None = None
    """The width of the next range in a bracket after an empty one (four times as wide)."""
    bracket: tuple[int, int] | None = None
    """A range from ``lo`` to this end that last counted this many, more than a page: the next ranges bisect it
    (each at most half of what is left of it), so a dense stretch is read in a few answers."""
    done: bool = False
    calls: int = 0
    stalled: int = 0
    seen: set[str] = attrs.field(factory=set)


@attrs.define
class _Listing:
    """One order download: its walk, and the number filter applied to the orders."""

    walk: _Walk
    starting_number: str | None
    first: bool = True


def _int_id(record: Any) -> int | None:
    try:
        return int(str(field(record, "internalId", "")))
    except ValueError:
        return None


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


def _memo_with(order: Order, comment: str | None) -> str | None:
    """The sales order ``memo`` to write so that the order carries ``comment`` as one of its lines, or ``None``
    when there is no comment or the memo already has it (an earlier attempt wrote it: not written twice)."""
    if not comment:
        return None
    memo = str(order.raw.get("memo") or "")
    if comment in memo.splitlines():
        return None
    return f"{memo}\n{comment}" if memo else comment


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
    settings_class: ClassVar[type[Any] | None] = NetSuiteConfig

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
    def from_config(cls, settings: NetSuiteConfig, tuning: NetSuiteSettings | None = None) -> NetSuiteDriver:
        """Build the driver from :class:`NetSuiteConfig` (credentials and settings); ``tuning``, when given,
        replaces the settings part."""
        try:
            credentials = settings.credentials()
        except ValueError as exc:  # the message names the field or the account id, never a secret
            raise ConfigurationError(str(exc)) from None
        return cls(credentials, tuning or settings.tuning())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, settings: NetSuiteSettings | None = None) -> NetSuiteDriver:
        """Credentials from ``NETSUITE_ACCOUNT``, ``NETSUITE_CONSUMER_KEY``, ``NETSUITE_CONSUMER_SECRET``,
        ``NETSUITE_TOKEN_ID`` and ``NETSUITE_TOKEN_SECRET`` (in ``env``, else ``os.environ``), and the settings
        from the optional ``NETSUITE_*`` variables of :class:`NetSuiteSettings` (``NETSUITE_PAGE_SIZE``, ...),
        unless ``settings`` is given. Every missing or bad variable is named at once."""
        return cls.from_config(settings_from_env(NetSuiteConfig, env), settings)

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
        # Every idempotent call is a read: an answer that cannot be read is a BrokenAnswer, asked again.
        return self._soap.reply(operation, response, read=idempotent)

    def _search(self, record: Any, page_size: int | None = None) -> Flow[Any]:
        body = yield from self._call(
            "search", {"searchRecord": record}, search=True, page_size=page_size, idempotent=True
        )
        result = body.searchResult
        raise_for_status(result.status, what="search")
        warnings = [d for d in status_details(result.status) if getattr(d, "type", None) == "WARN"]
        if warnings and not int(result.totalRecords or 0):
            # NetSuite answers a criterion it does not understand (an enumeration value it does not know) with
            # no rows and a warning: that is not "no orders", it is a search that did not run as asked.
            text = "; ".join(str(getattr(w, "message", "") or getattr(w, "code", "")) for w in warnings)
            raise StoreError(
                f"NetSuite search: {text}",
                code=str(getattr(warnings[0], "code", "") or "WARNING"),
                store=self.store_id,
            )
        return result

    @staticmethod
    def _target(walk: _Walk) -> int:
        """How many matches a range aims at: two fewer than the share of a page (a range is asked for with one
        more id on each side)."""
        return max(1, int(walk.page_size * _RANGE_FILL) - 2)

    def _range_end(self, walk: _Walk) -> int | None:
        """The last internal id of the next range (``None``: open, from ``lo`` on)."""
        target = self._target(walk)
        start = walk.lo if walk.lo is not None else walk.floor
        if start is None:
            return None
        if walk.hint is not None:
            return max(walk.hint, start)
        if walk.bracket is not None:
            # A range from here that held too many: the part it holds, or at most half of it.
            end, count = walk.bracket
            if count <= target:  # what is left of it fits: read it, and as far beyond as the density allows
                more = int((target - count) / walk.density) if walk.density else 0
                return end + max(0, more)
            span = end - start + 1
            width = max(int(span * target / count), walk.grow or 0)
            return start + max(1, min(width, span // 2)) - 1
        # An open range has no extra id at its edges: it may come closer to a whole page.
        if walk.remaining is None or walk.density is None or walk.remaining <= walk.page_size * _RANGE_FILL:
            return None
        return start + max(1, int(target / walk.density)) - 1

    def _range_record(self, walk: _Walk, hi: int | None) -> Any:
        criteria = dict(walk.criteria)
        lo = walk.lo
        if lo is not None and hi is not None:
            # Oracle does not say whether "between" includes its ends: asking for one more id on each side
            # covers [lo, hi] under either reading (an id read twice is returned once).
            criteria["internalIdNumber"] = {"operator": "between", "searchValue": lo - 1, "searchValue2": hi + 1}
        elif lo is not None:
            criteria["internalIdNumber"] = {"operator": "greaterThanOrEqualTo", "searchValue": lo}
        elif hi is not None:
            criteria["internalIdNumber"] = {"operator": "lessThanOrEqualTo", "searchValue": hi}
        return self._soap.type("common", walk.search_type)(**criteria)

    def _walk_step(self, walk: _Walk) -> Flow[list[Any]]:
        """One answer of ``walk``: the records it had not returned yet. Raises :class:`BrokenAnswer` when NetSuite
        keeps answering fewer records than it counts (an "empty page"), after ``max_search_restarts`` retries.
        The walk's state changes only once an answer has been read, so a step may be run again."""
        hi = self._range_end(walk)
        record = self._range_record(walk, hi)
        attempts = self.settings.max_search_restarts + 1
        for _attempt in range(attempts):
            result = yield from self._search(record, walk.page_size)
            total = int(result.totalRecords or 0)
            records = list(field(result.recordList, "record", []) or [])
            # The page size NetSuite applied (it may be smaller than the one asked for).
            size = min(walk.page_size, int(result.pageSize or walk.page_size)) or walk.page_size
            if len(records) == min(total, size):
                break
            # NetSuite counted more than it sent: this answer proves nothing about the range. Ask again.
        else:
            raise BrokenAnswer(
                f"NetSuite search answered {len(records)} records where it counted {total}, {attempts} times",
                code="SHORT_PAGE",
                store=self.store_id,
            )
        walk.calls += 1
        walk.page_size = size
        lo_before = walk.lo
        if walk.total is None:
            walk.total = total
        ids = sorted(n for n in (_int_id(r) for r in records) if n is not None)
        if walk.lo is None and ids:
            walk.floor = ids[0] if walk.floor is None else min(walk.floor, ids[0])
        start = walk.lo if walk.lo is not None else walk.floor
        walk.hint = None
        if total <= walk.page_size:  # the whole range is in this one answer
            if hi is None:
                walk.done = True
            else:
                inside = sum(1 for n in ids if n <= hi and (walk.lo is None or n >= walk.lo))
                width = hi - start + 1 if start is not None and hi >= start else 1
                walk.density = max(inside, 1) / width
                walk.lo = hi + 1
                walk.remaining = max(0, (walk.remaining or 0) - inside)
                if walk.bracket is not None:
                    end, count = walk.bracket
                    walk.bracket = (end, count - inside) if end >= walk.lo and count > inside else None
                    # Nothing in it: the matches of the bracket lie further on, so the next range is wider.
                    walk.grow = 4 * width if inside == 0 else None
                elif inside == 0:
                    # An empty range: the next one is open, and its count says how many are really left.
                    walk.remaining = 0
        elif hi is None:  # an open range holding more than a page: count what is left
            walk.remaining = total
            walk.bracket = None
            walk.grow = None
            if ids:
                # End the next range at one of the ids just read: if NetSuite listed the lowest ids first, that
                # range holds all but two of them (room for its two edge ids) and fits; in any other order it
                # holds too many, and its count then starts a bisection.
                walk.hint = ids[min(len(ids), max(1, walk.page_size - 2)) - 1]
        else:  # a range too full: the next one is part of it
            walk.bracket = (hi, total)
            walk.grow = None
            if walk.lo is None and ids:
                # "Everything up to hi" is too full: matches lie below the smallest id seen. Guess where they
                # start from this answer's ids (only a size for the next range, never a claim; ids are positive).
                local = len(ids) / max(1, hi - ids[0] + 1)
                origin = max(0, hi - int(total / local) + 1)
                walk.floor = origin if walk.floor is None else min(walk.floor, origin)
        # Every answer either moves lo on, ends the walk, or narrows the next range (it cannot narrow forever); a
        # long run of answers that do none of the first two means something is wrong: give up rather than spin.
        walk.stalled = 0 if walk.done or walk.lo != lo_before else walk.stalled + 1
        if walk.stalled > _MAX_STALLED:
            raise StoreError(
                f"NetSuite search: {walk.stalled} answers in a row without progress; giving up",
                code="SEARCH_STALLED",
                store=self.store_id,
            )
        fresh = []
        for record_ in records:
            internal_id = str(field(record_, "internalId", "") or "")
            if internal_id and internal_id in walk.seen:
                continue
            if internal_id:
                walk.seen.add(internal_id)
            fresh.append(record_)
        return fresh

    def _search_all(self, search_type: str, criteria: dict[str, Any], page_size: int = 50) -> Flow[list[Any]]:
        """Every record of a search (the fulfilments of one order), read as a walk."""
        walk = _Walk(search_type, criteria, page_size)
        records: list[Any] = []
        while not walk.done:
            records += yield from self._walk_step(walk)
        return records

    def _record(self, ref: dict[str, Any], what: str, order_id: str | None = None) -> Flow[Any]:
        body = yield from self._call("get", {"baseRef": self._soap.type("core", "RecordRef")(**ref)}, idempotent=True)
        response = body.readResponse
        raise_for_status(response.status, order_id=order_id, what=what)
        return response.record

    def _find_record(self, ref: dict[str, Any], what: str) -> Flow[Any | None]:
        """The record ``ref`` names, or ``None`` when NetSuite has none."""
        body = yield from self._call("get", {"baseRef": self._soap.type("core", "RecordRef")(**ref)}, idempotent=True)
        response = body.readResponse
        if response.status.isSuccess is False and status_codes(response.status) & _NOT_FOUND:
            return None
        raise_for_status(response.status, what=what)
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

    def _order_criteria(self, query: OrderQuery) -> dict[str, Any]:
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
            # dateCreated is the record's createdDate, which Order.created_at comes from (tranDate is the order
            # date a user may set to any day).
            ("dateCreated", query.created_from, query.created_to),
        ):
            if start and end:
                criteria[name] = {"operator": "within", "searchValue": start, "searchValue2": end}
            elif start:
                criteria[name] = {"operator": "onOrAfter", "searchValue": start}
            elif end:
                criteria[name] = {"operator": "onOrBefore", "searchValue": end}
        return criteria

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        # The query's page size, up to the configured ceiling; NetSuite takes 5 to 1000.
        page_size = min(self.settings.page_size, max(5, query.page_size or self.settings.page_size))
        walk = _Walk("TransactionSearchBasic", self._order_criteria(query), page_size)
        return (yield from self._order_page(_Listing(walk, query.starting_number)))

    def _order_page(self, listing: _Listing) -> Flow[Page]:
        walk = listing.walk
        records = yield from self._walk_step(walk)
        orders: list[Order | PayloadError] = []
        for record in records:
            internal_id = str(field(record, "internalId", ""))
            try:
                order = order_from_record(record, self.store_id, self.settings.currency)
            except Exception as exc:  # one bad record must not cost the page
                orders.append(PayloadError(self.store_id, internal_id or None, "record", str(exc), raw=_raw(record)))
                continue
            if listing.starting_number and not _from_number(order.number, listing.starting_number):
                continue
            orders.append(order)
        # The count of the first answer; later answers count ranges, not the listing.
        total = walk.total if listing.first else None
        listing.first = False
        following = None if walk.done else FollowCursor(fetch=self._cursor(listing))
        return Page(orders=tuple(orders), next=following, total=total)

    def _cursor(self, listing: _Listing) -> Callable[[], Flow[Page]]:
        return lambda: self._order_page(listing)

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
        criteria = {
            "createdFrom": {"operator": "anyOf", "searchValue": [ref]},
            "type": {"operator": "anyOf", "searchValue": ["_itemFulfillment"]},
        }
        return (yield from self._search_all("TransactionSearchBasic", criteria))

    @staticmethod
    def _earlier_attempt(fulfilment: Any, request: ShipmentRequest, key: str) -> bool:
        """Whether ``fulfilment`` is this request's own, made by an attempt whose answer was lost: it has the
        request's externalId, or shares a tracking number, or (a shipment without tracking) it ships exactly the
        requested lines and quantities, with no tracking number, made since the request was first tried."""
        if field(fulfilment, "externalId") == key:
            return True
        wanted = {t.number for t in request.tracking}
        packages = field(field(fulfilment, "packageList"), "package", []) or []
        numbers = {str(field(p, "packageTrackingNumber", "")) for p in packages} - {""}
        if wanted & numbers:
            return True
        if wanted or numbers or not request.lines:
            return False
        items = field(field(fulfilment, "itemList"), "item", []) or []
        shipped = {
            (str(field(item, "orderLine", "")), _plain(to_decimal(field(item, "quantity")) or Decimal("0")))
            for item in items
            if field(item, "itemReceive", True) is not False
        }
        if shipped != {(str(line), _plain(qty)) for line, qty in request.lines}:
            return False
        created = _utc(field(fulfilment, "createdDate"))
        return request.since is None or (created is not None and created >= request.since)

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Fulfil the order: ``initialize`` an ItemFulfillment from it, set lines and packages, ``add`` it.

        The order's fulfilments are read first, and one an earlier attempt made (same externalId, a shared
        tracking number, or, without tracking, the same lines and quantities since ``request.since``) is returned
        as ``already_shipped``, so a retried request never fulfils twice. ``notify`` and ``status`` are
        NetSuite's business: it emails per its own preferences and moves the order status itself.
        """
        key = self.fulfilment_key(request)
        existing = yield from self._fulfilments(request.order_id)
        for fulfilment in existing:
            if self._earlier_attempt(fulfilment, request, key):
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
        open_lines = [ln for ln in lines if (field(ln, "quantityRemaining") or field(ln, "quantity") or 0) > 0]
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

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Approve (``_pendingFulfillment`` from ``_pendingApproval``), cancel/close (see :meth:`cancel`), or
        write any other text into the custom body field ``settings.status_field``; NetSuite has no free
        status. The order is read first: when it already shows the change, nothing is written and the result
        says ``already_done``."""
        status = change.status
        if status in _CANCEL:
            return (
                yield from self.cancel(
                    CancelRequest(change.order_id, status, change.comment, change.notify, change.since)
                )
            )
        if status in _DERIVED:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite sets {status} itself from fulfilments and billing",
            )
        if status in _APPROVE:
            order = yield from self.get_order(change.order_id)
            memo = _memo_with(order, change.comment)
            if order.status in _APPROVED:
                found = f"the order is already approved ({order.status})"
                if memo is None:
                    return WriteResult(already_done=True, found=found)
                record = self._sales_order(internalId=change.order_id, memo=memo)
                yield from self._write("update", record, change.order_id, "add comment")
                return WriteResult(found=found)
            if order.status != "_pendingApproval":
                raise StatusNotAllowed(
                    f"NetSuite approves only orders pending approval; this one is {order.status}",
                    code="NOT_PENDING_APPROVAL",
                    store=self.store_id,
                    order_id=change.order_id,
                )
            record = self._sales_order(internalId=change.order_id, orderStatus="_pendingFulfillment", memo=memo)
            yield from self._write("update", record, change.order_id, "approve order")
            return WriteResult(found="the order was pending approval")
        field_id = self.settings.status_field
        if not field_id:
            raise CapabilityNotSupported(
                self.name,
                Capability.SET_STATUS.value,
                f"NetSuite has no free-text status like {status!r}; set NetSuiteSettings.status_field to a "
                "custom body field to record it there",
            )
        order = yield from self.get_order(change.order_id)
        current = (order.raw.get("customFields") or {}).get(field_id)
        memo = _memo_with(order, change.comment)
        if current == status and memo is None:
            return WriteResult(already_done=True, found=f"{field_id} already reads {status!r}")
        custom = self._soap.type("core", "StringCustomFieldRef")(scriptId=field_id, value=status)
        record = self._sales_order(internalId=change.order_id, customFieldList={"customField": [custom]}, memo=memo)
        yield from self._write("update", record, change.order_id, "set status field")
        return WriteResult(found=f"{field_id} read {current!r}")

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Pending approval: set ``_cancelled``. Otherwise close every open line (``isClosed``); NetSuite then
        shows the order as closed. Orders fully fulfilled cannot be cancelled (:class:`StatusNotAllowed`). The
        order is read first: one already cancelled or closed, or without an open line, is ``already_done``."""
        order = yield from self.get_order(request.order_id)
        memo = _memo_with(order, request.comment)
        raw_items = field(field(order.raw, "itemList"), "item", []) or []
        open_lines = [item.get("line") for item in raw_items if not item.get("isClosed") and item.get("line")]
        if order.status in ("_cancelled", "_closed") or (not open_lines and order.status != "_pendingApproval"):
            found = (
                f"the order is already {order.status}"
                if order.status in ("_cancelled", "_closed")
                else "every line of the order is closed"
            )
            if memo is None:
                return WriteResult(already_done=True, found=found)
            record = self._sales_order(internalId=request.order_id, memo=memo)
            yield from self._write("update", record, request.order_id, "add comment")
            return WriteResult(found=found)
        if order.status == "_pendingApproval":
            record = self._sales_order(internalId=request.order_id, orderStatus="_cancelled", memo=memo)
            yield from self._write("update", record, request.order_id, "cancel order")
            return WriteResult(found="the order was pending approval")
        if order.status in ("_pendingBilling", "_fullyBilled"):
            raise StatusNotAllowed(
                f"NetSuite: the order is fully fulfilled ({order.status}) and cannot be closed",
                code="ALREADY_FULFILLED",
                store=self.store_id,
                order_id=request.order_id,
            )
        record = self._sales_order(
            internalId=request.order_id,
            memo=memo,
            itemList={
                "replaceAll": False,
                "item": [{"line": int(line), "isClosed": True} for line in open_lines],
            },
        )
        yield from self._write("update", record, request.order_id, "close order lines")
        return WriteResult(found=f"open lines {', '.join(str(line) for line in open_lines)}")

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
            searches = [search_type(**base, itemId={"operator": "is", "searchValue": sku}) for sku in query.skus]
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

    @staticmethod
    def order_key(reference: str) -> str:
        """The externalId of the sales order made for a phone order: derived from its reference alone, so every
        attempt to create it names the same record, and prefixed so it cannot meet another integration's ids."""
        return "ecc-order-" + hashlib.sha256(reference.encode()).hexdigest()[:32]

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """The externalId the order will get (:meth:`order_key`): fixed before it is placed, no I/O."""
        return self.order_key(order.reference)
        yield  # pragma: no cover - a flow that sends nothing

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``add`` a SalesOrder for a phone order, then ``get`` it. The customer is the order's
        ``store_customer_id`` (a NetSuite customer internalId) or ``settings.default_customer_id``.

        The order's externalId is :meth:`order_key` of its reference (or the ``reservation``, which is that key).
        A sales order with that externalId is looked up first and returned when found, so a create retried after
        an answer that was lost never makes a second order; NetSuite refuses a duplicate externalId
        (``DUP_RCRD``) as well, and that order is then returned too."""
        key = reservation or self.order_key(order.reference)
        entity = order.customer.store_customer_id or self.settings.default_customer_id
        if not entity:
            raise ConfigurationError(
                "a NetSuite sales order needs a customer: give customer.store_customer_id or set "
                "NetSuiteSettings.default_customer_id"
            )
        ref = {"externalId": key, "type": "salesOrder"}
        placed = yield from self._find_record(ref, "get by externalId")
        if placed is not None:
            return order_from_record(placed, self.store_id, self.settings.currency)
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
            externalId=key,
        )
        body = yield from self._call("add", {"record": record})
        response = body.writeResponse
        if response.status.isSuccess is False and "DUP_RCRD" in status_codes(response.status):
            # Placed meanwhile (another attempt's answer was lost after the look-up): that order is this one.
            found_order = yield from self._record(ref, "get by externalId")
            return order_from_record(found_order, self.store_id, self.settings.currency)
        raise_for_status(response.status, what="add sales order")
        order_id = str(field(response.baseRef, "internalId"))
        return (yield from self.get_order(order_id))
