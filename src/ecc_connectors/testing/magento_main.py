"""Run the fake Magento store on its own, or in a child process (for benchmarks).

    python -m ecc_connectors.testing.magento_main --orders 8000 --latency 0.25 --port 0

prints the base URL on the first line of stdout (then a JSON line with the token and counts) and serves until
interrupted. :func:`spawn_fake_magento` does the same from Python and hands back the URL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from types import TracebackType

from ._magento import DEFAULT_TOKEN, FakeMagentoStore

__all__ = ["FakeMagentoProcess", "main", "spawn_fake_magento"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecc_connectors.testing.magento_main",
        description="Serve a fake Magento 2 store on 127.0.0.1.",
    )
    parser.add_argument("--orders", type=int, default=40, help="generated orders (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", help=f"accepted bearer token (default {DEFAULT_TOKEN})")
    parser.add_argument("--max-page-size", type=int, default=300)
    parser.add_argument("--edited-pairs", type=int, default=1)
    return parser


def build_store(argv: Sequence[str] | None = None) -> FakeMagentoStore:
    args = _parser().parse_args(argv)
    return FakeMagentoStore(
        seed=args.seed,
        order_count=args.orders,
        edited_pairs=args.edited_pairs,
        latency=args.latency,
        host=args.host,
        port=args.port,
        tokens=args.token or (DEFAULT_TOKEN,),
        max_page_size=args.max_page_size,
    )


def main(argv: Sequence[str] | None = None) -> int:
    store = build_store(argv)
    store.start()
    print(store.base_url, flush=True)
    print(
        json.dumps({"base_url": store.base_url, "token": store.token, "orders": len(store.order_ids())}),
        flush=True,
    )
    store.serve_forever()
    return 0


class FakeMagentoProcess:
    """A fake store running in a child Python process; ``stop()`` (or leaving the ``with``) ends it."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, token: str) -> None:
        self.process = process
        self.base_url = base_url
        self.token = token

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeMagentoProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def spawn_fake_magento(
    *args: str, orders: int = 40, latency: float = 0.0, seed: int = 0
) -> FakeMagentoProcess:
    """Start ``magento_main`` in a child process and wait for its URL: the store is ready on return."""
    command = [
        sys.executable,
        "-m",
        "ecc_connectors.testing.magento_main",
        "--orders",
        str(orders),
        "--latency",
        str(latency),
        "--seed",
        str(seed),
        *args,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    info_line = process.stdout.readline()
    if not info_line:
        process.wait()
        raise RuntimeError(f"the fake Magento process exited with {process.returncode} before serving")
    info = json.loads(info_line)
    return FakeMagentoProcess(process, str(info["base_url"]), str(info["token"]))


if __name__ == "__main__":
    sys.exit(main())
