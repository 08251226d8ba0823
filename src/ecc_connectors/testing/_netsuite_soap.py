"""The SOAP side of :class:`~ecc_connectors.testing.FakeSuiteTalk`: namespaces, the XSD-derived tables, XML
helpers, the SOAP errors, and the writer of envelopes, faults, statuses and records."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ..drivers.netsuite import TokenCredentials
from ._base_http import HttpError

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSD = "http://www.w3.org/2001/XMLSchema"

# The enumerations the fake checks are read from Oracle's own 2023_2 XSDs, never from the driver's tables (which
# are what this fake tests): the copies of ``platform.commonTypes.xsd`` and ``transactions.saleTypes.xsd`` that
# ship unchanged beside the packaged WSDL (tests/test_netsuite_countries.py checks they are byte for byte the
# files in the shared specs). Read on first use, so importing the testing package needs no lxml.
_XSD_TYPES = {
    "Country": "platform.commonTypes.xsd",
    "SalesOrderOrderStatus": "transactions.saleTypes.xsd",
    "TransactionStatus": "transactions.saleTypes.xsd",
    "ItemFulfillmentShipStatus": "transactions.saleTypes.xsd",
}
# The record's status codes with the labels NetSuite's UI shows; a search value is paired with the record code
# whose label it spells (``_salesOrderPendingBillingPartiallyFulfilled``: "Pending Billing/Partially Fulfilled").
_STATUS_LABEL = {
    "_pendingApproval": "Pending Approval",
    "_pendingFulfillment": "Pending Fulfillment",
    "_cancelled": "Cancelled",
    "_partiallyFulfilled": "Partially Fulfilled",
    "_pendingBillingPartFulfilled": "Pending Billing/Partially Fulfilled",
    "_pendingBilling": "Pending Billing",
    "_fullyBilled": "Billed",
    "_closed": "Closed",
    "_undefined": "Undefined",
}


@functools.cache
def oracle_enumeration(type_name: str) -> tuple[str, ...]:
    """The values of one of Oracle's enumerations (``Country``, ``SalesOrderOrderStatus``...), in the XSD's order."""
    from lxml import etree

    from ..drivers.netsuite import packaged_wsdl

    path = packaged_wsdl().parent / _XSD_TYPES[type_name]
    root = etree.parse(str(path), parser=etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    found = root.xpath(
        f"//x:simpleType[@name='{type_name}']/x:restriction/x:enumeration/@value", namespaces={"x": _XSD}
    )
    values = tuple(str(v) for v in found) if isinstance(found, list) else ()
    if not values:
        raise LookupError(f"no enumeration {type_name} in {path}")
    return values


def account_id(account: str) -> str:
    """The account id as NetSuite writes it in a passport and in ids: ``1234567_SB1`` (the fake's own rule,
    from Oracle's token-based authentication help: upper case, an underscore before the sandbox suffix)."""
    return account.strip().upper().replace("-", "_")


def _words(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


@functools.cache
def sales_order_search_statuses() -> dict[str, str]:
    """``TransactionStatus`` search value -> the record code of the sales orders it finds, paired by label."""
    by_label = {_words(label): code for code, label in _STATUS_LABEL.items()}
    pairs = {}
    for value in oracle_enumeration("TransactionStatus"):
        if value.startswith("_salesOrder"):
            pairs[value] = by_label[_words(value[len("_salesOrder") :])]
    return pairs


# An item fulfilment's package lists as transactions.sales.xsd declares them: list -> (package element, tracking
# number field, description field; FedEx packages have none), and the list an integrated carrier's orders use.
PACKAGE_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "packageList": ("package", "packageTrackingNumber", "packageDescr"),
    "packageUpsList": ("packageUps", "packageTrackingNumberUps", "packageDescrUps"),
    "packageUspsList": ("packageUsps", "packageTrackingNumberUsps", "packageDescrUsps"),
    "packageFedExList": ("packageFedEx", "packageTrackingNumberFedEx", None),
}
CARRIER_LISTS = {"ups": "packageUpsList", "fedex": "packageFedExList", "usps": "packageUspsList"}
_ITEM_SEARCH_TYPE = {
    "InventoryItem": "_inventoryItem",
    "NonInventorySaleItem": "_nonInventoryItem",
    "NonInventoryResaleItem": "_nonInventoryItem",
    "KitItem": "_kit",
    "AssemblyItem": "_assembly",
    "ServiceSaleItem": "_service",
    "ServiceResaleItem": "_service",
}
_FAULTS = {
    "concurrency": (
        "exceededRequestLimitFault",
        "WS_CONCUR_SESSION_DISALLWD",
        "Only one request may be made against a session at a time",
    ),
    "request_blocked": (
        "exceededConcurrentRequestLimitFault",
        "WS_REQUEST_BLOCKED",
        "SuiteTalk concurrent request limit exceeded. Request blocked.",
    ),
    "permission": (
        "insufficientPermissionFault",
        "INSUFFICIENT_PERMISSION",
        "Permission Violation: You need the 'Transactions -> Sales Order' permission to access this page.",
    ),
    "unexpected": ("unexpectedErrorFault", "UNEXPECTED_ERROR", "An unexpected error occurred."),
    "invalid_login": ("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt."),
}


# The address fields the fake writes, in the order platform.common.xsd declares them.
_ADDRESS_FIELDS = ("country", "attention", "addressee", "addrPhone", "addr1", "addr2", "addr3", "city", "state", "zip")


def _ns(version: str) -> dict[str, str]:
    return {
        "soapenv": _SOAP,
        "xsi": _XSI,
        "xsd": _XSD,
        "platformCore": f"urn:core_{version}.platform.webservices.netsuite.com",
        "platformMsgs": f"urn:messages_{version}.platform.webservices.netsuite.com",
        "platformCommon": f"urn:common_{version}.platform.webservices.netsuite.com",
        "platformFaults": f"urn:faults_{version}.platform.webservices.netsuite.com",
        "tranSales": f"urn:sales_{version}.transactions.webservices.netsuite.com",
        "listAcct": f"urn:accounting_{version}.lists.webservices.netsuite.com",
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Any, name: str) -> Any:
    for child in element:
        if _local(child) == name:
            return child
    return None


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name] if element is not None else []


