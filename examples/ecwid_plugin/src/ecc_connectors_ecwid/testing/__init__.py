"""A fake Ecwid store for tests: Ecwid's REST API v3 dialect over a real local socket.

``EcwidShop`` and ``route`` are the dialect as plain functions over an in-memory shop (no sockets), usable to
drive the driver's flows directly; ``FakeEcwidStore`` serves them on ``127.0.0.1``.
"""

from ._dialect import FULFILMENT, PAYMENT, Answer, EcwidShop, Received, route
from ._server import FakeEcwidStore

__all__ = ["FULFILMENT", "PAYMENT", "Answer", "EcwidShop", "FakeEcwidStore", "Received", "route"]
