"""A ready Celery app configured from the environment, for ``celery -A ecc_connectors.contrib.celery.app``.

    ECC_FLEET_REGISTRY=fleet.toml ECC_BROKER_URL=redis://127.0.0.1:6379/0 \\
        celery -A ecc_connectors.contrib.celery.app worker --concurrency 4
    ECC_FLEET_REGISTRY=fleet.toml celery -A ecc_connectors.contrib.celery.app beat

* ``ECC_FLEET_REGISTRY`` -- the store registry (TOML); its ``[fleet]`` table gives the ledger, Redis and broker;
* ``ECC_BROKER_URL`` / ``ECC_RESULT_BACKEND`` -- override the registry's ``broker`` (default: its ``redis``) and
  set a result backend (none by default: outcomes are in the ledger and the logs);
* ``ECC_LEDGER_DSN``, ``ECC_LEDGER_SCHEMA``, ``ECC_REDIS_URL`` -- override the registry's ledger and Redis;
* ``ECC_RESULT_EXPIRES`` -- seconds a task's outcome is kept in the result backend (default 3600);
* ``ECC_VISIBILITY_TIMEOUT`` -- seconds before a vanished worker's message goes to another (default 3600);
* ``ECC_QUEUE`` -- the queue name (default ``ecc``); ``ECC_BROKER_PREFIX`` -- a prefix for every broker key in
  Redis: with both, several fleets (or test runs) share one Redis without seeing each other's messages.

The registry is read when this module is imported (beat needs the schedule); the ledger and Redis connections
are made per worker process on the first task.
"""

from __future__ import annotations

import os

from ._fleet import Fleet
from ._tasks import beat_schedule, create_app

__all__ = ["app", "fleet"]

fleet = Fleet.from_env()
_broker = os.environ.get("ECC_BROKER_URL") or str(
    fleet.registry.setting("broker", None) or fleet.registry.setting("redis", "redis://127.0.0.1:6379/0")
)
_queue = os.environ.get("ECC_QUEUE") or "ecc"
app = create_app(
    fleet,
    broker=_broker,
    backend=os.environ.get("ECC_RESULT_BACKEND") or None,
    visibility_timeout=float(os.environ.get("ECC_VISIBILITY_TIMEOUT") or 3600),
    broker_options={"global_keyprefix": os.environ["ECC_BROKER_PREFIX"]}
    if os.environ.get("ECC_BROKER_PREFIX")
    else None,
    task_default_queue=_queue,
    result_expires=float(os.environ.get("ECC_RESULT_EXPIRES") or 3600),
    beat_schedule=beat_schedule(fleet.registry),
)
