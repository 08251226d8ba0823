"""Where a command's store, policy and ledger come from: flags, then a config file, then the environment.

A command needs up to three things: the **driver** (its name and its settings), the **policy** (a TOML file, as
``policy_to_toml`` writes it) and the **ledger** (a SQLite file). They are found in this order, the first that
names one wins:

1. the command's flags (``--driver``, ``--policy``, ``--ledger``, ``--config``);
2. the config file (``--config``, else ``$ECC_CONFIG``, else ``ecc-connectors.toml`` in the working directory
   when it exists)::

       driver = "magento2"
       policy = "policy.toml"          # relative paths are read from the config file's folder
       ledger = "orders.db"

       [settings]                      # the driver's settings, by name (``ecc-connectors drivers --settings``)
       base_url = "https://shop.example.com"

3. the environment: ``$ECC_DRIVER``, ``$ECC_POLICY``, ``$ECC_LEDGER``, and each setting's own variable
   (``MAGENTO_ACCESS_TOKEN``...).

Settings are merged per setting: the environment gives what the file leaves out, so a file can hold the
addresses and the environment the secrets (the usual split: files get committed, secrets do not). They are
loaded with the public settings loader (:func:`ecc_connectors.load_settings`), which reports every bad setting
at once and never quotes a secret; :func:`masked_settings` is the only view of them a command prints.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .. import (
    ConfigurationError,
    Driver,
    Secret,
    SyncPolicy,
    describe_settings,
    get_driver,
    load_settings,
    policy_from_toml,
)

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_LEDGER",
    "DEFAULT_POLICY",
    "ConfigFile",
    "Options",
    "Target",
    "masked_settings",
    "read_config",
    "read_policy",
    "resolve",
]

DEFAULT_CONFIG = "ecc-connectors.toml"
DEFAULT_POLICY = "policy.toml"
DEFAULT_LEDGER = "ecc-ledger.db"
_CONFIG_KEYS = frozenset({"driver", "policy", "ledger", "settings"})


@attrs.frozen
class ConfigFile:
    """What a config file says (every field optional)."""

    path: Path | None = None
    driver: str | None = None
    policy: Path | None = None
    ledger: Path | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Options:
    """The flags every store command shares."""

    config: Path | None = None
    driver: str | None = None
    policy: Path | None = None
    ledger: Path | None = None


@attrs.frozen
class Target:
    """One store, ready to connect: the driver built from its settings, and where the policy and ledger are."""

    driver_name: str
    driver: Driver
    settings: Any
    policy_path: Path
    ledger_path: Path


def read_config(path: Path | None, env: Mapping[str, str]) -> ConfigFile:
    """The config file named by ``path`` or ``$ECC_CONFIG`` (an error when it is missing), else
    ``ecc-connectors.toml`` when it exists, else an empty config."""
    named = path or (Path(env["ECC_CONFIG"]) if env.get("ECC_CONFIG") else None)
    if named is None:
        if not Path(DEFAULT_CONFIG).is_file():
            return ConfigFile()
        named = Path(DEFAULT_CONFIG)
    try:
        data = tomllib.loads(named.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"config file {str(named)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # A TOML error quotes a position, not the line, so no secret from the file shows here.
        raise ConfigurationError(f"config file {str(named)!r} cannot be read: {exc}") from None
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise ConfigurationError(
            f"config file {str(named)!r}: unknown key(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_CONFIG_KEYS))})"
        )
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigurationError(f"config file {str(named)!r}: 'settings' must be a table ([settings])")
    base = named.parent

    def text(key: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"config file {str(named)!r}: {key!r} must be a string")
        return value

    def where(key: str) -> Path | None:
        value = text(key)
        return None if value is None else base / value

    return ConfigFile(named, text("driver"), where("policy"), where("ledger"), dict(settings))


def _driver_class(name: str | None) -> tuple[str, type[Driver]]:
    if not name:
        raise ConfigurationError(
            'no driver named: pass --driver NAME, set ECC_DRIVER, or put driver = "NAME" in the config file '
            "(ecc-connectors drivers lists them)"
        )
    return name, get_driver(name)


def settings_values(cls: type[Driver], file_settings: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The settings to load: each setting's environment variable, overlaid with the config file's table."""
    if cls.settings_class is None:
        raise ConfigurationError(
            f"driver {cls.name or cls.__name__!r} declares no settings class, so it cannot be configured from "
            "a file or the environment"
        )
    values: dict[str, Any] = {}
    for info in describe_settings(cls.settings_class):
        if info.env and env.get(info.env, "").strip():
            values[info.name] = env[info.env]
    values.update(file_settings)
    return values


def resolve(options: Options, env: Mapping[str, str] | None = None) -> Target:
    """Build the driver and find the policy and ledger for one command.

    Raises:
        ConfigurationError: no driver named, an unknown one, a bad config file, or settings that do not load
            (a ``SettingsError`` naming every bad setting, secrets never quoted).
    """
    source: Mapping[str, str] = os.environ if env is None else env
    config = read_config(options.config, source)
    name, cls = _driver_class(options.driver or config.driver or source.get("ECC_DRIVER"))
    values = settings_values(cls, config.settings, source)
    assert cls.settings_class is not None
    settings = load_settings(cls.settings_class, values)
    driver = cls.from_config(settings)
    policy = options.policy or config.policy or Path(source.get("ECC_POLICY") or DEFAULT_POLICY)
    ledger = options.ledger or config.ledger or Path(source.get("ECC_LEDGER") or DEFAULT_LEDGER)
    return Target(name, driver, settings, policy, ledger)


def read_policy(path: Path) -> SyncPolicy:
    """The policy in ``path`` (``ConfigurationError`` naming the file and every bad field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"policy file {str(path)!r} does not exist (ecc-connectors init writes one from the store's statuses)"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"policy file {str(path)!r} cannot be read: {exc}") from None
    try:
        return policy_from_toml(text)
    except ConfigurationError as exc:
        raise ConfigurationError(f"policy file {str(path)!r}: {exc}") from None


def masked_settings(settings: Any) -> dict[str, str]:
    """Every setting as text, secrets as ``***`` (or ``""`` when not set): the only way settings are shown."""
    shown: dict[str, str] = {}
    for info in describe_settings(type(settings)):
        value = getattr(settings, info.name)
        if info.secret or isinstance(value, Secret):
            shown[info.name] = "***" if value else ""
        elif value is None:
            shown[info.name] = ""
        else:
            shown[info.name] = str(value.value) if isinstance(value, enum.Enum) else str(value)
    return shown
