"""Shipping an order: an ``ItemFulfillment`` made once, carrying what the account's setup requires.

A shipment is ``initialize`` (NetSuite builds the fulfilment from the sales order, as its UI does) then ``add``.
What the initialized record says about the account is kept, not guessed:

* per line, the ``location`` (multi-location inventory), the ``inventoryDetail`` (lot and serial numbers, bins
  under Advanced Bin Management) and the older ``binNumbers`` / ``serialNumbers`` strings are carried over to the
  line that is added. A lot or serial line shipped in another quantity than the one NetSuite assigned cannot be
  split here (which lots?): it is refused, naming the order and the line, before anything is written;
* the packages go into the list of the carrier the order ships with: ``packageUpsList``, ``packageFedExList`` or
  ``packageUspsList`` when the initialized record carries that list (the shipping method is one of NetSuite's
  integrated carriers), else the plain ``packageList``;
* ``shipStatus=_shipped`` is set only where Pick, Pack and Ship is on: ``NetSuiteSettings.pick_pack_ship``, or,
  when that is left empty, whether the initialized record has a ``shipStatus`` at all.

Before anything is written the order's fulfilments are read, and one an earlier attempt made (same externalId,
a shared tracking number in any package list, or the same lines and quantities without tracking since the
request was first tried) is returned as ``already_shipped``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from ...driver import Flow, ShipmentRequest, ShipmentResult, StatusNotAllowed, Tracking
from .._netsuite_common import lines_to_fulfil
from ._calls import plain
from ._mapping import _utc, field, jsonable, to_decimal
from ._soap import raise_for_status, status_codes
from ._walk import WalkSearch

__all__ = ["PACKAGE_LISTS", "Fulfilment"]

# What NetSuite answers when an order has nothing left to fulfil (or cannot be fulfilled in its state).
_NOTHING_TO_FULFIL = frozenset({"INVALID_INITIALIZE_REF"})

# The package lists of an item fulfilment (transactions.sales.xsd): list element, package element, and the
# package's tracking number and description fields (FedEx packages have no description).
PACKAGE_LISTS: dict[str, tuple[str, str, str | None]] = {
    "packageList": ("package", "packageTrackingNumber", "packageDescr"),
    "packageUpsList": ("packageUps", "packageTrackingNumberUps", "packageDescrUps"),
    "packageFedExList": ("packageFedEx", "packageTrackingNumberFedEx", None),
    "packageUspsList": ("packageUsps", "packageTrackingNumberUsps", "packageDescrUsps"),
}
# Line fields the initialized fulfilment sets that the added one must carry (a RecordRef, a structure, strings).
_CARRIED = ("location", "inventoryDetail", "binNumbers", "serialNumbers")


def tracking_numbers(fulfilment: Any) -> set[str]:
    """Every tracking number of a fulfilment, whichever package list holds it."""
    numbers: set[str] = set()
    for list_name, (package_name, number_field, _descr) in PACKAGE_LISTS.items():
        for package in field(field(fulfilment, list_name), package_name, []) or []:
            number = str(field(package, number_field, "") or "")
            if number:
                numbers.add(number)
    return numbers


def _assigned(detail: Any) -> Decimal | None:
    """The quantity an inventory detail assigns (``None`` when it assigns none)."""
    assignments = field(field(detail, "inventoryAssignmentList"), "inventoryAssignment", []) or []
    if not assignments:
        return None
    return sum((to_decimal(field(a, "quantity")) or Decimal("0") for a in assignments), Decimal("0"))


def _carried(line: Any) -> dict[str, Any]:
    """The fields of an initialized line that go into the added one, as plain data zeep builds again."""
    carried: dict[str, Any] = {}
    for name in _CARRIED:
        value = field(line, name)
        if value is None or value == "":
            continue
        if name == "location":
            carried[name] = {"internalId": str(field(value, "internalId"))}
        elif name == "inventoryDetail":
            data = jsonable(value)
            data.pop("_unparsed", None)
            carried[name] = data
        else:
            carried[name] = str(value)
    return carried


class Fulfilment(WalkSearch):
    """``ship`` and what it needs."""

    @staticmethod
    def fulfilment_key(request: ShipmentRequest) -> str:
        """The externalId the driver gives a fulfilment: the same request always yields the same key."""
        text = "|".join(
            [
                request.order_id,
                ",".join(sorted(t.number for t in request.tracking)),
                ",".join(f"{line}:{qty}" for line, qty in sorted(request.lines)),
            ]
        )
        return "ecc-ship-" + hashlib.sha256(text.encode()).hexdigest()[:20]

    def _fulfilments(self, order_id: str) -> Flow[list[Any]]:
        ref = self._soap.type("core", "RecordRef")(internalId=order_id)
        criteria = {
            "createdFrom": {"operator": "anyOf", "searchValue": [ref]},
            "type": {"operator": "anyOf", "searchValue": ["_itemFulfillment"]},
        }
        return (yield from self._search_all("TransactionSearchBasic", criteria))

    @staticmethod
    def _earlier_attempt(fulfilment: Any, request: ShipmentRequest, key: str) -> bool:
        """Whether ``fulfilment`` is this request's own, made by an attempt whose answer was lost: it has the
        request's externalId, or shares a tracking number, or (a shipment without tracking) it ships exactly the
        requested lines and quantities, with no tracking number, made since the request was first tried."""
        if field(fulfilment, "externalId") == key:
            return True
        wanted = {t.number for t in request.tracking}
        numbers = tracking_numbers(fulfilment)
        if wanted & numbers:
            return True
        if wanted or numbers or not request.lines:
            return False
        items = field(field(fulfilment, "itemList"), "item", []) or []
        shipped = {
            (str(field(item, "orderLine", "")), plain(to_decimal(field(item, "quantity")) or Decimal("0")))
            for item in items
            if field(item, "itemReceive", True) is not False
        }
        if shipped != {(str(line), plain(qty)) for line, qty in request.lines}:
            return False
        created = _utc(field(fulfilment, "createdDate"))
        return request.since is None or (created is not None and created >= request.since)

    def _packages(self, initialized: Any, tracking: tuple[Tracking, ...]) -> dict[str, Any]:
        """The package list field for ``tracking``: the integrated carrier's list when the initialized
        fulfilment carries one, else ``packageList``."""
        if not tracking:
            return {}
        list_name = next(
            (name for name in ("packageUpsList", "packageFedExList", "packageUspsList") if field(initialized, name)),
            "packageList",
        )
        package_name, number_field, descr_field = PACKAGE_LISTS[list_name]
        packages = []
        for t in tracking:
            package: dict[str, str | None] = {number_field: t.number}
            if descr_field:
                package[descr_field] = t.title or t.carrier_code or None
            packages.append(package)
        # replaceAll=true: the packages NetSuite put on the initialized record (one empty default package) are
        # replaced by these, not added to.
        return {list_name: {"replaceAll": True, package_name: packages}}

    def _ship_status(self, initialized: Any) -> str | None:
        setting = self.settings.pick_pack_ship
        on = field(initialized, "shipStatus") is not None if setting is None else setting
        return "_shipped" if on else None

    def _line_to_add(self, request: ShipmentRequest, line: Any, quantity: Decimal) -> dict[str, Any]:
        order_line = str(field(line, "orderLine"))
        item: dict[str, Any] = {"itemReceive": True, "orderLine": int(order_line), "quantity": plain(quantity)}
        carried = _carried(line)
        assigned = _assigned(field(line, "inventoryDetail"))
        if assigned is not None and plain(assigned) != plain(quantity):
            raise StatusNotAllowed(
                f"NetSuite: order line {order_line} has lot or serial numbers assigned for {plain(assigned)}; "
                f"shipping {plain(quantity)} of it needs a choice of numbers this request does not make",
                code="INVENTORY_DETAIL_NEEDED",
                store=self.store_id,
                order_id=request.order_id,
            )
        item.update(carried)
        return item

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Fulfil the order: ``initialize`` an ItemFulfillment from it, set lines and packages, ``add`` it.

        The order's fulfilments are read first, and one an earlier attempt made (same externalId, a shared
        tracking number, or, without tracking, the same lines and quantities since ``request.since``) is returned
        as ``already_shipped``, so a retried request never fulfils twice. ``notify`` and ``status`` are
        NetSuite's business: it emails per its own preferences and moves the order status itself.
        """
        key = self.fulfilment_key(request)
        existing = yield from self._fulfilments(request.order_id)
        for fulfilment in existing:
            if self._earlier_attempt(fulfilment, request, key):
                return ShipmentResult(str(field(fulfilment, "internalId")), already_shipped=True)
        body = yield from self._call(
            "initialize",
            {
                "initializeRecord": {
                    "type": "itemFulfillment",
                    "reference": {"type": "salesOrder", "internalId": request.order_id},
                }
            },
            idempotent=True,
        )
        response = body.readResponse
        failed = response.status.isSuccess is False
        if failed and not status_codes(response.status) & _NOTHING_TO_FULFIL:
            raise_for_status(response.status, order_id=request.order_id, what="initialize fulfilment")
        initialized = None if failed else response.record
        lines = field(field(initialized, "itemList"), "item", []) or []
        open_lines = [ln for ln in lines if (field(ln, "quantityRemaining") or field(ln, "quantity") or 0) > 0]
        if not open_lines:
            if existing and not request.lines:
                return ShipmentResult(str(field(existing[-1], "internalId")), already_shipped=True)
            raise_for_status(response.status, order_id=request.order_id, what="initialize fulfilment")
        # Refused here: an order left without an open line (its status named no error), or lines that are not open.
        requested = lines_to_fulfil(request, {str(field(ln, "orderLine")) for ln in open_lines}, self.store_id)
        items = []
        for ln in open_lines:
            line = str(field(ln, "orderLine"))
            remaining = to_decimal(field(ln, "quantityRemaining") or field(ln, "quantity")) or Decimal("0")
            if requested and line not in requested:
                items.append({"itemReceive": False, "orderLine": int(line)})
                continue
            items.append(self._line_to_add(request, ln, requested.get(line, remaining)))
        fulfilment = self._soap.type("sales", "ItemFulfillment")(
            createdFrom={"internalId": request.order_id},
            shipStatus=self._ship_status(initialized),
            memo=request.comment or None,
            itemList={"replaceAll": False, "item": items},
            externalId=key,
            **self._packages(initialized, tuple(request.tracking)),
        )
        shipment_id = yield from self._write("add", fulfilment, request.order_id, "add fulfilment")
        return ShipmentResult(shipment_id)
