"""The in-memory WooCommerce shop behind the fake store: orders, notes, products, tracking items, and the wc/v3
dialect over them as plain methods (no sockets here; ``_woocommerce.py`` serves them).

Theory of operation: everything follows WooCommerce's own documentation and the wc/v3 OpenAPI tables copied in
``_woocommerce_spec`` (field names, statuses, filters), never the driver. What the shop does as WooCommerce does:

* stamps are whole seconds; ``date_*_gmt`` are UTC without an offset, the plain ``date_*`` the site's local time
  (``utc_offset``); every change to an order (status, meta, a field) moves ``date_modified``; a note does not
  (notes are comments, the order is not saved);
* ``GET /orders`` filters ``after``/``before`` (created) and ``modified_after``/``modified_before`` *exclusively*
  (WordPress's date query), in GMT only with ``dates_are_gmt=true`` and in site time otherwise; ``status`` is a
  comma list (``any``: every status but ``trash``); ``orderby`` ``date`` (default), ``modified``, ``id``,
  ``include``; ``order`` ``desc`` by default; rows with equal sort values come in *descending* id order (MySQL
  promises no order for ties; the fake picks the one a client assuming ascending ids gets wrong);
  ``per_page`` 1 to 100, ``page``, ``offset``, ``include``, ``exclude``, ``search``; answers carry
  ``X-WP-Total`` and ``X-WP-TotalPages``; ``_fields`` keeps only the named top-level fields;
* a status change adds a system note ("Order status changed from X to Y."), sets ``date_paid`` on the way to
  processing/completed and ``date_completed`` on completed; WooCommerce's emails are recorded in ``emails``
  (customer note, completed order, cancelled order to the admin);
* a status outside the registered ones is refused with ``rest_invalid_param`` naming ``status``;
* the Shipment Tracking extension (``tracking=True``) keeps its items in the order meta
  ``_wc_shipment_tracking_items`` (saving the order, so its stamp moves).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from . import _woocommerce_spec as spec
from .base import HttpError

__all__ = ["CORE_LABELS", "WooShop"]

CORE_LABELS: dict[str, str] = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
}
"""Labels of the spec's statuses (``ORDER_STATUSES``) and of ``checkout-draft`` (WooCommerce 6.3+)."""
TRACKING_META = "_wc_shipment_tracking_items"
_CITIES = (("Porto", "PT", "4000-001"), ("Lyon", "FR", "69001"), ("Austin", "US", "73301"), ("Kyoto", "JP", "600-8001"))
_NAMES = (("Ana", "Silva"), ("Louis", "Martin"), ("Jo", "Smith"), ("Yui", "Sato"), ("Ola", "Nordmann"))
_TWO = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(_TWO))


