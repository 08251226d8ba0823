"""The fake NetSuite REST endpoint's SuiteQL: ``POST /services/rest/query/v1/suiteql`` over tables computed from
the fake's records.

Theory of operation
-------------------
The query runs through ``_netsuite_rest_sql`` over tables computed from the records at each request
(``transaction``, ``transactionline`` with its main and tax lines and negative quantities and amounts, the
address tables, ``item``, ``pricing``, ``inventoryitemlocations``), in the session time zone (``time_zone``),
paged by ``limit`` (1..1000) and ``offset``, refused without ``Prefer: transient``. A table's columns are the
schema's record fields plus the analytics columns Oracle's Records Catalog lists, so a column the driver invents
is refused. Every query over ``transaction`` is a listing request for the base's ``on_listing`` / ``schedule``
hooks. Two hostile knobs make answers lie: ``understate_totals`` and ``deny_more``.
"""

from __future__ import annotations

import re
from typing import Any

from ._base_http import Answer, HttpError, ReceivedRequest
from ._netsuite_rest_data import NetSuiteRestData
from ._netsuite_rest_sql import SqlError, Table, run_query
from ._netsuite_rest_xsd import (
    ADDRESS_FIELDS,
    SALES_ORDER_FIELDS,
    SALES_ORDER_ITEM_FIELDS,
)

__all__ = ["NetSuiteRestSuiteQL"]

# SuiteQL analytics columns that are not record field names in the schema (Oracle's Records Catalog).
_TRANSACTION_EXTRA = {"id", "type", "externalid", "foreigntotal", "shippingaddress", "billingaddress"}
_LINE_EXTRA = {
    "transaction",
    "id",
    "linesequencenumber",
    "mainline",
    "taxline",
    "foreignamount",
    "quantityshiprecv",
    "memo",
    "itemtype",
}


