"""NetSuite SuiteTalk SOAP driver (``netsuite``). See ``docs/drivers/netsuite.md``.

zeep and lxml (the ``netsuite`` extra) are imported only when a driver is built or a request is signed, so
``import ecc_connectors`` works without them. The country table (:data:`COUNTRY_TO_ISO`, :data:`ISO_TO_COUNTRY`,
:func:`iso_from_country`, :func:`country_from_iso`) needs neither and is shared with the REST driver.
"""

from ._auth import TokenCredentials, TokenPassportAuth, account_host, passport_account, passport_signature
from ._countries import COUNTRY_TO_ISO, ISO_TO_COUNTRY, UnknownCountry, country_from_iso, iso_from_country
from ._driver import NetSuiteConfig, NetSuiteDriver, NetSuiteSettings
from ._mapping import ORDER_STATUSES, SEARCH_STATUS, order_from_record
from ._settings import DEFAULT_PAGE_SIZE, wsdl_location
from ._soap import PACKAGED_VERSION, packaged_wsdl

__all__ = [
    "COUNTRY_TO_ISO",
    "DEFAULT_PAGE_SIZE",
    "ISO_TO_COUNTRY",
    "ORDER_STATUSES",
    "PACKAGED_VERSION",
    "SEARCH_STATUS",
    "NetSuiteConfig",
    "NetSuiteDriver",
    "NetSuiteSettings",
    "TokenCredentials",
    "TokenPassportAuth",
    "UnknownCountry",
    "account_host",
    "country_from_iso",
    "iso_from_country",
    "order_from_record",
    "packaged_wsdl",
    "passport_account",
    "passport_signature",
    "wsdl_location",
]
