"""Changes made "in the store" while a test runs: an admin's edit (``edit_order``), the admin "Edit" button's
new linked entity (``admin_edit``), and ``churn``, which edits, holds and creates orders between listing
requests, deterministically for a seed.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import _magento_lifecycle as life
from ._base_faults import Trigger
from ._magento_faults import Churn, ChurnEvent
from ._magento_lifecycle import num
from ._magento_seed import IdSequence, format_date
from ._magento_state import MagentoState, _dec, _deep_merge

__all__ = ["MagentoEdits"]


class MagentoEdits(MagentoState):
    """``edit_order``, ``admin_edit`` and ``churn``."""

    def edit_order(self, entity_id: int, changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]) -> None:
        """Change an order now, as a store admin or an extension would, bumping ``updated_at``.

        ``changes`` is a callable mutating the payload, or a mapping deep-merged into it, where two keys are
        shortcuts: ``shipping_address`` (merged into the shipping assignment's address) and ``item_qty``
        (``{item_id or sku: qty}``, recomputing line and order totals).
        """
        with self._lock:
            order = self._load(entity_id)
            self._apply_changes(order, changes)
            self._touch(order)
            self._store(order)

    def admin_edit(self, entity_id: int, changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]) -> int:
        """What the admin "Edit" button does: a new order ``<increment>-N`` linked by ``relation_parent_id``,
        holding the changed copy; the original is canceled. Returns the new entity id."""
        with self._lock:
            return self._admin_edit(entity_id, changes, when=None)

    def churn(
        self,
        on_listing_request: int | Callable[[int], bool] = 1,
        *,
        edit: int = 0,
        create: int = 0,
        leave: int = 0,
        seed: int = 0,
    ) -> Churn:
        """Change the store while a download lists it, deterministically for ``seed``.

        ``on_listing_request`` counts order listings from this call (1 = the next one): an int fires once,
        before that listing is answered; a callable ``f(n)`` fires before every listing ``n`` it returns true
        for (``lambda n: n % 3 == 0``). Each firing, under the store lock, in this order:

        * ``edit`` orders chosen at random get their shipping city changed and ``updated_at`` set to now, so
          they move to the end of an ``updated_at`` sort (what an admin or an ERP sync does mid-download);
        * ``leave`` orders in state ``new`` or ``processing`` are put on hold (state and status ``holded``,
          ``updated_at`` now), so they leave a status filter and move past an ``updated_at`` window's end;
        * ``create`` new orders are generated like the seeded ones (``new`` / ``pending``), created now.

        Returns a :class:`Churn` handle: ``events`` (what changed, when), ``entity_ids(kind)``, ``stop()``."""
        if isinstance(on_listing_request, int) and on_listing_request < 1:
            raise ValueError("on_listing_request counts from 1 (the next listing request)")
        rng = random.Random(seed)
        handle = Churn(self._lock)
        with self._lock:
            base = self._schedule.seen
            if isinstance(on_listing_request, int):
                target = base + on_listing_request
                trigger = Trigger(
                    lambda n: n == target,
                    lambda n: self._churn_step(rng, handle, n - base, edit, create, leave),
                    once=True,
                    finished=lambda: handle.stopped,
                )
            else:
                wanted = on_listing_request
                trigger = Trigger(
                    lambda n: bool(wanted(n - base)),
                    lambda n: self._churn_step(rng, handle, n - base, edit, create, leave),
                    once=False,
                    finished=lambda: handle.stopped,
                )
            self._schedule.add(trigger)
        return handle

    def _churn_step(self, rng: random.Random, handle: Churn, listing: int, edit: int, create: int, leave: int) -> None:
        ids = sorted(self._orders)
        edited = rng.sample(ids, min(edit, len(ids)))
        for entity_id in edited:
            order = self._load(entity_id)
            self._apply_changes(order, {"shipping_address": {"city": f"Churned {listing}-{entity_id}"}})
            stamp = self._touch(order)
            self._store(order)
            handle.record(ChurnEvent(listing, "edit", entity_id, stamp))
        candidates = [i for i in ids if i not in edited and self._orders[i].row.get("state") in ("new", "processing")]
        for entity_id in rng.sample(candidates, min(leave, len(candidates))):
            order = self._load(entity_id)
            order["hold_before_state"] = order.get("state")
            order["hold_before_status"] = order.get("status")
            stamp = self._touch(order)
            order["state"] = "holded"
            order["status"] = self._state_statuses.get("holded", ("holded",))[0]
            self._store(order)
            handle.record(ChurnEvent(listing, "leave", entity_id, stamp))
        for _ in range(create):
            now = self._now()
            order = self._builder.build(
                rng,
                created=now,
                state="new",
                status=self._state_statuses.get("new", ("pending",))[0],
                guest=rng.random() < 0.25,
                anchor=now,
            )
            self._store(order)
            handle.record(ChurnEvent(listing, "create", int(order["entity_id"]), str(order["updated_at"])))

    def _apply_changes(
        self, order: dict[str, Any], changes: Mapping[str, Any] | Callable[[dict[str, Any]], None]
    ) -> None:
        if callable(changes):
            changes(order)
            return
        changes = dict(changes)
        address = changes.pop("shipping_address", None)
        quantities = changes.pop("item_qty", None)
        if address is not None:
            for assignment in order.get("extension_attributes", {}).get("shipping_assignments", []):
                assignment["shipping"]["address"].update(address)
        if quantities is not None:
            self._change_quantities(order, dict(quantities))
        _deep_merge(order, changes)

    def _change_quantities(self, order: dict[str, Any], quantities: Mapping[Any, int]) -> None:
        by_key: dict[Any, int] = {}
        for key, qty in quantities.items():
            by_key[key] = int(qty)
        for item in list(order.get("items", [])):
            if "parent_item_id" in item:
                continue
            wanted = by_key.get(item["item_id"], by_key.get(item["sku"]))
            if wanted is None:
                continue
            qty = wanted
            price = Decimal(str(item["price"]))
            percent = Decimal(str(item.get("tax_percent") or 0))
            discount_percent = Decimal(str(item.get("discount_percent") or 0))
            row = price * qty
            discount = (row * discount_percent / 100).quantize(Decimal("0.01"))
            tax = ((row - discount) * percent / 100).quantize(Decimal("0.01"))
            for item_id in life.related_item_ids(order, item["item_id"]):
                life.set_item_field(order, item_id, "qty_ordered", qty)
            for key, value in (
                ("row_total", row),
                ("discount_amount", discount),
                ("tax_amount", tax),
                ("row_total_incl_tax", row + tax),
            ):
                life.set_item_field(order, item["item_id"], key, num(value))
                life.set_item_field(order, item["item_id"], f"base_{key}", num(value))
            life.set_item_field(order, item["item_id"], "row_weight", num(Decimal(str(item.get("weight") or 0)) * qty))
        _recompute_totals(order)

    def _admin_edit(
        self,
        entity_id: int,
        changes: Mapping[str, Any] | Callable[[dict[str, Any]], None],
        when: datetime | None,
    ) -> int:
        original = self._load(entity_id)
        moment = when or self._now()
        stamp = format_date(moment)
        edited = copy.deepcopy(original)
        new_id = self._ids.next("order")
        root = str(original.get("original_increment_id") or original.get("increment_id"))
        edit_increment = int(original.get("edit_increment") or 0) + 1
        edited.update(
            {
                "entity_id": new_id,
                "increment_id": f"{root}-{edit_increment}",
                "original_increment_id": root,
                "edit_increment": edit_increment,
                "relation_parent_id": str(entity_id),
                "relation_parent_real_id": original.get("increment_id"),
                "quote_id": self._ids.next("quote"),
                "created_at": stamp,
                "updated_at": stamp,
                "state": "new",
                "status": self._state_statuses.get("new", ("pending",))[0],
                "status_histories": [],
            }
        )
        for key in ("relation_child_id", "relation_child_real_id"):
            edited.pop(key, None)
        mapping = _renumber(edited, new_id, self._ids, stamp)
        if not callable(changes) and isinstance(changes.get("item_qty"), Mapping):
            # Callers name lines by the original's item ids; the copy has new ones.
            changes = {
                **changes,
                "item_qty": {mapping.get(k, k) if isinstance(k, int) else k: v for k, v in changes["item_qty"].items()},
            }
        self._apply_changes(edited, changes)
        original.update(
            {
                "relation_child_id": str(new_id),
                "relation_child_real_id": edited["increment_id"],
                "edit_increment": edit_increment,
                "state": "canceled",
                "status": self._state_statuses.get("canceled", ("canceled",))[0],
            }
        )
        life.cancel_all(original)
        original["updated_at"] = stamp
        self._store(original)
        self._store(edited)
        return new_id

    # -- internals: HTTP -------------------------------------------------------------------------------------

    def _seed_edited_pair(self, anchor: datetime) -> None:
        created = anchor - timedelta(days=2, hours=self._rng.randint(0, 40))
        order = self._builder.build(
            self._rng,
            created=created,
            state="new",
            status="pending",
            guest=False,
            anchor=created + timedelta(minutes=5),
        )
        self._store(order)
        first = order["items"][0]
        self._admin_edit(
            int(order["entity_id"]),
            {"item_qty": {first["sku"]: int(first["qty_ordered"]) + 1}},
            when=created + timedelta(minutes=19),
        )


def _recompute_totals(order: dict[str, Any]) -> None:
    top = [i for i in order.get("items", []) if "parent_item_id" not in i]
    subtotal = sum((_dec(i.get("row_total")) for i in top), Decimal(0))
    tax = sum((_dec(i.get("tax_amount")) for i in top), Decimal(0))
    discount = sum((_dec(i.get("discount_amount")) for i in top), Decimal(0))
    shipping = _dec(order.get("shipping_amount"))
    grand = subtotal - discount + tax + shipping
    paid = _dec(order.get("total_paid"))
    for prefix in ("base_", ""):
        order[f"{prefix}subtotal"] = num(subtotal)
        order[f"{prefix}subtotal_incl_tax"] = num(subtotal + tax)
        order[f"{prefix}tax_amount"] = num(tax)
        order[f"{prefix}discount_amount"] = num(-discount)
        order[f"{prefix}grand_total"] = num(grand)
        order[f"{prefix}total_due"] = num(max(grand - paid, Decimal(0)))
    order["total_qty_ordered"] = num(sum((_dec(i.get("qty_ordered")) for i in top), Decimal(0)))
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_ordered"] = order["grand_total"]
        payment["base_amount_ordered"] = order["base_grand_total"]


def _renumber(order: dict[str, Any], entity_id: int, ids: IdSequence, stamp: str) -> dict[int, int]:
    """Give a copied order fresh line, address and payment ids, all pointing at ``entity_id``."""
    mapping: dict[int, int] = {}
    for item in order.get("items", []):
        mapping[int(item["item_id"])] = ids.next("order_item")
    for entries in [order.get("items", [])] + [
        a.get("items", []) for a in order.get("extension_attributes", {}).get("shipping_assignments", [])
    ]:
        for item in entries:
            for view in (item, item.get("parent_item")):
                if not isinstance(view, dict):
                    continue
                view["item_id"] = mapping.get(int(view["item_id"]), view["item_id"])
                view["order_id"] = entity_id
                view["created_at"] = stamp
                view["updated_at"] = stamp
                for key in ("qty_shipped", "qty_invoiced", "qty_canceled", "qty_refunded"):
                    if key in view:
                        view[key] = 0
            if "parent_item_id" in item:
                item["parent_item_id"] = mapping.get(int(item["parent_item_id"]), item["parent_item_id"])
    addresses = [order.get("billing_address")] + [
        a.get("shipping", {}).get("address")
        for a in order.get("extension_attributes", {}).get("shipping_assignments", [])
    ]
    for address in addresses:
        if isinstance(address, dict):
            address["entity_id"] = ids.next("order_address")
            address["parent_id"] = entity_id
    if isinstance(order.get("billing_address"), dict):
        order["billing_address_id"] = order["billing_address"]["entity_id"]
    if isinstance(order.get("payment"), dict):
        order["payment"]["entity_id"] = ids.next("order_payment")
        order["payment"]["parent_id"] = entity_id
    extension = order.get("extension_attributes", {})
    for applied in extension.get("item_applied_taxes", []) or []:
        if isinstance(applied, dict) and applied.get("item_id") in mapping:
            applied["item_id"] = mapping[applied["item_id"]]
    for key in list(order):
        if key.endswith(("_canceled", "_paid", "_invoiced", "_refunded")) or key.startswith("hold_before"):
            del order[key]
    order["base_total_due"] = order.get("base_grand_total", 0)
    order["total_due"] = order.get("grand_total", 0)
    return mapping
