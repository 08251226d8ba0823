"""The installed ``ecc-connectors`` console script, run in real subprocesses against fake stores on real sockets.

One session as a newcomer would type it: ``fake`` starts a store in its own process and writes a config file,
``check`` reads it; then, against a fake Magento store in this process (so the test can edit it and count what it
received), ``init`` -> ``plan`` -> ``download`` -> ``tabs`` -> ``ship`` / ``acknowledge`` / ``cancel`` ->
``reconcile``. Every ``--json`` output is parsed, every exit code checked, and no output carries the token.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ecc_connectors import policy_from_toml
from ecc_connectors.testing import FakeMagentoStore

SCRIPT = str(Path(sys.executable).with_name("ecc-connectors"))
TOKEN = "subprocess-token-31c4b7aa"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECC_", "MAGENTO_", "NETSUITE_"))}
    env["COLUMNS"] = "160"
    return env


def cli(cwd: Path, *args: str) -> tuple[int, Any, str, str]:
    """``(exit code, parsed JSON or None, stdout, stderr)`` of one run of the console script."""
    done = subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    parsed = json.loads(done.stdout) if "--json" in args and done.stdout.strip() else None
    assert TOKEN not in done.stdout + done.stderr
    return done.returncode, parsed, done.stdout, done.stderr


def test_fake_serves_a_store_that_check_reads_then_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [SCRIPT, "fake", "magento2", "--json", "--write-config", "store.toml", "--set", "order_count=12"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["driver"] == "magento2"
        assert first["settings"]["base_url"] == first["base_url"]
        assert first["env"]["MAGENTO_BASE_URL"] == first["base_url"]
        assert "MAGENTO_ACCESS_TOKEN" in first["env"]
        code, report, _, err = cli(tmp_path, "-c", "store.toml", "check", "--json")
        assert code == 0, err
        assert report["capabilities"]["seek_orders"]["result"] == "ok"
        assert f"{12 + 2} in the store" in report["capabilities"]["seek_orders"]["detail"]  # 12 + one edited pair
        assert first["settings"]["access_token"] not in json.dumps(report)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


@pytest.fixture
def store() -> Iterator[FakeMagentoStore]:
    with FakeMagentoStore(order_count=30, seed=5, tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path, store: FakeMagentoStore) -> Path:
    (tmp_path / "ecc-connectors.toml").write_text(
        f'driver = "magento2"\npolicy = "policy.toml"\nledger = "orders.db"\n\n'
        f'[settings]\nbase_url = "{store.base_url}"\naccess_token = "{TOKEN}"\n'
    )
    return tmp_path


def test_a_whole_session_through_the_console_script(workdir: Path, store: FakeMagentoStore) -> None:
    # check: people's text, no token
    code, _, text, _ = cli(workdir, "check")
    assert code == 0
    assert "credentials  accepted" in text

    # init: a commented policy from the store's statuses; acknowledgement turned on by hand, as a user would
    code, summary, _, err = cli(workdir, "init", "--since", "2000-01-01", "--unselected", "ignore_tab", "--json")
    assert code == 0, err
    policy_text = (workdir / "policy.toml").read_text()
    policy_text = policy_text.replace('status = false\ncomment = "Order', 'status = "pending"\ncomment = "Order')
    (workdir / "policy.toml").write_text(policy_text)
    assert policy_from_toml(policy_text).acknowledgement.status == "pending"
    assert len(summary["statuses"]) == 9

    # plan: nothing written
    code, plan, _, err = cli(workdir, "plan", "--json")
    assert code == 0, err
    assert not (workdir / "orders.db").exists()

    # download: what the plan said
    code, report, _, err = cli(workdir, "download", "--json")
    assert code == 0, err
    assert report["downloaded"] == plan["totals"]["orders"] > 0
    assert report["ignored"] == plan["totals"]["ignore"]

    # tabs: an order edited in the store becomes an Update with its field change
    code, orders, _, _ = cli(workdir, "tabs", "orders", "--status", "processing", "--json")
    assert code == 0
    assert orders
    assert {o["status"] for o in orders} == {"processing"}
    edited, kept = orders[0]["order_id"], orders[1]["order_id"]
    store.edit_order(int(edited), {"shipping_address": {"city": "Subprocess City"}})
    store.edit_order(int(kept), {"shipping_address": {"city": "Not Wanted"}})
    code, report, _, _ = cli(workdir, "download", "--json", "--quiet")
    assert code == 0
    assert report["updates"] == 2
    code, updates, _, _ = cli(workdir, "tabs", "updates", "--json")
    assert sorted(u["order_id"] for u in updates) == sorted([edited, kept])
    code, dismissed, _, _ = cli(workdir, "tabs", "dismiss", kept, "--json")
    assert code == 0
    assert dismissed["dismissed"] is True
    code, shown, _, _ = cli(workdir, "tabs", "show", edited, "--json")
    assert {"path": "shipping_address.city", "new": "Subprocess City"}.items() <= next(
        c for c in shown["update"]["changes"] if c["path"] == "shipping_address.city"
    ).items()
    code, _, _, _ = cli(workdir, "tabs", "redownload", edited, "--json")
    assert code == 0
    code, updates, _, _ = cli(workdir, "tabs", "updates", "--json")
    assert updates == []
    code, ignored, _, _ = cli(workdir, "tabs", "ignore", "--json")
    assert code == 0
    assert {o["tab"] for o in ignored} == {"ignore"}

    # ship twice, from two processes: one shipment
    shipped = orders[-1]["order_id"]
    before = len(store.shipments(int(shipped)))  # the seeded store may hold a partial shipment already
    code, first, _, err = cli(workdir, "ship", shipped, "-t", "1ZSUB", "--json")
    assert code == 0, err
    code, second, _, _ = cli(workdir, "ship", shipped, "-t", "1ZSUB", "--json")
    assert code == 0
    assert second["shipment_id"] == first["shipment_id"]
    assert len(store.shipments(int(shipped))) == before + 1

    # acknowledge and cancel a pending order
    pending = next(str(o["entity_id"]) for o in store.orders() if o["status"] == "pending")
    code, _, _, err = cli(workdir, "acknowledge", pending, "--json")
    assert code == 0, err
    code, data, _, _ = cli(workdir, "cancel", pending, "--json")
    assert code == 1
    assert data["error"]["type"] == "Aborted"
    code, _, _, err = cli(workdir, "cancel", pending, "--yes", "--json")
    assert code == 0, err
    assert store.order(int(pending))["state"] == "canceled"

    # reconcile: an order that appeared behind the high-water mark
    late = store.generate_order(state="processing", created=datetime(2001, 5, 1, tzinfo=timezone.utc))
    code, reconciled, _, err = cli(workdir, "reconcile", "--start", "2000-01-01", "--json")
    assert code == 0, err
    assert reconciled["missing"] == 1
    code, shown, _, _ = cli(workdir, "tabs", "show", str(late), "--json")
    assert code == 0
    assert shown["order"]["status"] == "processing"


def test_failures_and_bad_credentials_through_the_console_script(workdir: Path, store: FakeMagentoStore) -> None:
    code, _, _, _ = cli(workdir, "init", "--since", "2000-01-01", "--json")
    assert code == 0
    store.add_malformed_order("bad_date")
    code, report, _, _ = cli(workdir, "download", "--json")
    assert code == 3
    assert report["failures"] == 1
    code, failures, _, _ = cli(workdir, "tabs", "failures", "--json")
    assert code == 0
    assert len(failures) == 1
    wrong = "wrong-subprocess-token-99"
    config = workdir / "ecc-connectors.toml"
    config.write_text(config.read_text().replace(TOKEN, wrong))
    code, data, out, err = cli(workdir, "check", "--json")
    assert code == 1
    assert data["error"]["type"] == "AuthenticationError"
    assert wrong not in out + err
    code, data, _, _ = cli(workdir, "download", "--driver", "no-such-driver", "--json")
    assert code == 2
    assert "no driver named" in data["error"]["message"]
    code, drivers, _, _ = cli(workdir, "drivers", "--json")
    assert code == 0
    assert {"magento2", "netsuite"} <= {d["name"] for d in drivers if d["fake"]}


def test_without_the_cli_extra_the_script_says_what_to_install(tmp_path: Path) -> None:
    code = "import sys; sys.modules['typer'] = None\nfrom ecc_connectors.cli import main\nsys.exit(main(['check']))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'ecc-connectors[cli]'" in done.stderr
    assert "Traceback" not in done.stderr
