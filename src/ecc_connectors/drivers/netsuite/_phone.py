"""Items and phone orders: searching sellable items, and placing a sales order exactly once.

Items come from ``ItemSearchBasic`` (active inventory, non-inventory, kit, assembly and service items; bought-only
kinds are left out). A phone order becomes a ``SalesOrder`` ``add`` whose ``externalId`` is derived from the
order's reference alone, looked up before the add and refused by NetSuite as a duplicate after it, so an add
retried after a lost answer never makes a second order. Addresses go out with NetSuite's ``Country`` values; an
ISO code it has none for is refused before anything is sent.
"""

from __future__ import annotations

from typing import Any

from ...driver import (
    Address,
    ConfigurationError,
    Flow,
    Item,
    ItemQuery,
    NewOrder,
    Order,
    PayloadError,
    StoreError,
)
from .._netsuite_common import phone_order_external_id
from ._calls import SoapCalls, plain
from ._countries import UnknownCountry, country_from_iso
from ._mapping import field, item_from_record
from ._soap import raise_for_status, status_codes

__all__ = ["PhoneOrders"]

_ITEM_TYPES = ("_inventoryItem", "_nonInventoryItem", "_kit", "_assembly", "_service")


class PhoneOrders(SoapCalls):
    """``search_items``, ``reserve_order`` and ``create_order``."""

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Active sellable items (inventory, non-inventory, kit, assembly, service) by exact item ids
        (``skus``) or by text in the item id or the display name (two searches: basic criteria cannot be
        OR-ed)."""
        search_type = self._soap.type("common", "ItemSearchBasic")
        base: dict[str, Any] = {
            "type": {"operator": "anyOf", "searchValue": list(_ITEM_TYPES)},
            "isInactive": {"searchValue": False},
        }
        searches = []
        if query.skus:
            searches = [search_type(**base, itemId={"operator": "is", "searchValue": sku}) for sku in query.skus]
        elif query.text:
            searches = [
                search_type(**base, itemId={"operator": "contains", "searchValue": query.text}),
                search_type(**base, displayName={"operator": "contains", "searchValue": query.text}),
            ]
        else:
            searches = [search_type(**base)]
        page_size = min(1000, max(5, query.limit))
        found: dict[str, Item] = {}
        for criteria in searches:
            result = yield from self._search(criteria, page_size)
            for record in field(result.recordList, "record", []) or []:
                item = item_from_record(
                    record, self.settings.currency, self.settings.currency_id, self.settings.price_level
                )
                if "Purchase" in item.item_type:  # bought, never sold: not offered for phone orders
                    continue
                found.setdefault(item.item_id, item)
        return tuple(found.values())[: query.limit]

    def _address(self, address: Address, reference: str, name: str) -> dict[str, Any]:
        """An address as NetSuite writes it; ``name`` (``billing_address``...) is named in the error when its
        country is not one NetSuite's enumeration has."""
        street = [*address.street, "", "", ""]
        try:
            country = country_from_iso(address.country, f"{name}.country")
        except UnknownCountry as exc:
            raise PayloadError(self.store_id, reference, exc.field, str(exc)) from None
        return {
            "country": country or None,
            "attention": address.company or None,
            "addressee": address.name or None,
            "addrPhone": address.phone or None,
            "addr1": street[0] or None,
            "addr2": street[1] or None,
            "addr3": street[2] or None,
            "city": address.city or None,
            "state": address.region or None,
            "zip": address.postcode or None,
        }

    @staticmethod
    def order_key(reference: str) -> str:
        """The externalId of the sales order made for a phone order (:func:`phone_order_external_id`)."""
        return phone_order_external_id(reference)

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """The externalId the order will get (:meth:`order_key`): fixed before it is placed, no I/O."""
        return self.order_key(order.reference)
        yield  # pragma: no cover - a flow that sends nothing

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``add`` a SalesOrder for a phone order, then ``get`` it. The customer is the order's
        ``store_customer_id`` (a NetSuite customer internalId) or ``settings.default_customer_id``.

        The order's externalId is :meth:`order_key` of its reference (or the ``reservation``, which is that key).
        A sales order with that externalId is looked up first and returned when found, so a create retried after
        an answer that was lost never makes a second order; NetSuite refuses a duplicate externalId
        (``DUP_RCRD``) as well, and that order is then returned too."""
        key = reservation or self.order_key(order.reference)
        # Checked before any request: an address NetSuite could not take fails the order without a write.
        billing = self._address(order.billing_address, order.reference, "billing_address")
        shipping = self._address(order.shipping_address, order.reference, "shipping_address")
        entity = order.customer.store_customer_id or self.settings.default_customer_id
        if not entity:
            raise ConfigurationError(
                "a NetSuite sales order needs a customer: give customer.store_customer_id or set "
                "NetSuiteSettings.default_customer_id"
            )
        ref = {"externalId": key, "type": "salesOrder"}
        placed = yield from self._find_record(ref, "get by externalId")
        if placed is not None:
            return self._order(placed)
        missing = [line.sku for line in order.lines if not line.item_id]
        ids: dict[str, str] = {}
        if missing:
            found = yield from self.search_items(ItemQuery(skus=tuple(missing), limit=max(5, len(missing))))
            ids = {item.sku: item.item_id for item in found}
            unknown = [sku for sku in missing if sku not in ids]
            if unknown:
                raise StoreError(
                    f"NetSuite has no active item {', '.join(unknown)}",
                    code="UNKNOWN_ITEM",
                    store=self.store_id,
                )
        items = []
        for line in order.lines:
            item: dict[str, Any] = {
                "item": {"internalId": line.item_id or ids[line.sku]},
                "quantity": plain(line.quantity),
            }
            if line.unit_price is not None:
                item["rate"] = str(line.unit_price)
                item["price"] = {"internalId": "-1"}  # custom price level: the rate given is used as is
            if line.name:
                item["description"] = line.name
            items.append(item)
        record = self._sales_order(
            entity={"internalId": entity},
            otherRefNum=order.reference,
            email=order.customer.email or None,
            billingAddress=billing,
            shippingAddress=shipping,
            shipMethod={"internalId": order.shipping_method} if order.shipping_method.isdigit() else None,
            itemList={"item": items},
            externalId=key,
        )
        body = yield from self._call("add", {"record": record})
        response = body.writeResponse
        if response.status.isSuccess is False and "DUP_RCRD" in status_codes(response.status):
            # Placed meanwhile (another attempt's answer was lost after the look-up): that order is this one.
            found_order = yield from self._record(ref, "get by externalId")
            return self._order(found_order)
        raise_for_status(response.status, what="add sales order")
        order_id = str(field(response.baseRef, "internalId"))
        return (yield from self.get_order(order_id))
