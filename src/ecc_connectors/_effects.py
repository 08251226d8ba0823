"""The effects the engine's core yields, and how a shell must answer each.

The core (``_engine._Core``) does no I/O and waits for nothing: every operation is a generator that yields one
of these values and is resumed with the answer (or has the error thrown in at that point). The two shells,
``Connector`` (threads) and ``AsyncConnector`` (asyncio), are interpreters of this small language:

=================  ==========================================================  ==============================
effect             meaning                                                     answer
=================  ==========================================================  ==============================
``Run(flow)``      run a driver flow to its end                                the flow's result
``Submit(flow)``   start a flow; its first request goes out at once            a ticket (int)
``Await(ticket)``  finish a started flow                                       the flow's result
``Ready(tickets)`` which of these started flows have finished (never waits)     the finished tickets (tuple)
``Write(batch)``   commit a page on the ledger thread, in order, and go on     nothing
``Flush()``        wait until the page being written is committed              nothing (its error raised)
``Progress(...)``  call the caller's progress callback on the caller's side    nothing
``StoreNow()``     the store's own time, from the ``Date`` of its answers      ``datetime`` or ``None``
``RoundTrip()``    how long the store's latest answer took, send to last byte  seconds (``float``) or ``None``
=================  ==========================================================  ==============================
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

import attrs

from ._driver import Driver, Flow
from .ledger import PageBatch

__all__ = [
    "Await",
    "CoreGen",
    "Effect",
    "Flush",
    "Progress",
    "ProgressCallback",
    "Ready",
    "RoundTrip",
    "Run",
    "StoreNow",
    "Submit",
    "Write",
]

T = TypeVar("T")

ProgressCallback = Callable[[int, int | None], None]


@attrs.frozen
class Run:
    flow: Flow[Any]
    driver: Driver | None = None  # None: the store's own driver


@attrs.frozen
class Submit:
    flow: Flow[Any]


@attrs.frozen
class Await:
    ticket: int


@attrs.frozen
class Ready:
    """Which of the started flows ``tickets`` have finished (their ``Await`` would answer at once), in the
    order given. Never waits."""

    tickets: tuple[int, ...]


@attrs.frozen
class Write:
    """Commit this page on the shell's writer thread (one at a time, in order) and go on meanwhile."""

    batch: PageBatch


@attrs.frozen
class Flush:
    """Wait until the page being written is committed; its error, if any, is raised here."""


@attrs.frozen
class Progress:
    """Call the caller's progress callback, on the caller's side."""

    callback: ProgressCallback
    done: int
    total: int | None


@attrs.frozen
class StoreNow:
    """The store's clock as its answers' ``Date`` headers tell it (erring early), ``None`` before any."""


@attrs.frozen
class RoundTrip:
    """How long the store's latest answer took, from sending the request to its last byte, in seconds;
    ``None`` before any answer."""


Effect = Run | Submit | Await | Ready | Write | Flush | Progress | StoreNow | RoundTrip
CoreGen = Generator[Effect, Any, T]
