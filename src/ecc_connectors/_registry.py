"""Finding drivers: the ``ecc_connectors.drivers`` entry-point group, plus :func:`register` for in-process use.

Built-in drivers are registered through the same entry points as third-party ones. A plugin that fails to load
logs a warning naming its distribution and is left out; the others still load.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ._driver import Driver
from ._errors import ConfigurationError

__all__ = ["ENTRY_POINT_GROUP", "available_drivers", "create_driver", "get_driver", "register", "unregister"]

ENTRY_POINT_GROUP = "ecc_connectors.drivers"
logger = logging.getLogger("ecc_connectors.registry")

_lock = threading.Lock()
_registered: dict[str, type[Driver]] = {}
_discovered: dict[str, type[Driver]] | None = None


def _distribution_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "unknown distribution"


def _discover() -> dict[str, type[Driver]]:
    found: dict[str, type[Driver]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # one broken plugin must not take the host down
            logger.warning(
                "driver %r from %s failed to load and is skipped: %s: %s",
                ep.name, _distribution_name(ep), type(exc).__name__, exc,
            )
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Driver)):
            logger.warning(
                "driver %r from %s is not a Driver subclass (%r) and is skipped",
                ep.name, _distribution_name(ep), loaded,
            )
            continue
        found.setdefault(ep.name, loaded)
    return found


def _all() -> dict[str, type[Driver]]:
    global _discovered
    with _lock:
        if _discovered is None:
            _discovered = _discover()
        return {**_discovered, **_registered}


def register(name: str, driver: type[Driver]) -> None:
    """Make ``driver`` available as ``name`` in this process (tests, apps that bundle their own driver).
    A registered name shadows an entry point of the same name."""
    if not (isinstance(driver, type) and issubclass(driver, Driver)):
        raise TypeError(f"{driver!r} is not a Driver subclass")
    with _lock:
        _registered[name] = driver


def unregister(name: str) -> None:
    with _lock:
        _registered.pop(name, None)


def refresh() -> None:
    """Forget what entry points were found, so the next look-up reads them again."""
    global _discovered
    with _lock:
        _discovered = None


def available_drivers() -> dict[str, type[Driver]]:
    """Every driver that loaded, by name."""
    return _all()


def get_driver(name: str) -> type[Driver]:
    drivers = _all()
    try:
        return drivers[name]
    except KeyError:
        known = ", ".join(sorted(drivers)) or "none"
        raise ConfigurationError(f"no driver named {name!r} (available: {known})") from None


def create_driver(name: str, **settings: Any) -> Driver:
    """Instantiate the driver called ``name`` with its settings."""
    return get_driver(name)(**settings)
