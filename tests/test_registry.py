"""Driver discovery: entry points (real dist-info folders on sys.path), broken plugins, in-process register()."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

import ecc_connectors
from ecc_connectors import ConfigurationError, Driver, _registry


def _make_distribution(root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ecc_connectors.drivers]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    _registry.refresh()
    yield tmp_path
    _registry.refresh()


def test_builtin_drivers_are_found_through_entry_points() -> None:
    _registry.refresh()
    drivers = ecc_connectors.available_drivers()
    assert drivers["magento2"].name == "magento2"
    assert drivers["netsuite"].name == "netsuite"


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
    with caplog.at_level(logging.WARNING, logger="ecc_connectors.registry"):
        drivers = ecc_connectors.available_drivers()
    assert drivers["acme"].__name__ == "AcmeDriver"
    assert "broken" not in drivers
    assert "wrong" not in drivers
    assert "magento2" in drivers
    messages = [record.getMessage() for record in caplog.records]
    assert any("broken-cart-driver" in m and "needs a library" in m for m in messages), messages
    assert any("not-a-driver" in m for m in messages), messages


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
