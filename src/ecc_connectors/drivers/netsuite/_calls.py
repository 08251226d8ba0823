"""One SuiteTalk call as a flow: the base every part of the NetSuite driver builds on.

:class:`SoapCalls` holds what the parts share (settings, store id, the zeep side) and turns an operation into a
request and its reply into the body or the typed error it stands for: searches with their preferences, ``get`` of
one record (or ``None`` when NetSuite has none), ``add``/``update`` with their write status. Reads are marked
idempotent, so the engine may send them again after a fault; writes are not (each write path checks the store
before it writes again). Reading one sales order into the model also lives here, because reads, post-backs and
phone orders all end with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from ...driver import Flow, Order, PayloadError, StoreError
from ._countries import UnknownCountry
from ._mapping import field, jsonable, order_from_record
from ._settings import NetSuiteSettings
from ._soap import SoapClient, raise_for_status, status_codes, status_details

__all__ = ["SoapCalls"]

# What a get answers for a record that does not exist (by internalId or by externalId).
_NOT_FOUND = frozenset({"RCRD_DSNT_EXIST", "INVALID_KEY_OR_REF"})


def int_id(record: Any) -> int | None:
    """A record's internal id as a number (``None`` when it has none that reads as one)."""
    try:
        return int(str(field(record, "internalId", "")))
    except ValueError:
        return None


def raw_of(record: Any) -> Any:
    """The record as JSON-safe data for a :class:`PayloadError`, as far as it can be converted."""
    try:
        return jsonable(record)
    except Exception:  # the record is already broken; keep what can be kept
        return str(record)


def plain(value: Decimal) -> Decimal:
    """``2.0`` and ``2`` written the same way (``2``), whichever WSDL parsed the number."""
    return Decimal(format(value.normalize(), "f"))


class SoapCalls:
    """The calls every part of the driver makes (set up by ``NetSuiteDriver.__init__``)."""

    name: ClassVar[str]
    settings: NetSuiteSettings
    store_id: str
    _soap: SoapClient

    def _call(
        self,
        operation: str,
        body: dict[str, Any],
        *,
        search: bool = False,
        page_size: int | None = None,
        idempotent: bool = False,
    ) -> Flow[Any]:
        prefs = None
        if search:
            prefs = {
                "bodyFieldsOnly": False,
                "returnSearchColumns": False,
                "pageSize": page_size or self.settings.page_size,
            }
        request = self._soap.request(operation, body, search_preferences=prefs, idempotent=idempotent)
        response = yield request
        # Every idempotent call is a read: an answer that cannot be read is a BrokenAnswer, asked again.
        return self._soap.reply(operation, response, read=idempotent)

    def _search(self, record: Any, page_size: int | None = None) -> Flow[Any]:
        body = yield from self._call(
            "search", {"searchRecord": record}, search=True, page_size=page_size, idempotent=True
        )
        result = body.searchResult
        raise_for_status(result.status, what="search")
        warnings = [d for d in status_details(result.status) if getattr(d, "type", None) == "WARN"]
        if warnings and not int(result.totalRecords or 0):
            # NetSuite answers a criterion it does not understand (an enumeration value it does not know) with
            # no rows and a warning: that is not "no orders", it is a search that did not run as asked.
            text = "; ".join(str(getattr(w, "message", "") or getattr(w, "code", "")) for w in warnings)
            raise StoreError(
                f"NetSuite search: {text}",
                code=str(getattr(warnings[0], "code", "") or "WARNING"),
                store=self.store_id,
            )
        return result

    def _record(self, ref: dict[str, Any], what: str, order_id: str | None = None) -> Flow[Any]:
        body = yield from self._call("get", {"baseRef": self._soap.type("core", "RecordRef")(**ref)}, idempotent=True)
        response = body.readResponse
        raise_for_status(response.status, order_id=order_id, what=what)
        return response.record

    def _find_record(self, ref: dict[str, Any], what: str) -> Flow[Any | None]:
        """The record ``ref`` names, or ``None`` when NetSuite has none."""
        body = yield from self._call("get", {"baseRef": self._soap.type("core", "RecordRef")(**ref)}, idempotent=True)
        response = body.readResponse
        if response.status.isSuccess is False and status_codes(response.status) & _NOT_FOUND:
            return None
        raise_for_status(response.status, what=what)
        return response.record

    def _write(self, operation: str, record: Any, order_id: str | None, what: str) -> Flow[str]:
        body = yield from self._call(operation, {"record": record})
        response = body.writeResponse
        raise_for_status(response.status, order_id=order_id, what=what)
        return str(field(response.baseRef, "internalId", ""))

    def _sales_order(self, **fields: Any) -> Any:
        return self._soap.type("sales", "SalesOrder")(**fields)

    def _order(self, record: Any) -> Order:
        """The model's order for a sales order record; a country NetSuite's enumeration does not have is a
        :class:`PayloadError` naming the order and the address field."""
        try:
            return order_from_record(record, self.store_id, self.settings.currency)
        except UnknownCountry as exc:
            order_id = str(field(record, "internalId", "") or "") or None
            raise PayloadError(self.store_id, order_id, exc.field, str(exc), raw=raw_of(record)) from None

    def get_order(self, order_id: str) -> Flow[Order]:
        record = yield from self._record({"internalId": order_id, "type": "salesOrder"}, "get", order_id)
        return self._order(record)
