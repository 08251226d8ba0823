"""Driver settings: one typed class per driver, described for a form, loaded from a dict or the environment with
every problem reported at once, and no secret in any repr, str, log line or error."""

from __future__ import annotations

import enum
import logging
import pickle
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import httpx
import pytest
import respx

from ecc_connectors import ConfigurationError, Connector, Driver, OrderQuery, SQLiteLedger
from ecc_connectors.driver import (
    Secret,
    SettingInfo,
    SettingsError,
    describe_settings,
    load_settings,
    setting,
    settings_from_env,
)
from ecc_connectors.drivers.magento2 import AdminToken, BearerToken, Magento2Driver, Magento2Settings, OAuth1
from fakedriver import BASE as FAKE_BASE
from fakedriver import SECRET as FAKE_KEY
from fakedriver import FakeDriver, FakeStore, make_order
from plugin_engine import T0, Clock, make_policy

BASE = "https://shop.example.test"
TOKEN = "tok9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4"
PASSWORD = "adm1n-Pa55word!"
OAUTH = {
    "consumer_key": "ck-6y2v0q7kq3d9w1xq",
    "consumer_secret": "cs-9f8e7d6c5b4a3f2e",
    "access_token": "at-1q2w3e4r5t6y7u8i",
    "access_token_secret": "ats-0p9o8i7u6y5t4r3e",
}
SECRETS = [TOKEN, PASSWORD, *OAUTH.values()]


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# The form ---------------------------------------------------------------------------------------------------
def test_magento_settings_describe_a_form() -> None:
    infos = {info.name: info for info in describe_settings(Magento2Settings)}
    assert list(infos) == [
        "base_url",
        "store_code",
        "access_token",
        "consumer_key",
        "consumer_secret",
        "access_token_secret",
        "username",
        "password",
        "page_size",
        "store_id",
    ]
    assert [name for name, info in infos.items() if info.required] == ["base_url"]
    assert {name for name, info in infos.items() if info.secret} == {
        "access_token",
        "consumer_key",
        "consumer_secret",
        "access_token_secret",
        "password",
    }
    assert all(info.kind == "secret" for info in infos.values() if info.secret)
    assert infos["base_url"].kind == "url"
    assert infos["base_url"].label == "Base URL"
    assert infos["page_size"].kind == "int"
    assert infos["page_size"].default == 100
    assert infos["page_size"].default_text == "100"
    assert infos["store_code"].default_text == "default"
    assert infos["username"].kind == "str"
    assert infos["username"].optional
    assert infos["access_token"].type == Secret | None
    assert {info.env for info in infos.values()} == {
        "MAGENTO_BASE_URL",
        "MAGENTO_STORE_CODE",
        "MAGENTO_ACCESS_TOKEN",
        "MAGENTO_CONSUMER_KEY",
        "MAGENTO_CONSUMER_SECRET",
        "MAGENTO_ACCESS_TOKEN_SECRET",
        "MAGENTO_USERNAME",
        "MAGENTO_PASSWORD",
        "MAGENTO_PAGE_SIZE",
        "MAGENTO_STORE_ID",
    }
    assert all(info.help for info in infos.values())
    assert Magento2Driver.settings_class is Magento2Settings
    assert describe_settings(Magento2Settings) is describe_settings(Magento2Settings)  # described once


# Loading ----------------------------------------------------------------------------------------------------
def test_env_and_dict_give_the_same_settings() -> None:
    env = {
        "MAGENTO_BASE_URL": f" {BASE} ",
        "MAGENTO_STORE_CODE": "en",
        "MAGENTO_ACCESS_TOKEN": f"{TOKEN}\n",
        "MAGENTO_PAGE_SIZE": "250",
        "MAGENTO_USERNAME": "",  # empty counts as unset
        "UNRELATED": "x",
    }
    from_env = settings_from_env(Magento2Settings, env)
    from_dict = load_settings(
        Magento2Settings, {"base_url": BASE, "store_code": "en", "access_token": TOKEN, "page_size": "250"}
    )
    typed = Magento2Settings(base_url=BASE, store_code="en", access_token=Secret(TOKEN), page_size=250)
    assert from_env == from_dict == typed
    assert from_env.access_token is not None
    assert from_env.access_token.reveal() == TOKEN
    assert from_env.username is None
    assert from_env.auth_mode == "bearer"


