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

``--rate R`` makes the store enforce R requests per second the way a proxy in front of a store does, through
the fake's ``rate_limit`` knob: a request that would make more than R in the last second is answered 429 with
``Retry-After`` (seconds until a place frees, rounded up), and counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Any

from ecc_connectors.testing._magento import FakeMagentoStore


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def _edit(store: FakeMagentoStore, count: int, seed: int, statuses: str = "") -> list[int]:
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
    store = FakeMagentoStore(
        rate_limit=args.rate,
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
            stats = store.stats
            answer: dict[str, Any] = {"requests": stats["requests"], "rate_limited": stats["throttled"],
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
