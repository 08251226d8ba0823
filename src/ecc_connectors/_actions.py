"""Writing back: ship, acknowledge, set a status, cancel, invoice, and phone orders, each exactly once.

Every write takes its action row under a lease and lets the driver look in the store before it writes; the
design is in docs/design.md ("Post-backs, acknowledgements, cancellations: exactly once").
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import msgspec

from . import rules
from ._context import Context
from ._driver import (
    CancelRequest,
    Capability,
    Driver,
    Flow,
    ItemQuery,
    NewOrder,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    Tracking,
    WriteResult,
)
from ._effects import Effect as _Effect
from ._effects import Run as _Run
from ._effects import StoreNow as _StoreNow
from ._errors import ConfigurationError, ConnectorError
from ._model import Item, Order, utc
from ._outcomes import Download, Ignore, Tab
from ._policy import ItemSource
from .ledger import ActionRecord, RowWrite

__all__ = ["Actions", "default_action_key", "describe"]

T = TypeVar("T")
logger = logging.getLogger("ecc_connectors.engine")
_Core_T = Generator[_Effect, Any, T]


def _digest_form(value: Any) -> Any:
    """``value`` as the digest has always seen it (orjson with ``default=str`` wrote the first keys, and keys
    already in ledgers must still match): JSON's own types as they are, a float's exponent with its sign,
    datetimes in ``isoformat``, an enum as its value, anything else as ``str(value)``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        text = _digest_encoder.encode(value)
        return msgspec.Raw(_EXPONENT.sub(rb"e+\1", text))
    if isinstance(value, dict):
        return {k: _digest_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_digest_form(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _digest_form(value.value)
    return str(value)


_digest_encoder = msgspec.json.Encoder(order="sorted")
_EXPONENT = re.compile(rb"e(\d)")


def default_action_key(kind: str, store: str, order_id: str, request: Any) -> str:
    """The idempotency key a write gets when the caller gives none: ``"<kind>:<order_id>:<digest>"``, the digest
    taken over the kind, the store, the order and the whole request (``ShipmentRequest``, ``StatusChange``...),
    so asking for the same write again finds the same ledger action. Stable across SDK versions: ledgers written
    before keep matching."""
    digest = hashlib.blake2b(
        _digest_encoder.encode(_digest_form([kind, store, order_id, request])), digest_size=12
    ).hexdigest()
    return f"{kind}:{order_id}:{digest}"


def _first_attempt(action: ActionRecord) -> datetime:
    """When the action's first attempt started (later attempts move ``started_at``)."""
    for entry in action.log[:1]:
        started = entry.get("started")
        if isinstance(started, str):
            try:
                return utc(datetime.fromisoformat(started))
            except ValueError:
                break
    return action.started_at


def describe(exc: BaseException) -> str:
    # Our own errors are written to be free of secrets; a foreign one is named by type and message.
    return str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"


def _trackings(tracking: Iterable[Tracking | str] | Tracking | str) -> tuple[Tracking, ...]:
    if isinstance(tracking, (str, Tracking)):
        tracking = (tracking,)
    return tuple(t if isinstance(t, Tracking) else Tracking(t) for t in tracking)


def _plain(value: Any) -> Any:
    """JSON-safe plain data for the action log (attrs classes as dicts, Decimals as text)."""
    if attrs.has(type(value)):
        return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Actions(Context):
    """The write operations of the core."""

    # -- post back -----------------------------------------------------------------------------------------

    def _action(
        self,
        kind: str,
        order_id: str,
        capability: Capability,
        request: Any,
        make_flow: Callable[[datetime], Flow[Any]],
        key: str | None,
    ) -> _Core_T[tuple[Any, bool]]:
        """Run one logged write, exactly once from the caller's view. Returns (result as recorded JSON,
        whether it ran now).

        The ledger's action row is taken under a lease (owner and expiry, atomically): a caller that finds the
        row ``done`` gets the recorded result without contacting the store; one that finds it held by a live
        lease gets :class:`ActionInProgress`; one that finds it ``failed``, or held by a lease that expired (a
        crashed holder), runs the flow again. Every flow looks in the store for work done since the first
        attempt (``since``) before it writes, so an attempt whose answer was lost is found, not repeated."""
        self.driver.require(capability)
        key = key or default_action_key(kind, self.store, order_id, request)
        owner = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        action, go = self.ledger.begin_action(
            self.store, order_id, kind, key, request, self.now(), owner=owner, lease=self.lease
        )
        if not go:
            return action.result, False
        # In the store's clock, where its answers said it: the store stamps the work with its own time.
        store_now = yield _StoreNow()
        offset = (store_now - self.now()) if store_now is not None else timedelta(0)
        since = _first_attempt(action) + offset - self.skew_allowance
        try:
            result = yield _Run(make_flow(since))
        except Exception as exc:
            self.ledger.finish_action(action.id, ok=False, error=describe(exc), now=self.now(), owner=owner)
            raise
        recorded = _plain(result)
        note = ""
        if isinstance(result, WriteResult):
            note = result.found or ("already done in the store" if result.already_done else "written")
        elif isinstance(result, ShipmentResult):
            note = "shipment already in the store" if result.already_shipped else "shipment created"
        self.ledger.finish_action(action.id, ok=True, result=recorded, now=self.now(), note=note, owner=owner)
        yield from self._refresh(order_id)
        return recorded, True

    def _refresh(self, order_id: str) -> _Core_T[None]:
        # Read the order back after our own change, so the next download does not show the store's echo of it
        # (new status, shipment, our comment) as an Update. The post-back already succeeded: a failed read-back
        # is logged, not raised, and the next download then shows the change as an update instead.
        if Capability.GET_ORDER not in self.driver.capabilities or self.ledger.get(self.store, order_id) is None:
            return
        try:
            fresh: Order = yield _Run(self.driver.get_order(order_id))
        except Exception as exc:
            logger.warning("could not read order %s back after a post-back: %s", order_id, describe(exc))
            return
        self.ledger.refresh(self.store, fresh, self.now())

    def ship(
        self,
        order_id: str,
        tracking: Iterable[Tracking | str] | Tracking | str,
        *,
        lines: Sequence[tuple[str, Decimal]] = (),
        comment: str = "",
        key: str | None = None,
    ) -> _Core_T[ShipmentResult]:
        post = self.policy.post_back
        request = ShipmentRequest(
            order_id=order_id,
            tracking=_trackings(tracking),
            lines=tuple(lines),
            notify=post.send_email,
            comment=comment,
            status=post.status,
        )
        recorded, _ = yield from self._action(
            "ship", order_id, Capability.SHIP, _plain(request),
            lambda since: self.driver.ship(attrs.evolve(request, since=since)), key,
        )
        self.ledger.set_local_state(self.store, order_id, shipped=True)
        return ShipmentResult(recorded["shipment_id"], bool(recorded.get("already_shipped", False)))

    def acknowledge(self, order_id: str, *, key: str | None = None) -> _Core_T[None]:
        ack = self.policy.acknowledgement
        if ack.status is None:
            raise ConfigurationError("acknowledgement is off in the policy (acknowledgement.status is unset)")
        change = StatusChange(order_id, ack.status, ack.comment, ack.notify_customer)
        yield from self._action(
            "acknowledge", order_id, Capability.SET_STATUS, _plain(change),
            lambda since: self.driver.set_status(attrs.evolve(change, since=since)), key,
        )

    def set_status(
        self, order_id: str, status: str, *, comment: str = "", notify: bool = False, key: str | None = None
    ) -> _Core_T[None]:
        change = StatusChange(order_id, status, comment, notify)
        yield from self._action(
            "set_status", order_id, Capability.SET_STATUS, _plain(change),
            lambda since: self.driver.set_status(attrs.evolve(change, since=since)), key,
        )

    def cancel(self, order_id: str, *, key: str | None = None) -> _Core_T[None]:
        cancellation = self.policy.cancellation
        request = CancelRequest(order_id, cancellation.status, cancellation.comment, cancellation.send_email)
        yield from self._action(
            "cancel", order_id, Capability.CANCEL, _plain(request),
            lambda since: self.driver.cancel(attrs.evolve(request, since=since)), key,
        )

    def invoice(self, order_id: str, *, notify: bool = False, key: str | None = None) -> _Core_T[str]:
        recorded, _ = yield from self._action(
            "invoice", order_id, Capability.INVOICE, {"order_id": order_id, "notify": notify},
            lambda since: self.driver.invoice(order_id, notify), key,
        )
        self.ledger.set_local_state(self.store, order_id, paid=True)
        if isinstance(recorded, dict):
            return str(recorded.get("reference") or "")
        return str(recorded)

    # -- phone orders --------------------------------------------------------------------------------------

    def search_items(self, query: ItemQuery | str, source_driver: Driver | None) -> _Core_T[tuple[Item, ...]]:
        if isinstance(query, str):
            query = ItemQuery(text=query)
        if self.policy.phone_orders.item_source is ItemSource.NETSUITE:
            if source_driver is None:
                raise ConfigurationError(
                    "the policy takes phone-order items from NetSuite: pass its driver as source_driver"
                )
            source = source_driver
        else:
            source = self.driver
        source.require(Capability.SEARCH_ITEMS)
        items: tuple[Item, ...] = yield _Run(
            source.search_items(query), None if source is self.driver else source
        )
        return items

    def create_phone_order(self, new_order: NewOrder) -> _Core_T[Order]:
        self.driver.require(Capability.CREATE_ORDER)
        payload = _plain(new_order)
        key = f"create_order:{new_order.reference}"
        owner = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        action, go = self.ledger.begin_action(
            self.store, new_order.reference, "create_order", key, payload, self.now(), owner=owner,
            lease=self.lease,
        )
        recorded = self.ledger.phone_order(self.store, new_order.reference)
        if recorded is not None:
            # Created before (perhaps by a run that stopped before logging "done"): never create it twice.
            if go:
                self.ledger.finish_action(
                    action.id, ok=True, result={"order_id": recorded.order_id}, now=self.now(),
                    note="already in the ledger", owner=owner,
                )
            existing = self.ledger.get(self.store, recorded.order_id)
            if existing is None:
                raise ConfigurationError(
                    f"phone order {new_order.reference!r} is logged but not in the ledger"
                )
            return existing.order
        try:
            # Two phases where the store allows it: the reservation (Magento: the cart) is recorded before the
            # order is placed, so an attempt after a lost answer looks for the order placed from it first.
            reservation = action.checkpoint
            if reservation is None:
                reservation = yield _Run(self.driver.reserve_order(new_order))
                if reservation is not None:
                    self.ledger.checkpoint_action(action.id, reservation)
            order: Order = yield _Run(self.driver.create_order(new_order, reservation))
        except Exception as exc:
            self.ledger.finish_action(action.id, ok=False, error=describe(exc), now=self.now(), owner=owner)
            raise
        outcome = rules.decide(order, self.policy, None)
        if isinstance(outcome, Download):
            row = RowWrite(order, Tab.ORDERS, outcome.paid, outcome.shipped)
        elif isinstance(outcome, Ignore):
            row = RowWrite(order, Tab.IGNORE, False, False)
        else:
            # Not downloadable by the status rows, but the back office made it: it belongs in the Orders tab.
            row = RowWrite(order, Tab.ORDERS, False, False)
        self.ledger.record_phone_order(self.store, new_order.reference, payload, row, self.now())
        self.ledger.finish_action(
            action.id, ok=True, result={"order_id": order.order_id}, now=self.now(),
            note=f"placed from reservation {reservation}" if reservation else "placed", owner=owner,
        )
        return order