def test_from_settings_and_from_env_build_the_same_driver() -> None:
    values = {"base_url": BASE, "username": "admin", "password": PASSWORD, "store_id": "shop-1", "page_size": 300}
    driver = Magento2Driver.from_settings(values)
    same = Magento2Driver.from_env(
        {
            "MAGENTO_BASE_URL": BASE,
            "MAGENTO_USERNAME": "admin",
            "MAGENTO_PASSWORD": PASSWORD,
            "MAGENTO_STORE_ID": "shop-1",
            "MAGENTO_PAGE_SIZE": "300",
        }
    )
    for built in (driver, same):
        assert isinstance(built.auth(), AdminToken)
        assert built.store_id == "shop-1"
        assert built.page_size == 300
        assert built.url("/V1/orders") == f"{BASE}/rest/default/V1/orders"
    assert repr(driver) == repr(same)


@pytest.mark.parametrize(
    ("values", "mode", "auth_class"),
    [
        ({"access_token": TOKEN}, "bearer", BearerToken),
        ({"username": "admin", "password": PASSWORD}, "admin", AdminToken),
        (OAUTH, "oauth1", OAuth1),
    ],
)
def test_the_auth_mode_follows_what_is_set(values: dict[str, str], mode: str, auth_class: type) -> None:
    settings = load_settings(Magento2Settings, {"base_url": BASE, **values})
    assert settings.auth_mode == mode
    assert isinstance(Magento2Driver.from_config(settings).auth(), auth_class)


def test_the_admin_token_is_fetched_with_the_loaded_password() -> None:
    with respx.mock, httpx.Client() as client:
        tokens = respx.post(f"{BASE}/rest/default/V1/integration/admin/token").mock(
            return_value=httpx.Response(200, json="admin-tok")
        )
        orders = respx.get(f"{BASE}/rest/default/V1/orders").mock(
            return_value=httpx.Response(200, json={"items": [], "total_count": 0})
        )
        driver = Magento2Driver.from_settings({"base_url": BASE, "username": "admin", "password": PASSWORD})
        flow = driver.first_page(OrderQuery())
        request = next(flow)
        response = client.send(request, auth=driver.auth())
        with pytest.raises(StopIteration):
            flow.send(response)
        assert httpx.Response(200, content=tokens.calls.last.request.content).json()["password"] == PASSWORD
        assert orders.calls.last.request.headers["Authorization"] == "Bearer admin-tok"


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Magento2Driver.from_settings(
            {
                "base_url": "ftp://shop",
                "store_code": "en/us",
                "page_size": "lots",
                "access_token": "two words",
                "storecode": "en",
            }
        )
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.settings_class is Magento2Settings
    assert set(error.problems) == {"base_url", "store_code", "page_size", "access_token", "storecode"}
    message = str(error)
    for named in (
        "base_url (MAGENTO_BASE_URL)",
        "store_code (MAGENTO_STORE_CODE)",
        "page_size (MAGENTO_PAGE_SIZE)",
        "access_token (MAGENTO_ACCESS_TOKEN)",
        "storecode: not a setting of Magento2Settings",
    ):
        assert named in message
    assert "'lots'" in message  # a plain value is quoted ...
    assert "two words" not in message  # ... a secret never


