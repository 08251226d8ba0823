"""Pieces several test modules share.

* Where the reference material (``../shared``) is, and what to do when it is missing: outside CI a test that
  needs it skips with the reason; under CI (``ECC_REQUIRE_SHARED=1``, set by ``.ci/run``) its absence fails the
  test, so a green CI always means the vendor specs and fixtures were checked.
* The download policy the Magento end-to-end tests run with (:func:`magento_policy`).
* :func:`in_threads`: one call on several threads at once, every exception kept for the test to assert on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ecc_connectors import DownloadRange, StatusMapping, StatusRule, SyncPolicy, Unselected

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ECC_SHARED_DIR", PROJECT_ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """The path under ``shared/``; skip (or fail under CI) when it is not there."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        message = f"reference material not found: {path} (set ECC_SHARED_DIR to the shared/ folder)"
        if os.environ.get("ECC_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def magento_policy(*more: StatusRule) -> SyncPolicy:
    """Magento's main statuses downloaded (pending unpaid; processing paid; complete paid and shipped), plus
    ``more`` rules, over the last ten years; any other status goes to the ignore tab."""
    rules = (
        StatusRule("pending"),
        StatusRule("processing", process_payment=False),
        StatusRule("complete", process_payment=False, process_shipping=False),
        *more,
    )
    return SyncPolicy(
        statuses=StatusMapping(rules),
        range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=3650)),
        unselected=Unselected.IGNORE_TAB,
    )


def in_threads(call: Callable[[], object], count: int) -> list[BaseException]:
    """Run ``call`` on ``count`` threads at once and wait for them all; what each raised, in no order (an
    exception on a thread would otherwise be lost, and the test pass)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
