"""The ledger methods both engines run with the same logic: the tabs, the phone-order log and the high-water mark.

:class:`SharedLedger` reads the tabs (``get``, ``orders``, ``updates``, ``pending``, ``failures``), takes the
user's decisions (``accept_update``, ``dismiss_update``, ``set_local_state``), keeps the phone-order log, reads
the mark, and closes the ledger at the end of a ``with`` block. :class:`~ecc_connectors.ledger.SQLiteLedger` and
:class:`~ecc_connectors.ledger.postgres.PostgresLedger` take these from it and keep what each engine does its own
way: the page write (``_write_page``, which :meth:`SharedLedger.record_phone_order` calls), ``seen``,
``known_keys`` and ``refresh``. Statements are templates (see :mod:`._storage`); the engine's dialect says how
stamps travel, which columns make an order row, and how a write transaction locks the rows it reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from .._convert import fingerprint, order_from_snapshot
from .._outcomes import Tab
from ._codec import _dumps, _loads, _loads_raw
from ._records import FailureRecord, HighWater, OrderRecord, PageBatch, PendingUpdate, PhoneOrderRecord, RowWrite
from ._shared_rows import order_record, pending_record
from ._storage import Storage

__all__ = ["SharedLedger"]

PENDING = "SELECT store, order_id, replaces, changes, snapshot, raw, detected_at FROM {s}.pending_updates"

PHONE_ORDER = "SELECT store, reference, order_id, number, payload, created_at FROM {s}.phone_orders"

_L = TypeVar("_L", bound="SharedLedger")


class SharedLedger(Storage):
    """The :class:`~ecc_connectors.ledger.Tabs` role but ``refresh``, the
    :class:`~ecc_connectors.ledger.PhoneOrderLog` role and ``high_water``, over the engine's connection and its
    page write; a context manager that closes the ledger."""

    def __enter__(self: _L) -> _L:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _write_page(self, conn: Any, batch: PageBatch) -> None:
        """Write ``batch`` in the transaction of ``conn`` (the engine's page write)."""
        raise NotImplementedError

    def _locked_row(self, conn: Any, template: str, params: tuple[Any, ...]) -> Any:
        """The one row a read inside a write transaction finds (or ``None``), locked where the engine locks
        rows it is about to change."""
        return conn.execute(self._sql(template + self._dialect.lock_rows), params).fetchone()

    def _orders_where(self, where: str) -> str:
        """The template selecting whole order rows (as ``order_record`` reads them) by ``where`` (a condition,
        then any ``ORDER BY``)."""
        return f"SELECT {self._dialect.order_columns} FROM {{s}}.orders WHERE {where}"

    def high_water(self, store: str) -> HighWater | None:
        rows = self._read("high_water", "SELECT mark, scope FROM {s}.high_water WHERE store = %s", (store,))
        return HighWater(self._dialect.parse(rows[0][0]), rows[0][1]) if rows else None

    # -- tabs ----------------------------------------------------------------------------------------------

    def get(self, store: str, order_id: str) -> OrderRecord | None:
        rows = self._read("get", self._orders_where("store = %s AND order_id = %s"), (store, order_id))
        return order_record(rows[0], self._dialect.parse) if rows else None

    def orders(self, store: str, tab: Tab = Tab.ORDERS) -> list[OrderRecord]:
        """The tab's rows (replaced rows left out), oldest store update first, ties by ``order_id``."""
        rows = self._read(
            "orders",
            self._orders_where("store = %s AND tab = %s AND replaced_by IS NULL ORDER BY updated_at, order_id"),
            (store, tab.value),
        )
        return [order_record(row, self._dialect.parse) for row in rows]

    def updates(self, store: str) -> list[PendingUpdate]:
        rows = self._read("updates", f"{PENDING} WHERE store = %s ORDER BY order_id", (store,))
        return [pending_record(row, self._dialect.parse) for row in rows]

    def pending(self, store: str, order_id: str) -> PendingUpdate | None:
        rows = self._read("pending", f"{PENDING} WHERE store = %s AND order_id = %s", (store, order_id))
        return pending_record(rows[0], self._dialect.parse) if rows else None

    def accept_update(self, store: str, order_id: str, now: datetime) -> OrderRecord:
        """Replace the downloaded copy with the pending one (an edited order that is a new entity takes the old
        row's tab, local state and ``first_seen``; the old row records ``replaced_by``)."""
        stamp = self._dialect.stamp
        with self._transaction("accept_update") as conn:
            row = self._locked_row(
                conn,
                "SELECT new_order_id, snapshot, raw FROM {s}.pending_updates WHERE store = %s AND order_id = %s",
                (store, order_id),
            )
            if row is None:
                raise KeyError(f"no pending update for order {order_id!r} of store {store!r}")
            new_id, snapshot_text, raw_text = row
            old = self._locked_row(
                conn,
                "SELECT tab, paid, shipped, first_seen FROM {s}.orders WHERE store = %s AND order_id = %s",
                (store, order_id),
            )
            if old is None:
                raise KeyError(f"order {order_id!r} of store {store!r} is not in the ledger")
            tab, paid, shipped, first_seen = old
            accepted = order_from_snapshot(_loads(snapshot_text))
            conn.execute(
                self._sql(self._dialect.upsert_order),
                (
                    store,
                    new_id,
                    accepted.number,
                    accepted.status,
                    tab,
                    paid,
                    shipped,
                    fingerprint(accepted),
                    stamp(accepted.updated_at),
                    snapshot_text,
                    raw_text,
                    first_seen,
                    stamp(now),
                ),
            )
            if new_id != order_id:
                conn.execute(
                    self._sql(
                        "UPDATE {s}.orders SET replaced_by = %s, last_changed = %s WHERE store = %s AND order_id = %s"
                    ),
                    (new_id, stamp(now), store, order_id),
                )
            conn.execute(
                self._sql("DELETE FROM {s}.pending_updates WHERE store = %s AND order_id = %s"), (store, order_id)
            )
            by_id = self._sql(self._orders_where("store = %s AND order_id = %s"))
            found = conn.execute(by_id, (store, new_id)).fetchone()
        assert found is not None
        return order_record(found, self._dialect.parse)

    def dismiss_update(self, store: str, order_id: str) -> bool:
        """Keep the downloaded copy and forget the pending update. Returns whether there was one.

        The dismissed copy's fingerprint is kept on the row, so reading the same copy again (a lookback, a
        re-read) does not bring the update back; a further change in the store does."""
        with self._transaction("dismiss_update") as conn:
            row = self._locked_row(
                conn, "SELECT snapshot FROM {s}.pending_updates WHERE store = %s AND order_id = %s", (store, order_id)
            )
            if row is None:
                return False
            conn.execute(
                self._sql("UPDATE {s}.orders SET dismissed = %s WHERE store = %s AND order_id = %s"),
                (fingerprint(order_from_snapshot(_loads(row[0]))), store, order_id),
            )
            conn.execute(
                self._sql("DELETE FROM {s}.pending_updates WHERE store = %s AND order_id = %s"), (store, order_id)
            )
            return True

    def failures(self, store: str) -> list[FailureRecord]:
        rows = self._read(
            "failures",
            "SELECT store, order_ref, field, problem, raw, at FROM {s}.failures WHERE store = %s "
            "ORDER BY order_ref, field",
            (store,),
        )
        parse = self._dialect.parse
        return [FailureRecord(s, ref or None, f, p, _loads_raw(raw), parse(at)) for s, ref, f, p, raw, at in rows]

    def set_local_state(
        self, store: str, order_id: str, *, paid: bool | None = None, shipped: bool | None = None
    ) -> None:
        if paid is None and shipped is None:
            return
        with self._transaction("set_local_state") as conn:
            conn.execute(
                self._sql(
                    "UPDATE {s}.orders SET paid = COALESCE(%s, paid), shipped = COALESCE(%s, shipped) "
                    "WHERE store = %s AND order_id = %s"
                ),
                (paid, shipped, store, order_id),
            )

    # -- phone orders --------------------------------------------------------------------------------------

    def record_phone_order(self, store: str, reference: str, payload: Any, row: RowWrite, now: datetime) -> None:
        """Record a phone order created in the store and put the created order in the ledger, in one
        transaction, so the next download sees it as known rather than new."""
        with self._transaction("record_phone_order") as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO {s}.phone_orders (store, reference, order_id, number, payload, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (store, reference) DO UPDATE SET "
                    "order_id = excluded.order_id, number = excluded.number, payload = excluded.payload"
                ),
                (store, reference, row.order.order_id, row.order.number, _dumps(payload), self._dialect.stamp(now)),
            )
            self._write_page(conn, PageBatch(store, now, rows=[row]))

    def phone_orders(self, store: str) -> list[PhoneOrderRecord]:
        rows = self._read("phone_orders", f"{PHONE_ORDER} WHERE store = %s ORDER BY created_at, reference", (store,))
        return [self._phone_order_record(row) for row in rows]

    def phone_order(self, store: str, reference: str) -> PhoneOrderRecord | None:
        rows = self._read("phone_order", f"{PHONE_ORDER} WHERE store = %s AND reference = %s", (store, reference))
        return self._phone_order_record(rows[0]) if rows else None

    def _phone_order_record(self, row: Any) -> PhoneOrderRecord:
        store, reference, order_id, number, payload, created_at = row
        return PhoneOrderRecord(store, reference, order_id, number, _loads(payload), self._dialect.parse(created_at))
