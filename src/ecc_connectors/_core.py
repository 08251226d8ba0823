"""The engine's core: every operation once, as a generator of effects (``_effects``), which each shell runs
in its own way. :class:`Core` puts the downloads and the writes together over one :class:`Context`."""

from __future__ import annotations

from ._actions import Actions
from ._download import Downloads
from ._ledger import OrderRecord

__all__ = ["Core"]


class Core(Downloads, Actions):
    # -- tabs ----------------------------------------------------------------------------------------------

    def redownload(self, order_id: str) -> OrderRecord:
        return self.ledger.accept_update(self.store, order_id, self.now())

    def dismiss(self, order_id: str) -> bool:
        return self.ledger.dismiss_update(self.store, order_id)
