"""The commands that talk to the store: ``check``, ``init``, ``plan``, ``download``, ``reconcile``.

``check`` never writes anything anywhere: it makes each read the driver declares once, as small as the store
allows (the statuses, one order, one key, one item); the first that reaches the store and succeeds proves the
credentials. It reports per capability ``ok``, ``refused`` (the store said 401/403: a missing scope, ACL resource
or role permission), ``throttled`` (still 429 after two attempts) or ``error``. Writes are never tried: a check
that shipped an order to learn whether it may would be worse than no check. What the wire showed (clock skew,
rate-limit headers, API versions) comes from the :class:`~._observe.Observer`.

``download`` and ``reconcile`` draw a Rich progress bar on stderr (orders with the store's total when it says,
pages, rate, time left), then a summary table, or the report as JSON.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .. import (
    AuthenticationError,
    Capability,
    Connector,
    ConnectorError,
    DownloadReport,
    ItemQuery,
    OrderQuery,
    RateLimited,
    ReconcileReport,
    Seek,
    SQLiteLedger,
    StoreError,
    StoreStatus,
    SyncPolicy,
    TransportError,
    Unselected,
)
from ._common import PolicyOpt, StoreRun, parse_when, store_command
from ._config import Target, masked_settings
from ._observe import Observer
from ._output import EXIT_ATTENTION, EXIT_FAILED, EXIT_OK, Out, fail, jsonable
from ._plan import DryRunLedger, counting_policy, make_plan, plan_json
from ._starter import meaning_of, starter_policy

__all__ = ["check", "download", "init", "plan", "reconcile"]

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
_WRITES = (Capability.SHIP, Capability.SET_STATUS, Capability.CANCEL, Capability.INVOICE, Capability.CREATE_ORDER)


class _Probes:
    """Runs the check's reads, each once, and remembers what each proved."""

    def __init__(self, observer: Observer) -> None:
        self._observer = observer
        self.results: dict[str, dict[str, str]] = {}
        self.errors: list[ConnectorError] = []
        self.answered = False
        """Some read that reached the store succeeded: the credentials are accepted."""

    def run(self, capability: Capability, read: Any, describe: Any) -> Any:
        sent = self._observer.requests
        try:
            value = read()
        except ConnectorError as exc:
            self.errors.append(exc)
            self.results[capability.value] = {"result": _probe_result(exc), "detail": str(exc)}
            return None
        if self._observer.requests > sent:
            self.answered = True
        self.results[capability.value] = {"result": "ok", "detail": describe(value)}
        return value

    def skip(self, capability: Capability, why: str) -> None:
        self.results[capability.value] = {"result": "not probed", "detail": why}

    def first_failure(self) -> ConnectorError | None:
        """Why nothing could be read: a refused credential first, then a store out of reach."""
        for kind in (AuthenticationError, TransportError, ConnectorError):
            for error in self.errors:
                if isinstance(error, kind):
                    return error
        return None


def _probe_result(error: ConnectorError) -> str:
    if isinstance(error, AuthenticationError):
        return "refused"
    if isinstance(error, RateLimited):
        # The store said "slow down" past the check's two attempts: not a permission, but worth a look.
        return "throttled"
    if isinstance(error, StoreError) and error.http_status in (401, 403):
        return "refused"
    return "error"


