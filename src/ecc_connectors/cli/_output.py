"""How commands speak: Rich tables for people, ``--json`` for scripts, exit codes for both, secrets for no one.

Exit codes (the same for every command):

* ``0`` done;
* ``1`` the store or the operation failed (credentials refused, the store unreachable or refusing, an action
  already in progress elsewhere);
* ``2`` bad usage or configuration (an unknown flag, a missing setting, a policy file that does not load);
* ``3`` done, with something to look at: ``check`` found a read the credentials may not make, ``plan`` found
  policy problems, ``download`` / ``reconcile`` met orders that could not be read (they are in the failures tab);
* ``130`` interrupted (Ctrl-C): every page committed before it stays, and the next run resumes from there.

With ``--json`` the result is one JSON document on stdout (money as strings, times as ISO 8601 with offset), and
an error is ``{"ok": false, "error": {"type": ..., "message": ...}}`` there too (besides the message on stderr),
so a script always gets a document to parse. Progress and notes go to stderr.

Secrets: every secret setting loaded in this process is registered with :func:`register_secret`, and every text
this module writes, to either stream, has each registered value replaced by ``***``: a second line of defence
behind the SDK's own promise that no message quotes a secret.
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import attrs
import typer
from rich.console import Console
from rich.table import Table

from .. import ConfigurationError, ConnectorError, Secret

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Out",
    "fail",
    "handled",
    "jsonable",
    "register_secret",
    "scrub",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: object) -> None:
    """Never print ``value`` (a :class:`Secret` or its text; short values are not worth hiding and would mask
    ordinary words)."""
    text = value.reveal() if isinstance(value, Secret) else value
    if isinstance(text, str) and len(text.strip()) >= 4:
        with _secrets_lock:
            _secrets.update({text, text.strip()})


def scrub(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: attrs classes as dicts, ``Decimal`` as text, times in ISO 8601."""
    if isinstance(value, Secret):
        return "***"
    if attrs.has(type(value)):
        return {field.name: jsonable(getattr(value, field.name)) for field in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Out:
    """One command's output: ``json`` or people's text on stdout, notes on stderr."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.stdout = Console(soft_wrap=True, highlight=False)
        self.stderr = Console(stderr=True, soft_wrap=True, highlight=False)

    def document(self, data: Any) -> None:
        """The ``--json`` result (printed as is, not through Rich's markup)."""
        typer.echo(scrub(json.dumps(jsonable(data), indent=2, ensure_ascii=False)))

    def result(self, data: Any, for_people: Callable[[], object]) -> None:
        """A command's result: ``data`` as the ``--json`` document, else ``for_people()`` writes it for people."""
        if self.json_mode:
            self.document(data)
        else:
            for_people()

    def line(self, text: str = "") -> None:
        if not self.json_mode:
            self.stdout.print(scrub(text), markup=False)

    def note(self, text: str) -> None:
        self.stderr.print(scrub(text), markup=False)

    def table(self, title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
        if self.json_mode:
            return
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(scrub("" if cell is None else str(cell)) for cell in row))
        self.stdout.print(table)


def fail(out: Out, code: int, kind: str, message: str) -> NoReturn:
    """Report an error the same way for every command and leave with ``code``."""
    message = scrub(message)
    if out.json_mode:
        out.document({"ok": False, "error": {"type": kind, "message": message}, "exit_code": code})
    out.note(f"error: {message}")
    raise typer.Exit(code)


@contextmanager
def handled(out: Out) -> Iterator[None]:
    """Map the SDK's errors to messages and exit codes (see the module notes)."""
    try:
        yield
    except typer.Exit:
        raise
    except ConfigurationError as exc:
        fail(out, EXIT_USAGE, type(exc).__name__, str(exc))
    except (ConnectorError, OSError) as exc:
        fail(out, EXIT_FAILED, type(exc).__name__, str(exc))
    except KeyboardInterrupt:
        # Pages are committed whole with their mark, so what was committed stays and the next run resumes.
        fail(out, EXIT_INTERRUPTED, "Interrupted", "interrupted: committed pages are kept, the next run goes on")
