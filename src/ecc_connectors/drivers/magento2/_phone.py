"""Phone orders: finding items, and placing an order through a cart, never twice.

An order is placed in two halves. ``reserve_order`` makes the cart (the customer's own when the order names a
store customer, else a guest cart), adds the lines and sets the shipping information; its reservation names the
cart and its numeric quote id. ``create_order`` places it. Magento places a cart once (it is inactive after),
and every order placed from a cart carries its ``quote_id``: so before placing, and after a refused resend, the
order placed from the cart is looked up, and a lost answer can never give a second order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ...driver import (
    AuthenticationError,
    Flow,
    Item,
    ItemQuery,
    NewOrder,
    Order,
    PayloadError,
    StoreError,
)
from ._errors import decode_bytes
from ._mapping import address_to_magento, map_product
from ._rest import MagentoRest, entity_id, scalar_id
from ._search import Filter, SearchCriteria, clamp_page_size

__all__ = ["PhoneOrders"]

logger = logging.getLogger("ecc_connectors.drivers.magento2")

# What is read of an order found by its cart: its id alone.
ORDER_ID_FIELDS = "items[entity_id],total_count"


def _split_shipping_method(code: str) -> tuple[str, str]:
    carrier, sep, method = code.partition("_")
    if not sep or not carrier or not method:
        raise ValueError(f"shipping method {code!r} is not '<carrier>_<method>' (e.g. 'flatrate_flatrate')")
    return carrier, method


class PhoneOrders(MagentoRest):
    """The item search and order placing flows of the Magento 2 driver."""

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        groups: list[tuple[Filter, ...]] = []
        if query.skus:
            groups.append((Filter("sku", ",".join(query.skus), "in"),))
        elif query.text:
            pattern = f"%{query.text}%"
            groups.append((Filter("sku", pattern, "like"), Filter("name", pattern, "like")))
        groups.append((Filter("status", "1", "eq"),))
        criteria = SearchCriteria(groups=tuple(groups), page_size=clamp_page_size(query.limit), current_page=1)
        body = self._answer((yield self._get("/V1/products", criteria.params())))
        items = body.get("items") if isinstance(body, Mapping) else None
        found: list[Item] = []
        for product in items if isinstance(items, list) else []:
            try:
                found.append(map_product(product, self.name))
            except PayloadError as bad:
                logger.warning("product skipped: %s", bad)
        return tuple(found)

    def _cart(self, order: NewOrder) -> Flow[tuple[str, str, int | None]]:
        """Create the cart, add the lines and set the shipping information.

        Returns ``(kind, cart id, numeric quote id)``: a customer's cart is named by its numeric quote id; a
        guest cart by a masked id, whose quote id is not known yet (``None``)."""
        if not order.lines:
            raise ValueError("a new order needs at least one line")
        carrier, method = _split_shipping_method(order.shipping_method)
        email = order.customer.email or order.billing_address.email or order.shipping_address.email
        customer_id = order.customer.store_customer_id
        quote_id: int | None
        if customer_id:
            customer = entity_id(customer_id, "customer id")
            response = yield self._send_json("POST", f"/V1/customers/{customer}/carts")
            cart_id = scalar_id(self._answer(response), "cart id", self.store_id)
            kind, quote_id = _CUSTOMER, _quote_id(cart_id, self.store_id)
        else:
            cart_id = scalar_id(
                self._answer((yield self._send_json("POST", "/V1/guest-carts"))), "cart id", self.store_id
            )
            kind, quote_id = _GUEST, None
        items_path = f"{_cart_path(kind, cart_id)}/items"
        for line in order.lines:
            item = {"sku": line.sku, "qty": line.quantity, "quote_id": cart_id}
            self._answer((yield self._send_json("POST", items_path, {"cartItem": item})))
        address_information = {
            "shipping_address": address_to_magento(order.shipping_address, email),
            "billing_address": address_to_magento(order.billing_address, email),
            "shipping_carrier_code": carrier,
            "shipping_method_code": method,
        }
        self._answer(
            (
                yield self._send_json(
                    "POST",
                    f"{_cart_path(kind, cart_id)}/shipping-information",
                    {"addressInformation": address_information},
                )
            )
        )
        return kind, cart_id, quote_id

    def reserve_order(self, order: NewOrder) -> Flow[str]:
        """The first half of a phone order: the cart, its lines and its shipping information, ready to be
        placed. Returns the reservation ``"<kind>:<cart id>:<quote id>"`` (``guest`` or ``customer``), which
        names the cart and its numeric quote id; for a guest cart that id is read from
        ``GET /V1/guest-carts/{masked id}``. An order placed from the cart carries that ``quote_id``."""
        kind, cart_id, quote_id = yield from self._cart(order)
        if quote_id is None:
            response = yield self._get(f"/V1/guest-carts/{quote(cart_id, safe='')}")
            cart = self._read_object(response)
            quote_id = _quote_id(cart.get("id"), self.store_id)
        return f"{kind}:{cart_id}:{quote_id}"

    def _placed_from(self, quote_id: int) -> Flow[str | None]:
        """The entity id of the order placed from the cart whose quote id is ``quote_id``, if there is one."""
        criteria = SearchCriteria(
            groups=((Filter("quote_id", str(quote_id), "eq"),),),
            sort=(("entity_id", "ASC"),),
            page_size=1,
            current_page=1,
        )
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", ORDER_ID_FIELDS)])
        envelope = self._read_envelope(response)
        if not envelope.items:
            return None
        try:
            row = decode_bytes(envelope.items[0])
        except ValueError as exc:
            raise self._broken(response, f"an order row that cannot be read ({exc})") from None
        entity = row.get("entity_id") if isinstance(row, Mapping) else None
        return scalar_id(entity, "order id", self.store_id)

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Place an order through a cart: the customer's own cart when ``customer.store_customer_id`` is set,
        else a guest cart. Returns the order as the store has it.

        With a ``reservation`` (from :meth:`reserve_order`), the order placed from that cart is looked up first
        (``GET /V1/orders`` with ``quote_id`` eq the cart's quote id) and returned when found; else the cart is
        placed. Magento places a cart once (it is inactive afterwards), so a retry can never make a second
        order. Without one, the cart is prepared first."""
        quote_id: int | None
        if reservation is None:
            kind, cart_id, quote_id = yield from self._cart(order)
        else:
            kind, cart_id, quote_id = _parse_reservation(reservation)
            placed = yield from self._placed_from(quote_id)
            if placed is not None:
                return (yield from self.get_order(placed))
        payment = {"paymentMethod": {"method": order.payment_method}}
        response = yield self._send_json("PUT", f"{_cart_path(kind, cart_id)}/order", payment)
        try:
            placed_id = scalar_id(self._answer(response), "order id", self.store_id)
        except (AuthenticationError, PayloadError):
            raise
        except StoreError:
            # A PUT may be resent by the transport after its first answer was lost; the resend is refused
            # (the cart is inactive once placed). The order placed by the first one is then found by its cart.
            if quote_id is None:
                raise
            found = yield from self._placed_from(quote_id)
            if found is None:
                raise
            placed_id = found
        return (yield from self.get_order(placed_id))


_GUEST = "guest"
_CUSTOMER = "customer"


def _cart_path(kind: str, cart_id: str) -> str:
    return f"/V1/guest-carts/{quote(cart_id, safe='')}" if kind == _GUEST else f"/V1/carts/{cart_id}"


def _quote_id(value: Any, store: str) -> int:
    text = scalar_id(value, "quote id", store)
    if not (text.isascii() and text.isdigit()):
        raise PayloadError(store, None, "quote id", f"expected a numeric quote id, got {value!r}", raw=value)
    return int(text)


def _parse_reservation(reservation: str) -> tuple[str, str, int]:
    kind, _, rest = reservation.partition(":")
    cart_id, _, number = rest.rpartition(":")
    usable = (
        kind in (_GUEST, _CUSTOMER)
        and cart_id.isascii()
        and (cart_id.isalnum() if kind == _GUEST else cart_id == number)
        and number.isascii()
        and number.isdigit()
    )
    if not usable:
        raise ValueError(f"not a Magento cart reservation: {reservation!r} (expected '<kind>:<cart id>:<quote id>')")
    return kind, cart_id, int(number)