@pytest.mark.parametrize("field", ["access_token", "consumer_key", "consumer_secret", "access_token_secret"])
def test_each_integration_key_must_be_one_word(field: str) -> None:
    values: dict[str, object] = {"base_url": BASE, **OAUTH, "page_size": "0"}
    values[field] = f"{OAUTH[field]}\n{OAUTH[field]}"  # pasted twice, on two lines
    with pytest.raises(SettingsError) as caught:
        Magento2Driver.from_settings(values)
    # Reported with the other bad setting, not instead of it.
    assert caught.value.problems == {
        field: "must be one word, without spaces, line breaks or control characters",
        "page_size": "must be between 1 and 300, got 0",
    }


def test_missing_settings_are_named_with_their_variables() -> None:
    with pytest.raises(SettingsError) as caught:
        Magento2Driver.from_env({"MAGENTO_PAGE_SIZE": "0"})
    assert caught.value.problems == {"base_url": "required", "page_size": "must be between 1 and 300, got 0"}
    with pytest.raises(SettingsError) as caught:
        Magento2Driver.from_env({"MAGENTO_BASE_URL": BASE, "MAGENTO_CONSUMER_KEY": OAUTH["consumer_key"]})
    assert set(caught.value.problems) == {"consumer_secret", "access_token", "access_token_secret"}
    assert "MAGENTO_ACCESS_TOKEN_SECRET" in str(caught.value)
    with pytest.raises(SettingsError, match="no Magento credentials") as caught:
        Magento2Driver.from_settings({"base_url": BASE})
    assert list(caught.value.problems) == ["*"]


def test_building_settings_in_code_checks_them_too() -> None:
    with pytest.raises(SettingsError, match="password"):
        Magento2Settings(base_url=BASE, username="admin")
    with pytest.raises(ValueError, match="store view code"):
        Magento2Settings(base_url=BASE, store_code="", access_token=Secret(TOKEN))


# Secrets ----------------------------------------------------------------------------------------------------
def test_a_secret_never_shows_itself() -> None:
    secret = Secret(PASSWORD)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>20}", "%s" % secret, f"{secret}"):  # noqa: UP031
        assert PASSWORD not in text
    assert secret.reveal() == PASSWORD
    assert secret == Secret(PASSWORD)
    assert secret != Secret("other")
    assert secret != PASSWORD  # a secret is not its text
    assert hash(secret) == hash(Secret(PASSWORD))
    assert not Secret("")
    assert pickle.loads(pickle.dumps(secret)) == secret
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]
    with pytest.raises(TypeError) as caught:
        Secret(12345)  # type: ignore[arg-type]
    assert "12345" not in str(caught.value)


@pytest.mark.parametrize(
    "values",
    [{"access_token": TOKEN}, {"username": "admin", "password": PASSWORD}, OAUTH],
    ids=["bearer", "admin", "oauth1"],
)
def test_no_secret_in_settings_or_driver(values: dict[str, str]) -> None:
    settings = load_settings(Magento2Settings, {"base_url": BASE, **values})
    driver = Magento2Driver.from_config(settings)
    no_secret_in(
        repr(settings),
        str(settings),
        repr(attrs.asdict(settings)),
        repr(driver),
        str(driver),
        repr(driver.auth()),
    )
    assert "Secret('***')" in repr(settings)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("access_token", f"{TOKEN} {TOKEN}"),
        ("consumer_secret", f"{OAUTH['consumer_secret']}\tx"),
        ("password", 123456789),
    ],
)
def test_no_secret_in_the_error_for_a_bad_secret(field: str, bad: object) -> None:
    values: dict[str, object] = {"base_url": BASE, **OAUTH, "username": "admin", "password": PASSWORD}
    values[field] = bad
    with pytest.raises(ConfigurationError) as caught:
        Magento2Driver.from_settings(values)
    error = caught.value
    assert field in str(error)
    shown = [str(error), repr(error), repr(getattr(error, "problems", {}))]
    no_secret_in(*shown)
    for text in shown:
        assert str(bad) not in text
    assert error.__context__ is None
    assert error.__cause__ is None


