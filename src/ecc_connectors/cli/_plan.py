"""``plan``: what a download would do, found by running one against a ledger that writes nothing.

The engine decides every order while it downloads (the rules, the high-water mark, the keyset walk, the
lookback), so the surest dry run is a real download whose page commits go nowhere: :class:`DryRunLedger` wraps
the real ledger, answers every read from it (so the window starts at the real high-water mark and already
downloaded orders are recognised) and keeps each page it is given in memory instead of committing it. Any other
write raises: a plan that tried to write would be a bug, and it must not slip through.

To count every status, even those the policy skips (which never reach a page), the download runs with a
*counting* policy: the same rows and range, but every unselected order goes to the Ignore tab. Each order on
those pages is then placed where the real policy would put it (its row's ``unselected`` choice, else the
policy's), so the plan can say "``complete``: 12 orders, skipped". Orders the range or starting number leaves out
are only counted (the engine reports them, not their statuses).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, NoReturn

import attrs

from .. import (
    ActionRecord,
    ConfigurationError,
    DownloadReport,
    FailureRecord,
    HighWater,
    Ledger,
    Order,
    OrderRecord,
    PendingUpdate,
    PhoneOrderRecord,
    SyncPolicy,
    Tab,
    Unselected,
)
from ..ledger import PageBatch, StoredOrder

__all__ = ["DryRunLedger", "Plan", "PlanRow", "counting_policy", "make_plan", "plan_json"]


class DryRunLedger:
    """A :class:`Ledger` that reads from ``ledger`` and keeps page commits in :attr:`batches`."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self.batches: list[PageBatch] = []

    def _refuse(self, what: str) -> NoReturn:
        raise ConfigurationError(f"a plan writes nothing, but the engine asked to {what}")

    # reads: the real ledger's
    def high_water(self, store: str) -> HighWater | None:
        return self._ledger.high_water(store)

    def seen(self, store: str, order_ids: Collection[str]) -> dict[str, StoredOrder]:
        return self._ledger.seen(store, order_ids)

    def known_keys(self, store: str, start: datetime | None = None, end: datetime | None = None) -> dict[str, datetime]:
        return self._ledger.known_keys(store, start, end)

    def get(self, store: str, order_id: str) -> OrderRecord | None:
        return self._ledger.get(store, order_id)

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]:
        return self._ledger.orders(store, tab)

    def updates(self, store: str) -> list[PendingUpdate]:
        return self._ledger.updates(store)

    def pending(self, store: str, order_id: str) -> PendingUpdate | None:
        return self._ledger.pending(store, order_id)

    def failures(self, store: str) -> list[FailureRecord]:
        return self._ledger.failures(store)

    def actions(self, store: str, order_id: str | None = None) -> list[ActionRecord]:
        return self._ledger.actions(store, order_id)

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]:
        return self._ledger.phone_orders(store)

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None:
        return self._ledger.phone_order(store, reference)

    # the one write a download makes: kept here
    def commit_page(self, batch: PageBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    # every other write: refused
    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord:
        return self._refuse(f"accept the update of {order_id}")

    def dismiss_update(self, store: str, order_id: str) -> bool:
        return self._refuse(f"dismiss the update of {order_id}")

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None:
        self._refuse(f"change the local state of {order_id}")

    def refresh(self, store: str, order: Order, now: datetime) -> bool:
        return self._refuse(f"refresh {order.order_id}")

    def begin_action(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("begin an action")

    def finish_action(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("finish an action")

    def checkpoint_action(self, action_id: int, checkpoint: str) -> None:
        self._refuse("checkpoint an action")

    def record_phone_order(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("record a phone order")

    def close(self) -> None:
        """The real ledger belongs to the caller: not closed here."""


def counting_policy(policy: SyncPolicy) -> SyncPolicy:
    """``policy`` with every unselected order sent to the Ignore tab (see the module notes)."""
    rules = tuple(attrs.evolve(rule, unselected=None) for rule in policy.statuses.rules)
    return attrs.evolve(policy, unselected=Unselected.IGNORE_TAB, statuses=attrs.evolve(policy.statuses, rules=rules))


def _unselected_goes_to(policy: SyncPolicy, status: str) -> str:
    rule = policy.statuses.rule_for(status)
    choice = rule.unselected if rule is not None and rule.unselected is not None else policy.unselected
    return "ignore" if choice is Unselected.IGNORE_TAB else "skip"


@attrs.frozen
class PlanRow:
    """How many orders of one status would go where. ``goes_to``: ``orders``, ``ignore``, ``skip`` or
    ``update``; ``paid`` / ``shipped``: their local state on arrival (Orders tab only)."""

    status: str
    goes_to: str
    count: int
    paid: bool | None = None
    shipped: bool | None = None


@attrs.frozen
class Plan:
    store: str
    updated_from: datetime
    updated_to: datetime
    pages: int
    rows: tuple[PlanRow, ...]
    unchanged: int
    skipped_by_range: int
    unreadable: int
    high_water_mark: datetime | None

    def total(self, goes_to: str) -> int:
        return sum(row.count for row in self.rows if row.goes_to == goes_to)


def make_plan(policy: SyncPolicy, report: DownloadReport, batches: list[PageBatch]) -> Plan:
    """The plan from a counting download's report and the pages it would have committed."""
    placed: dict[str, tuple[str, str, bool | None, bool | None]] = {}  # order id -> the last decision
    unreadable: set[tuple[str | None, str, str]] = set()
    for batch in batches:
        for row in batch.rows:
            order = row.order
            if row.tab is Tab.ORDERS:
                placed[order.order_id] = (order.status, "orders", row.paid, row.shipped)
            else:
                placed[order.order_id] = (order.status, _unselected_goes_to(policy, order.status), None, None)
        for update in batch.updates:
            placed[update.order.order_id] = (update.order.status, "update", None, None)
        for failure in batch.failures:
            unreadable.add((failure.order_ref, failure.field, failure.problem))
    counts: Counter[tuple[str, str, bool | None, bool | None]] = Counter(placed.values())
    order_of = {"orders": 0, "update": 1, "ignore": 2, "skip": 3}
    rows = tuple(
        PlanRow(status, goes_to, count, paid, shipped)
        for (status, goes_to, paid, shipped), count in sorted(
            counts.items(), key=lambda item: (order_of[item[0][1]], item[0][0], str(item[0][2]), str(item[0][3]))
        )
    )
    marks = [batch.high_water.mark for batch in batches if batch.high_water is not None]
    return Plan(
        store=report.store,
        updated_from=report.updated_from,
        updated_to=report.updated_to,
        pages=report.pages,
        rows=rows,
        unchanged=report.unchanged,
        skipped_by_range=report.skipped,
        unreadable=len(unreadable),
        high_water_mark=max(marks) if marks else None,
    )


def plan_json(plan: Plan) -> Mapping[str, Any]:
    return {
        "store": plan.store,
        "window": {"updated_from": plan.updated_from.isoformat(), "updated_to": plan.updated_to.isoformat()},
        "pages": plan.pages,
        "statuses": [attrs.asdict(row) for row in plan.rows],
        "totals": {
            "orders": plan.total("orders"),
            "updates": plan.total("update"),
            "ignore": plan.total("ignore"),
            "skip": plan.total("skip") + plan.skipped_by_range,
            "unchanged": plan.unchanged,
            "unreadable": plan.unreadable,
        },
        "skipped_by_range": plan.skipped_by_range,
        "high_water_mark": None if plan.high_water_mark is None else plan.high_water_mark.isoformat(),
    }
