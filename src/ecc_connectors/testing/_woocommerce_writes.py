"""Writes to the WooCommerce fake shop: order updates and status changes, notes, Shipment Tracking items.

Theory of operation, as WooCommerce does (its documentation and the wc/v3 OpenAPI tables, never the driver):

* a status change adds a system note ("Order status changed from X to Y."), sets ``date_paid`` on the way to
  processing/completed and ``date_completed`` on completed; WooCommerce's emails are recorded in ``emails``
  (customer note, completed order, cancelled order to the admin);
* a status outside the registered ones is refused with ``rest_invalid_param`` naming ``status``;
* the Shipment Tracking extension (``tracking=True``) keeps its items in the order meta
  ``_wc_shipment_tracking_items`` (saving the order, so its stamp moves).
* a note is listed newest first; ``type`` is one of the spec's ``NOTE_TYPES``; a customer note emails the
  customer. Adding a note does not save the order (its stamp stays).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from . import _woocommerce_spec as spec
from ._woocommerce_tables import TRACKING_META, WooTables, bad_param
from .base import HttpError

__all__ = ["ShopWrites"]


class ShopWrites(WooTables):
    """Status changes, updates, notes, the status report and tracking items (see the module notes)."""

    def set_status(self, order: dict[str, Any], status: str) -> None:
        if status not in self.statuses:
            raise bad_param("status", f"status is not one of {', '.join(self.statuses)}.")
        old = order["status"]
        if old == status:
            return
        order["status"] = status
        now = self.now()
        if status in ("processing", "completed") and not order.get("date_paid_gmt"):
            self._stamp(order, "date_paid", now)
        if status == "completed":
            self._stamp(order, "date_completed", now)
            self.emails.append(("customer_completed_order", order["id"], ""))
        if status == "cancelled":
            self.emails.append(("cancelled_order", order["id"], "admin"))
        self.add_note(
            order["id"],
            f"Order status changed from {self.statuses.get(old, old)} to {self.statuses[status]}.",
            False,
            system=True,
        )
        self.touch(order, now)

    def update(self, order_id: str, body: Any) -> dict[str, Any]:
        order = self.find(order_id)
        if not isinstance(body, Mapping):
            raise HttpError(400, "The request body is not a JSON object.", {"code": "rest_invalid_json"})
        changed = False
        for key, value in body.items():
            if key == "status":
                self.set_status(order, str(value))
            elif key in ("billing", "shipping") and isinstance(value, Mapping):
                order[key] = {**order[key], **value}
                changed = True
            elif key in ("customer_note", "transaction_id", "payment_method", "payment_method_title"):
                order[key] = value
                changed = True
            elif key == "meta_data" and isinstance(value, list):
                order["meta_data"] += [{"id": self._next("item"), **m} for m in value if isinstance(m, Mapping)]
                changed = True
        if changed:
            self.touch(order)
        return self.shown(order)

    def add_note(self, order_id: int, text: str, customer: bool, *, system: bool = False) -> dict[str, Any]:
        now = self.now()
        note = {
            "id": self._next("note"),
            "author": "system" if system else "WooCommerce",
            "date_created": (now + self.utc_offset).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_created_gmt": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "note": text,
            "customer_note": customer,
        }
        assert set(note) <= set(spec.NOTE_FIELDS)
        self.notes.setdefault(order_id, []).insert(0, note)  # newest first, as WooCommerce lists them
        if customer:
            self.emails.append(("customer_note", order_id, text))
        return note

    def post_note(self, order_id: str, body: Any) -> dict[str, Any]:
        order = self.find(order_id)
        if not isinstance(body, Mapping) or not str(body.get("note") or "").strip():
            raise HttpError(400, "Missing parameter(s): note", {"code": "rest_missing_callback_param"})
        return self.add_note(order["id"], str(body["note"]), bool(body.get("customer_note")))

    def list_notes(self, order_id: str, kind: str) -> list[dict[str, Any]]:
        order = self.find(order_id)
        if kind not in spec.NOTE_TYPES:
            raise bad_param("type", f"type is not one of {', '.join(spec.NOTE_TYPES)}.")
        notes = self.notes.get(order["id"], [])
        if kind == "customer":
            return [n for n in notes if n["customer_note"]]
        if kind == "internal":
            return [n for n in notes if not n["customer_note"]]
        return list(notes)

    def report_totals(self) -> list[dict[str, Any]]:
        return [
            {"slug": slug, "name": label, "total": sum(1 for o in self.orders.values() if o["status"] == slug)}
            for slug, label in self.statuses.items()
        ]

    # -- Shipment Tracking extension -------------------------------------------------------------------------

    def trackings(self, order_id: str) -> list[dict[str, Any]]:
        order = self.find(order_id)
        for meta in order["meta_data"]:
            if meta.get("key") == TRACKING_META:
                return [dict(item) for item in meta["value"]]
        return []

    def add_tracking(self, order_id: str, body: Any) -> dict[str, Any]:
        order = self.find(order_id)
        if not isinstance(body, Mapping) or not body.get("tracking_number"):
            raise HttpError(400, "Missing parameter(s): tracking_number", {"code": "rest_missing_callback_param"})
        item = {
            "tracking_provider": str(body.get("tracking_provider") or ""),
            "custom_tracking_provider": str(body.get("custom_tracking_provider") or ""),
            "custom_tracking_link": str(body.get("custom_tracking_link") or ""),
            "tracking_number": str(body["tracking_number"]),
            "date_shipped": str(int(self.now().timestamp())),
            "tracking_id": hashlib.md5(
                f"{order['id']}:{body['tracking_number']}:{self._next('item')}".encode()
            ).hexdigest(),
        }
        meta = next((m for m in order["meta_data"] if m.get("key") == TRACKING_META), None)
        if meta is None:
            meta = {"id": self._next("item"), "key": TRACKING_META, "value": []}
            order["meta_data"].append(meta)
        meta["value"].append(item)
        self.touch(order)  # the extension saves the order's meta
        return {**item, "tracking_link": item["custom_tracking_link"]}
