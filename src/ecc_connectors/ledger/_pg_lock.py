"""One store, one syncer: the per-store download lock of :class:`~ecc_connectors.ledger.postgres.PostgresLedger`.

Theory of operation:

* **A session-level advisory lock** (``pg_try_advisory_lock``) keyed by the ledger's schema and the store, held
  on a connection of its own (not a pool's) for as long as the download runs. It lives and dies with that
  connection: a worker that crashes, is SIGKILLed or loses its machine drops the connection and the server
  releases the lock (at once for a dead process, whose kernel closes the socket; within about 25 s for a dead
  machine, through the TCP keepalives this connection asks the server for). No lease to renew, no clock to
  trust.
* **A fencing token** against the one case the lock alone cannot cover: a holder whose lock connection died
  (network blip, server restart) while its download goes on through the pool. Whoever takes the lock bumps the
  store's token in ``download_locks``; :meth:`PostgresLedger.commit_page` of a holder checks, inside the page's
  own transaction, that the store's token is still its own (``FOR SHARE``, so a take-over waits for a page in
  flight), and refuses the page with :class:`DownloadLockLost` otherwise. Pages of two holders never interleave.
* **Post-backs do not take it.** Ship, acknowledge, cancel and phone orders run under the action log's lease
  (:meth:`~ecc_connectors.ledger.ActionLog.begin_action`), per order: a web app may post back while a worker
  downloads the same store.
* **Busy is an answer, not a failure.** A second syncer gets :class:`StoreBusy` at once (or after ``wait``
  seconds of polling), naming the holder as the holder recorded itself; it skips the run or tries later.

:class:`DownloadLocking` is the ledger's side: :meth:`~DownloadLocking.download_lock` hands out the lock, with
its connection (keepalives set) made outside the pool, and :meth:`~DownloadLocking._check_fence` is the check a
page's transaction runs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

import psycopg

from .._errors import ConnectorError
from ._pg_connection import Conn, PostgresConnection, _typed

__all__ = ["DownloadLock", "DownloadLockLost", "DownloadLocking", "StoreBusy"]


class StoreBusy(ConnectorError):
    """Another syncer holds the store's download lock. ``holder`` is what it recorded (``"host:pid owner"``),
    ``since`` when it took the lock (both ``None`` when unknown)."""

    def __init__(self, store: str, holder: str | None, since: datetime | None) -> None:
        who = holder or "another syncer"
        when = f" since {since.isoformat()}" if since is not None else ""
        super().__init__(f"store {store!r} is being synced by {who}{when}; skipped")
        self.store = store
        self.holder = holder
        self.since = since


class DownloadLockLost(ConnectorError):
    """A page was refused because this syncer no longer holds the store's download lock (its lock connection
    died and another syncer took the store over). Nothing of the page was written; the run should stop."""

    def __init__(self, store: str, mine: int, current: int | None) -> None:
        super().__init__(
            f"ledger: commit_page failed: the download lock of store {store!r} was lost (token {mine}, now "
            f"{current}); another syncer took the store over, this page was not written"
        )
        self.store = store


class DownloadLock:
    """The download lock of one store, held while the object is entered (``with``, or ``async with`` from
    asyncio code) or until :meth:`release`.

    Made by :meth:`PostgresLedger.download_lock`; ``token`` is the fencing token this holder got, ``holder``
    what it recorded about itself."""

    def __init__(
        self,
        ledger: PostgresConnection,
        store: str,
        holder: str,
        wait: float,
        connect: Callable[[], psycopg.Connection[tuple[object, ...]]],
    ) -> None:
        self.store = store
        self.holder = holder
        self.token: int | None = None
        self._ledger = ledger
        self._key = (f"{ledger.schema}:{store}",)  # the advisory lock's key: one key space per database
        self._wait = wait
        self._connect = connect
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._nested = False
        self._task: tuple[str, int] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._nested

    def acquire(self) -> DownloadLock:
        """Take the lock, polling up to ``wait`` seconds; raises :class:`StoreBusy` when another holds it.

        Re-entrant in one thread of one ledger: taking the lock of a store this thread already holds through
        the same ledger (a task's helper around an engine that takes it too) succeeds at once and releases
        nothing when let go."""
        if self.held:
            return self
        ledger = self._ledger
        if ledger._lock_threads.get(self.store) == self._taker():
            self._nested = True
            self.token = ledger._held_locks.get(self.store)
            return self
        conn = self._connect()
        try:
            deadline = time.monotonic() + self._wait
            while True:
                row = conn.execute(self._ledger._sql("SELECT pg_try_advisory_lock({key})"), self._key).fetchone()
                if row is not None and row[0]:
                    break
                if time.monotonic() >= deadline:
                    found = conn.execute(
                        self._ledger._sql("SELECT holder, taken_at FROM {s}.download_locks WHERE store = %s"),
                        (self.store,),
                    ).fetchone()
                    holder, since = (str(found[0]), found[1]) if found is not None else (None, None)
                    assert since is None or isinstance(since, datetime)
                    raise StoreBusy(self.store, holder, since)
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            row = conn.execute(
                self._ledger._sql(
                    "INSERT INTO {s}.download_locks (store, token, holder, taken_at) VALUES (%s, 1, %s, now()) "
                    "ON CONFLICT (store) DO UPDATE SET token = {s}.download_locks.token + 1, "
                    "holder = excluded.holder, taken_at = excluded.taken_at RETURNING token"
                ),
                (self.store, self.holder),
            ).fetchone()
            assert row is not None
            assert isinstance(row[0], int)
            self.token = row[0]
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        ledger._held_locks[self.store] = self.token
        ledger._lock_threads[self.store] = self._taker()
        return self

    def release(self) -> None:
        """Let the lock go (closing its connection releases it on the server even if the unlock fails)."""
        if self._nested:
            self._nested = False
            return
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._ledger._held_locks.get(self.store) == self.token:
            del self._ledger._held_locks[self.store]
            self._ledger._lock_threads.pop(self.store, None)
        try:
            conn.execute(self._ledger._sql("SELECT pg_advisory_unlock({key})"), self._key)
        except psycopg.Error:
            pass  # the connection is gone already: so is the lock
        finally:
            conn.close()

    def __enter__(self) -> DownloadLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _taker(self) -> tuple[str, int]:
        """Who takes the lock, for re-entry: the asyncio task for ``async with`` (its blocking part runs on
        a worker thread, a different one each time), else the thread."""
        return self._task if self._task is not None else ("thread", threading.get_ident())

    async def __aenter__(self) -> DownloadLock:
        # For asyncio code (around AsyncConnector.download): the blocking connect and poll run in a thread; the
        # task that enters is who holds it, so a nested ``async with`` in the same task re-enters.
        self._task = ("task", id(asyncio.current_task()))
        return await asyncio.to_thread(self.acquire)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.release)

    def __repr__(self) -> str:
        state = f"held, token {self.token}" if self.held else "not held"
        return f"DownloadLock(store={self.store!r}, holder={self.holder!r}, {state})"


class DownloadLocking(PostgresConnection):
    """The download-lock role of :class:`~ecc_connectors.ledger.postgres.PostgresLedger`."""

    def download_lock(self, store: str, *, owner: str = "", wait: float = 0.0) -> DownloadLock:
        """The store's download lock, to hold around a download or reconcile (``with ledger.download_lock(s):``).

        Entering it raises :class:`StoreBusy` when another syncer (any process, any machine) holds the store,
        after polling for up to ``wait`` seconds. While it is held, every page this ledger commits for the store
        checks the lock's fencing token in its own transaction (:class:`DownloadLockLost` if another syncer took
        the store over). ``owner`` is recorded with ``host:pid`` so a busy answer can name the holder."""
        holder = f"{socket.gethostname()}:{os.getpid()}" + (f" {owner}" if owner else "")
        return DownloadLock(self, store, holder, wait, self._lock_connection)

    def _lock_connection(self) -> Conn:
        conn = self.connect(for_lock=True)
        try:
            # The server probes an idle lock holder: a vanished machine's lock is released in about 25 s
            # (10 s idle + 3 probes 5 s apart) instead of the kernel's default two hours.
            with _typed("download_lock"):
                conn.execute("SET tcp_keepalives_idle = 10")
                conn.execute("SET tcp_keepalives_interval = 5")
                conn.execute("SET tcp_keepalives_count = 3")
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_fence(self, conn: Conn, store: str) -> None:
        mine = self._held_locks.get(store)
        if mine is None:
            return
        row = conn.execute(
            self._sql("SELECT token FROM {s}.download_locks WHERE store = %s FOR SHARE"), (store,)
        ).fetchone()
        current = None if row is None else int(row[0])
        if current != mine:
            raise DownloadLockLost(store, mine, current)
