"""Two-axis statuses on the Shopify driver: rows per axis, wildcard rows, cancelled and archived orders in the
right tabs, the status list a settings screen offers, and an edited order becoming an Update with line changes."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from ecc_connectors import Connector, SQLiteLedger, StatusRule
from test_shopify_support import fake_shop, policy, shopify_driver


def test_statuses_are_every_pair_of_the_two_axes_with_cancelled_and_closed() -> None:
    with fake_shop() as store, Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
        codes = {s.code for s in connector.list_statuses()}
        sent = store.request_count
    financial = set(store.shop.financial) | {"CANCELLED"}
    fulfilment = set(store.shop.fulfillment) | {"CLOSED"}
    assert codes == {f"{f}|{g}" for f in financial for g in fulfilment}  # the fake's enums come from the schema
    assert sent == 0  # a fixed enumeration: no request


def test_rows_wildcards_cancelled_and_closed_orders_go_to_their_tabs() -> None:
    with fake_shop() as store:
        with store.lock:
            paid = store.shop.add_order(financial="PAID")
            pending = store.shop.add_order(financial="PENDING")
            authorized = store.shop.add_order(financial="AUTHORIZED")
            cancelled = store.shop.add_order(financial="AUTHORIZED")
            store.shop.cancel({"orderId": cancelled["id"], "reason": "CUSTOMER", "restock": True})
            closed = store.shop.add_order(financial="PAID")
            fo = closed["fulfillmentOrders"][0]
            store.shop.create_fulfillment({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]})
            store.shop.close(int(closed["legacyResourceId"]))
        rules = (
            StatusRule("PAID|UNFULFILLED", process_payment=False),  # an exact two-axis row
            StatusRule("PENDING|*"),  # a wildcard on the fulfilment axis
            StatusRule("CANCELLED|*", download=False),  # cancelled: not downloaded
            StatusRule("*|CLOSED", process_payment=False, process_shipping=False),  # archived
        )
        with Connector(shopify_driver(store), policy(rules), SQLiteLedger()) as connector:
            assert connector.check_policy() == []
            connector.download()
            orders = {r.order_id: r.order.status for r in connector.orders()}
            ignored = {r.order_id for r in connector.ignored()}
        assert orders == {
            paid["legacyResourceId"]: "PAID|UNFULFILLED",
            pending["legacyResourceId"]: "PENDING|UNFULFILLED",
            closed["legacyResourceId"]: "PAID|CLOSED",
        }
        assert authorized["legacyResourceId"] in ignored
        assert cancelled["legacyResourceId"] not in orders  # CANCELLED|CLOSED matched the not-downloaded row first


def test_an_edited_order_is_an_update_of_the_same_order_with_line_changes() -> None:
    with fake_shop() as store:
        with store.lock:
            order = store.shop.add_order(lines=(("MUG-001", 2), ("SOCK-3PK", 1)), financial="PAID")
        number = order["legacyResourceId"]
        with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
            connector.download()
            before = connector.ledger.get(connector.store, number)
            assert before is not None
            assert before.order.totals.grand_total == Decimal(order["currentTotalPriceSet"]["shopMoney"]["amount"])
            time.sleep(1.1)
            with store.lock:
                store.shop.edit_lines(int(number), {"MUG-001": 1}, add=(("IPOD2008RED", 1),))
            connector.download()
            updates = [u for u in connector.updates() if u.order_id == number]
        assert len(updates) == 1, "an edit keeps the order id: one Update, not a new order"
        update = updates[0]
        paths = {c.path for c in update.changes}
        assert any("lines" in p for p in paths), paths
        raw = json.loads(update.order.raw) if isinstance(update.order.raw, str) else update.order.raw
        assert raw["edited"] is True
        mug = next(line for line in update.order.lines if line.sku == "MUG-001")
        assert mug.quantity == Decimal(1)
        assert {line.sku for line in update.order.lines} == {"MUG-001", "SOCK-3PK", "IPOD2008RED"}
        original = next(n for n in raw["lineItems"]["nodes"] if n["sku"] == "MUG-001")
        assert original["quantity"] == 2  # the ordered quantity stays in the payload
