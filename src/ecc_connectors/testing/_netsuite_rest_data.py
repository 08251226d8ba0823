"""The fake NetSuite REST endpoint's data: sales orders, item fulfilments, customers and items, and how tests
add and change them.

Theory of operation
-------------------
The fake keeps its records shaped like the REST record service (field names of Oracle's schema,
``_netsuite_rest_xsd``), never like the driver's mapped orders: the SuiteQL tables (``_netsuite_rest_suiteql``)
and the record service's answers (``_netsuite_rest_records``) are both computed from them. Internal ids come
from one counter shared by every record type, as NetSuite's do; stamps have whole seconds, as NetSuite keeps them.

Status letters follow the ``SalesOrderOrderStatus`` enumeration's order (``A`` first); a new order gets
``new_order_status``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ._netsuite_rest_xsd import (
    SALES_ORDER_STATUSES,
)
from .base import FakeStore

__all__ = ["NetSuiteRestData", "status_code"]

# The letters of SuiteQL's transaction.status, in the order of Oracle's SalesOrderOrderStatus enumeration.
_LETTERS: dict[str, str] = dict(zip("ABCDEFGH", SALES_ORDER_STATUSES[:8], strict=True))


def status_code(letter: str) -> str:
    """The schema's ``SalesOrderOrderStatus`` value for a SuiteQL status letter."""
    return _LETTERS[letter]


class NetSuiteRestData(FakeStore):
    """The records of :class:`~ecc_connectors.testing.netsuite_rest.FakeNetSuiteRest` (set when it is made)."""

    time_zone: str
    zone: ZoneInfo
    new_order_status: str
    sales_orders: dict[str, dict[str, Any]]
    fulfilments: dict[str, dict[str, Any]]
    customers: dict[str, str]
    currencies: dict[str, str]
    ship_methods: dict[str, str]
    items: dict[str, dict[str, Any]]
    _ids: Iterator[int]
    _nkeys: Iterator[int]
    _id_lock: threading.Lock

    def _next_id(self) -> str:
        with self._id_lock:
            return str(next(self._ids))

    def _stamp(self) -> datetime:
        return self.now().replace(microsecond=0)  # NetSuite keeps whole seconds

    # -- data --------------------------------------------------------------------------------------------------

    def add_sales_order(
        self,
        lines: Sequence[tuple[str, int | str | Decimal, str]],
        *,
        customer: str = "87",
        status: str | None = None,
        created: datetime | None = None,
        modified: datetime | None = None,
        memo: str = "",
        country: str = "US",
        external_id: str | None = None,
        tax: str = "0.00",
        shipping: str = "5.00",
        internal_id: str | None = None,
        tran_id: str | None = None,
        email: str | None = None,
        address: Mapping[str, Any] | None = None,
    ) -> str:
        """A sales order with ``(item id, quantity, rate)`` lines; returns its internal id. ``status`` is a letter
        or a schema value (``_pendingApproval``); ``address`` (Address field names, an ISO ``country``) is used
        for billing and shipping."""
        letter = status or self.new_order_status
        if letter not in _LETTERS:
            letter = next((k for k, v in _LETTERS.items() if v == letter), "")
            if not letter:
                raise ValueError(f"not a SalesOrderOrderStatus value: {status!r}")
        with self.lock:
            order_id = internal_id or self._next_id()
            when = (created or self._stamp()).astimezone(timezone.utc).replace(microsecond=0)
            changed = (modified or when).astimezone(timezone.utc).replace(microsecond=0)
            items = []
            for n, (item_id, quantity, rate) in enumerate(lines, start=1):
                qty, price = Decimal(str(quantity)), Decimal(rate)
                items.append(
                    {
                        "line": n,
                        "item": item_id,
                        "quantity": qty,
                        "rate": price,
                        "amount": qty * price,
                        "description": self.items[item_id]["displayname"],
                        "quantityFulfilled": Decimal("0"),
                        "isClosed": False,
                    }
                )
            subtotal = sum((i["amount"] for i in items), Decimal("0"))
            postal = (
                dict(address)
                if address is not None
                else {
                    "addressee": self.customers[customer],
                    "addr1": f"{order_id} Main St",
                    "city": "Springfield",
                    "state": "IL",
                    "zip": "62701",
                    "country": country,
                    "addrPhone": "555-0100",
                }
            )
            self.sales_orders[order_id] = {
                "id": order_id,
                "tranId": tran_id or f"SO{order_id}",
                "orderStatus": letter,
                "createdDate": when,
                "lastModifiedDate": changed,
                "entity": customer,
                "email": email if email is not None else f"buyer{order_id}@example.com",
                "memo": memo,
                "otherRefNum": None,
                "externalId": external_id,
                "currency": "1",
                "shipMethod": "4",
                "shippingCost": Decimal(shipping),
                "taxTotal": Decimal(tax),
                "discountTotal": Decimal("0"),
                "total": subtotal + Decimal(shipping) + Decimal(tax),
                "shippingAddress": {**postal, "nkey": next(self._nkeys)},
                "billingAddress": {**postal, "nkey": next(self._nkeys)},
                "item": items,
            }
            return order_id

    def touch(self, order_id: str, **fields: Any) -> None:
        """Change a sales order as a user would (its ``lastModifiedDate`` moves to now)."""
        with self.lock:
            order = self.sales_orders[order_id]
            order.update(fields)
            order["lastModifiedDate"] = self._stamp()

    def status_of(self, order_id: str) -> str:
        with self.lock:
            return str(self.sales_orders[order_id]["orderStatus"])
