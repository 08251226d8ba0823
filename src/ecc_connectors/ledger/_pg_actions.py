"""The PostgreSQL ledger's action log: the shared one (``_shared_actions``), atomic across processes by the
server's own locks.

Theory of operation
-------------------
:meth:`~._shared_actions.SharedActionLog.begin_action` reads the action row ``FOR UPDATE`` (racers on an existing
row queue on its row lock), or inserts a missing row with ``ON CONFLICT DO NOTHING``; a racer that lost that
insert reads the winner's committed row (``READ COMMITTED``: each statement sees what committed before it) and
finds its live lease. So of callers racing on one key in any number of processes exactly one goes.
:meth:`~._shared_actions.SharedActionLog.finish_action` reads the row ``FOR UPDATE`` too, so a finish and a
take-over of one action run one after the other. The contracts are on :class:`ecc_connectors.ledger.ActionLog`.
"""

from __future__ import annotations

from typing import Any

from ._pg_connection import Conn, PostgresConnection
from ._shared_actions import SharedActionLog

__all__ = ["PostgresActionLog"]


class PostgresActionLog(PostgresConnection, SharedActionLog):
    """The :class:`~ecc_connectors.ledger.ActionLog` role of
    :class:`~ecc_connectors.ledger.postgres.PostgresLedger`."""

    def _insert_action(self, conn: Conn, values: tuple[Any, ...]) -> int | None:
        inserted = conn.execute(
            self._sql(
                "INSERT INTO {s}.actions (store, order_id, kind, idempotency_key, request, state, "
                "started_at, owner, lease_until, log) VALUES (%s, %s, %s, %s, %s, 'started', %s, %s, %s, %s) "
                "ON CONFLICT (store, idempotency_key) DO NOTHING RETURNING id"
            ),
            values,
        ).fetchone()
        # None: a racer's row for the key committed first; begin_action reads and judges that row instead.
        return None if inserted is None else int(inserted[0])
