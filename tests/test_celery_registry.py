"""The store registry (TOML; secrets by reference, never in messages), the beat schedule built from it, the app's
delivery settings, and the tasks run in this process (``Task.apply``) against the real PostgreSQL ledger and a
fake store: a download, a busy store skipped and reported, a reconcile, a post-back while a download holds the
store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery.schedules import crontab

from ecc_connectors import (
    ConfigurationError,
    DownloadRange,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
    policy_to_toml,
)
from ecc_connectors.contrib.celery import (
    SAFE_SETTINGS,
    TASK_NAMES,
    Fleet,
    StoreRegistry,
    beat_schedule,
    create_app,
    resolve_reference,
)
from ecc_connectors.contrib.services import require_postgres, unique_name
from ecc_connectors.ledger.postgres import PostgresLedger
from ecc_connectors.testing import FakeMagentoStore

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            StatusRule("pending", process_payment=True, process_shipping=True),
            StatusRule("processing", process_payment=False, process_shipping=True),
            StatusRule("complete", process_payment=False, process_shipping=False),
        )
    ),
    range=DownloadRange(start=datetime(2000, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)

REGISTRY = """
[fleet]
ledger = "env:TEST_FLEET_DSN"
download_every = 5
reconcile_at = "01:00"
reconcile_spread = 240

[stores.acme]
driver = "magento2"
policy = "policy.toml"
download_every = 2
rate = { per_second = 4, burst = 8 }
settings = { base_url = "https://acme.example", access_token = "env:ACME_TOKEN" }

[stores.globex]
driver = "magento2"
policy = "policy.toml"
reconcile_at = "03:30"
settings = { base_url = "https://globex.example", access_token = "file:{token_file}" }

