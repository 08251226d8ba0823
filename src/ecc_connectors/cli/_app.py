"""The Typer application: every command registered under one ``app``, and the console script's ``run``.

The commands live in ``_cmd_store`` (check, init, plan, download, reconcile), ``_cmd_tabs`` (the tabs, ship,
acknowledge, cancel) and ``_cmd_misc`` (fake, drivers); this module wires them, hands a ``-c`` given before the
command name down to the command, and routes the SDK's log warnings to stderr.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from .. import PluginWarning
from ._cmd_misc import drivers, fake
from ._cmd_store import check, download, init, plan, reconcile
from ._cmd_tabs import acknowledge, cancel, ship, tabs_app
from ._output import scrub

__all__ = ["app", "run"]

app = typer.Typer(
    name="ecc-connectors",
    help="Check a store, write a policy, plan and run downloads, look at the tabs, post back: from a terminal.",
    no_args_is_help=True,
    add_completion=False,
    # Typer's pretty tracebacks print local variables by default, settings and secrets among them: never.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file for every command (same as the command's own -c).", show_default=False
        ),
    ] = None,
) -> None:
    """Commands for the people who run ecc-connectors."""
    if config is not None:
        # Commands read -c themselves; a -c before the command name is handed down as their default.
        ctx.default_map = {name: {"config": config} for name in _STORE_COMMANDS}
        ctx.default_map["tabs"] = {name: {"config": config} for name in _TAB_COMMANDS}


_STORE_COMMANDS = ("check", "init", "plan", "download", "reconcile", "ship", "acknowledge", "cancel")
_TAB_COMMANDS = ("orders", "ignore", "updates", "failures", "show", "redownload", "dismiss")

app.command()(check)
app.command()(init)
app.command()(plan)
app.command()(download)
app.command()(reconcile)
app.add_typer(tabs_app, name="tabs")
app.command()(ship)
app.command()(acknowledge)
app.command()(cancel)
app.command()(fake)
app.command()(drivers)


class _NoteHandler(logging.Handler):
    """The SDK's warnings (a plugin left out, a page retried) as one ``warning:`` line each on stderr, scrubbed."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(scrub(f"warning: {record.getMessage()}") + "\n")
        except Exception:  # a note that cannot be written must not end the command
            self.handleError(record)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    root = logging.getLogger("ecc_connectors")
    if not root.handlers:
        handler = _NoteHandler(logging.WARNING)
        root.addHandler(handler)
    # The registry both logs and warns about a plugin left out; the log line is enough at a terminal.
    warnings.filterwarnings("ignore", category=PluginWarning)
    try:
        app(args=list(argv) if argv is not None else None, prog_name="ecc-connectors", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
