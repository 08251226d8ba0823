"""The plumbing of the conformance checks (``conformance.py``): a connector over a fresh ledger, the requests
a store received since a mark, retrying a call as a user would, the capability tables, walking a driver's own
listing flows, and finding floats, non-Decimal amounts and non-UTC times in an order.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

import attrs

from .. import (
    Address,
    CancelRequest,
    Capability,
    CapabilityNotSupported,
    Connector,
    ConnectorError,
    Customer,
    Driver,
    FollowCursor,
    ItemQuery,
    NewOrder,
    NewOrderLine,
    NumberedPages,
    Order,
    OrderQuery,
    PayloadError,
    Seek,
    ShipmentRequest,
    SQLiteLedger,
    StatusChange,
    SyncPolicy,
    Tracking,
)
from ._base_http import ReceivedRequest


class ConformanceStore(Protocol):
    """What the kit reads of a conformance store (the whole protocol is ``conformance.ConformanceStore``)."""

    @property
    def requests(self) -> Sequence[ReceivedRequest]: ...


START = datetime(2000, 1, 1, tzinfo=timezone.utc)
ATTEMPTS = 4
MAX_PAGES = 1000
TICK = 1.05
"""Stores stamp whole seconds: an order made in this second may sit on a download window's upper bound."""


@contextlib.contextmanager
def connect(driver: Driver, policy: SyncPolicy) -> Iterator[Connector]:
    """A connector over a fresh in-memory ledger."""
    with SQLiteLedger() as ledger, Connector(driver, policy, ledger) as connector:
        yield connector


def label(driver: Driver) -> str:
    return f"{type(driver).__name__} ({driver.name or 'unnamed'})"


def fail(driver: Driver, what: str, problems: Sequence[str], limit: int = 12) -> None:
    if problems:
        shown = list(problems[:limit])
        if len(problems) > limit:
            shown.append(f"... and {len(problems) - limit} more")
        raise AssertionError(f"{label(driver)}: {what}:\n- " + "\n- ".join(shown))


def mark(store: ConformanceStore) -> tuple[int, ReceivedRequest | None]:
    seen = store.requests
    return len(seen), (seen[-1] if seen else None)


def since(store: ConformanceStore, mark: tuple[int, ReceivedRequest | None]) -> list[ReceivedRequest]:
    """The requests the store received after ``mark`` (robust to a bounded log dropping its oldest)."""
    seen = list(store.requests)
    last = mark[1]
    if last is None:
        return seen
    for index in range(len(seen) - 1, -1, -1):
        if seen[index] is last:
            return seen[index + 1 :]
    return seen


def describe(requests: Sequence[ReceivedRequest], limit: int = 4) -> str:
    shown = ", ".join(f"{r.method} {r.path}" for r in requests[:limit])
    return shown + (", ..." if len(requests) > limit else "")


def retry(call: Callable[[], object], attempts: int = ATTEMPTS) -> tuple[int, ConnectorError | None]:
    """Call until it succeeds, as a user does after an exception: (calls made, the last error if none did)."""
    error: ConnectorError | None = None
    for attempt in range(1, attempts + 1):
        try:
            call()
        except ConnectorError as exc:
            error = exc
            continue
        return attempt, None
    return attempts, error


def new_order() -> NewOrder:
    address = Address(
        name="Conformance Check", street=("1 Main St",), city="Austin", region="TX", postcode="78701",
        country="US", phone="512-555-0100", email="conformance@example.com",
    )
    return NewOrder(
        reference="CONFORMANCE-1",
        customer=Customer(name="Conformance Check", email="conformance@example.com"),
        billing_address=address,
        shipping_address=address,
        lines=(NewOrderLine("CONFORMANCE-SKU", Decimal(1)),),
    )


