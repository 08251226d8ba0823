"""The BigCommerce fake shop's tables, clock and ids, and what its handlers answer (``Reply``, ``ShopError``).

Theory of operation
-------------------
The shop keeps what BigCommerce keeps, in its shapes (``orders.v2.oas2.yml`` and ``products_catalog.v3.yml``):
an order row per order (money as four-decimal strings, RFC 2822 times in whole seconds, the billing address
inline, the sub-resources as ``{"url", "resource"}`` links), and beside it the order's products, shipping
addresses and shipments, each with its own id. Every change stamps ``date_modified`` with the store's clock,
floored to the second, as BigCommerce does.

What every handler shares lives here: money as four-decimal strings, RFC 2822 times, filter times read as
BigCommerce reads them (RFC 2822 or ISO 8601; a time without a zone is UTC), numeric query parameters, and the
fixed order in which orders of one second come back (``_tie``: a shuffle per shop, not by id). A refusal is a
:class:`ShopError`, answered with v2's error list ``[{"status": 400, "message": ...}]``.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["CENT", "Reply", "ShopError", "ShopState", "filter_time", "int_param", "money", "rfc2822"]

CENT = Decimal("0.0001")


@attrs.define
class Reply:
    """What a handler answers: a status and a JSON body (``None``: no body, as with ``204``)."""

    status: int
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)


class ShopError(Exception):
    """A refusal, answered with v2's error list."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def money(value: Decimal | int | str) -> str:
    return str(Decimal(str(value)).quantize(CENT))


def rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=False)


def filter_time(text: str, name: str) -> datetime:
    """A filter time, as BigCommerce reads them: RFC 2822 or ISO 8601 (a time without a zone is UTC)."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ShopError(400, f"The field '{name}' is invalid: not an RFC 2822 or ISO 8601 date.") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def int_param(query: Mapping[str, str], name: str) -> int | None:
    if name not in query or query[name] == "":
        return None
    try:
        return int(Decimal(query[name]))
    except ArithmeticError:
        raise ShopError(400, f"The field '{name}' is invalid: not a number.") from None


class ShopState:
    """The orders, their sub-resources and the catalog of one fake store (filled by ``BigCommerceShop``)."""

    store_hash: str
    token: str
    clock: Callable[[], datetime]
    lock: threading.RLock
    orders: dict[int, dict[str, Any]]
    products: dict[int, list[dict[str, Any]]]
    addresses: dict[int, list[dict[str, Any]]]
    shipments: dict[int, list[dict[str, Any]]]
    catalog: list[dict[str, Any]]
    _ids: dict[str, int]
    _salt: str

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc).replace(microsecond=0)

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _tie(self, order_id: int) -> str:
        # Orders of one second come back in a fixed order that is not by id: nothing may rely on ties.
        return hashlib.sha256(f"{self._salt}:{order_id}".encode()).hexdigest()

    def _link(self, order_id: int, name: str) -> dict[str, str]:
        return {
            "url": f"https://api.bigcommerce.com/stores/{self.store_hash}/v2/orders/{order_id}/{name}",
            "resource": f"/orders/{order_id}/{name}",
        }

    def touch(self, order_id: int) -> None:
        self.orders[order_id]["date_modified"] = rfc2822(self.now())

    def edit(self, order_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change an order's row as the admin would; ``date_modified`` moves to now."""
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            self.touch(order_id)
            return order

    def delete(self, order_id: int) -> None:
        with self.lock:
            for table in (self.orders, self.products, self.addresses, self.shipments):
                table.pop(order_id, None)

    def find(self, order_id: int | str) -> dict[str, Any] | None:
        with self.lock:
            try:
                return self.orders.get(int(order_id))
            except ValueError:
                return None

    # -- the dialect: orders v2 ------------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.find(order_id)
        if order is None:
            raise ShopError(404, "The requested resource was not found.")
        return order
