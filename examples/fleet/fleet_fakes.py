"""A fleet of fake Magento stores in one process, the registry that points the workers at them, and the record
the fakes keep of who listed which store when.

    python examples/fleet/fleet_fakes.py --stores 50 --orders 200 --latency 0.1 --registry /tmp/fleet/fleet.toml

starts the stores on 127.0.0.1 (a port each), writes the registry (every store's token by reference to
``FLEET_TOKEN``, printed), and serves until Ctrl-C; then it prints, per store, whether two syncers ever listed it
at once (each request carries the syncer's ``X-Ecc-Syncer`` header: the registry sets ``tag_requests``).

``bench.py`` beside it imports :class:`FakeFleet` to run the benchmark in one command.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

from ecc_connectors.contrib.celery import SYNCER_HEADER
from ecc_connectors.testing import FakeMagentoStore
from ecc_connectors.testing.base import ReceivedRequest

HERE = Path(__file__).resolve().parent


class FakeFleet:
    """``stores`` fake Magento stores of ``orders`` orders each, answering after ``latency`` seconds."""

    def __init__(self, stores: int, orders: int, latency: float, *, page_size: int = 100) -> None:
        self.page_size = page_size
        self.fakes = [
            FakeMagentoStore(order_count=orders, seed=n, edited_pairs=0, latency=latency, max_page_size=300)
            for n in range(stores)
        ]
        self.lock = threading.Lock()
        self.listings: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.on_listing: Any = None  # called (name, tag, n-th listing of that tag) for each listing request

    @staticmethod
    def name(n: int) -> str:
        return f"shop-{n:03d}"

    def start(self) -> FakeFleet:
        for n, fake in enumerate(self.fakes):
            fake.on_request(self._recorder(self.name(n)))
            fake.start()
        return self

    def stop(self) -> None:
        for fake in self.fakes:
            fake.stop()

    def _recorder(self, name: str) -> Any:
        def record(request: ReceivedRequest) -> None:
            if request.method != "GET" or not request.path.rstrip("/").endswith("/V1/orders"):
                return
            tag = request.headers.get(SYNCER_HEADER) or request.headers.get(SYNCER_HEADER.lower()) or "untagged"
            with self.lock:
                self.listings[name].append((time.monotonic(), tag))
                count = sum(1 for _, t in self.listings[name] if t == tag)
            if self.on_listing is not None:
                self.on_listing(name, tag, count)

        return record

    def write_registry(self, folder: Path, *, schema: str = "ecc", per_second: float = 20, burst: int = 10) -> Path:
        """The registry of this fleet in ``folder`` (with the example policy beside it)."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "policy.toml", folder / "policy.toml")
        lines = [
            "[fleet]",
            'ledger = "env:ECC_LEDGER_DSN"',
            f'ledger_schema = "{schema}"',
            'redis = "env:ECC_REDIS_URL"',
            "tag_requests = true",
            "download_every = 5",
            'reconcile_at = "02:00"',
            "",
        ]
        for n, fake in enumerate(self.fakes):
            lines += [
                f'[stores."{self.name(n)}"]',
                'driver = "magento2"',
                'policy = "policy.toml"',
                f"rate = {{ per_second = {per_second}, burst = {burst} }}",
                f'settings = {{ base_url = "{fake.base_url}", access_token = "env:FLEET_TOKEN", '
                f'page_size = "{self.page_size}" }}',
                "",
            ]
        path = folder / "fleet.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    @property
    def token(self) -> str:
        return self.fakes[0].token

    def overlaps(self) -> dict[str, list[tuple[str, str]]]:
        """Per store, the pairs of syncers whose listing requests interleaved (empty: never two at once)."""
        found: dict[str, list[tuple[str, str]]] = {}
        with self.lock:
            for name, hits in self.listings.items():
                spans: dict[str, tuple[float, float]] = {}
                for at, tag in hits:
                    first, last = spans.get(tag, (at, at))
                    spans[tag] = (min(first, at), max(last, at))
                ordered = sorted(spans.items(), key=lambda item: item[1])
                clashes = [(a, b) for (a, (_, end)), (b, (start, _)) in itertools.pairwise(ordered) if start <= end]
                if clashes:
                    found[name] = clashes
        return found

    def listing_count(self) -> int:
        with self.lock:
            return sum(len(hits) for hits in self.listings.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--registry", type=Path, default=Path("fleet-run/fleet.toml"))
    parser.add_argument("--schema", default="ecc_fleet_example")
    args = parser.parse_args()
    fleet = FakeFleet(args.stores, args.orders, args.latency).start()
    path = fleet.write_registry(args.registry.parent, schema=args.schema)
    print(f"{args.stores} fake stores up; registry: {path}")
    print(f"export ECC_FLEET_REGISTRY={path} FLEET_TOKEN={fleet.token}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stop.wait()
    fleet.stop()
    overlaps = fleet.overlaps()
    print(json.dumps({"listing_requests": fleet.listing_count(), "stores_synced_twice_at_once": overlaps}, indent=2))


if __name__ == "__main__":
    main()
