"""A fake Ecwid store for tests: Ecwid's REST API v3 dialect over a real local socket.

``EcwidShop`` and ``route`` are the dialect as plain functions over an in-memory shop (no sockets), usable to
drive the driver's flows directly; ``FakeEcwidStore`` serves the same handlers as routes on the SDK's fake-store
base (``ecc_connectors.testing.base.FakeStore``: request log, hooks, faults, rate limit, store clock) on
``127.0.0.1``.
"""

from ._dialect import FULFILMENT, PAYMENT, Answer, EcwidShop, Received, route
from ._server import FakeEcwidStore

__all__ = ["FULFILMENT", "PAYMENT", "Answer", "EcwidShop", "FakeEcwidStore", "Received", "route"]
