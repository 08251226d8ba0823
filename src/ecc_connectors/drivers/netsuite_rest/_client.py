"""The plumbing of the ``netsuite_rest`` driver: SuiteQL requests, error answers, and the record service's reads
and writes, shared by the driver's reads, writes and phone orders.

Theory of operation
-------------------
A SuiteQL ``POST`` (``Prefer: transient``, ``limit`` and ``offset`` in the query string) is a read: it is marked
idempotent so the engine may resend it after a lost answer. A query whose rows do not move (look-ups by fixed
keys) is paged by offset up to SuiteQL's 100,000-row cap (:meth:`_all_rows`); a full answer is followed up
whatever ``hasMore`` says, since a flag that lies must not drop rows, and a ``totalResults`` that contradicts the
answer is not used.

Writes go to the REST record service as JSON with exact numbers (a Decimal is written with its own digits). A
create carries the ``X-NetSuite-Idempotency-Key`` header derived from its external id, so NetSuite itself refuses
a second create with it. Writes are never marked idempotent: the engine never resends one blindly; it runs the
whole flow again, look-up first. An error answer becomes a typed ``StoreError`` with NetSuite's error code
(``AuthenticationError`` on 401).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

from ...driver import AuthenticationError, BrokenAnswer, Driver, Flow, StoreError, mark_idempotent
from . import _suiteql as sql
from ._settings import NetSuiteRestSettings
from ._suiteql import MAX_LIMIT, MAX_OFFSET, SUITEQL_PATH

__all__ = ["RECORD_PATH", "NetSuiteRestClient"]

RECORD_PATH = "/services/rest/record/v1"
_IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"
# What NetSuite answers a create it has seen before: the idempotency key reused, or the external id taken. Either
# way the record exists (or is being made): the flow looks it up instead of failing.
_ALREADY_CREATED = frozenset({"IDEMPOTENCY_ERROR", "DUP_RCRD"})


def _location_id(response: httpx.Response) -> str | None:
    location = response.headers.get("Location", "")
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def _plain(value: Decimal) -> Decimal:
    """A quantity or amount as written to NetSuite: exact, without trailing zeros (``2``, not ``2.000``)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


# Record bodies are JSON with exact numbers: a Decimal is written as a JSON number with its own digits (NetSuite
# reads quantities and rates as numbers, and a float would not keep them).
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class NetSuiteRestClient(Driver):
    """SuiteQL and record-service plumbing of :class:`~ecc_connectors.drivers.netsuite_rest.NetSuiteRestDriver`
    (which sets these attributes when it is made)."""

    settings: NetSuiteRestSettings
    account: str
    store_id: str
    base_url: str
    zone: ZoneInfo

    # plumbing ----------------------------------------------------------------------------------------------
    def _error(self, response: httpx.Response, order_id: str | None = None, what: str = "") -> StoreError:
        code, detail = None, ""
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            details = body.get("o:errorDetails")
            if isinstance(details, list) and details and isinstance(details[0], Mapping):
                code = details[0].get("o:errorCode")
                detail = str(details[0].get("detail") or "")
            detail = detail or str(body.get("title") or "")
        status = response.status_code
        text = f"NetSuite {what or 'request'} failed (HTTP {status}{', ' + str(code) if code else ''}): {detail}"
        if status == 401:
            raise AuthenticationError(f"NetSuite refused the credentials (HTTP 401, {code or 'no code'})")
        return StoreError(
            text, code=str(code) if code else None, http_status=status, store=self.store_id, order_id=order_id
        )

    def _decode(self, response: httpx.Response, what: str) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise BrokenAnswer(
                f"NetSuite answered {what} with a body that is not JSON", code="NOT_JSON", store=self.store_id
            ) from None

    def _query(self, text: str, limit: int, offset: int = 0) -> Flow[dict[str, Any]]:
        """One SuiteQL page; a read, so it may be sent again after a lost answer."""
        request = httpx.Request(
            "POST",
            f"{self.base_url}{SUITEQL_PATH}",
            params={"limit": str(limit), "offset": str(offset)},
            json={"q": text},
            headers={"Prefer": "transient", "Accept": "application/json"},
        )
        response = yield mark_idempotent(request)
        if response.status_code != 200:
            raise self._error(response, what="SuiteQL query")
        body = self._decode(response, "a SuiteQL query")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BrokenAnswer("NetSuite answered a SuiteQL query without items", code="NO_ITEMS", store=self.store_id)
        for row in body["items"]:
            if not isinstance(row, dict):
                raise BrokenAnswer("a SuiteQL row that is not an object", code="BAD_ROW", store=self.store_id)
        return body

    def _all_rows(self, text: str) -> Flow[list[dict[str, Any]]]:
        """Every row of a query whose rows do not move (look-ups by fixed keys), paged by offset."""
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = yield from self._query(text, MAX_LIMIT, offset)
            rows += body["items"]
            # A full answer is followed up whatever hasMore says: a flag that lies must not drop rows.
            full = len(body["items"]) >= MAX_LIMIT
            if not body["items"] or not (full or body.get("hasMore")) or offset + MAX_LIMIT >= MAX_OFFSET:
                return rows
            offset += MAX_LIMIT

    def _total(self, body: Mapping[str, Any], offset: int = 0) -> int | None:
        """``totalResults`` when it can be true: at least the rows sent, and agreeing with ``hasMore``. A total too
        small would end a keyset slice early, so one that contradicts the answer is not used (``None``)."""
        total = body.get("totalResults")
        if not isinstance(total, int) or isinstance(total, bool):
            return None
        shown = offset + len(body["items"])
        if total < shown or (body.get("hasMore") is True and total <= shown):
            return None
        return total

    # record service ----------------------------------------------------------------------------------------
    def _record_url(self, path: str) -> str:
        return f"{self.base_url}{RECORD_PATH}{path}"

    def _sales_order(self, order_id: str) -> Flow[dict[str, Any]]:
        """The sales order as the record service has it (a read: what a write needs to decide)."""
        request = httpx.Request(
            "GET", self._record_url(f"/salesOrder/{int(order_id)}"), params={"expandSubResources": "true"}
        )
        response = yield request
        if response.status_code != 200:
            raise self._error(response, order_id, "read sales order")
        body = self._decode(response, "a sales order read")
        if not isinstance(body, dict):
            raise BrokenAnswer("a sales order that is not an object", code="BAD_RECORD", store=self.store_id)
        return body

    def _write(
        self, method: str, path: str, body: Mapping[str, Any], order_id: str | None, what: str, key: str | None = None
    ) -> Flow[httpx.Response]:
        headers = {"Accept": "application/json"}
        if key is not None:
            headers[_IDEMPOTENCY_HEADER] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.store_id}/{key}"))
        headers["Content-Type"] = "application/json"
        request = httpx.Request(method, self._record_url(path), content=_ENCODER.encode(dict(body)), headers=headers)
        response = yield mark_idempotent(request, False)
        if response.status_code not in (200, 201, 204):
            raise self._error(response, order_id, what)
        return response

    def _find(self, record_type: str, external_id: str) -> Flow[dict[str, Any] | None]:
        body = yield from self._query(sql.by_external_id(record_type, external_id), 1)
        return body["items"][0] if body["items"] else None

    @staticmethod
    def _lines(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        sublist = record.get("item")
        items = sublist.get("items") if isinstance(sublist, Mapping) else None
        return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []

    @staticmethod
    def _letter(record: Mapping[str, Any]) -> str:
        status = record.get("orderStatus")
        return str(status.get("id") if isinstance(status, Mapping) else status or "")
