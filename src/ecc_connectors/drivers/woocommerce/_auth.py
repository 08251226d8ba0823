"""How a request gets into a WooCommerce store with REST API keys (a consumer key ``ck_...`` and secret ``cs_...``).

WooCommerce reads the keys three ways (its REST API docs, "Authentication"):

* :class:`BasicKeys`: over HTTPS, HTTP Basic with the key as user name and the secret as password;
* :class:`QueryKeys`: over HTTPS, ``consumer_key`` / ``consumer_secret`` in the query string, for hosts whose
  web server strips the ``Authorization`` header (WooCommerce then answers "Consumer key is missing");
* :class:`OAuth1Query`: over plain HTTP, OAuth 1.0a "one-legged" signing (no token), the ``oauth_*`` parameters
  in the query string (WooCommerce reads them there on every version; the header form only from 3.0). The
  signature is made by oauthlib (HMAC-SHA256, keyed with the consumer secret and ``&``); a fresh nonce and
  timestamp are drawn on every send, retries included, since WooCommerce refuses a nonce it has seen, and the
  timestamp follows the store's clock once the store refused one (WooCommerce allows 15 minutes).

:func:`pick_auth` chooses from the URL's scheme: sending the secret itself over plain HTTP is refused, as
WooCommerce refuses Basic there. No secret reaches a ``repr``, a log line or an exception message: the engine
logs paths only, oauthlib's own DEBUG lines that carry the signed parameters are dropped, and httpx's INFO line
(the full URL) has the key, secret and signature values masked.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Literal

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client

from ...driver import ConfigurationError

__all__ = ["AuthMode", "BasicKeys", "OAuth1Query", "QueryKeys", "pick_auth"]

AuthMode = Literal["auto", "basic", "query", "oauth1"]


class _DropSigningDetails(logging.Filter):
    """oauthlib logs at DEBUG the parameters it signs, the base string and the signature: dropped here."""

    _PREFIXES = ("Collected params:", "Normalized params:", "Signing: signature base string:", "Signature:")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._PREFIXES)


_SECRET_PARAMS = re.compile(r"((?:consumer_key|consumer_secret|oauth_consumer_key|oauth_signature)=)[^&\s\"']*")


class _MaskKeysInUrls(logging.Filter):
    """httpx logs every request's full URL at INFO, query string included: with the keys in the query
    (``QueryKeys``, ``OAuth1Query``) that would put the secret in the log. Their values are masked here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("consumer_" in str(a) for a in record.args):
            record.args = tuple(
                _SECRET_PARAMS.sub(r"\1***", str(a)) if "consumer_" in str(a) else a for a in record.args
            )
        return True


def _quiet_logs() -> None:
    signing_log = logging.getLogger("oauthlib.oauth1.rfc5849")
    if not any(isinstance(f, _DropSigningDetails) for f in signing_log.filters):
        signing_log.addFilter(_DropSigningDetails())
    client_log = logging.getLogger("httpx")
    if not any(isinstance(f, _MaskKeysInUrls) for f in client_log.filters):
        client_log.addFilter(_MaskKeysInUrls())


_quiet_logs()


def _require(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"WooCommerce auth: the {name} is required")
    return value.strip()


class BasicKeys(httpx.Auth):
    """The keys as HTTP Basic credentials (HTTPS only)."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        key = _require(consumer_key, "consumer key")
        secret = _require(consumer_secret, "consumer secret")
        self._header = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BasicKeys(consumer_key=***, consumer_secret=***)"


class QueryKeys(httpx.Auth):
    """The keys as ``consumer_key`` / ``consumer_secret`` query parameters (HTTPS only), for hosts that strip the
    ``Authorization`` header. The engine logs no query string, so they stay out of the logs."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self._key = _require(consumer_key, "consumer key")
        self._secret = _require(consumer_secret, "consumer secret")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({"consumer_key": self._key, "consumer_secret": self._secret})
        yield request

    def __repr__(self) -> str:
        return "QueryKeys(consumer_key=***, consumer_secret=***)"


class OAuth1Query(httpx.Auth):
    """OAuth 1.0a one-legged signing in the query string, by oauthlib, for stores served over plain HTTP.

    WooCommerce refuses a timestamp more than 15 minutes from its own clock ("Invalid timestamp"). When it does,
    the offset to the store's clock is taken from the answer's ``Date`` header, kept for later requests, and the
    request is signed again once (with a fresh nonce). ``nonce`` and ``clock`` exist for tests that need a fixed
    signature; leave them out otherwise."""

    requires_response_body = True

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        nonce: Callable[[], str] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._key = _require(consumer_key, "consumer key")
        self._secret = _require(consumer_secret, "consumer secret")
        self._nonce = nonce
        self._clock = clock or (lambda: int(time.time()))
        self._offset = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "OAuth1Query(consumer_key=***, consumer_secret=***)"

    @property
    def clock_offset(self) -> int:
        """Seconds added to the client's clock to sign (learnt from the store; 0 until it refused one)."""
        with self._lock:
            return self._offset

    def sign(self, request: httpx.Request) -> None:
        """Put ``oauth_*`` parameters and the signature over the method, URL and query into the query string.
        The JSON body is not signed (RFC 5849 signs form bodies only, and WooCommerce follows it)."""
        client = Client(
            self._key,
            client_secret=self._secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_QUERY,
            nonce=self._nonce() if self._nonce else None,
            timestamp=str(self._clock() + self.clock_offset),
        )
        # Any oauth_* left by an earlier attempt is dropped first: each attempt is signed afresh.
        clean = [(k, v) for k, v in request.url.params.multi_items() if not k.startswith("oauth_")]
        url = request.url.copy_with(params=clean)
        signed, _, _ = client.sign(str(url), request.method)  # type: ignore[arg-type]
        request.url = httpx.URL(signed)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        response = yield request
        if response.status_code != 401 or b"timestamp" not in response.content.lower():
            return
        try:
            store_time = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self._offset = round(store_time - self._clock())
        self.sign(request)
        yield request


def pick_auth(
    url: str, consumer_key: str, consumer_secret: str, mode: AuthMode = "auto"
) -> BasicKeys | QueryKeys | OAuth1Query:
    """The auth for a store at ``url``: ``auto`` is Basic over HTTPS and OAuth 1.0a over HTTP (as WooCommerce
    requires); ``query`` sends the keys in the query string (HTTPS only); ``oauth1`` signs over either scheme."""
    https = httpx.URL(url).scheme == "https"
    if mode == "oauth1" or (mode == "auto" and not https):
        return OAuth1Query(consumer_key, consumer_secret)
    if not https:
        raise ConfigurationError(
            f"WooCommerce auth {mode!r} sends the consumer secret itself, which needs HTTPS; over plain HTTP use"
            " 'auto' or 'oauth1' (OAuth 1.0a signing)"
        )
    if mode == "query":
        return QueryKeys(consumer_key, consumer_secret)
    return BasicKeys(consumer_key, consumer_secret)
