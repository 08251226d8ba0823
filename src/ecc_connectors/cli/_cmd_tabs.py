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

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import attrs
import typer

from .. import ConfigurationError, Connector, FailureRecord, OrderRecord, PendingUpdate, Tracking
from ._common import StoreRun, parse_when, store_command
from ._observe import Observer
from ._output import EXIT_FAILED, Out, fail, jsonable

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
KeyOpt = Annotated[
    str | None, typer.Option("--key", help="Idempotency key (default: made from the order and the request).")
]


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


def _yn(value: bool) -> str:
    return "yes" if value else "no"


def _short(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


@attrs.frozen
class _TabView:
    """How a tab is listed: its rows, the time ``--since`` compares, a row's JSON, and its table for people."""

    title: str
    rows: Callable[[Connector], list[Any]]
    stamp: str
    as_json: Callable[[Any], dict[str, Any]]
    columns: list[str]
    cells: Callable[[dict[str, Any]], list[Any]]


def _record_cells(d: dict[str, Any]) -> list[Any]:
    total = f"{d['grand_total']} {d['currency']}"
    return [
        d["order_id"],
        d["number"],
        d["status"],
        _yn(d["paid"]),
        _yn(d["shipped"]),
        total,
        d["customer"],
        _short(d["last_changed"]),
    ]


def _update_cells(d: dict[str, Any]) -> list[Any]:
    changes = ", ".join(sorted({c["kind"] for c in d["changes"]})) or ("replacement" if d["replaces"] else "-")
    return [d["order_id"], d["number"], d["status"], changes, _short(d["detected_at"])]


_RECORD_COLUMNS = ["order", "number", "status", "paid", "shipped", "total", "customer", "changed"]
_ORDERS = _TabView("Orders tab", lambda c: c.orders(), "last_changed", _record_json, _RECORD_COLUMNS, _record_cells)
_IGNORE = _TabView("Ignore tab", lambda c: c.ignored(), "last_changed", _record_json, _RECORD_COLUMNS, _record_cells)
_UPDATES = _TabView(
    "Updates tab",
    lambda c: c.updates(),
    "detected_at",
    _update_json,
    ["order", "number", "status now", "changes", "detected"],
    _update_cells,
)


def _failures_view(raw: bool) -> _TabView:
    return _TabView(
        "Failures",
        lambda c: c.failures(),
        "at",
        lambda failure: _failure_json(failure, raw),
        ["order", "field", "problem", "at"],
        lambda d: [d["order_ref"] or "?", d["field"], d["problem"], _short(d["at"])],
    )


def _list_tab(run: StoreRun, view: _TabView, statuses: list[str] | None, since: str | None, limit: int | None) -> None:
    ledger_path = run.target.ledger_path
    if not ledger_path.exists():
        raise ConfigurationError(f"ledger {str(ledger_path)!r} does not exist (run a download first)")
    with run.connect() as connector:
        data = [view.as_json(row) for row in _filtered(view.rows(connector), statuses, since, limit, view.stamp)]
    title = f"{view.title} ({len(data)})"
    run.out.result(data, lambda: run.out.table(title, view.columns, [view.cells(d) for d in data]))


def _tab_command(name: str, summary: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``tabs NAME``: a store command on the ledger file, which needs no policy (``summary``: its help,
    else its docstring)."""

    def register(command: Callable[..., None]) -> Callable[..., None]:
        return tabs_app.command(name, help=summary)(store_command(ledger=True)(command))

    return register


def _add_list_command(name: str, view: _TabView, summary: str) -> None:
    @_tab_command(name, summary)
    def list_tab(run: StoreRun, status: StatusFilter = None, since: SinceFilter = None, limit: LimitOpt = None) -> None:
        _list_tab(run, view, status, since, limit)


_add_list_command("orders", _ORDERS, "The Orders tab: downloaded orders with their local paid/shipped state.")
_add_list_command("ignore", _IGNORE, "The Ignore tab: orders of statuses that are not downloaded, kept for a look.")
_add_list_command("updates", _UPDATES, "The Updates tab: orders changed in the store after download.")


@_tab_command("failures")
def tab_failures(
    run: StoreRun,
    since: SinceFilter = None,
    limit: LimitOpt = None,
    raw: Annotated[bool, typer.Option("--raw", help="Include each raw payload (JSON only).")] = False,
) -> None:
    """Orders whose payload could not be read, with the field and the problem."""
    _list_tab(run, _failures_view(raw), None, since, limit)


@_tab_command("show")
def tab_show(
    order_id: Annotated[str, typer.Argument(help="The order's id (the ledger's order_id).")], run: StoreRun
) -> None:
    """One order: its row, its pending update with each field change, and its action log."""
    with run.connect() as connector:
        record = connector.ledger.get(connector.store, order_id)
        update = connector.ledger.pending(connector.store, order_id)
        actions = connector.actions(order_id)
    if record is None and update is None:
        fail(
            run.out, EXIT_FAILED, "NotFound", f"order {order_id!r} is not in the ledger of {run.target.driver.store_id}"
        )
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
    run.out.result(data, lambda: _print_order(run.out, order_id, record, update, actions))


def _print_order(
    out: Out, order_id: str, record: OrderRecord | None, update: PendingUpdate | None, actions: list[Any]
) -> None:
    if record is not None:
        out.table(
            f"Order {order_id} ({record.tab.value} tab)",
            ["field", "value"],
            [[k, jsonable(v)] for k, v in _record_json(record).items()],
        )
    if update is not None:
        title = f"Pending update (detected {_short(update.detected_at)})"
        if update.replaces:
            title += f": replaces {update.replaces}"
        out.table(
            title,
            ["kind", "field", "was", "now"],
            [[c["kind"], c["path"], c["old"], c["new"]] for c in _update_json(update)["changes"]],
        )
        out.line(
            "accept it: ecc-connectors tabs redownload ID    keep the downloaded copy: ecc-connectors tabs dismiss ID"
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


@_tab_command("redownload")
def tab_redownload(
    order_id: Annotated[str, typer.Argument(help="The order whose pending update to accept.")], run: StoreRun
) -> None:
    """Accept an order's pending update: the store's current copy replaces the downloaded one."""
    with run.connect() as connector:
        if connector.ledger.pending(connector.store, order_id) is None:
            fail(run.out, EXIT_FAILED, "NotFound", f"order {order_id!r} has no pending update")
        record = connector.redownload(order_id)
    run.out.result(
        {"ok": True, "order": _record_json(record)},
        lambda: run.out.line(
            f"order {record.order_id} ({record.number}) now holds the store's copy: status {record.status}"
        ),
    )


@_tab_command("dismiss")
def tab_dismiss(
    order_id: Annotated[str, typer.Argument(help="The order whose pending update to dismiss.")], run: StoreRun
) -> None:
    """Keep the downloaded copy and clear the order's pending update."""
    with run.connect() as connector:
        dismissed = connector.dismiss(order_id)
    if not dismissed:
        fail(run.out, EXIT_FAILED, "NotFound", f"order {order_id!r} has no pending update")
    run.out.result(
        {"ok": True, "order_id": order_id, "dismissed": True},
        lambda: run.out.line(f"order {order_id}: update dismissed, the downloaded copy stays"),
    )


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


@store_command(reads_policy=True, ledger=True)
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
    *,
    run: StoreRun,
) -> None:
    """Post a shipment back to the store, once (the policy sets the status and the email)."""
    numbers = [Tracking(number, carrier_code=carrier, title=title) for number in tracking or ()]
    with run.connect() as connector:
        result = connector.ship(order_id, numbers, lines=_lines(line), comment=comment, key=key)
        actions = [a for a in connector.actions(order_id) if a.kind == "ship"]
    data = {
        "ok": True,
        "order_id": order_id,
        "shipment_id": result.shipment_id,
        "already_shipped": result.already_shipped,
        "attempts": actions[-1].attempts if actions else 0,
        "requests": run.observer.requests,
    }
    how = _how(result.already_shipped, run.observer)
    run.out.result(data, lambda: run.out.line(f"order {order_id}: shipment {result.shipment_id}{how}"))


def _how(already: bool, observer: Observer) -> str:
    if observer.requests == 0:
        return " (done before: the ledger's record, the store was not asked again)"
    if already:
        return " (the store already had it, from an attempt whose answer was lost: nothing sent again)"
    return ""


@store_command(reads_policy=True, ledger=True)
def acknowledge(
    order_id: Annotated[str, typer.Argument(help="The order to acknowledge.")],
    key: KeyOpt = None,
    *,
    run: StoreRun,
) -> None:
    """Set the policy's acknowledgement status on one order, once."""
    with run.connect() as connector:
        connector.acknowledge(order_id, key=key)
    status = run.policy.acknowledgement.status
    data = {"ok": True, "order_id": order_id, "status": status, "requests": run.observer.requests}
    run.out.result(data, lambda: run.out.line(f"order {order_id}: acknowledged ({status}){_how(False, run.observer)}"))


@store_command(reads_policy=True, ledger=True)
def cancel(
    order_id: Annotated[str, typer.Argument(help="The order to cancel in the store.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    key: KeyOpt = None,
    *,
    run: StoreRun,
) -> None:
    """Cancel one order in the store, once (the policy sets the status, comment and email)."""
    if not yes:
        try:
            confirmed = typer.confirm(f"Cancel order {order_id} in the store?", err=True)
        except typer.Abort:  # no terminal to answer on (a script without --yes)
            confirmed = False
        if not confirmed:
            fail(run.out, EXIT_FAILED, "Aborted", f"order {order_id} not cancelled (pass --yes to skip the question)")
    with run.connect() as connector:
        connector.cancel(order_id, key=key)
    data = {
        "ok": True,
        "order_id": order_id,
        "status": run.policy.cancellation.status,
        "requests": run.observer.requests,
    }
    run.out.result(data, lambda: run.out.line(f"order {order_id}: cancelled{_how(False, run.observer)}"))
