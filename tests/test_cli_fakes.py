"""``ecc-connectors fake`` and ``drivers``: every driver's fake store found by convention, with its knobs, and the
settings it prints reach it (``check`` reads each fake through them). Driven in-process with Typer's CliRunner.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from typer.testing import CliRunner

from ecc_connectors import AuthenticationError, Driver, Flow, Secret, StoreStatus, get_driver, register, unregister
from ecc_connectors.cli import app
from ecc_connectors.cli.fakes import fake_settings, find_fake, known_fakes
from ecc_connectors.driver import Capability, setting
from ecc_connectors.testing.base import FakeStore

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str, str]:
    """``(exit code, parsed stdout JSON or None, stdout, stderr)``."""
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    parsed: Any = None
    if "--json" in args and result.stdout.strip():
        parsed = json.loads(result.stdout)
    return result.exit_code, parsed, result.stdout, result.stderr


def test_drivers_lists_the_built_ins_and_their_settings() -> None:
    code, data, _, _ = run("drivers", "--json")
    assert code == 0
    by_name = {d["name"]: d for d in data}
    assert by_name["magento2"]["fake"] is True
    assert "seek_orders" in by_name["magento2"]["capabilities"]
    code, settings, _, _ = run("drivers", "magento2", "--json")
    token = next(s for s in settings if s["name"] == "access_token")
    assert token["secret"] is True
    assert token["env"] == "MAGENTO_ACCESS_TOKEN"


@attrs.frozen
class _AcmeSettings:
    shop_url: str = setting(env="ACME_SHOP_URL", url=True)
    api_key: Secret = setting(env="ACME_API_KEY", secret=True)


class _AcmeDriver(Driver):
    name = "acme_cli_test"
    capabilities = frozenset({Capability.LIST_STATUSES})
    settings_class = _AcmeSettings

    def __init__(self, settings: _AcmeSettings) -> None:
        self.settings = settings
        self.store_id = f"acme:{settings.shop_url}"

    @classmethod
    def from_config(cls, settings: Any) -> _AcmeDriver:
        return cls(settings)

    def auth(self) -> httpx.Auth | None:
        return _ApiKey(self.settings.api_key)

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        response = yield httpx.Request("GET", f"{self.settings.shop_url}/statuses")
        if response.status_code != 200:
            raise AuthenticationError(f"acme refused the key ({response.status_code})")
        return tuple(StoreStatus(code) for code in response.json())


class _ApiKey(httpx.Auth):
    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["x-api-key"] = self._key.reveal()
        yield request


class _FakeAcme(FakeStore):
    """A fake store found by the convention alone: module ecc_connectors.testing.<driver>, class in __all__."""

    name = "fake-acme"

    def __init__(self, *, api_key: str = "acme-fake-key-123", statuses: int = 3, **kwargs: Any) -> None:
        super().__init__(auth=lambda r: r.headers.get("x-api-key") == api_key, **kwargs)
        self.api_key = api_key
        self.route("GET", r"/statuses", lambda request: [f"s{i}" for i in range(statuses)])


@pytest.fixture
def acme() -> Iterator[None]:
    module = types.ModuleType("ecc_connectors.testing.acme_cli_test")
    module.__dict__.update({"__all__": ["_FakeAcme"], "_FakeAcme": _FakeAcme})
    sys.modules[module.__name__] = module
    register("acme_cli_test", _AcmeDriver)
    try:
        yield
    finally:
        unregister("acme_cli_test")
        del sys.modules[module.__name__]


def test_a_new_fake_is_found_by_convention_with_its_knobs_and_settings(acme: None) -> None:
    info = find_fake("acme_cli_test")
    assert info.cls is _FakeAcme
    knobs = {knob.name: knob for knob in info.knobs}
    assert knobs["statuses"].type == "int"
    assert knobs["latency"].type == "float"
    assert "acme_cli_test" in {i.driver for i in known_fakes()}
    with _FakeAcme(statuses=5) as fake:
        settings, missing = fake_settings(_AcmeDriver, fake)
        assert missing == []
        assert settings == {"shop_url": fake.base_url, "api_key": "acme-fake-key-123"}
        env = {"ECC_DRIVER": "acme_cli_test", "ACME_SHOP_URL": fake.base_url, "ACME_API_KEY": "acme-fake-key-123"}
        code, data, out, err = run("check", "--json", env=env)
    assert code == 0, err
    assert [s["code"] for s in data["statuses"]] == ["s0", "s1", "s2", "s3", "s4"]
    assert "acme-fake-key-123" not in out + err


def test_fake_with_an_unknown_knob_or_driver_exits_2(acme: None) -> None:
    code, data, _, _ = run("fake", "acme_cli_test", "--set", "colour=blue", "--json")
    assert code == 2
    assert "colour" in data["error"]["message"]
    assert "statuses" in data["error"]["message"]
    code, data, _, _ = run("fake", "acme_cli_test", "--set", "statuses=many", "--json")
    assert code == 2
    assert "statuses" in data["error"]["message"]
    code, data, _, _ = run("fake", "no_such_driver", "--json")
    assert code == 2
    assert "magento2" in data["error"]["message"]
    code, knobs, _, _ = run("fake", "acme_cli_test", "--knobs", "--json")
    assert code == 0
    assert {"name": "statuses", "type": "int", "default": 3} in knobs


# Every fake store in the tree today; the test below also fails when a driver's fake is no longer found.
BUILT_IN_FAKES = ("bigcommerce", "magento2", "netsuite", "netsuite_rest", "shopify", "woocommerce")


def test_the_fakes_found_are_the_built_in_ones() -> None:
    assert {info.driver for info in known_fakes()} >= set(BUILT_IN_FAKES)


@pytest.mark.parametrize("driver", BUILT_IN_FAKES)
def test_every_fake_store_gives_settings_its_driver_accepts(
    driver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``fake`` prints for a store is enough for ``check`` to read it: settings found generically."""
    monkeypatch.chdir(tmp_path)
    info = find_fake(driver)
    with info.cls() as fake:
        settings, missing = fake_settings(get_driver(driver), fake)
        assert missing == []
        config = tmp_path / "ecc-connectors.toml"
        lines = [f'driver = "{driver}"', "[settings]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        config.write_text("\n".join(lines) + "\n")
        code, data, _, err = run("check", "--json")
    assert code in (0, 3), err
    assert data["authenticated"] is True
    assert data["statuses"]
