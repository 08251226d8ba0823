"""OrdersOnDemand: a page's orders decoded when first read, each once, a bad row never raising."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ecc_connectors.driver import Order, OrdersOnDemand, PayloadError, Totals

WHEN = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _order(row: str) -> Order:
    if row.startswith("!"):
        raise ValueError(f"cannot read {row}")
    return Order(
        store="s", order_id=row, number=row, status="pending", created_at=WHEN, updated_at=WHEN,
        currency="USD", totals=Totals(grand_total=Decimal("1")),
    )


def _id(order: Order | PayloadError) -> str:
    assert isinstance(order, Order)
    return order.order_id


def test_each_row_is_decoded_when_first_read_and_only_once() -> None:
    calls: list[str] = []

    def decode(row: str) -> Order:
        calls.append(row)
        return _order(row)

    orders = OrdersOnDemand(["a", "b", "c"], decode, store="s", refs=["1", "2", "3"])
    assert len(orders) == 3
    assert calls == []
    assert _id(orders[2]) == "c"
    assert orders[-1] is orders[2]
    assert calls == ["c"]
    assert [_id(o) for o in orders] == ["a", "b", "c"]
    assert calls == ["c", "a", "b"]
    assert [_id(o) for o in orders[0:2]] == ["a", "b"]
    assert calls == ["c", "a", "b"]
    with pytest.raises(IndexError):
        orders[3]


def test_a_row_whose_decoding_raises_is_a_payload_error_with_its_raw_row() -> None:
    orders = OrdersOnDemand([b"ok", b"!bad \xff"], lambda row: _order(row.decode("latin-1")), store="s",
                            refs=["10", "11"])
    bad = orders[1]
    assert isinstance(bad, PayloadError)
    assert (bad.store, bad.order_ref, bad.field) == ("s", "11", "(order)")
    assert "ValueError: cannot read !bad" in bad.problem
    assert bad.raw == "!bad \\xff"  # the undecodable byte kept as an escape, never dropped
    assert isinstance(orders[0], Order)


def test_equal_to_the_same_orders_as_a_tuple_and_refs_must_match_rows() -> None:
    orders = OrdersOnDemand(["a"], _order, store="s", refs=["1"])
    assert orders == (_order("a"),)
    assert orders != (_order("b"),)
    with pytest.raises(TypeError):
        hash(orders)
    with pytest.raises(ValueError, match="2 rows but 1 refs"):
        OrdersOnDemand(["a", "b"], _order, store="s", refs=["1"])
