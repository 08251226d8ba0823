"""The WooCommerce download benchmark (benchmarks/woocommerce.py) at a tiny size: it reads every order and
reports its requests and bound consistently (the figures themselves are for `nox -s bench`, never asserted)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest


def test_the_benchmark_reads_every_order_and_reports_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "woocommerce.py"
    module = runpy.run_path(str(script))
    assert module["main"](["--orders", "250", "--latency", "0.002", "--concurrency", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["read"] == 250
    assert result["requests"] == sum(result["by_kind"].values())
    assert result["by_kind"]["pages"] >= 3  # 100 a page
    assert result["bound_seconds"] == pytest.approx((1 + 1) * 0.002)
