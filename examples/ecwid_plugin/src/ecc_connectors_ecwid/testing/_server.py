"""The fake Ecwid store on a real local socket: an HTTP server that hands each request to :func:`route`.

Kept to moving bytes, so that the dialect (``_dialect.py``) can move onto the SDK's reusable fake-store base
(``ecc_connectors.testing.base``) unchanged once that exists.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._dialect import EcwidShop, Received, route

__all__ = ["FakeEcwidStore"]


class FakeEcwidStore:
    """A fake Ecwid store on ``127.0.0.1`` (an ephemeral port, its own thread)::

        with FakeEcwidStore(orders=50) as store:
            driver = EcwidDriver(store.store_id, store.token, base_url=store.base_url)

    ``clock`` is the store's own time in UNIX seconds (its stamps and its ``Date`` header); ``latency`` adds
    seconds to every answer. ``store.shop`` holds the orders and the knobs (``throttle``, ``fail``,
    ``lose_write_answers``, ``edit``, ``on_listing``)."""

    def __init__(
        self,
        orders: int = 0,
        *,
        seed: int = 1,
        store_id: int = 1003,
        token: str = "secret_fake_token",
        clock: Callable[[], float] = time.time,
        latency: float = 0.0,
    ) -> None:
        self.shop = EcwidShop(store_id, token, clock)
        self.latency = latency
        if orders:
            now = self.shop.now()
            self.shop.seed(orders, start=now - 30 * 86400, end=now - 3600, seed=seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-ecwid", daemon=True)

    @property
    def store_id(self) -> int:
        return self.shop.store_id

    @property
    def token(self) -> str:
        return self.shop.token

    @property
    def base_url(self) -> str:
        """What the driver takes as ``base_url`` (the store id is added by the driver)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/v3"

    @property
    def requests(self) -> list[Received]:
        return self.shop.requests

    def __enter__(self) -> FakeEcwidStore:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(store.shop.clock(), usegmt=True)

            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                headers = {key.lower(): value for key, value in self.headers.items()}
                answer = route(store.shop, self.command, url.path, dict(parse_qsl(url.query)), body, headers)
                if store.latency:
                    time.sleep(store.latency)
                payload = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

        return Handler
