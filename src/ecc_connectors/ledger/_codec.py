"""How values are written to and read from text columns: JSON, raw payloads, times, field changes.

JSON is msgspec's, as everywhere else in the SDK. Ledgers written before (by orjson, up to 2026-11) read the
same: both write standard JSON, and what one wrote the other decodes to the same values (non-integer numbers
as floats in both; money is kept as text). New rows are written as before too (datetimes in ``isoformat``,
sets sorted, bytes as text, Decimals as text); only a float with a large exponent is spelled ``1e16`` where
orjson wrote ``1e+16``, the same number. tests/test_ledger_compat.py reads a ledger written by the orjson code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from typing import Any

import msgspec

from .._model import ChangeKind, FieldChange, RawJSON


def _key(key: Any) -> Any:
    # JSON keys are text: None and booleans as JSON spells them (as orjson wrote them), the rest as msgspec does.
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return key


def _prepared(value: Any) -> Any:
    """``value`` with what msgspec would write differently from the ledger's rules replaced: sets as sorted
    lists (the same text run to run), bytes as text (msgspec would write base64), times as ``isoformat``."""
    if isinstance(value, dict):
        return {_key(k): _prepared(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepared(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_prepared(v) for v in value), key=str)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()  # "+00:00" as before, where msgspec would write "Z"
    return value


# Raw payloads are kept as the store sent them; the odd non-JSON value (an object from a SOAP library) is
# written as text rather than lost. (Decimals are written as text by msgspec itself.)
_encoder = msgspec.json.Encoder(enc_hook=str)
_decoder = msgspec.json.Decoder()


def _dumps(value: Any) -> str:
    return _encoder.encode(_prepared(value)).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else _decoder.decode(text)


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
    return tuple(FieldChange(ChangeKind(k), p, o, n) for k, p, o, n in _decoder.decode(text))
