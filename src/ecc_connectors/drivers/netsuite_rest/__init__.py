"""NetSuite REST driver (``netsuite_rest``): SuiteQL reads and REST record writes, the successor of the SOAP
driver ``netsuite``. See ``docs/drivers/netsuite-rest.md``.

PyJWT (with ``cryptography``) signs the OAuth 2.0 client assertion and oauthlib signs TBA requests; both are
imported only when a request is signed, so ``import ecc_connectors`` works without them.
"""

from ._auth import (
    ALGORITHMS,
    ClientCredentials,
    ClientCredentialsAuth,
    TbaAuth,
    TbaCredentials,
    account_host,
    valid_account,
)
from ._driver import NetSuiteRestConfig, NetSuiteRestDriver, NetSuiteRestSettings
from ._mapping import CODE_TO_LETTER, LETTER_TO_CODE, ORDER_STATUSES, status_letters

__all__ = [
    "ALGORITHMS",
    "CODE_TO_LETTER",
    "LETTER_TO_CODE",
    "ORDER_STATUSES",
    "ClientCredentials",
    "ClientCredentialsAuth",
    "NetSuiteRestConfig",
    "NetSuiteRestDriver",
    "NetSuiteRestSettings",
    "TbaAuth",
    "TbaCredentials",
    "account_host",
    "status_letters",
    "valid_account",
]
