"""Driver settings: one typed class per driver, loaded the same way for every driver.

A driver declares its settings as an attrs class whose fields are made with :func:`setting`::

    @attrs.frozen
    class AcmeSettings:
        base_url: str = setting(env="ACME_BASE_URL", url=True, help="The shop's address.")
        api_key: Secret = setting(env="ACME_API_KEY", secret=True, one_word=True, help="Settings > API > Keys.")
        page_size: int = setting(100, env="ACME_PAGE_SIZE", between=(1, 250), help="Orders per page.")

and names it as ``Driver.settings_class``. Then :meth:`Driver.from_settings` (a dict of strings from a form or a
config file) and :meth:`Driver.from_env` (environment variables) work for it with nothing more than its
``from_config``, and :func:`describe_settings` tells an application which fields to show in a settings form for a
driver it has never seen.

Every value may come as text (``"8"``, ``"yes"``, ``"12.50"``, an enum's value or name) and is converted by the
field's annotation: ``str``, :class:`Secret`, ``int``, ``float``, ``Decimal``, ``bool``, ``pathlib.Path``, an
``enum.Enum`` or a ``Literal`` of strings, each optionally ``| None``. Text is stripped of surrounding whitespace,
and empty text counts as not given. Everything wrong is reported at once, field by field, in one
:class:`SettingsError` (a :class:`ConfigurationError`).

Secrets stay secret: a :class:`Secret` shows ``***`` in every ``repr``, ``str`` and format, and no error message
carries the value of a secret field (a validator's message is scrubbed of it too). Code that needs the value asks
for it with :meth:`Secret.reveal`.
"""

from __future__ import annotations

import enum
import hmac
import math
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, TypeVar, final, get_args, get_origin
from urllib.parse import urlsplit

import attrs

from ._errors import ConfigurationError

__all__ = [
    "Secret",
    "SettingInfo",
    "SettingsError",
    "describe_settings",
    "load_settings",
    "setting",
    "settings_from_env",
]

T = TypeVar("T")

_META = "ecc_connectors.setting"
_MASK = "***"
_WHOLE = "*"
"""The key of :attr:`SettingsError.problems` for a problem of several settings together."""


@final
class Secret:
    """A credential: a string that never shows itself.

    ``repr``, ``str`` and formatting give ``***``; :meth:`reveal` gives the value, for the one place that sends
    it (an ``httpx.Auth``). Two secrets are equal when their values are (compared in constant time). Not a ``str``
    subclass on purpose: a library that calls ``str()`` on it gets ``***``, never the value, and mypy catches
    a secret passed where a ``str`` is expected.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds text, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The value itself."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return format(_MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


@attrs.frozen
class _Meta:
    env: str | None
    help: str
    secret: bool
    url: bool
    choices: tuple[str, ...]
    label: str


def _as_secret(value: object) -> object:
    """Converter of ``secret=True`` fields: text becomes a :class:`Secret` (``None`` stays ``None``)."""
    return Secret(value) if isinstance(value, str) else value


class _Refused(ValueError):
    """A built-in check's refusal. Its message names the setting (a class built in code says which field);
    :func:`load_settings` reports the bare ``problem`` under the setting's own name and variable instead."""

    def __init__(self, attribute: attrs.Attribute[Any], problem: str) -> None:
        super().__init__(f"{attribute.name} {problem}")
        self.problem = problem


