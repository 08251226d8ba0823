"""A fake NetSuite account's SuiteTalk SOAP endpoint for tests and examples, and the Oracle tables it is built from.

:class:`FakeSuiteTalk` (also ``ecc_connectors.testing.FakeSuiteTalk``) serves SOAP over a real local socket with
every knob of ``ecc_connectors.testing.base.FakeStore``. What it knows of NetSuite is read from Oracle's own
2023_2 XSDs and help pages, never from the ``netsuite`` driver, so a misreading in one is caught by the other:

* :func:`oracle_enumeration`: the values of one of Oracle's enumerations (``Country``, ``SalesOrderOrderStatus``,
  ``TransactionStatus``, ``ItemFulfillmentShipStatus``), in the XSD's order;
* :func:`sales_order_search_statuses`: each ``TransactionStatus`` search value of a sales order -> the record's
  ``orderStatus`` code it finds; ``ORDER_STATUS_CODES`` and ``SALES_ORDER_SEARCH_STATUSES`` are the same two
  tables as names (read on first use, so importing this module needs no lxml);
* :func:`passport_signature`: the token passport signature the fake checks, computed with oauthlib's signer;
* :func:`operation_of`: the SOAP operation a received request names, for tests that count or pick requests.

Run ``python -m ecc_connectors.testing.netsuite`` to serve the sample data until interrupted.
"""

from __future__ import annotations

from typing import Any

from ._netsuite import FakeSuiteTalk, main, operation_of, passport_signature
from ._netsuite_soap import oracle_enumeration, sales_order_search_statuses

__all__ = [
    "ORDER_STATUS_CODES",  # noqa: F822 - served by __getattr__, read on first use
    "SALES_ORDER_SEARCH_STATUSES",  # noqa: F822 - served by __getattr__, read on first use
    "FakeSuiteTalk",
    "operation_of",
    "oracle_enumeration",
    "passport_signature",
    "sales_order_search_statuses",
]


def __getattr__(name: str) -> Any:
    """``ORDER_STATUS_CODES`` and ``SALES_ORDER_SEARCH_STATUSES``, read from Oracle's XSDs on first use."""
    if name == "ORDER_STATUS_CODES":
        return oracle_enumeration("SalesOrderOrderStatus")
    if name == "SALES_ORDER_SEARCH_STATUSES":
        return sales_order_search_statuses()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover - a manual convenience
    main()
