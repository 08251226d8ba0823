"""Authentication for SuiteTalk REST: OAuth 2.0 client credentials (machine to machine), or TBA as the fallback.

Theory of operation
-------------------
*Client credentials (M2M).* The integration record's client id and a certificate mapped to an entity and role
(Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup) are all an application holds. For a token, it
signs a JWT with the certificate's private key (PyJWT over ``cryptography``): header ``typ=JWT``, ``alg`` one of
PS256/PS384/PS512/ES256/ES384/ES512, ``kid`` the certificate id; claims ``iss`` the client id, ``scope``
``rest_webservices`` (comma-separated with others), ``aud`` the token endpoint, ``iat`` and ``exp`` at most 60
minutes later (Oracle, "OAuth 2.0 Client Credentials Flow", "The Request Token Structure"). It posts that as
``client_assertion`` (type ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``) with
``grant_type=client_credentials`` to ``/services/rest/auth/oauth2/v1/token`` and gets a bearer access token valid
for ``expires_in`` seconds (3600); there is no refresh token, so a new assertion is signed when it runs out.

:class:`ClientCredentialsAuth` is an ``httpx.Auth``; the engine passes it to every send (retries included), in
the sync and the async shell alike, since its ``auth_flow`` is a generator that the client drives either way. It
keeps one token per driver, shared by every thread and task (a lock guards the cache; two callers that find it
empty at once may both fetch one, which is harmless), refreshes it a minute before it expires, and when the API
answers 401 to a token it took from the cache (revoked, or the account's clock disagrees) fetches a new one and
sends the request once more. Neither the private key, nor the assertion, nor the token appears in a ``repr``, a
log line or an exception.

*TBA fallback.* Accounts without M2M sign every request with OAuth 1.0a (HMAC-SHA256, ``realm`` = the account id
in upper case with an underscore), done by oauthlib. A JSON body is not part of an OAuth 1.0a signature; query
parameters are.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Generator
from typing import Any

import attrs
import httpx

from ...driver import AuthenticationError, BrokenAnswer, StoreError
from .._netsuite_common import account_host, passport_account, valid_account

__all__ = [
    "ALGORITHMS",
    "ClientCredentials",
    "ClientCredentialsAuth",
    "TbaAuth",
    "TbaCredentials",
    "account_host",
    "valid_account",
]

ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""What Oracle accepts for the client assertion (RS256 is not among them)."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_LIFETIME = 300
"""Seconds an assertion is valid: it is used at once, and Oracle allows at most 3600."""
REFRESH_MARGIN = 60.0


def _stripped(value: object) -> str:
    """A credential pasted with a trailing newline would sign something else: strip it."""
    return str(value).strip()


def _not_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError(f"NetSuite {attribute.name} is empty")


def _account(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    valid_account(value)


def _algorithm(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ALGORITHMS:
        raise ValueError(f"NetSuite signs client assertions with one of {', '.join(ALGORITHMS)}, not {value!r}")


def _pem(value: object) -> str:
    return str(value).strip() + "\n"


@attrs.frozen
class ClientCredentials:
    """An integration record's client id, the certificate id of an M2M mapping and that certificate's private key
    (PEM). Secrets stay out of ``repr``; every value is stripped; the account id must be one."""

    account: str = attrs.field(converter=_stripped, validator=_account)
    client_id: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    certificate_id: str = attrs.field(converter=_stripped, validator=_not_empty)
    private_key: str = attrs.field(converter=_pem, repr=False)
    algorithm: str = attrs.field(default="PS256", converter=_stripped, validator=_algorithm)
    scopes: tuple[str, ...] = ("rest_webservices",)

    def __attrs_post_init__(self) -> None:
        if "PRIVATE KEY" not in self.private_key:
            raise ValueError("NetSuite private_key is not a PEM private key")


@attrs.frozen
class TbaCredentials:
    """Token-based authentication: consumer key/secret of the integration record and a token for a user and role."""

    account: str = attrs.field(converter=_stripped, validator=_account)
    consumer_key: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    consumer_secret: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    token_id: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    token_secret: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)


def client_assertion(credentials: ClientCredentials, token_url: str, now: float) -> str:
    """The signed JWT for one token request."""
    import jwt  # PyJWT; imported here so the driver package imports without it

    issued = int(now)
    claims = {
        "iss": credentials.client_id,
        "scope": ",".join(credentials.scopes),
        "aud": token_url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    headers = {"typ": "JWT", "kid": credentials.certificate_id}
    return jwt.encode(claims, credentials.private_key, algorithm=credentials.algorithm, headers=headers)


class ClientCredentialsAuth(httpx.Auth):
    """Bearer tokens from the client credentials flow, cached and refreshed (see the module notes)."""

    requires_response_body = True  # the token answer is read inside the flow

    def __init__(self, credentials: ClientCredentials, token_url: str, clock: Callable[[], float] = time.time) -> None:
        self._credentials = credentials
        self.token_url = token_url
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0
        """How many tokens were fetched (for tests and monitoring)."""

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(account={self._credentials.account!r}, token_url={self.token_url!r})"

    def _cached(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._expires - REFRESH_MARGIN:
                return self._token
            return None

    def forget(self, token: str | None = None) -> None:
        """Drop the cached token (only ``token``, when given: another caller may have refreshed it already)."""
        with self._lock:
            if token is None or self._token == token:
                self._token = None

    def token_request(self) -> httpx.Request:
        # The assertion is stamped by the real clock (NetSuite checks iat and exp against its own); the injectable
        # clock only decides when the cached token is due for renewal.
        assertion = client_assertion(self._credentials, self.token_url, time.time())
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
            headers={"Accept": "application/json"},
        )

    def _store(self, response: httpx.Response) -> str | None:
        """The token from the token endpoint's answer; ``None`` for a transient failure (429, 5xx), whose answer
        then ends the send, so the engine retries it like any other busy answer (and the flow asks again)."""
        status = response.status_code
        if status == 429 or status >= 500:
            return None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if status in (400, 401, 403):
            error = body.get("error") if isinstance(body, dict) else None
            raise AuthenticationError(
                f"NetSuite refused the client credentials (HTTP {status}, {error or 'no error code'}): check the "
                "client id, the certificate id of the M2M mapping, its private key and the algorithm"
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if status == 200 and not (isinstance(token, str) and token):
            # A 200 cut short or without its token: asked again like any answer that cannot be read.
            raise BrokenAnswer("NetSuite's token endpoint answered without an access token", code="NO_TOKEN")
        if status != 200 or not isinstance(token, str) or not token:
            raise StoreError(
                f"NetSuite's token endpoint answered HTTP {status} without an access token",
                code="TOKEN_ENDPOINT",
                http_status=status,
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        with self._lock:
            self._token = token
            self._expires = self._clock() + lifetime
            self.fetched += 1
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._cached()
        from_cache = token is not None
        if token is None:
            token = self._store((yield self.token_request()))
            if token is None:
                return
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and from_cache:
            # A token that was fine a moment ago (revoked, or the clocks disagree): one fresh token, one more try.
            self.forget(token)
            token = self._store((yield self.token_request()))
            if token is None:
                return
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class TbaAuth(httpx.Auth):
    """OAuth 1.0a (HMAC-SHA256) headers for token-based authentication, signed afresh for every send."""

    def __init__(self, credentials: TbaCredentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"TbaAuth(account={self._credentials.account!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

        c = self._credentials
        client = Client(
            c.consumer_key,
            client_secret=c.consumer_secret,
            resource_owner_key=c.token_id,
            resource_owner_secret=c.token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=passport_account(c.account),
        )
        # A JSON body is not signed in OAuth 1.0a; the URL (with its query) and the method are.
        _uri, headers, _body = client.sign(str(request.url), http_method=request.method)  # type: ignore[arg-type]
        request.headers["Authorization"] = headers["Authorization"]
        yield request
