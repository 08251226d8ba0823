"""What the per-cart download benchmarks (bigcommerce.py, woocommerce.py) share: their command line, a policy that
downloads every status, and one download timed through either shell."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime

from ecc_connectors import (
    AsyncConnector,
    Connector,
    DownloadRange,
    DownloadReport,
    Driver,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)


def every_status_since(start: datetime) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping((StatusRule("*"),)),
        range=DownloadRange(start=start),
        unselected=Unselected.IGNORE_TAB,
    )


def parse_arguments(description: str | None, argv: list[str] | None) -> argparse.Namespace:
    """``--orders``, ``--latency``, ``--concurrency``, ``--seed`` and ``--sync``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sync", action="store_true", help="use Connector instead of AsyncConnector")
    return parser.parse_args(argv)


def timed_download(driver: Driver, policy: SyncPolicy, sync: bool) -> tuple[DownloadReport, float]:
    """The report of one download into an in-memory ledger, and the seconds it took."""
    started = time.perf_counter()
    report = _sync(driver, policy) if sync else asyncio.run(_async(driver, policy))
    return report, time.perf_counter() - started


def orders_read(report: DownloadReport) -> int:
    return report.downloaded + report.ignored + report.skipped + report.failures


def _sync(driver: Driver, policy: SyncPolicy) -> DownloadReport:
    with Connector(driver, policy, SQLiteLedger()) as connector:
        return connector.download()


async def _async(driver: Driver, policy: SyncPolicy) -> DownloadReport:
    async with AsyncConnector(driver, policy, SQLiteLedger()) as connector:
        return await connector.download()