def test_no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with respx.mock, httpx.Client() as client:
        respx.get(f"{BASE}/rest/default/V1/orders").mock(
            return_value=httpx.Response(200, json={"items": [], "total_count": 0})
        )
        env = {"MAGENTO_BASE_URL": BASE, **{f"MAGENTO_{k.upper()}": v for k, v in OAUTH.items()}}
        driver = Magento2Driver.from_env(env)
        flow = driver.first_page(OrderQuery())
        response = client.send(next(flow), auth=driver.auth())
        with pytest.raises(StopIteration):
            flow.send(response)
    with pytest.raises(ConfigurationError):
        Magento2Driver.from_settings({"base_url": BASE, "consumer_key": OAUTH["consumer_key"], "password": PASSWORD})
    no_secret_in(caplog.text)


# A plugin's own settings ------------------------------------------------------------------------------------
class Mode(enum.Enum):
    NUMBERED = "numbered"
    CURSOR = "cursor"


def _no_test_keys(_inst: object, _attribute: attrs.Attribute[Any], value: Secret) -> None:
    if value.reveal().startswith("sk_test_"):
        # A careless message: it quotes the key. The loader scrubs it.
        raise ValueError(f"{value.reveal()} is a test key; use a live one")


@attrs.frozen
class AcmeSettings:
    base_url: str = setting(env="ACME_BASE_URL", url=True, help="The shop's address.")
    api_key: Secret = setting(
        env="ACME_API_KEY", secret=True, one_word=True, validator=_no_test_keys, help="Settings > API."
    )
    mode: Mode = setting(Mode.NUMBERED, env="ACME_MODE", help="How the shop pages its orders.")
    page_size: int = setting(3, env="ACME_PAGE_SIZE", between=(1, 50), help="Orders per page.")
    sandbox: bool = setting(False, env="ACME_SANDBOX", help="Talk to the sandbox.")
    fee: Decimal = setting(Decimal("0.30"), env="ACME_FEE", help="Fee per order.")
    rate: float | None = setting(None, env="ACME_RATE", positive=True, help="Requests per second.")
    region: Literal["eu", "us"] = setting("eu", help="Data centre (not read from the environment).")
    channel: str = setting("web", choices=("web", "pos"), env="ACME_CHANNEL", help="Sales channel.")
    export_dir: Path | None = setting(None, env="ACME_EXPORT_DIR", help="Where to write exports.")
    account: str = setting(env="ACME_ACCOUNT", kw_only=True, help="Account number (required).")


class AcmeDriver(FakeDriver):
    """A plugin-like driver: its settings class, its from_config, its key sent by its own auth."""

    name = "acme"
    settings_class: ClassVar[type[Any] | None] = AcmeSettings

    def __init__(self, settings: AcmeSettings) -> None:
        super().__init__(mode=settings.mode.value, page_size=settings.page_size, base_url=settings.base_url)
        self.settings = settings

    @classmethod
    def from_config(cls, settings: AcmeSettings) -> AcmeDriver:
        return cls(settings)

    def auth(self) -> httpx.Auth:
        return ApiKey(self.settings.api_key)


class ApiKey(httpx.Auth):
    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["X-Api-Key"] = self._key.reveal()
        yield request


def form_from(infos: tuple[SettingInfo, ...], typed: dict[str, str]) -> dict[str, str]:
    """What a settings form posts: every field, as text, the defaults where the user typed nothing."""
    return {info.name: typed.get(info.name, info.default_text) for info in infos}


