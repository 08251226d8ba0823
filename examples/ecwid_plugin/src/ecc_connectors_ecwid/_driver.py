"""The Ecwid driver: Ecwid's REST API v3 as sans-I/O flows.

Written against the public plugin kit only (``ecc_connectors.driver`` and ``ecc_connectors``). The API facts it
relies on, with their sources, are listed in this package's README.md.

* **Statuses** have two axes, payment and fulfilment, so an order's status is ``"PAYMENT|FULFILMENT"``
  (``"PAID|AWAITING_PROCESSING"``) and a status row may write ``*`` for an axis (``"PAID|*"``).
* **Listing** is by numbered pages (``offset``/``limit``, 100 at most) filtered on ``updatedFrom``/``updatedTo``.
  Ecwid documents no sort for its order search, so an order edited while the pages are read can shift the
  offsets and a row can slide onto a page already read. The engine therefore checks every such download
  against :meth:`EcwidDriver.list_keys` before it moves its mark, and reads what is missing by id.
* **The key listing** asks only for ``internalId`` and ``updateTimestamp`` and never pages by offset: it reads
  the window in slices of update time small enough to come back whole in one answer, so a row cannot slide.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
import httpx

from ecc_connectors import StoreDefaults
from ecc_connectors.driver import (
    Address,
    AuthenticationError,
    BrokenAnswer,
    CancelRequest,
    Capability,
    ConfigurationError,
    ConnectorError,
    Customer,
    Driver,
    Flow,
    JsonRest,
    KeyPage,
    Limits,
    Note,
    Order,
    OrderKey,
    OrderLine,
    OrderQuery,
    Page,
    PayloadError,
    Payment,
    Secret,
    Seek,
    Shipment,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    StoreError,
    StoreStatus,
    Totals,
    WriteResult,
    mark_idempotent,
    pages_from_total,
    setting,
)

__all__ = ["FULFILLMENT_STATUSES", "PAYMENT_STATUSES", "BearerToken", "EcwidDriver", "EcwidSettings"]

_E = TypeVar("_E", bound="EcwidDriver")

DEFAULT_BASE_URL = "https://app.ecwid.com/api/v3"
PAGE_LIMIT = 100
"""Ecwid answers at most 100 orders a request (``limit``: "Maximum allowed value: 100")."""

PAYMENT_STATUSES = (
    "AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED", "INCOMPLETE",
    "CUSTOM_PAYMENT_STATUS_1", "CUSTOM_PAYMENT_STATUS_2", "CUSTOM_PAYMENT_STATUS_3",
)
FULFILLMENT_STATUSES = (
    "AWAITING_PROCESSING", "PROCESSING", "SHIPPED", "DELIVERED", "WILL_NOT_DELIVER", "RETURNED",
    "READY_FOR_PICKUP", "OUT_FOR_DELIVERY",
    "CUSTOM_FULFILLMENT_STATUS_1", "CUSTOM_FULFILLMENT_STATUS_2", "CUSTOM_FULFILLMENT_STATUS_3",
)
_ON_ITS_WAY = frozenset({"SHIPPED", "OUT_FOR_DELIVERY", "DELIVERED"})
_MONEY_IN = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})

_KEY_FIELDS = "total,count,items(internalId,updateTimestamp)"
_KEY_TARGET = 80
"""Rows a key slice aims at: below the 100 an answer holds, so a slice seldom has to be cut again."""


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request; the token never appears in a repr."""

    def __init__(self, token: str | Secret) -> None:
        self._token = Secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"


