"""Carts in the fake Magento store: the guest flow (masked cart ids) and the admin flow for a customer
(numeric quote ids), from an empty cart through items and shipping information to a placed order carrying the
cart's ``quote_id``. A placed cart is inactive, so placing it again is refused as Magento refuses it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from ._magento_catalogue import CARRIERS, METHODS, Person
from ._magento_lifecycle import num
from ._magento_state import _NO_SUCH_ENTITY, MagentoState, _ApiError, _Cart, _dec, _int_id

__all__ = ["MagentoCarts"]


class MagentoCarts(MagentoState):
    """The cart endpoints of the route table."""

    def _new_cart(self, customer_id: int | None) -> _Cart:
        quote_id = self._ids.next("quote")
        cart_id = secrets.token_hex(16) if customer_id is None else str(quote_id)
        cart = _Cart(cart_id, quote_id, customer_id)
        self._carts[cart_id] = cart
        return cart

    def _cart(self, cart_id: str, guest: bool) -> _Cart:
        """An active cart, or Magento's 404. A guest's masked id resolves to its quote id first, and the
        quote repository's ``getActive`` refuses with the numeric id (``null`` when the mask is unknown); a
        placed cart is inactive, so placing it again is refused the same way."""
        cart = self._carts.get(cart_id)
        if cart is None or (cart.customer_id is None) != guest:
            value: int | None = None if guest else (int(cart_id) if cart_id.isdigit() else None)
            raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": value})
        if cart.ordered is not None:
            raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": cart.quote_id})
        return cart

    def _h_guest_cart_new(self, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._new_cart(None).cart_id

    def _h_guest_cart_get(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        """``GET /V1/guest-carts/{cartId}``: the quote behind a masked id, placed or not (the quote repository's
        ``get``, unlike ``getActive``), as ``quote-data-cart-interface``."""
        with self._lock:
            cart = self._carts.get(cart_id)
            if cart is None or cart.customer_id is not None:
                raise _ApiError(404, _NO_SUCH_ENTITY, {"fieldName": "cartId", "fieldValue": None})
            return {
                "id": cart.quote_id,
                "is_active": cart.ordered is None,
                "is_virtual": False,
                "items": [dict(item) for item in cart.items],
                "items_count": len(cart.items),
                "items_qty": sum(float(item.get("qty", 0)) for item in cart.items),
                "customer": {"email": cart.email} if cart.email else {},
                "orig_order_id": 0,
                "customer_is_guest": True,
                "customer_note_notify": True,
                "customer_tax_class_id": 3,
                "store_id": 1,
            }

    def _h_customer_cart_new(self, customer_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            return self._new_cart(_int_id(customer_id)).quote_id

    def _h_guest_cart_items(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._add_cart_item(cart_id, True, payload)

    def _h_cart_items(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._add_cart_item(cart_id, False, payload)

    def _add_cart_item(self, cart_id: str, guest: bool, payload: Any) -> Any:
        item = payload.get("cartItem") if isinstance(payload, dict) else None
        if not isinstance(item, dict):
            raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "cartItem"})
        with self._lock:
            cart = self._cart(cart_id, guest)
            product = self._catalogue.get(str(item.get("sku")))
            if product is None:
                raise _ApiError(404, "The product that was requested doesn't exist. Verify the product and try again.")
            qty = _dec(item.get("qty"))
            if qty <= 0:
                raise _ApiError(400, 'The quantity "%1" is not valid.', [str(item.get("qty"))])
            line = {
                "item_id": self._ids.next("quote_item"),
                "sku": product.sku,
                "qty": num(qty),
                "name": product.name,
                "price": num(product.price),
                "product_type": product.type_id,
                "quote_id": str(cart.quote_id) if not guest else cart.cart_id,
            }
            cart.items.append(line)
            return line

    def _h_guest_shipping(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._shipping_information(cart_id, True, payload)

    def _h_cart_shipping(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._shipping_information(cart_id, False, payload)

    def _shipping_information(self, cart_id: str, guest: bool, payload: Any) -> Any:
        info = payload.get("addressInformation") if isinstance(payload, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("shipping_address"), dict):
            raise _ApiError(400, "The shipping address is missing. Set the address and try again.")
        with self._lock:
            cart = self._cart(cart_id, guest)
            if not cart.items:
                raise _ApiError(
                    400,
                    "The shipping method can't be set for an empty cart. Add an item to cart and try again.",
                )
            carrier = str(info.get("shipping_carrier_code") or "")
            method = str(info.get("shipping_method_code") or "")
            if f"{carrier}_{method}" not in {c[0] for c in CARRIERS}:
                raise _ApiError(400, "Carrier with such method not found: %1, %2", [carrier, method])
            cart.shipping_address = dict(info["shipping_address"])
            cart.billing_address = dict(info.get("billing_address") or info["shipping_address"])
            cart.shipping_method = (carrier, method)
            cart.email = cart.shipping_address.get("email") or cart.email
            subtotal = sum((_dec(i["price"]) * _dec(i["qty"]) for i in cart.items), Decimal(0))
        return {
            "payment_methods": [{"code": code, "title": title} for code, title in METHODS],
            "totals": {
                "grand_total": num(subtotal),
                "base_grand_total": num(subtotal),
                "subtotal": num(subtotal),
                "items_qty": num(sum((_dec(i["qty"]) for i in cart.items), Decimal(0))),
                "base_currency_code": "USD",
                "quote_currency_code": "USD",
                "items": [],
            },
        }

    def _h_guest_order(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._place_order(cart_id, True, payload)

    def _h_cart_order(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        return self._place_order(cart_id, False, payload)

    def _h_guest_payment_information(self, cart_id: str, *, query: Any, payload: Any) -> Any:
        if isinstance(payload, dict) and payload.get("email"):
            with self._lock:
                self._cart(cart_id, True).email = str(payload["email"])
        return self._place_order(cart_id, True, payload)

    def _place_order(self, cart_id: str, guest: bool, payload: Any) -> Any:
        method_code = None
        if isinstance(payload, dict) and isinstance(payload.get("paymentMethod"), dict):
            method_code = payload["paymentMethod"].get("method")
        with self._lock:
            cart = self._cart(cart_id, guest)
            if cart.shipping_address is None or cart.shipping_method is None:
                raise _ApiError(400, "The shipping method is missing. Select the shipping method and try again.")
            methods = dict(METHODS)
            if method_code not in methods:
                raise _ApiError(400, "The requested Payment Method is not available.")
            if guest and not cart.email:
                raise _ApiError(400, "Email has a wrong format")
            address = cart.shipping_address
            person = Person(self._rng, cart.customer_id)
            person.firstname = str(address.get("firstname") or person.firstname)
            person.lastname = str(address.get("lastname") or person.lastname)
            person.email = str(cart.email or address.get("email") or person.email)
            person.telephone = str(address.get("telephone") or person.telephone)
            street = address.get("street") or [""]
            person.place = (
                str(address.get("city") or ""),
                str(address.get("region") or ""),
                str(address.get("region_code") or ""),
                int(address.get("region_id") or 0),
                str(address.get("country_id") or "US"),
                str(address.get("postcode") or ""),
                str(street[0] if isinstance(street, list) and street else street),
                Decimal(0),
            )
            lines = [(self._catalogue[i["sku"]], int(_dec(i["qty"]))) for i in cart.items]
            carrier = next(c for c in CARRIERS if c[0] == "_".join(cart.shipping_method))
            order = self._builder.build(
                self._rng,
                created=self._now(),
                state="new",
                status="pending",
                guest=guest,
                lines=lines,
                person=person,
                shipping_method=carrier,
                payment_method=(str(method_code), methods[str(method_code)]),
                discount=False,
            )
            # sales_order.quote_id: the cart's numeric id (a guest's masked id resolved), searchable.
            order["quote_id"] = cart.quote_id
            self._store(order)
            cart.ordered = int(order["entity_id"])
        # Like ship and invoice: an integer in the schema, a JSON string on the wire.
        return str(order["entity_id"])