FLOWS: dict[Capability, tuple[str, ...]] = {
    Capability.LIST_STATUSES: ("list_statuses",),
    Capability.LIST_ORDERS: ("first_page",),
    Capability.GET_ORDER: ("get_order",),
    Capability.SHIP: ("ship",),
    Capability.SET_STATUS: ("set_status",),
    Capability.CANCEL: ("cancel",),
    Capability.INVOICE: ("invoice",),
    Capability.SEARCH_ITEMS: ("search_items",),
    Capability.CREATE_ORDER: ("create_order",),
    Capability.SEEK_ORDERS: ("seek_page",),
    Capability.LIST_KEYS: ("list_keys",),
    Capability.GET_ORDERS: ("get_orders",),
}

CALLS: dict[Capability, tuple[str, Callable[[Connector, str], object]]] = {
    Capability.LIST_STATUSES: ("list_statuses()", lambda c, o: c.list_statuses()),
    Capability.LIST_ORDERS: ("download()", lambda c, o: c.download()),
    Capability.GET_ORDER: ("get_order(id)", lambda c, o: c.get_order(o)),
    Capability.SHIP: ("ship(id, tracking)", lambda c, o: c.ship(o, Tracking("1ZCONFORMANCE0"))),
    Capability.SET_STATUS: ("set_status(id, status)", lambda c, o: c.set_status(o, "conformance")),
    Capability.CANCEL: ("cancel(id)", lambda c, o: c.cancel(o)),
    Capability.INVOICE: ("invoice(id)", lambda c, o: c.invoice(o)),
    Capability.SEARCH_ITEMS: ("search_items(text)", lambda c, o: c.search_items("conformance")),
    Capability.CREATE_ORDER: ("create_phone_order(order)", lambda c, o: c.create_phone_order(new_order())),
    Capability.LIST_KEYS: ("reconcile()", lambda c, o: c.reconcile()),
}


def flow_args(capability: Capability, order_id: str) -> tuple[Any, ...]:
    query = OrderQuery(updated_from=START)
    return {
        Capability.LIST_STATUSES: (),
        Capability.LIST_ORDERS: (query,),
        Capability.GET_ORDER: (order_id,),
        Capability.SHIP: (ShipmentRequest(order_id, (Tracking("1ZCONFORMANCE0"),)),),
        Capability.SET_STATUS: (StatusChange(order_id, "conformance"),),
        Capability.CANCEL: (CancelRequest(order_id),),
        Capability.INVOICE: (order_id,),
        Capability.SEARCH_ITEMS: (ItemQuery(text="conformance"),),
        Capability.CREATE_ORDER: (new_order(),),
        Capability.SEEK_ORDERS: (query, Seek(), 10),
        Capability.LIST_KEYS: (query, Seek(), 10),
        Capability.GET_ORDERS: ((order_id,),),
    }[capability]


def overridden(driver: Driver, name: str) -> bool:
    return driver._implements(name)


def undeclared_flow(driver: Driver, capability: Capability, name: str, order_id: str) -> str | None:
    """Start the flow of an undeclared capability: it must raise CapabilityNotSupported before any request."""
    where = f"{capability.name} is not declared, but {name}() is overridden and"
    try:
        flow = getattr(driver, name)(*flow_args(capability, order_id))
        if not inspect.isgenerator(flow):
            return f"{where} returns {type(flow).__name__} instead of raising CapabilityNotSupported"
        try:
            request: Any = next(flow)
        except StopIteration:
            return f"{where} works (it returns a result): declare {capability.name}"
        finally:
            flow.close()
        return (
            f"{where} sends {request.method} {request.url.path}: declare {capability.name} or leave the "
            "method to the Driver default"
        )
    except CapabilityNotSupported:
        return None
    except Exception as exc:
        return f"{where} raised {type(exc).__name__} ({exc}) instead of CapabilityNotSupported"


