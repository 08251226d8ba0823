"""The fake Magento store in its own process, for the benchmarks, with a control channel on stdin/stdout.

    python benchmarks/_fake_server.py --orders 8000 --latency 0.25 [--rate 10] [--max-page-size 1000]
                                      [--php-json] [--gzip]

Prints one JSON line ``{"api_url", "token", "orders", "pid"}`` once it serves, then answers one JSON line per
command read from stdin:

* ``stats [reset]``: requests served, 429s sent and the process's own CPU seconds (so a run can show the fake
  was never the bottleneck), all since the store started; and since the last ``stats reset``: requests by kind
  (``listing`` whole-order pages, ``keys`` key pages of the reconcile listing, ``probes`` one-row key probes,
  ``order`` single-order reads), the seconds from the first to the last request of each kind, and the rows the
  whole-order listings served (``rows_served``; ``rows_distinct`` orders; ``rows_repeated``: orders served
  more than once);
* ``set <knob> <value>``: ``php_json`` / ``gzip`` (0 or 1; the store re-renders what it keeps) or ``latency``
  (seconds);
* ``edit <count> <seed> [status,status...]``: change the shipping city of ``count`` orders (among those in the
  given statuses) chosen with ``seed``, through the fake's ``edit_order`` knob, which bumps ``updated_at``;
  answers with their entity ids;
* ``edit-behind <count> <seed> [statuses]``: change the city of ``count`` orders and move their ``updated_at``
  one second forward only (an import or a direct database write: the stamp stays far behind any high-water
  mark); chosen among the older 90 % of the orders, never one an earlier edit command changed;
* ``edit-content <count> <seed> [statuses]``: change the city of ``count`` orders and leave ``updated_at`` as it
  was (the key listing cannot see it, only a content comparison can); never one an earlier edit command changed;
* ``churn <edit> <create> <listings> <seed>``: an ``on_request`` hook edits ``edit`` orders (``edit_order``,
  which stamps them now) and creates ``create`` orders (``generate_order``), spread evenly over the whole-order
  listings from the second one after this command to the ``listings + 1``-th; ``churn-stop`` turns it off and
  answers with what it did;
* ``keys``: every order's ``{entity_id: updated_at}``;
* ``quit``.

``--rate R`` makes the store enforce R requests per second the way a proxy in front of a store does, through
the fake's ``rate_limit`` knob: a request that would make more than R in the last second is answered 429 with
``Retry-After`` (seconds until a place frees, rounded up), and counted.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import operator
import os
import random
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from ecc_connectors.testing._magento import FakeMagentoStore, ReceivedRequest

try:  # the kit's search pieces (see BenchStore); without them the store counts and searches the kit's way
    from ecc_connectors.testing._magento_search import _compare_key, _current_page, _Found, _matches
except ImportError:  # pragma: no cover
    _compare_key = _current_page = _Found = _matches = None

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# Since the last ``stats reset``: requests by kind, when each kind was first and last received, and how many
# times each order was served by a whole-order listing.
STATE: dict[str, Any] = {"kinds": Counter(), "first": {}, "last": {}, "served": Counter()}
STATE_LOCK = threading.Lock()
EDITED: set[int] = set()  # orders an earlier edit command changed: later ones pick others


def _kind(request: ReceivedRequest) -> str:
    if request.method != "GET" or "/V1/orders" not in request.path:
        return "other"
    if not request.path.rstrip("/").endswith("/V1/orders"):
        return "order"
    query = dict(request.query)
    if "fields" in query:
        return "probes" if query.get("searchCriteria[pageSize]") == "1" else "keys"
    return "listing"


def _count(request: ReceivedRequest) -> None:
    kind = _kind(request)
    with STATE_LOCK:
        STATE["kinds"][kind] += 1
        STATE["first"].setdefault(kind, request.received_at)
        STATE["last"][kind] = request.received_at


_KEYSET_SORT = (("updated_at", "ASC"), ("entity_id", "ASC"))
_RANGE = frozenset({"gt", "gteq", "lt", "lteq"})
_OPS = {"gt": operator.gt, "gteq": operator.ge, "lt": operator.lt, "lteq": operator.le}


class _Index:
    """The orders a set of filter groups (none naming ``updated_at`` or ``entity_id``) matches, sorted by
    ``(updated_at, entity_id)`` as the kit sorts them: ``ids`` with their ``updated_at`` (lower case: the kit
    compares text in lower case) and ``entity_id`` (a number) in parallel lists; ``records``: the stored record
    each was read from, so a write is found by identity and only what changed is placed again."""

    def __init__(self) -> None:
        self.version = -1
        self.records: dict[int, Any] = {}
        self.keys: list[tuple[str, float]] = []
        self.ids: list[int] = []
        self.texts: list[str] = []
        self.numbers: list[float] = []

    def remove(self, key: tuple[str, float]) -> None:
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            for column in (self.keys, self.ids, self.texts, self.numbers):
                del column[at]

    def add(self, key: tuple[str, float], entity_id: int) -> None:
        at = bisect.bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.ids.insert(at, entity_id)
        self.texts.insert(at, key[0])
        self.numbers.insert(at, key[1])


def _key_of(row: Mapping[str, Any]) -> tuple[str, float] | None:
    stamp, number = row.get("updated_at"), row.get("entity_id")
    if not isinstance(stamp, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    return stamp.lower(), float(number)


class BenchStore(FakeMagentoStore):
    """The testing kit's store, counting the orders its whole-order listings serve (ids, not bytes), and
    answering keyset searches from a sorted index.

    The kit's store evaluates every search row by row, under its lock, and caches it per filter set and store
    version. That suits offset pages (one filter set per download) but not the keyset listing, whose every
    request has its own bounds: 80 to 110 ms of the store's CPU per request for 8,000 orders, serialized, so
    eight slices' requests queue for 0.7 s behind each other and the store, not the client, sets the pace (and
    with edits during a download every write starts the search afresh). A real store answers from its index on
    ``updated_at``. So here, for searches sorted by ``(updated_at, entity_id)``: the filter groups that name
    neither field are kept as an index sorted by that key, updated after a write for the orders whose record
    changed; the single-filter ``updated_at`` range groups narrow it by bisection; the other groups on the two
    fields are decided with the kit's own comparison (``_compare_key``, once per filter), any other group by the
    kit's ``_matches``. The answer is the kit's own, row for row: ``--check-search`` compares every answer with
    the kit's search. Anything else (other sorts, ``shuffle_ties``, leaked orders) goes to the kit unchanged.
    """

    check_search = False
    fast_search = True

    def _matching(self, criteria: Any) -> Any:
        try:
            found = self._keyset_matching(criteria)
        except Exception:  # the kit's internals moved: its own search answers, only slower
            found = None
        if found is None:
            return super()._matching(criteria)
        if self.check_search:
            expected = super()._matching(criteria)
            if expected.ids != found.ids:
                raise AssertionError(f"fast search differs from the kit's: {criteria}")
        return found

    def _index(self, base: Any) -> _Index | None:
        """The index of the filter groups ``base`` (a criteria), brought up to the store's version."""
        indexes: dict[Any, _Index] = self.__dict__.setdefault("_bench_indexes", {})
        key = base.filter_key()
        index = indexes.get(key)
        orders: dict[int, Any] = self._orders
        if index is None:
            index = _Index()
            for entity_id in super()._matching(base).ids:
                row_key = _key_of(orders[entity_id].row)
                if row_key is None:
                    return None
                index.keys.append(row_key)
                index.ids.append(entity_id)
            if any(a > b for a, b in itertools.pairwise(index.keys)):
                return None
            index.texts = [k[0] for k in index.keys]
            index.numbers = [k[1] for k in index.keys]
            index.records = dict(orders)
            index.version = self._version
            indexes[key] = index
            return index
        if index.version == self._version:
            return index
        seen = index.records
        changed = [i for i, record in orders.items() if seen.get(i) is not record]
        changed += [i for i in seen if i not in orders]
        for entity_id in changed:
            old = seen.get(entity_id)
            if old is not None:
                old_key = _key_of(old.row)
                if old_key is not None:
                    index.remove(old_key)
            record = orders.get(entity_id)
            if record is None:
                continue
            new_key = _key_of(record.row)
            if new_key is None:
                indexes.pop(key, None)
                return None
            if all(any(_matches(record.row, f) for f in g) for g in base.groups):
                index.add(new_key, entity_id)
        index.records = dict(orders)
        index.version = self._version
        return index

    def _keyset_matching(self, criteria: Any) -> Any:
        if not self.fast_search or tuple(criteria.sorts) != _KEYSET_SORT:
            return None
        if self.shuffle_ties or getattr(self, "_leaks", True):
            return None
        groups = criteria.groups
        base_groups = [g for g in groups if all(f.field not in ("updated_at", "entity_id") for f in g)]
        pure = [g[0] for g in groups if len(g) == 1 and g[0].field == "updated_at" and g[0].condition in _RANGE]
        rest = [g for g in groups if all(g is not b for b in base_groups)]
        if not pure:
            return None
        cache: dict[Any, Any] = self.__dict__.setdefault("_bench_found", {})
        if cache.get("version") != self._version:
            cache.clear()
            cache["version"] = self._version
        key = (criteria.filter_key(), criteria.sort_key())
        if key in cache:
            return cache[key]
        index = self._index(attrs.evolve(criteria, groups=base_groups))
        if index is None:
            return None
        texts, numbers = index.texts, index.numbers
        low, high = 0, len(texts)
        for flt in pure:
            wanted = _compare_key("", flt.value)[1]
            if flt.condition in ("gt", "gteq"):
                low = max(low, bisect.bisect_left(texts, wanted))
            else:
                high = min(high, bisect.bisect_right(texts, wanted))
        # The other groups, the kit's comparison done once per filter instead of once per row: ``updated_at`` as
        # lower-case text, ``entity_id`` as a number (``_compare_key``'s two branches). A group naming any other
        # field or condition, or an id that is no number, goes to the kit's ``_matches``.
        keep = list(range(low, high))
        slow = []
        for group in rest:
            tests = []
            for flt in group:
                if flt.condition not in _RANGE or flt.field not in ("updated_at", "entity_id"):
                    break
                wanted = _compare_key("" if flt.field == "updated_at" else 0, flt.value)[1]
                if flt.field == "entity_id" and not isinstance(wanted, float):
                    break
                tests.append((texts if flt.field == "updated_at" else numbers, _OPS[flt.condition], wanted))
            else:
                keep = [k for k in keep if any(op(column[k], wanted) for column, op, wanted in tests)]
                continue
            slow.append(group)
        ids = [index.ids[k] for k in keep]
        if slow:
            orders = self._orders
            ids = [i for i in ids if all(any(_matches(orders[i].row, f) for f in g) for g in slow)]
        found = _Found(ids)
        cache[key] = found
        return found

    def _search_orders(self, criteria: Any, page_size: int | None, tree: Any) -> Any:
        response = super()._search_orders(criteria, page_size, tree)
        if tree is None and _current_page is not None:
            try:
                ids = self._matching(criteria).ids  # cached: the search the answer was cut from
                if page_size is None or self.ignore_page_size:
                    chosen = ids
                else:
                    current = _current_page(criteria.current_page, len(ids), page_size)
                    chosen = ids[(current - 1) * page_size : current * page_size]
            except AttributeError:  # the fake's internals moved: counting is off, nothing else changes
                return response
            with STATE_LOCK:
                STATE["served"].update(chosen)
        return response


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def _rows(store: FakeMagentoStore) -> list[dict[str, Any]]:
    """Every order's top-level scalars (``entity_id``, ``status``, ``updated_at``...): the kit's own search rows
    when it has them (no JSON decoded), else the decoded orders (``store.orders()``, seconds for 20,000)."""
    try:
        with store._lock:
            return [dict(record.row) for record in store._orders.values()]
    except AttributeError:
        return store.orders()


