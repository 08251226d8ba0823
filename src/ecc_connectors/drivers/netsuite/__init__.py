"""NetSuite SuiteTalk SOAP driver (``netsuite``). See ``docs/drivers/netsuite.md``.

zeep and lxml (the ``netsuite`` extra) are imported only when a driver is built or a request is signed, so
``import ecc_connectors`` works without them.
"""

from ._auth import TokenCredentials, TokenPassportAuth, account_host, passport_account, passport_signature
from ._driver import NetSuiteConfig, NetSuiteDriver, NetSuiteSettings
from ._mapping import ORDER_STATUSES, SEARCH_STATUS
from ._soap import PACKAGED_VERSION, packaged_wsdl

__all__ = [
    "ORDER_STATUSES",
    "PACKAGED_VERSION",
    "SEARCH_STATUS",
    "NetSuiteConfig",
    "NetSuiteDriver",
    "NetSuiteSettings",
    "TokenCredentials",
    "TokenPassportAuth",
    "account_host",
    "packaged_wsdl",
    "passport_account",
    "passport_signature",
]
