"""The fake Magento store in its own process, for the benchmarks, with a control channel on stdin/stdout.

    python benchmarks/_fake_server.py --orders 8000 --latency 0.25 [--rate 10] [--max-page-size 1000]

Prints one JSON line ``{"api_url", "token", "orders", "pid"}`` once it serves, then answers one JSON line per
command read from stdin:

* ``stats``: requests served, 429s sent, and the process's own CPU seconds (so a run can show the fake was
  never the bottleneck);
* ``edit <count> <seed> [status,status...]``: change the shipping city of ``count`` orders (among those in the
  given statuses) chosen with ``seed``, through the fake's ``edit_order`` knob, which bumps ``updated_at``;
  answers with their entity ids;
* ``quit``.

``--rate R`` makes the store enforce R requests per second the way a proxy in front of a store does: a request
that would make more than R in the last second is answered 429 with ``Retry-After`` (seconds until a slot
frees, rounded up). The testing kit's fake has no such knob, so this wrapper adds it around the fake's request
path (``_handle``) without changing the fake itself.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import sys
import threading
import time
from typing import Any

from ecc_connectors.testing._magento import FakeMagentoStore, _error_response


class RateLimitedStore(FakeMagentoStore):
    """The fake store behind a sliding one-second window of at most ``rate`` requests."""

    def __init__(self, *, rate: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self._window: collections.deque[float] = collections.deque()
        self._window_lock = threading.Lock()
        self.rate_limited = 0
        self.served = 0

    def _admit(self) -> float | None:
        """``None`` when the request may pass, else the seconds until it could."""
        if not self.rate:
            return None
        now = time.monotonic()
        with self._window_lock:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate:
                self.rate_limited += 1
                return 1.0 - (now - self._window[0])
            self._window.append(now)
            return None

    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes, full_url: str) -> Any:
        with self._window_lock:
            self.served += 1
        wait = self._admit()
        if wait is not None:
            retry_after = str(max(1, math.ceil(wait)))
            return _error_response(429, "Too Many Requests", [], {"Retry-After": retry_after})
        return super()._handle(method, raw_path, headers, body, full_url)


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def _edit(store: RateLimitedStore, count: int, seed: int, statuses: str = "") -> list[int]:
    wanted = set(statuses.split(",")) if statuses else None
    ids = sorted(int(o["entity_id"]) for o in store.orders() if wanted is None or o["status"] in wanted)
    chosen = sorted(random.Random(seed).sample(ids, count))
    for entity_id in chosen:
        store.edit_order(entity_id, {"shipping_address": {"city": f"Edited City {entity_id}"}})
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--max-page-size", type=int, default=300, help="0: no input limit")
    parser.add_argument("--default-page-size", type=int, default=20, help="0: all orders without pageSize")
    args = parser.parse_args(argv)
    store = RateLimitedStore(
        rate=args.rate,
        seed=args.seed,
        order_count=args.orders,
        edited_pairs=0,
        latency=args.latency,
        max_page_size=args.max_page_size or None,
        default_page_size=args.default_page_size or None,
    )
    store.start()
    print(json.dumps({"api_url": store.api_url(), "token": store.token, "orders": len(store.order_ids()),
                      "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "stats":
            answer: dict[str, Any] = {"requests": store.served, "rate_limited": store.rate_limited,
                                      "cpu_seconds": _cpu_seconds()}
        elif command == "edit":
            answer = {"edited": _edit(store, int(rest[0]), int(rest[1]), *rest[2:3])}
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    store.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
