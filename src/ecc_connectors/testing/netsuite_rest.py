"""A fake NetSuite account's REST web services (token endpoint, SuiteQL, record service) for tests and examples.

See :class:`FakeNetSuiteRest`; its tables come from Oracle's SuiteTalk schema (``_netsuite_rest_xsd``), not from
the ``netsuite_rest`` driver, so a misreading in one is caught by the other.
"""

from ._netsuite_rest_store import FakeNetSuiteRest, status_code

__all__ = ["FakeNetSuiteRest", "status_code"]
