"""Talking to WooCommerce's REST API ``wc/v3``: the requests a flow yields and how each kind of answer is read.

:class:`WooRest` is the base every group of the driver's flows builds on (listing, post-back, phone orders). It
is the kit's :class:`~ecc_connectors.driver.JsonRest` with WooCommerce's own error body
``{code, message, data: {status}}``: a refused key (401/403) is :class:`AuthenticationError`, a refused status
change (``rest_invalid_param`` naming ``status``) is :class:`StatusNotAllowed`, everything else a
:class:`StoreError` carrying the store's code. Every write body is decided from a read just before, so every
write request is marked not idempotent: the engine never resends one blindly, it runs the whole flow again,
which looks first. Also here: WooCommerce's order ids (numbers; anything else is a 404 before any request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ...driver import (
    AuthenticationError,
    BrokenAnswer,
    Driver,
    Flow,
    JsonRest,
    StatusNotAllowed,
    StoreError,
    mark_idempotent,
)

__all__ = ["MAX_PAGE", "WooRest"]

MAX_PAGE = 100
"""WooCommerce's largest ``per_page``."""


class WooRest(JsonRest, Driver):
    """Requests to ``<site>/wp-json/wc/v3/...`` (or the site root, for extensions) and the reading of their
    answers (see the module notes)."""

    site_url: str
    base_url: str
    store_id: str
    page_size: int

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _get(self, path: str, params: Mapping[str, str] | None = None, *, site: bool = False) -> httpx.Request:
        url = (self.site_url + path) if site else self._url(path)
        return httpx.Request("GET", url, params=dict(params or {}), headers={"Accept": "application/json"})

    def _send(self, method: str, path: str, body: Any, *, site: bool = False) -> httpx.Request:
        url = (self.site_url + path) if site else self._url(path)
        request = httpx.Request(method, url, json=body, headers={"Accept": "application/json"})
        # Every write body here was decided from a read just before: never resent blindly (the flow looks again).
        return mark_idempotent(request, False)

    def _json(self, response: httpx.Response, order_id: str | None = None) -> Any:
        self.check(response, order_id)
        return self.decode(response, order_id)

    def check(self, response: httpx.Response, order_id: str | None = None) -> None:
        """WooCommerce's ``{code, message, data: {status}}`` as the SDK's errors: a refused key is
        :class:`AuthenticationError` (``woocommerce_rest_authentication_error``, ``..._cannot_view``, 401/403),
        everything else :class:`StoreError` with the store's code."""
        if response.is_success:
            return
        message, code = self.error_message(response)
        if response.status_code in (401, 403):
            raise AuthenticationError(f"store {self.store_id!r} refused the REST API key: {message} ({code})")
        raise StoreError(message, code=code, http_status=response.status_code, store=self.store_id, order_id=order_id)

    def _status_error(self, response: httpx.Response, order_id: str, status: str) -> None:
        """A refused status change is :class:`StatusNotAllowed` (``rest_invalid_param`` naming ``status``)."""
        if response.status_code == 400:
            body = self._body_or_none(response)
            data = body.get("data") if isinstance(body, Mapping) else None
            params = data.get("params") if isinstance(data, Mapping) else None
            code = body.get("code") if isinstance(body, Mapping) else None
            if (isinstance(params, Mapping) and "status" in params) or code == "woocommerce_rest_invalid_order_status":
                message, _ = self.error_message(response)
                if isinstance(params, Mapping) and params.get("status"):
                    message = f"{message} ({params['status']})"
                raise StatusNotAllowed(
                    f"the store will not set status {status!r}: {message}",
                    code=str(code),
                    http_status=400,
                    store=self.store_id,
                    order_id=order_id,
                )
        self.check(response, order_id)

    def _body_or_none(self, response: httpx.Response) -> Any:
        try:
            return self.decode(response)
        except BrokenAnswer:
            return None

    def _id(self, order_id: str) -> int:
        try:
            return int(str(order_id).strip())
        except ValueError:
            raise StoreError(
                f"a WooCommerce order id is a number, got {order_id!r}",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            ) from None

    def _order_json(self, order_id: str) -> Flow[Mapping[str, Any]]:
        """One order's JSON object, as read before a write."""
        response = yield self._get(f"/orders/{self._id(order_id)}")
        body = self._json(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer("the order is not a JSON object", store=self.store_id, order_id=order_id)
        return body
