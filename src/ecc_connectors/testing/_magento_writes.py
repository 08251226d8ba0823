"""Writes on orders in the fake Magento store, with the state changes a store makes: ship (tracks,
``qty_shipped``, the shipment document), invoice (captured amounts, the invoice document), status comments (the
2.4.7+ rule that a status must belong to the order's state), cancel, hold and unhold; and the invoices and
shipments a generated order's history implies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from . import _magento_lifecycle as life
from ._magento_lifecycle import num
from ._magento_state import MagentoState, _ApiError, _dec, _int_id, _shipping_address_id

__all__ = ["MagentoWrites"]


class MagentoWrites(MagentoState):
    """The write endpoints on orders (``POST /V1/order/{id}/ship`` and the others of the route table)."""

    def _h_ship(self, order_id: str, *, query: Any, payload: Any) -> Any:
        body = payload if isinstance(payload, dict) else {}
        with self._lock:
            order = self._load(_int_id(order_id))
            items = {int(i["item_id"]): i for i in order.get("items", [])}

            def remaining(item: Mapping[str, Any]) -> Decimal:
                return (
                    _dec(item.get("qty_ordered"))
                    - _dec(item.get("qty_shipped"))
                    - _dec(item.get("qty_canceled"))
                    - _dec(item.get("qty_refunded"))
                )

            if order.get("state") in ("canceled", "holded", "closed", "payment_review") or not any(
                remaining(i) > 0 for i in items.values() if "parent_item_id" not in i
            ):
                raise _ApiError(
                    400,
                    "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created.",
                )
            requested: list[tuple[dict[str, Any], Decimal]] = []
            for line in body.get("items") or []:
                item_id = _int_id(str(line.get("order_item_id", "")))
                item = items.get(item_id)
                qty = _dec(line.get("qty"))
                if item is None:
                    raise _ApiError(400, "Shipment Document Validation Error(s):\nThe shipment couldn't be saved.")
                if qty <= 0 or qty > remaining(item):
                    raise _ApiError(
                        400,
                        "Shipment Document Validation Error(s):\nYou can't create a shipment without products.",
                    )
                requested.append((item, qty))
            if not body.get("items"):
                requested = [
                    (i, remaining(i)) for i in items.values() if "parent_item_id" not in i and remaining(i) > 0
                ]
            stamp = self._touch(order)
            shipment_id = self._ids.next("shipment")
            for item, qty in requested:
                life.ship_item(order, item, num(qty))
            tracks = [
                {
                    "entity_id": self._ids.next("shipment_track"),
                    "parent_id": shipment_id,
                    "order_id": order["entity_id"],
                    "created_at": stamp,
                    "updated_at": stamp,
                    "track_number": t.get("track_number"),
                    "title": t.get("title"),
                    "carrier_code": t.get("carrier_code"),
                    "weight": 0,
                    "qty": 0,
                    "description": None,
                }
                for t in body.get("tracks") or []
            ]
            comments = []
            comment = body.get("comment")
            if isinstance(comment, dict) and comment.get("comment"):
                comments.append(
                    {
                        "entity_id": self._ids.next("shipment_comment"),
                        "parent_id": shipment_id,
                        "comment": comment.get("comment"),
                        "created_at": stamp,
                        "is_customer_notified": int(bool(body.get("notify"))),
                        "is_visible_on_front": int(comment.get("is_visible_on_front") or 0),
                    }
                )
            self._shipments[shipment_id] = self._shipment_document(
                order, shipment_id, requested, stamp, notify=bool(body.get("notify")), tracks=tracks, comments=comments
            )
            self._settle_state(order)
            self._store(order)
        # Magento declares an integer but answers the id as a JSON string.
        return str(shipment_id)

    def _shipment_document(
        self,
        order: Mapping[str, Any],
        shipment_id: int,
        lines: Sequence[tuple[Mapping[str, Any], Decimal]],
        stamp: str,
        *,
        notify: bool = False,
        tracks: list[dict[str, Any]] | None = None,
        comments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``sales-data-shipment-interface``: one item per shipped top-level line (``order_item_id``, ``qty``)."""
        items = [
            {
                "entity_id": self._ids.next("shipment_item"),
                "parent_id": shipment_id,
                "order_item_id": item["item_id"],
                "product_id": item.get("product_id"),
                "sku": item.get("sku"),
                "name": item.get("name"),
                "price": item.get("price"),
                "weight": item.get("weight"),
                "qty": num(qty),
            }
            for item, qty in lines
        ]
        document = {
            "entity_id": shipment_id,
            "increment_id": f"{shipment_id:09d}",
            "order_id": order["entity_id"],
            "store_id": order.get("store_id", 1),
            "created_at": stamp,
            "updated_at": stamp,
            "billing_address_id": order.get("billing_address_id"),
            "customer_id": order.get("customer_id"),
            "email_sent": int(notify),
            "send_email": int(notify),
            "shipping_address_id": _shipping_address_id(order),
            "total_qty": num(sum((q for _, q in lines), Decimal(0))),
            "total_weight": num(sum((_dec(i.get("weight")) * q for i, q in lines), Decimal(0))),
            "items": items,
            "tracks": tracks or [],
            "comments": comments or [],
            "packages": [],
        }
        # Magento leaves null fields out of its REST answers (a guest's shipment has no customer_id).
        return {k: v for k, v in document.items() if v is not None}

    def _seed_documents(self, order: dict[str, Any]) -> None:
        """The invoice and shipment a generated order's history implies (an order whose lines are invoiced or
        shipped has the documents that did it on a real store), so listing them by ``order_id`` finds them."""
        items = [i for i in order.get("items") or [] if isinstance(i, dict)]
        history = [h for h in order.get("status_histories") or [] if isinstance(h, dict)]
        invoiced = [(i, _dec(i.get("qty_invoiced"))) for i in items if _dec(i.get("qty_invoiced")) > 0]
        if invoiced:
            stamp = next(
                (str(h["created_at"]) for h in reversed(history) if h.get("entity_name") == "invoice"),
                str(order.get("updated_at")),
            )
            lines = [
                (
                    item,
                    qty,
                    None
                    if "parent_item_id" in item
                    else {
                        "row_total": _dec(item.get("row_invoiced")),
                        "tax_amount": _dec(item.get("tax_invoiced")),
                        "discount_amount": _dec(item.get("discount_invoiced")),
                    },
                )
                for item, qty in invoiced
            ]
            amounts = {
                "lines": lines,
                "subtotal": _dec(order.get("subtotal_invoiced")),
                "tax": _dec(order.get("tax_invoiced")),
                "discount": -_dec(order.get("discount_invoiced")),
                "shipping": _dec(order.get("shipping_invoiced")),
                "grand_total": _dec(order.get("total_invoiced")),
            }
            invoice_id = self._ids.next("invoice")
            self._invoices[invoice_id] = self._invoice_document(order, invoice_id, amounts, {}, stamp)
        shipped = [
            (i, _dec(i.get("qty_shipped")))
            for i in items
            if "parent_item_id" not in i and _dec(i.get("qty_shipped")) > 0
        ]
        if shipped:
            shipment_id = self._ids.next("shipment")
            self._shipments[shipment_id] = self._shipment_document(
                order, shipment_id, shipped, str(order.get("updated_at"))
            )

    def _h_invoice(self, order_id: str, *, query: Any, payload: Any) -> Any:
        body = payload if isinstance(payload, dict) else {}
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") in ("canceled", "holded", "closed", "payment_review", "complete") or all(
                _dec(i.get("qty_invoiced")) + _dec(i.get("qty_canceled")) >= _dec(i.get("qty_ordered"))
                for i in order.get("items", [])
            ):
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\nThe order does not allow an invoice to be created.",
                )
            wanted = self._invoice_quantities(order, body.get("items") or [])
            stamp = self._touch(order)
            invoiced = life.invoice_lines(order, wanted)
            invoice_id = self._ids.next("invoice")
            self._invoices[invoice_id] = self._invoice_document(order, invoice_id, invoiced, body, stamp)
            comment = body.get("comment")
            if isinstance(comment, dict) and comment.get("comment") and body.get("appendComment"):
                self._builder.history(
                    order,
                    "invoice",
                    order.get("status"),
                    comment["comment"],
                    stamp,
                    notified=int(bool(body.get("notify"))),
                )
            self._settle_state(order)
            self._store(order)
        return str(invoice_id)

    def _invoice_quantities(self, order: dict[str, Any], lines: Sequence[Any]) -> dict[int, Decimal] | None:
        """``items`` of an invoice request as ``{order item id: qty}`` (``None``: invoice everything left),
        checked the way Magento's invoice validators check them."""
        if not lines:
            return None
        top = {int(i["item_id"]): i for i in order.get("items", []) if "parent_item_id" not in i}
        wanted: dict[int, Decimal] = {}
        for line in lines:
            line = line if isinstance(line, dict) else {}
            item_id = _int_id(str(line.get("order_item_id", line.get("orderItemId", ""))))
            item = top.get(item_id)
            if item is None:
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\n"
                    "The invoice contains one or more items that are not part of the original order.",
                )
            wanted[item_id] = wanted.get(item_id, Decimal(0)) + _dec(line.get("qty"))
            left = _dec(item.get("qty_ordered")) - _dec(item.get("qty_invoiced")) - _dec(item.get("qty_canceled"))
            if wanted[item_id] > left:
                raise _ApiError(
                    400,
                    "Invoice Document Validation Error(s):\n"
                    f"The quantity to invoice must not be greater than the uninvoiced quantity for product SKU "
                    f'"{item.get("sku")}".',
                )
        if not any(q > 0 for q in wanted.values()):
            raise _ApiError(400, "Invoice Document Validation Error(s):\nYou can't create an invoice without products.")
        return wanted

    def _invoice_document(
        self, order: dict[str, Any], invoice_id: int, invoiced: Mapping[str, Any], body: Mapping[str, Any], stamp: str
    ) -> dict[str, Any]:
        """``sales-data-invoice-interface`` as ``GET /V1/invoices/{id}`` shows it: every invoiced order line
        (a configurable's child too, at price 0, like Adobe's example) with its ``order_item_id`` and ``qty``."""
        items = []
        for item, qty, parts in invoiced["lines"]:
            line: dict[str, Any] = {
                "base_discount_tax_compensation_amount": 0,
                "base_price": item.get("base_price", 0),
                "base_price_incl_tax": item.get("base_price_incl_tax", 0),
                "entity_id": self._ids.next("invoice_item"),
                "discount_tax_compensation_amount": 0,
                "name": item.get("name"),
                "parent_id": invoice_id,
                "price": item.get("price", 0) if parts is not None else 0,
                "price_incl_tax": item.get("price_incl_tax", 0) if parts is not None else 0,
                "product_id": item.get("product_id"),
                "sku": item.get("sku"),
                "order_item_id": item["item_id"],
                "qty": num(qty),
            }
            if parts is not None:
                row, tax, discount = parts["row_total"], parts["tax_amount"], parts["discount_amount"]
                for prefix in ("base_", ""):
                    line[f"{prefix}row_total"] = num(row)
                    line[f"{prefix}row_total_incl_tax"] = num(row + tax)
                    line[f"{prefix}tax_amount"] = num(tax)
                    line[f"{prefix}discount_amount"] = num(discount)
            items.append(line)
        subtotal, tax, discount = invoiced["subtotal"], invoiced["tax"], invoiced["discount"]
        shipping, grand = invoiced["shipping"], invoiced["grand_total"]
        document: dict[str, Any] = {"base_currency_code": order.get("base_currency_code", "USD")}
        for prefix in ("base_", ""):
            document.update(
                {
                    f"{prefix}discount_amount": num(-discount),
                    f"{prefix}grand_total": num(grand),
                    f"{prefix}discount_tax_compensation_amount": 0,
                    f"{prefix}shipping_amount": num(shipping),
                    f"{prefix}shipping_incl_tax": num(shipping),
                    f"{prefix}shipping_tax_amount": 0,
                    f"{prefix}subtotal": num(subtotal),
                    f"{prefix}subtotal_incl_tax": num(subtotal + tax),
                    f"{prefix}tax_amount": num(tax),
                }
            )
        comments = []
        comment = body.get("comment")
        if isinstance(comment, dict) and comment.get("comment"):
            comments.append(
                {
                    "comment": comment["comment"],
                    "created_at": stamp,
                    "entity_id": self._ids.next("invoice_comment"),
                    "is_customer_notified": int(bool(body.get("notify"))),
                    "is_visible_on_front": int(comment.get("is_visible_on_front") or 0),
                    "parent_id": invoice_id,
                }
            )
        document.update(
            {
                "base_to_global_rate": order.get("base_to_global_rate", 1),
                "base_to_order_rate": order.get("base_to_order_rate", 1),
                "billing_address_id": order.get("billing_address_id"),
                "can_void_flag": 0,
                "created_at": stamp,
                "email_sent": int(bool(body.get("notify"))),
                "entity_id": invoice_id,
                "global_currency_code": order.get("global_currency_code", "USD"),
                "increment_id": f"{invoice_id:09d}",
                "order_currency_code": order.get("order_currency_code", "USD"),
                "order_id": order["entity_id"],
                "shipping_address_id": _shipping_address_id(order),
                "shipping_discount_tax_compensation_amount": 0,
                "state": 2,
                "store_currency_code": order.get("store_currency_code", "USD"),
                "store_id": order.get("store_id", 1),
                "store_to_base_rate": 0,
                "store_to_order_rate": 0,
                "total_qty": num(sum((q for _, q, _ in invoiced["lines"]), Decimal(0))),
                "updated_at": stamp,
                "items": items,
                "comments": comments,
            }
        )
        return {k: v for k, v in document.items() if v is not None}

    def _settle_state(self, order: dict[str, Any]) -> None:
        """After a ship or an invoice: complete when nothing is left to ship or invoice, else processing."""
        top = [i for i in order.get("items", []) if "parent_item_id" not in i]
        to_ship = any(
            _dec(i.get("qty_ordered"))
            - _dec(i.get("qty_shipped"))
            - _dec(i.get("qty_canceled"))
            - _dec(i.get("qty_refunded"))
            > 0
            for i in top
        )
        to_invoice = any(
            _dec(i.get("qty_ordered")) - _dec(i.get("qty_invoiced")) - _dec(i.get("qty_canceled")) > 0 for i in top
        )
        state = "processing" if to_ship or to_invoice else "complete"
        if order.get("state") != state:
            order["state"] = state
            order["status"] = self._state_statuses.get(state, (state,))[0]

    def _h_comments(self, order_id: str, *, query: Any, payload: Any) -> Any:
        history = payload.get("statusHistory") if isinstance(payload, dict) else None
        if not isinstance(history, dict):
            raise _ApiError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "statusHistory"})
        with self._lock:
            order = self._load(_int_id(order_id))
            status = history.get("status") or None
            if status is not None and status not in self._state_statuses.get(str(order.get("state")), ()):
                raise _ApiError(
                    400,
                    'Unable to add comment: The status "%1" is not part of the order status history.',
                    [status],
                )
            stamp = self._touch(order)
            if status is not None:
                order["status"] = status
            self._builder.history(
                order,
                "order",
                order.get("status"),
                history.get("comment"),
                stamp,
                notified=int(history.get("is_customer_notified") or 0),
                visible=int(history.get("is_visible_on_front") or 0),
            )
            self._store(order)
        return True

    def _h_cancel(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            top = [i for i in order.get("items", []) if "parent_item_id" not in i]
            all_invoiced = bool(top) and all(
                _dec(i.get("qty_invoiced")) + _dec(i.get("qty_canceled")) >= _dec(i.get("qty_ordered")) for i in top
            )
            if order.get("state") in ("canceled", "complete", "closed", "holded", "payment_review") or all_invoiced:
                return False
            life.cancel_all(order)
            stamp = self._touch(order)
            order["state"] = "canceled"
            order["status"] = self._state_statuses.get("canceled", ("canceled",))[0]
            self._builder.history(order, "order", order["status"], None, stamp)
            self._store(order)
        return True

    def _h_hold(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") in ("canceled", "complete", "closed", "holded", "payment_review"):
                raise _ApiError(400, "A hold action is not available.")
            order["hold_before_state"] = order.get("state")
            order["hold_before_status"] = order.get("status")
            self._touch(order)
            order["state"] = "holded"
            order["status"] = self._state_statuses.get("holded", ("holded",))[0]
            self._store(order)
        return True

    def _h_unhold(self, order_id: str, *, query: Any, payload: Any) -> Any:
        with self._lock:
            order = self._load(_int_id(order_id))
            if order.get("state") != "holded":
                raise _ApiError(400, "You cannot remove the hold.")
            self._touch(order)
            order["state"] = order.pop("hold_before_state", None) or "new"
            order["status"] = (
                order.pop("hold_before_status", None) or self._state_statuses.get(order["state"], ("pending",))[0]
            )
            self._store(order)
        return True
