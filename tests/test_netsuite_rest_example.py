"""``examples/netsuite_rest_items_phone_order.py`` runs against the fake when no credentials are set."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "netsuite_rest_items_phone_order.py"


def test_the_phone_order_example_runs_on_the_fake(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("NETSUITE_ACCOUNT", "NETSUITE_CLIENT_ID", "NETSUITE_AUTH"):
        monkeypatch.delenv(name, raising=False)
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "using the fake NetSuite REST endpoint" in out
    assert "TD-100" in out
    assert "created sales order SO" in out
    assert "download afterwards: 0 new, 1 unchanged" in out
