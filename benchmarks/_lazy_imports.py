"""Modules httpx imports only when a client is first made or first sends, imported before a clock starts.

httpx loads httpcore, h11, anyio's asyncio backend and certifi lazily, inside the first client or request. Left
there, every timed run (the SDK's and the reference loops' alike) pays for importing some seventy modules, and
more where bytecode is not cached (``PYTHONDONTWRITEBYTECODE``, as on the CI machines): about 0.2 s of a 4 s run
measured on 2026-11-28. The benchmarks time work after imports, so both sides import these first.
"""

from __future__ import annotations

import importlib

FIRST_USE = ("httpcore", "h11", "anyio", "anyio._backends._asyncio", "anyio.streams.tls", "certifi")


def import_first_use() -> None:
    for name in FIRST_USE:
        importlib.import_module(name)
