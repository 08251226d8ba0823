"""Finding drivers: the ``ecc_connectors.drivers`` entry-point group, plus :func:`register` for in-process use.

The rules (docs/policy.md, "Plugins"):

* **Built-in drivers win.** ``magento2``, ``netsuite``, ``netsuite_rest``, ``shopify``, ``woocommerce``,
  ``bigcommerce`` and any entry point of the ``ecc-connectors`` distribution
  itself are built-in; a plugin claiming one of their names is left out with a :class:`PluginWarning`.
* **Between two plugins, the distribution first in name order wins** (names compared normalised, as
  packaging does: lower case, runs of ``-_.`` as one ``-``), so the outcome does not depend on the order in which
  ``sys.path`` happens to list them. The other is left out with a :class:`PluginWarning` naming both
  distributions, their versions and the winner. An entry point that loses is never imported.
* **A broken plugin is never fatal.** One whose import fails (or that is not a :class:`Driver` subclass) is left
  out with a :class:`PluginWarning` carrying a short traceback summary, and recorded in :func:`plugin_errors`
  with the whole traceback; asking for its name raises :class:`ConfigurationError` naming the distribution and
  the original error. A winner that fails to load is not replaced by the entry point it beat.

Each warning is also logged on the ``ecc_connectors.registry`` logger. Entry points are listed once, on the
first look-up (:func:`refresh` forgets them), and clashes are warned about then; a driver's module is imported
the first time that driver is asked for (:func:`get_driver`, :func:`create_driver`), or with every other one by
:func:`available_drivers` and :func:`plugin_errors`. Each warning is given once per discovery.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
import re
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._driver import Driver
from ._errors import ConfigurationError

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "PluginLoadError",
    "PluginWarning",
    "available_drivers",
    "create_driver",
    "get_driver",
    "plugin_errors",
    "refresh",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "ecc_connectors.drivers"
BUILTIN_DISTRIBUTION = "ecc-connectors"
"""The distribution whose entry points are built-in drivers."""

_BUILTINS = {
    # Built-in even when this package runs from a source tree without installed metadata.
    "magento2": "ecc_connectors.drivers.magento2:Magento2Driver",
    "netsuite": "ecc_connectors.drivers.netsuite:NetSuiteDriver",
    "netsuite_rest": "ecc_connectors.drivers.netsuite_rest:NetSuiteRestDriver",
    "shopify": "ecc_connectors.drivers.shopify:ShopifyDriver",
    "woocommerce": "ecc_connectors.drivers.woocommerce:WooCommerceDriver",
    "bigcommerce": "ecc_connectors.drivers.bigcommerce:BigCommerceDriver",
}
_UNKNOWN_DISTRIBUTION = "unknown distribution"
_UNKNOWN_VERSION = "unknown version"

logger = logging.getLogger("ecc_connectors.registry")


class PluginWarning(UserWarning):
    """A driver plugin was left out: it failed to load, or its name was already taken."""


@attrs.frozen
class PluginLoadError:
    """A driver entry point that failed to load (see :func:`plugin_errors`).

    ``value`` is the entry point's target (``module:attr``); ``traceback`` is the formatted traceback of the
    failure (or, for an object that is not a :class:`Driver` subclass, what it was)."""

    name: str
    value: str
    distribution: str
    version: str
    traceback: str

    @property
    def summary(self) -> str:
        """The error's last line (``ImportError: ...``)."""
        lines = [line for line in self.traceback.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else "unknown error"


@attrs.frozen
class _Candidate:
    name: str
    value: str
    distribution: str
    version: str
    builtin: bool
    load: Callable[[], Any] = attrs.field(eq=False)

    def label(self) -> str:
        return f"{self.distribution} {self.version} ({self.value})"


@attrs.define
class _State:
    """What one discovery found: the winning entry point per name (imported on first use), what loaded, what
    failed, and the clash messages (given when the entry points are listed, which imports nothing)."""

    winners: dict[str, _Candidate]
    builtin_names: frozenset[str]
    messages: tuple[str, ...]
    drivers: dict[str, type[Driver]] = attrs.Factory(dict)
    errors: dict[str, PluginLoadError] = attrs.Factory(dict)


_lock = threading.Lock()
_registered: dict[str, type[Driver]] = {}
_state: _State | None = None


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _entry_point_candidate(ep: Any) -> _Candidate:
    dist = getattr(ep, "dist", None)
    distribution = getattr(dist, "name", None) or _UNKNOWN_DISTRIBUTION
    version = getattr(dist, "version", None) or _UNKNOWN_VERSION
    return _Candidate(
        name=str(ep.name),
        value=str(ep.value),
        distribution=str(distribution),
        version=str(version),
        builtin=_normalise(str(distribution)) == BUILTIN_DISTRIBUTION,
        load=ep.load,
    )


def _own_version() -> str:
    try:
        return importlib.metadata.version(BUILTIN_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return _UNKNOWN_VERSION


def _static_candidate(name: str, value: str) -> _Candidate:
    # What ``EntryPoint.load`` does, for a built-in whose installed metadata is missing.
    def load() -> Any:
        module_name, _, attr = value.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    return _Candidate(name, value, BUILTIN_DISTRIBUTION, _own_version(), builtin=True, load=load)


def _candidates() -> list[_Candidate]:
    found: list[_Candidate] = []
    seen: set[tuple[str, str, str]] = set()
    entry_points: Iterable[Any] = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in entry_points:
        candidate = _entry_point_candidate(ep)
        key = (candidate.name, candidate.value, _normalise(candidate.distribution))
        if key not in seen:  # the same distribution reachable twice on sys.path
            seen.add(key)
            found.append(candidate)
    builtin_names = {c.name for c in found if c.builtin}
    found.extend(_static_candidate(name, value) for name, value in _BUILTINS.items() if name not in builtin_names)
    return found


def _winner_order(candidate: _Candidate) -> tuple[bool, str, str, str]:
    return (not candidate.builtin, _normalise(candidate.distribution), candidate.version, candidate.value)


def _short_traceback(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _load(candidate: _Candidate) -> tuple[type[Driver] | None, PluginLoadError | None, str]:
    """The driver class, or the failure and its warning text."""
    try:
        loaded = candidate.load()
    except Exception as exc:  # one broken plugin must not take the host down
        error = PluginLoadError(
            candidate.name, candidate.value, candidate.distribution, candidate.version, traceback.format_exc()
        )
        message = (
            f"driver {candidate.name!r} from {candidate.label()} failed to load and is left out: "
            f"{_short_traceback(exc)}; see ecc_connectors.plugin_errors() for the traceback"
        )
        return None, error, message
    if not (isinstance(loaded, type) and issubclass(loaded, Driver)):
        text = f"TypeError: {candidate.value} is {loaded!r}, not a subclass of ecc_connectors.Driver"
        error = PluginLoadError(candidate.name, candidate.value, candidate.distribution, candidate.version, text)
        message = f"driver {candidate.name!r} from {candidate.label()} is left out: {error.summary}"
        return None, error, message
    return loaded, None, ""


def _clash_message(name: str, winner: _Candidate, loser: _Candidate) -> str:
    if winner.builtin:
        why = "built-in drivers win over plugins"
    else:
        why = "among plugins, the distribution first in name order wins"
    return (
        f"driver name {name!r} is claimed by both {winner.label()} and {loser.label()}; "
        f"{winner.distribution} {winner.version} wins ({why}) and {loser.distribution} {loser.version} "
        "is left out"
    )


def _discover() -> _State:
    by_name: dict[str, list[_Candidate]] = {}
    for candidate in _candidates():
        by_name.setdefault(candidate.name, []).append(candidate)
    winners: dict[str, _Candidate] = {}
    messages: list[str] = []
    for name in sorted(by_name):
        ranked = sorted(by_name[name], key=_winner_order)
        winners[name] = ranked[0]
        messages.extend(_clash_message(name, ranked[0], loser) for loser in ranked[1:])
    builtin_names = frozenset(name for name, candidates in by_name.items() if any(c.builtin for c in candidates))
    return _State(winners, builtin_names, tuple(messages))


def _warn(messages: Iterable[str]) -> None:
    # stacklevel 4: _warn, the _current/_loaded helper, the public function, its caller.
    texts = list(messages)
    for message in texts:
        logger.warning("%s", message)
    for message in texts:
        warnings.warn(message, PluginWarning, stacklevel=4)


def _current() -> _State:
    """The discovered entry points; on the first call after a refresh, the warnings about clashes.

    Called directly by each public function, so the warnings point at the caller's line."""
    global _state
    with _lock:
        fresh = _state is None
        if _state is None:
            _state = _discover()
        state = _state
    if fresh:
        # Given after the state is stored, so even warnings turned into errors leave a usable registry.
        _warn(state.messages)
    return state


def _loaded(state: _State, names: Iterable[str]) -> None:
    """Import the winners of ``names`` not tried yet (each once per discovery), warning about each failure.

    Only the driver asked for is imported by :func:`get_driver`: a command line or a worker that uses one cart
    does not pay for importing every installed driver, nor hear about a broken plugin it never uses."""
    with _lock:
        todo = [state.winners[name] for name in names
                if name in state.winners and name not in state.drivers and name not in state.errors]
    failures: list[str] = []
    for candidate in todo:
        driver, error, message = _load(candidate)
        with _lock:
            if candidate.name in state.drivers or candidate.name in state.errors:
                continue  # another thread got there first
            if driver is not None:
                state.drivers[candidate.name] = driver
            else:
                assert error is not None
                state.errors[candidate.name] = error
                failures.append(message)
    _warn(failures)


def register(name: str, driver: type[Driver], *, replace: bool = False) -> None:
    """Make ``driver`` available as ``name`` in this process (tests, apps that bundle their own driver).

    A registered name shadows a plugin's entry point of the same name. Replacing a built-in driver
    (``magento2``, ``netsuite``, ...) is refused unless ``replace=True``."""
    if not (isinstance(driver, type) and issubclass(driver, Driver)):
        raise TypeError(f"{driver!r} is not a Driver subclass")
    if not replace and (name in _BUILTINS or name in _current().builtin_names):
        raise ConfigurationError(
            f"{name!r} is a built-in driver; pass replace=True to register {driver.__qualname__} in its place"
        )
    with _lock:
        _registered[name] = driver


def unregister(name: str) -> None:
    """Forget a driver given to :func:`register` (a built-in it replaced comes back)."""
    with _lock:
        _registered.pop(name, None)


def refresh() -> None:
    """Forget what entry points were found, so the next look-up reads (and warns about) them again."""
    global _state
    with _lock:
        _state = None


def available_drivers() -> dict[str, type[Driver]]:
    """Every driver that loaded, and every registered one, by name (this imports every installed driver)."""
    state = _current()
    _loaded(state, list(state.winners))
    with _lock:
        return {**state.drivers, **_registered}


def plugin_errors() -> list[PluginLoadError]:
    """Every driver entry point that failed to load, sorted by name, each with its traceback."""
    state = _current()
    _loaded(state, list(state.winners))
    with _lock:
        return [error for _, error in sorted(state.errors.items())]


def get_driver(name: str) -> type[Driver]:
    """The driver class called ``name``. :class:`ConfigurationError` when there is none: naming the
    distribution and its error when the plugin failed to load, or listing the available names."""
    state = _current()
    with _lock:
        registered = _registered.get(name)
    if registered is not None:
        return registered
    _loaded(state, [name])
    with _lock:
        found = state.drivers.get(name)
        error = state.errors.get(name)
    if found is not None:
        return found
    _loaded(state, list(state.winners))  # the message lists every driver that loads
    with _lock:
        drivers = {**state.drivers, **_registered}
    if error is not None:
        raise ConfigurationError(
            f"driver {name!r} from {error.distribution} {error.version} ({error.value}) failed to load: "
            f"{error.summary} (ecc_connectors.plugin_errors() has the traceback)"
        )
    known = ", ".join(sorted(drivers)) or "none"
    close = difflib.get_close_matches(name, list(drivers), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(f"no driver named {name!r} (available: {known}){hint}")


def create_driver(name: str, **settings: Any) -> Driver:
    """Instantiate the driver called ``name`` with its settings."""
    return get_driver(name)(**settings)