def listed(connector: Connector, driver: Driver) -> list[Order | PayloadError]:
    """Every order of the store, through the driver's own listing flows (keyset when declared, else pages)."""
    query = OrderQuery(updated_from=START)
    found: list[Order | PayloadError] = []
    if Capability.SEEK_ORDERS in driver.capabilities:
        seek = Seek()
        for _ in range(MAX_PAGES):
            page = connector.run(driver.seek_page(query, seek, query.page_size))
            found.extend(page.orders)
            if not page.keys:
                break
            seek = Seek(after=page.keys[-1])
        return found
    page = connector.run(driver.first_page(query))
    found.extend(page.orders)
    following = page.next
    for _ in range(MAX_PAGES):
        if isinstance(following, NumberedPages):
            for number in following.numbers:
                found.extend(connector.run(following.fetch(number)).orders)
            break
        if isinstance(following, FollowCursor):
            page = connector.run(following.fetch())
            found.extend(page.orders)
            following = page.next
            continue
        break
    return found


def numbered_problems(connector: Connector, driver: Driver, size: int = 3) -> list[str]:
    """What is wrong with a driver's ``listing_page`` and ``Seek.before`` on a quiet store (nothing for a driver
    without ``listing_page``): page ``n`` by number must hold the keys the keyset walk finds at that place, a
    page past the end must still be a run of the listing (rising keys, no error), and ``Seek(after,
    before=K)`` must return exactly the keys between."""
    if Capability.SEEK_ORDERS not in driver.capabilities or not driver._implements("listing_page"):
        return []
    query = OrderQuery(updated_from=START)

    def walk(after: Any = None, before: Any = None) -> list[Any]:
        keys: list[Any] = []
        for _ in range(MAX_PAGES):
            page = connector.run(driver.seek_page(query, Seek(after=after, before=before), size))
            keys.extend(page.keys)
            if not page.keys:
                break
            after = page.keys[-1]
        return keys

    walked = walk()
    problems: list[str] = []
    pages = -(-len(walked) // size)
    for number in range(1, pages + 1):
        found = list(connector.run(driver.listing_page(query, number, size)).keys)
        expected = walked[(number - 1) * size : number * size]
        if found != expected:
            problems.append(f"listing_page({number}) holds {found}, the keyset walk has {expected} there")
    past = list(connector.run(driver.listing_page(query, pages + 3, size)).keys)
    if any(later <= earlier for earlier, later in itertools.pairwise(past)):
        problems.append(f"listing_page past the end returned keys that do not rise: {past}")
    if len(walked) >= 3:
        after, before = walked[0], walked[-1]
        found = walk(after, before)
        if found != walked[1:-1]:
            problems.append(f"Seek(after={after}, before={before}) gave {found}, not the keys between them")
    return problems


def value_problems(value: Any, path: str, declared: str = "") -> list[str]:
    """Floats, non-finite or non-Decimal amounts, and times that are not aware UTC, anywhere in ``value``
    (``declared``: the attrs field's type, naming ``Decimal`` for an amount)."""
    if value is None:
        return []
    if isinstance(value, float):
        return [f"{path} is a float ({value!r}): money and quantities are Decimal"]
    if isinstance(value, Decimal):
        return [] if value.is_finite() else [f"{path} is {value} (not a finite amount)"]
    if "Decimal" in declared and not isinstance(value, tuple | list):
        return [f"{path} is {type(value).__name__} ({value!r}), not Decimal"]
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            return [f"{path} is naive ({value.isoformat()}): times are timezone-aware UTC"]
        if offset or value.tzinfo is not timezone.utc:
            return [f"{path} is {value.isoformat()}: times are in UTC (tzinfo=timezone.utc)"]
        return []
    if attrs.has(type(value)):
        problems: list[str] = []
        for field in attrs.fields(type(value)):
            if field.name != "raw":
                problems += value_problems(getattr(value, field.name), f"{path}.{field.name}", str(field.type))
        return problems
    if isinstance(value, tuple | list):
        problems = []
        for index, item in enumerate(value):
            problems += value_problems(item, f"{path}[{index}]", declared)
        return problems
    return []
