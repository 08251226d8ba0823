"""The three ways a Magento 2 store lets an integration in, as ``httpx.Auth`` objects.

* :class:`BearerToken`: an integration's access token sent as ``Authorization: Bearer``. Magento 2.4.4+ only
  accepts it when the store sets ``oauth/consumer/enable_integration_as_bearer``; older stores always do.
* :class:`AdminToken`: an admin user's name and password, traded for a token at
  ``POST /V1/integration/admin/token`` on first use, cached, and traded again once when the store answers 401
  (tokens expire after 4 hours by default).
* :class:`OAuth1`: OAuth 1.0a request signing (HMAC-SHA256) with the integration's four keys, which is what a
  2.4.4+ store wants when integration tokens are not allowed as Bearer.

None of them lets a secret reach a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from ...driver import AuthenticationError, ConfigurationError, StoreError
from ._errors import _error_text, decode_json

__all__ = ["AdminToken", "BearerToken", "OAuth1"]

_TOKEN_PATH = "/V1/integration/admin/token"


class _DropSigningDetails(logging.Filter):
    """oauthlib logs, at DEBUG level, the parameters it signs (the consumer key and the access token, which a
    store with integration tokens as Bearer accepts on its own), the base string and the signature. Those lines
    are dropped; oauthlib's other lines pass."""

    _PREFIXES = ("Collected params:", "Normalized params:", "Signing: signature base string:", "Signature:")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._PREFIXES)


def _quiet_oauthlib() -> None:
    signing_log = logging.getLogger("oauthlib.oauth1.rfc5849")
    if not any(isinstance(f, _DropSigningDetails) for f in signing_log.filters):
        signing_log.addFilter(_DropSigningDetails())


_quiet_oauthlib()


def _require(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"Magento auth: {name} is required")
    return value


class BearerToken(httpx.Auth):
    """An integration access token (or any long-lived token) sent as a Bearer header."""

    def __init__(self, token: str) -> None:
        self._token = _require(token, "access token")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(token=***)"


class AdminToken(httpx.Auth):
    """An admin token fetched with the admin's username and password when first needed.

    The token URL is taken from the request being sent (everything before its ``/V1/``), so the same object
    works for any store code. Stores with two-factor authentication refuse this endpoint ("use the 2fa
    provider-specific endpoints"); that answer becomes :class:`AuthenticationError` with the store's words.
    """

    requires_response_body = True

    def __init__(self, username: str, password: str, token_url: str | None = None) -> None:
        self.username = _require(username, "username")
        self._password = _require(password, "password")
        self._token_url = token_url
        self._token: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AdminToken(username={self.username!r}, password=***)"

    def _url_for(self, request: httpx.Request) -> str:
        if self._token_url:
            return self._token_url
        url = str(request.url.copy_with(query=None, fragment=None))
        head, sep, _ = url.partition("/V1/")
        if not sep:
            raise ConfigurationError("AdminToken: cannot tell the store's REST root from the request URL")
        return head + _TOKEN_PATH

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url_for(request),
            json={"username": self.username, "password": self._password},
            headers={"Accept": "application/json"},
        )

    def _accept_token(self, response: httpx.Response) -> str:
        if response.status_code in (400, 401, 403):
            message = _error_text(response)[0]
            raise AuthenticationError(f"Magento refused the admin credentials for {self.username!r}: {message}")
        if response.status_code != 200:
            # The store failed, not the credentials (maintenance, overload): say so, with its status.
            message = _error_text(response)[0]
            raise StoreError(f"the admin token endpoint failed: {message}", http_status=response.status_code)
        try:
            token = decode_json(response)
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise AuthenticationError("Magento's admin token endpoint did not answer with a token")
        with self._lock:
            self._token = token
        return token

    def invalidate(self) -> None:
        """Forget the cached token (the next request fetches a new one)."""
        with self._lock:
            self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token
        if token is None:
            token = self._accept_token((yield self._token_request(request)))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        # Expired or revoked: trade the credentials again, once. Another request may have refreshed already.
        with self._lock:
            current = self._token
        if current is None or current == token:
            current = self._accept_token((yield self._token_request(request)))
        request.headers["Authorization"] = f"Bearer {current}"
        yield request


class OAuth1(httpx.Auth):
    """OAuth 1.0a signing with HMAC-SHA256, signed by oauthlib (query parameters are part of the base string;
    JSON bodies are not, as RFC 5849 says for non-form bodies).

    ``nonce`` and ``clock`` exist for tests that need a fixed signature; leave them out otherwise.
    """

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        nonce: Callable[[], str] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._consumer_key = _require(consumer_key, "consumer key")
        self._consumer_secret = _require(consumer_secret, "consumer secret")
        self._access_token = _require(access_token, "access token")
        self._access_token_secret = _require(access_token_secret, "access token secret")
        self._nonce = nonce
        self._clock = clock

    def __repr__(self) -> str:
        return "OAuth1(consumer_key=***, consumer_secret=***, access_token=***, access_token_secret=***)"

    def _client(self) -> Client:
        return Client(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self._access_token,
            resource_owner_secret=self._access_token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            nonce=self._nonce() if self._nonce else None,
            timestamp=str(self._clock()) if self._clock else None,
        )

    def sign(self, request: httpx.Request) -> None:
        """Add the ``Authorization: OAuth ...`` header to ``request``."""
        _, headers, _ = self._client().sign(str(request.url), request.method)  # type: ignore[arg-type]
        request.headers["Authorization"] = headers["Authorization"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request
