"""The store registry: which stores the fleet syncs, with which driver, settings, policy and schedule.

One TOML file read by every worker and by beat (docs/scale.md has a whole one)::

    [fleet]
    ledger = "env:ECC_LEDGER_DSN"        # PostgreSQL connection string, by reference
    ledger_schema = "ecc"
    redis = "env:ECC_REDIS_URL"          # the shared rate limits (and the broker unless `broker` is given)
    download_every = 5                   # minutes, for stores that do not say
    reconcile_at = "02:00"               # UTC; each store's time is spread over `reconcile_spread` minutes
    reconcile_spread = 120
    reconcile_days = 7                   # the nightly reconcile compares this many days back

    [stores.acme-eu]
    driver = "magento2"                  # a name of ecc_connectors.available_drivers()
    policy = "policies/standard.toml"    # relative to this file
    download_every = 2
    rate = { per_second = 4, burst = 8 } # the store's API quota, shared by every process (Redis)

    [stores.acme-eu.settings]            # the driver's settings (Driver.settings_class)
    base_url = "https://acme.example"
    access_token = "env:ACME_EU_TOKEN"   # a secret by reference: never in the file

**Secrets by reference.** A setting's text ``"env:NAME"`` is read from the environment of the process that
builds the driver (the worker), ``"file:/run/secrets/x"`` from a file (Docker and Kubernetes secrets); other
schemes (``"vault:..."``) go to the resolvers given to :meth:`StoreRegistry.load`. References are resolved when
a task builds the driver, never when the registry is read, so beat and the web app need no store secrets, and
a rotated secret is picked up by the next task. A value that should start with ``env:`` literally is written
``"literal:env:..."``. Errors name the store, the setting and the reference, never a resolved value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import attrs

from ... import ConfigurationError, SyncPolicy, policy_from_dict, policy_from_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["RateQuota", "StoreConfig", "StoreRegistry", "resolve_reference"]

Resolver = Callable[[str], str]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None or not value.strip():
        raise KeyError(f"environment variable {name} is not set")
    return value


def _file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KeyError(f"cannot read {path}: {exc.strerror}") from None


_BUILTIN_RESOLVERS: dict[str, Resolver] = {"env": _env, "file": _file}


def resolve_reference(value: Any, resolvers: Mapping[str, Resolver] | None = None) -> Any:
    """The value a setting's text refers to (``env:``, ``file:``, or a scheme of ``resolvers``); anything else
    as it is. Raises ``KeyError`` with a message naming the reference (never a value) when it cannot."""
    if not isinstance(value, str):
        return value
    scheme, sep, rest = value.partition(":")
    if not sep or not scheme.isidentifier():
        return value
    if scheme == "literal":
        return rest
    table = {**_BUILTIN_RESOLVERS, **(resolvers or {})}
    resolver = table.get(scheme)
    if resolver is None:
        return value  # "https://..." and other texts with a colon are values, not references
    return resolver(rest)


@attrs.frozen
class RateQuota:
    """A store's API quota: ``per_second`` requests on average, ``burst`` at once, shared by every process."""

    per_second: float
    burst: int = 1

    def __attrs_post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ConfigurationError(f"rate: per_second must be > 0 and burst >= 1, got {self}")


@attrs.frozen
class StoreConfig:
    """One store of the registry. ``settings`` are as written (references unresolved)."""

    name: str
    driver: str
    settings: Mapping[str, Any]
    policy: SyncPolicy
    download_every: timedelta
    reconcile_at: time
    reconcile_days: int
    rate: RateQuota | None = None

    def resolved_settings(self, resolvers: Mapping[str, Resolver] | None = None) -> dict[str, Any]:
        """The driver settings with every reference resolved (in the worker, just before building the
        driver). Raises :class:`ConfigurationError` naming the store and setting, never the value."""
        resolved: dict[str, Any] = {}
        for key, value in self.settings.items():
            try:
                resolved[key] = resolve_reference(value, resolvers)
            except KeyError as exc:
                reason = exc.args[0] if exc.args else "unresolved"
                raise ConfigurationError(
                    f"store {self.name!r}: setting {key!r} refers to {value!r}, which cannot be read ({reason})"
                ) from None
        return resolved

    def __repr__(self) -> str:  # settings may hold literal secrets: show their names only
        return f"StoreConfig(name={self.name!r}, driver={self.driver!r}, settings={sorted(self.settings)!r})"


