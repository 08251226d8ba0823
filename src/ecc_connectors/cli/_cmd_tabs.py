"""The ledger's tabs and the writes to one order: ``tabs ...``, ``ship``, ``acknowledge``, ``cancel``.

The tabs are read from the ledger file alone (no store I/O; the driver's settings are still read, because they
name the store the rows belong to). ``tabs show`` puts together what one order is in the ledger: its row, its
pending update with each field change, and its action log.

``ship`` / ``acknowledge`` / ``cancel`` go through the connector's leased, logged actions, so they keep its
exactly-once promise across processes: run the same command twice (a retry after a timeout, a second operator)
and the second returns the first's recorded result without writing to the store again. ``--key`` names the
action explicitly when the default key (made from the order and the request) is not what makes two commands
"the same".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from .. import ConfigurationError, FailureRecord, OrderRecord, PendingUpdate, Tracking
from ._common import ConfigOpt, DriverOpt, JsonOpt, LedgerOpt, PolicyOpt, connect, parse_when, target_for
from ._config import read_policy
from ._observe import Observer
from ._output import EXIT_FAILED, Out, fail, handled, jsonable

__all__ = ["acknowledge", "cancel", "ship", "tabs_app"]

tabs_app = typer.Typer(
    help="The ledger's tabs: Orders, Ignore, Updates, failures; one order's story; accept or dismiss an update.",
    no_args_is_help=True,
)

StatusFilter = Annotated[list[str] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable).")]
SinceFilter = Annotated[
    str | None, typer.Option("--since", help="Only rows changed since (ISO date/time, or 12h, 7d...).")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]


def _record_json(record: OrderRecord) -> dict[str, Any]:
    order = record.order
    return {
        "order_id": record.order_id,
        "number": record.number,
        "status": record.status,
        "tab": record.tab.value,
        "paid": record.paid,
        "shipped": record.shipped,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "customer": order.customer.name or order.customer.email,
        "grand_total": order.totals.grand_total,
        "currency": order.currency,
        "first_seen": record.first_seen,
        "last_changed": record.last_changed,
        "replaced_by": record.replaced_by,
        "dismissed": record.dismissed,
    }


def _update_json(update: PendingUpdate) -> dict[str, Any]:
    return {
        "order_id": update.order_id,
        "number": update.order.number,
        "status": update.order.status,
        "replaces": update.replaces,
        "detected_at": update.detected_at,
        "changes": [
            {"kind": change.kind.value, "path": change.path, "old": change.old, "new": change.new}
            for change in update.changes
        ],
    }


def _failure_json(failure: FailureRecord, raw: bool) -> dict[str, Any]:
    data = {"order_ref": failure.order_ref, "field": failure.field, "problem": failure.problem, "at": failure.at}
    if raw:
        data["raw"] = failure.raw
    return data


def _filtered(
    rows: list[Any], statuses: list[str] | None, since: str | None, limit: int | None, stamp: str
) -> list[Any]:
    after: datetime | None = parse_when(since, what="--since") if since else None
    kept = [
        row
        for row in rows
        if (not statuses or _status_of(row) in statuses) and (after is None or getattr(row, stamp) >= after)
    ]
    return kept[:limit] if limit else kept


def _status_of(row: Any) -> str:
    return row.order.status if isinstance(row, PendingUpdate) else getattr(row, "status", "")


def _list_tab(
    which: str,
    config: Any,
    driver: Any,
    ledger: Any,
    statuses: Any,
    since: Any,
    limit: Any,
    json_output: bool,
    raw: bool = False,
) -> None:
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, None, ledger)
        if not target.ledger_path.exists():
            raise ConfigurationError(f"ledger {str(target.ledger_path)!r} does not exist (run a download first)")
        with connect(target) as connector:
            if which == "orders":
                rows: list[Any] = _filtered(connector.orders(), statuses, since, limit, "last_changed")
                data = [_record_json(r) for r in rows]
            elif which == "ignore":
                rows = _filtered(connector.ignored(), statuses, since, limit, "last_changed")
                data = [_record_json(r) for r in rows]
            elif which == "updates":
                rows = _filtered(connector.updates(), statuses, since, limit, "detected_at")
                data = [_update_json(u) for u in rows]
            else:
                rows = _filtered(connector.failures(), None, since, limit, "at")
                data = [_failure_json(f, raw) for f in rows]
        if json_output:
            out.document(data)
            return
        if which in ("orders", "ignore"):
            out.table(
                f"{which.capitalize()} tab ({len(data)})",
                ["order", "number", "status", "paid", "shipped", "total", "customer", "changed"],
                [
                    [
                        d["order_id"],
                        d["number"],
                        d["status"],
                        _yn(d["paid"]),
                        _yn(d["shipped"]),
                        f"{d['grand_total']} {d['currency']}",
                        d["customer"],
                        _short(d["last_changed"]),
                    ]
                    for d in data
                ],
            )
        elif which == "updates":
            out.table(
                f"Updates tab ({len(data)})",
                ["order", "number", "status now", "changes", "detected"],
                [
                    [
                        d["order_id"],
                        d["number"],
                        d["status"],
                        ", ".join(sorted({c["kind"] for c in d["changes"]}))
                        or ("replacement" if d["replaces"] else "-"),
                        _short(d["detected_at"]),
                    ]
                    for d in data
                ],
            )
        else:
            out.table(
                f"Failures ({len(data)})",
                ["order", "field", "problem", "at"],
                [[d["order_ref"] or "?", d["field"], d["problem"], _short(d["at"])] for d in data],
            )


def _yn(value: bool) -> str:
    return "yes" if value else "no"


def _short(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


@tabs_app.command("orders")
def tab_orders(
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    limit: LimitOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The Orders tab: downloaded orders with their local paid/shipped state."""
    _list_tab("orders", config, driver, ledger, status, since, limit, json_output)


