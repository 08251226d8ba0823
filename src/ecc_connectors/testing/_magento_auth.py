"""Credentials of the fake Magento store: an integration's OAuth 1.0a keys and the signature check.

Magento accepts a request signed with HMAC-SHA256 (or SHA1) over the method, the URL as sent and every
parameter (RFC 5849), keyed with the consumer secret and the access token secret. The store checks the signature
itself, so a driver that signs wrongly is refused with a 401 as a real store would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any, cast

import attrs

__all__ = ["MagentoOAuthKeys", "oauth_valid"]


@attrs.frozen
class MagentoOAuthKeys:
    """The four OAuth 1.0a values of a Magento integration; requests signed with them are accepted."""

    consumer_key: str
    consumer_secret: str = attrs.field(repr=False)
    access_token: str
    access_token_secret: str = attrs.field(repr=False)


def oauth_valid(keys: MagentoOAuthKeys, method: str, full_url: str, authorization: str) -> bool:
    """Whether ``authorization`` (an ``OAuth ...`` header) signs ``method`` + ``full_url`` with ``keys``."""
    from oauthlib.oauth1.rfc5849 import signature, utils

    try:
        params = dict(utils.parse_authorization_header(authorization))
    except ValueError:
        return False
    required = {
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_nonce",
        "oauth_timestamp",
    }
    if not required <= params.keys():
        return False
    if params["oauth_consumer_key"] != keys.consumer_key or params["oauth_token"] != keys.access_token:
        return False
    query = urllib.parse.urlsplit(full_url).query
    collected = signature.collect_parameters(
        uri_query=query, headers={"Authorization": authorization}, exclude_oauth_signature=True
    )
    base = signature.signature_base_string(
        cast(Any, method.upper()),
        signature.base_string_uri(full_url),
        signature.normalize_parameters(cast(Any, collected)),
    )
    digests = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
    digest = digests.get(params["oauth_signature_method"])
    if digest is None:
        return False
    # RFC 5849 3.4.2: the key is the escaped consumer secret and token secret joined by "&".
    key = f"{utils.escape(keys.consumer_secret)}&{utils.escape(keys.access_token_secret)}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()
    # The header carries the signature percent-encoded.
    return hmac.compare_digest(expected, utils.unescape(params["oauth_signature"]))
