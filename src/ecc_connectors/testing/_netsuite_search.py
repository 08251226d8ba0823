"""Searches of :class:`~ecc_connectors.testing.FakeSuiteTalk`: ``search`` and ``searchMoreWithId`` (every page
runs the search again on the current data, as NetSuite does)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ._netsuite_soap import (
    _ITEM_SEARCH_TYPE,
    _SOAP,
    _XSI,
    SoapWriter,
    _child,
    _children,
    _local,
    _parse_dt,
    _SearchWarning,
    _SoapError,
    _StatusError,
    _value,
    account_id,
    sales_order_search_statuses,
)


class SearchOperations(SoapWriter):
    """The search operations and the matching of search criteria."""

    search_order: str
    search_ttl: float
    max_page_size: int
    _search_clock: Callable[[], float]
    _searches: dict[str, dict[str, Any]]
    _empty_pages: dict[int, int]

    def _criteria(self, search_record: Any) -> dict[str, Any]:
        kind = (search_record.get(f"{{{_XSI}}}type") or "").rsplit(":", 1)[-1]
        criteria: dict[str, Any] = {"_kind": kind}
        for child in search_record:
            name = _local(child)
            if not name:
                continue
            values = _children(child, "searchValue")
            criteria[name] = {
                "operator": child.get("operator"),
                "values": [v.get("internalId") if v.get("internalId") is not None else (v.text or "") for v in values],
                "value2": _value(child, "searchValue2"),
            }
        return criteria

    @staticmethod
    def _date_match(value: datetime, rule: dict[str, Any]) -> bool:
        first = _parse_dt(rule["values"][0]) if rule["values"] else None
        op = rule["operator"]
        if first is None:
            return True
        if op == "within":
            second = _parse_dt(rule["value2"]) if rule["value2"] else first
            return first <= value <= second
        if op == "onOrAfter":
            return value >= first
        if op == "after":
            return value > first
        if op == "onOrBefore":
            return value <= first
        if op == "before":
            return value < first
        return value == first

    @staticmethod
    def _string_match(value: str, rule: dict[str, Any]) -> bool:
        wanted = str((rule["values"] or [""])[0]).lower()
        value = value.lower()
        op = rule["operator"] or "is"
        if op == "contains":
            return wanted in value
        if op == "startsWith":
            return value.startswith(wanted)
        return value == wanted

    @staticmethod
    def _long_match(value: int, rule: dict[str, Any]) -> bool:
        """SearchLongField operators; ``between`` includes both ends."""
        values = [int(v) for v in rule["values"] if v not in ("", None)]
        if not values:
            return True
        first, op = values[0], rule["operator"] or "equalTo"
        second = int(rule["value2"]) if rule["value2"] not in ("", None) else first
        checks: dict[str, Callable[[], bool]] = {
            "equalTo": lambda: value == first,
            "notEqualTo": lambda: value != first,
            "greaterThan": lambda: value > first,
            "greaterThanOrEqualTo": lambda: value >= first,
            "lessThan": lambda: value < first,
            "lessThanOrEqualTo": lambda: value <= first,
            "between": lambda: first <= value <= second,
            "notBetween": lambda: not first <= value <= second,
        }
        if op not in checks:
            raise _SoapError("unexpected", f"operator {op!r} is not served by this fake")
        return checks[op]()

    def _sort_key(self, pair: tuple[str, dict[str, Any]]) -> Any:
        data = pair[1]
        order = self.search_order
        if order == "internalId":
            return int(data["internalId"])
        if order == "reverse":
            return -int(data["internalId"])
        if order in ("lastModifiedDate", "tranDate", "createdDate"):
            stamp = data.get(order) or data.get("createdDate") or datetime.min.replace(tzinfo=timezone.utc)
            return (stamp, int(data["internalId"]))
        raise ValueError(f"unknown search_order {order!r}")

    def _matches(self, criteria: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        kind = criteria["_kind"]
        found: list[tuple[str, dict[str, Any]]] = []
        status = criteria.get("status")
        for value in (status or {}).get("values") or []:
            if value not in sales_order_search_statuses():
                # What NetSuite does since 2008.2 with an enumeration value it does not know: no rows, a warning.
                raise _SearchWarning(f"The field status's enum value <{value}> is invalid for this search.")
        ids = criteria.get("internalIdNumber")
        if kind == "TransactionSearchBasic":
            types = set(criteria.get("type", {}).get("values") or ["_salesOrder", "_itemFulfillment"])
            if "_salesOrder" in types:
                for order in self.sales_orders.values():
                    if self._order_matches(order, criteria):
                        found.append(("SalesOrder", order))
            if "_itemFulfillment" in types:
                for fulfilment in self.fulfilments.values():
                    created_from = criteria.get("createdFrom")
                    if created_from and fulfilment["createdFrom"] not in created_from["values"]:
                        continue
                    found.append(("ItemFulfillment", fulfilment))
        elif kind == "ItemSearchBasic":
            types = set(criteria.get("type", {}).get("values") or [])
            for item in self.items.values():
                if types and _ITEM_SEARCH_TYPE[item["kind"]] not in types:
                    continue
                inactive = criteria.get("isInactive")
                if inactive and inactive["values"] and (inactive["values"][0] == "true") != item["isInactive"]:
                    continue
                if "itemId" in criteria and not self._string_match(item["itemId"], criteria["itemId"]):
                    continue
                if "displayName" in criteria and not self._string_match(item["displayName"], criteria["displayName"]):
                    continue
                found.append((item["kind"], item))
        else:
            raise _SoapError("unexpected", f"search record {kind!r} is not served by this fake")
        if ids:
            found = [pair for pair in found if self._long_match(int(pair[1]["internalId"]), ids)]
        found.sort(key=self._sort_key)
        return found

    def _order_matches(self, order: dict[str, Any], criteria: dict[str, Any]) -> bool:
        status = criteria.get("status")
        if status and status["values"]:
            codes = {sales_order_search_statuses().get(v, "") for v in status["values"]}
            if order["orderStatus"] not in codes:
                return False
        if "lastModifiedDate" in criteria and not self._date_match(
            order["lastModifiedDate"], criteria["lastModifiedDate"]
        ):
            return False
        if "tranDate" in criteria and not self._date_match(order["tranDate"], criteria["tranDate"]):
            return False
        if "dateCreated" in criteria and not self._date_match(order["createdDate"], criteria["dateCreated"]):
            return False
        return "tranId" not in criteria or self._string_match(order["tranId"], criteria["tranId"])

    def listing_request(self) -> Any:  # pragma: no cover - FakeStore's own
        raise NotImplementedError

    def _count_listing(self, criteria: dict[str, Any]) -> None:
        """A search that lists sales orders is a listing request (``on_listing``, ``schedule``): the store
        changes set for it happen before its rows are computed."""
        types = criteria.get("type", {}).get("values") or ["_salesOrder"]
        listing = criteria["_kind"] == "TransactionSearchBasic" and "_salesOrder" in types
        if listing and self.listing_request() is not None:
            raise _SoapError("unexpected", "A store change scheduled by the test failed.")

    def _search_page(self, search_id: str, page_index: int) -> Callable[[Any], None]:
        search = self._searches[search_id]
        self._count_listing(search["criteria"])
        search["last_used"] = self._search_clock()
        warning: _SearchWarning | None = None
        try:
            found = self._matches(search["criteria"])  # every page runs the search again, as NetSuite does
        except _SearchWarning as exc:
            found, warning = [], exc
        size = search["page_size"]
        total_pages = max(1, math.ceil(len(found) / size)) if found else 0
        page = found[(page_index - 1) * size : page_index * size]
        if self._empty_pages.get(page_index):
            self._empty_pages[page_index] -= 1
            page = []
        body_only = search["body_only"]

        def fill(node: Any) -> None:
            result = self._el(node, "platformCore", "searchResult")
            self._status(result, warning=warning)
            self._el(result, "platformCore", "totalRecords", len(found))
            self._el(result, "platformCore", "pageSize", size)
            self._el(result, "platformCore", "totalPages", total_pages)
            self._el(result, "platformCore", "pageIndex", page_index)
            self._el(result, "platformCore", "searchId", search_id)
            records = self._el(result, "platformCore", "recordList")
            for kind, data in page:
                self._record(records, "platformCore", "record", kind, data, body_only)

        return fill

    def _search_preferences(self, root: Any) -> tuple[int, bool]:
        header = root.find(f"{{{_SOAP}}}Header")
        prefs = _child(header, "searchPreferences") if header is not None else None
        size = int(_value(prefs, "pageSize") or 1000) if prefs is not None else 1000
        body_only = (_value(prefs, "bodyFieldsOnly") or "true") == "true" if prefs is not None else True
        if not 5 <= size <= 1000:
            raise _SoapError("unexpected", f"pageSize must be between 5 and 1000, got {size}")
        return min(size, self.max_page_size), body_only

    def _op_search(self, element: Any, root: Any) -> Callable[[Any], None]:
        size, body_only = self._search_preferences(root)
        criteria = self._criteria(_child(element, "searchRecord"))
        search_id = f"WEBSERVICES_{account_id(self.credentials.account)}_{self._next_id()}"
        self._searches[search_id] = {
            "criteria": criteria,
            "page_size": size,
            "body_only": body_only,
            "last_used": self._search_clock(),
        }
        return self._response("search")(self._search_page(search_id, 1))

    def _op_search_more(self, element: Any, root: Any) -> Callable[[Any], None]:
        search_id = _value(element, "searchId") or ""
        page_index = int(_value(element, "pageIndex") or 1)
        search = self._searches.get(search_id)
        if search is None or self._search_clock() - search["last_used"] > self.search_ttl:
            self._searches.pop(search_id, None)
            error = _StatusError("INVALID_JOB_ID", f"The search id {search_id} is invalid or has expired.")

            def fill_expired(node: Any) -> None:
                result = self._el(node, "platformCore", "searchResult")
                self._status(result, error)

            return self._response("searchMoreWithId")(fill_expired)
        return self._response("searchMoreWithId")(self._search_page(search_id, page_index))
