"""The PostgreSQL ledger's connections: the pool, one transaction per call, typed errors, and the schema migrated
on open. The bottom layer of :class:`~ecc_connectors.ledger.postgres.PostgresLedger`.

Theory of operation
-------------------
* **A connection pool** (``psycopg_pool.ConnectionPool``) shared by the threads of a process: the engine's
  ledger thread, the async shell's worker threads, a web app's request threads. Each call borrows a connection
  for its one transaction (:meth:`PostgresConnection._transaction`: committed when the block ends, rolled back
  when it raises); broken connections are checked for and replaced on the way out of the pool. Reads of several
  statements run ``REPEATABLE READ READ ONLY`` (:meth:`PostgresConnection._snapshot`: one snapshot). Every
  connection answers stamps in UTC, whatever the server's default zone.
* **Versioned schema** in a schema of its own (:mod:`._pg_schema`), migrated on open, each step in its own
  transaction under an advisory lock keyed by the schema (workers opening together migrate once); a schema from
  a newer SDK is refused.
* **Typed errors.** A server or connection failure (``OperationalError``: connection lost, disk full, a
  deadlock, a pool timeout) leaves a public method as :class:`~ecc_connectors.ConnectorError` beginning
  ``"ledger: <operation> failed"``, with the psycopg error as its cause. Integrity, data and programming errors
  (bugs, not the environment) stay as they are.
* **Secrets.** The connection string may hold a password: it is never in a repr or a message of this module
  (:meth:`PostgresConnection._where` names host, port, database and schema only).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from .._errors import ConfigurationError, ConnectorError
from ._pg_schema import PG_MIGRATIONS, POSTGRES, check_schema_name, lock_key_sql
from ._storage import Storage

__all__ = ["Conn", "PostgresConnection"]

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def _typed(operation: str) -> Iterator[None]:
    """Turn a server or connection failure into ``ConnectorError`` naming the operation; bugs pass through."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise ConnectorError(f"ledger: {operation} failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresConnection(Storage):
    """The pool, transactions and schema of :class:`~ecc_connectors.ledger.postgres.PostgresLedger` (its
    constructor's arguments are documented there)."""

    _dialect = POSTGRES

    def __init__(
        self,
        conninfo: str = "",
        *,
        schema: str = "ecc",
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 30.0,
        connect_kwargs: Mapping[str, Any] | None = None,
        lock_conninfo: str | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.lock_conninfo = conninfo if lock_conninfo is None else lock_conninfo
        self.schema = schema
        self._s = check_schema_name(schema)
        self._kwargs: dict[str, Any] = {**(connect_kwargs or {}), "autocommit": False}
        self._held_locks: dict[str, int | None] = {}  # store -> fencing token of the lock this instance holds
        self._lock_threads: dict[str, tuple[str, int]] = {}  # store -> the thread or task that took it (re-entry)
        self._closed = False
        self._lock = threading.Lock()
        with _typed(f"opening {self._where()}"):
            self._pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max(max_size, min_size),
                timeout=timeout,
                kwargs=self._kwargs,
                configure=self._configure,
                check=psycopg_pool.ConnectionPool.check_connection,
                name=f"ecc-ledger-{schema}",
                open=False,
            )
            try:
                self._pool.open(wait=True, timeout=timeout)
                self.version = self._migrate()
            except BaseException:
                self._pool.close()
                raise

    def _where(self) -> str:
        """Where the ledger lives, without credentials: ``host:port/dbname schema``."""
        try:
            parts = conninfo_to_dict(self.conninfo)
        except psycopg.ProgrammingError:
            return f"PostgreSQL (schema {self.schema})"
        host = parts.get("host") or os.environ.get("PGHOST") or "localhost"
        port = parts.get("port") or os.environ.get("PGPORT") or 5432
        db = parts.get("dbname") or os.environ.get("PGDATABASE") or "postgres"
        return f"PostgreSQL {host}:{port}/{db} (schema {self.schema})"

    def __repr__(self) -> str:
        return f"PostgresLedger({self._where()})"

    @staticmethod
    def _configure(conn: Conn) -> None:
        # Stamps come back in UTC whatever the server's default zone (messages quote them).
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()

    def _sql(self, template: str) -> str:
        return template.replace("{s}", self._s).replace("{key}", lock_key_sql("%s"))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    # -- connections ---------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Conn]:
        """One transaction on a pooled connection: committed when the block ends, rolled back when it
        raises."""
        with _typed(operation), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _snapshot(self, operation: str) -> Iterator[Conn]:
        """A read-only transaction whose statements all see one snapshot."""
        with self._transaction(operation) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def _query(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._transaction(operation) as conn:
            return conn.execute(sql, params).fetchall()

    def connect(self, *, for_lock: bool = False) -> Conn:
        """A new connection of this ledger's server outside the pool, in autocommit mode (the download lock
        holds one, on ``lock_conninfo`` when ``for_lock``; also handy for tools). The caller closes it."""
        kwargs = {**self._kwargs, "autocommit": True}
        with _typed(f"connecting to {self._where()}"):
            conn: Conn = psycopg.connect(self.lock_conninfo if for_lock else self.conninfo, **kwargs)
            try:
                self._configure(conn)
            except BaseException:
                conn.close()
                raise
            return conn

    # -- schema --------------------------------------------------------------------------------------------

    def _migrate(self, upto: int | None = None) -> int:
        """Bring the schema up to ``upto`` (default: the newest), each step in its own transaction under an
        advisory lock keyed by the schema (workers opening together migrate once). Returns the version."""
        target = len(PG_MIGRATIONS) if upto is None else upto
        current = -1
        while current < target:
            with self._transaction("migrating the schema") as conn:
                conn.execute(self._sql("SELECT pg_advisory_xact_lock({key})"), (f"migrate:{self.schema}",))
                conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {s}"))
                conn.execute(self._sql("CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)"))
                row = conn.execute(self._sql("SELECT version FROM {s}.schema_version")).fetchone()
                current = int(row[0]) if row else 0
                if current > len(PG_MIGRATIONS):
                    raise ConfigurationError(
                        f"the ledger in {self._where()} has schema version {current}, newer than this "
                        f"ecc-connectors understands ({len(PG_MIGRATIONS)}); upgrade ecc-connectors"
                    )
                if current >= target:
                    break
                for statement in self._sql(PG_MIGRATIONS[current]).split(";"):
                    if statement.strip():
                        conn.execute(statement.encode())
                conn.execute(self._sql("DELETE FROM {s}.schema_version"))
                conn.execute(self._sql("INSERT INTO {s}.schema_version (version) VALUES (%s)"), (current + 1,))
                current += 1
        return current
