"""The fake NetSuite REST endpoint's record service: ``GET`` / ``PATCH`` of a sales order, ``POST`` of a sales order
and of ``salesOrder/{id}/!transform/itemFulfillment``.

Theory of operation
-------------------
Bodies are checked against the schema's field names (``_netsuite_rest_xsd``), the status letters and number
types; creates honour ``X-NetSuite-Idempotency-Key`` (a second request with a key already used is refused with
``IDEMPOTENCY_ERROR``, as Oracle documents) and refuse a duplicate external id (``DUP_RCRD``); an answer is 204
with a ``Location`` header, as NetSuite answers. Approval moves an order from ``A`` to ``B`` only; closing every
line makes an order ``H`` (Closed); fulfilling every line makes it ``F`` (Pending Billing), some of them ``E``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ._base_http import Answer, HttpError, ReceivedRequest
from ._netsuite_rest_data import _LETTERS
from ._netsuite_rest_suiteql import NetSuiteRestSuiteQL
from ._netsuite_rest_xsd import (
    ADDRESS_FIELDS,
    FULFILMENT_FIELDS,
    FULFILMENT_ITEM_FIELDS,
    PACKAGE_FIELDS,
    SALES_ORDER_FIELDS,
    SALES_ORDER_ITEM_FIELDS,
    SHIP_STATUSES,
)

__all__ = ["NetSuiteRestRecords"]

# ItemShip:A Picked, B Packed, C Shipped (Oracle's transaction status list); the names are the schema's.
_SHIP_LETTERS = {"A": "_picked", "B": "_packed", "C": "_shipped"}
assert set(_SHIP_LETTERS.values()) == set(SHIP_STATUSES)


def _label(code: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", code.lstrip("_")).title()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_fields(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for name in body:
        if name not in allowed and not name.startswith("custbody"):
            raise HttpError(400, f"Invalid field '{name}' for {what}.", "INVALID_FIELD")


def _check_numbers(line: Mapping[str, Any], names: tuple[str, ...], what: str) -> None:
    """Number fields take JSON numbers (the record service refuses text there)."""
    for name in names:
        value = line.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise HttpError(
                400, f"Invalid value type for field '{name}' of {what}: a number is expected.", "INVALID_FLD_VALUE"
            )


def _sublist(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    sub = body.get(name)
    if sub is None:
        return []
    items = sub.get("items") if isinstance(sub, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HttpError(400, f"The sublist '{name}' must be {{\"items\": [...]}}.", "INVALID_PARAMETER")
    return items


def _ref_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


class NetSuiteRestRecords(NetSuiteRestSuiteQL):
    """The record service of :class:`~ecc_connectors.testing.netsuite_rest.FakeNetSuiteRest`."""

    idempotency: dict[str, str]

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.sales_orders.get(order_id)
        if order is None:
            raise HttpError(404, f"The record instance does not exist. Provided id: {order_id}.", "NONEXISTENT_ID")
        return order

    def _get_order(self, request: ReceivedRequest, order_id: str) -> Any:
        with self.lock:
            o = self._order(order_id)
            items = [
                {
                    "line": i["line"],
                    "item": {"id": i["item"], "refName": self.items[i["item"]]["itemid"]},
                    "quantity": float(i["quantity"]),
                    "rate": float(i["rate"]),
                    "amount": float(i["amount"]),
                    "description": i.get("description"),
                    "quantityFulfilled": float(i["quantityFulfilled"]),
                    "isClosed": i["isClosed"],
                }
                for i in o["item"]
            ]
            record = {
                "links": [],
                "id": o["id"],
                "tranId": o["tranId"],
                "orderStatus": {"id": o["orderStatus"], "refName": _label(_LETTERS[o["orderStatus"]])},
                "memo": o.get("memo") or None,
                "externalId": o.get("externalId"),
                "lastModifiedDate": _iso(o["lastModifiedDate"]),
                "createdDate": _iso(o["createdDate"]),
                "entity": {"id": o["entity"]},
                "item": {"items": items, "totalResults": len(items)},
            }
            record.update({k: v for k, v in o.items() if k.startswith("custbody")})
            return {k: v for k, v in record.items() if v is not None}

    def _patch_order(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        _check_fields(body, set(SALES_ORDER_FIELDS) | {"item"}, "salesOrder")
        with self.lock:
            order = self._order(order_id)
            changes: dict[str, Any] = {}
            if "orderStatus" in body:
                letter = _ref_id(body["orderStatus"])
                if letter not in _LETTERS:
                    raise HttpError(400, f"Invalid orderStatus reference key {letter}.", "INVALID_KEY_OR_REF")
                if not (order["orderStatus"] == "A" and letter == "B") and letter != order["orderStatus"]:
                    raise HttpError(400, "You cannot set this status on the order.", "INVALID_FLD_VALUE")
                changes["orderStatus"] = letter
            lines = {item["line"]: item for item in order["item"]}
            closing = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(SALES_ORDER_ITEM_FIELDS), "salesOrder.item")
                line = lines.get(change.get("line"))
                if line is None:
                    raise HttpError(400, f"The sublist line {change.get('line')} does not exist.", "INVALID_PARAMETER")
                if change.get("isClosed") is True:
                    closing.append(line)
            for key, value in body.items():
                if key == "memo" or key.startswith("custbody"):
                    changes[key] = value
            for line in closing:
                line["isClosed"] = True
            order.update(changes)
            if (
                order["item"]
                and all(i["isClosed"] or i["quantityFulfilled"] >= i["quantity"] for i in order["item"])
                and closing
            ):
                order["orderStatus"] = "H"
            order["lastModifiedDate"] = self._stamp()
        return Answer(204, b"")

    def _created(self, path: str, record_id: str) -> Answer:
        return Answer(204, b"", {"Location": f"{self.base_url}/services/rest/record/v1/{path}/{record_id}"})

    def _idempotent(self, request: ReceivedRequest) -> str | None:
        key = {k.lower(): v for k, v in request.headers.items()}.get("x-netsuite-idempotency-key")
        if key is not None and key in self.idempotency:
            raise HttpError(400, "A request with the same idempotency key is already submitted.", "IDEMPOTENCY_ERROR")
        return key

    def _external_id_free(self, external_id: Any) -> None:
        if external_id is None:
            return
        taken = [
            r for r in [*self.sales_orders.values(), *self.fulfilments.values()] if r.get("externalId") == external_id
        ]
        if taken:
            raise HttpError(400, "A record with the same external ID already exists.", "DUP_RCRD")

    def _post_order(self, request: ReceivedRequest) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        _check_fields(body, set(SALES_ORDER_FIELDS) | {"item", "externalId"}, "salesOrder")
        for name in ("billingAddress", "shippingAddress"):
            address = body.get(name) or {}
            _check_fields(address, set(ADDRESS_FIELDS), name)
            country = _ref_id(address.get("country"))
            if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
                raise HttpError(400, f"Invalid country reference key {country}.", "INVALID_KEY_OR_REF")
        with self.lock:
            key = self._idempotent(request)
            self._external_id_free(body.get("externalId"))
            customer = _ref_id(body.get("entity"))
            if customer not in self.customers:
                raise HttpError(400, f"Invalid entity reference key {customer}.", "INVALID_KEY_OR_REF")
            lines = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(SALES_ORDER_ITEM_FIELDS), "salesOrder.item")
                _check_numbers(change, ("quantity", "rate"), "salesOrder.item")
                item_id = _ref_id(change.get("item"))
                item = self.items.get(item_id or "")
                if item is None or item["isinactive"] == "T":
                    raise HttpError(400, f"Invalid item reference key {item_id}.", "INVALID_KEY_OR_REF")
                rate = str(change.get("rate") if change.get("rate") is not None else item["prices"][0][2])
                lines.append((str(item_id), str(change.get("quantity")), rate))
            if not lines:
                raise HttpError(400, "You must enter at least one line item for this transaction.", "USER_ERROR")
            order_id = self.add_sales_order(lines, customer=str(customer), external_id=body.get("externalId"))
            order = self.sales_orders[order_id]
            order["otherRefNum"] = body.get("otherRefNum")
            order["email"] = body.get("email") or order["email"]
            for name in ("billingAddress", "shippingAddress"):
                given = {k: (_ref_id(v) if k == "country" else v) for k, v in (body.get(name) or {}).items()}
                order[name] = {**given, "nkey": next(self._nkeys)}
            if key is not None:
                self.idempotency[key] = order_id
        return self._created("salesOrder", order_id)

    def _fulfil(self, request: ReceivedRequest, order_id: str) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.", "INVALID_PARAMETER")
        sublists = {"item", "package", "packageUps", "packageFedEx", "packageUsps"}
        _check_fields(body, set(FULFILMENT_FIELDS) | sublists, "itemFulfillment")
        with self.lock:
            key = self._idempotent(request)
            order = self._order(order_id)
            self._external_id_free(body.get("externalId"))
            if order["orderStatus"] not in ("B", "D", "E"):
                raise HttpError(
                    400, "You can not initialize itemfulfillment: invalid reference.", "INVALID_INITIALIZE_REF"
                )
            ship = _ref_id(body.get("shipStatus")) or "C"
            if ship not in _SHIP_LETTERS:
                raise HttpError(400, f"Invalid shipStatus reference key {ship}.", "INVALID_KEY_OR_REF")
            lines = {item["line"]: item for item in order["item"]}
            taken: list[tuple[dict[str, Any], Decimal]] = []
            for change in _sublist(body, "item"):
                _check_fields(change, set(FULFILMENT_ITEM_FIELDS), "itemFulfillment.item")
                _check_numbers(change, ("quantity",), "itemFulfillment.item")
                line = lines.get(change.get("orderLine"))
                if line is None:
                    raise HttpError(
                        400, f"The order line {change.get('orderLine')} does not exist.", "INVALID_PARAMETER"
                    )
                if change.get("itemReceive") is False:
                    continue
                remaining = line["quantity"] - line["quantityFulfilled"]
                qty = Decimal(str(change.get("quantity", remaining)))
                if line["isClosed"] or qty <= 0 or qty > remaining:
                    raise HttpError(400, f"Invalid quantity for order line {line['line']}.", "INVALID_QTY")
                taken.append((line, qty))
            if not taken:
                raise HttpError(400, "You must enter at least one line item for this transaction.", "USER_ERROR")
            packages = []
            for package in _sublist(body, "package"):
                _check_fields(package, set(PACKAGE_FIELDS), "itemFulfillment.package")
                packages.append(dict(package))
            for line, qty in taken:
                line["quantityFulfilled"] += qty
            fulfilled = all(i["isClosed"] or i["quantityFulfilled"] >= i["quantity"] for i in order["item"])
            order["orderStatus"] = "F" if fulfilled else "E"
            order["lastModifiedDate"] = self._stamp()
            record_id = self._next_id()
            self.fulfilments[record_id] = {
                "id": record_id,
                "createdFrom": order_id,
                "externalId": body.get("externalId"),
                "memo": body.get("memo"),
                "shipStatus": ship,
                "packages": packages,
                "createdDate": self._stamp(),
                "lines": [(line["line"], qty) for line, qty in taken],
            }
            if key is not None:
                self.idempotency[key] = record_id
        return self._created("itemFulfillment", record_id)
