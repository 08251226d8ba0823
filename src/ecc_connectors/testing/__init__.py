"""The testing kit: fake stores that speak each cart's real dialect over a real local socket.

Use them in your own tests, or to try the SDK with no credentials::

    from ecc_connectors.testing import FakeMagentoStore

    with FakeMagentoStore(order_count=100) as store:
        driver = Magento2Driver(store.base_url, auth=BearerToken(store.token))
        ...

Each fake runs in its own thread on ``127.0.0.1`` with an ephemeral port, and has knobs for latency, throttling
(429 with ``Retry-After``), server errors, dropped connections and edits made "in the store" while you test.

To write a fake for your own cart, start from :class:`FakeStore` (``ecc_connectors.testing.base``): the server,
request log, hooks, faults, rate limit, clock and route table are there; you add the store's dialect. To prove
a driver against it, see ``ecc_connectors.testing.conformance`` and its pytest plugin. To unit-test one flow of a
driver with the engine's own retry, pacing and clock rules, run it with :class:`SyncIO` or :class:`AsyncIO` over an
``httpx`` client of your own (``httpx.MockTransport``, a fake store), with ``sleep`` injected so nothing waits;
:class:`RateLimiter` is the pacing they apply for a driver's ``Limits(rate, burst)``, to check on a clock of your
own when a send would go out.
"""

from .._io import AsyncIO, RateLimiter, SyncIO
from ._magento import Churn, ChurnEvent, FakeMagentoStore, MagentoOAuthKeys, ReceivedRequest
from ._magento_conformance import MagentoConformanceStore
from ._netsuite import FakeSuiteTalk
from .base import FakeStore
from .magento_main import FakeMagentoProcess, spawn_fake_magento

__all__ = [
    "AsyncIO",
    "Churn",
    "ChurnEvent",
    "FakeMagentoProcess",
    "FakeMagentoStore",
    "FakeStore",
    "FakeSuiteTalk",
    "MagentoConformanceStore",
    "MagentoOAuthKeys",
    "RateLimiter",
    "ReceivedRequest",
    "SyncIO",
    "spawn_fake_magento",
]
