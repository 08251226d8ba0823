"""How values are written to and read from text columns: JSON, raw payloads, times, field changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson

from .._model import ChangeKind, FieldChange, RawJSON


def _jsonable(value: Any) -> Any:
    # Raw payloads are kept as the store sent them; the odd non-JSON value (a Decimal from a SOAP library,
    # bytes) is written as text rather than lost.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_OPTS = orjson.OPT_NON_STR_KEYS


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=_jsonable, option=_OPTS).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _dumps_raw(raw: Any) -> str:
    # A payload the driver kept as the store's own JSON text is stored as it is; anything else is encoded.
    return str(raw) if isinstance(raw, RawJSON) else _dumps(raw)


def _loads_raw(text: str | None) -> RawJSON | None:
    # Raw payloads come back as their JSON text: parsing them here would turn money into floats, and most
    # readers never look at them. ``RawJSON.data()`` parses with exact decimals.
    return None if text is None or text == "null" else RawJSON(text)


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _changes_json(changes: Sequence[FieldChange]) -> str:
    return _dumps([[c.kind.value, c.path, c.old, c.new] for c in changes])


def _changes_from(text: str) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(ChangeKind(k), p, o, n) for k, p, o, n in orjson.loads(text))
