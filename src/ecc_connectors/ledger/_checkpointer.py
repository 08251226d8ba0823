"""Copying the SQLite ledger's write-ahead log into the database file from a thread of its own.

In WAL mode a commit only appends pages to the ``-wal`` file; a *checkpoint* later copies them into the
database file and syncs it. Left to itself, SQLite checkpoints inside the commit that takes the log past 1,000
pages, so every few page writes of a download one of them also copies and syncs a few megabytes (raw payloads
make a page of 100 orders about 2 MB). That commit holds the ledger's lock meanwhile, and the download's next
page waits for it: on a 2-core machine the checkpoints took 1.4 s of the ledger thread's 5.2 s in an 8,000-order
download (measured 2026-11-28).

So the ledger's own connection never checkpoints (``wal_autocheckpoint=0``) and a :class:`Checkpointer` does it
on a connection of its own: each commit wakes it, and it runs a ``PASSIVE`` checkpoint, the kind SQLite itself
runs, at most every ``interval`` seconds. WAL mode lets a checkpoint run while the next transaction writes:
the checkpoint copies what was committed when it began, and a commit appends behind it. ``sqlite3`` releases
the GIL while SQLite works, so the copying costs the download no Python time either.

Nothing changes for durability: committed pages are in the log, which SQLite reads back after a crash, and
``synchronous=NORMAL`` already syncs at checkpoints only. Closing the ledger stops the thread first; the main
connection, then the last one open, checkpoints what is left and removes the log, as SQLite always does.
A ledger kept across ``fork()`` has no checkpointer thread in the child; SQLite's rule applies anyway: open the
ledger in the process that uses it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import suppress

__all__ = ["Checkpointer", "start_checkpointer"]

logger = logging.getLogger("ecc_connectors.ledger")


class Checkpointer:
    """A thread that checkpoints the SQLite database at ``path`` after commits (see the module's text)."""

    def __init__(self, path: str, *, interval: float = 0.5) -> None:
        self.path = path
        self.interval = interval
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecc-ledger-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A commit happened: checkpoint soon."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (a checkpoint under way finishes first) and close its connection."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                # Another connection checkpointing, the disk full: the next commit wakes the thread again,
                # and the log stays readable meanwhile.
                logger.debug("ledger checkpoint of %s skipped: %s", self.path, exc)
            # Commits arriving meanwhile are gathered into the next checkpoint. Every 0.2 s cost more CPU than
            # every 0.5 or 1 s (the same b-tree pages copied again each time) for no gain in wall time.
            if self._stopping.wait(self.interval):
                return


def start_checkpointer(conn: sqlite3.Connection, path: str) -> Checkpointer:
    """Hand the checkpoints of ``conn`` (the ledger's connection to the database at ``path``) to a
    :class:`Checkpointer`."""
    checkpointer = Checkpointer(path)
    try:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    except BaseException:
        with suppress(sqlite3.Error):
            checkpointer.close()
        raise
    return checkpointer
