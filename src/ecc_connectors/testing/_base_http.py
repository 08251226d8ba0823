"""The HTTP side of the fake-store base (``base.FakeStore``): what a request and an answer are, and the
threaded server that carries them over a real socket.

* :class:`ReceivedRequest`: one request as the store received it (logged, passed to hooks and handlers);
* :class:`Answer`: an answer before the wire (status, JSON body, headers, and a pending cut);
* :class:`Route`: one entry of a store's route table;
* :class:`HttpError`: raised by a handler (or an auth check) to answer with an error body;
* ``Server`` / ``Handler``: ``ThreadingHTTPServer`` with keep-alive, ``TCP_NODELAY``, a ``Date`` header read from
  the store's own clock, and ``close_open_connections`` so a stopped store really stops answering;
* wire helpers: ``dumps`` / ``loads`` (msgspec), ``http_date``, ``truncate``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import attrs
import msgspec

_encoder = msgspec.json.Encoder()


def dumps(value: Any) -> bytes:
    return _encoder.encode(value)


def loads(data: bytes) -> Any:
    return msgspec.json.decode(data)


__all__ = [
    "JSON_CONTENT_TYPE",
    "Answer",
    "Handler",
    "HttpError",
    "ReceivedRequest",
    "Route",
    "Server",
    "dumps",
    "http_date",
    "loads",
    "truncate",
]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@attrs.frozen
class ReceivedRequest:
    """One request as the store received it. Headers and body stay out of the repr: they hold secrets.

    ``path`` is percent-decoded and without the query; ``query`` the decoded ``(name, value)`` pairs in the
    order sent; ``raw_url`` the URL exactly as the client sent it (``http://<Host header><target>``), which is
    what a signature (OAuth 1.0a) covers."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    received_at: float = attrs.field(repr=False)
    raw_url: str = attrs.field(default="", repr=False, eq=False)

    @property
    def url(self) -> str:
        if not self.query:
            return self.path
        return f"{self.path}?{urllib.parse.urlencode(self.query)}"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        return next((v for k, v in self.query if k == name), default)


@attrs.define
class Answer:
    """An answer before the wire. ``truncate_to`` (set by the ``short_bodies`` and ``lose_write_answers``
    faults) cuts the body to that fraction of its bytes when the answer is finished."""

    status: int
    body: bytes
    headers: dict[str, str] = attrs.field(factory=dict)
    content_type: str = JSON_CONTENT_TYPE
    truncate_to: float | None = None


@attrs.frozen
class Route:
    """One entry of the route table: ``method``, a ``pattern`` matched in full against :meth:`FakeStore.route_path`
    (its groups are passed to the handler), the ``handler``, and ``auth``: ``None`` for an anonymous route,
    anything else for a protected one (passed to :meth:`FakeStore.check_auth`, e.g. the permission it needs)."""

    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Any]
    auth: object = True


class HttpError(Exception):
    """Raise from a handler (or ``check_auth`` / ``route_path``) to answer ``status`` with the store's error body
    (``FakeStore.error_answer``): ``message``, ``parameters`` and extra ``headers``."""

    def __init__(
        self, status: int, message: str, parameters: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = [] if parameters is None else parameters
        self.headers = dict(headers or {})


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) of an aware or naive (local) datetime."""
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def truncate(body: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of ``body``, always at least one byte shorter (an empty body stays empty)."""
    if not body:
        return body
    keep = min(len(body) - 1, max(0, int(len(body) * fraction)))
    return body[:keep]


class Serves(Protocol):
    """What the server needs of the store behind it (``FakeStore``)."""

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, raw_url: str) -> Answer | None:
        ...

    def crash_answer(self, exc: BaseException) -> Answer:
        ...

    def http_date(self) -> str:
        ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], store: Serves) -> None:
        super().__init__(address, handler)
        self.store = store
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a killed worker, a cancelled request) is what a store sees every day: not worth
        # a traceback on stderr. Anything else is still printed.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        """Hang up on kept-alive clients, so a stopped store really stops answering."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        # Without this, small keep-alive responses wait on delayed ACKs (tens of ms each).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header ``send_response`` adds: the store's clock, not the host's (one header only)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return self.server.store.http_date()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _serve(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        raw_url = f"http://{host}{self.path}"
        store = self.server.store
        try:
            answer = store.handle(self.command, self.path, headers, body, raw_url)
        except Exception as exc:  # a bug in the fake must still produce an answer the client can read
            answer = store.crash_answer(exc)
        if answer is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
