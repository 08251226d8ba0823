"""The typed decoding of listed orders and the full decoding accept and refuse the same payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecc_connectors import Order, PayloadError, RawJSON, fingerprint
from ecc_connectors.drivers.magento2._errors import decode_bytes
from ecc_connectors.drivers.magento2._mapping import map_order
from ecc_connectors.drivers.magento2._schema import decode_order

BASE: dict[str, Any] = {
    "entity_id": 5, "increment_id": "000000005", "status": "processing", "state": "processing",
    "created_at": "2024-01-02 10:00:00", "updated_at": "2024-01-03 10:00:00", "order_currency_code": "USD",
    "grand_total": 10.5, "subtotal": 10.5, "total_paid": 10.5,
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
