"""Record operations of :class:`~ecc_connectors.testing.FakeSuiteTalk`: ``get``, ``getList``, ``initialize``,
``add`` and ``update`` of sales orders and item fulfilments."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._netsuite_soap import (
    _XSI,
    CARRIER_LISTS,
    PACKAGE_FIELDS,
    SoapWriter,
    _child,
    _children,
    _local,
    _StatusError,
    _value,
    oracle_enumeration,
)


class RecordOperations(SoapWriter):
    """Reads and writes of records."""

    new_order_status: str
    cancel_by_status: bool
    pick_pack_ship: bool

    add_sales_order: Callable[..., str]
    """FakeSuiteTalk's own."""

    def _find(self, ref: Any) -> tuple[str, dict[str, Any]]:
        record_type = ref.get("type") or ""
        internal_id = ref.get("internalId")
        external_id = ref.get("externalId")
        tables: list[tuple[str, dict[str, dict[str, Any]]]] = []
        if record_type in ("", "salesOrder"):
            tables.append(("SalesOrder", self.sales_orders))
        if record_type in ("", "itemFulfillment"):
            tables.append(("ItemFulfillment", self.fulfilments))
        for kind, table in tables:
            for data in table.values():
                if (internal_id and data["internalId"] == internal_id) or (
                    external_id and data.get("externalId") == external_id
                ):
                    return kind, data
        for item in self.items.values():
            if item["internalId"] == internal_id and record_type.lower() == item["kind"].lower():
                return item["kind"], item
        raise _StatusError(
            "INVALID_KEY_OR_REF", f"That record does not exist. {record_type} {internal_id or external_id}"
        )

    def _read(self, parent: Any, ref: Any) -> None:
        node = self._el(parent, "platformMsgs", "readResponse")
        try:
            kind, data = self._find(ref)
        except _StatusError as error:
            self._status(node, error)
            return
        self._status(node)
        self._record(node, "platformMsgs", "record", kind, data)

    def _op_get(self, element: Any, root: Any) -> Callable[[Any], None]:
        ref = _child(element, "baseRef")
        return self._response("get")(lambda node: self._read(node, ref))

    def _op_get_list(self, element: Any, root: Any) -> Callable[[Any], None]:
        refs = _children(element, "baseRef")

        def fill(node: Any) -> None:
            responses = self._el(node, "platformMsgs", "readResponseList")
            self._status(responses)
            for ref in refs:
                self._read(responses, ref)

        return self._response("getList")(fill)

    def _op_initialize(self, element: Any, root: Any) -> Callable[[Any], None]:
        init = _child(element, "initializeRecord")
        reference = _child(init, "reference")
        order_id = reference.get("internalId") if reference is not None else None
        order = self.sales_orders.get(order_id or "")
        error: _StatusError | None = None
        lines = []
        if (
            _value(init, "type") != "itemFulfillment"
            or order is None
            or order["orderStatus"] in ("_pendingApproval", "_cancelled", "_closed")
        ):
            error = _StatusError(
                "INVALID_INITIALIZE_REF",
                f"You can not initialize itemfulfillment: invalid reference {order_id}.",
            )
        else:
            for line in order["lines"]:
                remaining = line["quantity"] - line["quantityFulfilled"]
                if line["isClosed"] or remaining <= 0:
                    continue
                lines.append(
                    {
                        "itemName": line["itemName"],
                        "item": line["item"],
                        "quantity": remaining,
                        "orderLine": line["line"],
                        "quantityRemaining": remaining,
                        "location": line.get("location"),
                        # NetSuite assigns lot/serial numbers on hand, in order, for the quantity initialized.
                        "assignments": _allocate(line.get("lots") or {}, remaining),
                    }
                )
            if not lines:
                error = _StatusError(
                    "INVALID_INITIALIZE_REF",
                    f"You can not initialize itemfulfillment: invalid reference {order_id}.",
                )

        def fill(node: Any) -> None:
            response = self._el(node, "platformMsgs", "readResponse")
            self._status(response, error)
            if error is None:
                assert order is not None
                data = {
                    "createdFrom": order["internalId"],
                    "lines": lines,
                    "shipStatus": "_picked" if self.pick_pack_ship else None,
                    # An integrated carrier's list comes with one empty package, as NetSuite's form shows it.
                    "packageList": CARRIER_LISTS.get(order.get("carrier") or "", None),
                    "packages": [("", "")] if order.get("carrier") else [],
                }
                self._record(response, "platformMsgs", "record", "ItemFulfillment", data)

        return self._response("initialize")(fill)

    def _write(self, operation: str, action: Callable[[], tuple[str, str]]) -> Callable[[Any], None]:
        try:
            internal_id, record_type = action()
            error = None
        except _StatusError as exc:
            internal_id, record_type, error = "", "", exc

        def fill(node: Any) -> None:
            response = self._el(node, "platformMsgs", "writeResponse")
            self._status(response, error)
            if error is None:
                ref = self._el(response, "platformMsgs", "baseRef", internalId=internal_id, type=record_type)
                ref.set(f"{{{_XSI}}}type", "platformCore:RecordRef")

        return self._response(operation)(fill)

    def _op_add(self, element: Any, root: Any) -> Callable[[Any], None]:
        record = _child(element, "record")
        kind = (record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        if kind == "SalesOrder":
            return self._write("add", lambda: (self._add_order(record), "salesOrder"))
        if kind == "ItemFulfillment":
            return self._write("add", lambda: (self._add_fulfilment(record), "itemFulfillment"))
        return self._write("add", lambda: self._refuse(f"this fake cannot add {kind}"))

    @staticmethod
    def _refuse(message: str) -> tuple[str, str]:
        raise _StatusError("INVALID_RCRD_TYPE", message)

    def _duplicate(self, table: dict[str, dict[str, Any]], external_id: str | None) -> None:
        if external_id and any(d.get("externalId") == external_id for d in table.values()):
            raise _StatusError("DUP_RCRD", "This record already exists")

    def _read_address(self, node: Any) -> dict[str, Any] | None:
        """An address sent; its ``country`` must be a value of Oracle's ``Country`` enumeration."""
        if node is None:
            return None
        address = {_local(c): c.text or "" for c in node if _local(c)}
        country = address.get("country")
        if country and country not in oracle_enumeration("Country"):
            raise _StatusError("INVALID_FLD_VALUE", f"Invalid country reference key {country}.")
        return address

    def _add_order(self, record: Any) -> str:
        external_id = record.get("externalId")
        self._duplicate(self.sales_orders, external_id)
        entity = _child(record, "entity")
        customer = entity.get("internalId") if entity is not None else None
        if customer not in self.customers:
            raise _StatusError("INVALID_KEY_OR_REF", f"Invalid entity reference key {customer}.")
        lines = []
        for node in _children(_child(record, "itemList"), "item"):
            ref = _child(node, "item")
            item = self.items.get(ref.get("internalId") if ref is not None else "")
            if item is None or item["isInactive"]:
                raise _StatusError("INVALID_KEY_OR_REF", "Invalid item reference key.")
            rate_text = _value(node, "rate")
            rate = Decimal(rate_text) if rate_text else (item["price"] or item["rate"] or Decimal("0"))
            lines.append((item["internalId"], Decimal(_value(node, "quantity") or "1"), rate))
        if not lines:
            raise _StatusError("USER_ERROR", "You must enter at least one line item for this transaction.")
        custom = {
            c.get("scriptId"): _value(c, "value") for c in _children(_child(record, "customFieldList"), "customField")
        }
        order_id = self.add_sales_order(
            lines,
            customer=customer,
            status=self.new_order_status,
            external_id=external_id,
            billing=self._read_address(_child(record, "billingAddress")),
            shipping=self._read_address(_child(record, "shippingAddress")),
            email=_value(record, "email") or "",
            custom_fields=custom,
        )
        order = self.sales_orders[order_id]
        order["otherRefNum"] = _value(record, "otherRefNum") or ""
        order["memo"] = _value(record, "memo") or ""
        for line, node in zip(order["lines"], _children(_child(record, "itemList"), "item"), strict=False):
            if _value(node, "description"):
                line["description"] = _value(node, "description")
        return order_id

    def _add_fulfilment(self, record: Any) -> str:
        """An item fulfilment, checked as an account set up like the order's would check it: the ship status
        only with Pick, Pack and Ship (and one of Oracle's values), the packages in the integrated carrier's
        list, each line's location, and lot or serial numbers assigned for exactly the quantity shipped."""
        self._duplicate(self.fulfilments, record.get("externalId"))
        created_from = _child(record, "createdFrom")
        order = self.sales_orders.get(created_from.get("internalId") if created_from is not None else "")
        if order is None or order["orderStatus"] in ("_pendingApproval", "_cancelled", "_closed"):
            raise _StatusError("INVALID_INITIALIZE_REF", "You can not initialize itemfulfillment: invalid reference.")
        ship_status = _value(record, "shipStatus")
        if ship_status is not None and not self.pick_pack_ship:
            raise _StatusError("INVALID_FLD_VALUE", "shipStatus: Pick, Pack and Ship is not enabled in this account.")
        if ship_status is not None and ship_status not in oracle_enumeration("ItemFulfillmentShipStatus"):
            raise _StatusError("INVALID_FLD_VALUE", f"Invalid shipStatus value {ship_status}.")
        packages, list_name = self._read_packages(record, order.get("carrier"))
        by_line = {line["line"]: line for line in order["lines"]}
        shipped = []
        for node in _children(_child(record, "itemList"), "item"):
            if (_value(node, "itemReceive") or "true") == "false":
                continue
            line = by_line.get(int(_value(node, "orderLine") or 0))
            if line is None or line["isClosed"]:
                raise _StatusError("USER_ERROR", "Invalid order line.")
            remaining = line["quantity"] - line["quantityFulfilled"]
            quantity = Decimal(_value(node, "quantity") or remaining)
            if quantity <= 0 or quantity > remaining:
                raise _StatusError("USER_ERROR", f"You can not fulfill more than {remaining} on line {line['line']}.")
            self._check_line_inventory(node, line, quantity)
            shipped.append((line, quantity))
        if not shipped:
            raise _StatusError("USER_ERROR", "You must enter at least one line item for this transaction.")
        for line, quantity in shipped:
            line["quantityFulfilled"] += quantity
        open_lines = [line for line in order["lines"] if not line["isClosed"]]
        done = all(line["quantityFulfilled"] >= line["quantity"] for line in open_lines)
        order["orderStatus"] = "_pendingBilling" if done else "_partiallyFulfilled"
        order["lastModifiedDate"] = self.now()
        fid = self._next_id()
        self.fulfilments[fid] = {
            "internalId": fid,
            "externalId": record.get("externalId"),
            "createdFrom": order["internalId"],
            "tranId": f"IF{fid}",
            # With Pick, Pack and Ship a fulfilment added without a status is only picked, not shipped.
            "shipStatus": (ship_status or "_picked") if self.pick_pack_ship else None,
            "memo": _value(record, "memo") or "",
            "createdDate": self.now(),
            "packageList": list_name,
            "packages": packages,
            "lines": [
                {
                    "itemName": line["itemName"],
                    "item": line["item"],
                    "quantity": quantity,
                    "orderLine": line["line"],
                    "location": line.get("location"),
                }
                for line, quantity in shipped
            ],
        }
        return fid

    def _read_packages(self, record: Any, carrier: str | None) -> tuple[list[tuple[str, str]], str]:
        """The packages sent, from the list the order's carrier uses (any other non-empty list is refused)."""
        wanted = CARRIER_LISTS.get(carrier or "", "packageList")
        packages: list[tuple[str, str]] = []
        for list_name, (package_name, number_field, descr_field) in PACKAGE_FIELDS.items():
            found = _children(_child(record, list_name), package_name)
            if found and list_name != wanted:
                raise _StatusError(
                    "INVALID_FLD_VALUE",
                    f"{list_name}: this order ships with {carrier or 'a carrier that is not integrated'}; "
                    f"its packages go in {wanted}.",
                )
            for package in found:
                number = _value(package, number_field) or ""
                descr = (_value(package, descr_field) if descr_field else None) or ""
                packages.append((number, descr))
        return packages, wanted

    @staticmethod
    def _check_line_inventory(node: Any, line: dict[str, Any], quantity: Decimal) -> None:
        if line.get("location"):
            location = _child(node, "location")
            if location is None or location.get("internalId") != line["location"]:
                raise _StatusError("LOCATION_REQD", f"Please enter value(s) for: Location (line {line['line']}).")
        lots: dict[str, Decimal] = line.get("lots") or {}
        if not lots:
            return
        detail = _child(node, "inventoryDetail")
        assignments = (
            _children(_child(detail, "inventoryAssignmentList"), "inventoryAssignment") if detail is not None else []
        )
        total = Decimal("0")
        for assignment in assignments:
            number = _child(assignment, "issueInventoryNumber")
            key = number.get("internalId") if number is not None else None
            amount = Decimal(_value(assignment, "quantity") or "0")
            if key not in lots or amount <= 0 or amount > lots[key]:
                raise _StatusError("INVALID_INVENTORY_NUM", f"Invalid inventory number {key} on line {line['line']}.")
            total += amount
        if total != quantity:
            raise _StatusError(
                "USER_ERROR", f"Please configure the inventory detail in line {line['line']} of the item list."
            )

    def _op_update(self, element: Any, root: Any) -> Callable[[Any], None]:
        record = _child(element, "record")
        return self._write("update", lambda: (self._update_order(record), "salesOrder"))

    def _update_order(self, record: Any) -> str:
        kind = (record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        if kind != "SalesOrder":
            raise _StatusError("INVALID_RCRD_TYPE", f"this fake cannot update {kind}")
        order = self.sales_orders.get(record.get("internalId") or "")
        if order is None:
            raise _StatusError("INVALID_KEY_OR_REF", "That record does not exist.")
        status = _value(record, "orderStatus")
        if status is not None and status not in oracle_enumeration("SalesOrderOrderStatus"):
            raise _StatusError("INVALID_FLD_VALUE", f"Invalid orderStatus value {status}.")
        if status is not None and status != order["orderStatus"]:
            allowed = {("_pendingApproval", "_pendingFulfillment")}
            if self.cancel_by_status:
                allowed.add(("_pendingApproval", "_cancelled"))
            if (order["orderStatus"], status) not in allowed:
                raise _StatusError(
                    "INVALID_ORD_STATUS",
                    f"You can not change the order status from {order['orderStatus']} to {status}.",
                )
            order["orderStatus"] = status
        items = _child(record, "itemList")
        if items is not None:
            if items.get("replaceAll", "true") != "false":
                raise _StatusError("USER_ERROR", "this fake updates lines only with replaceAll=false")
            by_line = {line["line"]: line for line in order["lines"]}
            for node in _children(items, "item"):
                line = by_line.get(int(_value(node, "line") or 0))
                if line is None:
                    raise _StatusError("USER_ERROR", "Invalid line.")
                if _value(node, "isClosed") == "true":
                    line["isClosed"] = True
            settled = all(line["isClosed"] or line["quantityFulfilled"] >= line["quantity"] for line in order["lines"])
            short = any(line["quantityFulfilled"] < line["quantity"] for line in order["lines"])
            if settled and short:  # every line closed or shipped, some closed before shipping in full
                order["orderStatus"] = "_closed"
        for custom in _children(_child(record, "customFieldList"), "customField"):
            order["customFields"][custom.get("scriptId")] = _value(custom, "value")
        memo = _value(record, "memo")
        if memo is not None:
            order["memo"] = memo
        order["lastModifiedDate"] = self.now()
        return str(order["internalId"])


def _allocate(lots: dict[str, Decimal], quantity: Decimal) -> list[tuple[str, Decimal]]:
    """Lot or serial numbers for ``quantity``, taken in order from what is on hand."""
    taken = []
    for number, on_hand in lots.items():
        if quantity <= 0:
            break
        amount = min(on_hand, quantity)
        taken.append((number, amount))
        quantity -= amount
    return taken