[stores.initech]
driver = "magento2"
policy = "policy.toml"
settings = { base_url = "https://initech.example", access_token = "vault:kv/initech#token" }
"""


@pytest.fixture
def registry(tmp_path: Path) -> StoreRegistry:
    (tmp_path / "policy.toml").write_text(policy_to_toml(POLICY), encoding="utf-8")
    token = tmp_path / "globex-token"
    token.write_text("globex-secret-token\n", encoding="utf-8")
    path = tmp_path / "fleet.toml"
    path.write_text(REGISTRY.replace("{token_file}", str(token)), encoding="utf-8")
    return StoreRegistry.load(path)


def test_the_registry_reads_stores_policies_schedules_and_quotas(registry: StoreRegistry) -> None:
    assert sorted(registry) == ["acme", "globex", "initech"]
    acme = registry["acme"]
    assert acme.driver == "magento2"
    assert acme.policy == POLICY
    assert acme.download_every == timedelta(minutes=2)
    assert registry["globex"].download_every == timedelta(minutes=5), "the fleet default applies"
    assert acme.rate is not None
    assert (acme.rate.per_second, acme.rate.burst) == (4.0, 8)
    assert registry["globex"].rate is None
    assert registry["globex"].reconcile_at == time(3, 30), "a store's own time is not spread"
    with pytest.raises(ConfigurationError, match="no store named 'nope'"):
        registry["nope"]


def test_secrets_are_references_resolved_in_the_worker_and_never_shown(
    registry: StoreRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN", "acme-secret-token")
    assert registry["acme"].resolved_settings()["access_token"] == "acme-secret-token"
    assert registry["globex"].resolved_settings()["access_token"] == "globex-secret-token"
    vault = {"kv/initech#token": "initech-secret-token"}
    assert registry["initech"].resolved_settings({"vault": vault.__getitem__})["access_token"] == (
        "initech-secret-token"
    )
    assert "secret" not in repr(registry["acme"])

    monkeypatch.delenv("ACME_TOKEN")
    with pytest.raises(ConfigurationError, match=r"'access_token' refers to 'env:ACME_TOKEN'.*not set"):
        registry["acme"].resolved_settings()
    with pytest.raises(ConfigurationError) as missing:
        registry["initech"].resolved_settings({"vault": lambda ref: {}[ref]})
    assert "initech" in str(missing.value)


def test_references_and_plain_values() -> None:
    assert resolve_reference("https://x.example:8443/a") == "https://x.example:8443/a"
    assert resolve_reference("literal:env:NOT_A_REFERENCE") == "env:NOT_A_REFERENCE"
    assert resolve_reference(42) == 42


def test_a_bad_registry_is_refused_with_the_store_named(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(policy_to_toml(POLICY), encoding="utf-8")
    for text, message in [
        ('[stores.a]\npolicy = "policy.toml"', "store 'a': no driver"),
        ('[stores.a]\ndriver = "magento2"\npolicy = "policy.toml"\nsetings = {}', "unknown keys"),
        ('[stores.a]\ndriver = "magento2"\npolicy = "missing.toml"', "cannot read its policy"),
        ('[stores.a]\ndriver = "magento2"\npolicy = "policy.toml"\ndownload_every = 0', "download_every"),
        ('[stores.a]\ndriver = "magento2"\npolicy = "policy.toml"\nreconcile_at = "late"', "reconcile_at"),
        ("[stors]", "unknown tables"),
        ("not toml [", "not valid TOML"),
    ]:
        path = tmp_path / "fleet.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigurationError, match=message):
            StoreRegistry.load(path)


def test_beat_downloads_every_n_minutes_and_reconciles_nightly_spread(registry: StoreRegistry) -> None:
    schedule = beat_schedule(registry)
    acme = schedule["ecc.download:acme"]
    assert (acme["task"], acme["args"], acme["schedule"]) == ("ecc.download", ("acme",), timedelta(minutes=2))
    assert acme["options"]["expires"] == 120, "a missed tick expires instead of piling up"
    nightly = schedule["ecc.reconcile:acme"]
    assert nightly["task"] == "ecc.reconcile"
    assert isinstance(nightly["schedule"], crontab)
    spread = registry["acme"].reconcile_at
    assert time(1, 0) <= spread < time(5, 0), "spread over the 240 minutes after 01:00"
    assert nightly["schedule"].hour == {spread.hour}
    assert nightly["schedule"].minute == {spread.minute}
    assert registry["acme"].reconcile_at == StoreRegistry.load(registry.path).stores["acme"].reconcile_at  # type: ignore[arg-type]
    assert len(schedule) == 2 * len(registry)


def test_the_app_is_safe_against_dead_workers(registry: StoreRegistry) -> None:
    app = create_app(Fleet(registry, ledger=""), broker="memory://", visibility_timeout=120)
    for key, value in SAFE_SETTINGS.items():
        assert app.conf[key] == value
    assert app.conf.broker_transport_options["visibility_timeout"] == 120
    assert app.conf.broker_transport_options["unacked_restore_interval"] == 10
    assert set(TASK_NAMES) <= set(app.tasks)


# ---------------------------------------------------------------------------------------------------------
# The tasks, run in this process against PostgreSQL and a fake store


@pytest.fixture
def fleet_of_one(tmp_path: Path) -> Iterator[tuple[Fleet, FakeMagentoStore, Any, str]]:
    dsn = require_postgres()
    schema = unique_name()
    (tmp_path / "policy.toml").write_text(policy_to_toml(POLICY), encoding="utf-8")
    with FakeMagentoStore(order_count=25, seed=5, edited_pairs=0) as store:
        (tmp_path / "fleet.toml").write_text(
            f'[stores.shop]\ndriver = "magento2"\npolicy = "policy.toml"\n'
            f'settings = {{ base_url = "{store.base_url}", access_token = "{store.token}" }}\n',
            encoding="utf-8",
        )
        fleet = Fleet(StoreRegistry.load(tmp_path / "fleet.toml"), ledger=dsn, ledger_schema=schema)
        app = create_app(fleet, broker="memory://")
        try:
            yield fleet, store, app, dsn
        finally:
            fleet.close()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_download_task_syncs_and_a_busy_store_is_skipped_and_reported(
    fleet_of_one: tuple[Fleet, FakeMagentoStore, Any, str],
) -> None:
    fleet, store, app, dsn = fleet_of_one
    first = app.tasks["ecc.download"].apply(args=("shop",)).get()
    assert first["ran"]
    assert first["report"]["downloaded"] + first["report"]["ignored"] == 25
    store_id = first["report"]["store"]
    other_worker = PostgresLedger(dsn, schema=fleet.ledger().schema)
    with other_worker, other_worker.download_lock(store_id, owner="other-worker"):
        busy = app.tasks["ecc.download"].apply(args=("shop",)).get()
        assert (busy["ran"], busy["skipped"]) == (False, "busy")
        assert "other-worker" in busy["holder"]
        listed = store.listing_requests
        # a post-back for the same store goes ahead: it takes the action lease, not the download lock
        order_id = next(r.order_id for r in other_worker.orders(store_id) if r.status == "processing")
        shipped = app.tasks["ecc.ship"].apply(args=("shop", order_id, ["1Z999"])).get()
        assert shipped["shipment_id"]
        assert store.listing_requests == listed, "a skipped download must not list the store"
    again = app.tasks["ecc.reconcile"].apply(args=("shop",)).get()
    assert again["ran"]
    assert again["report"]["missing"] == 0


def test_the_example_registry_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/fleet/fleet.toml, as docs/scale.md and the example README show it."""
    path = Path(__file__).resolve().parents[1] / "examples" / "fleet" / "fleet.toml"
    registry = StoreRegistry.load(path)
    assert sorted(registry) == ["acme-eu", "globex"]
    monkeypatch.setenv("ECC_LEDGER_DSN", "host=db.example dbname=orders")
    assert registry.setting("ledger") == "host=db.example dbname=orders"
    monkeypatch.setenv("ACME_EU_TOKEN", "t0ken")
    assert registry["acme-eu"].resolved_settings()["access_token"] == "t0ken"
    assert set(beat_schedule(registry)) == {
        "ecc.download:acme-eu",
        "ecc.reconcile:acme-eu",
        "ecc.download:globex",
        "ecc.reconcile:globex",
    }


def test_download_all_fans_out_one_download_per_store(fleet_of_one: tuple[Fleet, FakeMagentoStore, Any, str]) -> None:
    fleet, store, _, _ = fleet_of_one
    eager = create_app(fleet, broker="memory://", task_always_eager=True)
    assert eager.tasks["ecc.download_all"].apply().get() == ["shop"]
    ledger = fleet.ledger()
    (store_id,) = ledger.stores()
    assert set(ledger.known_keys(store_id)) == {str(i) for i in store.order_ids()}
