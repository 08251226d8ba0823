"""Talking to the Admin GraphQL API: the requests a flow yields and how each answer is read.

:class:`ShopifyGraphQL` is the base every group of the driver's flows builds on (listing, bulk, post-back,
phone orders). Every operation is a flow of GraphQL requests (``POST /admin/api/<version>/graphql.json``), each
named by its operation in a header so the cost pacer (:mod:`._auth`) can expect its cost. Queries are marked
idempotent (a read is safe to resend after a dropped connection); mutations are not, so the engine never resends
one blindly, and each write flow reads the order first and reports work it finds done (exactly-once).

**Errors**: HTTP 401/403 are :class:`AuthenticationError`; a top-level ``errors`` list is a :class:`StoreError`
(its ``extensions.code``), except ``THROTTLED``, which :meth:`~ShopifyGraphQL.retry_hint` turns into a wait of
the time the bucket needs (and :class:`RateLimited` once retries run out); ``userErrors`` of a mutation are a
:class:`StoreError` naming the order and the field. Errors only on fields inside an answer (protected customer
data the app is not approved for) leave the rest of the answer good: those fields come back null.

Also here: Shopify's global ids (``gid://shopify/<Kind>/<number>``), which the flows make from the caller's
numbers and read back, and a connection's ``nodes`` and ``pageInfo``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...driver import (
    AuthenticationError,
    BrokenAnswer,
    ConnectorError,
    Driver,
    Flow,
    JsonRest,
    RateLimited,
    RetryHint,
    StoreError,
    mark_idempotent,
)
from ._auth import OPERATION_HEADER, cost_of, throttle_wait, throttled

__all__ = ["MAX_PAGE", "ShopifyGraphQL", "connection", "gid", "number_of"]

logger = logging.getLogger("ecc_connectors.drivers.shopify")

MAX_PAGE = 250
"""The most nodes one connection page may ask for."""


def gid(kind: str, number: str) -> str:
    """The global id of a ``kind`` (``Order``, ``ProductVariant``) from its number (a global id stays as is)."""
    if number.startswith("gid://"):
        return number
    if not number.isdigit():
        raise StoreError(f"{number!r} is not a Shopify {kind} id", http_status=404)
    return f"gid://shopify/{kind}/{number}"


def number_of(value: Any) -> str:
    """The number at the end of a global id."""
    return str(value).rsplit("/", 1)[-1]


def connection(found: Any, operation: str, store: str) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]]:
    """A connection's ``nodes`` and ``pageInfo`` (an empty mapping when absent); no ``nodes`` is a broken answer."""
    if not isinstance(found, Mapping) or not isinstance(found.get("nodes"), list):
        raise BrokenAnswer(f"{operation}: the answer has no nodes", store=store)
    info = found.get("pageInfo")
    return list(found["nodes"]), info if isinstance(info, Mapping) else {}


def _field_errors_only(errors: Any) -> bool:
    """Every error is about a field below a root field (a ``path`` deeper than the root), none a throttle."""
    if not isinstance(errors, list) or not errors:
        return False
    for error in errors:
        if not isinstance(error, Mapping):
            return False
        path = error.get("path")
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        if not isinstance(path, list) or len(path) < 2 or code == "THROTTLED":
            return False
    return True


class ShopifyGraphQL(JsonRest, Driver):
    """GraphQL documents sent to ``url`` and the reading of their answers (module notes)."""

    error_table: ClassVar[Mapping[int, type[ConnectorError]]] = {401: AuthenticationError, 403: AuthenticationError}
    message_keys: ClassVar[tuple[str, ...]] = ("errors", "error", "message")

    url: str
    store_id: str
    _partial: set[str]

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """HTTP's rules, plus Shopify's ``THROTTLED`` in a 200: wait what the bucket needs (nothing was run)."""
        if response.status_code == 200 and b"THROTTLED" in response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                return None
            if throttled(body):
                return RetryHint("throttled (query cost)", throttle_wait(cost_of(body)))
            return None
        return super().retry_hint(response)

    def _request(self, operation: str, document: str, variables: Mapping[str, Any]) -> httpx.Request:
        body = json.dumps({"query": document, "variables": dict(variables)}, default=str).encode()
        request = httpx.Request(
            "POST",
            self.url,
            content=body,
            headers={"Content-Type": "application/json", "Accept": "application/json", OPERATION_HEADER: operation},
        )
        if not document.lstrip().startswith("mutation"):
            mark_idempotent(request)  # a query changes nothing: safe to resend after a dropped connection
        return request

    def _call(
        self, operation: str, document: str, variables: Mapping[str, Any], *, order_id: str | None = None
    ) -> Flow[Mapping[str, Any]]:
        """Send one document; return its ``data`` or raise the typed error (module notes)."""
        response = yield self._request(operation, document, variables)
        self.check(response, order_id)
        body = self.decode(response, order_id)
        if not isinstance(body, Mapping):
            raise BrokenAnswer(f"{operation}: the answer is not a JSON object", store=self.store_id, order_id=order_id)
        errors = body.get("errors")
        data = body.get("data")
        if errors and isinstance(data, Mapping) and _field_errors_only(errors):
            # Errors on fields inside the answer (protected customer data the app is not approved for): the
            # rest is good. The fields come back null; say so once per operation.
            if operation not in self._partial:
                self._partial.add(operation)
                logger.warning("%s: Shopify left fields out: %s", operation, errors[0].get("message"))
            errors = None
        if errors:
            if throttled(body):
                raise RateLimited(f"{operation}: Shopify kept answering THROTTLED", throttle_wait(cost_of(body)))
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = str(first.get("message") if isinstance(first, Mapping) else first)
            extensions = first.get("extensions") if isinstance(first, Mapping) else None
            code = str(extensions.get("code")) if isinstance(extensions, Mapping) and extensions.get("code") else None
            raise StoreError(
                f"{operation}: {message}",
                code=code,
                http_status=response.status_code,
                store=self.store_id,
                order_id=order_id,
            )
        if not isinstance(data, Mapping):
            raise BrokenAnswer(f"{operation}: the answer has no data", store=self.store_id, order_id=order_id)
        return data

    def _user_errors(self, operation: str, payload: Any, order_id: str | None, key: str = "userErrors") -> None:
        """Raise the first of a mutation's ``userErrors`` (``key``) as a :class:`StoreError`."""
        if not isinstance(payload, Mapping):
            raise BrokenAnswer(f"{operation}: no payload in the answer", store=self.store_id, order_id=order_id)
        errors = payload.get(key) or []
        if errors:
            first = errors[0]
            fields = ".".join(str(f) for f in first.get("field") or ()) or "order"
            raise StoreError(
                f"{operation} refused for order {order_id} ({fields}): {first.get('message')}",
                code=str(first.get("code") or "USER_ERROR"),
                http_status=200,
                store=self.store_id,
                order_id=order_id,
            )
