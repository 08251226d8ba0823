"""The Celery tasks, the app settings that make them safe, and the beat schedule built from the registry.

Theory of operation:

* **Tasks by store name.** ``ecc.download`` and ``ecc.reconcile`` take a registry name; ``ecc.ship``,
  ``ecc.acknowledge`` and ``ecc.cancel`` add an order id (and tracking). Arguments are plain JSON; results are
  :class:`SyncOutcome` dicts. ``ecc.download_all`` fans a download out to every store (for a "sync now"
  button; beat schedules stores one by one).
* **Delivery that survives a dead worker.** ``task_acks_late`` with ``task_reject_on_worker_lost``: a message
  is acknowledged only when its task ends, so a worker killed mid-download leaves it unacknowledged and the
  broker hands it to another worker (at once when a pool child dies; after the Redis ``visibility_timeout``
  when the whole worker vanishes). ``worker_prefetch_multiplier = 1``: a worker holds one store at a time, so a
  dead worker strands at most one.
* **No task-level retries.** Every task is idempotent (see :mod:`._fleet`), and the SDK retries the store's
  transient answers inside the run by its own rules; a task that still fails is reported and the next beat tick
  tries again. Retrying in Celery as well would multiply the attempts against a struggling store.
* **Beat from the registry.** :func:`beat_schedule` gives each store a download every ``download_every``
  minutes (each message ``expires`` after one period: after an outage, the backlog is one download per store,
  not one per missed tick) and a nightly reconcile at its own minute (spread over ``reconcile_spread``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from celery import Celery, Task  # type: ignore[import-untyped]
from celery.schedules import crontab  # type: ignore[import-untyped]

from ... import Tracking
from ._fleet import Fleet, SyncOutcome
from ._registry import StoreRegistry

__all__ = ["TASK_NAMES", "beat_schedule", "create_app", "register_tasks"]

logger = logging.getLogger("ecc_connectors.contrib.celery")

TASK_NAMES = ("ecc.download", "ecc.reconcile", "ecc.download_all", "ecc.ship", "ecc.acknowledge", "ecc.cancel")

SAFE_SETTINGS: Mapping[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "task_track_started": True,
    "broker_connection_retry_on_startup": True,
}
"""The Celery settings :func:`create_app` applies (see the module docstring for why)."""


def _task_id(task: Task) -> str:
    request = getattr(task, "request", None)
    return str(getattr(request, "id", "") or "")


def register_tasks(app: Celery, fleet: Fleet | Callable[[], Fleet]) -> dict[str, Task]:
    """Register the fleet's tasks on ``app``. ``fleet`` may be a callable, called once per process on the first
    task (a worker builds its fleet after the fork, from its own environment)."""
    made: dict[str, Fleet] = {}

    def get() -> Fleet:
        if "fleet" not in made:
            made["fleet"] = fleet if isinstance(fleet, Fleet) else fleet()
        return made["fleet"]

    @app.task(name="ecc.download", bind=True, shared=False)  # type: ignore[untyped-decorator]
    def download(self: Task, store: str, wait: float = 0.0) -> dict[str, Any]:
        outcome = get().run(store, "download", task=_task_id(self), wait=wait)
        _log(outcome)
        return outcome.to_dict()

    @app.task(name="ecc.reconcile", bind=True, shared=False)  # type: ignore[untyped-decorator]
    def reconcile(self: Task, store: str, compare_content: bool = False, wait: float = 0.0) -> dict[str, Any]:
        outcome = get().run(store, "reconcile", task=_task_id(self), wait=wait, compare_content=compare_content)
        _log(outcome)
        return outcome.to_dict()

    @app.task(name="ecc.download_all", shared=False)  # type: ignore[untyped-decorator]
    def download_all() -> list[str]:
        names = list(get().registry)
        for name in names:
            download.delay(name)
        return names

    @app.task(name="ecc.ship", bind=True, shared=False)  # type: ignore[untyped-decorator]
    def ship(
        self: Task, store: str, order_id: str, tracking: Iterable[str | Mapping[str, str]], key: str | None = None
    ) -> dict[str, Any]:
        parcels = [Tracking(t) if isinstance(t, str) else Tracking(**t) for t in tracking]
        with get().connector(store, task=_task_id(self)) as (connector, _):
            result = connector.ship(order_id, parcels, key=key)
        return {
            "store": store,
            "order_id": order_id,
            "shipment_id": result.shipment_id,
            "already_shipped": result.already_shipped,
        }

    @app.task(name="ecc.acknowledge", bind=True, shared=False)  # type: ignore[untyped-decorator]
    def acknowledge(self: Task, store: str, order_id: str, key: str | None = None) -> dict[str, Any]:
        with get().connector(store, task=_task_id(self)) as (connector, _):
            connector.acknowledge(order_id, key=key)
        return {"store": store, "order_id": order_id, "acknowledged": True}

    @app.task(name="ecc.cancel", bind=True, shared=False)  # type: ignore[untyped-decorator]
    def cancel(self: Task, store: str, order_id: str, key: str | None = None) -> dict[str, Any]:
        with get().connector(store, task=_task_id(self)) as (connector, _):
            connector.cancel(order_id, key=key)
        return {"store": store, "order_id": order_id, "cancelled": True}

    return {
        "ecc.download": download,
        "ecc.reconcile": reconcile,
        "ecc.download_all": download_all,
        "ecc.ship": ship,
        "ecc.acknowledge": acknowledge,
        "ecc.cancel": cancel,
    }


def _log(outcome: SyncOutcome) -> None:
    if outcome.ran:
        logger.info("%s %s in %.1f s: %s", outcome.operation, outcome.store, outcome.seconds, outcome.report)
    else:
        logger.info("%s %s skipped (%s, held by %s)", outcome.operation, outcome.store, outcome.skipped, outcome.holder)


def create_app(
    fleet: Fleet | Callable[[], Fleet],
    *,
    broker: str,
    backend: str | None = None,
    name: str = "ecc_connectors",
    visibility_timeout: float = 3600.0,
    broker_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Celery:
    """A Celery app with the fleet's tasks and :data:`SAFE_SETTINGS`. ``visibility_timeout`` (seconds) is how
    long a message taken by a worker that vanished waits before the Redis broker hands it to another: longer
    than your longest download (a shorter one redelivers a running task, which then finds the store busy and
    skips: harmless, but noisy). Workers sweep for such messages every ``visibility_timeout / 4`` seconds (1 to
    10; kombu's default sweep is every 100 s). ``broker_options`` add Redis transport options
    (``global_keyprefix`` to share one Redis between fleets); ``settings`` override any Celery setting."""
    app = Celery(name, broker=broker, backend=backend)
    app.conf.update(SAFE_SETTINGS)
    app.conf.broker_transport_options = {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, int(visibility_timeout / 4))),
        "unacked_restore_throttle": 1,
        **(broker_options or {}),
    }
    app.conf.update(settings)
    register_tasks(app, fleet)
    return app


def beat_schedule(registry: StoreRegistry) -> dict[str, dict[str, Any]]:
    """``app.conf.beat_schedule`` for the registry: per store, a download every ``download_every`` minutes
    (expiring after one period) and a nightly reconcile at the store's ``reconcile_at`` (UTC)."""
    schedule: dict[str, dict[str, Any]] = {}
    for name in registry:
        config = registry[name]
        every: timedelta = config.download_every
        schedule[f"ecc.download:{name}"] = {
            "task": "ecc.download",
            "schedule": every,
            "args": (name,),
            "options": {"expires": every.total_seconds()},
        }
        schedule[f"ecc.reconcile:{name}"] = {
            "task": "ecc.reconcile",
            "schedule": crontab(hour=config.reconcile_at.hour, minute=config.reconcile_at.minute),
            "args": (name,),
            "options": {"expires": 6 * 3600},
        }
    return schedule
