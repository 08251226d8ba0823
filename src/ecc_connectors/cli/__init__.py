"""The ``ecc-connectors`` command line: check a store, write a policy, plan, download, look at the tabs.

Installed as a console script; its commands need the ``[cli]`` extra (Typer for commands, Rich for tables and
progress)::

    ecc-connectors fake magento2 --write-config store.toml &    # a store to try it on, no account needed
    ecc-connectors -c store.toml check                          # credentials, statuses, clock, permissions
    ecc-connectors -c store.toml init                           # policy.toml from the store's statuses
    ecc-connectors -c store.toml plan                           # what a download would do (writes nothing)
    ecc-connectors -c store.toml download                       # into ecc-ledger.db, with a progress bar
    ecc-connectors -c store.toml tabs orders                    # what landed in each tab

It is built on the public API only: the driver from its settings (``_config``), a
:class:`~ecc_connectors.Connector` over a client of its own so it can see the wire (``_common``, ``_observe``),
``list_statuses`` / ``check_policy`` / ``download`` / ``reconcile`` / the tabs / ``ship`` / ``acknowledge`` /
``cancel``, and the fake stores of ``ecc_connectors.testing``, found by the public module
:mod:`ecc_connectors.cli.fakes` (its functions need no extra). docs/cli.md has a whole session.

:data:`app` is the Typer application (``typer.testing.CliRunner`` drives it); :func:`main` is the console script.
Without the extra, ``app`` is ``None`` and :func:`main` says which package to install instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["app", "main"]

_missing: str | None = None
app: Any
try:
    from ._app import app
except ModuleNotFoundError as exc:  # the [cli] extra is not installed
    if exc.name not in ("typer", "rich", "click"):
        raise
    app, _missing = None, exc.name


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run the command line and return its exit code (2 without the ``[cli]`` extra)."""
    if _missing is not None:
        sys.stderr.write(
            f"ecc-connectors: the command line needs the cli extra ({_missing} is not installed): "
            "pip install 'ecc-connectors[cli]'\n"
        )
        return 2
    from ._app import run

    return run(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
