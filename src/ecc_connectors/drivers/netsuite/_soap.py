"""The zeep side of the driver: loading the WSDL, building envelopes, reading replies and faults.

zeep never sends anything here. Requests are built with the binding's ``_create`` (the same call zeep makes
before it posts) and turned into ``httpx.Request`` objects; replies are parsed strictly with lxml (never in
recover mode) and read with the operation's ``process_reply``. The only I/O zeep may do is loading a WSDL from a
URL, when configured to, and that goes through zeep's ``SqliteCache`` so it happens once per cache lifetime.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from ...driver import AuthenticationError, BrokenAnswer, ConfigurationError, RateLimited, StoreError, mark_idempotent

__all__ = [
    "PACKAGED_VERSION",
    "Fault",
    "SoapClient",
    "fault_from_response",
    "load_zeep_client",
    "namespaces",
    "packaged_wsdl",
    "zeep_settings",
]

PACKAGED_VERSION = "2023_2"
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# Faults meaning "too many requests at once": NetSuite did not act, so even a write may be sent again.
CONCURRENCY_CODES = frozenset({"WS_CONCUR_SESSION_DISALLWD", "WS_REQUEST_BLOCKED", "EXCEEDED_CONCURRENT_REQUEST_LIMIT"})
CONCURRENCY_FAULTS = frozenset({"exceededConcurrentRequestLimitFault", "exceededRequestLimitFault"})
CONCURRENCY_TEXTS = (
    "only one request may be made against a session at a time",
    "concurrent request limit exceeded",
)
AUTH_FAULTS = frozenset({"invalidCredentialsFault", "invalidAccountFault", "invalidSessionFault"})
AUTH_CODES = frozenset(
    {
        "INVALID_LOGIN",
        "INVALID_LOGIN_ATTEMPT",
        "INVALID_LOGIN_CREDENTIALS",
        "INVALID_ACCOUNT",
        "INVALID_ACCT",
        "INVALID_TOKEN",
        "INVALID_SIGNATURE",
        "INVALID_SESSION",
        "USER_ERROR_AMBIGUOUS_AUTHENTICATION",
    }
)


def namespaces(version: str) -> dict[str, str]:
    """The SuiteTalk namespaces of one endpoint version, by short name."""
    return {
        "core": f"urn:core_{version}.platform.webservices.netsuite.com",
        "msgs": f"urn:messages_{version}.platform.webservices.netsuite.com",
        "common": f"urn:common_{version}.platform.webservices.netsuite.com",
        "faults": f"urn:faults_{version}.platform.webservices.netsuite.com",
        "sales": f"urn:sales_{version}.transactions.webservices.netsuite.com",
        "acct": f"urn:accounting_{version}.lists.webservices.netsuite.com",
        "tns": f"urn:platform_{version}.webservices.netsuite.com",
    }


def packaged_wsdl(version: str = PACKAGED_VERSION) -> Path:
    """The project's compact WSDL for ``version`` (only 2023_2 ships)."""
    path = Path(__file__).resolve().parent / "wsdl" / version / "netsuite.wsdl"
    if not path.exists():
        raise ConfigurationError(
            f"no packaged WSDL for SuiteTalk {version} (packaged: {PACKAGED_VERSION}); "
            "set wsdl='account' to load it from your account, or give a local path"
        )
    return path


def zeep_settings(*, forbid_external: bool = True) -> Any:
    """Settings that read real payloads fully, and never repair or widen what they read.

    ``xsd_ignore_sequence_order`` matches children by name: NetSuite does not always write them in the schema's
    order, and without it zeep silently drops such a list (an order's ``itemList`` came back empty).
    ``strict=True`` while the WSDL loads: a schema cut short is an error, not a smaller schema (lxml's recover
    mode would make one and the disk cache would keep it for 30 days). After loading, :func:`load_zeep_client`
    turns ``strict`` off, which from then on only lets the *schema* read elements it does not declare (kept
    raw) and namespaces NetSuite writes loosely; replies never go through zeep's XML parser, whose recover mode
    turned a cut-short answer into a shorter "successful" one: :meth:`SoapClient.reply` parses them strictly.
    No DTDs or entities anywhere; ``forbid_external`` refuses schemas imported over HTTP (a local WSDL needs
    none; a WSDL loaded from a URL gets a transport that only fetches from its own and NetSuite's hosts).
    """
    zeep: Any = importlib.import_module("zeep")
    return zeep.Settings(
        strict=True,
        xsd_ignore_sequence_order=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=forbid_external,
    )


