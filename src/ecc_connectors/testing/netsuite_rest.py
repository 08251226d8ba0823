"""A fake NetSuite account's REST web services (token endpoint, SuiteQL, record service) for tests and examples.

See :class:`FakeNetSuiteRest`; its tables come from Oracle's SuiteTalk schema, not from the ``netsuite_rest``
driver, so a misreading in one is caught by the other. ``SPEC_TABLES`` are those tables (statuses and the fields
each record takes), by name.
"""

from __future__ import annotations

from . import _netsuite_rest_xsd
from ._netsuite_rest_store import FakeNetSuiteRest, status_code

__all__ = ["SPEC_TABLES", "FakeNetSuiteRest", "status_code"]

SPEC_TABLES: dict[str, tuple[str, ...]] = {
    name: getattr(_netsuite_rest_xsd, name) for name in _netsuite_rest_xsd.__all__
}
"""The tables of Oracle's SuiteTalk 2023_2 schema the fake is built from (statuses, record fields), by name."""