def test_a_plugin_driver_round_trips_through_a_form() -> None:
    infos = describe_settings(AcmeDriver.settings_class)  # type: ignore[arg-type]
    kinds = {info.name: info.kind for info in infos}
    assert kinds == {
        "base_url": "url",
        "api_key": "secret",
        "mode": "choice",
        "page_size": "int",
        "sandbox": "bool",
        "fee": "decimal",
        "rate": "float",
        "region": "choice",
        "channel": "choice",
        "export_dir": "path",
        "account": "str",
    }
    by_name = {info.name: info for info in infos}
    assert by_name["mode"].choices == ("numbered", "cursor")
    assert by_name["mode"].default_text == "numbered"
    assert by_name["region"].choices == ("eu", "us")
    assert by_name["region"].env is None
    assert by_name["sandbox"].default_text == "false"
    assert by_name["rate"].optional
    assert by_name["rate"].default_text == ""
    assert [info.name for info in infos if info.required] == ["base_url", "api_key", "account"]

    posted = form_from(
        infos,
        {
            "base_url": FAKE_BASE,
            "api_key": FAKE_KEY,
            "mode": "cursor",
            "sandbox": "yes",
            "fee": "0.25",
            "rate": "",
            "account": "A-1",
            "export_dir": "/tmp/acme",
        },
    )
    driver = AcmeDriver.from_settings(posted)
    assert isinstance(driver, AcmeDriver)
    assert driver.settings == AcmeSettings(
        base_url=FAKE_BASE,
        api_key=Secret(FAKE_KEY),
        mode=Mode.CURSOR,
        page_size=3,
        sandbox=True,
        fee=Decimal("0.25"),
        rate=None,
        region="eu",
        channel="web",
        export_dir=Path("/tmp/acme"),
        account="A-1",
    )
    assert FAKE_KEY not in repr(driver.settings)
    # The loaded driver works: the key reaches the store through its own auth.
    store = FakeStore([make_order(n, updated=T0) for n in range(1, 8)])
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        assert connector.get_order("5").order_id == "5"
        assert connector.download().downloaded == 7
        connector.close()


def test_a_plugin_driver_from_env() -> None:
    env = {
        "ACME_BASE_URL": FAKE_BASE,
        "ACME_API_KEY": FAKE_KEY,
        "ACME_ACCOUNT": "A-1",
        "ACME_SANDBOX": "on",
        "ACME_RATE": "2.5",
        "ACME_MODE": "CURSOR",
    }
    driver = AcmeDriver.from_env(env)
    assert (driver.settings.sandbox, driver.settings.rate, driver.settings.mode) == (True, 2.5, Mode.CURSOR)
    with pytest.raises(SettingsError) as caught:
        AcmeDriver.from_env({})
    assert set(caught.value.problems) == {"base_url", "api_key", "account"}
    assert "api_key (ACME_API_KEY): required" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("page_size", "1.5", "whole number"),
        ("page_size", "true", "whole number"),
        ("sandbox", "maybe", "true or false"),
        ("fee", "NaN", "a number"),
        ("fee", "1,5", "a number"),
        ("rate", "inf", "a number"),
        ("mode", "paged", "one of numbered, cursor"),
        ("region", "asia", "one of eu, us"),
        ("channel", "phone", "one of web, pos"),
        ("base_url", "shop.example.com", "http(s) URL"),
        ("page_size", "51", "must be between 1 and 50, got 51"),
        ("rate", "0", "must be positive"),
        ("api_key", "sk_live_a sk_live_b", "must be one word"),
    ],
)
def test_bad_text_is_named_with_the_field(field: str, text: str, words: str) -> None:
    values = {"base_url": FAKE_BASE, "api_key": FAKE_KEY, "account": "A-1", field: text}
    with pytest.raises(SettingsError) as caught:
        load_settings(AcmeSettings, values)
    assert list(caught.value.problems) == [field]
    assert words in caught.value.problems[field]