class NetSuiteRestSuiteQL(NetSuiteRestData):
    """The SuiteQL service of :class:`~ecc_connectors.testing.netsuite_rest.FakeNetSuiteRest`."""

    understate_totals: int
    deny_more: bool

    def _tables(self) -> dict[str, Table]:
        transactions: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        shipping: list[dict[str, Any]] = []
        billing: list[dict[str, Any]] = []
        for order in self.sales_orders.values():
            oid = int(order["id"])
            transactions.append(
                {
                    "id": oid,
                    "tranid": order["tranId"],
                    "type": "SalesOrd",
                    "status": order["orderStatus"],
                    "createddate": order["createdDate"],
                    "lastmodifieddate": order["lastModifiedDate"],
                    "currency": int(order["currency"]),
                    "entity": int(order["entity"]),
                    "email": order.get("email"),
                    "memo": order.get("memo") or None,
                    "otherrefnum": order.get("otherRefNum"),
                    "externalid": order.get("externalId"),
                    "foreigntotal": order["total"],
                    "taxtotal": order["taxTotal"],
                    "shippingcost": order["shippingCost"],
                    "discounttotal": order["discountTotal"],
                    "shipmethod": int(order["shipMethod"]) if order.get("shipMethod") else None,
                    "shippingaddress": order["shippingAddress"]["nkey"],
                    "billingaddress": order["billingAddress"]["nkey"],
                }
            )
            lines.append(
                {
                    "transaction": oid,
                    "id": 0,
                    "linesequencenumber": 0,
                    "mainline": "T",
                    "taxline": "F",
                    "foreignamount": order["total"],
                }
            )
            for item in order["item"]:
                lines.append(
                    {
                        "transaction": oid,
                        "id": item["line"],
                        "linesequencenumber": item["line"],
                        "mainline": "F",
                        "taxline": "F",
                        "item": int(item["item"]),
                        "memo": item.get("description"),
                        "quantity": -item["quantity"],
                        "rate": item["rate"],
                        "foreignamount": -item["amount"],
                        "quantityshiprecv": item["quantityFulfilled"],
                        "isclosed": "T" if item["isClosed"] else "F",
                        "itemtype": self.items[item["item"]]["itemtype"],
                    }
                )
            if order["taxTotal"]:
                lines.append(
                    {
                        "transaction": oid,
                        "id": 9999,
                        "linesequencenumber": 9999,
                        "mainline": "F",
                        "taxline": "T",
                        "foreignamount": -order["taxTotal"],
                    }
                )
            for table, address in ((shipping, order["shippingAddress"]), (billing, order["billingAddress"])):
                table.append({k.lower(): v for k, v in address.items()})
        for fulfilment in self.fulfilments.values():
            transactions.append(
                {
                    "id": int(fulfilment["id"]),
                    "tranid": f"IF{fulfilment['id']}",
                    "type": "ItemShip",
                    "status": fulfilment["shipStatus"],
                    "createddate": fulfilment["createdDate"],
                    "lastmodifieddate": fulfilment["createdDate"],
                    "memo": fulfilment.get("memo") or None,
                    "externalid": fulfilment.get("externalId"),
                    "entity": int(self.sales_orders[fulfilment["createdFrom"]]["entity"]),
                }
            )
        address_columns = {f.lower() for f in ADDRESS_FIELDS} | {"nkey"}
        item_rows = [{k: v for k, v in i.items() if k not in ("prices", "stock")} for i in self.items.values()]
        prices = [
            {"item": int(i["id"]), "pricelevel": level, "priceqty": qty, "unitprice": price, "currency": 1}
            for i in self.items.values()
            for level, qty, price in i["prices"]
        ]
        stock = [
            {"item": int(i["id"]), "location": int(loc), "quantityavailable": qty}
            for i in self.items.values()
            for loc, qty in i["stock"].items()
        ]
        return {
            "transaction": Table(
                "transaction",
                frozenset({f.lower() for f in SALES_ORDER_FIELDS} | _TRANSACTION_EXTRA),
                transactions,
                {
                    "currency": lambda v: self.currencies.get(str(v)),
                    "entity": lambda v: self.customers.get(str(v)),
                    "shipmethod": lambda v: self.ship_methods.get(str(v)),
                },
            ),
            "transactionline": Table(
                "transactionline",
                frozenset({f.lower() for f in SALES_ORDER_ITEM_FIELDS} | _LINE_EXTRA),
                lines,
                {"item": lambda v: self.items[str(v)]["itemid"]},
            ),
            "transactionshippingaddress": Table("transactionshippingaddress", frozenset(address_columns), shipping),
            "transactionbillingaddress": Table("transactionbillingaddress", frozenset(address_columns), billing),
            "item": Table("item", frozenset({"id", "itemid", "displayname", "itemtype", "isinactive"}), item_rows),
            "pricing": Table("pricing", frozenset({"item", "pricelevel", "priceqty", "unitprice", "currency"}), prices),
            "inventoryitemlocations": Table(
                "inventoryitemlocations", frozenset({"item", "location", "quantityavailable"}), stock
            ),
        }

    def _suiteql(self, request: ReceivedRequest) -> Answer:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("prefer", "").lower() != "transient":
            raise HttpError(400, "The request header 'Prefer: transient' is required for SuiteQL.", "INVALID_HEADER")
        try:
            limit = int(request.param("limit") or "1000")
            offset = int(request.param("offset") or "0")
        except ValueError:
            raise HttpError(400, "limit and offset must be numbers.", "INVALID_PARAMETER") from None
        if not 1 <= limit <= 1000 or offset < 0 or offset % limit or offset + limit > 100_000:
            raise HttpError(400, "Invalid limit or offset.", "INVALID_PARAMETER")
        body = request.json() if request.body else None
        text = body.get("q") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise HttpError(400, 'The request body must be {"q": "<SuiteQL>"}.', "INVALID_PARAMETER")
        with self.lock:
            if re.search(r"\bfrom\s+transaction\b", text, re.IGNORECASE):
                failed = self.listing_request()
                if failed is not None:
                    return failed
            try:
                rows = run_query(text, self._tables(), self.zone)
            except SqlError as error:
                raise HttpError(400, str(error), "INVALID_PARAMETER") from None
        page = rows[offset : offset + limit]
        answer = {
            "links": [],
            "count": len(page),
            "hasMore": offset + limit < len(rows) and not self.deny_more,
            "items": [{"links": [], **row} for row in page],
            "offset": offset,
            "totalResults": max(0, len(rows) - self.understate_totals),
        }
        return self.json_answer(answer)
