"""What a worker process needs to sync any store of the registry, built once per process and lazily.

Theory of operation:

* **Per process, after the fork.** Celery's prefork pool forks workers from a parent; a database pool or a
  Redis connection made before the fork would be shared by children and corrupted. :class:`Fleet` makes its
  :class:`~ecc_connectors.ledger.postgres.PostgresLedger` and its Redis client on first use in each process
  (keyed by pid), never at import.
* **A connector per task.** Each task builds the store's driver from the registry (secrets resolved then, in
  the worker), an ``httpx`` client whose transport takes tokens from the store's shared bucket, and a
  :class:`~ecc_connectors.Connector` on the shared ledger; all of it is closed when the task ends.
* **One store, one syncer.** :func:`sync_store` runs a download or reconcile inside the ledger's per-store
  download lock (:meth:`PostgresLedger.download_lock`). A store held by another worker is *skipped and
  reported* (``{"skipped": "busy", "holder": ...}``), never waited on by default: the holder is already doing
  the work, and the next beat tick comes anyway. Post-backs do not take the lock (the action lease guards them).
* **Idempotent by construction.** A download resumes from the committed high-water mark; a reconcile compares
  and repairs; a post-back is logged under its idempotency key. Running a task twice (a redelivery after a
  worker died, a beat tick during a long run) does no harm, so Celery may redeliver freely (``acks_late``) and
  the task itself never retries: the SDK's own retry rules handle the store's answers inside one run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx

from ... import ConfigurationError, Connector, Driver, get_driver
from ...ledger.postgres import PostgresLedger, StoreBusy
from ._ratelimit import FleetTransport, RedisTokenBucket
from ._registry import Resolver, StoreConfig, StoreRegistry

__all__ = ["Fleet", "SyncOutcome", "sync_store"]

SYNCER_HEADER = "X-Ecc-Syncer"


@attrs.frozen
class SyncOutcome:
    """What one task did for one store: ``ran`` (with ``report``, the engine's report as a dict) or ``skipped``
    (``"busy"``, with the ``holder`` of the store's lock)."""

    store: str
    operation: str
    ran: bool
    report: Mapping[str, Any] | None = None
    skipped: str | None = None
    holder: str | None = None
    seconds: float = 0.0
    waited_for_rate: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _report_dict(report: Any) -> dict[str, Any]:
    data = {key: _jsonable(value) for key, value in attrs.asdict(report).items()}
    if hasattr(report, "seen"):
        data["seen"] = report.seen
    return data


@contextmanager
def sync_store(ledger: PostgresLedger, connector: Connector, *, owner: str = "", wait: float = 0.0) -> Iterator[None]:
    """Hold the store's download lock around a download or reconcile of ``connector``'s store::

        with sync_store(ledger, connector, owner="nightly"):
            connector.reconcile()

    The lock is keyed by the driver's store id (``connector.store``), so every process that syncs the same
    store with any registry name contends for it. Raises :class:`~ecc_connectors.ledger.postgres.StoreBusy`
    when another syncer holds it (after ``wait`` seconds). ``Connector.download`` and ``reconcile`` take the
    lock themselves (without waiting); this holds it across several operations, or with a ``wait`` or an
    ``owner`` (the lock is re-entrant within one thread of one ledger, so the engine's own take nests)."""
    with ledger.download_lock(connector.store, owner=owner, wait=wait):
        yield


class Fleet:
    """The registry plus the per-process resources a worker needs: the ledger, the Redis bucket, and a
    connector factory.

    ``ledger`` and ``redis_url`` default to the registry's ``[fleet] ledger`` / ``redis`` (references
    resolved). ``resolvers`` add secret schemes (``{"vault": read_from_vault}``). ``tag_requests`` adds the
    :data:`SYNCER_HEADER` header (``host:pid task``) to every store request (for audits and the fleet tests;
    registry key ``[fleet] tag_requests``)."""

    def __init__(
        self,
        registry: StoreRegistry,
        *,
        ledger: str | None = None,
        ledger_schema: str | None = None,
        redis_url: str | None = None,
        resolvers: Mapping[str, Resolver] | None = None,
        tag_requests: bool | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.registry = registry
        self._resolvers = dict(resolvers or {})
        self._dsn = ledger if ledger is not None else str(registry.setting("ledger", "", self._resolvers) or "")
        self._schema = ledger_schema or str(registry.setting("ledger_schema", "ecc"))
        found_redis = redis_url if redis_url is not None else registry.setting("redis", None, self._resolvers)
        self._redis_url = str(found_redis) if found_redis else None
        self._tag = bool(registry.setting("tag_requests", False)) if tag_requests is None else tag_requests
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()
        self._pid = -1
        self._ledger: PostgresLedger | None = None
        self._bucket: RedisTokenBucket | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Fleet:
        """The fleet of ``ECC_FLEET_REGISTRY`` (a registry file); ``ECC_LEDGER_DSN``, ``ECC_LEDGER_SCHEMA`` and
        ``ECC_REDIS_URL`` override its ``[fleet]`` values."""
        source = os.environ if env is None else env
        path = source.get("ECC_FLEET_REGISTRY")
        if not path:
            raise ConfigurationError("ECC_FLEET_REGISTRY is not set: the path of the store registry (TOML)")
        return cls(
            StoreRegistry.load(Path(path)),
            ledger=source.get("ECC_LEDGER_DSN") or None,
            ledger_schema=source.get("ECC_LEDGER_SCHEMA") or None,
            redis_url=source.get("ECC_REDIS_URL") or None,
        )

    # -- per-process resources -----------------------------------------------------------------------------

    def _fresh_process(self) -> None:
        if self._pid != os.getpid():
            # Forked since these were made: the parent's connections are not ours to use (or close).
            self._pid = os.getpid()
            self._ledger = None
            self._bucket = None

    def ledger(self) -> PostgresLedger:
        with self._lock:
            self._fresh_process()
            if self._ledger is None:
                self._ledger = PostgresLedger(self._dsn, schema=self._schema, min_size=1, max_size=3)
            return self._ledger

    def bucket(self) -> RedisTokenBucket | None:
        if self._redis_url is None:
            return None
        with self._lock:
            self._fresh_process()
            if self._bucket is None:
                self._bucket = RedisTokenBucket.from_url(self._redis_url)
            return self._bucket

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                if self._ledger is not None:
                    self._ledger.close()
                if self._bucket is not None:
                    self._bucket.close()
            self._ledger = None
            self._bucket = None

    # -- one store -----------------------------------------------------------------------------------------

    def driver(self, config: StoreConfig) -> Driver:
        cls = get_driver(config.driver)
        return cls.from_settings(config.resolved_settings(self._resolvers))

    @contextmanager
    def connector(self, name: str, *, task: str = "") -> Iterator[tuple[Connector, FleetTransport]]:
        """A connector for store ``name`` on the shared ledger, throttled by the store's shared bucket."""
        config = self.registry[name]
        driver = self.driver(config)
        headers = {SYNCER_HEADER: f"{socket.gethostname()}:{os.getpid()} {task}".strip()} if self._tag else {}
        rate = config.rate
        transport = FleetTransport(
            httpx.HTTPTransport(),
            bucket=self.bucket() if rate is not None else None,
            key=name,
            per_second=rate.per_second if rate is not None else 0.0,
            burst=rate.burst if rate is not None else 1,
            headers=headers,
        )
        client = httpx.Client(transport=transport, timeout=httpx.Timeout(30.0, connect=10.0))
        with client, Connector(driver, config.policy, self.ledger(), client=client, clock=self._clock) as connector:
            yield connector, transport

    def run(self, name: str, operation: str, *, task: str = "", wait: float = 0.0, **options: Any) -> SyncOutcome:
        """Download (``"download"``) or reconcile (``"reconcile"``) store ``name`` under its download lock;
        a store another syncer holds is skipped and reported."""
        started = time.monotonic()
        with self.connector(name, task=task) as (connector, transport):
            try:
                with sync_store(self.ledger(), connector, owner=task, wait=wait):
                    if operation == "download":
                        report = connector.download()
                    elif operation == "reconcile":
                        config = self.registry[name]
                        start = self._clock() - timedelta(days=config.reconcile_days)
                        report = connector.reconcile(start, **options)  # type: ignore[assignment]
                    else:
                        raise ValueError(f"unknown operation {operation!r}")
            except StoreBusy as busy:
                return SyncOutcome(
                    name,
                    operation,
                    False,
                    skipped="busy",
                    holder=busy.holder,
                    seconds=time.monotonic() - started,
                )
            return SyncOutcome(
                name,
                operation,
                True,
                report=_report_dict(report),
                seconds=time.monotonic() - started,
                waited_for_rate=transport.waited,
            )