@store_command()
def check(run: StoreRun) -> None:
    """Prove the settings against the store: credentials, statuses, clock skew, permissions, rate limits."""
    target = run.target
    probes = _Probes(run.observer)
    statuses: tuple[StoreStatus, ...] = ()
    caps = target.driver.capabilities
    started = _time.monotonic()
    with run.connect(ledger=SQLiteLedger(":memory:"), max_attempts=2) as connector:
        if Capability.LIST_STATUSES in caps:
            statuses = (
                probes.run(Capability.LIST_STATUSES, connector.list_statuses, lambda s: f"{len(s)} statuses") or ()
            )
        first_id = _probe_listing(connector, caps, probes)
        if Capability.GET_ORDER in caps:
            if first_id is None:
                probes.skip(Capability.GET_ORDER, "no order listed")
            else:
                probes.run(Capability.GET_ORDER, lambda: connector.get_order(first_id), lambda _: f"order {first_id}")
        if Capability.SEARCH_ITEMS in caps:
            probes.run(
                Capability.SEARCH_ITEMS,
                lambda: connector.search_items(ItemQuery(text="a", limit=1)),
                lambda items: f"{len(items)} item(s) for 'a'",
            )
        for capability in _WRITES:
            if capability in caps:
                probes.skip(capability, "a check never writes")
    elapsed = _time.monotonic() - started
    failure = probes.first_failure()
    if not probes.answered and failure is not None:
        # Nothing the store answered was readable: the credentials or the address are wrong, not a permission.
        fail(run.out, EXIT_FAILED, type(failure).__name__, str(failure))
    problems = [name for name, r in probes.results.items() if r["result"] in ("refused", "error", "throttled")]
    shown = masked_settings(target.settings)
    report = {
        "ok": not problems,
        "driver": target.driver_name,
        "store": target.driver.store_id or target.driver_name,
        "authenticated": True,
        "credentials": sorted(name for name, value in shown.items() if value == "***"),
        "settings": shown,
        "statuses": [
            {"code": s.code, "label": s.label, "state": s.state, "meaning": meaning_of(s).value} for s in statuses
        ],
        "capabilities": probes.results,
        "wire": run.observer.summary(),
        "seconds": round(elapsed, 3),
    }
    run.out.result(report, lambda: _print_check(run.out, report))
    raise typer.Exit(EXIT_ATTENTION if problems else EXIT_OK)


def _probe_listing(connector: Any, caps: frozenset[Capability], probes: _Probes) -> str | None:
    driver = connector.driver
    query = OrderQuery(page_size=1)
    pages = []
    if Capability.SEEK_ORDERS in caps:
        pages.append(
            probes.run(Capability.SEEK_ORDERS, lambda: connector.run(driver.seek_page(query, Seek(), 1)), _page_detail)
        )
    if Capability.LIST_ORDERS in caps:
        pages.append(probes.run(Capability.LIST_ORDERS, lambda: connector.run(driver.first_page(query)), _page_detail))
    if Capability.LIST_KEYS in caps:
        probes.run(
            Capability.LIST_KEYS,
            lambda: connector.run(driver.list_keys(query, Seek(), 1)),
            lambda keys: "" if keys.total is None else f"{keys.total} order(s) in the store",
        )
    return next((found for found in map(_first_id, pages) if found is not None), None)


def _page_detail(page: Any) -> str:
    if page is None:
        return ""
    total = f", {page.total} in the store" if page.total is not None else ""
    return f"{len(page.orders)} order(s) read{total}"


def _first_id(page: Any) -> str | None:
    if page is None:
        return None
    for order in page.orders:
        if not isinstance(order, ConnectorError):
            return str(order.order_id)
    return None


def _print_check(out: Out, report: dict[str, Any]) -> None:
    wire = report["wire"]
    skew = wire["clock_skew_seconds"]
    margin = wire["clock_skew_margin_seconds"]
    out.line(f"store        {report['store']} (driver {report['driver']})")
    creds = ", ".join(report["credentials"]) or "none"
    out.line(f"credentials  {'accepted' if report['authenticated'] else 'REFUSED'} ({creds}, values hidden)")
    out.line(f"API version  {', '.join(wire['api_versions']) or 'not seen'}")
    if skew is None:
        out.line("clock skew   unknown (the store sends no Date header)")
    elif abs(skew) <= margin:
        out.line(f"clock skew   none measurable (within {margin:.1f} s; Date headers count whole seconds)")
    else:
        side = "ahead of" if skew > 0 else "behind"
        out.line(f"clock skew   {abs(skew):.1f} s (± {margin:.1f} s): the store's clock is {side} this machine's")
    limits = ", ".join(f"{k}: {v}" for k, v in wire["rate_limit_headers"].items()) or "no rate-limit headers"
    out.line(f"rate limits  {limits}; {wire['throttled']} answer(s) 429 of {wire['requests']} request(s)")
    out.table(
        "Settings",
        ["setting", "value"],
        [[name, value or "-"] for name, value in report["settings"].items()],
    )
    out.table(
        f"Statuses ({len(report['statuses'])})",
        ["code", "label", "state", "meaning"],
        [[s["code"], s["label"], s["state"] or "", s["meaning"]] for s in report["statuses"]],
    )
    out.table(
        "Permissions, by capability",
        ["capability", "result", "detail"],
        [[name, r["result"], r["detail"]] for name, r in report["capabilities"].items()],
    )


