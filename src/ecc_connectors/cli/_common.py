"""What every store command shares: its flags, its run (output, store, policy, connector), reading times.

A store command is written as ``command(run: StoreRun, own options...)`` under :func:`store_command`, which gives
Typer the command's own options plus the shared flags (``--config``, ``--driver``, ``--policy``, ``--ledger``,
``--json``) and hands the command a :class:`StoreRun`: the command states only what is its own.

A run opens :class:`~ecc_connectors.Connector` values over a client of its own (so its :class:`Observer` sees the
wire, see ``_observe``) and closes the connector, the client, the ledger and the driver when each ends, whatever
happens. Commands that do not touch the ledger file (``check``, ``init``) give the connector an in-memory ledger,
and commands that need no policy (``check``, ``init``, the tabs) get a placeholder one, so a newcomer can check a
store before writing either file.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import attrs
import typer

from .. import (
    ConfigurationError,
    Connector,
    DownloadRange,
    IOPolicy,
    Ledger,
    Secret,
    SQLiteLedger,
    StatusMapping,
    SyncPolicy,
    describe_settings,
)
from ._config import Options, Target, read_policy, resolve
from ._observe import Observer
from ._output import Out, handled, register_secret

__all__ = [
    "ConfigOpt",
    "DriverOpt",
    "JsonOpt",
    "LedgerOpt",
    "PolicyOpt",
    "StoreRun",
    "parse_when",
    "store_command",
]

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (driver, settings, policy, ledger); default $ECC_CONFIG or ./ecc-connectors.toml.",
        show_default=False,
    ),
]
DriverOpt = Annotated[
    str | None, typer.Option("--driver", "-d", help="Driver name (default: the config file's, or $ECC_DRIVER).")
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", "-p", help="Policy TOML (default: $ECC_POLICY or ./policy.toml).")
]
LedgerOpt = Annotated[
    Path | None, typer.Option("--ledger", "-l", help="Ledger SQLite file (default: $ECC_LEDGER or ./ecc-ledger.db).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, for scripts.")]

_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _target_for(options: Options) -> Target:
    """The store of this command, with every secret setting registered so output never shows it."""
    target = resolve(options)
    for info in describe_settings(type(target.settings)):
        value = getattr(target.settings, info.name)
        if info.secret or isinstance(value, Secret):
            register_secret(value)
    return target


def _placeholder_policy() -> SyncPolicy:
    """A policy for commands that do not download: no rows, a range no command reads."""
    return SyncPolicy(statuses=StatusMapping(), range=DownloadRange(start=_EPOCH))


class StoreRun:
    """One run of a store command: where it speaks (:attr:`out`), the store its flags name (:attr:`target`), the
    observer of every request it sends, and the policy file's policy when the command reads one."""

    def __init__(self, out: Out, target: Target, *, reads_policy: bool) -> None:
        self.out = out
        self.target = target
        self.observer = Observer()
        self._policy = read_policy(target.policy_path) if reads_policy else None

    @property
    def policy(self) -> SyncPolicy:
        """The policy file's policy (read before the command starts, for commands made with ``reads_policy``)."""
        if self._policy is None:
            raise TypeError("this command was not made with store_command(reads_policy=True)")
        return self._policy

    @contextmanager
    def connect(
        self,
        policy: SyncPolicy | None = None,
        *,
        ledger: Ledger | None = None,
        max_attempts: int | None = None,
    ) -> Iterator[Connector]:
        """A connector to the store: with ``policy``, else the command's policy, else a placeholder one;
        ``ledger=None`` opens the target's ledger file. ``max_attempts`` caps the driver's own attempts per request
        (a check should answer in seconds, not retry a dead store for a minute)."""
        target = self.target
        limits = target.driver.limits()
        if max_attempts is not None:
            limits = attrs.evolve(limits, max_attempts=min(limits.max_attempts, max_attempts))
        io_policy = IOPolicy(limits=limits)
        client = self.observer.client(io_policy.timeout)
        own_ledger = None
        try:
            if ledger is None:
                own_ledger = ledger = SQLiteLedger(target.ledger_path)
            chosen = policy or self._policy or _placeholder_policy()
            with Connector(target.driver, chosen, ledger, client=client, io_policy=io_policy) as connector:
                yield connector
        finally:
            client.close()
            if own_ledger is not None:
                own_ledger.close()
            target.driver.close()


def _flag(name: str, annotation: Any, default: object) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def store_command(
    *, ledger: bool = False, reads_policy: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Make a Typer command of ``command(..., run: StoreRun, ...)``.

    Typer sees the command's own parameters with the shared flags where ``run`` stands (``--config``,
    ``--driver``, then ``--policy`` with ``reads_policy`` and ``--ledger`` with ``ledger``) and ``--json`` last.
    The command runs inside :func:`handled` (every error it raises becomes the same message and exit code) with a
    :class:`StoreRun`; with ``reads_policy`` the policy file is read first, so a bad one is the first error
    reported, before the command's own checks.

    Typer has no way to share options between commands, so the shared flags are given to it through the
    signature it reads (``__signature__``), with every annotation evaluated.
    """
    flags = [_flag("config", ConfigOpt, None), _flag("driver", DriverOpt, None)]
    if reads_policy:
        flags.append(_flag("policy", PolicyOpt, None))
    if ledger:
        flags.append(_flag("ledger", LedgerOpt, None))
    names = [flag.name for flag in flags]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
        ]
        own_names = [p.name for p in own]
        if "run" not in own_names:
            raise TypeError(f"{command.__qualname__} takes no run: StoreRun parameter")
        at = own_names.index("run")

        def typer_command(**values: Any) -> None:
            options = Options(**{name: values.pop(name) for name in names})
            out = Out(values.pop("json_output"))
            with handled(out):
                run = StoreRun(out, _target_for(options), reads_policy=reads_policy)
                command(run=run, **values)

        shown = [*own[:at], *flags, *own[at + 1 :], _flag("json_output", JsonOpt, False)]
        typer_command.__signature__ = inspect.Signature(shown)  # type: ignore[attr-defined]  # read by Typer
        typer_command.__name__ = command.__name__
        typer_command.__qualname__ = command.__qualname__
        typer_command.__module__ = command.__module__
        typer_command.__doc__ = command.__doc__
        return typer_command

    return decorate


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime | None = None, *, what: str = "time") -> datetime:
    """A time from the command line: ISO 8601 (a date is its midnight; no offset means UTC), or a span back
    from now: ``90m``, ``12h``, ``30d``, ``2w``."""
    current = now or datetime.now(timezone.utc)
    relative = _RELATIVE.match(text)
    if relative:
        return current - timedelta(**{_UNITS[relative.group(2)]: float(relative.group(1))})
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read the Z suffix
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ConfigurationError(
            f"{what} {text!r} is neither ISO 8601 (2024-05-01, 2024-05-01T08:00:00+02:00) nor a span back from "
            "now (90m, 12h, 30d, 2w)"
        ) from None
    if len(cleaned) == 10:  # a date alone: its midnight
        parsed = datetime.combine(parsed.date(), time(0))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