@tabs_app.command("ignore")
def tab_ignore(
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    limit: LimitOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The Ignore tab: orders of statuses that are not downloaded, kept for a look."""
    _list_tab("ignore", config, driver, ledger, status, since, limit, json_output)


@tabs_app.command("updates")
def tab_updates(
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    limit: LimitOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The Updates tab: orders changed in the store after download."""
    _list_tab("updates", config, driver, ledger, status, since, limit, json_output)


@tabs_app.command("failures")
def tab_failures(
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    since: SinceFilter = None,
    limit: LimitOpt = None,
    raw: Annotated[bool, typer.Option("--raw", help="Include each raw payload (JSON only).")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Orders whose payload could not be read, with the field and the problem."""
    _list_tab("failures", config, driver, ledger, None, since, limit, json_output, raw)


@tabs_app.command("show")
def tab_show(
    order_id: Annotated[str, typer.Argument(help="The order's id (the ledger's order_id).")],
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """One order: its row, its pending update with each field change, and its action log."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, None, ledger)
        with connect(target) as connector:
            record = connector.ledger.get(connector.store, order_id)
            update = connector.ledger.pending(connector.store, order_id)
            actions = connector.actions(order_id)
        if record is None and update is None:
            fail(out, EXIT_FAILED, "NotFound", f"order {order_id!r} is not in the ledger of {target.driver.store_id}")
        data = {
            "order": None if record is None else _record_json(record),
            "update": None if update is None else _update_json(update),
            "actions": [
                {
                    "kind": a.kind,
                    "key": a.key,
                    "state": a.state,
                    "attempts": a.attempts,
                    "error": a.error,
                    "started_at": a.started_at,
                    "finished_at": a.finished_at,
                    "result": jsonable(a.result),
                }
                for a in actions
            ],
        }
        if json_output:
            out.document(data)
            return
        if record is not None:
            d = data["order"]
            assert isinstance(d, dict)
            out.table(
                f"Order {order_id} ({record.tab.value} tab)",
                ["field", "value"],
                [[k, jsonable(v)] for k, v in d.items()],
            )
        if update is not None:
            u = data["update"]
            assert isinstance(u, dict)
            title = f"Pending update (detected {_short(update.detected_at)})"
            if update.replaces:
                title += f": replaces {update.replaces}"
            out.table(
                title,
                ["kind", "field", "was", "now"],
                [[c["kind"], c["path"], c["old"], c["new"]] for c in u["changes"]],
            )
            out.line(
                "accept it: ecc-connectors tabs redownload ID    keep the downloaded copy: ecc-connectors tabs "
                "dismiss ID"
            )
        if actions:
            out.table(
                "Actions",
                ["kind", "state", "attempts", "finished", "error"],
                [
                    [a.kind, a.state, a.attempts, _short(a.finished_at) if a.finished_at else "", a.error or ""]
                    for a in actions
                ],
            )


@tabs_app.command("redownload")
def tab_redownload(
    order_id: Annotated[str, typer.Argument(help="The order whose pending update to accept.")],
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Accept an order's pending update: the store's current copy replaces the downloaded one."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, None, ledger)
        with connect(target) as connector:
            if connector.ledger.pending(connector.store, order_id) is None:
                fail(out, EXIT_FAILED, "NotFound", f"order {order_id!r} has no pending update")
            record = connector.redownload(order_id)
        if json_output:
            out.document({"ok": True, "order": _record_json(record)})
        else:
            out.line(f"order {record.order_id} ({record.number}) now holds the store's copy: status {record.status}")


@tabs_app.command("dismiss")
def tab_dismiss(
    order_id: Annotated[str, typer.Argument(help="The order whose pending update to dismiss.")],
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Keep the downloaded copy and clear the order's pending update."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, None, ledger)
        with connect(target) as connector:
            dismissed = connector.dismiss(order_id)
        if not dismissed:
            fail(out, EXIT_FAILED, "NotFound", f"order {order_id!r} has no pending update")
        if json_output:
            out.document({"ok": True, "order_id": order_id, "dismissed": True})
        else:
            out.line(f"order {order_id}: update dismissed, the downloaded copy stays")


def _lines(values: list[str] | None) -> list[tuple[str, Decimal]]:
    lines: list[tuple[str, Decimal]] = []
    for value in values or ():
        line_id, sep, quantity = value.partition("=")
        try:
            amount = Decimal(quantity)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not sep or not line_id or not amount.is_finite() or amount <= 0:
            raise ConfigurationError(f"--line {value!r}: expected LINE_ID=QUANTITY with a positive quantity")
        lines.append((line_id, amount))
    return lines


KeyOpt = Annotated[
    str | None, typer.Option("--key", help="Idempotency key (default: made from the order and the request).")
]


def ship(
    order_id: Annotated[str, typer.Argument(help="The order to ship.")],
    tracking: Annotated[
        list[str] | None, typer.Option("--tracking", "-t", help="Tracking number (repeatable).")
    ] = None,
    carrier: Annotated[str, typer.Option("--carrier", help="Carrier code for the tracking numbers.")] = "custom",
    title: Annotated[str, typer.Option("--title", help="Carrier title shown to the customer.")] = "",
    line: Annotated[
        list[str] | None, typer.Option("--line", help="LINE_ID=QUANTITY to ship part of the order (repeatable).")
    ] = None,
    comment: Annotated[str, typer.Option("--comment", help="Comment on the shipment.")] = "",
    key: KeyOpt = None,
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    policy: PolicyOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Post a shipment back to the store, once (the policy sets the status and the email)."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, policy, ledger)
        sync_policy = read_policy(target.policy_path)
        numbers = [Tracking(number, carrier_code=carrier, title=title) for number in tracking or ()]
        observer = Observer()
        with connect(target, sync_policy, observer=observer) as connector:
            result = connector.ship(order_id, numbers, lines=_lines(line), comment=comment, key=key)
            attempts = _attempts(connector, order_id, "ship")
        data = {
            "ok": True,
            "order_id": order_id,
            "shipment_id": result.shipment_id,
            "already_shipped": result.already_shipped,
            "attempts": attempts,
            "requests": observer.requests,
        }
        if json_output:
            out.document(data)
        else:
            out.line(f"order {order_id}: shipment {result.shipment_id}{_how(result.already_shipped, observer)}")


def _how(already: bool, observer: Observer) -> str:
    if observer.requests == 0:
        return " (done before: the ledger's record, the store was not asked again)"
    if already:
        return " (the store already had it, from an attempt whose answer was lost: nothing sent again)"
    return ""


def _attempts(connector: Any, order_id: str, kind: str) -> int:
    actions = [a for a in connector.actions(order_id) if a.kind == kind]
    return actions[-1].attempts if actions else 0


def acknowledge(
    order_id: Annotated[str, typer.Argument(help="The order to acknowledge.")],
    key: KeyOpt = None,
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    policy: PolicyOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Set the policy's acknowledgement status on one order, once."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, policy, ledger)
        sync_policy = read_policy(target.policy_path)
        observer = Observer()
        with connect(target, sync_policy, observer=observer) as connector:
            connector.acknowledge(order_id, key=key)
        status = sync_policy.acknowledgement.status
        data = {"ok": True, "order_id": order_id, "status": status, "requests": observer.requests}
        if json_output:
            out.document(data)
        else:
            out.line(f"order {order_id}: acknowledged ({status}){_how(False, observer)}")


def cancel(
    order_id: Annotated[str, typer.Argument(help="The order to cancel in the store.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    key: KeyOpt = None,
    config: ConfigOpt = None,
    driver: DriverOpt = None,
    policy: PolicyOpt = None,
    ledger: LedgerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Cancel one order in the store, once (the policy sets the status, comment and email)."""
    out = Out(json_output)
    with handled(out):
        target = target_for(config, driver, policy, ledger)
        sync_policy = read_policy(target.policy_path)
        if not yes:
            try:
                confirmed = typer.confirm(f"Cancel order {order_id} in the store?", err=True)
            except typer.Abort:  # no terminal to answer on (a script without --yes)
                confirmed = False
            if not confirmed:
                fail(out, EXIT_FAILED, "Aborted", f"order {order_id} not cancelled (pass --yes to skip the question)")
        observer = Observer()
        with connect(target, sync_policy, observer=observer) as connector:
            connector.cancel(order_id, key=key)
        data = {
            "ok": True,
            "order_id": order_id,
            "status": sync_policy.cancellation.status,
            "requests": observer.requests,
        }
        if json_output:
            out.document(data)
        else:
            out.line(f"order {order_id}: cancelled{_how(False, observer)}")
