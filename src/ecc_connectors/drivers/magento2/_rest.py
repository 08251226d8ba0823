"""Talking to Magento's REST API: the requests a flow yields and how each kind of answer is read.

:class:`MagentoRest` is the base every group of the driver's flows builds on (listing, post-back, phone orders).
It is the kit's :class:`~ecc_connectors.driver.JsonRest` with Magento's own error reading: Magento's error body
is ``{message, parameters}`` with ``%1`` / ``%name`` placeholders, and a refused status change is told by its
message, not its code (``check``, from ``_errors``). Reads and writes differ on a 2xx body that cannot be read:

* a read answers :class:`BrokenAnswer` (the engine asks again, as for a 5xx), with the body's size and first
  bytes in ``detail``;
* a write answers a plain :class:`StoreError`: asking again could do the work twice, so the engine runs the
  whole flow again instead, whose check reads the store first.

Also here: Magento's ids, which the flows take from the caller (``entity_id``, never the zero-padded
``increment_id``) and from the store's answers (an integer in the schema, a JSON string from real stores).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from ...driver import BrokenAnswer, Driver, JsonRest, PayloadError, StoreError
from ._errors import BadEnvelope, Envelope, decode_bytes, raise_for_store_error, read_envelope

__all__ = ["MagentoRest", "entity_id", "scalar_id"]


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Only quantities are ever sent; Magento reads them as PHP floats anyway.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def entity_id(value: str, what: str = "order id") -> int:
    """Magento's entity ids are integers. A zero-padded number is an increment id, which would silently name
    another order if read as an integer, so it is refused."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text.startswith("0")):
        raise ValueError(
            f"Magento {what} must be the numeric entity_id, got {value!r}"
            " (an increment_id such as '000000013' is the order number, not its id)"
        )
    return int(text)


def scalar_id(value: Any, what: str, store: str) -> str:
    """Ids Magento answers with: the schema says integer, real stores send a JSON string such as ``"3"``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise PayloadError(store, None, what, f"expected an id, got {value!r}", raw=value)
    return str(value).strip()


class MagentoRest(JsonRest, Driver):
    """Requests to ``<root>/V1/...`` and the reading of their answers (see the module notes)."""

    root: str
    store_id: str
    page_size: int

    def url(self, path: str) -> str:
        return f"{self.root}{path}"

    def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> httpx.Request:
        query = tuple(params or ())
        return httpx.Request("GET", self.url(path), params=query, headers={"Accept": "application/json"})

    def _send_json(self, method: str, path: str, body: Any = None) -> httpx.Request:
        headers = {"Accept": "application/json"}
        content = b""
        if body is not None:
            content = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return httpx.Request(method, self.url(path), content=content, headers=headers)

    # JsonRest, the Magento way -------------------------------------------------------------------------
    def check(self, response: httpx.Response, order_id: str | None = None) -> None:
        """Raise for a non-2xx answer: 401 is ``AuthenticationError``, a status outside the order's state
        ``StatusNotAllowed``, anything else ``StoreError``, with Magento's message filled in."""
        raise_for_store_error(response, self.store_id, order_id)

    def decode(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The body as JSON with exact decimals; a body that cannot be read is :class:`BrokenAnswer`."""
        try:
            return decode_bytes(response.content)
        except ValueError as exc:
            raise self._broken(response, f"a body that is not JSON ({exc})", order_id) from None

    # Answers -------------------------------------------------------------------------------------------
    def _broken(self, response: httpx.Response, problem: str, order_id: str | None = None) -> BrokenAnswer:
        content = response.content
        return BrokenAnswer(
            f"store answered HTTP {response.status_code} to a read with {problem}",
            http_status=response.status_code,
            store=self.store_id,
            order_id=order_id,
            detail={"bytes": len(content), "start": content[:120].decode("utf-8", "replace")},
        )

    def _answer(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The JSON answer to a write (a body that is not JSON is a :class:`StoreError`, never retried)."""
        self.check(response, order_id)
        try:
            return decode_bytes(response.content)
        except ValueError:
            raise StoreError(
                f"store answered HTTP {response.status_code} with a body that is not JSON",
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            ) from None

    def _read(self, response: httpx.Response, order_id: str | None = None) -> Any:
        """The JSON answer to a read; a 2xx body that cannot be read is :class:`BrokenAnswer`."""
        self.check(response, order_id)
        return self.decode(response, order_id)

    def _read_object(self, response: httpx.Response, order_id: str | None = None) -> Mapping[str, Any]:
        body = self._read(response, order_id)
        if not isinstance(body, Mapping):
            raise self._broken(response, f"{type(body).__name__} where an object was expected", order_id)
        return body

    def _read_envelope(self, response: httpx.Response, order_id: str | None = None) -> Envelope:
        """A search answer ``{items, total_count}``; anything else is :class:`BrokenAnswer`."""
        self.check(response, order_id)
        try:
            return read_envelope(response.content)
        except BadEnvelope as exc:
            raise self._broken(response, f"no search answer: {exc}", order_id) from None

    def _read_records(self, response: httpx.Response, order_id: str | None = None) -> list[Mapping[str, Any]]:
        """The items of a search answer (shipments, invoices), decoded."""
        envelope = self._read_envelope(response, order_id)
        records = []
        for item in envelope.items:
            try:
                record = decode_bytes(item)
            except ValueError as exc:
                raise self._broken(response, f"an item that cannot be read ({exc})", order_id) from None
            if isinstance(record, Mapping):
                records.append(record)
        return records
