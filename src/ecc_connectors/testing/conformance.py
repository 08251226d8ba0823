"""Conformance checks: what every cart driver must do, proven against a fake store over a real socket.

Each check is a function ``check_*(driver_factory, store_factory)``: ``store_factory()`` returns a started fake
store implementing :class:`ConformanceStore` (a fresh one per check; the check stops it), and
``driver_factory(store)`` returns the driver under test pointed at it. A check returns quietly when the driver
conforms, raises :class:`AssertionError` saying what is wrong when it does not, and :class:`NotApplicable` when
the driver declares none of the capabilities it needs. :data:`CHECKS` lists them all; :func:`run_checks` runs
them. With pytest, subclass ``ecc_connectors.testing.pytest_plugin.DriverConformance`` to get each as a test.

The checks:

* :func:`check_capabilities`: every declared capability's flow is implemented (overridden); an undeclared one
  raises ``CapabilityNotSupported`` before any request reaches the store, through the connector and from the
  driver's own flow.
* :func:`check_listing_complete_under_edits`: while a download lists, orders it already read are edited (they
  jump to the end of an ``updated_at`` sort) and new ones created; every order that was in the store throughout
  and never changed must be downloaded by that run, and every order after one more quiet run. For a driver
  with ``listing_page``, first on the quiet store: each page by number holds the keys the keyset walk finds
  there, a page past the end is still a run, and ``Seek.before`` gives exactly the keys below it.
* :func:`check_writes_not_resent_blindly`: a write whose connection drops after it was sent is not sent again
  within the call (the store sees it once; only requests safe to repeat may be marked idempotent).
* :func:`check_writes_exactly_once`: ship, acknowledge and cancel, each called, its answer lost (HTTP 500, a
  dropped connection, a cut body), then called again until it succeeds: one shipment, one comment.
* :func:`check_money_and_times`: on every listed order and on ``get_order``, amounts are finite ``Decimal`` (no
  float anywhere) and every time is timezone-aware UTC.
* :func:`check_read_back_after_write`: after a post-back the ledger holds the store's new copy, so the next
  download shows no Update for our own change.
* :func:`check_statuses_round_trip`: every status ``list_statuses`` returns is a valid ``StatusRule``, every
  order's status is among them, and orders land in the Orders or Ignore tab as the rules say.

The store's side is small (:class:`ConformanceStore`): the ids of its orders, an edit and a new order made "in
the store", an order's status, a lost answer for the next write, and counts of comments and shipments. A fake
built on ``ecc_connectors.testing.base.FakeStore`` already has ``base_url``, ``requests``, ``is_write``,
``on_listing`` and ``stop``; ``MagentoConformanceStore`` is the adapter for the fake Magento store.

Keep the driver's pages small in ``driver_factory`` (a few orders): the listing check edits the store between
listing requests, and fails when the whole listing fits one request.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .. import (
    Acknowledgement,
    Cancellation,
    Capability,
    CapabilityNotSupported,
    Connector,
    ConnectorError,
    DownloadRange,
    Driver,
    Order,
    PostBack,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from . import _conformance_kit as kit
from ._base_faults import LostAnswerMode
from ._base_http import ReceivedRequest
from ._conformance_adapter import FakeStoreAdapter

__all__ = [
    "FakeStoreAdapter",
    "ACK_COMMENT",
    "CANCEL_COMMENT",
    "CHECKS",
    "STATUS_COMMENT",
    "ConformanceStore",
    "DriverFactory",
    "NotApplicable",
    "StoreFactory",
    "check_capabilities",
    "check_listing_complete_under_edits",
    "check_money_and_times",
    "check_read_back_after_write",
    "check_statuses_round_trip",
    "check_writes_exactly_once",
    "check_writes_not_resent_blindly",
    "conformance_policy",
    "run_checks",
]


@runtime_checkable
class ConformanceStore(Protocol):
    """What the checks need of a fake store. Order ids are the driver's ``Order.order_id`` strings."""

    @property
    def base_url(self) -> str:
        """Where the store serves (the driver factory points the driver here)."""
        ...

    @property
    def requests(self) -> Sequence[ReceivedRequest]:
        """The requests received, oldest first."""
        ...

    def is_write(self, request: ReceivedRequest) -> bool:
        """Whether ``request`` is a write (one whose answer :meth:`lose_next_write_answer` may lose)."""
        ...

    def order_ids(self) -> Sequence[str]:
        """Every order's id, oldest change first (the order of a listing sorted by last update), so a check can
        edit orders a download has already read."""
        ...

    def edit(self, order_id: str) -> None:
        """Change an order now, as an admin would: its update stamp moves to now."""
        ...

    def create(self) -> str:
        """Make a new order now, in the store's first status, one that can be shipped, acknowledged with its
        own status and cancelled; returns its id."""
        ...

    def status_of(self, order_id: str) -> str:
        """The order's status as the store has it now (the code ``Order.status`` carries)."""
        ...

    def lose_next_write_answer(self, mode: LostAnswerMode) -> None:
        """Apply the next write, then lose its answer: ``"500"`` an HTTP 500, ``"drop"`` a closed connection,
        ``"short"`` a 2xx whose body is cut short."""
        ...

    def count_comments(self, order_id: str, text: str) -> int:
        """How many comments (status history entries, notes) with exactly ``text`` the order holds."""
        ...

    def count_shipments(self, order_id: str) -> int:
        """How many shipments the order has."""
        ...

    def on_listing(self, callback: Callable[[int], object] | None) -> object:
        """Call ``callback(n)`` before the ``n``-th order listing request from now is answered (``None``: stop
        every callback set)."""
        ...

    def stop(self) -> None:
        """Stop serving."""
        ...