def _minutes(value: Any, where: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"{where}: download_every is a number of minutes > 0, got {value!r}")
    return timedelta(minutes=value)


def _clock(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigurationError(f"{where}: reconcile_at is 'HH:MM' (UTC), got {value!r}") from None


def _spread(name: str, minutes: int) -> int:
    # A stable spread (not Python's salted hash): every beat process gives a store the same minute.
    import zlib

    return zlib.crc32(name.encode()) % minutes if minutes > 0 else 0


@attrs.frozen
class StoreRegistry:
    """The fleet's stores by name, and the fleet-wide settings of the ``[fleet]`` table."""

    stores: Mapping[str, StoreConfig]
    fleet: Mapping[str, Any] = attrs.field(factory=dict)
    path: Path | None = None

    def __getitem__(self, name: str) -> StoreConfig:
        try:
            return self.stores[name]
        except KeyError:
            raise ConfigurationError(f"no store named {name!r} in the registry {self.path or ''}".rstrip()) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.stores)

    def __len__(self) -> int:
        return len(self.stores)

    def setting(self, key: str, default: Any = None, resolvers: Mapping[str, Resolver] | None = None) -> Any:
        """A ``[fleet]`` value with its reference resolved (``ledger``, ``redis``, ``broker``...)."""
        value = self.fleet.get(key, default)
        try:
            return resolve_reference(value, resolvers)
        except KeyError as exc:
            raise ConfigurationError(
                f"[fleet] {key} refers to {value!r}, which cannot be read ({exc.args[0]})"
            ) from None

    @classmethod
    def load(cls, path: str | Path) -> StoreRegistry:
        """Read and check a registry file (every store's policy is loaded now, so a bad one fails at start)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read the store registry {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"the store registry {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, base=path.parent, path=path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: Path | None = None, path: Path | None = None) -> StoreRegistry:
        fleet = dict(data.get("fleet", {}))
        unknown = set(data) - {"fleet", "stores"}
        if unknown:
            raise ConfigurationError(f"store registry: unknown tables {sorted(unknown)} (expected [fleet], [stores.*])")
        every = fleet.get("download_every", 5)
        at = fleet.get("reconcile_at", "02:00")
        spread = int(fleet.get("reconcile_spread", 120))
        days = int(fleet.get("reconcile_days", 7))
        stores: dict[str, StoreConfig] = {}
        for name, raw in dict(data.get("stores", {})).items():
            where = f"store {name!r}"
            known = {"driver", "settings", "policy", "download_every", "reconcile_at", "reconcile_days", "rate"}
            extra = set(raw) - known
            if extra:
                raise ConfigurationError(f"{where}: unknown keys {sorted(extra)}")
            if "driver" not in raw:
                raise ConfigurationError(f"{where}: no driver")
            policy = raw.get("policy")
            if isinstance(policy, str):
                policy_path = (base or Path.cwd()) / policy
                try:
                    loaded = policy_from_toml(policy_path.read_text(encoding="utf-8"))
                except OSError as exc:
                    raise ConfigurationError(f"{where}: cannot read its policy {policy_path}: {exc.strerror}") from None
            elif isinstance(policy, Mapping):
                loaded = policy_from_dict(dict(policy))
            else:
                raise ConfigurationError(f"{where}: policy is a file name or an inline table")
            reconcile = _clock(raw.get("reconcile_at", at), where)
            offset = _spread(name, spread) if "reconcile_at" not in raw else 0
            minute = reconcile.hour * 60 + reconcile.minute + offset
            rate = raw.get("rate")
            stores[name] = StoreConfig(
                name=name,
                driver=str(raw["driver"]),
                settings=dict(raw.get("settings", {})),
                policy=loaded,
                download_every=_minutes(raw.get("download_every", every), where),
                reconcile_at=time((minute // 60) % 24, minute % 60),
                reconcile_days=int(raw.get("reconcile_days", days)),
                rate=None if rate is None else RateQuota(float(rate["per_second"]), int(rate.get("burst", 1))),
            )
        return cls(stores, fleet, path)