def _check_url(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    text = value if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and text == text.strip()
    except ValueError:
        usable = False
    if not usable or any(c.isspace() for c in text):
        raise _Refused(attribute, f"must be an http(s) URL such as https://shop.example.com, got {_shown(value)}")


def _check_choices(choices: tuple[str, ...]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and value not in choices:
            raise _Refused(attribute, f"must be one of {', '.join(choices)}, got {_shown(value)}")

    return check


def _check_one_word(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # A key or token goes into a header or a signature as it is: a space or a line break inside it is a paste
    # error (the key twice, a wrapped line) that is better refused here than answered 401 at the first request.
    if value is None:
        return
    text = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(text, str) or not text or any(c.isspace() or not c.isprintable() for c in text):
        raise _Refused(attribute, "must be one word, without spaces, line breaks or control characters")


def _check_between(low: float, high: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not low <= value <= high:
            raise _Refused(attribute, f"must be between {low} and {high}, got {value}")

    return check


def _check_positive(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value <= 0:
        raise _Refused(attribute, f"must be positive, got {value}")


def setting(
    default: Any = attrs.NOTHING,
    *,
    env: str | None = None,
    help: str = "",
    secret: bool = False,
    url: bool = False,
    choices: Iterable[str] = (),
    one_word: bool = False,
    between: tuple[float, float] | None = None,
    positive: bool = False,
    label: str = "",
    validator: Callable[[Any, attrs.Attribute[Any], Any], Any]
    | list[Callable[[Any, attrs.Attribute[Any], Any], Any]]
    | None = None,
    kw_only: bool = False,
) -> Any:
    """A field of a settings class (an ``attrs.field`` that also carries what a form and the loader need).

    Args:
        default: the value when the setting is not given; without one the setting is required. Required settings
            after ones with a default need ``kw_only=True`` (attrs' rule for field order).
        env: the environment variable :func:`settings_from_env` reads it from (``None``: not read from there).
        help: one or two sentences for a settings form: what it is and where the user finds it.
        secret: a credential. Annotate the field ``Secret`` (or ``Secret | None``); text given to the
            constructor is wrapped. A field annotated ``Secret`` is secret even without this flag.
        url: the text must be an ``http(s)://host...`` URL.
        choices: the only values a ``str`` field accepts (an ``Enum`` or ``Literal`` field has them already).
        one_word: a key or token (``str`` or ``Secret``): at least one character, none of them a space, a line
            break or a control character.
        between: ``(lowest, highest)``, both included: the range of a number (a page size, a status id).
        positive: the number must be above zero (a timeout, a count of requests).
        label: a short name for a form; by default made from the field's name (``page_size``: "Page size").
        validator: an attrs validator (or a list of them), run on construction and, field by field, by
            :func:`load_settings`. Raise ``ValueError`` with a message that does not quote a secret.
        kw_only: passed to ``attrs.field``.

    Returns:
        the ``attrs.field`` (typed ``Any`` so the annotation states the type).
    """
    options = tuple(choices)
    validators: list[Callable[[Any, attrs.Attribute[Any], Any], Any]] = []
    if url:
        validators.append(_check_url)
    if options:
        validators.append(_check_choices(options))
    if one_word:
        validators.append(_check_one_word)
    if between is not None:
        validators.append(_check_between(*between))
    if positive:
        validators.append(_check_positive)
    if isinstance(validator, list):
        validators.extend(validator)
    elif validator is not None:
        validators.append(validator)
    meta = _Meta(env=env, help=help, secret=secret, url=url, choices=options, label=label)
    return attrs.field(
        default=default,
        validator=validators or None,
        converter=_as_secret if secret else None,
        metadata={_META: meta},
        kw_only=kw_only,
    )


@attrs.frozen
class SettingInfo:
    """One field of a settings class, as a settings form needs it (from :func:`describe_settings`)."""

    name: str
    """The field's name: the key in the mapping :func:`load_settings` reads."""
    type: Any
    """The annotation, resolved (``int``, ``Secret | None``, an enum class...)."""
    kind: str
    """What input to show: ``str``, ``secret`` (a password box), ``int``, ``float``, ``decimal``, ``bool``, ``url``,
    ``path`` or ``choice`` (one of :attr:`choices`)."""
    required: bool
    """No default: the setting must be given."""
    default: Any
    """The default (``None`` when required); a secret's default is a :class:`Secret`, so it does not show."""
    secret: bool
    env: str | None
    """The environment variable :func:`settings_from_env` reads, if any."""
    help: str
    label: str
    choices: tuple[str, ...] = ()
    """The accepted values as text (an enum's values), for ``kind == "choice"`` or a ``str`` with choices."""
    optional: bool = False
    """The annotation allows ``None``: an empty input means "not set"."""

    @property
    def default_text(self) -> str:
        """The default as a form shows it: ``""`` when required, ``None`` or secret; an enum's value; ``true`` or
        ``false`` for a bool."""
        if self.required or self.secret or self.default is None:
            return ""
        return _text_of(self.default)

    @property
    def described_as(self) -> str:
        """``name (ENV_VAR)``, or the name alone: how messages name this setting."""
        return f"{self.name} ({self.env})" if self.env else self.name


def _text_of(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _shown(value: object) -> str:
    """A value in a message about a non-secret setting, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _kind(owner: type, name: str, annotation: Any, meta: _Meta | None) -> tuple[str, tuple[str, ...], bool]:
    """``(kind, choices, optional)`` of one field, or ``TypeError`` for a type text cannot be converted to."""
    inner, optional = _unwrap_optional(annotation)
    choices = meta.choices if meta else ()
    if get_origin(inner) is Literal:
        values = get_args(inner)
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"{owner.__name__}.{name}: a Literal setting takes strings only")
        return "choice", tuple(values), optional
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return "choice", tuple(str(m.value) for m in inner), optional
    simple = {
        Secret: "secret",
        bool: "bool",
        int: "int",
        float: "float",
        Decimal: "decimal",
        Path: "path",
    }
    if meta is not None and meta.secret and inner is not Secret:
        raise TypeError(f"{owner.__name__}.{name}: a secret setting is annotated Secret or Secret | None")
    if inner is str:
        if meta is not None and meta.url:
            return "url", choices, optional
        return ("choice" if choices else "str"), choices, optional
    for known, kind in simple.items():
        if inner is known:
            return kind, choices, optional
    raise TypeError(
        f"{owner.__name__}.{name}: a setting of type {annotation!r} cannot be read from text"
        " (use str, Secret, int, float, Decimal, bool, Path, an Enum or a Literal, optionally | None)"
    )


def _label(name: str) -> str:
    words = name.strip("_").replace("_", " ")
    return words[:1].upper() + words[1:]


def describe_settings(cls: type[Any]) -> tuple[SettingInfo, ...]:
    """The settings of ``cls``, in declaration order, as a settings form needs them.

    ``cls`` is an attrs class; fields made with :func:`setting` carry their environment variable, help text and
    choices, plain attrs fields are described from their annotation and default alone. Fields with
    ``init=False`` are left out.

    Raises:
        TypeError: ``cls`` is not an attrs class, or a field has a type text cannot be converted to.
    """
    found = _DESCRIBED.get(cls)
    if found is None:
        found = _DESCRIBED[cls] = _describe(cls)
    return found


_DESCRIBED: dict[type[Any], tuple[SettingInfo, ...]] = {}


def _describe(cls: type[Any]) -> tuple[SettingInfo, ...]:
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise TypeError(f"{cls!r} is not an attrs class, so it cannot declare settings")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:
        raise TypeError(f"{cls.__name__}: the annotations cannot be resolved ({exc})") from None
    infos = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        meta = field.metadata.get(_META)
        meta = meta if isinstance(meta, _Meta) else None
        annotation = hints.get(field.name, field.type)
        name = field.alias or field.name
        kind, choices, optional = _kind(cls, name, annotation, meta)
        default: Any = field.default
        required = default is attrs.NOTHING
        if required:
            default = None
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = None if default.takes_self else default.factory()
        infos.append(
            SettingInfo(
                name=name,
                type=annotation,
                kind=kind,
                required=required,
                default=default,
                secret=kind == "secret",
                env=meta.env if meta else None,
                help=meta.help if meta else "",
                label=(meta.label if meta and meta.label else _label(name)),
                choices=choices,
                optional=optional,
            )
        )
    return tuple(infos)


class SettingsError(ConfigurationError):
    """Settings that cannot be used, every problem named at once.

    ``problems`` maps a setting's name to what is wrong with it (``"*"`` for a problem of several settings
    together); the message lists them all, each setting named with its environment variable. No message quotes
    the value of a secret setting.
    """

    def __init__(self, settings_class: type, problems: Mapping[str, str]) -> None:
        self.settings_class = settings_class
        self.problems: dict[str, str] = dict(problems)
        try:
            named = {info.name: info.described_as for info in describe_settings(settings_class)}
        except TypeError:
            named = {}
        parts = [text if name == _WHOLE else f"{named.get(name, name)}: {text}" for name, text in self.problems.items()]
        super().__init__(f"{settings_class.__name__}: {'; '.join(parts)}")


class _Bad(Exception):
    """One setting's value cannot be used (the message never quotes a secret)."""


_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f"})


def _convert(info: SettingInfo, raw: object) -> object:
    """The value of ``raw`` (text from a form or the environment, or a value of the field's own type)."""
    inner, _ = _unwrap_optional(info.type)
    text = raw.strip() if isinstance(raw, str) else None
    kind = info.kind
    if kind == "secret":
        if isinstance(raw, Secret):
            return Secret(raw.reveal().strip())
        if text is None:
            raise _Bad(f"must be text, not {type(raw).__name__}")
        return Secret(text)
    if kind in ("str", "url") or (kind == "choice" and inner is str):
        if text is None:
            raise _Bad(f"must be text, not {type(raw).__name__}")
        return text
    if kind == "choice" and isinstance(inner, type) and issubclass(inner, enum.Enum):
        if isinstance(raw, inner):
            return raw
        for member in inner:
            if text is not None and (text == str(member.value) or text.lower() == member.name.lower()):
                return member
        raise _Bad(f"must be one of {', '.join(info.choices)}, got {_shown(raw)}")
    if kind == "choice":  # a Literal
        if text in info.choices:
            return text
        raise _Bad(f"must be one of {', '.join(info.choices)}, got {_shown(raw)}")
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise _Bad(f"must be true or false (yes/no, on/off, 1/0), got {_shown(raw)}")
    if kind == "int":
        if isinstance(raw, bool):
            raise _Bad(f"must be a whole number, got {_shown(raw)}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, (float, Decimal)) and math.isfinite(raw) and raw == int(raw):
            return int(raw)
        try:
            if text is not None:
                return int(text)
        except ValueError:
            pass
        raise _Bad(f"must be a whole number, got {_shown(raw)}")
    if kind in ("float", "decimal"):
        number: float | Decimal | None = None
        if isinstance(raw, bool):
            number = None
        elif kind == "float" and isinstance(raw, (int, float, Decimal)):
            number = float(raw)
        elif kind == "decimal" and isinstance(raw, (int, Decimal)):
            number = Decimal(raw)
        elif kind == "decimal" and isinstance(raw, float):
            number = Decimal(repr(raw))
        elif text is not None:
            try:
                number = float(text) if kind == "float" else Decimal(text)
            except (ValueError, InvalidOperation):
                number = None
        if number is None or not (number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)):
            raise _Bad(f"must be a number, got {_shown(raw)}")
        return number
    if kind == "path":
        if isinstance(raw, Path):
            return raw
        if text is None:
            raise _Bad(f"must be a path, not {type(raw).__name__}")
        return Path(text).expanduser()
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover - _kind lists them all


def _scrub(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret value in it replaced by ``***``. A short value is replaced only where it
    stands alone (not inside a word), so a one-letter test secret does not garble the message."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(value) >= 8:
            message = message.replace(value, _MASK)
        else:
            message = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", _MASK, message)
    return message


def _given(raw: object) -> bool:
    if isinstance(raw, Secret):
        raw = raw.reveal()
    return raw is not None and not (isinstance(raw, str) and not raw.strip())


def load_settings(cls: type[T], values: Mapping[str, object]) -> T:
    """An instance of the settings class ``cls`` from ``values`` (a form's or a config file's dict).

    Values may be text, converted by each field's annotation, or values of the field's type. Text is stripped;
    empty text and ``None`` mean "not given" (the default applies; a required setting is missing). Each field's
    validators run on its converted value, then the class is built (its ``__attrs_post_init__`` may check
    settings together and raise :class:`SettingsError` or ``ValueError``).

    Raises:
        SettingsError: every unknown, missing or unusable setting at once, each named with its environment
            variable. No message quotes a secret's value.
    """
    infos = describe_settings(cls)
    fields = {(f.alias or f.name): f for f in attrs.fields(cls) if f.init}  # type: ignore[arg-type]
    known = {info.name for info in infos}
    problems: dict[str, str] = {}
    for key in values:
        if key not in known:
            problems[str(key)] = f"not a setting of {cls.__name__}"
    secrets = _secret_texts(infos, values)
    kwargs: dict[str, object] = {}
    for info in infos:
        raw = values.get(info.name)
        if not _given(raw):
            if info.required:
                problems[info.name] = "required"
            continue
        try:
            value = _convert(info, raw)
        except _Bad as bad:
            problems[info.name] = _scrub(str(bad), secrets)
            continue
        field = fields[info.name]
        if field.validator is not None:
            try:
                field.validator(None, field, value)
            except (ValueError, TypeError) as exc:
                problems[info.name] = _scrub(exc.problem if isinstance(exc, _Refused) else str(exc), secrets)
                continue
        kwargs[info.name] = value
    if problems:
        raise SettingsError(cls, problems)
    failure: SettingsError | None = None
    try:
        return cls(**kwargs)
    except SettingsError as exc:
        failure = SettingsError(cls, {k: _scrub(v, secrets) for k, v in exc.problems.items()})
    except (ValueError, TypeError) as exc:
        failure = SettingsError(cls, {_WHOLE: _scrub(str(exc), secrets)})
    # Raised here, outside the handler, so the original (which may quote a value) is not its context.
    raise failure


def _secret_texts(infos: Iterable[SettingInfo], values: Mapping[str, object]) -> set[str]:
    """The values given for secret settings, as given and stripped: what a message must never show."""
    texts: set[str] = set()
    for info in infos:
        raw = values.get(info.name)
        if info.secret and _given(raw):
            text = raw.reveal() if isinstance(raw, Secret) else str(raw)
            texts.update((text, text.strip()))
    return texts


def settings_from_env(cls: type[T], env: Mapping[str, str] | None = None) -> T:
    """An instance of the settings class ``cls`` from environment variables (``os.environ`` when ``env`` is
    ``None``): each field with an ``env`` name is read from it, the others take their defaults. An empty variable
    counts as unset.

    Raises:
        SettingsError: as :func:`load_settings`, naming each setting with its variable.
    """
    source: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, object] = {}
    for info in describe_settings(cls):
        if info.env is not None:
            text = source.get(info.env)
            if _given(text):
                values[info.name] = text
    return load_settings(cls, values)