def _allowed_hosts(wsdl: str) -> frozenset[str]:
    host = urlsplit(wsdl).hostname or ""
    return frozenset({host.lower()}) if host else frozenset()


def _host_allowed(url: str, own: frozenset[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower()
    if host in own:
        return True
    return parts.scheme == "https" and (host == "netsuite.com" or host.endswith(".netsuite.com"))


_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ecc-connectors" / "zeep-wsdl.sqlite"


def load_zeep_client(wsdl: str, cache_path: Path | None = None, load_timeout: float = 60.0) -> Any:
    """A zeep ``Client`` for ``wsdl`` (a path or URL), shared per process: the parsed WSDL is read-only here.

    Remote WSDL and XSD files are kept in zeep's ``SqliteCache`` (30 days), so a new process does not fetch
    them again. ``load_timeout`` covers only WSDL loading; operation timeouts are the engine's (``Limits``).
    """
    key = (wsdl, str(cache_path or ""))
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            return client
    zeep: Any = importlib.import_module("zeep")
    cache_module: Any = importlib.import_module("zeep.cache")
    transports: Any = importlib.import_module("zeep.transports")
    exceptions: Any = importlib.import_module("zeep.exceptions")

    remote = wsdl.startswith(("http://", "https://"))
    cache = None
    transport_class = transports.Transport
    if remote:
        path = cache_path or default_cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = cache_module.SqliteCache(path=str(path), timeout=30 * 24 * 3600)
        own = _allowed_hosts(wsdl)

        class NetSuiteTransport(transports.Transport):  # type: ignore[misc]
            """Fetches schemas only from the WSDL's own host and NetSuite's (https); never local files."""

            def load(self, url: str) -> bytes:
                if not _host_allowed(url, own):
                    raise exceptions.ExternalReferenceForbidden(url)
                return bytes(super().load(url))

        transport_class = NetSuiteTransport
    transport = transport_class(cache=cache, timeout=load_timeout, operation_timeout=load_timeout)
    settings = zeep_settings(forbid_external=not remote)
    try:
        client = zeep.Client(wsdl, settings=settings, transport=transport)
    except (exceptions.XMLSyntaxError, exceptions.DTDForbidden, exceptions.EntitiesForbidden) as exc:
        raise ConfigurationError(f"the NetSuite WSDL at {wsdl} is not well-formed XML: {exc}") from None
    except exceptions.ExternalReferenceForbidden as exc:
        raise ConfigurationError(
            f"the NetSuite WSDL at {wsdl} imports {exc.url}, which is neither its own host nor NetSuite's"
        ) from None
    # Loaded strictly; from now on strictness only governs how the schema reads replies (see zeep_settings).
    client.settings.strict = False
    with _clients_lock:
        return _clients.setdefault(key, client)


@attrs.frozen
class Fault:
    """A SOAP fault as NetSuite sends it: ``faultcode``/``faultstring`` and the detail element's code."""

    fault_code: str
    message: str
    detail_name: str = ""
    code: str = ""

    @property
    def is_concurrency(self) -> bool:
        return (
            self.code in CONCURRENCY_CODES
            or self.detail_name in CONCURRENCY_FAULTS
            or any(text in self.message.lower() for text in CONCURRENCY_TEXTS)
        )

    @property
    def is_authentication(self) -> bool:
        return self.detail_name in AUTH_FAULTS or self.code in AUTH_CODES

    def error(self) -> Exception:
        text = f"NetSuite: {self.message or self.fault_code}"
        if self.is_concurrency:
            return RateLimited(f"{text} ({self.code or self.detail_name}); retries ran out")
        if self.is_authentication:
            return AuthenticationError(f"{text} ({self.code or self.detail_name})")
        return StoreError(
            text,
            code=self.code or self.detail_name or self.fault_code,
            http_status=None,
            store="netsuite",
            detail={"fault": self.detail_name, "faultcode": self.fault_code},
        )


def _fault_from_root(root: Any) -> Fault | None:
    from lxml import etree

    fault = root.find(f"{{{_SOAP_ENV}}}Body/{{{_SOAP_ENV}}}Fault")
    if fault is None:
        return None
    code = fault.findtext("faultcode") or ""
    message = fault.findtext("faultstring") or ""
    detail_name = detail_code = ""
    detail = fault.find("detail")
    if detail is not None:
        for child in detail:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "hostname":
                continue
            detail_name = name
            for part in child:
                if isinstance(part.tag, str) and etree.QName(part).localname == "code":
                    detail_code = (part.text or "").strip()
                elif isinstance(part.tag, str) and etree.QName(part).localname == "message" and part.text:
                    # The detail message is the precise one (the faultstring is sometimes a stale copy).
                    message = part.text.strip()
            break
    return Fault(code, message, detail_name, detail_code)


def fault_from_response(response: httpx.Response) -> Fault | None:
    """The SOAP fault in ``response``, or ``None`` when there is none (or the body is not XML)."""
    content = response.content
    if b"Fault" not in content:
        return None
    from lxml import etree

    try:
        root = etree.fromstring(content, parser=_strict_parser())
    except etree.XMLSyntaxError:
        return None
    return _fault_from_root(root)


class SoapClient:
    """Builds requests and reads replies for one endpoint; holds no credentials of its own beyond signing."""

    def __init__(self, client: Any, version: str, endpoint: str, passport: Any) -> None:
        self.client = client
        self.version = version
        self.endpoint = endpoint
        self.ns = namespaces(version)
        self._binding = client.service._binding
        self._passport = passport  # callable returning a fresh passport dict

    def type(self, prefix: str, name: str) -> Any:
        return self.client.get_type(f"{{{self.ns[prefix]}}}{name}")

    def element(self, prefix: str, name: str) -> Any:
        return self.client.get_element(f"{{{self.ns[prefix]}}}{name}")

    def request(
        self,
        operation: str,
        body: Mapping[str, Any],
        *,
        search_preferences: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> httpx.Request:
        from lxml import etree

        passport = dict(self._passport())
        passport["signature"] = {"_value_1": passport["signature"], "algorithm": "HMAC-SHA256"}
        headers: list[Any] = [self.element("msgs", "tokenPassport")(**passport)]
        if search_preferences is not None:
            headers.append(self.element("msgs", "searchPreferences")(**search_preferences))
        envelope, http_headers = self._binding._create(
            operation,
            (),
            {**body, "_soapheaders": headers},
            client=self.client,
            options={"address": self.endpoint},
        )
        content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        request = httpx.Request(
            "POST",
            self.endpoint,
            content=content,
            headers={"Content-Type": http_headers["Content-Type"], "SOAPAction": http_headers["SOAPAction"]},
        )
        return mark_idempotent(request) if idempotent else request

    def reply(self, operation: str, response: httpx.Response, *, read: bool = False) -> Any:
        """The body of the reply (``searchResult``, ``readResponse``...), or the typed error it stands for.

        The XML is parsed strictly: an answer cut short, or one that is not the operation's envelope, never
        becomes a shorter successful one. On a ``read`` (search, get, initialize) such a 2xx answer raises
        :class:`BrokenAnswer`, which the engine asks again for; on a write it is a :class:`StoreError` (the
        write may have happened: the driver checks the store before it writes again)."""
        from lxml import etree

        status = response.status_code
        content = response.content
        broken = BrokenAnswer if read and status < 300 else StoreError
        if not content.lstrip().startswith(b"<"):
            raise broken(
                f"NetSuite answered HTTP {status} without a SOAP envelope",
                code=f"HTTP_{status}" if status >= 300 else "NO_ENVELOPE",
                http_status=status,
                store="netsuite",
            )
        try:
            doc = etree.fromstring(content, parser=_strict_parser())
        except etree.XMLSyntaxError as exc:
            raise broken(
                f"NetSuite answered with XML that does not parse (cut short?): {exc}",
                code="BAD_XML",
                http_status=status,
                store="netsuite",
            ) from None
        if doc.getroottree().docinfo.doctype:
            raise StoreError(
                "NetSuite's answer carries a DTD, which is never read", code="DTD_FORBIDDEN", store="netsuite"
            )
        fault = _fault_from_root(doc)
        if fault is not None:
            raise fault.error()
        if status >= 400:
            raise StoreError(
                f"NetSuite answered HTTP {status}", code=f"HTTP_{status}", http_status=status, store="netsuite"
            )
        part = _REPLY_PARTS.get(operation)
        body = doc.find(f"{{{_SOAP_ENV}}}Body") if doc.tag == f"{{{_SOAP_ENV}}}Envelope" else None
        answer = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        if answer is None or etree.QName(answer).localname != f"{operation}Response":
            raise broken(
                f"NetSuite's answer to {operation} is not a {operation}Response envelope",
                code="NO_ENVELOPE",
                http_status=status,
                store="netsuite",
            )
        try:
            result = self._binding.get(operation).process_reply(doc)
        except Exception as exc:  # zeep's own errors: the envelope does not read as the operation's answer
            raise broken(
                f"NetSuite's answer to {operation} does not read: {type(exc).__name__}: {exc}",
                code="BAD_ENVELOPE",
                http_status=status,
                store="netsuite",
            ) from None
        result = result.body if hasattr(result, "body") else result
        if part is not None:
            inner = getattr(result, part, None)
            if inner is None or getattr(inner, "status", None) is None:
                raise broken(
                    f"NetSuite's answer to {operation} has no {part} with a status",
                    code="NO_ENVELOPE",
                    http_status=status,
                    store="netsuite",
                )
        return result


# What each operation's answer must hold (each with a ``status``): anything less is a broken answer.
_REPLY_PARTS = {
    "search": "searchResult",
    "searchMoreWithId": "searchResult",
    "get": "readResponse",
    "initialize": "readResponse",
    "getList": "readResponseList",
    "add": "writeResponse",
    "update": "writeResponse",
}


def _strict_parser() -> Any:
    """lxml without recover mode (a document cut short is an error), entities, DTDs or network, and with lxml's
    limits on (no ``huge_tree``): a reply nested thousands deep or with a text node over 10 MB is refused, not
    parsed. A page of 200 orders is a few megabytes in all, far inside them."""
    from lxml import etree

    return etree.XMLParser(
        recover=False,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
    )


def status_details(status: Any) -> Sequence[Any]:
    return list(getattr(status, "statusDetail", None) or ())


def raise_for_status(status: Any, *, order_id: str | None = None, what: str = "") -> None:
    """Raise the typed error a ``status isSuccess="false"`` stands for; return when it succeeded."""
    if status is None or getattr(status, "isSuccess", True) is not False:
        return
    details = status_details(status)
    errors = [d for d in details if (getattr(d, "type", None) or "ERROR") == "ERROR"] or details
    code = str(getattr(errors[0], "code", "") or "") if errors else ""
    message = "; ".join(str(getattr(d, "message", "") or getattr(d, "code", "")) for d in errors) or "failed"
    prefix = f"NetSuite {what}: " if what else "NetSuite: "
    if code in AUTH_CODES:
        raise AuthenticationError(f"{prefix}{message} ({code})")
    raise StoreError(f"{prefix}{message}", code=code or None, store="netsuite", order_id=order_id)


def status_codes(status: Any) -> set[str]:
    return {str(getattr(d, "code", "") or "") for d in status_details(status)}
