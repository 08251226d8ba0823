"""Many stores on many machines: downloads, reconciles and post-backs fanned out over Celery workers.

Install with the ``[celery]`` extra (Celery with Redis, psycopg). The pieces (docs/scale.md tells the whole
deployment; ``examples/fleet/`` runs one):

* :class:`StoreRegistry` -- the stores, read from one TOML file: driver, settings (secrets by reference to the
  environment, a file or your secret store), policy, schedule and API quota;
* :class:`Fleet` -- what a worker process needs to sync any store of the registry (the shared
  :class:`~ecc_connectors.ledger.postgres.PostgresLedger`, the Redis bucket, connectors), made after the fork;
* :func:`sync_store` -- a download or reconcile under the store's download lock (one store, one syncer across
  machines), for code outside Celery too;
* :func:`create_app` / :func:`register_tasks` -- the tasks ``ecc.download``, ``ecc.reconcile``,
  ``ecc.download_all``, ``ecc.ship``, ``ecc.acknowledge``, ``ecc.cancel`` with delivery settings that survive
  a killed worker; :func:`beat_schedule` -- per-store downloads every N minutes and a nightly reconcile;
* :class:`RedisTokenBucket` / :class:`FleetTransport` -- the store's API quota shared by every process.

``ecc_connectors.contrib.celery.app`` is a ready app configured from the environment (``celery -A``).
"""

from __future__ import annotations

from ._fleet import SYNCER_HEADER, Fleet, SyncOutcome, sync_store
from ._ratelimit import FleetTransport, RedisTokenBucket
from ._registry import RateQuota, StoreConfig, StoreRegistry, resolve_reference
from ._tasks import SAFE_SETTINGS, TASK_NAMES, beat_schedule, create_app, register_tasks

__all__ = [
    "SAFE_SETTINGS",
    "SYNCER_HEADER",
    "TASK_NAMES",
    "Fleet",
    "FleetTransport",
    "RateQuota",
    "RedisTokenBucket",
    "StoreConfig",
    "StoreRegistry",
    "SyncOutcome",
    "beat_schedule",
    "create_app",
    "register_tasks",
    "resolve_reference",
    "sync_store",
]