def test_declared_checks_run_when_settings_are_built_in_code() -> None:
    given: dict[str, Any] = {"base_url": FAKE_BASE, "api_key": Secret(FAKE_KEY), "account": "A-1"}
    assert AcmeSettings(**given).rate is None  # an optional number not set passes its check
    with pytest.raises(ValueError, match="one word"):
        AcmeSettings(**{**given, "api_key": Secret("two\nlines")})
    with pytest.raises(ValueError, match="one word"):
        AcmeSettings(**{**given, "api_key": Secret("")})
    with pytest.raises(ValueError, match="between 1 and 50, got 0"):
        AcmeSettings(**given, page_size=0)
    with pytest.raises(ValueError, match=r"positive, got 0\.0"):
        AcmeSettings(**given, rate=0.0)


def test_typed_values_are_taken_as_they_are() -> None:
    settings = load_settings(
        AcmeSettings,
        {
            "base_url": FAKE_BASE,
            "api_key": Secret(FAKE_KEY),
            "account": "A-1",
            "page_size": 7,
            "sandbox": False,
            "fee": 1,
            "rate": 3,
            "mode": Mode.CURSOR,
            "export_dir": Path("x"),
        },
    )
    assert (settings.page_size, settings.sandbox, settings.fee, settings.rate, settings.mode) == (
        7,
        False,
        Decimal(1),
        3.0,
        Mode.CURSOR,
    )
    assert isinstance(settings.rate, float)
    with pytest.raises(SettingsError) as caught:
        load_settings(AcmeSettings, {"base_url": FAKE_BASE, "api_key": Secret("  "), "account": "A-1"})
    assert caught.value.problems == {"api_key": "required"}


def test_a_validator_quoting_a_secret_is_scrubbed() -> None:
    test_key = "sk_test_abcdef123456"
    with pytest.raises(SettingsError) as caught:
        AcmeDriver.from_settings({"base_url": FAKE_BASE, "api_key": f" {test_key}\n", "account": "A-1"})
    assert test_key not in str(caught.value)
    assert test_key not in repr(caught.value.problems)
    assert "*** is a test key" in caught.value.problems["api_key"]


# The convention's edges -------------------------------------------------------------------------------------
class Plain(Driver):
    name = "plain"


class Forgetful(Driver):
    name = "forgetful"
    settings_class: ClassVar[type[Any] | None] = AcmeSettings


def test_a_driver_without_settings_says_so() -> None:
    with pytest.raises(ConfigurationError, match="declares no settings class"):
        Plain.from_settings({})
    with pytest.raises(ConfigurationError, match="declares no settings class"):
        Plain.from_env({})
    with pytest.raises(ConfigurationError, match="does not implement from_config"):
        Forgetful.from_settings({"base_url": FAKE_BASE, "api_key": FAKE_KEY, "account": "A-1"})


def test_what_cannot_be_a_settings_class() -> None:
    class NotAttrs:
        x: int = 1

    @attrs.frozen
    class Odd:
        when: list[str] = setting(attrs.Factory(list))

    @attrs.frozen
    class Mislabelled:
        key: str = setting(secret=True)

    with pytest.raises(TypeError, match="not an attrs class"):
        describe_settings(NotAttrs)
    with pytest.raises(TypeError, match="cannot be read from text"):
        describe_settings(Odd)
    with pytest.raises(TypeError, match="annotated Secret"):
        describe_settings(Mislabelled)


def test_plain_attrs_classes_load_too() -> None:
    @attrs.frozen
    class Tuning:
        version: str = "2023_2"
        page_size: int = attrs.field(default=1000)
        timeout: float = 60.0
        cache: Path | None = None
        token: Secret | None = None

    infos = {info.name: info for info in describe_settings(Tuning)}
    assert infos["token"].secret
    assert infos["page_size"].env is None
    tuning = load_settings(Tuning, {"page_size": "500", "timeout": "12.5", "token": "t0k"})
    assert (tuning.page_size, tuning.timeout, tuning.version) == (500, 12.5, "2023_2")
    assert settings_from_env(Tuning, {"PAGE_SIZE": "5"}) == Tuning()  # no variables declared: defaults