def _second(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _bad_param(name: str, problem: str) -> HttpError:
    return HttpError(400, f"Invalid parameter(s): {name}", {"code": "rest_invalid_param", "params": {name: problem}})


class WooShop:
    """The shop's tables and the wc/v3 handlers over them. Not thread-safe alone: the server holds its lock."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        utc_offset: timedelta = timedelta(hours=-3),
        plugin_statuses: Mapping[str, str] | None = None,
        tracking: bool = True,
        currency: str = "EUR",
    ) -> None:
        self.clock = clock
        self.utc_offset = utc_offset
        self.statuses: dict[str, str] = {s: CORE_LABELS[s] for s in spec.ORDER_STATUSES}
        self.statuses["checkout-draft"] = CORE_LABELS["checkout-draft"]
        self.statuses.update(plugin_statuses if plugin_statuses is not None else {"shipped": "Shipped"})
        self.tracking = tracking
        self.currency = currency
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, list[dict[str, Any]]] = {}
        self.emails: list[tuple[str, int, str]] = []
        self.ignore_orderby = False
        """A hostile knob: a plugin that overrides the order query, so ``orderby`` is ignored (newest first)."""
        self._ids = 700
        self._note_ids = 5000
        self._item_ids = 9000
        self._seed_catalogue()

    # -- ids, times ------------------------------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        if kind == "note":
            self._note_ids += 1
            return self._note_ids
        if kind == "item":
            self._item_ids += 1
            return self._item_ids
        self._ids += 1
        return self._ids

    def now(self) -> datetime:
        return _second(self.clock())

    def _stamp(self, order: dict[str, Any], field: str, moment: datetime | None) -> None:
        if moment is None:
            order[field], order[f"{field}_gmt"] = None, None
            return
        moment = _second(moment)
        order[f"{field}_gmt"] = moment.strftime("%Y-%m-%dT%H:%M:%S")
        order[field] = (moment + self.utc_offset).strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def gmt_of(order: Mapping[str, Any], field: str) -> datetime:
        return datetime.fromisoformat(order[f"{field}_gmt"]).replace(tzinfo=timezone.utc)

    def touch(self, order: dict[str, Any], moment: datetime | None = None) -> None:
        """Save the order: its modified stamp moves to now (or ``moment``)."""
        self._stamp(order, "date_modified", moment or self.now())

    # -- seeding ---------------------------------------------------------------------------------------------

    def _seed_catalogue(self) -> None:
        for n, (name, price) in enumerate((("Mug", "9.50"), ("Poster", "14.00"), ("Tote bag", "12.25")), start=1):
            pid = 10 + n
            self.products[pid] = {
                "id": pid,
                "name": name,
                "type": "simple",
                "status": "publish",
                "sku": f"WOO-{n:03d}",
                "price": price,
                "regular_price": price,
                "stock_quantity": 20 * n,
                "stock_status": "instock",
                "parent_id": 0,
                "variations": [],
            }
        self.products[20] = {
            "id": 20,
            "name": "T-shirt",
            "type": "variable",
            "status": "publish",
            "sku": "WOO-TEE",
            "price": "18.00",
            "regular_price": "18.00",
            "stock_quantity": None,
            "stock_status": "instock",
            "parent_id": 0,
            "variations": [21, 22],
        }
        self.variations[20] = [
            {
                "id": 21,
                "sku": "WOO-TEE-S",
                "price": "18.00",
                "regular_price": "18.00",
                "stock_quantity": 5,
                "stock_status": "instock",
                "attributes": [{"id": 1, "name": "Size", "option": "S"}],
            },
            {
                "id": 22,
                "sku": "WOO-TEE-L",
                "price": "19.50",
                "regular_price": "19.50",
                "stock_quantity": 0,
                "stock_status": "outofstock",
                "attributes": [{"id": 1, "name": "Size", "option": "L"}],
            },
        ]

    def _product_line(self, product_id: int, variation_id: int, quantity: int) -> dict[str, Any]:
        product = self.products[product_id]
        variant = next((v for v in self.variations.get(product_id, ()) if v["id"] == variation_id), None)
        price = Decimal((variant or product)["price"])
        subtotal = price * quantity
        tax = (subtotal * Decimal("0.20")).quantize(_TWO)
        line = {
            "id": self._next("item"),
            "name": product["name"] + (f" - {variant['attributes'][0]['option']}" if variant else ""),
            "parent_name": product["name"] if variant else None,
            "product_id": product_id,
            "variation_id": variation_id,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": _money(subtotal),
            "subtotal_tax": _money(tax),
            "total": _money(subtotal),
            "total_tax": _money(tax),
            "taxes": [{"id": 1, "total": _money(tax), "subtotal": _money(tax)}],
            "meta_data": [],
            "sku": (variant or product)["sku"],
            "price": float(price) if price != price.to_integral() else int(price),
        }
        assert set(line) <= set(spec.LINE_ITEM_FIELDS)
        return line

    def _totals(self, order: dict[str, Any]) -> None:
        items = sum((Decimal(line["total"]) for line in order["line_items"]), Decimal(0))
        item_tax = sum((Decimal(line["total_tax"]) for line in order["line_items"]), Decimal(0))
        fees = sum((Decimal(fee["total"]) for fee in order["fee_lines"]), Decimal(0))
        shipping = sum((Decimal(s["total"]) for s in order["shipping_lines"]), Decimal(0))
        discount = sum((Decimal(c["discount"]) for c in order["coupon_lines"]), Decimal(0))
        order["discount_total"] = _money(discount)
        order["discount_tax"] = "0.00"
        order["shipping_total"] = _money(shipping)
        order["shipping_tax"] = "0.00"
        order["cart_tax"] = _money(item_tax)
        order["total_tax"] = _money(item_tax)
        order["total"] = _money(items + item_tax + fees + shipping - discount)
        order["tax_lines"] = (
            [
                {
                    "id": 1,
                    "rate_code": "VAT-1",
                    "rate_id": 1,
                    "label": "VAT",
                    "compound": False,
                    "tax_total": _money(item_tax),
                    "shipping_tax_total": "0.00",
                    "meta_data": [],
                }
            ]
            if item_tax
            else []
        )

    def new_order(
        self,
        status: str = "processing",
        *,
        created: datetime | None = None,
        modified: datetime | None = None,
        rng: random.Random | None = None,
        lines: Sequence[tuple[int, int, int]] | None = None,
        billing: Mapping[str, str] | None = None,
        shipping: Mapping[str, str] | None = None,
        meta: Sequence[Mapping[str, Any]] = (),
        payment_method: str = "bacs",
        shipping_method: tuple[str, str, str] = ("flat_rate", "Flat rate", "5.00"),
        customer_note: str = "",
        via: str = "checkout",
        extras: bool = True,
    ) -> dict[str, Any]:
        """An order with the spec's fields (``ORDER_FIELDS``), added to the shop and returned; ``extras``: some
        orders get a coupon (every fifth id) or a fee (every seventh), as shoppers' orders do."""
        rng = rng or random.Random(self._ids)
        oid = self._next("order")
        first, last = _NAMES[oid % len(_NAMES)]
        city, country, postcode = _CITIES[oid % len(_CITIES)]
        person = {
            "first_name": first,
            "last_name": last,
            "company": "",
            "address_1": f"{oid} Main Street",
            "address_2": "",
            "city": city,
            "state": "",
            "postcode": postcode,
            "country": country,
        }
        bill = {**person, "email": f"{first.lower()}.{oid}@example.com", "phone": f"+1555{oid:06d}", **(billing or {})}
        ship = {**person, **(shipping or {})}
        chosen = (
            list(lines)
            if lines is not None
            else [(11 + rng.randrange(3), 0, 1 + rng.randrange(3)) for _ in range(1 + rng.randrange(2))]
        )
        created = _second(created or self.now())
        order: dict[str, Any] = {
            "id": oid,
            "parent_id": 0,
            "number": str(oid),
            "order_key": "wc_order_" + hashlib.md5(str(oid).encode()).hexdigest()[:13],
            "created_via": via,
            "version": "8.9.1",
            "status": status,
            "currency": self.currency,
            "prices_include_tax": False,
            "customer_id": 0 if oid % 3 else 7,
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": customer_note,
            "billing": bill,
            "shipping": ship,
            "payment_method": payment_method,
            "payment_method_title": "Direct bank transfer" if payment_method == "bacs" else payment_method,
            "transaction_id": "",
            "cart_hash": "",
            "meta_data": [dict(m) for m in meta],
            "line_items": [self._product_line(p, v, q) for p, v, q in chosen],
            "fee_lines": [],
            "coupon_lines": [],
            "shipping_lines": [
                {
                    "id": self._next("item"),
                    "method_title": shipping_method[1],
                    "method_id": shipping_method[0],
                    "instance_id": "1",
                    "total": shipping_method[2],
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                }
            ],
            "refunds": [],
        }
        if extras and oid % 5 == 0:
            order["coupon_lines"] = [
                {
                    "id": self._next("item"),
                    "code": "spring10",
                    "discount": "2.00",
                    "discount_tax": "0.00",
                    "meta_data": [],
                }
            ]
        if extras and oid % 7 == 0:
            order["fee_lines"] = [
                {
                    "id": self._next("item"),
                    "name": "Gift wrap",
                    "tax_class": "",
                    "tax_status": "none",
                    "total": "3.00",
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                }
            ]
        self._totals(order)
        if status == "refunded":
            order["refunds"] = [{"id": self._next("item"), "reason": "", "total": "-" + order["total"]}]
        self._stamp(order, "date_created", created)
        paid = status in ("processing", "completed", "refunded", "shipped")
        self._stamp(order, "date_paid", created + timedelta(minutes=1) if paid else None)
        self._stamp(order, "date_completed", created + timedelta(days=1) if status == "completed" else None)
        self._stamp(order, "date_modified", modified or created)
        assert set(order) <= set(spec.ORDER_FIELDS)  # the spec's shape, nothing of our own
        assert set(bill) <= set(spec.BILLING_FIELDS)
        self.orders[oid] = order
        self.notes[oid] = []
        return order

    def seed(self, count: int, *, start: datetime, end: datetime, seed: int = 1, same_second: int = 3) -> None:
        """``count`` orders created between ``start`` and ``end``, in statuses spread over the registered ones
        (plugin statuses included, ``checkout-draft`` left out), some sharing their modified second (every
        ``same_second``-th order is stamped with its predecessor's second)."""
        rng = random.Random(seed)
        statuses = [s for s in self.statuses if s != "checkout-draft"]
        span = max(1, int((end - start).total_seconds()))
        moments = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(count))
        previous: datetime | None = None
        for n, created in enumerate(moments):
            status = statuses[n % len(statuses)] if n % 2 else "processing"
            modified = created + timedelta(seconds=rng.randrange(3600))
            if previous is not None and same_second and n % same_second == 0:
                modified = max(previous, created)
            modified = min(modified, end)
            order = self.new_order(status, created=created, modified=modified, rng=rng)
            if status == "completed" and self.tracking and n % 4 == 1:
                order["meta_data"].append(
                    {
                        "id": self._next("item"),
                        "key": TRACKING_META,
                        "value": [
                            {
                                "tracking_provider": "usps",
                                "custom_tracking_provider": "",
                                "custom_tracking_link": "",
                                "tracking_number": f"9400{order['id']:08d}",
                                "date_shipped": str(int(modified.timestamp())),
                                "tracking_id": hashlib.md5(f"seed{order['id']}".encode()).hexdigest(),
                            }
                        ],
                    }
                )
            previous = self.gmt_of(order, "date_modified")

    def crowd(self, count: int, second: datetime, status: str = "processing") -> list[int]:
        """``count`` orders all modified in one ``second`` (a bulk import or a mass status change)."""
        moment = _second(second)
        return [
            self.new_order(status, created=moment - timedelta(hours=1), modified=moment)["id"] for _ in range(count)
        ]

    def edit(self, order_id: int, **fields: Any) -> dict[str, Any]:
        """An admin's edit: ``fields`` set (default: a new shipping city) and the order saved now."""
        order = self.orders[order_id]
        if not fields:
            fields = {"shipping": {**order["shipping"], "city": f"Edited {order_id}"}}
        order.update(fields)
        self.touch(order)
        return order

    # -- listing ---------------------------------------------------------------------------------------------

    def _bound(self, value: str, gmt: bool, name: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_param(name, f"{name} is not a valid date.") from None
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc)
        # Without dates_are_gmt WordPress reads a date without an offset as the site's local time.
        return moment.replace(tzinfo=timezone.utc) - (timedelta(0) if gmt else self.utc_offset)

    def list_orders(self, query: Sequence[tuple[str, str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        params: dict[str, str] = {}
        for name, value in query:
            params[name.removesuffix("[]")] = (
                f"{params[name[:-2]]},{value}" if name.endswith("[]") and name[:-2] in params else value
            )
        gmt = params.get("dates_are_gmt", "false").lower() in ("1", "true")
        try:
            per_page = int(params.get("per_page", "10"))
            page = int(params.get("page", "1"))
            offset = int(params["offset"]) if "offset" in params else None
        except ValueError:
            raise _bad_param("per_page", "per_page, page and offset are integers.") from None
        if not 1 <= per_page <= 100:
            raise _bad_param("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
        if page < 1:
            raise _bad_param("page", "page must be greater than or equal to 1")
        wanted = [s.strip() for s in params.get("status", "any").split(",") if s.strip()]
        for status in wanted:
            if status not in self.statuses and status not in ("any", "trash"):
                raise _bad_param("status", f"status[0] is not one of {', '.join(['any', 'trash', *self.statuses])}.")
        rows = [o for o in self.orders.values() if "any" in wanted or o["status"] in wanted]
        if "any" in wanted:
            rows = [o for o in rows if o["status"] not in ("trash", "checkout-draft")]
        for name, field, later in (
            ("after", "date_created", True),
            ("before", "date_created", False),
            ("modified_after", "date_modified", True),
            ("modified_before", "date_modified", False),
        ):
            if params.get(name):
                # The *_gmt texts sort as their times do: compare text, not parsed times (8,000 orders a request).
                bound = self._bound(params[name], gmt, name).strftime("%Y-%m-%dT%H:%M:%S")
                key = f"{field}_gmt"
                rows = [o for o in rows if (o[key] > bound if later else o[key] < bound)]
        if params.get("include"):
            include = {int(i) for i in params["include"].split(",") if i.strip()}
            rows = [o for o in rows if o["id"] in include]
        if params.get("exclude"):
            exclude = {int(i) for i in params["exclude"].split(",") if i.strip()}
            rows = [o for o in rows if o["id"] not in exclude]
        if params.get("search"):
            term = params["search"].lower()
            rows = [
                o
                for o in rows
                if term
                in " ".join(
                    [str(v) for v in o["billing"].values()] + [line["name"] for line in o["line_items"]]
                ).lower()
            ]
        orderby = "date" if self.ignore_orderby else params.get("orderby", "date")
        if orderby not in spec.ORDERBY:
            raise _bad_param("orderby", f"orderby is not one of {', '.join(spec.ORDERBY)}.")
        descending = self.ignore_orderby or params.get("order", "desc") == "desc"
        sort_field = {"date": "date_created_gmt", "modified": "date_modified_gmt"}.get(orderby)
        # Ties are broken by descending id, whatever the direction (see the module notes).
        rows.sort(key=lambda o: -o["id"])
        if sort_field is not None:
            by = sort_field
            rows.sort(key=lambda o: o[by], reverse=descending)
        elif orderby in ("id", "include", "title", "slug"):
            rows.sort(key=lambda o: o["id"], reverse=descending)
        total = len(rows)
        start = offset if offset is not None else (page - 1) * per_page
        chosen = rows[start : start + per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(math.ceil(total / per_page))}
        fields = [f.strip() for f in params.get("_fields", "").split(",") if f.strip()]
        body = [self.shown(o, fields) for o in chosen]
        return body, headers

    def shown(self, order: Mapping[str, Any], fields: Sequence[str] = ()) -> dict[str, Any]:
        copy = {k: order[k] for k in spec.ORDER_FIELDS if k in order and k != "set_paid"}
        copy["_links"] = {"self": [{"href": f"/wp-json/wc/v3/orders/{order['id']}"}]}
        return {k: v for k, v in copy.items() if k in fields} if fields else copy

    def find(self, order_id: str | int) -> dict[str, Any]:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError):
            raise HttpError(404, "Invalid ID.", {"code": "woocommerce_rest_shop_order_invalid_id"}) from None

    # -- writes ----------------------------------------------------------------------------------------------

    def set_status(self, order: dict[str, Any], status: str) -> None:
        if status not in self.statuses:
            raise _bad_param("status", f"status is not one of {', '.join(self.statuses)}.")
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
            raise _bad_param("type", f"type is not one of {', '.join(spec.NOTE_TYPES)}.")
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

    # -- catalogue and new orders ----------------------------------------------------------------------------

    def list_products(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = [p for p in self.products.values() if params.get("status", "any") in ("any", p["status"])]
        if params.get("sku"):
            skus = {s.strip() for s in params["sku"].split(",")}
            found = [p for p in rows if p["sku"] in skus]
            # WooCommerce's sku filter matches variations too, answering them as products with a parent_id.
            for parent, variations in self.variations.items():
                for v in variations:
                    if v["sku"] in skus:
                        found.append(
                            {
                                **v,
                                "name": self.products[parent]["name"],
                                "type": "variation",
                                "parent_id": parent,
                                "status": "publish",
                            }
                        )
            rows = found
        elif params.get("search"):
            term = params["search"].lower()
            rows = [p for p in rows if term in p["name"].lower() or term in p["sku"].lower()]
        per_page = int(params.get("per_page", "10"))
        return [dict(p) for p in rows[:per_page]]

    def list_variations(self, product_id: str) -> list[dict[str, Any]]:
        if int(product_id) not in self.products:
            raise HttpError(404, "Invalid ID.", {"code": "woocommerce_rest_product_invalid_id"})
        return [dict(v) for v in self.variations.get(int(product_id), [])]

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise HttpError(400, "The request body is not a JSON object.", {"code": "rest_invalid_json"})
        lines: list[tuple[int, int, int]] = []
        for row in body.get("line_items") or ():
            product = int(row.get("product_id") or 0)
            if product not in self.products:
                raise HttpError(
                    400, f"Product ID {product} is invalid.", {"code": "woocommerce_rest_invalid_product_id"}
                )
            lines.append((product, int(row.get("variation_id") or 0), int(row.get("quantity") or 1)))
        if not lines:
            raise HttpError(400, "An order needs line items.", {"code": "woocommerce_rest_required_product_reference"})
        shipping_lines = body.get("shipping_lines") or [{}]
        method = shipping_lines[0]
        status = "processing" if body.get("set_paid") else str(body.get("status") or "pending")
        if status not in self.statuses:
            raise _bad_param("status", f"status is not one of {', '.join(self.statuses)}.")
        order = self.new_order(
            status,
            lines=lines,
            billing=body.get("billing") or {},
            shipping=body.get("shipping") or {},
            meta=[{"id": self._next("item"), **m} for m in body.get("meta_data") or ()],
            payment_method=str(body.get("payment_method") or "bacs"),
            shipping_method=(
                str(method.get("method_id") or "flat_rate"),
                str(method.get("method_title") or ""),
                str(method.get("total") or "0.00"),
            ),
            customer_note=str(body.get("customer_note") or ""),
            via="rest-api",
            extras=False,
        )
        return self.shown(order)