def _candidates(store: FakeMagentoStore, statuses: str) -> list[dict[str, Any]]:
    wanted = set(statuses.split(",")) if statuses else None
    return sorted((o for o in _rows(store) if wanted is None or o["status"] in wanted),
                  key=lambda o: int(o["entity_id"]))


def _edit(store: FakeMagentoStore, count: int, seed: int, statuses: str = "") -> list[int]:
    ids = [int(o["entity_id"]) for o in _candidates(store, statuses)]
    chosen = sorted(random.Random(seed).sample(ids, count))
    for entity_id in chosen:
        store.edit_order(entity_id, {"shipping_address": {"city": f"Edited City {entity_id}"}})
    EDITED.update(chosen)
    return chosen


def _set_city(order: dict[str, Any], city: str) -> None:
    for assignment in order.get("extension_attributes", {}).get("shipping_assignments", []):
        assignment["shipping"]["address"]["city"] = city


def _edit_quietly(store: FakeMagentoStore, count: int, seed: int, statuses: str, *, stamp_step: int) -> list[int]:
    """Change orders without ``edit_order`` (which stamps them now): the stamp moves ``stamp_step`` seconds."""
    orders = [o for o in _candidates(store, statuses) if int(o["entity_id"]) not in EDITED]
    if stamp_step:
        # Never the newest orders: the new stamp must stay far behind the high-water mark of a download.
        orders = sorted(orders, key=lambda o: o["updated_at"])[: len(orders) * 9 // 10]
    chosen = [store.order(int(o["entity_id"])) for o in random.Random(seed).sample(orders, count)]
    for order in chosen:
        _set_city(order, f"Changed quietly {order['entity_id']}")
        if stamp_step:
            stamp = datetime.strptime(order["updated_at"], DATE_FORMAT) + timedelta(seconds=stamp_step)
            order["updated_at"] = stamp.strftime(DATE_FORMAT)
        store.add_order(order)  # same entity_id: replaces the stored order as is
    EDITED.update(int(o["entity_id"]) for o in chosen)
    return sorted(int(o["entity_id"]) for o in chosen)


class Churn:
    """An ``on_request`` hook: edits and creations spread evenly over ``listings`` whole-order listings, from the
    second listing on (the first one fixes the window: what changes before it is not "during the download")."""

    def __init__(self, store: FakeMagentoStore, edit: int, create: int, listings: int, seed: int) -> None:
        self.store = store
        self.queue = random.Random(seed).sample(store.order_ids(), edit)
        self.edit = edit
        self.create = create
        self.listings = max(1, listings)
        self.seen = 0
        self.edited: list[int] = []
        self.created: list[int] = []
        self.create_taken = 0
        self.active = True
        self.lock = threading.Lock()

    def _due(self, count: int) -> int:
        """How many of ``count`` changes are due once ``self.seen`` listings were received."""
        return min(count, math.ceil(count * (self.seen - 1) / self.listings))

    def __call__(self, request: ReceivedRequest) -> None:
        if not self.active or _kind(request) != "listing":
            return
        with self.lock:
            self.seen += 1
            wanted = self._due(self.edit) - (self.edit - len(self.queue))
            batch = [self.queue.pop() for _ in range(max(0, wanted))]
            make = max(0, self._due(self.create) - self.create_taken)
            self.create_taken += make  # taken now: a concurrent request does not create them too
        made = [self.store.generate_order() for _ in range(make)]
        for entity_id in batch:
            self.store.edit_order(entity_id, {"shipping_address": {"city": f"Churned {entity_id}"}})
        with self.lock:
            self.edited.extend(batch)
            self.created.extend(made)

    def stop(self) -> dict[str, Any]:
        with self.lock:
            self.active = False
            return {"edited": sorted(self.edited), "created": sorted(self.created), "listings": self.seen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--max-page-size", type=int, default=300, help="0: no input limit")
    parser.add_argument("--default-page-size", type=int, default=20, help="0: all orders without pageSize")
    parser.add_argument("--php-json", action="store_true", help="answers escaped like PHP's json_encode")
    parser.add_argument("--gzip", action="store_true", help="Content-Encoding: gzip when the client accepts it")
    parser.add_argument("--kit-search", action="store_true", help="search row by row, as the testing kit does")
    parser.add_argument("--check-search", action="store_true", help="compare every fast search with the kit's")
    args = parser.parse_args(argv)
    store = BenchStore(
        rate_limit=args.rate,
        seed=args.seed,
        order_count=args.orders,
        edited_pairs=0,
        latency=args.latency,
        max_page_size=args.max_page_size or None,
        default_page_size=args.default_page_size or None,
        php_json=args.php_json,
        gzip=args.gzip,
    )
    store.check_search = args.check_search
    store.fast_search = not args.kit_search
    store.on_request(_count)
    churn: Churn | None = None
    store.start()
    print(json.dumps({"api_url": store.api_url(), "token": store.token, "orders": len(store.order_ids()),
                      "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        command, *rest = line.split()
        answer: dict[str, Any]
        if command == "stats":
            stats = store.stats
            with STATE_LOCK:
                served = STATE["served"]
                answer = {"requests": stats["requests"], "rate_limited": stats["throttled"],
                          "cpu_seconds": _cpu_seconds(), "kinds": dict(STATE["kinds"]),
                          "spans": {k: round(STATE["last"][k] - t, 3) for k, t in STATE["first"].items()},
                          "rows_served": sum(served.values()), "rows_distinct": len(served),
                          "rows_repeated": sum(1 for n in served.values() if n > 1),
                          "repeated_ids": sorted(i for i, n in served.items() if n > 1)[:1000]}
                if rest == ["reset"]:
                    STATE.update(kinds=Counter(), first={}, last={}, served=Counter())
        elif command == "set":
            knob, value = rest
            if knob == "latency":
                store.latency = float(value)
            elif knob in ("php_json", "gzip"):
                setattr(store, knob, value == "1")
            else:
                raise SystemExit(f"unknown knob {knob!r}")
            answer = {knob: value}
        elif command == "edit":
            answer = {"edited": _edit(store, int(rest[0]), int(rest[1]), *rest[2:3])}
        elif command in ("edit-behind", "edit-content"):
            step = 1 if command == "edit-behind" else 0
            answer = {"edited": _edit_quietly(store, int(rest[0]), int(rest[1]), "".join(rest[2:3]),
                                              stamp_step=step)}
        elif command == "churn":
            churn = Churn(store, *(int(x) for x in rest[:4]))
            store.on_request(churn)
            answer = {"churn": True}
        elif command == "churn-stop":
            answer = churn.stop() if churn is not None else {"error": "no churn"}
        elif command == "keys":
            answer = {"keys": {str(o["entity_id"]): o["updated_at"] for o in _rows(store)}}
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    store.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