_PROTOCOL = (
    "base_url", "requests", "is_write", "order_ids", "edit", "create", "status_of", "lose_next_write_answer",
    "count_comments", "count_shipments", "on_listing", "stop",
)

DriverFactory = Callable[[Any], Driver]
"""Makes the driver under test from the (started) store."""
StoreFactory = Callable[[], ConformanceStore]
"""Makes and starts a fake store."""


class NotApplicable(Exception):
    """The driver declares none of the capabilities a check needs."""


ACK_COMMENT = "Conformance: acknowledged"
CANCEL_COMMENT = "Conformance: cancelled"
STATUS_COMMENT = "Conformance: status set"
LOST_MODES: tuple[LostAnswerMode, ...] = ("500", "drop", "short")


def conformance_policy(
    rules: Sequence[str] = ("*",), *, acknowledge: str | None = None, notify: bool = True
) -> SyncPolicy:
    """The policy the checks run with: every order downloaded (the ``rules`` statuses to the Orders tab, the
    rest to the Ignore tab), a range from 2000, shipments posted without a status change, acknowledgement with
    the ``acknowledge`` status, cancellation with a comment and no status of its own."""
    return SyncPolicy(
        statuses=StatusMapping(tuple(StatusRule(rule) for rule in rules)),
        range=DownloadRange(start=kit.START),
        unselected=Unselected.IGNORE_TAB,
        post_back=PostBack(status=None, send_email=notify),
        acknowledgement=Acknowledgement(status=acknowledge, comment=ACK_COMMENT, notify_customer=notify),
        cancellation=Cancellation(status=None, send_email=notify, comment=CANCEL_COMMENT),
    )


# -- plumbing ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _session(
    driver_factory: DriverFactory, store_factory: StoreFactory
) -> Iterator[tuple[ConformanceStore, Driver]]:
    store = store_factory()
    try:
        if not isinstance(store, ConformanceStore):
            missing = [name for name in _PROTOCOL if not hasattr(store, name)]
            raise TypeError(f"the store factory made a {type(store).__name__}, not a ConformanceStore: {missing}")
        driver = driver_factory(store)
        try:
            yield store, driver
        finally:
            driver.close()
    finally:
        store.stop()


def _connect(driver: Driver, policy: SyncPolicy | None = None) -> contextlib.AbstractContextManager[Connector]:
    return kit.connect(driver, policy or conformance_policy())


# -- capabilities --------------------------------------------------------------------------------------------

