"""The engine's core: every operation once, as a generator of effects (``_effects``), which each shell runs
in its own way. :class:`Core` puts the downloads and the writes together over one :class:`Context`."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from ._actions import Actions
from ._download import Downloads
from ._driver import Capability, Flow
from ._effects import Effect, Run
from ._model import Order, StoreStatus
from ._policy import PolicyProblem
from .ledger import OrderRecord

T = TypeVar("T")

__all__ = ["Core"]


class Core(Downloads, Actions):
    # -- tabs ----------------------------------------------------------------------------------------------

    def redownload(self, order_id: str) -> OrderRecord:
        return self.ledger.accept_update(self.store, order_id, self.now())

    def dismiss(self, order_id: str) -> bool:
        return self.ledger.dismiss_update(self.store, order_id)

    # -- one operation by hand -------------------------------------------------------------------------------

    def run(self, flow: Flow[T]) -> Generator[Effect, Any, T]:
        result: T = yield Run(flow)
        return result

    def list_statuses(self) -> Generator[Effect, Any, tuple[StoreStatus, ...]]:
        self.driver.require(Capability.LIST_STATUSES)
        statuses: tuple[StoreStatus, ...] = yield Run(self.driver.list_statuses())
        return statuses

    def get_order(self, order_id: str) -> Generator[Effect, Any, Order]:
        self.driver.require(Capability.GET_ORDER)
        order: Order = yield Run(self._read(lambda: self.driver.get_order(order_id)))
        return order

    def check_policy(self) -> Generator[Effect, Any, list[PolicyProblem]]:
        statuses = yield from self.list_statuses()
        return self.policy.check(statuses)