@store_command()
def init(
    run: StoreRun,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the policy (default: the policy path).")
    ] = None,
    since: Annotated[
        str, typer.Option("--since", help="range.start: ISO date/time, or a span back from now (30d).")
    ] = "30d",
    unselected: Annotated[
        Unselected, typer.Option("--unselected", help="Orders of statuses not downloaded: skip or ignore_tab.")
    ] = Unselected.SKIP,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing policy file.")] = False,
    policy: PolicyOpt = None,
) -> None:
    """Write a commented policy TOML from the store's own statuses, ready to edit."""
    target = run.target
    # --policy is init's own flag here (the file to write, not one to read); it wins over the config file, as in
    # every command.
    path = output or policy or target.policy_path
    if path.exists() and not force:
        fail(run.out, EXIT_ATTENTION, "FileExists", f"{path} exists; pass --force to overwrite it")
    start = parse_when(since, what="--since")
    # Whole days read better in a file people edit; a span back from now is rounded down to its midnight.
    if start.time() != datetime.min.time() and since.strip()[-1:] in "dw":
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    with run.connect(ledger=SQLiteLedger(":memory:")) as connector:
        statuses = connector.list_statuses()
        defaults = connector.driver.store_defaults()
    written, text = starter_policy(
        statuses, defaults, start=start, unselected=unselected, driver_name=f"{target.driver_name} store"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    summary = {
        "ok": True,
        "path": str(path),
        "statuses": [
            {
                "status": r.status,
                "download": r.download,
                "process_payment": r.process_payment,
                "process_shipping": r.process_shipping,
                "meaning": meaning_of(s).value,
            }
            for r, s in zip(written.statuses.rules, statuses, strict=True)
        ],
        "post_back_status": written.post_back.status,
        "cancellation_status": written.cancellation.status,
        "acknowledgement_status": written.acknowledgement.status,
        "range_start": written.range.start,
        "problems": [str(p) for p in written.check(statuses)],
    }
    run.out.result(summary, lambda: _print_init(run.out, path, written, statuses))


def _print_init(out: Out, path: Path, written: SyncPolicy, statuses: tuple[StoreStatus, ...]) -> None:
    rules = written.statuses.rules
    out.line(f"wrote {path}: {len(statuses)} status rows, {sum(r.download for r in rules)} downloaded")
    out.table(
        None,
        ["status", "meaning", "download", "arrives"],
        [
            [
                r.status,
                meaning_of(s).value,
                "yes" if r.download else "no",
                _arrives(r.process_payment, r.process_shipping) if r.download else "",
            ]
            for r, s in zip(rules, statuses, strict=True)
        ],
    )
    out.line("next: edit it, then `ecc-connectors plan` shows what a download would do")


def _arrives(process_payment: bool | None, process_shipping: bool | None) -> str:
    paid = "unpaid" if process_payment else "paid"
    shipped = "unshipped" if process_shipping else "shipped"
    return f"{paid}, {shipped}"


@store_command(reads_policy=True, ledger=True)
def plan(run: StoreRun) -> None:
    """Show what a download would do with this policy, writing nothing (a dry run)."""
    out, target, policy = run.out, run.target, run.policy
    alone = [str(p) for p in policy.check()]
    if alone:
        # The connector refuses such a policy; say every problem instead of the first refusal.
        out.result(
            {"ok": False, "problems": alone},
            lambda: _print_problems(
                out, f"the policy has {len(alone)} problem(s); nothing was read from the store:", alone
            ),
        )
        raise typer.Exit(EXIT_ATTENTION)
    with _open_ledger(target) as real_ledger:
        dry = DryRunLedger(real_ledger)
        with run.connect(counting_policy(policy), ledger=dry) as connector:
            statuses = connector.list_statuses() if Capability.LIST_STATUSES in target.driver.capabilities else ()
            problems = [str(p) for p in policy.check(statuses or None)]
            report = connector.download()
    result = make_plan(policy, report, dry.batches)
    data = {"ok": not problems, **plan_json(result), "problems": problems, "policy": str(target.policy_path)}
    out.result(data, lambda: _print_plan(out, data))
    raise typer.Exit(EXIT_ATTENTION if problems else EXIT_OK)


def _open_ledger(target: Target) -> SQLiteLedger:
    # The real ledger only when it exists: a plan before the first download must not create the file.
    if target.ledger_path.exists():
        return SQLiteLedger(target.ledger_path)
    return SQLiteLedger(":memory:")


def _print_problems(out: Out, heading: str, problems: list[str]) -> None:
    out.line(heading)
    for problem in problems:
        out.line(f"  - {problem}")


def _print_plan(out: Out, data: dict[str, Any]) -> None:
    window = data["window"]
    out.line(f"window       orders updated from {window['updated_from']} to {window['updated_to']}")
    out.line(f"pages        {data['pages']} (nothing written: this was a dry run)")
    out.table(
        "What a download would do, by status",
        ["status", "orders", "goes to", "paid", "shipped"],
        [
            [
                row["status"],
                row["count"],
                row["goes_to"],
                "" if row["paid"] is None else ("yes" if row["paid"] else "no"),
                "" if row["shipped"] is None else ("yes" if row["shipped"] else "no"),
            ]
            for row in data["statuses"]
        ],
    )
    totals = data["totals"]
    out.line(
        f"totals       {totals['orders']} to Orders, {totals['updates']} Updates, {totals['ignore']} to Ignore, "
        f"{totals['skip']} skipped ({data['skipped_by_range']} by range or number), {totals['unchanged']} "
        f"unchanged, {totals['unreadable']} unreadable"
    )
    if data["problems"]:
        _print_problems(out, f"policy       {len(data['problems'])} problem(s):", data["problems"])
    else:
        out.line("policy       no problems against the store's statuses")


class _Bar:
    """The progress bar of a download: ``progress(done, total)`` is called after each page."""

    def __init__(self, out: Out, title: str, enabled: bool, observer: Observer) -> None:
        self.pages = 0
        self._observer = observer
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("orders  {task.fields[pages]} pages  {task.fields[requests]} requests  {task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=out.stderr,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task(title, total=None, pages=0, requests=0, rate="")
        self._started = _time.monotonic()

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def __call__(self, done: int, total: int | None) -> None:
        self.pages += 1
        elapsed = max(_time.monotonic() - self._started, 1e-6)
        self._progress.update(
            self._task,
            completed=done,
            total=total,
            pages=self.pages,
            requests=self._observer.requests,
            rate=f"{done / elapsed:.0f} orders/s",
        )


@store_command(reads_policy=True, ledger=True)
def download(run: StoreRun, quiet: QuietOpt = False) -> None:
    """Download what changed since the last run into the ledger, with a progress bar and a summary."""
    _with_bar(run, "Download", quiet, lambda connector, bar: connector.download(progress=bar))


@store_command(reads_policy=True, ledger=True)
def reconcile(
    run: StoreRun,
    start: Annotated[str | None, typer.Option("--start", help="From (default: the policy's range start).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Up to (default: the store's time).")] = None,
    content: Annotated[
        bool, typer.Option("--content", help="Re-read every order and compare content, not only update stamps.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare the store with the ledger over a window and repair what differs."""
    since = parse_when(start, what="--start") if start else None
    until = parse_when(end, what="--end") if end else None
    _with_bar(
        run,
        "Reconcile",
        quiet,
        lambda connector, bar: connector.reconcile(since, until, compare_content=content, progress=bar),
    )


def _with_bar(
    run: StoreRun,
    title: str,
    quiet: bool,
    work: Callable[[Connector, _Bar], DownloadReport | ReconcileReport],
) -> None:
    """Run a download or a reconcile (``work``) under a progress bar, print its report and exit 3 when orders could
    not be read."""
    out = run.out
    with run.connect() as connector, _Bar(out, title.lower(), not quiet, run.observer) as bar:
        report = work(connector, bar)
    data: dict[str, Any] = {
        "ok": report.failures == 0,
        **jsonable(report),
        "requests": run.observer.requests,
        "throttled": run.observer.throttled(),
    }
    out.result(data, lambda: _print_report(out, title, data, report.failures))
    raise typer.Exit(EXIT_ATTENTION if report.failures else EXIT_OK)


def _print_report(out: Out, title: str, data: dict[str, Any], failures: int) -> None:
    skip = {"ok", "store", "updated_from", "updated_to"}
    out.line(f"{title} of {data['store']}: orders updated from {data['updated_from']} to {data['updated_to']}")
    out.table(None, ["", "count"], [[key, value] for key, value in data.items() if key not in skip])
    if failures:
        out.line(f"{failures} order(s) could not be read: `ecc-connectors tabs failures` shows them")
