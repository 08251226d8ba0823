"""Talking to BigCommerce's REST APIs (orders v2, catalog v3): the requests a flow yields, how answers are read.

:class:`BigCommerceRest` is the base every group of the driver's flows builds on (listing, one order, post-back,
phone orders). It is the kit's :class:`~ecc_connectors.driver.JsonRest` with BigCommerce's two error shapes: v2
answers a list (``[{"status": 400, "message": "..."}]``), v3 an object with ``title``. A v2 list answered with
``204`` or an empty body is an empty list (v2 answers an empty listing so). Bodies are written with amounts as
JSON numbers exactly as their ``Decimal`` reads (the spec types them ``number``).

Every page and order read asks ``INCLUDE`` (each order's consignments with their line items), so an order
costs no sub-resource request unless something shipped (see ``_pieces``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import msgspec

from ...driver import BrokenAnswer, Driver, Flow, JsonRest, OrderKey
from ._mapping import parse_time

__all__ = ["INCLUDE", "PAGE_LIMIT", "SUB_LIMIT", "BigCommerceRest"]

PAGE_LIMIT = 250
"""``limit`` at most 250 on v2 listings (BigCommerce's documented maximum)."""
SUB_LIMIT = 250
INCLUDE = {"include": "consignments.line_items", "consignment_structure": "object"}
"""Asked with every page and order read: each order's consignments with their line items (the shipping
addresses and ``/products`` rows), so an order costs no sub-resource request unless something shipped."""
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class BigCommerceRest(JsonRest, Driver):
    """Requests to ``<base_url>/stores/{store_hash}/v2|v3/...`` and the reading of their answers (see the
    module notes)."""

    api_root: str
    store_id: str
    page_size: int

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """v2 errors are a list (``[{"status": 400, "message": "..."}]``); v3 errors an object with ``title``."""
        try:
            body = self.decode(response)
        except BrokenAnswer:
            body = None
        if isinstance(body, list) and body and isinstance(body[0], Mapping):
            first = body[0]
            message = str(first.get("message") or first.get("details") or "")
            if message:
                return message, str(first.get("status")) if first.get("status") is not None else None
        return super().error_message(response)

    # -- requests -------------------------------------------------------------------------------------------

    def _v2(self, path: str) -> str:
        return f"{self.api_root}/v2{path}"

    def _v3(self, path: str) -> str:
        return f"{self.api_root}/v3{path}"

    def _get(self, url: str, params: Mapping[str, str] | None = None) -> httpx.Request:
        return httpx.Request("GET", url, params=dict(params or {}), headers={"Accept": "application/json"})

    def _json(self, method: str, url: str, body: Any) -> httpx.Request:
        # Amounts are written as JSON numbers exactly as their Decimal reads (the spec types them ``number``).
        return httpx.Request(
            method,
            url,
            content=_ENCODER.encode(body),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )

    def _list(self, response: httpx.Response, what: str, order_id: str | None = None) -> list[Any]:
        """A v2 list answer: ``204`` or an empty body is an empty list (v2 answers an empty listing so)."""
        if response.is_success and (response.status_code == 204 or not response.content.strip()):
            return []
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer(f"{what} answered without a list", store=self.store_id, order_id=order_id)
        return body

    def _object(self, response: httpx.Response, what: str, order_id: str | None = None) -> dict[str, Any]:
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer(f"{what} answered without an object", store=self.store_id, order_id=order_id)
        return dict(body)

    def _orders(self, params: Mapping[str, str]) -> Flow[list[dict[str, Any]]]:
        response = yield self._get(self._v2("/orders"), params)
        rows = self._list(response, "the order listing")
        for row in rows:
            if not isinstance(row, Mapping):
                raise BrokenAnswer("the order listing holds a row that is not an object", store=self.store_id)
        return [dict(row) for row in rows]

    def _key(self, row: Mapping[str, Any]) -> OrderKey:
        try:
            return OrderKey(parse_time(row.get("date_modified"), "date_modified"), int(row["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BrokenAnswer(
                f"an order row without a readable id/date_modified: {exc}", store=self.store_id
            ) from None
