"""Driver discovery: entry points (real dist-info folders on sys.path), broken plugins, in-process register()."""

from __future__ import annotations

import importlib.metadata
import logging
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import ecc_connectors
from ecc_connectors import ConfigurationError, Driver, PluginLoadError, PluginWarning, plugin_errors
from ecc_connectors import refresh_drivers as refresh
from ecc_connectors.drivers.magento2 import Magento2Driver

GROUP = "ecc_connectors.drivers"  # the documented entry-point group of drivers


def own_driver_names() -> set[str]:
    """The built-in drivers: the entry points of this package's own distribution (whatever it declares)."""
    own = importlib.metadata.distribution("ecc-connectors")
    return {ep.name for ep in own.entry_points if ep.group == GROUP}


def _make_distribution(
    root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0"
) -> None:
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ecc_connectors.drivers]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    refresh()
    yield tmp_path
    refresh()


def test_builtin_drivers_are_found_through_entry_points() -> None:
    refresh()
    builtins = own_driver_names()
    assert {"magento2", "netsuite"} <= builtins
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)  # a plugin installed beside us may clash or fail
        drivers = ecc_connectors.available_drivers()
        failed = {error.name for error in plugin_errors()}
    # Every built-in loads, under its own name (a built-in that fails to import is a bug of this package).
    assert failed & builtins == set()
    for name in builtins:
        assert drivers[name].name == name
        assert drivers[name].__module__.startswith("ecc_connectors.drivers.")


