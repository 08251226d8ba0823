"""The typed decoding of listed orders and the full decoding accept and refuse the same payloads."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from ecc_connectors import Order, PayloadError, RawJSON, fingerprint
from ecc_connectors.drivers.magento2 import decode_order, map_order

# private: the full fallback decodes the bytes exactly as the driver does before mapping, to compare it with the
# typed fast path (decode_order)
from ecc_connectors.drivers.magento2._errors import decode_bytes

BASE: dict[str, Any] = {
    "entity_id": 5,
    "increment_id": "000000005",
    "status": "processing",
    "state": "processing",
    "created_at": "2024-01-02 10:00:00",
    "updated_at": "2024-01-03 10:00:00",
    "order_currency_code": "USD",
    "grand_total": 10.5,
    "subtotal": 10.5,
    "total_paid": 10.5,
    "items": [{"item_id": 7, "sku": "A", "name": "a", "qty_ordered": 1, "price": 10.5, "row_total": 10.5}],
    "billing_address": {"firstname": "A", "lastname": "B", "street": ["1 St"], "city": "X"},
    "payment": {"method": "checkmo", "amount_paid": 10.5},
    "status_histories": [{"comment": "hi", "created_at": "2024-01-02 10:00:00", "status": "processing"}],
    "extension_attributes": {
        "shipping_assignments": [{"shipping": {"address": {"city": "Y"}, "method": "flatrate_flatrate"}}]
    },
}

VARIANTS = {
    "as sent": BASE,
    "a null history entry": {**BASE, "status_histories": [None]},
    "shipping_assignments as {} (PHP's empty array)": {**BASE, "extension_attributes": {"shipping_assignments": {}}},
    "status_histories as {}": {**BASE, "status_histories": {}},
    "an address as []": {
        **BASE,
        "extension_attributes": {"shipping_assignments": [{"shipping": {"address": [], "method": "m"}}]},
    },
    "an amount as text": {**BASE, "grand_total": "ten"},
    "a quantity as true": {**BASE, "items": [{**BASE["items"][0], "qty_ordered": True}]},
}


def _full(content: bytes) -> Order | PayloadError:
    try:
        return map_order(decode_bytes(content), "s")
    except PayloadError as error:
        return error


@pytest.mark.parametrize("payload", list(VARIANTS.values()), ids=list(VARIANTS))
def test_both_decodings_agree(payload: dict[str, Any]) -> None:
    content = json.dumps(payload).encode()
    typed, full = decode_order(content, "s"), _full(content)
    assert type(typed) is type(full)
    if isinstance(typed, Order):
        assert isinstance(full, Order)
        assert typed == full
        assert fingerprint(typed) == fingerprint(full)
        assert isinstance(typed.raw, RawJSON)
        assert typed.raw == content.decode()
    else:
        assert isinstance(typed, PayloadError)
        assert typed.order_ref == "000000005"
        assert isinstance(typed.raw, RawJSON)


# Poisoned orders: nothing one order holds escapes its decoding ----------------------------------------------
DEEP = "[" * 5000 + "]" * 5000


def _text(payload: dict[str, Any]) -> str:
    return json.dumps(payload)


POISONS: dict[str, tuple[bytes, str]] = {
    # name: (the order's bytes, the field the error must name)
    "grand_total 1e1000000": (
        _text(BASE).replace('"grand_total": 10.5', '"grand_total": 1e1000000').encode(),
        "grand_total",
    ),
    "subtotal 1e-1000000": (
        _text(BASE).replace('"subtotal": 10.5', '"subtotal": 1e-1000000').encode(),
        "subtotal",
    ),
    "a price of 10**30 as an integer": (
        _text(BASE).replace('"price": 10.5', '"price": ' + "9" * 31).encode(),
        "items[0].price",
    ),
    "an amount with 5000 digits as text": (
        _text({**BASE, "grand_total": "1" * 5000}).encode(),
        "grand_total",
    ),
    "invalid UTF-8 in a comment": (_text(BASE).encode().replace(b'"hi"', b'"h\xff\xfei"'), "status_histories"),
    "a lone surrogate half in UTF-8 bytes": (
        _text(BASE).encode().replace(b'"hi"', b'"\xed\xa0\x80"'),
        "status_histories",
    ),
    "a field nested 5000 deep": (
        _text(BASE).replace('"comment": "hi"', '"comment": ' + DEEP).encode(),
        "status_histories",
    ),
    "an unknown field nested 5000 deep": (
        _text(BASE).replace('"entity_id": 5', '"entity_id": 5, "custom": ' + DEEP).encode(),
        "custom",
    ),
    # The field's path is joined from its parts only when something is wrong: each part must still be there.
    "a line without its quantity": (
        _text({**BASE, "items": [BASE["items"][0], {"item_id": 8, "sku": "B", "price": 1}]}).encode(),
        "items[1].qty_ordered",
    ),
    "a line's tax beyond Magento's columns": (
        _text({**BASE, "items": [{**BASE["items"][0], "tax_amount": 1e30}]}).encode(),
        "items[0].tax_amount",
    ),
    "a payment amount of 10**30": (
        _text({**BASE, "payment": {"method": "checkmo", "amount_paid": 10**30}}).encode(),
        "payment.amount_paid",
    ),
    "a line without its id": (
        _text({**BASE, "items": [{**BASE["items"][0], "item_id": " "}]}).encode(),
        "items[0].item_id",
    ),
    "malformed JSON inside": (_text(BASE).replace('"state": "processing"', '"state": tru').encode(), "(order)"),
}


@pytest.mark.parametrize(("content", "field"), list(POISONS.values()), ids=list(POISONS))
def test_a_poisoned_order_is_a_payload_error_with_its_name_and_raw_text(content: bytes, field: str) -> None:
    result = decode_order(content, "s")
    assert isinstance(result, PayloadError)
    assert result.store == "s"
    assert result.order_ref == "000000005"
    assert result.field == field
    assert isinstance(result.raw, RawJSON)
    # Never lost: valid text kept as is, undecodable bytes written as \xNN escapes.
    assert result.raw == content.decode("utf-8", "backslashreplace")
    str(result)  # the message can be built


@pytest.mark.parametrize(
    "error",
    [KeyError("x"), TypeError("t"), ValueError("v"), ArithmeticError("a"), RecursionError("r"), UnicodeError("u")],
    ids=lambda e: type(e).__name__,
)
def test_any_exception_inside_the_mapping_becomes_a_payload_error(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    from ecc_connectors.drivers.magento2 import _mapping  # private: a failure injected inside the mapping

    def explode(data: Any) -> Any:
        raise error

    monkeypatch.setattr(_mapping, "_totals", explode)
    result = decode_order(json.dumps(BASE).encode(), "s")
    assert isinstance(result, PayloadError)
    assert result.order_ref == "000000005"
    assert type(error).__name__ in result.problem


def test_a_page_with_poisoned_orders_keeps_its_good_orders_and_every_key() -> None:
    # private: the page is cut and decoded by the driver's own steps, each checked on its own
    from ecc_connectors.drivers.magento2._errors import read_envelope
    from ecc_connectors.drivers.magento2._schema import decode_row

    def row(entity: int, **extra: Any) -> bytes:
        stamp = f"2024-01-03 10:00:0{entity}"
        payload = {**BASE, "entity_id": entity, "increment_id": f"{entity:09d}", "updated_at": stamp, **extra}
        return json.dumps(payload).encode()

    bad_utf8 = row(2).replace(b'"hi"', b'"\xff"')
    deep = row(3).replace(b'"comment": "hi"', b'"comment": ' + DEEP.encode())
    body = b'{"items":[' + b",".join([row(1), bad_utf8, deep, row(4)]) + b'],"total_count":4}'
    envelope = read_envelope(body)
    assert envelope.total == 4
    assert envelope.items == [row(1), bad_utf8, deep, row(4)]
    decoded = [decode_row(item, "s") for item in envelope.items]
    assert [type(order).__name__ for order, _ in decoded] == ["Order", "PayloadError", "PayloadError", "Order"]
    assert [getattr(order, "order_ref", None) for order, _ in decoded] == [None, "000000002", "000000003", None]
    keys = [(key.id, key.updated_at.second) for _, key in decoded if key is not None]
    assert keys == [(1, 1), (2, 2), (3, 3), (4, 4)]


def test_the_fast_path_does_not_fall_back_on_a_good_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecc_connectors.drivers.magento2 import _errors  # private: proves the fallback is not taken

    def no_fallback(content: bytes) -> Any:
        raise AssertionError("the structural fallback ran for a page the fast decoder reads")

    monkeypatch.setattr(_errors, "_split_envelope", no_fallback)
    body = json.dumps({"items": [BASE, BASE], "total_count": 2}).encode()
    assert len(_errors.read_envelope(body).items) == 2
    # An order with invalid UTF-8 does not need the fallback either: msgspec leaves item bytes alone.
    assert len(_errors.read_envelope(body.replace(b'"hi"', b'"\xff"')).items) == 2


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-03-01 10:00:00", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),  # Magento's own form, UTC
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
        ("2024-03-01 10:00+01", datetime(2024, 3, 1, 9, tzinfo=timezone.utc)),  # 19 characters with an offset
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
        (" 2024-03-01 10:00:0", None),
        ("2024-03-01 10:00:0Z", None),
        ("2024-13-01 10:00:00", None),
    ],
)
def test_updated_at_is_read_in_utc_whatever_its_form(stamp: str, expected: datetime | None) -> None:
    result = decode_order(json.dumps({**BASE, "updated_at": stamp}).encode(), "s")
    if expected is None:
        assert isinstance(result, PayloadError)
        assert result.field == "updated_at"
    else:
        assert isinstance(result, Order)
        assert result.updated_at == expected
        assert result.updated_at.tzinfo is timezone.utc
