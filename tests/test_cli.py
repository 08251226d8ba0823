"""The ``ecc-connectors`` command line, driven in-process with Typer's CliRunner against fake stores on real sockets.

Each command is run as a user would (a config file in the working directory, flags, ``--json``), and its JSON
output, exit code and effect on the store and the ledger are checked. The same session through the installed
console script, in real subprocesses, is in ``test_cli_subprocess.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecc_connectors import (
    ChangeKind,
    SQLiteLedger,
    policy_from_toml,
)
from ecc_connectors.cli import app
from ecc_connectors.testing import FakeMagentoStore
from ecc_connectors.testing.base import HttpError, ReceivedRequest, Route

TOKEN = "cli-test-token-5f1d2c9e"
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str, str]:
    """``(exit code, parsed stdout JSON or None, stdout, stderr)``."""
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    parsed: Any = None
    if "--json" in args and result.stdout.strip():
        parsed = json.loads(result.stdout)
    return result.exit_code, parsed, result.stdout, result.stderr


@pytest.fixture
def store() -> Iterator[FakeMagentoStore]:
    with FakeMagentoStore(order_count=40, seed=3, tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: FakeMagentoStore) -> Path:
    monkeypatch.chdir(tmp_path)
    for variable in (
        "ECC_CONFIG",
        "ECC_DRIVER",
        "ECC_POLICY",
        "ECC_LEDGER",
        "MAGENTO_ACCESS_TOKEN",
        "MAGENTO_BASE_URL",
    ):
        monkeypatch.delenv(variable, raising=False)
    write_config(tmp_path / "ecc-connectors.toml", store.base_url, TOKEN)
    return tmp_path


def write_config(path: Path, base_url: str, token: str) -> None:
    path.write_text(f'driver = "magento2"\n\n[settings]\nbase_url = "{base_url}"\naccess_token = "{token}"\n')


def init_policy(*extra: str) -> dict[str, Any]:
    code, data, _, err = run("init", "--since", "2000-01-01", "--json", *extra)
    assert code == 0, err
    return dict(data)


# -- check ------------------------------------------------------------------------------------------------------


def test_check_reports_statuses_capabilities_and_hides_the_token(workdir: Path, store: FakeMagentoStore) -> None:
    code, data, out, err = run("check", "--json")
    assert code == 0, err
    assert data["ok"] is True
    assert data["authenticated"] is True
    codes = [s["code"] for s in data["statuses"]]
    assert {"pending", "processing", "complete", "canceled"} <= set(codes)
    assert data["settings"]["access_token"] == "***"
    assert data["credentials"] == ["access_token"]
    caps = data["capabilities"]
    assert caps["list_statuses"]["result"] == "ok"
    assert caps["seek_orders"]["result"] == "ok"
    assert f"{len(store.orders())} in the store" in caps["seek_orders"]["detail"]
    assert caps["get_order"]["result"] == "ok"
    assert caps["ship"]["result"] == "not probed"
    assert "/rest/default/V1" in data["wire"]["api_versions"]
    assert TOKEN not in out + err
    # The people's view says the same, and hides the token too.
    code, _, text, err = run("check")
    assert code == 0
    assert "accepted" in text
    assert "processing" in text
    assert "not probed" in text
    assert TOKEN not in text + err


def test_check_measures_the_store_clock_running_ahead(workdir: Path, store: FakeMagentoStore) -> None:
    store.set_clock(lambda: datetime.now(timezone.utc) + timedelta(seconds=300))
    code, data, _, _ = run("check", "--json")
    assert code == 0
    skew, margin = data["wire"]["clock_skew_seconds"], data["wire"]["clock_skew_margin_seconds"]
    assert abs(skew - 300) <= margin + 0.2
    assert margin <= 1.0
    _, _, text, _ = run("check")
    assert "ahead of" in text


def test_check_reports_the_throttling_it_met(workdir: Path, store: FakeMagentoStore) -> None:
    store.inject_429(count=1, retry_after=0.1)
    code, data, _, _ = run("check", "--json")
    assert code == 0  # retried through, as the engine does
    assert data["wire"]["throttled"] == 1
    assert data["wire"]["rate_limit_headers"]["retry-after"] == "0.1"
    # Refused twice in a row: the check does not wait for a busy store, it says so.
    store.inject_429(count=2, retry_after=0.1)
    code, data, _, _ = run("check", "--json")
    assert code == 3
    assert "throttled" in {r["result"] for r in data["capabilities"].values()}


def test_check_with_a_refused_token_exits_1_and_never_echoes_it(workdir: Path, store: FakeMagentoStore) -> None:
    wrong = "wrong-token-7c0ffee-secret"
    write_config(workdir / "ecc-connectors.toml", store.base_url, wrong)
    code, data, out, err = run("check", "--json")
    assert code == 1
    assert data["ok"] is False
    assert data["error"]["type"] == "AuthenticationError"
    assert wrong not in out + err
    code, _, out, err = run("check")
    assert code == 1
    assert "error:" in err
    assert wrong not in out + err


class _NoCatalogue(FakeMagentoStore):
    """A token whose integration lacks the catalogue ACL resource: products answer 401 naming it."""

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        super().check_auth(request, route)
        if route.auth == "Magento_Catalog::products":
            raise HttpError(401, "The consumer isn't authorized to access Magento_Catalog::products.")


def test_check_names_a_read_the_credentials_may_not_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with _NoCatalogue(order_count=5, tokens=(TOKEN,)) as limited:
        write_config(tmp_path / "ecc-connectors.toml", limited.base_url, TOKEN)
        code, data, _, _ = run("check", "--json")
    assert code == 3
    assert data["authenticated"] is True
    assert data["capabilities"]["search_items"]["result"] == "refused"
    assert data["capabilities"]["seek_orders"]["result"] == "ok"


def test_check_against_a_store_that_is_not_there_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(tmp_path / "ecc-connectors.toml", f"http://127.0.0.1:{port}", TOKEN)
    code, data, _, _ = run("check", "--json")
    assert code == 1
    assert data["error"]["type"] == "TransportError"


def test_check_reads_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: FakeMagentoStore
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"ECC_DRIVER": "magento2", "MAGENTO_BASE_URL": store.base_url, "MAGENTO_ACCESS_TOKEN": TOKEN}
    code, data, out, err = run("check", "--json", env=env)
    assert code == 0, err
    assert data["settings"]["base_url"] == store.base_url
    assert TOKEN not in out + err


def test_bad_settings_exit_2_naming_each_one_and_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "half-a-secret-9d8e7f"
    env = {"ECC_DRIVER": "magento2", "MAGENTO_BASE_URL": "not a url", "MAGENTO_CONSUMER_KEY": secret}
    code, data, out, err = run("check", "--json", env=env)
    assert code == 2
    assert "MAGENTO_BASE_URL" in data["error"]["message"]
    assert secret not in out + err


def test_no_driver_named_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECC_DRIVER", raising=False)
    code, data, _, _ = run("plan", "--json")
    assert code == 2
    assert "--driver" in data["error"]["message"]
    code, data, _, _ = run("check", "--driver", "magneto2", "--json")
    assert code == 2
    assert "did you mean 'magento2'" in data["error"]["message"]


# -- init, plan -------------------------------------------------------------------------------------------------


def test_init_writes_a_commented_policy_that_loads_and_fits_the_store(workdir: Path) -> None:
    summary = init_policy()
    text = (workdir / "policy.toml").read_text()
    assert text.count("[[statuses.rules]]") == len(summary["statuses"]) == 9
    assert "# " in text
    policy = policy_from_toml(text)
    rows = {rule.status: rule for rule in policy.statuses.rules}
    assert rows["processing"].download
    assert not rows["processing"].process_payment
    assert rows["pending"].download
    assert rows["pending"].process_payment
    assert not rows["complete"].download
    assert not rows["canceled"].download
    assert policy.post_back.status == "complete"
    assert policy.cancellation.status == "canceled"
    assert policy.acknowledgement.status is None
    assert summary["problems"] == []
    # An existing policy is never overwritten by accident.
    (workdir / "policy.toml").write_text("# mine\n")
    code, data, _, _ = run("init", "--json")
    assert code == 3
    assert "--force" in data["error"]["message"]
    assert (workdir / "policy.toml").read_text() == "# mine\n"
    code, _, _, _ = run("init", "--force", "--json")
    assert code == 0
    assert "[[statuses.rules]]" in (workdir / "policy.toml").read_text()


def test_plan_writes_nothing_and_predicts_the_download(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy("--unselected", "ignore_tab")
    code, plan, _, err = run("plan", "--json")
    assert code == 0, err
    assert not (workdir / "ecc-ledger.db").exists()  # a plan before the first download creates no ledger
    assert plan["problems"] == []
    by_status = {(row["status"], row["goes_to"]): row for row in plan["statuses"]}
    assert by_status[("processing", "orders")]["paid"] is True
    assert by_status[("processing", "orders")]["shipped"] is False
    assert ("complete", "ignore") in by_status
    code, report, _, err = run("download", "--json", "--quiet")
    assert code == 0, err
    assert report["downloaded"] == plan["totals"]["orders"]
    assert report["ignored"] == plan["totals"]["ignore"]
    assert report["updated_from"] == plan["window"]["updated_from"]
    with SQLiteLedger(workdir / "ecc-ledger.db") as ledger:
        before = ledger.dump()
    # An order edited in the store shows in the next plan as an update, and the plan leaves the ledger as it was.
    processing = next(int(o["entity_id"]) for o in store.orders() if o["status"] == "processing")
    store.edit_order(processing, {"shipping_address": {"city": "Planned City"}})
    code, plan, _, _ = run("plan", "--json")
    assert code == 0
    assert plan["totals"]["updates"] == 1
    assert plan["window"]["updated_from"] < report["updated_to"]  # it starts from the mark, minus the lookback
    with SQLiteLedger(workdir / "ecc-ledger.db") as ledger:
        assert ledger.dump() == before


def test_plan_lists_policy_problems_and_exits_3(workdir: Path) -> None:
    init_policy()
    path = workdir / "policy.toml"
    path.write_text(path.read_text().replace('status = "processing"', 'status = "procesing"'))
    code, plan, _, _ = run("plan", "--json")
    assert code == 3
    assert any("did you mean 'processing'" in problem for problem in plan["problems"])
    _, _, text, _ = run("plan")
    assert "procesing" in text


def test_a_policy_that_cannot_work_is_refused_before_the_store_is_read(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy()
    path = workdir / "policy.toml"
    path.write_text(
        path.read_text().replace(
            'start = "2000-01-01T00:00:00+00:00"',
            'start = "2000-01-01T00:00:00+00:00"\nend = "1999-01-01T00:00:00+00:00"',
        )
    )
    sent = len(store.requests)
    code, plan, _, _ = run("plan", "--json")
    assert code == 3
    assert plan["ok"] is False
    assert any(problem.startswith("range.end") for problem in plan["problems"])
    assert len(store.requests) == sent


def test_a_policy_file_that_does_not_load_exits_2(workdir: Path) -> None:
    (workdir / "policy.toml").write_text('unselected = "sometimes"\n')
    code, data, _, _ = run("download", "--json")
    assert code == 2
    assert "policy.toml" in data["error"]["message"]


# -- download, reconcile, tabs --------------------------------------------------------------------------------------


def test_download_with_an_unreadable_order_exits_3_and_the_order_is_in_failures(
    workdir: Path, store: FakeMagentoStore
) -> None:
    init_policy("--unselected", "ignore_tab")
    bad = store.add_malformed_order("bad_amount")
    code, report, _, _ = run("download", "--json", "--quiet")
    assert code == 3
    assert report["failures"] == 1
    assert report["ok"] is False
    code, failures, _, _ = run("tabs", "failures", "--json")
    assert code == 0
    assert [f["order_ref"] for f in failures] in ([str(bad)], [store.order(bad)["increment_id"]])
    code, _, text, _ = run("download")
    assert code == 3
    assert "tabs failures" in text


def test_download_prints_a_summary_and_a_second_run_finds_nothing_new(workdir: Path) -> None:
    init_policy()
    code, _, text, _ = run("download")
    assert code == 0
    assert "downloaded" in text
    code, report, _, _ = run("download", "--json", "--quiet")
    assert code == 0
    assert report["downloaded"] == 0
    assert report["pages"] >= 1


def test_tabs_list_filter_show_dismiss_and_redownload(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy("--unselected", "ignore_tab")
    run("download", "--json", "--quiet")
    code, orders, _, _ = run("tabs", "orders", "--json")
    assert code == 0
    assert orders
    assert all(o["tab"] == "orders" for o in orders)
    code, processing, _, _ = run("tabs", "orders", "--status", "processing", "--json")
    assert processing
    assert all(o["status"] == "processing" and o["paid"] for o in processing)
    assert {o["order_id"] for o in processing} < {o["order_id"] for o in orders}
    code, limited, _, _ = run("tabs", "orders", "-n", "2", "--json")
    assert len(limited) == 2
    code, ignored, _, _ = run("tabs", "ignore", "--json")
    assert ignored
    assert all(o["tab"] == "ignore" for o in ignored)
    first, second = processing[0]["order_id"], processing[1]["order_id"]
    for order_id in (first, second):
        store.edit_order(int(order_id), {"shipping_address": {"city": f"Moved {order_id}"}})
    run("download", "--json", "--quiet")
    code, updates, _, _ = run("tabs", "updates", "--json")
    assert {u["order_id"] for u in updates} == {first, second}
    code, shown, _, _ = run("tabs", "show", first, "--json")
    assert code == 0
    change = next(c for c in shown["update"]["changes"] if c["path"] == "shipping_address.city")
    assert change["kind"] == ChangeKind.SHIPPING_ADDRESS.value
    assert change["new"] == f"Moved {first}"
    code, _, text, _ = run("tabs", "show", first)
    assert f"Moved {first}" in text
    code, dismissed, _, _ = run("tabs", "dismiss", first, "--json")
    assert code == 0
    assert dismissed["dismissed"] is True
    code, accepted, _, _ = run("tabs", "redownload", second, "--json")
    assert code == 0
    assert accepted["order"]["order_id"] == second
    _, updates, _, _ = run("tabs", "updates", "--json")
    assert updates == []
    with SQLiteLedger(workdir / "ecc-ledger.db") as ledger:
        record = next(r for r in ledger.orders(ledger_store(ledger)) if r.order_id == second)
    assert record.order.shipping_address is not None
    assert record.order.shipping_address.city == f"Moved {second}"
    code, data, _, _ = run("tabs", "dismiss", first, "--json")
    assert code == 1
    assert data["error"]["type"] == "NotFound"
    code, data, _, _ = run("tabs", "show", "no-such-order", "--json")
    assert code == 1


def ledger_store(ledger: SQLiteLedger) -> str:
    stores = {row[0] for row in ledger.dump()["orders"]}
    assert len(stores) == 1
    return str(stores.pop())


def test_tabs_before_any_download_say_so(workdir: Path) -> None:
    code, data, _, _ = run("tabs", "orders", "--json")
    assert code == 2
    assert "download" in data["error"]["message"]


def test_reconcile_finds_an_order_a_download_cannot_see(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy("--unselected", "ignore_tab")
    run("download", "--json", "--quiet")
    # An order that appears with an old stamp (an import, a restored backup) lies behind the high-water mark.
    late = store.generate_order(state="processing", created=datetime(2001, 5, 1, tzinfo=timezone.utc))
    code, report, _, _ = run("download", "--json", "--quiet")
    assert code == 0
    assert report["downloaded"] == 0
    code, report, _, err = run("reconcile", "--json", "--quiet", "--start", "2000-01-01")
    assert code == 0, err
    assert report["missing"] == 1
    assert report["downloaded"] + report["ignored"] == 1
    code, shown, _, _ = run("tabs", "show", str(late), "--json")
    assert code == 0
    assert shown["order"]["order_id"] == str(late)


# -- ship, acknowledge, cancel ----------------------------------------------------------------------------------------


def _processing_id(store: FakeMagentoStore) -> str:
    return next(str(o["entity_id"]) for o in store.orders() if o["status"] == "processing")


def test_ship_twice_makes_one_shipment(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy()
    run("download", "--json", "--quiet")
    order_id = _processing_id(store)
    before = len(store.shipments(int(order_id)))  # the seeded store may hold a partial shipment already
    code, first, _, err = run("ship", order_id, "-t", "1Z999", "--carrier", "ups", "--json")
    assert code == 0, err
    writes = [r for r in store.requests if r.method == "POST"]
    code, second, _, _ = run("ship", order_id, "-t", "1Z999", "--carrier", "ups", "--json")
    assert code == 0
    assert second["shipment_id"] == first["shipment_id"]
    assert first["requests"] > 0
    assert second["requests"] == 0  # the ledger's record answered
    assert len(store.shipments(int(order_id))) == before + 1
    assert [r for r in store.requests if r.method == "POST"] == writes  # the second run wrote nothing


def test_a_shipment_whose_answer_was_lost_is_not_made_twice(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy()
    order_id = _processing_id(store)
    before = len(store.shipments(int(order_id)))
    store.lose_write_answers(1, mode="drop")
    code, data, _, _ = run("ship", order_id, "-t", "1Z-LOST", "--json")
    assert code == 1
    assert data["ok"] is False
    code, data, _, err = run("ship", order_id, "-t", "1Z-LOST", "--json")
    assert code == 0, err
    assert len(store.shipments(int(order_id))) == before + 1


def test_acknowledge_and_cancel_once_each(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy()
    path = workdir / "policy.toml"
    text = path.read_text()
    # Acknowledge with the order's own status: a comment, no state change (what a pending order allows).
    path.write_text(
        text.replace('status = false\ncomment = "Order received', 'status = "pending"\ncomment = "Order received')
    )
    order_id = next(str(o["entity_id"]) for o in store.orders() if o["status"] == "pending")
    for _ in range(2):
        code, data, _, err = run("acknowledge", order_id, "--json")
        assert code == 0, err
        assert data["status"] == "pending"
    received = [c for c in store.comments(int(order_id)) if c.get("comment") == "Order received by the back office."]
    assert len(received) == 1
    code, data, _, _ = run("cancel", order_id, "--json")
    assert code == 1  # no --yes and no terminal to confirm on: nothing cancelled
    assert data["error"]["type"] == "Aborted"
    assert store.order(int(order_id))["state"] != "canceled"
    for _ in range(2):
        code, _, _, err = run("cancel", order_id, "--yes", "--json")
        assert code == 0, err
    assert store.order(int(order_id))["state"] == "canceled"


def test_acknowledge_with_acknowledgement_off_exits_2(workdir: Path, store: FakeMagentoStore) -> None:
    init_policy()
    code, data, _, _ = run("acknowledge", _processing_id(store), "--json")
    assert code == 2
    assert data["error"]["type"] == "ConfigurationError"


# -- drivers, fake -------------------------------------------------------------------------------------------------


def test_secrets_never_reach_a_traceback(
    workdir: Path, store: FakeMagentoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected crash inside a command: Typer's pretty traceback (with local variables) is off."""
    import ecc_connectors

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(ecc_connectors.Connector, "list_statuses", boom)
    result = runner.invoke(app, ["check"])
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert TOKEN not in result.stdout + result.stderr
    assert app.pretty_exceptions_show_locals is False


