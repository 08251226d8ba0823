"""Fake stores for the command line: find a driver's fake, make it with its knobs, say which settings reach it.

``ecc-connectors fake`` and ``drivers`` are built on these; they are public so a test or a tool can ask the same
questions without a terminal (:func:`find_fake`, :func:`known_fakes`, :func:`fake_settings`). They need no
``[cli]`` extra; importing this module imports the testing kit (``ecc_connectors.testing``).

Finding a fake. A driver called ``NAME`` has its fake in the public testing module ``ecc_connectors.testing.NAME``
(``ecc_connectors.testing.shopify`` for ``shopify``, ``.netsuite_rest`` for ``netsuite_rest``), which exports its
fake store class in ``__all__``; the one class there that subclasses :class:`~ecc_connectors.testing.FakeStore` is
it. The two fakes older than that convention are named here: ``magento2`` (``FakeMagentoStore``) and ``netsuite``
(``FakeSuiteTalk``), both exported by ``ecc_connectors.testing``. So a new fake is found the day its module lands,
with no change here.

Knobs. A fake's knobs are its constructor's keyword arguments; those whose type text can say (``int``,
``float``, ``str``, ``bool``, optionally ``| None``) are offered as ``--set NAME=VALUE``, converted by the
annotation. The others (callables, clocks, order lists) are for Python callers.

Settings. What a driver needs to reach its fake is asked of the fake when it can tell
(``driver_settings()``: a mapping of setting names to values, the hook fakes are asked to offer); otherwise each
of the driver's settings is looked up on the started fake by name (``base_url``), then by a few synonyms
(``access_token``: ``token``; ``endpoint``: ``url``), then on its ``credentials``. A required setting still not
found is reported, so the printed settings never silently miss one.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .. import ConfigurationError, Driver, available_drivers, describe_settings
from ..testing.base import FakeStore

__all__ = ["FakeInfo", "Knob", "build_fake", "fake_settings", "find_fake", "known_fakes"]

_LEGACY: dict[str, tuple[str, str]] = {
    "magento2": ("ecc_connectors.testing", "FakeMagentoStore"),
    "netsuite": ("ecc_connectors.testing", "FakeSuiteTalk"),
}
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "base_url": ("base_url", "url"),
    "url": ("url", "base_url"),
    "endpoint": ("endpoint", "url", "base_url"),
    "shop_url": ("shop_url", "base_url", "url"),
    "store_url": ("store_url", "base_url", "url"),
    "access_token": ("access_token", "token"),
    "token": ("token", "access_token"),
    "api_key": ("api_key", "key"),
    "private_key": ("private_key", "private_key_pem"),
    "shop": ("shop", "shop_domain", "domain"),
}
logger = logging.getLogger("ecc_connectors.cli")
_TEXT_TYPES: dict[Any, Callable[[str], Any]] = {int: int, float: float, str: str}


@attrs.frozen
class Knob:
    name: str
    type: str
    default: Any
    convert: Callable[[str], Any] = attrs.field(eq=False, repr=False)


@attrs.frozen
class FakeInfo:
    driver: str
    cls: type[FakeStore]
    module: str
    knobs: tuple[Knob, ...]

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else self.cls.__name__


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _converter(annotation: Any) -> tuple[str, Callable[[str], Any]] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return None
        inner = _converter(args[0])
        if inner is None:
            return None
        name, convert = inner

        def optional(text: str) -> Any:
            return None if text.strip().lower() in ("", "none", "null") else convert(text)

        return f"{name} | None", optional
    if annotation is bool:
        return "bool", _bool
    if annotation in _TEXT_TYPES:
        return annotation.__name__, _TEXT_TYPES[annotation]
    return None


def _knobs(cls: type[FakeStore]) -> tuple[Knob, ...]:
    """The keyword arguments of the fake's constructor (and its bases', when it passes ``**kwargs`` on)."""
    found: dict[str, Knob] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            hints = typing.get_type_hints(init)
        except Exception:  # an annotation that cannot be resolved here: that class offers no knobs
            continue
        passes_on = False
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                passes_on = True
            if parameter.name == "self" or parameter.kind not in (
                inspect.Parameter.KEYWORD_ONLY,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
            ):
                continue
            converter = _converter(hints.get(parameter.name))
            if converter is None or parameter.name in found:
                continue
            default = None if parameter.default is inspect.Parameter.empty else parameter.default
            found[parameter.name] = Knob(parameter.name, converter[0], default, converter[1])
        if not passes_on or klass is FakeStore:
            break
    return tuple(sorted(found.values(), key=lambda knob: knob.name))


def _fake_class(module_name: str, attr: str | None) -> type[FakeStore] | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # no such module: this driver has no fake
        raise
    if attr is not None:
        found = getattr(module, attr, None)
        return found if isinstance(found, type) and issubclass(found, FakeStore) else None
    names: Sequence[str] = getattr(module, "__all__", ())
    classes = [
        obj
        for obj in (getattr(module, name, None) for name in names)
        if isinstance(obj, type) and issubclass(obj, FakeStore) and obj is not FakeStore
    ]
    # A module may export helpers built on its fake (a conformance adapter): the base-most class is the fake.
    roots = [c for c in classes if not any(other is not c and issubclass(c, other) for other in classes)]
    return roots[0] if len(roots) == 1 else None


def _find(driver: str) -> FakeInfo | None:
    module_name, attr = _LEGACY.get(driver, (f"ecc_connectors.testing.{driver}", None))
    cls = _fake_class(module_name, attr) if driver.isidentifier() else None
    return None if cls is None else FakeInfo(driver, cls, module_name, _knobs(cls))


def find_fake(driver: str) -> FakeInfo:
    """The fake store of ``driver`` (``ConfigurationError`` when it has none, listing those that do)."""
    info = _find(driver)
    if info is None:
        known = ", ".join(info.driver for info in known_fakes()) or "none"
        raise ConfigurationError(f"no fake store for driver {driver!r} (fakes: {known})")
    return info


def known_fakes() -> list[FakeInfo]:
    """Every available driver that has a fake store. A fake whose module fails to import is left out with a
    warning: one broken fake must not take the others (or ``drivers``) down."""
    infos = []
    for name in sorted(available_drivers()):
        try:
            info = _find(name)
        except Exception as exc:
            logger.warning("the fake store of %s cannot be imported: %s: %s", name, type(exc).__name__, exc)
            continue
        if info is not None:
            infos.append(info)
    return infos


def build_fake(info: FakeInfo, knobs: Mapping[str, str], host: str, port: int) -> FakeStore:
    """The fake, made with ``knobs`` (text, converted by each knob's type); not started."""
    by_name = {knob.name: knob for knob in info.knobs}
    kwargs: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in knobs.items():
        knob = by_name.get(name)
        if knob is None:
            problems.append(f"{name}: not a knob of {info.cls.__name__} (knobs: {', '.join(by_name) or 'none'})")
            continue
        try:
            kwargs[name] = knob.convert(text)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ConfigurationError("bad knob(s): " + "; ".join(problems))
    if "host" in by_name:
        kwargs.setdefault("host", host)
    if "port" in by_name:
        kwargs.setdefault("port", port)
    try:
        return info.cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{info.cls.__name__} refused its knobs: {exc}") from None


def _lookup(store: Any, name: str) -> Any:
    for candidate in _SYNONYMS.get(name, (name,)):
        for holder in (store, getattr(store, "credentials", None)):
            if holder is None:
                continue
            value = getattr(holder, candidate, None)
            if isinstance(value, bytes):  # a PEM key
                return value.decode("ascii", errors="replace")
            if value is not None and not callable(value) and isinstance(value, (str, int, float, bool)):
                return value
    return None


def fake_settings(driver_cls: type[Driver], store: FakeStore) -> tuple[dict[str, str], list[str]]:
    """The settings that point ``driver_cls`` at the started ``store``, and the required ones not found."""
    own = getattr(store, "driver_settings", None)
    if callable(own):
        given = own()
        if isinstance(given, Mapping):
            return {str(k): str(v) for k, v in given.items()}, []
    if driver_cls.settings_class is None:
        return {}, []
    settings: dict[str, str] = {}
    missing: list[str] = []
    for info in describe_settings(driver_cls.settings_class):
        value = _lookup(store, info.name)
        if value is not None:
            settings[info.name] = str(value).lower() if isinstance(value, bool) else str(value)
        elif info.required:
            missing.append(info.name)
    return settings, missing
