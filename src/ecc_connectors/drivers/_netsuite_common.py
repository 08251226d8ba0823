"""What holds for NetSuite whichever API a driver speaks (SuiteTalk SOAP in ``netsuite``, REST and SuiteQL in
``netsuite_rest``): the forms of an account id and what is built from it (hosts, the store id), the engine limits
the settings describe, credentials read from a config, numbers read exactly, and NetSuite's rules for a write:
which lines a fulfilment can take, where a free-text status goes, and how a comment joins an order's memo.

Both drivers give an account the same store id, as ``docs/drivers/netsuite-rest.md`` promises; :func:`store_id_of`
keeps that promise in one place, and :func:`phone_order_external_id` the external id of a phone order's sales order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from ..driver import (
    Capability,
    CapabilityNotSupported,
    ConfigurationError,
    Limits,
    ShipmentRequest,
    StatusNotAllowed,
)

__all__ = [
    "account_host",
    "credentials_of",
    "limits_from",
    "lines_to_fulfil",
    "memo_with",
    "passport_account",
    "phone_order_external_id",
    "status_field",
    "store_id_of",
    "suitetalk_root",
    "to_decimal",
    "valid_account",
]

# A NetSuite account id: digits (production), TSTDRV and digits (a test drive), either with a sandbox
# (``_SB1``) or release-preview (``_RP``) suffix, written with an underscore or a hyphen, in any case.
_ACCOUNT = re.compile(r"(?:[0-9]+|TSTDRV[0-9]+)(?:[_-](?:SB[0-9]+|RP))?", re.IGNORECASE)

_C = TypeVar("_C", covariant=True)


def valid_account(account: str) -> str:
    """``account`` without surrounding whitespace, or :class:`ValueError` when it is not a NetSuite account id.

    It becomes part of a host name (``<account>.suitetalk.api.netsuite.com``), so anything else (a dot, a slash,
    an ``@``) could send the signed requests to another host."""
    value = str(account).strip()
    if not _ACCOUNT.fullmatch(value):
        raise ValueError(
            f"NetSuite account id {value!r} is not an account id like 1234567, 1234567_SB1 or TSTDRV1234567"
        )
    return value


def passport_account(account: str) -> str:
    """The account id as signatures name it, the SOAP token passport's ``account`` and the REST TBA ``realm``:
    ``1234567_SB1`` (upper case, underscore)."""
    return valid_account(account).upper().replace("-", "_")


def account_host(account: str) -> str:
    """The account id as the host name wants it: ``1234567-sb1`` (lower case, hyphen)."""
    return valid_account(account).lower().replace("_", "-")


def suitetalk_root(account: str) -> str:
    """The account's SuiteTalk host as a URL without a path, where both the SOAP and the REST services live."""
    return f"https://{account_host(account)}.suitetalk.api.netsuite.com"


def store_id_of(account: str) -> str:
    """The store id of an account when the caller names none: ``netsuite:1234567_SB1``, for either driver."""
    return f"netsuite:{account.upper().replace('-', '_')}"


def phone_order_external_id(reference: str) -> str:
    """The ``externalId`` of the sales order made for a phone order: derived from its reference alone, so every
    attempt to create it, through either driver, names the same record, and prefixed so it cannot meet another
    integration's ids."""
    return "ecc-order-" + hashlib.sha256(reference.encode()).hexdigest()[:32]


class _Tuning(Protocol):
    @property
    def concurrency(self) -> int: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def max_attempts(self) -> int: ...


def limits_from(settings: _Tuning) -> Limits:
    """The engine's limits from a driver's settings: concurrency, timeouts and attempts, no request rate."""
    return Limits(
        concurrency=int(settings.concurrency),
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_attempts=settings.max_attempts,
    )


class _Config(Protocol[_C]):
    def credentials(self) -> _C: ...


def credentials_of(config: _Config[_C]) -> _C:
    """The credentials a config holds; one it cannot make is a :class:`ConfigurationError` (whose message names
    the field or the account id, never a secret)."""
    try:
        return config.credentials()
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def lines_to_fulfil(request: ShipmentRequest, open_lines: Collection[str], store_id: str) -> dict[str, Decimal]:
    """The quantities ``request`` asks for by order line id (empty: every open line in full), once NetSuite could
    fulfil them: an order without an ``open_lines`` id, or a request naming a line that is not one, is a
    :class:`StatusNotAllowed` (NetSuite would refuse the fulfilment, or make one without that line)."""
    if not open_lines:
        raise StatusNotAllowed(
            "NetSuite: nothing left to fulfil on this order",
            code="NOTHING_TO_FULFILL",
            store=store_id,
            order_id=request.order_id,
        )
    requested = {str(line): qty for line, qty in request.lines}
    unknown = sorted(set(requested) - set(open_lines))
    if unknown:
        raise StatusNotAllowed(
            f"NetSuite: order lines {', '.join(unknown)} have nothing left to fulfil",
            code="LINE_NOT_FULFILLABLE",
            store=store_id,
            order_id=request.order_id,
        )
    return requested


def status_field(driver: str, field_id: str | None, status: str, setting: str) -> str:
    """The custom body field (``field_id``) that takes a free-text ``status``. NetSuite has no status of its own
    for free text, so without one the change is :class:`CapabilityNotSupported`, naming the ``setting`` to set."""
    if not field_id:
        raise CapabilityNotSupported(
            driver,
            Capability.SET_STATUS.value,
            f"NetSuite has no free-text status like {status!r}; set {setting} to a custom body field to record it "
            "there",
        )
    return field_id


def memo_with(memo: str, comment: str | None) -> str | None:
    """The sales order ``memo`` that carries ``comment`` as one of its lines, or ``None`` when there is nothing to
    add: no comment, or ``memo`` has it already (an earlier attempt wrote it; a comment is not written twice)."""
    if not comment:
        return None
    if comment in memo.splitlines():
        return None
    return f"{memo}\n{comment}" if memo else comment


def to_decimal(value: Any, default: Decimal | None = Decimal("0")) -> Decimal | None:
    """A Decimal from what either API gives for a number: SuiteQL's text, an exact JSON number, zeep's ``float``
    for an ``xsd:double`` or ``str`` for a rate; anything else (a boolean, text that is not a number) is
    ``default``. A float goes through ``repr`` so the digits NetSuite sent come back (``15993.6``, not its binary
    neighbour)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return default
    if isinstance(value, Decimal):
        return value
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        return Decimal(text)
    except InvalidOperation:
        return default
