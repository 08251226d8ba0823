"""The public API is what ``ecc_connectors.__all__`` lists: pinned here so a change to it is deliberate."""

from __future__ import annotations

import subprocess
import sys

import ecc_connectors

EXPECTED = [
    "Acknowledgement",
    "ActionInProgress",
    "ActionRecord",
    "ActionState",
    "Address",
    "AsyncConnector",
    "AuthenticationError",
    "BrokenAnswer",
    "CancelRequest",
    "Cancellation",
    "Capability",
    "CapabilityNotSupported",
    "ChangeDetection",
    "ChangeKind",
    "ConfigurationError",
    "Connector",
    "ConnectorError",
    "Customer",
    "Download",
    "DownloadRange",
    "DownloadReport",
    "Driver",
    "FailureRecord",
    "FieldChange",
    "Flow",
    "FollowCursor",
    "HighWater",
    "IOPolicy",
    "Ignore",
    "Incremental",
    "Item",
    "ItemQuery",
    "ItemSource",
    "KeyPage",
    "Ledger",
    "Limits",
    "MAX_SETTLE_DELAY",
    "NewOrder",
    "NewOrderLine",
    "NextPages",
    "Note",
    "NumberedPages",
    "Order",
    "OrderKey",
    "OrderLine",
    "OrderQuery",
    "OrderRecord",
    "Outcome",
    "Page",
    "PayloadError",
    "Payment",
    "PendingUpdate",
    "PhoneOrderRecord",
    "PhoneOrders",
    "PluginLoadError",
    "PluginWarning",
    "PolicyProblem",
    "PostBack",
    "Probe",
    "Progress",
    "RateLimited",
    "RawJSON",
    "ReconcileReport",
    "RetryHint",
    "SQLiteLedger",
    "Secret",
    "Seek",
    "Seen",
    "SettingInfo",
    "SettingsError",
    "Shipment",
    "ShipmentRequest",
    "ShipmentResult",
    "Skip",
    "StatusChange",
    "StatusMapping",
    "StatusNotAllowed",
    "StatusRule",
    "StoreDefaults",
    "StoreError",
    "StoreStatus",
    "SyncPolicy",
    "Tab",
    "Totals",
    "Tracking",
    "TransportError",
    "Unchanged",
    "Unselected",
    "Update",
    "WriteResult",
    "available_drivers",
    "create_driver",
    "decide",
    "default_action_key",
    "describe_settings",
    "diff",
    "fingerprint",
    "get_driver",
    "is_idempotent",
    "load_settings",
    "mark_idempotent",
    "order_from_snapshot",
    "order_snapshot",
    "plugin_errors",
    "policy_converter",
    "policy_from_dict",
    "policy_from_json",
    "policy_from_toml",
    "policy_to_dict",
    "policy_to_json",
    "policy_to_toml",
    "refresh_drivers",
    "register",
    "rules",
    "setting",
    "settings_from_env",
    "unregister",
]


def test_all_is_pinned() -> None:
    assert sorted(ecc_connectors.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in ecc_connectors.__all__:
        obj = getattr(ecc_connectors, name)
        assert obj is not None, name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from ecc_connectors import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == EXPECTED


def test_import_does_not_need_zeep() -> None:
    # zeep and lxml sit behind the "netsuite" extra: the core import must work without them.
    code = (
        "import sys; sys.modules['zeep'] = None; sys.modules['lxml'] = None; "
        "import ecc_connectors, ecc_connectors.drivers.magento2; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr


def test_every_builtin_driver_loads_without_the_optional_dependencies() -> None:
    # Each driver's extra (zeep, PyJWT, ...) is needed when it talks to a store, never to import it: a plain
    # install lists every built-in driver, warns about none, and imports the ledger and the command line.
    optional = ["jwt", "graphql", "psycopg", "psycopg_pool", "celery", "typer", "rich", "zeep", "lxml", "yaml",
                "openapi_core", "pycountry", "redis", "cryptography"]
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({optional!r})); import warnings; "
        "warnings.simplefilter('error'); import ecc_connectors, ecc_connectors.ledger, ecc_connectors.cli; "
        "print(' '.join(sorted(ecc_connectors.available_drivers())), len(ecc_connectors.plugin_errors()))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    names, errors = result.stdout.rsplit(" ", 1)
    assert {"magento2", "netsuite", "netsuite_rest", "shopify", "woocommerce", "bigcommerce"} <= set(names.split())
    assert errors.strip() == "0"


def test_every_exported_name_is_documented() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text()
    missing = [name for name in ecc_connectors.__all__ if f"`{name}`" not in docs and name != "rules"]
    assert missing == []


DRIVER_KIT = [
    "Address", "AuthenticationError", "BrokenAnswer", "CancelRequest", "Capability", "CapabilityNotSupported",
    "ChangeKind", "ConfigurationError", "ConnectorError", "Customer", "Driver", "Flow", "FollowCursor", "Item",
    "ItemQuery", "JsonRest", "KeyPage", "Limits", "NewOrder", "NewOrderLine", "NextPages", "Note", "NumberedPages",
    "Order", "OrderKey", "OrderLine", "OrderQuery", "OrdersOnDemand", "Page", "Payment", "PayloadError", "Probe",
    "RateLimited",
    "RawJSON", "RetryHint", "Seek", "Shipment", "ShipmentRequest", "ShipmentResult", "StatusChange",
    "StatusNotAllowed", "StoreError", "StoreStatus", "Totals", "Tracking", "TransportError", "WriteResult",
    "answer", "default_retry_hint", "is_idempotent", "mark_idempotent", "next_link", "pages_from_headers",
    "pages_from_total",
    "parse_retry_after", "Secret", "SettingInfo", "SettingsError", "describe_settings", "load_settings",
    "setting", "settings_from_env",
]


def test_the_driver_kit_is_pinned_and_every_name_exists() -> None:
    import ecc_connectors.driver as kit

    assert sorted(kit.__all__) == sorted(DRIVER_KIT)
    for name in kit.__all__:
        assert getattr(kit, name) is not None
