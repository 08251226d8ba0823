"""The ledger suite's machinery and test data: factories, the check registry, orders, batches and poisons.

Every check module registers its checks here with ``@_check(family)`` when imported; ``ledger_checks()`` lists
them in import order (``ledger_suite`` imports the check modules in a fixed order). The helpers open ledgers
only through a :class:`LedgerFactory` and read them only through the protocol, so a second backend runs the
same checks unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs

from .._model import ChangeKind, Customer, FieldChange, Order, OrderLine, RawJSON, Totals
from .._outcomes import Tab
from ..ledger import (
    Ledger,
    RowWrite,
    StoredOrder,
)

L = TypeVar("L", bound=Ledger)


@attrs.frozen
class LedgerFactory(Generic[L]):
    """How the suite opens ledgers of the implementation under test."""

    fresh: Callable[[], L]
    """A new ledger on new, empty storage, every call (a file in a temporary directory, a new schema...)."""
    reopen: Callable[[L], L] | None = None
    """Another instance on the same storage as the given ledger (which may be closed already), as a second
    process would open it; ``None`` when the backend cannot (an in-memory database)."""


@attrs.frozen
class LedgerCheck:
    """One check of the suite: ``check(factory)`` returns, or raises ``AssertionError`` naming the broken
    promise. ``family`` groups the checks of one part of the protocol."""

    name: str
    family: str
    run: Callable[[LedgerFactory[Any]], None]

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()

    def __call__(self, factory: LedgerFactory[Any]) -> None:
        self.run(factory)


def _need_asserts() -> None:
    if not __debug__:  # pragma: no cover - only under python -O
        raise RuntimeError("the ledger suite checks with assert: run it without python -O")


_CHECKS: list[LedgerCheck] = []


def _check(family: str) -> Callable[[Callable[[LedgerFactory[Any]], None]], Callable[[LedgerFactory[Any]], None]]:
    def register(run: Callable[[LedgerFactory[Any]], None]) -> Callable[[LedgerFactory[Any]], None]:
        _CHECKS.append(LedgerCheck(run.__name__.removeprefix("check_"), family, run))
        return run

    return register


# The check modules, in the order of the suite (and of LedgerContract's methods).
_PARTS = ("_ledger_suite_pages", "_ledger_suite_tabs", "_ledger_suite_actions")


def ledger_checks() -> tuple[LedgerCheck, ...]:
    """Every check of the suite, in a stable order (the methods of :class:`LedgerContract`)."""
    for part in _PARTS:
        importlib.import_module(f"{__package__}.{part}")  # registers its checks, once
    order = {f"{__package__}.{part}": n for n, part in enumerate(_PARTS)}
    # A stable sort: the checks of one module keep the order they are written in.
    return tuple(sorted(_CHECKS, key=lambda check: order.get(check.run.__module__, len(order))))


# ---------------------------------------------------------------------------------------------------------
# Test data and helpers

STORE = "suite-store"
OTHER = "suite-other-store"
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def make_order(
    n: int,
    *,
    hours: float | None = None,
    updated: datetime | None = None,
    status: str = "processing",
    replaces: str | None = None,
    store: str = STORE,
) -> Order:
    """Order ``n`` of the suite: updated at ``T0 + hours`` (default ``n`` hours), with a raw payload."""
    stamp = updated if updated is not None else T0 + timedelta(hours=n if hours is None else hours)
    raw = RawJSON(f'{{"entity_id": {n}, "status": "{status}", "grand_total": 9.50, "name": "Zoë Ångström"}}')
    return Order(
        store=store,
        order_id=str(n),
        number=f"{n:09d}",
        status=status,
        created_at=T0,
        updated_at=stamp,
        currency="EUR",
        customer=Customer(name="Zoë Ångström", email=f"buyer{n}@example.com"),
        lines=(
            OrderLine(
                line_id="1",
                sku="SKU-1",
                name="Mug",
                quantity=Decimal("2"),
                unit_price=Decimal("4.75"),
                row_total=Decimal("9.50"),
            ),
        ),
        totals=Totals(subtotal=Decimal("9.50"), grand_total=Decimal("9.50")),
        replaces=replaces,
        raw=raw,
    )


def _row(n: int, tab: Tab = Tab.ORDERS, paid: bool = False, shipped: bool = False, **kw: Any) -> RowWrite:
    return RowWrite(make_order(n, **kw), tab, paid, shipped)


def _changes(path: str = "status") -> tuple[FieldChange, ...]:
    return (FieldChange(ChangeKind.STATUS, path, "processing", "changed"),)


def _raw(value: Any) -> Any:
    assert isinstance(value, RawJSON), f"a raw payload should come back as RawJSON, got {type(value).__name__}"
    return value.data()


class _Crash(Exception):
    """Raised by a poisoned part of a batch: a crash in the middle of a write."""


class _Poison:
    """Stands in for a part of a batch (a row, an update, a failure, a mark): reading any field it was not
    given raises :class:`_Crash`, as a crash would in the middle of writing it."""

    def __init__(self, what: str, **fields: Any) -> None:
        self.__dict__.update(fields)
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise _Crash(f"injected crash while reading {name!r} of {self._what}")


@contextmanager
def _fresh(factory: LedgerFactory[Any]) -> Iterator[Ledger]:
    _need_asserts()  # every check opens its ledgers here
    ledger: Ledger = factory.fresh()
    try:
        yield ledger
    finally:
        ledger.close()


@contextmanager
def _another(factory: LedgerFactory[Any], ledger: Ledger) -> Iterator[Ledger]:
    """A second instance on the same storage when the factory can open one, else the same instance."""
    if factory.reopen is None:
        yield ledger
        return
    other: Ledger = factory.reopen(ledger)
    try:
        yield other
    finally:
        other.close()


def _stored(stored: StoredOrder) -> tuple[Any, ...]:
    return (
        stored.order_id,
        stored.tab,
        stored.paid,
        stored.shipped,
        stored.fingerprint,
        stored.replaced_by,
        stored.dismissed,
        stored.updated_at,
        stored.order,
    )


def _visible(ledger: Ledger, store: str, ids: list[str]) -> dict[str, Any]:
    """Everything the protocol shows of a store's download state."""
    return {
        "high_water": ledger.high_water(store),
        "rows": {order_id: ledger.get(store, order_id) for order_id in ids},
        "seen": {order_id: _stored(s) for order_id, s in ledger.seen(store, ids).items()},
        "orders": [r.order_id for r in ledger.orders(store)],
        "ignore": [r.order_id for r in ledger.orders(store, Tab.IGNORE)],
        "updates": [(u.order_id, u.order, u.replaces, u.changes) for u in ledger.updates(store)],
        "failures": [(f.order_ref, f.field, f.problem) for f in ledger.failures(store)],
        "known_keys": ledger.known_keys(store),
        "phone_orders": [(p.reference, p.order_id) for p in ledger.phone_orders(store)],
    }


def _unchanged(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    for part, value in before.items():
        assert after[part] == value, f"{what}: {part} changed from {value!r} to {after[part]!r}"


def _crashes(call: Callable[[], object], what: str) -> None:
    try:
        call()
    except Exception:  # the poison's own _Crash, or the implementation's wrapping of it
        return
    raise AssertionError(f"{what}: the call returned although reading its argument raised")