def _store_id(_inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.isdigit():
        raise ValueError("an Ecwid store id is a number (Settings > General > Store Profile)")


# region: settings
@attrs.frozen
class EcwidSettings:
    """How to reach one Ecwid store: its id, an access token, and optionally another API address and the
    store's currency. Loaded by ``EcwidDriver.from_settings`` (a form, a config file) or ``from_env``."""

    store_id: str = setting(
        env="ECWID_STORE_ID", validator=_store_id, label="Store ID",
        help="The store's number (Settings > General > Store Profile, or the URL of the admin).",
    )
    token: Secret = setting(
        env="ECWID_TOKEN", secret=True, one_word=True, label="Access token",
        help="The app's secret access token (secret_...), with the read_orders, update_orders and"
        " read_store_profile scopes.",
    )
    base_url: str = setting(
        DEFAULT_BASE_URL, env="ECWID_BASE_URL", url=True, label="API base URL",
        help="Ecwid's REST API address; change it only to point at a test server.",
    )
    currency: str = setting(
        "USD", env="ECWID_CURRENCY", help="The store's currency (ISO 4217 code): Ecwid orders do not carry it.",
    )
# endregion


# region: class
class EcwidDriver(JsonRest, Driver):
    """One Ecwid store, by its numeric store id and an access token (``secret_...``)."""

    name = "ecwid"
    capabilities = frozenset({
        Capability.LIST_STATUSES,
        Capability.LIST_ORDERS,
        Capability.LIST_KEYS,
        Capability.GET_ORDER,
        Capability.SHIP,
        Capability.SET_STATUS,
        Capability.CANCEL,
    })
    sorts_by_updated = False  # Ecwid documents no sort for its order search
    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {
        401: AuthenticationError,
        403: AuthenticationError,  # INVALID_API_TOKEN, INSUFFICIENT_APP_SCOPE
    }
    message_keys: ClassVar[tuple[str, ...]] = ("errorMessage", "message")
    settings_class: ClassVar[type[Any] | None] = EcwidSettings

    def __init__(
        self, store_id: str | int, token: str | Secret, *, base_url: str = DEFAULT_BASE_URL, currency: str = "USD",
        page_size: int = PAGE_LIMIT,
    ) -> None:
        if not str(store_id).strip().isdigit():
            raise ConfigurationError(f"an Ecwid store id is a number, got {store_id!r}")
        if not (token.reveal() if isinstance(token, Secret) else token):
            raise ConfigurationError("an Ecwid access token is required")
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        self.ecwid_store = str(store_id).strip()
        self.base_url = f"{base_url.rstrip('/')}/{self.ecwid_store}"
        self.store_id = f"ecwid:{self.ecwid_store}"
        self.currency = currency
        self.page_size = min(page_size, PAGE_LIMIT)
        self._auth = BearerToken(token)  # the only place the token is kept

    @classmethod
    def from_config(cls: type[_E], settings: EcwidSettings) -> _E:
        """Build the driver from :class:`EcwidSettings`; ``from_settings`` and ``from_env`` (``ECWID_STORE_ID``,
        ``ECWID_TOKEN``, optionally ``ECWID_BASE_URL`` and ``ECWID_CURRENCY``) come with it."""
        return cls(settings.store_id, settings.token, base_url=settings.base_url, currency=settings.currency)

    def __repr__(self) -> str:
        return f"EcwidDriver(store_id={self.ecwid_store!r}, base_url={self.base_url!r})"

    def auth(self) -> httpx.Auth:
        return self._auth

    def limits(self) -> Limits:
        return Limits(concurrency=4, rate=10.0)  # 600 requests a minute per token

    def store_defaults(self) -> StoreDefaults:
        return StoreDefaults(
            post_back_status="SHIPPED", cancellation_status="CANCELLED", acknowledgement_status="PROCESSING"
        )
# endregion

    # Reading answers.

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """Ecwid's error body is ``{"errorMessage": ..., "errorCode": ...}``."""
        message, code = super().error_message(response)
        try:
            body = self.decode(response)
        except BrokenAnswer:
            return message, code
        if isinstance(body, Mapping) and isinstance(body.get("errorCode"), str):
            code = body["errorCode"]
        return message, code

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _envelope(self, response: httpx.Response) -> tuple[list[Any], int]:
        """``items`` and ``total`` of a search answer; an answer without them is broken, not empty."""
        self.check(response)
        body = self.decode(response)
        items = body.get("items") if isinstance(body, Mapping) else None
        total = body.get("total") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not isinstance(total, int) or isinstance(total, bool):
            raise BrokenAnswer(
                "the order search answered without its items and total", http_status=response.status_code,
                store=self.store_id,
            )
        return items, total

    # region: listing
    def first_page(self, query: OrderQuery) -> Flow[Page]:
        page = yield from self._orders_page(query, 1)
        return page

    def _orders_page(self, query: OrderQuery, number: int) -> Flow[Page]:
        size = max(1, min(query.page_size, self.page_size))
        params = _filters(query) | {"offset": str((number - 1) * size), "limit": str(size)}
        response = yield httpx.Request("GET", self._url("/orders"), params=params)
        items, total = self._envelope(response)
        orders = tuple(self.parse(item) for item in items)
        following = None
        if number == 1:
            following = pages_from_total(total, size, lambda n: self._orders_page(query, n), shown=len(items))
        return Page(orders, following, total=total)
    # endregion

    # region: keys
    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        """The keys after ``seek.after`` (at least ``size`` of them unless the window ends first), sorted.

        Each request asks for one slice of update time, ``[start, end]`` in whole seconds, and is used only if
        it holds the whole slice (``total`` no more than the rows it returned): one answer is one consistent
        look at its slice, so no row can slide between two pages of it. A slice too full is halved and asked
        again; the next slice is sized from what this one held."""
        low = seek.after.updated_at if seek.after is not None else query.updated_from
        high = seek.through.updated_at if seek.through is not None else query.updated_to
        start = 0 if low is None else (math.floor(low.timestamp()) if seek.after else _ceil(low))
        if high is None:
            raise ConfigurationError("the Ecwid key listing needs an upper bound (OrderQuery.updated_to)")
        stop = math.floor(high.timestamp())
        found: list[OrderKey] = []
        span = stop - start + 1
        while start <= stop and len(found) < size:
            end = min(stop, start + span - 1)
            # One second of slack on each side: Ecwid does not say whether its bounds are inclusive.
            params = _filters(query) | {
                "updatedFrom": str(start - 1), "updatedTo": str(end + 1),
                "offset": "0", "limit": str(PAGE_LIMIT), "responseFields": _KEY_FIELDS,
            }
            response = yield httpx.Request("GET", self._url("/orders"), params=params)
            items, total = self._envelope(response)
            if total > len(items):
                if end > start:  # too full: cut it to the share an answer holds, at least in half
                    width = end - start + 1
                    span = max(1, min(width // 2, width * _KEY_TARGET // total))
                    continue
                keys = yield from self._crowded_second(query, start)  # over 100 orders in one second
                found += keys
            else:
                found += [key for key in map(self._key, items) if start <= key.updated_at.timestamp() <= end]
                span = max(1, (end - start + 1) * _KEY_TARGET // max(total, 1))
            start = end + 1
        keys = sorted(key for key in set(found) if seek.after is None or key > seek.after)
        finished = start > stop
        return KeyPage(tuple(keys), total=len(keys) if finished else None)

    def _crowded_second(self, query: OrderQuery, second: int) -> Flow[list[OrderKey]]:
        """Every key stamped in one second that holds more orders than an answer can, read by offset. An order
        edited meanwhile leaves the second (it is stamped later) and could shift a row past the offsets, but
        then the ``total`` changes too (nothing new is ever stamped in a past second): read again until one
        pass sees the same total on every page and as many keys as it says."""
        for _attempt in range(5):
            keys: set[OrderKey] = set()
            totals: set[int] = set()
            offset = 0
            while True:
                params = _filters(query) | {
                    "updatedFrom": str(second), "updatedTo": str(second),
                    "offset": str(offset), "limit": str(PAGE_LIMIT), "responseFields": _KEY_FIELDS,
                }
                response = yield httpx.Request("GET", self._url("/orders"), params=params)
                items, total = self._envelope(response)
                totals.add(total)
                keys.update(key for key in map(self._key, items) if key.updated_at.timestamp() == second)
                offset += len(items)
                if not items or offset >= total:
                    break
            if len(totals) == 1 and len(keys) >= totals.pop():
                return sorted(keys)
        raise BrokenAnswer(f"the orders stamped at {second} kept moving while they were listed", store=self.store_id)

    def _key(self, item: Any) -> OrderKey:
        try:
            return OrderKey(_stamp(item, "updateTimestamp", "updateDate"), int(item["internalId"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BrokenAnswer(f"a key row without internalId/updateTimestamp: {exc}", store=self.store_id) from None
    # endregion

    # Orders.

    def get_order(self, order_id: str) -> Flow[Order]:
        item = yield from self._fetch(order_id)
        order = self.parse(item)
        if isinstance(order, PayloadError):
            raise order
        return order

    def _fetch(self, order_id: str) -> Flow[dict[str, Any]]:
        """The order's JSON, found by its internal id through the search's ``ids`` filter (which, unlike the
        ``/orders/{orderId}`` path, is documented to take internal ids)."""
        response = yield httpx.Request("GET", self._url("/orders"), params={"ids": order_id, "limit": "1"})
        items, _total = self._envelope(response)
        for item in items:
            if isinstance(item, dict) and str(item.get("internalId")) == order_id:
                return item
        raise StoreError(
            f"order {order_id} was not found", code="ORDER_NOT_FOUND", http_status=404, store=self.store_id,
            order_id=order_id,
        )

    # region: statuses
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """Every combination of the store's enabled payment and fulfilment statuses."""
        response = yield httpx.Request("GET", self._url("/profile/order_statuses"))
        payment: list[tuple[str, str]] = []
        fulfilment: list[tuple[str, str]] = []
        if response.status_code == 403:  # no read_store_profile scope: the built-in statuses
            payment = [(code, _label(code)) for code in PAYMENT_STATUSES if not code.startswith("CUSTOM")]
            fulfilment = [(code, _label(code)) for code in FULFILLMENT_STATUSES if not code.startswith("CUSTOM")]
        else:
            self.check(response)
            body = self.decode(response)
            rows = body.get("items") if isinstance(body, Mapping) else None
            if not isinstance(rows, list):
                raise BrokenAnswer("the order statuses answered without items", store=self.store_id)
            for row in rows:
                if not isinstance(row, Mapping) or row.get("enabled") is False:
                    continue
                code = str(row.get("statusId", ""))
                label = str(row.get("name") or _label(code))
                axis = payment if row.get("orderStatusType") == "PAYMENT_STATUS" else fulfilment
                axis.append((code, label))
        return tuple(
            StoreStatus(f"{p}|{f}", f"{p_label} / {f_label}") for p, p_label in payment for f, f_label in fulfilment
        )
    # endregion

    # region: ship
    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Set the fulfilment status (``SHIPPED`` unless the policy says otherwise) and the tracking number,
        unless the order already shows them: a retry after a lost answer ships nothing twice."""
        target = self._target(request.status or "SHIPPED", request.order_id)
        tracking = ", ".join(t.number for t in request.tracking)
        current = yield from self._fetch(request.order_id)
        change: dict[str, str] = {k: v for k, v in target.items() if current.get(k) != v}
        if tracking and (current.get("trackingNumber") or "") != tracking:
            change["trackingNumber"] = tracking
        ecwid_id = str(current.get("id") or request.order_id)
        if current.get("fulfillmentStatus") in _ON_ITS_WAY and "trackingNumber" not in change:
            return ShipmentResult(ecwid_id, already_shipped=True)
        change |= _note(current, request.comment)
        if change:
            yield from self._update(current, change)
        return ShipmentResult(ecwid_id)
    # endregion

    def set_status(self, change: StatusChange) -> Flow[WriteResult | None]:
        """Set the status, and add the comment (if any) to the order's private admin notes."""
        target = self._target(change.status, change.order_id)
        result = yield from self._set(change.order_id, target, change.comment)
        return result

    def cancel(self, request: CancelRequest) -> Flow[WriteResult | None]:
        """Ecwid cancels with the payment status ``CANCELLED`` (there is no cancel endpoint); the comment (if any)
        goes to the private admin notes."""
        target = self._target(request.status or "CANCELLED", request.order_id)
        result = yield from self._set(request.order_id, target, request.comment)
        return result

    def _set(self, order_id: str, target: dict[str, str], comment: str = "") -> Flow[WriteResult | None]:
        """One update with what the order does not show yet: the status fields that differ, and the comment
        unless it is already a line of the admin notes (so a retry after a lost answer writes nothing twice)."""
        current = yield from self._fetch(order_id)
        change = {k: v for k, v in target.items() if current.get(k) != v} | _note(current, comment)
        if not change:
            shown = ", ".join(f"{k}={v}" for k, v in target.items())
            return WriteResult(already_done=True, found=f"the order already has {shown}")
        yield from self._update(current, change)
        return WriteResult(reference=str(current.get("id") or order_id))

    def _update(self, current: Mapping[str, Any], change: Mapping[str, str]) -> Flow[None]:
        """``PUT /orders/{id}`` with only the fields to change (Ecwid keeps the fields left out)."""
        order_id = str(current.get("id") or current.get("internalId"))
        # Not safe to resend blindly although it is a PUT: the change was computed from the copy just read, so a
        # resend after a lost answer could overwrite what the merchant changed in between. The flow's own look
        # before writing makes a retry of the whole call safe instead.
        request = httpx.Request("PUT", self._url(f"/orders/{order_id}"), json=dict(change))
        response = yield mark_idempotent(request, False)
        self.check(response, order_id=str(current.get("internalId", order_id)))
        body = self.decode(response)
        if not isinstance(body, Mapping) or body.get("updateCount") != 1:
            raise StoreError(
                f"the store answered the update with {body!r}", http_status=response.status_code,
                store=self.store_id, order_id=order_id,
            )

    def _target(self, status: str, order_id: str) -> dict[str, str]:
        """The fields a status to set means: one axis (``"SHIPPED"``, ``"PAID"``) or both (``"PAID|SHIPPED"``,
        where ``*`` leaves an axis as it is). Checked before any request is sent."""
        words = status.split("|")
        if len(words) == 1:
            words = [words[0], "*"] if words[0] in PAYMENT_STATUSES else ["*", words[0]]
        if len(words) == 2 and words[0] in (*PAYMENT_STATUSES, "*") and words[1] in (*FULFILLMENT_STATUSES, "*"):
            fields = {"paymentStatus": words[0], "fulfillmentStatus": words[1]}
            target = {k: v for k, v in fields.items() if v != "*"}
            if target:
                return target
        raise StatusNotAllowed(
            f"{status!r} is not an Ecwid status to set: give a payment status ({', '.join(PAYMENT_STATUSES)}), "
            f"a fulfilment status ({', '.join(FULFILLMENT_STATUSES)}), or 'PAYMENT|FULFILMENT'",
            store=self.store_id, order_id=order_id,
        )

    # region: parse
    def parse(self, item: Any) -> Order | PayloadError:
        """One order of an answer, or a :class:`PayloadError` keeping it whole when it cannot be read."""
        ref = str(item.get("internalId") or item.get("id") or "?") if isinstance(item, Mapping) else None
        field = "order"
        try:
            if not isinstance(item, Mapping):
                raise TypeError("an order is a JSON object")
            field = "internalId"
            order_id = str(int(item["internalId"]))
            field = "createTimestamp"
            created = _stamp(item, "createTimestamp", "createDate")
            field = "updateTimestamp"
            updated = _stamp(item, "updateTimestamp", "updateDate")
            field = "items"
            lines = tuple(_line(row, item.get("fulfillmentStatus")) for row in item.get("items") or ())
            field = "total"
            totals = _totals(item)
            field = "billingPerson"
            billing = _address(item.get("billingPerson"), item)
            shipping = _address(item.get("shippingPerson"), item)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            return PayloadError(self.store_id, ref, field, f"{type(exc).__name__}: {exc}", raw=item)
        found = item.get("shippingOption")
        option: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        tracking = str(item.get("trackingNumber") or "")
        return Order(
            store=self.store_id,
            order_id=order_id,
            number=str(item.get("id") or item.get("orderNumber") or order_id),
            status=f"{item.get('paymentStatus')}|{item.get('fulfillmentStatus')}",
            created_at=created,
            updated_at=updated,
            currency=self.currency,
            customer=Customer(
                name=billing.name if billing else "",
                email=str(item.get("email") or ""),
                phone=billing.phone if billing else "",
                is_guest=not item.get("customerId"),
                store_customer_id=str(item["customerId"]) if item.get("customerId") else None,
            ),
            billing_address=billing,
            shipping_address=shipping,
            shipping_method=str(option.get("shippingMethodName") or ""),
            lines=lines,
            totals=totals,
            payments=(Payment(str(item.get("paymentMethod") or ""), totals.paid,
                              transaction_id=item.get("externalTransactionId") or None),),
            shipments=(Shipment(None, (tracking,), carrier=str(option.get("shippingCarrierName") or ""),
                                method=str(option.get("shippingMethodName") or "")),) if tracking else (),
            notes=_notes(item),
            raw=item,
        )
    # endregion


def _admin_notes(item: Mapping[str, Any]) -> list[str]:
    return [line for line in str(item.get("privateAdminNotes") or "").split("\n") if line.strip()]


def _note(current: Mapping[str, Any], comment: str) -> dict[str, str]:
    """The ``privateAdminNotes`` update that adds ``comment`` as a line of its own (nothing when it is there)."""
    comment = " ".join(comment.split())
    lines = _admin_notes(current)
    if not comment or comment in lines:
        return {}
    return {"privateAdminNotes": "\n".join([*lines, comment])}


def _notes(item: Mapping[str, Any]) -> tuple[Note, ...]:
    """The customer's comment (visible to them) and each line of the private admin notes (not)."""
    notes = [Note(str(item["orderComments"]), customer_visible=True)] if item.get("orderComments") else []
    return (*notes, *(Note(line) for line in _admin_notes(item)))


def _ceil(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def _filters(query: OrderQuery) -> dict[str, str]:
    """The search filters of a query. Stamps are whole seconds and exact: a stamp ``s`` is at or after a moment
    ``t`` exactly when ``s >= ceil(t)``, and at or before it exactly when ``s <= floor(t)``. The status filter
    asks for every payment status and every fulfilment status the rows name (an axis ``*`` drops that filter),
    a superset of the rows that the engine's rules narrow down."""
    params: dict[str, str] = {}
    if query.updated_from is not None:
        params["updatedFrom"] = str(_ceil(query.updated_from))
    if query.updated_to is not None:
        params["updatedTo"] = str(math.floor(query.updated_to.timestamp()))
    if query.created_from is not None:
        params["createdFrom"] = str(_ceil(query.created_from))
    if query.created_to is not None:
        params["createdTo"] = str(math.floor(query.created_to.timestamp()))
    if query.statuses:
        pairs = [status.split("|") for status in query.statuses]
        for index, name, known in ((0, "paymentStatus", PAYMENT_STATUSES), (1, "fulfillmentStatus",
                                                                             FULFILLMENT_STATUSES)):
            words = {pair[index] for pair in pairs if len(pair) == 2}
            if words and words <= set(known) and all(len(pair) == 2 for pair in pairs):
                params[name] = ",".join(sorted(words))
    return params


def _stamp(item: Mapping[str, Any], seconds_key: str, text_key: str) -> datetime:
    """A time from its UNIX seconds, else from Ecwid's ``"2024-05-01 05:26:28 +0000"``; always UTC."""
    seconds = item.get(seconds_key)
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        return datetime.fromtimestamp(seconds, timezone.utc)
    text = item[text_key]
    return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S %z").astimezone(timezone.utc)


def _money(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"an amount is a JSON number, got {value!r}")
    return Decimal(value)


def _line(row: Mapping[str, Any], fulfilment: Any) -> OrderLine:
    quantity = _money(row["quantity"])
    price = _money(row.get("price"))
    return OrderLine(
        line_id=str(row["id"]),
        sku=str(row.get("sku") or ""),
        name=str(row.get("name") or ""),
        quantity=quantity,
        unit_price=price,
        tax=_money(row.get("tax")),
        discount=_money(row.get("couponAmount")),
        row_total=price * quantity,
        quantity_shipped=quantity if fulfilment in _ON_ITS_WAY else Decimal(0),
    )


def _totals(item: Mapping[str, Any]) -> Totals:
    total = _money(item["total"])
    paid = total if item.get("paymentStatus") in _MONEY_IN else Decimal(0)
    option = item.get("shippingOption")
    return Totals(
        subtotal=_money(item.get("subtotal")),
        shipping=_money(option.get("shippingRate")) if isinstance(option, Mapping) else Decimal(0),
        tax=_money(item.get("tax")),
        discount=_money(item.get("discount")),
        grand_total=total,
        paid=paid,
        due=total - paid,
        refunded=_money(item.get("refundedAmount")),
    )


def _address(person: Any, item: Mapping[str, Any]) -> Address | None:
    if not isinstance(person, Mapping):
        return None
    street = str(person.get("street") or "")
    return Address(
        name=str(person.get("name") or ""),
        company=str(person.get("companyName") or ""),
        street=tuple(part for part in street.split("\n") if part),
        city=str(person.get("city") or ""),
        region=str(person.get("stateOrProvinceCode") or ""),
        postcode=str(person.get("postalCode") or ""),
        country=str(person.get("countryCode") or ""),
        phone=str(person.get("phone") or ""),
        email=str(item.get("email") or ""),
    )


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()

