"""Token-based authentication for SuiteTalk SOAP: the ``tokenPassport`` header.

NetSuite refuses a nonce it has seen before, so every send (retries included) needs a fresh nonce, timestamp
and signature. :class:`TokenPassportAuth` is an ``httpx.Auth``: the engine hands it every request it sends,
and it rewrites the passport inside the envelope just before the bytes go out. The driver also signs the
passport when it builds a request, so a request sent without the auth (a bare ``httpx.Client``) is still valid
once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Generator
from typing import Any

import attrs
import httpx

from .._netsuite_common import account_host, passport_account, valid_account

__all__ = [
    "SIGNATURE_ALGORITHM",
    "TokenCredentials",
    "TokenPassportAuth",
    "account_host",
    "passport_account",
    "passport_signature",
    "valid_account",
]

SIGNATURE_ALGORITHM = "HMAC-SHA256"
_NONCE_ALPHABET = string.ascii_letters + string.digits


def passport_signature(
    account: str,
    consumer_key: str,
    token_id: str,
    nonce: str,
    timestamp: int,
    consumer_secret: str,
    token_secret: str,
) -> str:
    """Base64 HMAC-SHA256 of ``account&consumerKey&token&nonce&timestamp``, keyed with
    ``consumerSecret&tokenSecret``."""
    base = "&".join((passport_account(account), consumer_key, token_id, nonce, str(timestamp)))
    key = f"{consumer_secret}&{token_secret}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _not_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or not value.strip():
        raise ValueError(f"NetSuite {attribute.name} is empty")


def _account(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    _not_empty(_inst, attribute, value)
    valid_account(value)


def _stripped(value: object) -> str:
    """Credentials pasted with a trailing newline or space sign a different base string: strip them."""
    return str(value).strip()


@attrs.frozen
class TokenCredentials:
    """An integration record's consumer key/secret and an access token for a user and role.

    The secrets never appear in ``repr`` (and so never in logs or exception text built from this object).
    Every value is stripped of surrounding whitespace; the account id must be one (:func:`valid_account`).
    """

    account: str = attrs.field(converter=_stripped, validator=_account)
    consumer_key: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    consumer_secret: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    token_id: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)
    token_secret: str = attrs.field(converter=_stripped, validator=_not_empty, repr=False)

    def passport(self, nonce: str | None = None, timestamp: int | None = None) -> dict[str, object]:
        """A signed passport as plain values (``nonce`` and ``timestamp`` are fresh unless given)."""
        nonce = nonce if nonce is not None else new_nonce()
        timestamp = timestamp if timestamp is not None else int(time.time())
        return {
            "account": passport_account(self.account),
            "consumerKey": self.consumer_key,
            "token": self.token_id,
            "nonce": nonce,
            "timestamp": timestamp,
            "signature": passport_signature(
                self.account,
                self.consumer_key,
                self.token_id,
                nonce,
                timestamp,
                self.consumer_secret,
                self.token_secret,
            ),
        }


def new_nonce(length: int = 24) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


class TokenPassportAuth(httpx.Auth):
    """Re-signs the ``tokenPassport`` in each outgoing SOAP envelope with a fresh nonce and timestamp."""

    requires_request_body = True  # the passport is inside the body

    def __init__(self, credentials: TokenCredentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"TokenPassportAuth(account={self._credentials.account!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.sign(request)

    def sign(self, request: httpx.Request) -> httpx.Request:
        """A copy of ``request`` whose passport carries a fresh nonce, timestamp and signature."""
        from lxml import etree

        body = request.content
        if b"tokenPassport" not in body:
            return request
        root = etree.fromstring(body)
        found = root.xpath("//*[local-name()='Header']/*[local-name()='tokenPassport']")
        passports: list[Any] = list(found) if isinstance(found, list) else []
        if not passports:
            return request
        values = self._credentials.passport()
        for child in passports[0]:
            name = etree.QName(child).localname
            if name in values:
                child.text = str(values[name])
            if name == "signature":
                child.set("algorithm", SIGNATURE_ALGORITHM)
        content = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        headers = httpx.Headers(request.headers)
        headers.pop("Content-Length", None)
        return httpx.Request(
            request.method, request.url, headers=headers, content=content, extensions=request.extensions
        )