def test_the_session_in_docs_cli_md_runs_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``$ ecc-connectors ...`` line of the guide's session, in order, against the same fake store."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    commands = [line[len("$ ecc-connectors ") :].split() for line in doc.splitlines() if line.startswith("$ ecc-con")]
    assert commands[0][0] == "fake"
    assert [c[2] for c in commands[1:6]] == ["check", "init", "plan", "download", "tabs"]
    monkeypatch.chdir(tmp_path)
    with FakeMagentoStore(order_count=40, seed=7) as fake:
        write_config(tmp_path / "store.toml", fake.base_url, fake.token)
        for args in commands[1:]:
            result = runner.invoke(app, args, catch_exceptions=False)
            assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert fake.shipments(2)
    assert "unselected = " in (tmp_path / "policy.toml").read_text()


def test_an_interrupted_download_exits_130_keeping_what_was_committed(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_policy()
    import ecc_connectors

    real = ecc_connectors.Connector.download
    pages: list[int] = []

    def interrupted(self: Any, progress: Any = None) -> Any:
        def after_page(done: int, total: int | None) -> None:
            pages.append(done)
            if progress is not None:
                progress(done, total)
            raise KeyboardInterrupt  # Ctrl-C after the first page

        return real(self, progress=after_page)

    monkeypatch.setattr(ecc_connectors.Connector, "download", interrupted)
    code, data, _, _ = run("download", "--json", "--quiet")
    assert code == 130
    assert data["error"]["type"] == "Interrupted"
    assert pages == [pages[0]]
    monkeypatch.setattr(ecc_connectors.Connector, "download", real)
    _, orders, _, _ = run("tabs", "orders", "--json")
    assert orders  # the first page stayed
