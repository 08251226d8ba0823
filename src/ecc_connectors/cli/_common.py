"""What every store command shares: its flags, building the connector, reading times from the command line.

A command opens one :class:`~ecc_connectors.Connector` over a client of its own (so :class:`Observer` sees the
wire, see ``_observe``) and closes the connector, the client, the ledger and the driver when it ends, whatever
happens. Commands that do not touch the ledger file (``check``, ``init``) give the connector an in-memory ledger,
and commands that need no policy (``check``, ``init``, the tabs) a placeholder one, so a newcomer can check a
store before writing either file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated

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
from ._config import Options, Target, resolve
from ._observe import Observer
from ._output import register_secret

__all__ = [
    "ConfigOpt",
    "DriverOpt",
    "JsonOpt",
    "LedgerOpt",
    "PolicyOpt",
    "connect",
    "parse_when",
    "placeholder_policy",
    "target_for",
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


def target_for(config: Path | None, driver: str | None, policy: Path | None, ledger: Path | None) -> Target:
    """The store of this command, with every secret setting registered so output never shows it."""
    target = resolve(Options(config, driver, policy, ledger))
    for info in describe_settings(type(target.settings)):
        value = getattr(target.settings, info.name)
        if info.secret or isinstance(value, Secret):
            register_secret(value)
    return target


def placeholder_policy() -> SyncPolicy:
    """A policy for commands that do not download: no rows, a range no command reads."""
    return SyncPolicy(statuses=StatusMapping(), range=DownloadRange(start=_EPOCH))


@contextmanager
def connect(
    target: Target,
    policy: SyncPolicy | None = None,
    *,
    ledger: Ledger | None = None,
    observer: Observer | None = None,
    max_attempts: int | None = None,
) -> Iterator[Connector]:
    """A connector to the target's store; ``ledger=None`` opens the target's ledger file. ``max_attempts`` caps
    the driver's own attempts per request (a check should answer in seconds, not retry a dead store for a
    minute)."""
    watcher = observer or Observer()
    limits = target.driver.limits()
    if max_attempts is not None:
        limits = attrs.evolve(limits, max_attempts=min(limits.max_attempts, max_attempts))
    io_policy = IOPolicy(limits=limits)
    client = watcher.client(io_policy.timeout)
    own_ledger = None
    try:
        if ledger is None:
            own_ledger = ledger = SQLiteLedger(target.ledger_path)
        with Connector(
            target.driver, policy or placeholder_policy(), ledger, client=client, io_policy=io_policy
        ) as connector:
            yield connector
    finally:
        client.close()
        if own_ledger is not None:
            own_ledger.close()
        target.driver.close()


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
