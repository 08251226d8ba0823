"""What the fake Magento store keeps, shared by the modules that make it up.

``FakeMagentoStore`` (``_magento.py``) is put together from mixins, one per concern: routes and reads
(``_magento_routes``), writes on orders (``_magento_writes``), carts (``_magento_carts``) and edits made "in the
store" (``_magento_edits``), over :class:`MagentoState`, which declares the state they share and the few helpers
every one of them uses (storing, loading and stamping an order). The HTTP server, the request log, faults, the
rate limit and the clock come from the fake-store base (``base.FakeStore``).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import attrs

from . import _magento_wire as wire
from ._base_http import Answer
from ._base_http import HttpError as _ApiError
from ._magento_auth import MagentoOAuthKeys
from ._magento_search import _Found
from ._magento_seed import IdSequence, OrderBuilder, Product, format_date
from .base import FakeStore

__all__ = [
    "DEFAULT_TOKEN",
    "_INTERNAL_ERROR",
    "_NOT_FOUND",
    "_NO_SUCH_ENTITY",
    "MagentoState",
    "_ApiError",
    "_Cart",
    "_Record",
    "_Response",
    "_dec",
    "_deep_merge",
    "_int_id",
    "_parse_body",
    "_shipping_address_id",
]

_UTC = timezone.utc
DEFAULT_TOKEN = "fake-magento-integration-token"
_NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."
_NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"
_INTERNAL_ERROR = "Internal Error. Details are available in Magento log file. Report ID: %1"


@attrs.define
class _Response(Answer):
    """An answer before the wire: ``body`` is JSON, already in PHP's escaping when ``php``; ``parts`` (when
    set) are the pieces ``body`` joins, with deflate segments where ready, for a cheap gzip; ``fields_done``: the
    ``fields`` filter is already applied."""

    php: bool = False
    parts: list[tuple[bytes, bytes | None]] | None = None
    fields_done: bool = False


@attrs.define
class _Record:
    """An order as stored: its rendered JSON (served as is, in the store's current encoding, any raw poison
    planted), the top-level scalars searches filter on (also the index the ``fields`` listing is answered
    from), the blob as a deflate segment while ``gzip`` is on, and for a poisoned order its clean JSON."""

    blob: bytes
    row: dict[str, Any]
    segment: bytes | None = None
    source: bytes | None = None
    # Position of each row key, shared by every record whose row has the same keys in the same order.
    positions: dict[str, int] = attrs.field(factory=dict)


@attrs.define
class _Cart:
    cart_id: str
    quote_id: int
    customer_id: int | None
    items: list[dict[str, Any]] = attrs.field(factory=list)
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_method: tuple[str, str] | None = None
    email: str | None = None
    ordered: int | None = None


def _row_of(order: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not isinstance(v, (dict, list))}


class MagentoState(FakeStore):
    """The state of a fake Magento store (set by ``FakeMagentoStore.__init__``) and the helpers over it."""

    name = "fake-magento"
    description = "fake Magento store"

    _ids: IdSequence
    _last_write: datetime | None
    _tokens: set[str]
    _admin_users: dict[str, str]
    _admin_tokens: set[str]
    _oauth: MagentoOAuthKeys | None
    _store_codes: set[str]
    default_page_size: int | None
    max_page_size: int | None
    _state_statuses: dict[str, tuple[str, ...]]
    _shuffle_ties: bool
    _tie_rng: random.Random
    _total_count_override: int | None
    _ignore_page_size: bool
    _php_json: bool
    _gzip: bool
    _stamps: list[str]
    _leaks: set[int]
    _poisons: dict[int, tuple[str, int]]
    _orders: dict[int, _Record]
    _shapes: dict[tuple[str, ...], dict[str, int]]
    _version: int
    _search_version: int
    _search_cache: dict[Any, _Found]
    _shipments: dict[int, dict[str, Any]]
    _invoices: dict[int, dict[str, Any]]
    _carts: dict[str, _Cart]
    _catalogue: dict[str, Product]
    _products: list[dict[str, Any]]
    _builder: OrderBuilder
    _rng: random.Random
    _anchor: datetime

    # -- the order table -------------------------------------------------------------------------------------

    def _store(self, order: dict[str, Any]) -> None:
        entity_id = int(order["entity_id"])
        self._orders[entity_id] = self._record(order)
        self._version += 1

    def _record(self, order: Mapping[str, Any]) -> _Record:
        """Render an order once, in the store's current encoding, poison re-planted, gzip segment ready."""
        clean = wire.dumps(order)
        blob = wire.php_escape(clean) if self._php_json else clean
        source = None
        poisoned = self._poisons.get(int(order["entity_id"]))
        if poisoned is not None:
            blob = wire.poison(blob, *poisoned)
            source = clean
        segment = wire.deflate_segment(blob) if self._gzip else None
        row = _row_of(order)
        keys = tuple(row)
        positions = self._shapes.get(keys)
        if positions is None:
            positions = self._shapes[keys] = {k: i for i, k in enumerate(keys)}
        return _Record(blob, row, segment, source, positions)

    @staticmethod
    def _decode(record: _Record) -> dict[str, Any]:
        result: dict[str, Any] = wire.loads(record.source if record.source is not None else record.blob)
        return result

    def _load(self, entity_id: int) -> dict[str, Any]:
        record = self._orders.get(entity_id)
        if record is None:
            raise _ApiError(404, _NOT_FOUND)
        return self._decode(record)

    def _now(self) -> datetime:
        now = self._clock().astimezone(_UTC).replace(microsecond=0)
        # Magento's timestamps never run backwards for one store, even if the host clock does.
        if self._last_write is not None and now < self._last_write:
            now = self._last_write
        self._last_write = now
        return now

    def _touch(self, order: dict[str, Any], when: datetime | None = None) -> str:
        stamp = format_date(when or self._now())
        order["updated_at"] = stamp
        return stamp

    def _encode(self, value: Any) -> bytes:
        return wire.encode_json(value, self._php_json)

    # -- Magento's answers -----------------------------------------------------------------------------------

    def json_answer(self, value: Any, status: int = 200) -> _Response:
        return _Response(status, wire.dumps(value))

    def error_answer(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> _Response:
        """Magento's error body: ``{message, parameters}`` with ``%name`` / ``%1`` placeholders."""
        body = {"message": message, "parameters": [] if parameters is None else parameters}
        return _Response(status, wire.dumps(body), dict(headers or {}))


# -- helpers shared by the modules ---------------------------------------------------------------------------


def _shipping_address_id(order: Mapping[str, Any]) -> Any:
    for assignment in order.get("extension_attributes", {}).get("shipping_assignments", []) or []:
        address = assignment.get("shipping", {}).get("address") if isinstance(assignment, dict) else None
        if isinstance(address, dict) and address.get("entity_id") is not None:
            return address["entity_id"]
    return None


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except ArithmeticError:
        return Decimal(0)


def _int_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _ApiError(
            400,
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
            {"value": value, "type": "int"},
        ) from None


def _parse_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise _ApiError(400, "Decoding error: \nSyntax error") from None


def _deep_merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
