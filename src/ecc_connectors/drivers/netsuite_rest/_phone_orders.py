"""The ``netsuite_rest`` driver's item search and phone orders.

Theory of operation
-------------------
Items are read by SuiteQL: active sellable items by exact item id or by text, then their prices (the settings'
price level and currency) and available quantities (the settings' location, or all) by fixed keys. A phone order
is ``POST /record/v1/salesOrder``. Its external id is derived from the order's reference alone
(:meth:`order_key`), fixed before it is placed: a sales order with it is looked up first, and the create carries
an idempotency key made from it, so a retry never makes a second order. NetSuite answers a create with 204 and a
``Location`` header; where that is missing the order is found by its external id.
"""

from __future__ import annotations

from typing import Any

from ...driver import Address, ConfigurationError, Flow, Item, ItemQuery, NewOrder, Order, StoreError
from .._netsuite_common import phone_order_external_id
from . import _suiteql as sql
from ._client import _ALREADY_CREATED, _location_id, _plain
from ._mapping import item_from_rows
from ._suiteql import MAX_LIMIT
from ._writes import NetSuiteRestWrites

__all__ = ["NetSuiteRestPhoneOrders"]


class NetSuiteRestPhoneOrders(NetSuiteRestWrites):
    """Item search and phone orders of :class:`~ecc_connectors.drivers.netsuite_rest.NetSuiteRestDriver`."""

    # items and phone orders --------------------------------------------------------------------------------
    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Active sellable items by exact item id (``skus``) or text in the item id or display name, with their
        price (price level and currency of the settings) and the quantity available (the settings' location, or
        all)."""
        body = yield from self._query(sql.items_query(query.skus, query.text), max(1, min(query.limit, MAX_LIMIT)))
        rows = [row for row in body["items"] if str(row.get("id", "")).isdigit()]
        if not rows:
            return ()
        ids = [int(str(row["id"])) for row in rows]
        s = self.settings
        prices = yield from self._all_rows(sql.prices_query(ids, s.price_level, s.currency_id))
        stock = yield from self._all_rows(sql.stock_query(ids, s.location_id))
        by_item: dict[str, list[dict[str, Any]]] = {}
        for row in prices:
            by_item.setdefault(str(row.get("item")), []).append(row)
        stock_by_item: dict[str, list[dict[str, Any]]] = {}
        for row in stock:
            stock_by_item.setdefault(str(row.get("item")), []).append(row)
        items = [
            item_from_rows(row, by_item.get(str(row["id"]), []), stock_by_item.get(str(row["id"]), []), s.currency)
            for row in rows
        ]
        return tuple(items[: query.limit])

    @staticmethod
    def order_key(reference: str) -> str:
        """The external id of the sales order made for a phone order (:func:`phone_order_external_id`): the one
        the ``netsuite`` driver gives it too."""
        return phone_order_external_id(reference)

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """The external id the order will get: fixed before it is placed, no I/O."""
        return self.order_key(order.reference)
        yield  # pragma: no cover - a flow that sends nothing

    @staticmethod
    def _address(address: Address) -> dict[str, Any]:
        street = [*address.street, "", "", ""]
        values = {
            "addressee": address.name,
            "attention": address.company,
            "addrPhone": address.phone,
            "addr1": street[0],
            "addr2": street[1],
            "addr3": street[2],
            "city": address.city,
            "state": address.region,
            "zip": address.postcode,
        }
        body: dict[str, Any] = {k: v for k, v in values.items() if v}
        if address.country:
            body["country"] = {"id": address.country.upper()}
        return body

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``POST /record/v1/salesOrder`` for a phone order, then read it. The order's external id is
        :meth:`order_key` of its reference (or the ``reservation``); a sales order with it is looked up first, and
        the create carries an idempotency key made from it, so a retry never makes a second order."""
        key = reservation or self.order_key(order.reference)
        entity = order.customer.store_customer_id or self.settings.default_customer_id
        if not entity:
            raise ConfigurationError(
                "a NetSuite sales order needs a customer: give customer.store_customer_id or set default_customer_id"
            )
        placed = yield from self._find("SalesOrd", key)
        if placed is not None:
            return (yield from self.get_order(str(placed.get("id"))))
        missing = tuple(line.sku for line in order.lines if not line.item_id)
        ids: dict[str, str] = {}
        if missing:
            found = yield from self.search_items(ItemQuery(skus=missing, limit=max(5, len(missing))))
            ids = {item.sku: item.item_id for item in found}
            unknown = [sku for sku in missing if sku not in ids]
            if unknown:
                raise StoreError(
                    f"NetSuite has no active item {', '.join(unknown)}", code="UNKNOWN_ITEM", store=self.store_id
                )
        items = []
        for line in order.lines:
            item: dict[str, Any] = {"item": {"id": line.item_id or ids[line.sku]}, "quantity": _plain(line.quantity)}
            if line.unit_price is not None:
                item["price"] = {"id": "-1"}  # custom price level: the rate given is used as is
                item["rate"] = line.unit_price
            if line.name:
                item["description"] = line.name
            items.append(item)
        body: dict[str, Any] = {
            "entity": {"id": str(entity)},
            "externalId": key,
            "otherRefNum": order.reference,
            "billingAddress": self._address(order.billing_address),
            "shippingAddress": self._address(order.shipping_address),
            "item": {"items": items},
        }
        if order.customer.email:
            body["email"] = order.customer.email
        if order.shipping_method.isdigit():
            body["shipMethod"] = {"id": order.shipping_method}
        try:
            response = yield from self._write("POST", "/salesOrder", body, None, "create sales order", key)
            order_id = _location_id(response)
        except StoreError as error:
            if error.code not in _ALREADY_CREATED:
                raise
            order_id = None
        if order_id is None:
            again = yield from self._find("SalesOrd", key)
            if again is None:
                raise StoreError(
                    "NetSuite did not say which sales order it created", code="NO_LOCATION", store=self.store_id
                )
            order_id = str(again.get("id"))
        return (yield from self.get_order(order_id))
