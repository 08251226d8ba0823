"""The fake NetSuite REST endpoint's authentication: the OAuth 2.0 token endpoint and the check of every request's
``Authorization`` header (a bearer token it issued, or a TBA signature).

Theory of operation
-------------------
``POST /services/rest/auth/oauth2/v1/token`` is the client credentials grant. The client assertion is checked
with PyJWT against the public key of the certificate mapped to the client: its signature, its ``alg`` (one of
Oracle's six), ``kid`` (the certificate id), ``iss`` (the client id), ``aud`` (this token URL), ``scope``
(``rest_webservices``), ``iat`` and ``exp`` (not expired, at most 60 minutes apart); an assertion is used once. A
bearer token valid for ``token_lifetime`` seconds comes back. TBA requests are checked with oauthlib's
HMAC-SHA256 signature code (consumer key, token id, ``realm`` the account id). Anything else is 401
``INVALID_LOGIN``, as NetSuite answers.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from ._base_http import Answer, HttpError, ReceivedRequest, Route, dumps
from .base import FakeStore

__all__ = ["NetSuiteRestAuth"]

_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"


_KEYS: list[Any] = []
_KEYS_LOCK = threading.Lock()


def _key_pair() -> Any:
    """The RSA key of the fake's M2M certificate: made once per process (2048-bit keys take a while to make)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _KEYS_LOCK:
        if not _KEYS:
            _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEYS[0]


class NetSuiteRestAuth(FakeStore):
    """The token endpoint and request authentication of
    :class:`~ecc_connectors.testing.netsuite_rest.FakeNetSuiteRest` (these are set when it is made)."""

    account: str
    client_id: str
    certificate_id: str
    private_key_pem: str
    public_keys: dict[str, Any]
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str
    token_lifetime: float
    tokens: dict[str, float]
    tokens_issued: int
    assertions_seen: set[str]

    @property
    def token_url(self) -> str:
        return self.base_url + _TOKEN_PATH

    def revoke_tokens(self) -> None:
        """Forget every access token issued (a revoked mapping, or tokens expired early)."""
        with self.lock:
            self.tokens.clear()

    # -- the base's hooks --------------------------------------------------------------------------------------

    def check_auth(self, request: ReceivedRequest, route: Route) -> None:
        given = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        if given.startswith("Bearer "):
            expires = self.tokens.get(given[len("Bearer ") :])
            if expires is not None and expires > time.time():
                return
        elif given.startswith("OAuth ") and self._tba_valid(request):
            return
        raise HttpError(401, "Invalid login attempt. For more details, see the Login Audit Trail.", "INVALID_LOGIN")

    def _tba_valid(self, request: ReceivedRequest) -> bool:
        from oauthlib.common import Request
        from oauthlib.oauth1.rfc5849 import signature

        headers = dict(request.headers)
        method: Any = request.method
        checked: Any = Request(request.raw_url or f"http://{self.host}:{self.port}{request.url}", method, None, headers)
        found = dict(
            signature.collect_parameters(
                uri_query=checked.uri_query, headers=headers, exclude_oauth_signature=False, with_realm=True
            )
        )
        if found.get("oauth_consumer_key") != self.consumer_key or found.get("oauth_token") != self.token_id:
            return False
        if found.get("oauth_signature_method") != "HMAC-SHA256":
            return False
        if found.get("realm") != self.account.upper().replace("-", "_"):
            return False
        checked.params = signature.collect_parameters(uri_query=checked.uri_query, headers=headers)
        checked.signature = found.get("oauth_signature", "")
        return bool(signature.verify_hmac_sha256(checked, self.consumer_secret, self.token_secret))

    # -- token endpoint ----------------------------------------------------------------------------------------

    def _token(self, request: ReceivedRequest) -> Answer:
        import urllib.parse

        import jwt

        form = dict(urllib.parse.parse_qsl(request.body.decode(errors="replace")))

        def refuse(error: str) -> Answer:
            return Answer(400, dumps({"error": error}))

        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return refuse("invalid_request")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            return refuse("invalid_request")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in _ALGORITHMS or header.get("typ") != "JWT" or kid not in self.public_keys:
            return refuse("invalid_client")
        try:
            claims = jwt.decode(
                assertion,
                self.public_keys[kid],
                algorithms=[alg],
                audience=self.token_url,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=5,
            )
        except jwt.InvalidTokenError:
            return refuse("invalid_grant")
        scopes = {s.strip() for s in str(claims.get("scope", "")).split(",")}
        if claims.get("iss") != self.client_id or "rest_webservices" not in scopes:
            return refuse("invalid_client")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return refuse("invalid_grant")
        with self.lock:
            if assertion in self.assertions_seen:
                return refuse("invalid_grant")  # an assertion is used once
            self.assertions_seen.add(assertion)
            token = secrets.token_urlsafe(32)
            self.tokens[token] = time.time() + self.token_lifetime
            self.tokens_issued += 1
        return Answer(
            200, dumps({"access_token": token, "expires_in": str(int(self.token_lifetime)), "token_type": "bearer"})
        )