def test_broken_plugin_logs_its_distribution_and_others_still_load(
    plugin_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _make_distribution(
        plugin_path,
        "acme-good-driver",
        {"acme": "acme_good:AcmeDriver"},
        {"acme_good": "from ecc_connectors import Driver\nclass AcmeDriver(Driver):\n    name = 'acme'\n"},
    )
    _make_distribution(
        plugin_path,
        "broken-cart-driver",
        {"broken": "broken_cart:Driver"},
        {"broken_cart": "raise ImportError('needs a library that is not installed')\n"},
    )
    _make_distribution(
        plugin_path,
        "not-a-driver",
        {"wrong": "wrong_kind:thing"},
        {"wrong_kind": "thing = 42\n"},
    )
    with (
        caplog.at_level(logging.WARNING, logger="ecc_connectors.registry"),
        pytest.warns(PluginWarning) as warned,
    ):
        drivers = ecc_connectors.available_drivers()
    assert drivers["acme"].__name__ == "AcmeDriver"
    assert "broken" not in drivers
    assert "wrong" not in drivers
    assert "magento2" in drivers
    messages = [record.getMessage() for record in caplog.records]
    assert any("broken-cart-driver" in m and "needs a library" in m for m in messages), messages
    assert any("not-a-driver" in m for m in messages), messages
    # The same news as warnings, and as records with the whole traceback.
    assert {str(w.message) for w in warned} == set(messages)
    errors = {error.name: error for error in plugin_errors()}
    assert set(errors) - own_driver_names() == {"broken", "wrong"}
    assert errors["broken"].distribution == "broken-cart-driver"
    assert errors["broken"].version == "1.0"
    assert errors["broken"].value == "broken_cart:Driver"
    assert "Traceback (most recent call last)" in errors["broken"].traceback
    assert "broken_cart.py" in errors["broken"].traceback


def test_register_shadows_and_unregister_restores() -> None:
    class LocalDriver(Driver):
        name = "local"

    ecc_connectors.register("local", LocalDriver)
    try:
        assert ecc_connectors.get_driver("local") is LocalDriver
        assert isinstance(ecc_connectors.create_driver("local"), LocalDriver)
    finally:
        ecc_connectors.unregister("local")
    with pytest.raises(ConfigurationError, match="no driver named 'local'"):
        ecc_connectors.get_driver("local")


def test_register_refuses_what_is_not_a_driver() -> None:
    with pytest.raises(TypeError):
        ecc_connectors.register("nope", object)  # type: ignore[arg-type]


# -- fake entry points: clashes, broken plugins, messages ----------------------------------------------------


@attrs.frozen
class FakeDistribution:
    name: str
    version: str


class FakeEntryPoint:
    """What ``_registry`` reads of an ``importlib.metadata.EntryPoint``: name, value, dist and load()."""

    group = GROUP

    def __init__(self, name: str, value: str, dist: FakeDistribution, load: Callable[[], object]) -> None:
        self.name = name
        self.value = value
        self.dist = dist
        self._load = load
        self.loads = 0

    def load(self) -> object:
        self.loads += 1
        return self._load()


def _driver_class(driver_name: str) -> type[Driver]:
    return type(f"{driver_name.title()}Driver", (Driver,), {"name": driver_name})


def _plugin(name: str, dist: str, version: str = "1.0", driver: type[Driver] | None = None) -> FakeEntryPoint:
    cls = driver or _driver_class(name)
    value = f"{dist.replace('-', '_')}:{cls.__name__}"
    return FakeEntryPoint(name, value, FakeDistribution(dist, version), lambda: cls)


def _broken(name: str, dist: str, version: str = "1.0") -> FakeEntryPoint:
    def load() -> object:
        import_the_missing_library()
        return None

    def import_the_missing_library() -> None:
        raise ImportError("No module named 'acme_sdk'")

    return FakeEntryPoint(name, f"{dist.replace('-', '_')}:Driver", FakeDistribution(dist, version), load)


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Replace what importlib.metadata finds in the driver group (the built-ins then come from the registry's
    own table, as when running from a source tree)."""
    installed: list[FakeEntryPoint] = []

    def entry_points(**params: Any) -> list[FakeEntryPoint]:
        return list(installed) if params.get("group") == GROUP else []

    def install(*eps: FakeEntryPoint) -> None:
        installed[:] = eps
        refresh()

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    refresh()
    yield install
    refresh()


@pytest.fixture
def builtin_names(fake_entry_points: Callable[..., None]) -> set[str]:
    """The drivers found with no entry point installed at all: the built-ins the registry knows by itself."""
    fake_entry_points()
    names = set(ecc_connectors.available_drivers())
    assert "magento2" in names
    return names


OWN_VERSION = importlib.metadata.version("ecc-connectors")


def test_a_plugin_claiming_a_builtin_name_loses_with_a_warning(fake_entry_points: Callable[..., None]) -> None:
    impostor = _plugin("magento2", "aaa-magento", "2.5")
    fake_entry_points(impostor)
    with pytest.warns(PluginWarning) as warned:
        drivers = ecc_connectors.available_drivers()
    assert drivers["magento2"] is Magento2Driver
    assert impostor.loads == 0  # the loser is never imported
    (message,) = [str(w.message) for w in warned]
    assert f"ecc-connectors {OWN_VERSION}" in message
    assert "aaa-magento 2.5" in message
    assert f"ecc-connectors {OWN_VERSION} wins (built-in drivers win over plugins)" in message
    assert warned[0].filename == __file__  # points at the caller


def test_any_entry_point_of_ecc_connectors_itself_is_builtin(fake_entry_points: Callable[..., None]) -> None:
    # The distribution name is compared normalised, and built-in beats a plugin that sorts first.
    own = _plugin("shopify", "ECC_Connectors", OWN_VERSION)
    plugin = _plugin("shopify", "aaa-shopify", "9.0")
    fake_entry_points(plugin, own)
    with pytest.warns(PluginWarning, match=r"ECC_Connectors \S+ wins \(built-in"):
        winner = ecc_connectors.get_driver("shopify")
    assert winner.__name__ == "ShopifyDriver"
    assert (own.loads, plugin.loads) == (1, 0)
    with pytest.raises(ConfigurationError, match="built-in"):
        ecc_connectors.register("shopify", _driver_class("shopify"))


@pytest.mark.parametrize("reverse", [False, True], ids=["zeta-listed-first", "alpha-listed-first"])
def test_two_plugins_with_one_name_first_distribution_by_name_wins(
    fake_entry_points: Callable[..., None], reverse: bool
) -> None:
    alpha_driver, zeta_driver = _driver_class("acme"), _driver_class("acme")
    eps = [_plugin("acme", "zeta-acme", "1.0", zeta_driver), _plugin("acme", "Alpha_Acme", "3.2", alpha_driver)]
    fake_entry_points(*(reversed(eps) if reverse else eps))
    with pytest.warns(PluginWarning) as warned:
        assert ecc_connectors.get_driver("acme") is alpha_driver
    (message,) = [str(w.message) for w in warned]
    assert "Alpha_Acme 3.2" in message
    assert "zeta-acme 1.0" in message
    assert "Alpha_Acme 3.2 wins (among plugins, the distribution first in name order wins)" in message
    assert "zeta-acme 1.0 is left out" in message


def test_a_broken_winner_is_not_replaced_by_the_plugin_it_beat(fake_entry_points: Callable[..., None]) -> None:
    fake_entry_points(_broken("acme", "alpha-acme"), _plugin("acme", "zeta-acme"))
    with pytest.warns(PluginWarning), pytest.raises(ConfigurationError, match=r"alpha-acme 1\.0"):
        ecc_connectors.get_driver("acme")


def test_broken_plugin_is_recorded_with_its_traceback(
    fake_entry_points: Callable[..., None], builtin_names: set[str]
) -> None:
    fake_entry_points(_broken("acme", "acme-cart", "0.3"), _plugin("other", "other-cart"))
    with pytest.warns(PluginWarning) as warned:
        drivers = ecc_connectors.available_drivers()
    assert set(drivers) == builtin_names | {"other"}
    (error,) = plugin_errors()
    assert isinstance(error, PluginLoadError)
    assert (error.name, error.value, error.distribution, error.version) == (
        "acme",
        "acme_cart:Driver",
        "acme-cart",
        "0.3",
    )
    assert error.traceback.startswith("Traceback (most recent call last)")
    assert "import_the_missing_library" in error.traceback
    assert error.summary == "ImportError: No module named 'acme_sdk'"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        error.name = "x"  # type: ignore[misc]
    # The warning carries a short summary: the error and where it was raised, not the whole traceback.
    (message,) = [str(w.message) for w in warned]
    assert "'acme' from acme-cart 0.3 (acme_cart:Driver) failed to load" in message
    assert "ImportError: No module named 'acme_sdk' (at " in message
    assert f"{Path(__file__).name}:" in message
    assert "Traceback" not in message


def test_create_driver_on_a_broken_plugin_names_the_distribution_and_the_error(
    fake_entry_points: Callable[..., None],
) -> None:
    fake_entry_points(_broken("acme", "acme-cart", "0.3"))
    with pytest.warns(PluginWarning), pytest.raises(ConfigurationError) as raised:
        ecc_connectors.create_driver("acme", base_url="https://shop.example")
    message = str(raised.value)
    assert "acme-cart 0.3" in message
    assert "ImportError: No module named 'acme_sdk'" in message
    assert "no driver named" not in message


def test_an_object_that_is_not_a_driver_is_a_load_error(fake_entry_points: Callable[..., None]) -> None:
    fake_entry_points(FakeEntryPoint("wrong", "wrong_kind:thing", FakeDistribution("not-a-driver", "1.0"), lambda: 42))
    with pytest.warns(PluginWarning, match="not a subclass of ecc_connectors.Driver"):
        errors = plugin_errors()
    assert [(e.name, e.summary) for e in errors] == [
        ("wrong", "TypeError: wrong_kind:thing is 42, not a subclass of ecc_connectors.Driver")
    ]
    with pytest.raises(ConfigurationError, match=r"not-a-driver 1\.0"):
        ecc_connectors.get_driver("wrong")


def test_unknown_name_lists_the_available_ones(fake_entry_points: Callable[..., None], builtin_names: set[str]) -> None:
    fake_entry_points(_plugin("acme", "acme-cart"))
    with pytest.raises(ConfigurationError) as raised:
        ecc_connectors.get_driver("magento")
    available = ", ".join(sorted(builtin_names | {"acme"}))
    assert str(raised.value) == f"no driver named 'magento' (available: {available}); did you mean 'magento2'?"


def test_warnings_are_given_once_per_discovery(fake_entry_points: Callable[..., None]) -> None:
    fake_entry_points(_broken("acme", "acme-cart"))
    with pytest.warns(PluginWarning):
        ecc_connectors.available_drivers()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ecc_connectors.available_drivers()
        assert len(plugin_errors()) == 1
    refresh()
    with pytest.warns(PluginWarning):
        ecc_connectors.available_drivers()


def test_warnings_turned_into_errors_still_leave_a_working_registry(fake_entry_points: Callable[..., None]) -> None:
    fake_entry_points(_broken("acme", "acme-cart"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        with pytest.raises(PluginWarning):
            ecc_connectors.available_drivers()
        assert ecc_connectors.get_driver("magento2") is Magento2Driver
        assert "acme" not in ecc_connectors.available_drivers()


def test_get_driver_imports_only_the_driver_asked_for(fake_entry_points: Callable[..., None]) -> None:
    imported: list[str] = []

    def loader(name: str) -> Callable[[], type[Driver]]:
        def load() -> type[Driver]:
            imported.append(name)
            return _driver_class(name)

        return load

    fake_entry_points(
        FakeEntryPoint("alpha", "alpha:Driver", FakeDistribution("alpha-cart", "1.0"), loader("alpha")),
        FakeEntryPoint("beta", "beta:Driver", FakeDistribution("beta-cart", "1.0"), loader("beta")),
        _broken("gamma", "gamma-cart"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)  # the broken one is never imported, so never warned about
        assert ecc_connectors.get_driver("alpha").__name__ == "AlphaDriver"
        assert ecc_connectors.get_driver("alpha").__name__ == "AlphaDriver"
    assert imported == ["alpha"]
    with pytest.warns(PluginWarning, match="gamma"):
        drivers = ecc_connectors.available_drivers()
    assert {"alpha", "beta"} <= set(drivers)
    assert "gamma" not in drivers
    assert imported == ["alpha", "beta"]


def test_register_refuses_a_builtin_name_unless_replacing() -> None:
    class MyMagento(Magento2Driver):
        pass

    with pytest.raises(ConfigurationError, match=r"'magento2' is a built-in driver; pass replace=True"):
        ecc_connectors.register("magento2", MyMagento)
    assert ecc_connectors.get_driver("magento2") is Magento2Driver
    ecc_connectors.register("magento2", MyMagento, replace=True)
    try:
        assert ecc_connectors.get_driver("magento2") is MyMagento
    finally:
        ecc_connectors.unregister("magento2")
    assert ecc_connectors.get_driver("magento2") is Magento2Driver


def test_real_distributions_clash_by_name_order(plugin_path: Path) -> None:
    # The same rules over real dist-info folders, with an entry point that would fail if it were imported.
    source = "from ecc_connectors import Driver\nclass AcmeDriver(Driver):\n    name = 'acme'\n"
    never = "raise RuntimeError('must not be imported')"
    _make_distribution(plugin_path, "zz-acme", {"acme": "zz_acme:AcmeDriver"}, {"zz_acme": never})
    _make_distribution(plugin_path, "acme-first", {"acme": "acme_first:AcmeDriver"}, {"acme_first": source}, "2.0")
    _make_distribution(plugin_path, "hijack", {"netsuite": "zz_acme:AcmeDriver"}, {})
    with pytest.warns(PluginWarning) as warned:
        drivers = ecc_connectors.available_drivers()
    assert drivers["acme"].__module__ == "acme_first"
    assert drivers["netsuite"].__module__.startswith("ecc_connectors.drivers.netsuite")
    # Only the clashes of these test distributions (a plugin installed beside us may warn too).
    messages = sorted(str(w.message) for w in warned if "acme" in str(w.message) or "hijack" in str(w.message))
    assert len(messages) == 2, messages
    assert "acme-first 2.0 wins" in messages[0]
    assert "zz-acme 1.0 is left out" in messages[0]
    assert "hijack 1.0 is left out" in messages[1]
    assert "built-in drivers win" in messages[1]
    assert not {error.name for error in plugin_errors()} & {"acme", "netsuite"}
