"""The public ledger package, ``ecc_connectors.ledger``: pinned here so a change to it is deliberate."""

from __future__ import annotations

import importlib
import inspect

import pytest

import ecc_connectors
import ecc_connectors.ledger as ledger
import ecc_connectors.ledger.sqlite as sqlite_ledger
from ecc_connectors import ConnectorError
from ecc_connectors.ledger import ActionLog, DownloadLocks, DownloadState, Ledger, PhoneOrderLog, SQLiteLedger, Tabs
from ecc_connectors.testing import ledger_suite

LEDGER = [
    "ActionLog",
    "ActionRecord",
    "ActionState",
    "DownloadLocks",
    "DownloadState",
    "FailureRecord",
    "HighWater",
    "Ledger",
    "OrderRecord",
    "PageBatch",
    "PendingUpdate",
    "PhoneOrderLog",
    "PhoneOrderRecord",
    "RowWrite",
    "SQLiteLedger",
    "StoreLock",
    "StoredOrder",
    "Tabs",
    "UpdateWrite",
]

ROLES = {
    DownloadState: {"high_water", "seen", "known_keys", "commit_page"},
    Tabs: {
        "get",
        "orders",
        "updates",
        "pending",
        "accept_update",
        "dismiss_update",
        "failures",
        "set_local_state",
        "refresh",
    },
    ActionLog: {"begin_action", "finish_action", "checkpoint_action", "actions"},
    PhoneOrderLog: {"record_phone_order", "phone_orders", "phone_order"},
}


def _methods(protocol: type) -> dict[str, object]:
    return {
        name: member
        for cls in protocol.__mro__
        if cls.__module__.startswith("ecc_connectors.")
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_the_ledger_package_is_pinned_and_every_name_exists() -> None:
    assert sorted(ledger.__all__) == LEDGER
    for name in ledger.__all__:
        assert getattr(ledger, name) is not None


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from ecc_connectors.ledger import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == LEDGER


def test_the_sqlite_module_is_pinned() -> None:
    assert sorted(sqlite_ledger.__all__) == ["MIGRATIONS", "SQLiteLedger", "migrate", "schema_version"]
    assert sqlite_ledger.SQLiteLedger is SQLiteLedger
    assert len(sqlite_ledger.MIGRATIONS) == 4


def test_the_ledger_suite_is_pinned() -> None:
    assert sorted(ledger_suite.__all__) == [
        "LedgerCheck",
        "LedgerContract",
        "LedgerFactory",
        "SQLiteMigrationContract",
        "ledger_checks",
        "sqlite_migration_checks",
    ]


def test_the_top_level_names_are_the_ledger_packages() -> None:
    for name in ecc_connectors.__all__:
        if name in LEDGER:
            assert getattr(ecc_connectors, name) is getattr(ledger, name), name


def test_the_private_module_is_gone() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("ecc_connectors._ledger")


def test_the_ledger_is_its_four_roles_and_close() -> None:
    assert set(_methods(Ledger)) == set().union(*ROLES.values()) | {"close"}
    for role, names in ROLES.items():
        assert set(_methods(role)) == names, role.__name__
        assert issubclass(Ledger, role)
    with SQLiteLedger() as built_in:
        for role in (*ROLES, Ledger):
            assert isinstance(built_in, role), role.__name__


def test_the_download_lock_is_an_optional_role_postgres_has() -> None:
    assert not issubclass(Ledger, DownloadLocks)
    with SQLiteLedger() as built_in:
        assert not isinstance(built_in, DownloadLocks)
    postgres = pytest.importorskip("ecc_connectors.ledger.postgres")
    assert issubclass(postgres.PostgresLedger, DownloadLocks)
    assert issubclass(postgres.StoreBusy, ConnectorError)


@pytest.mark.parametrize("role", [*ROLES, Ledger, DownloadLocks], ids=lambda r: r.__name__)
def test_every_method_of_the_protocol_states_its_contract(role: type) -> None:
    assert role.__doc__
    for name, method in _methods(role).items():
        doc = inspect.getdoc(method) or ""
        assert len(doc) > 60, f"{role.__name__}.{name} has no contract docstring"
        if name != "close":
            assert "thread" in doc.lower(), f"{role.__name__}.{name} does not say whether it is thread-safe"
            assert "raise" in doc.lower(), f"{role.__name__}.{name} does not say what it raises"


@pytest.mark.parametrize(("module", "name"), [("sqlite", "SQLiteLedger"), ("postgres", "PostgresLedger")])
def test_each_ledger_matches_the_protocol_signatures(module: str, name: str) -> None:
    # The PostgreSQL ledger needs the [postgres] extra (psycopg); its signatures do not need a server.
    implementation = getattr(pytest.importorskip(f"ecc_connectors.ledger.{module}"), name)
    for method_name, method in _methods(Ledger).items():
        expected = inspect.signature(method)
        actual = inspect.signature(getattr(implementation, method_name))
        assert list(actual.parameters) == list(expected.parameters), method_name
        for param in expected.parameters.values():
            assert actual.parameters[param.name].default == param.default, (method_name, param.name)
            assert actual.parameters[param.name].kind == param.kind, (method_name, param.name)