def check_capabilities(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """Capabilities match what is implemented: every declared capability's flow is overridden (``LIST_ORDERS``
    may be served by ``seek_page`` alone when ``SEEK_ORDERS`` is declared); for every undeclared one, the
    connector's operation raises ``CapabilityNotSupported`` and the store receives no request, and a flow the
    driver overrides anyway raises it too before yielding a request."""
    with _session(driver_factory, store_factory) as (store, driver):
        declared = driver.capabilities
        problems: list[str] = []
        for capability in Capability:
            if capability not in declared:
                continue
            if (
                capability is Capability.LIST_ORDERS
                and Capability.SEEK_ORDERS in declared
                and kit.overridden(driver, "seek_page")
            ):
                continue
            missing = [name for name in kit.FLOWS.get(capability, ()) if not kit.overridden(driver, name)]
            if missing:
                problems.append(
                    f"declares {capability.name} but does not implement {', '.join(missing)}() (the Driver "
                    "default raises CapabilityNotSupported)"
                )
        order_id = next(iter(store.order_ids()), "1")
        for capability in Capability:
            if capability in declared:
                continue
            for name in kit.FLOWS.get(capability, ()):
                if kit.overridden(driver, name):
                    problem = kit.undeclared_flow(driver, capability, name, order_id)
                    if problem is not None:
                        problems.append(problem)
            if capability not in kit.CALLS:
                continue
            label, call = kit.CALLS[capability]
            with _connect(driver) as connector:
                mark = kit.mark(store)
                try:
                    call(connector, order_id)
                    outcome = "succeeded"
                except CapabilityNotSupported:
                    outcome = ""
                except Exception as exc:
                    outcome = f"raised {type(exc).__name__} ({exc})"
                sent = kit.since(store, mark)
            if outcome:
                problems.append(
                    f"{capability.name} is not declared, but connector.{label} {outcome} instead of raising "
                    "CapabilityNotSupported"
                )
            if sent:
                problems.append(
                    f"{capability.name} is not declared, but connector.{label} sent {len(sent)} request(s) "
                    f"before refusing ({kit.describe(sent)}): it must be refused before any I/O"
                )
        kit.fail(driver, "capabilities do not match what is implemented", problems)


# -- listing -------------------------------------------------------------------------------------------------


def check_listing_complete_under_edits(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """A download while the store changes loses nothing. Before listing requests 2, 3 and 4 of the run are
    answered, the oldest order not yet edited is edited (it jumps to the end of an ``updated_at`` sort, so
    every row behind it moves up one place: an offset page after it starts one row later) and a new order is
    created. Every order that was in the store throughout and never changed must be in the ledger after that
    run; after one more (quiet) run every order must be there, with the store's status."""
    with _session(driver_factory, store_factory) as (store, driver):
        if Capability.LIST_ORDERS not in driver.capabilities:
            raise NotApplicable("the driver does not declare LIST_ORDERS")
        before = list(store.order_ids())
        if len(before) < 10:
            raise AssertionError(
                f"the store factory seeded {len(before)} orders: the listing check needs at least 10"
            )
        with _connect(driver) as connector:
            kit.fail(driver, "pages read by number (listing_page) or Seek.before do not match the keyset walk",
                     kit.numbered_problems(connector, driver))
        edited: list[str] = []
        created: list[str] = []
        listings = [0]

        def churn(n: int) -> None:
            listings[0] = n
            if 2 <= n <= 4:
                target = next(i for i in before if i not in edited)
                store.edit(target)
                edited.append(target)
                created.append(store.create())

        with _connect(driver) as connector:
            store.on_listing(churn)
            try:
                connector.download()
            finally:
                store.on_listing(None)
            if listings[0] < 3:
                raise AssertionError(
                    f"{kit.label(driver)}: the download listed the store in {listings[0]} request(s); the check "
                    "edits the store between listing requests, so make the driver's pages smaller (a few "
                    "orders) in the driver factory"
                )
            ledger, name = connector.ledger, connector.store
            untouched = [i for i in before if i not in edited]
            missing = [i for i in untouched if ledger.get(name, i) is None]
            kit.fail(
                driver,
                f"orders that were in the store throughout the download and never changed were not downloaded "
                f"(edited between listing requests: {edited}; a listing by offset pages over a sort that moves "
                "skips the row that slides onto a page already read: list by key, or verify with LIST_KEYS)",
                [f"order {i} missing" for i in missing],
            )
            time.sleep(kit.TICK)
            connector.download()
            problems = []
            for order_id in store.order_ids():
                record = ledger.get(name, order_id)
                if record is None:
                    problems.append(f"order {order_id} missing after a quiet run")
                    continue
                status = store.status_of(order_id)
                pending = ledger.pending(name, order_id)
                if record.order.status != status and (pending is None or pending.order.status != status):
                    problems.append(f"order {order_id}: the ledger says {record.order.status!r}, the store {status!r}")
            kit.fail(driver, "after a quiet run the ledger does not match the store", problems)


# -- writes --------------------------------------------------------------------------------------------------


@attrs.frozen
class _Write:
    name: str
    capability: Capability
    call: Callable[[Connector, str], object]
    count: Callable[[ConformanceStore, str], int]
    what: str


def _writes(status: str) -> list[_Write]:
    return [
        _Write(
            "ship",
            Capability.SHIP,
            lambda c, o: c.ship(o, Tracking(f"1ZCONF{o}")),
            lambda s, o: s.count_shipments(o),
            "shipment",
        ),
        _Write(
            "acknowledge",
            Capability.SET_STATUS,
            lambda c, o: c.acknowledge(o),
            lambda s, o: s.count_comments(o, ACK_COMMENT),
            f"comment {ACK_COMMENT!r} (status {status!r})",
        ),
        _Write(
            "cancel",
            Capability.CANCEL,
            lambda c, o: c.cancel(o),
            lambda s, o: s.count_comments(o, CANCEL_COMMENT),
            f"comment {CANCEL_COMMENT!r}",
        ),
    ]


def check_writes_not_resent_blindly(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """Retries only where safe: for each of set_status, ship and cancel the driver declares, the first write's
    connection is dropped after the store applied it. Within that one call the store must not receive the same
    write again (a request marked idempotent, or a write the driver's ``retry_hint`` sends again, would be
    resent by the engine), and the store holds the work once."""
    with _session(driver_factory, store_factory) as (store, driver):
        chosen = [
            c for c in (Capability.SET_STATUS, Capability.SHIP, Capability.CANCEL) if c in driver.capabilities
        ]
        if not chosen:
            raise NotApplicable("the driver declares none of SET_STATUS, SHIP, CANCEL")
        problems: list[str] = []
        for capability in chosen:
            order_id = store.create()
            status = store.status_of(order_id)
            with _connect(driver, conformance_policy(acknowledge=status)) as connector:
                mark = kit.mark(store)
                store.lose_next_write_answer("drop")
                if capability is Capability.SET_STATUS:
                    label = "set_status"
                    with contextlib.suppress(ConnectorError):
                        connector.set_status(order_id, status, comment=STATUS_COMMENT, notify=True)
                    applied = store.count_comments(order_id, STATUS_COMMENT)
                else:
                    write = next(w for w in _writes(status) if w.capability is capability)
                    label = write.name
                    with contextlib.suppress(ConnectorError):
                        write.call(connector, order_id)
                    applied = write.count(store, order_id)
                writes = [r for r in kit.since(store, mark) if store.is_write(r)]
            if not writes:
                problems.append(f"{label}: the store received no write")
                continue
            first = writes[0]
            again = [r for r in writes[1:] if (r.method, r.path, r.body) == (first.method, first.path, first.body)]
            if again:
                problems.append(
                    f"{label}: {first.method} {first.path} lost its connection after the store applied it and "
                    f"was sent {len(again) + 1} times in one call (never resend a write blindly: only mark "
                    "requests idempotent that are safe to repeat)"
                )
            if applied > 1:
                problems.append(f"{label}: the store applied the write {applied} times in one call")
        kit.fail(driver, "a write whose answer was lost was sent again blindly", problems)


def check_writes_exactly_once(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """Ship, acknowledge and cancel (those declared) exactly once under lost answers: for each way of losing an
    answer (HTTP 500, a dropped connection, a cut body), a new order's write is applied and its answer lost,
    then the call is made again (up to 4 calls) until it succeeds. The store must hold one shipment, or one
    comment: every write flow looks in the store for its own work before writing."""
    with _session(driver_factory, store_factory) as (store, driver):
        probe = store.create()
        status = store.status_of(probe)
        writes = [w for w in _writes(status) if w.capability in driver.capabilities]
        if not writes:
            raise NotApplicable("the driver declares none of SHIP, SET_STATUS, CANCEL")
        problems: list[str] = []
        for write in writes:
            for mode in LOST_MODES:
                order_id = store.create()
                with _connect(driver, conformance_policy(acknowledge=store.status_of(order_id))) as connector:
                    store.lose_next_write_answer(mode)
                    calls, error = kit.retry(functools.partial(write.call, connector, order_id))
                count = write.count(store, order_id)
                if error is not None:
                    problems.append(
                        f"{write.name} after a lost answer ({mode}) still failed after {calls} calls: "
                        f"{type(error).__name__}: {error} (a flow that finds its own work in the store reports it "
                        "done instead of writing again)"
                    )
                if count != 1:
                    problems.append(
                        f"{write.name} with its answer lost ({mode}), called {calls} times: the store holds "
                        f"{count} x {write.what} (look in the store for the work before writing it)"
                    )
        kit.fail(driver, "writes are not exactly-once when an answer is lost", problems)


# -- what a driver returns -----------------------------------------------------------------------------------


def check_money_and_times(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """Every order the driver lists (through its own listing flows) and ``get_order`` returns carries money
    and quantities as finite ``Decimal`` (no ``float`` anywhere) and every time timezone-aware in UTC."""
    with _session(driver_factory, store_factory) as (store, driver):
        if Capability.LIST_ORDERS not in driver.capabilities:
            raise NotApplicable("the driver does not declare LIST_ORDERS")
        with _connect(driver) as connector:
            listed = kit.listed(connector, driver)
            orders = [o for o in listed if isinstance(o, Order)]
            if not orders:
                raise AssertionError(
                    f"{kit.label(driver)}: the listing returned no readable order ({len(listed)} rows) from a store "
                    f"holding {len(store.order_ids())}"
                )
            problems: list[str] = []
            for order in orders:
                problems += kit.value_problems(order, f"order {order.order_id}")
            if Capability.GET_ORDER in driver.capabilities:
                single = connector.get_order(orders[0].order_id)
                problems += kit.value_problems(single, f"get_order({orders[0].order_id!r})")
        kit.fail(driver, "orders carry money that is not Decimal or times that are not UTC", problems)


def check_read_back_after_write(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """After a post-back the ledger holds the store's new copy: a downloaded order gets a status comment (or a
    shipment, or is cancelled: the first the driver declares); the next download must show no Update for it,
    and the ledger's copy must have the store's status. The engine reads the order back with ``get_order``
    after the write, so ``get_order`` must return the order as the listing maps it, current."""
    with _session(driver_factory, store_factory) as (store, driver):
        needed = {Capability.LIST_ORDERS, Capability.GET_ORDER}
        writes = [c for c in (Capability.SET_STATUS, Capability.SHIP, Capability.CANCEL) if c in driver.capabilities]
        if not needed <= driver.capabilities or not writes:
            raise NotApplicable("needs LIST_ORDERS, GET_ORDER and one of SET_STATUS, SHIP, CANCEL")
        order_id = store.create()
        status = store.status_of(order_id)
        time.sleep(kit.TICK)
        with _connect(driver, conformance_policy(acknowledge=status)) as connector:
            connector.download()
            ledger, name = connector.ledger, connector.store
            if ledger.get(name, order_id) is None:
                raise AssertionError(
                    f"{kit.label(driver)}: order {order_id}, created before the download, was not downloaded"
                )
            write = writes[0]
            if write is Capability.SET_STATUS:
                connector.set_status(order_id, status, comment=STATUS_COMMENT, notify=False)
                done = f"set_status({order_id!r}, {status!r}, comment=...)"
            elif write is Capability.SHIP:
                connector.ship(order_id, Tracking(f"1ZREAD{order_id}"))
                done = f"ship({order_id!r})"
            else:
                connector.cancel(order_id)
                done = f"cancel({order_id!r})"
            time.sleep(kit.TICK)
            connector.download()
            problems = []
            pending = ledger.pending(name, order_id)
            if pending is not None:
                changes = ", ".join(f"{c.path}: {c.old!r} -> {c.new!r}" for c in pending.changes[:6])
                problems.append(
                    f"after {done} the next download shows an Update for our own change ({changes}): "
                    "get_order must return the store's current copy, mapped as the listing maps it"
                )
            record = ledger.get(name, order_id)
            current = store.status_of(order_id)
            if record is not None and record.order.status != current:
                problems.append(f"the ledger keeps status {record.order.status!r}, the store has {current!r}")
        kit.fail(driver, "the ledger does not hold the store's copy after a write", problems)


def check_statuses_round_trip(driver_factory: DriverFactory, store_factory: StoreFactory) -> None:
    """Statuses round-trip through the policy: every status ``list_statuses`` returns is accepted in a
    ``StatusRule`` (the policy's check against the store's statuses finds nothing), every order's status is one
    of them, and with rules for half of the statuses (then the other half) each order lands in the Orders tab
    exactly when its status has a rule, in the Ignore tab otherwise."""
    with _session(driver_factory, store_factory) as (store, driver):
        if not {Capability.LIST_STATUSES, Capability.LIST_ORDERS} <= driver.capabilities:
            raise NotApplicable("needs LIST_STATUSES and LIST_ORDERS")
        with _connect(driver) as connector:
            statuses = connector.list_statuses()
        codes = [s.code for s in statuses]
        if not codes:
            raise AssertionError(f"{kit.label(driver)}: list_statuses() returned no status")
        problems: list[str] = []
        for code in codes:
            for problem in conformance_policy((code,)).check(statuses):
                problems.append(f"status {code!r} as a StatusRule: {problem}")
        ids = list(store.order_ids())
        held = {order_id: store.status_of(order_id) for order_id in ids}
        unlisted: dict[str, list[str]] = {}
        for order_id, status in held.items():
            if status not in codes:
                unlisted.setdefault(status, []).append(order_id)
        for status, holders in unlisted.items():
            shown = ", ".join(holders[:5]) + (", ..." if len(holders) > 5 else "")
            problems.append(
                f"orders are in status {status!r} (orders {shown}), which list_statuses() does not return "
                f"(it returns {codes}): a status row can only name what list_statuses() offers"
            )
        kit.fail(driver, "statuses do not round-trip through the policy", problems)
        used = [code for code in codes if code in held.values()]
        if not used:
            raise AssertionError(f"{kit.label(driver)}: no order of the store is in any listed status ({codes})")
        halves = [used[0::2], [code for code in codes if code not in used[0::2]]]
        for selected in halves:
            if not selected:
                continue
            with _connect(driver, conformance_policy(selected)) as connector:
                connector.download()
                in_orders = {r.order_id for r in connector.orders()}
                in_ignore = {r.order_id for r in connector.ignored()}
            for order_id, status in held.items():
                wanted = "Orders" if status in selected else "Ignore"
                got = "Orders" if order_id in in_orders else "Ignore" if order_id in in_ignore else "no"
                if got != wanted:
                    problems.append(
                        f"order {order_id} (status {status!r}) landed in the {got} tab with rules for {selected}; "
                        f"expected the {wanted} tab"
                    )
        kit.fail(driver, "statuses do not round-trip through the policy", problems)


# -- all of them ---------------------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[DriverFactory, StoreFactory], None]] = {
    "capabilities": check_capabilities,
    "listing_complete_under_edits": check_listing_complete_under_edits,
    "writes_not_resent_blindly": check_writes_not_resent_blindly,
    "writes_exactly_once": check_writes_exactly_once,
    "money_and_times": check_money_and_times,
    "read_back_after_write": check_read_back_after_write,
    "statuses_round_trip": check_statuses_round_trip,
}
"""Every check by name, in the order :func:`run_checks` runs them."""


def run_checks(
    driver_factory: DriverFactory, store_factory: StoreFactory, names: Sequence[str] | None = None
) -> dict[str, str]:
    """Run the checks (all, or those ``names``) and return each one's outcome: ``"passed"``, ``"not
    applicable: ..."`` or the failure's message. Never raises for a failed check."""
    outcomes: dict[str, str] = {}
    for name in names or list(CHECKS):
        try:
            CHECKS[name](driver_factory, store_factory)
        except NotApplicable as exc:
            outcomes[name] = f"not applicable: {exc}"
        except AssertionError as exc:
            outcomes[name] = f"failed: {exc}"
        else:
            outcomes[name] = "passed"
    return outcomes