def _value(element: Any, name: str) -> str | None:
    child = _child(element, name) if element is not None else None
    return None if child is None else (child.text or "")


def _parse_dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _SoapError(HttpError):
    """A SOAP fault to answer: ``kind`` names one of ``_FAULTS`` (or ``unavailable``: HTTP 503 without SOAP)."""

    def __init__(self, kind: str, message: str | None = None, http_status: int = 500) -> None:
        super().__init__(http_status, message or "", {"fault": kind})
        self.kind = kind


class _StatusError(Exception):
    """An operation that answers normally with ``isSuccess="false"``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class _SearchWarning(Exception):
    """A search NetSuite answers with no rows and a warning (an enumeration value it does not know)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class StoreState:
    """What the operation mixins read and change (set by ``FakeSuiteTalk.__init__``)."""

    credentials: TokenCredentials
    version: str
    _ns: dict[str, str]
    _ids: itertools.count[int]
    sales_orders: dict[str, dict[str, Any]]
    fulfilments: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Any]]
    customers: dict[str, str]

    def _next_id(self) -> str:
        return str(next(self._ids))

    def now(self) -> datetime:  # pragma: no cover - FakeSuiteTalk's own
        raise NotImplementedError


class SoapWriter(StoreState):
    """Builds the XML of answers."""

    def _q(self, prefix: str, name: str) -> str:
        return f"{{{self._ns[prefix]}}}{name}"

    def _el(self, parent: Any, prefix: str, name: str, text: Any = None, **attrs: Any) -> Any:
        from lxml import etree

        element = etree.SubElement(parent, self._q(prefix, name))
        for key, value in attrs.items():
            if value is not None:
                element.set(key, _text(value))
        if text is not None:
            element.text = _text(text)
        return element

    def _ref(self, parent: Any, prefix: str, name: str, internal_id: str | None, label: str = "") -> None:
        if internal_id is None:
            return
        ref = self._el(parent, prefix, name, internalId=internal_id)
        if label:
            self._el(ref, "platformCore", "name", label)

    def _envelope(self, build: Callable[[Any], None]) -> bytes:
        from lxml import etree

        nsmap = {k: v for k, v in self._ns.items() if k in ("soapenv", "xsi", "xsd")}
        root = etree.Element(f"{{{_SOAP}}}Envelope", nsmap=nsmap)
        header = etree.SubElement(root, f"{{{_SOAP}}}Header")
        info = etree.SubElement(
            header, self._q("platformMsgs", "documentInfo"), nsmap={"platformMsgs": self._ns["platformMsgs"]}
        )
        self._el(info, "platformMsgs", "nsId", f"WEBSERVICES_{account_id(self.credentials.account)}_fake")
        body = etree.SubElement(root, f"{{{_SOAP}}}Body")
        build(body)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))

    def _fault(self, kind: str, message: str | None = None) -> bytes:
        """A SOAP fault envelope of ``kind`` (one of ``_FAULTS``)."""
        from lxml import etree

        detail_name, code, default = _FAULTS[kind]
        message = message or default
        root = etree.Element(f"{{{_SOAP}}}Envelope", nsmap={"soapenv": _SOAP, "xsi": _XSI, "xsd": _XSD})
        body = etree.SubElement(root, f"{{{_SOAP}}}Body")
        node = etree.SubElement(body, f"{{{_SOAP}}}Fault")
        etree.SubElement(node, "faultcode").text = "soapenv:Server.userException"
        etree.SubElement(node, "faultstring").text = message
        detail = etree.SubElement(node, "detail")
        inner = etree.SubElement(
            detail,
            self._q("platformFaults", detail_name),
            nsmap={"platformFaults": self._ns["platformFaults"]},
        )
        self._el(inner, "platformFaults", "code", code)
        self._el(inner, "platformFaults", "message", message)
        etree.SubElement(detail, "{http://xml.apache.org/axis/}hostname").text = "fake-suitetalk"
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))

    def _response(self, operation: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
        from lxml import etree

        def wrap(fill: Callable[[Any], None]) -> Callable[[Any], None]:
            def build(body: Any) -> None:
                nsmap: Any = {None: self._ns["platformMsgs"], "platformCore": self._ns["platformCore"]}
                node = etree.SubElement(body, self._q("platformMsgs", f"{operation}Response"), nsmap=nsmap)
                fill(node)

            return build

        return wrap

    def _status(self, parent: Any, error: _StatusError | None = None, warning: _SearchWarning | None = None) -> None:
        status = self._el(parent, "platformCore", "status", isSuccess=error is None)
        if error is not None:
            detail = self._el(status, "platformCore", "statusDetail", type="ERROR")
            self._el(detail, "platformCore", "code", error.code)
            self._el(detail, "platformCore", "message", error.message)
        if warning is not None:
            detail = self._el(status, "platformCore", "statusDetail", type="WARN")
            self._el(detail, "platformCore", "code", "WARNING")
            self._el(detail, "platformCore", "message", warning.message)

    def _record(
        self, parent: Any, tag_prefix: str, tag: str, kind: str, data: dict[str, Any], body_only: bool = False
    ) -> None:
        from lxml import etree

        prefix = "listAcct" if kind in _ITEM_SEARCH_TYPE else "tranSales"
        # xsi:type values name prefixes, so the record declares the ones it and its fields use.
        nsmap = {p: self._ns[p] for p in (prefix, "platformCore", "platformCommon", "xsi")}
        record = etree.SubElement(parent, self._q(tag_prefix, tag), nsmap=nsmap)
        for key in ("internalId", "externalId"):
            if data.get(key):
                record.set(key, str(data[key]))
        record.set(f"{{{_XSI}}}type", f"{prefix}:{kind}")
        if kind == "SalesOrder":
            self._sales_order_fields(record, data, body_only)
        elif kind == "ItemFulfillment":
            self._fulfilment_fields(record, data, body_only)
        else:
            self._item_fields(record, data)

    def _fields(self, record: Any, prefix: str, data: Mapping[str, Any], *names: str) -> None:
        """The fields ``names`` of ``data``, in that order."""
        for name in names:
            self._el(record, prefix, name, data[name])

    def _present(self, record: Any, prefix: str, data: Mapping[str, Any], *names: str) -> None:
        """The fields ``names`` that ``data`` has a value for, in that order (an empty one is left out)."""
        self._fields(record, prefix, data, *(name for name in names if data.get(name)))

    def _address(self, parent: Any, name: str, address: dict[str, Any] | None) -> None:
        if not address:
            return
        node = self._el(parent, "tranSales", name)
        self._present(node, "platformCommon", address, *_ADDRESS_FIELDS)

    def _custom_fields(self, parent: Any, prefix: str, values: dict[str, Any]) -> None:
        if not values:
            return
        node = self._el(parent, prefix, "customFieldList")
        for script_id, value in values.items():
            field = self._el(node, "platformCore", "customField", scriptId=script_id)
            kind = (
                "BooleanCustomFieldRef"
                if isinstance(value, bool)
                else "DoubleCustomFieldRef"
                if isinstance(value, Decimal)
                else "StringCustomFieldRef"
            )
            field.set(f"{{{_XSI}}}type", f"platformCore:{kind}")
            self._el(field, "platformCore", "value", value)

    def _totals(self, order: dict[str, Any]) -> dict[str, Decimal]:
        subtotal = sum((line["amount"] for line in order["lines"]), Decimal("0"))
        total = subtotal + order["shippingCost"] + order["taxTotal"] + order["discountTotal"]
        return {"subTotal": subtotal, "total": total}

    def _sales_order_fields(self, record: Any, order: dict[str, Any], body_only: bool) -> None:
        el = self._el
        self._present(record, "tranSales", order, "createdDate")
        self._ref(record, "tranSales", "entity", order["entity"], self.customers.get(order["entity"], ""))
        self._ref(record, "tranSales", "currency", "1", order["currency"])
        self._present(record, "tranSales", order, "tranDate")
        el(record, "tranSales", "tranId", order["tranId"])
        el(record, "tranSales", "orderStatus", order["orderStatus"])
        self._present(record, "tranSales", order, "otherRefNum", "memo", "email")
        self._address(record, "billingAddress", order.get("billingAddress"))
        self._address(record, "shippingAddress", order.get("shippingAddress"))
        ship_id, ship_name = order["shipMethod"]
        self._ref(record, "tranSales", "shipMethod", ship_id, ship_name)
        amounts = {**order, **self._totals(order)}
        names = ("shippingCost", "subTotal", "discountTotal", "taxTotal", "total", "lastModifiedDate")
        self._fields(record, "tranSales", amounts, *names)
        el(record, "tranSales", "status", _STATUS_LABEL.get(order["orderStatus"], ""))
        if not body_only:
            items = el(record, "tranSales", "itemList")
            for line in order["lines"]:
                node = el(items, "tranSales", "item")
                self._ref(node, "tranSales", "item", line["item"], line["itemName"])
                el(node, "tranSales", "quantity", line["quantity"])
                if line["description"]:
                    el(node, "tranSales", "description", line["description"])
                self._ref(node, "tranSales", "price", "1", "Base Price")
                self._fields(
                    node, "tranSales", line, "rate", "amount", "isClosed", "line", "quantityBilled", "quantityFulfilled"
                )
        self._custom_fields(record, "tranSales", order.get("customFields") or {})

    def _fulfilment_fields(self, record: Any, data: dict[str, Any], body_only: bool) -> None:
        el = self._el
        if data.get("createdDate"):
            el(record, "tranSales", "createdDate", data["createdDate"])
            el(record, "tranSales", "lastModifiedDate", data["createdDate"])
        order = self.sales_orders.get(data["createdFrom"], {})
        self._ref(
            record,
            "tranSales",
            "entity",
            order.get("entity"),
            self.customers.get(order.get("entity", ""), ""),
        )
        self._ref(record, "tranSales", "createdFrom", data["createdFrom"], f"Sales Order #{order.get('tranId', '')}")
        self._present(record, "tranSales", data, "shipStatus", "tranId", "memo")
        if not body_only and data.get("packages"):
            list_name = data.get("packageList") or "packageList"
            package_name, number_field, descr_field = PACKAGE_FIELDS[list_name]
            packages = el(record, "tranSales", list_name)
            for number, descr in data["packages"]:
                package = el(packages, "tranSales", package_name)
                if descr and descr_field:
                    el(package, "tranSales", descr_field, descr)
                if number:
                    el(package, "tranSales", number_field, number)
        if not body_only:
            items = el(record, "tranSales", "itemList")
            for line in data["lines"]:
                node = el(items, "tranSales", "item")
                el(node, "tranSales", "itemReceive", line.get("itemReceive", True))
                el(node, "tranSales", "itemName", line["itemName"])
                self._ref(node, "tranSales", "location", line.get("location"))
                el(node, "tranSales", "quantity", line["quantity"])
                if line.get("assignments"):
                    detail = el(node, "tranSales", "inventoryDetail")
                    assignments = el(detail, "platformCommon", "inventoryAssignmentList")
                    for number, amount in line["assignments"]:
                        assignment = el(assignments, "platformCommon", "inventoryAssignment")
                        self._ref(assignment, "platformCommon", "issueInventoryNumber", number)
                        el(assignment, "platformCommon", "quantity", amount)
                self._ref(node, "tranSales", "item", line["item"], line["itemName"])
                el(node, "tranSales", "orderLine", line["orderLine"])
                if "quantityRemaining" in line:
                    el(node, "tranSales", "quantityRemaining", line["quantityRemaining"])

    def _item_fields(self, record: Any, item: dict[str, Any]) -> None:
        el = self._el
        self._fields(record, "listAcct", item, "createdDate", "lastModifiedDate", "itemId", "displayName", "isInactive")
        if item["price"] is not None:
            matrix = el(record, "listAcct", "pricingMatrix")
            pricing = el(matrix, "listAcct", "pricing")
            self._ref(pricing, "listAcct", "currency", "1", "USD")
            self._ref(pricing, "listAcct", "priceLevel", "1", "Base Price")
            prices = el(pricing, "listAcct", "priceList")
            price = el(prices, "listAcct", "price")
            el(price, "listAcct", "value", item["price"])
            el(price, "listAcct", "quantity", "0")
        if item["quantityAvailable"] is not None:
            el(record, "listAcct", "quantityAvailable", item["quantityAvailable"])
        if item["rate"] is not None:
            el(record, "listAcct", "rate", item["rate"])
