"""The ledger conformance suite: the checks every :class:`~ecc_connectors.ledger.Ledger` must pass.

Each check exercises one family of promises of the protocol (the docstrings of :mod:`ecc_connectors.ledger`)
through the protocol alone: no SQL, no dump, nothing a second backend would not have. The checks run against
a **factory** (:class:`LedgerFactory`): ``fresh()`` opens a new ledger on new, empty storage, and ``reopen``,
when the backend can, opens a second instance on the storage of a given ledger, as another process would (the
checks of leases and of racing ``begin_action`` then use two instances; without it they race threads on one).

**With pytest** (no plugin needed): subclass :class:`LedgerContract` in a test module under a name pytest
collects, and provide a ``ledger_factory`` fixture; every check is a test method ``test_<check name>``. For
the built-in ledger, in memory and on a file::

    import itertools

    import pytest

    from ecc_connectors.ledger import SQLiteLedger
    from ecc_connectors.testing.ledger_suite import LedgerContract, LedgerFactory


    @pytest.fixture(params=["memory", "file"])
    def ledger_factory(request, tmp_path):
        if request.param == "memory":
            return LedgerFactory(fresh=SQLiteLedger)  # no second instance on one in-memory database
        paths = (tmp_path / f"ledger-{n}.db" for n in itertools.count())
        return LedgerFactory(
            fresh=lambda: SQLiteLedger(next(paths)),  # new, empty storage each time
            reopen=lambda ledger: SQLiteLedger(ledger.path),  # a second instance on the same file
        )


    class TestSQLiteLedger(LedgerContract):
        pass

For a server database (PostgreSQL), ``fresh`` creates a new database or schema each time, and ``reopen``
connects again to the one the given ledger uses.

Parametrised fixtures run the suite over several configurations, as above. A check that does not apply can be
switched off by overriding its method in the subclass (``pytest.mark.skip``).

**Without pytest:** :func:`ledger_checks` returns the same checks as named callables::

    for check in ledger_checks():
        check(factory)  # raises AssertionError naming the broken promise

The checks use ``assert``: do not run them under ``python -O`` (they refuse to).

:class:`SQLiteMigrationContract` and :func:`sqlite_migration_checks` are a SQLite-specific extra: files
written by schema versions 1 to 3 open with the current code, their data intact (fixtures ``sqlite_opener``,
a callable taking a path and returning the ledger, and pytest's ``tmp_path``).

The checks live in private modules by part of the protocol (``_ledger_suite_pages``, ``_ledger_suite_tabs``,
``_ledger_suite_actions``; the machinery and test data in ``_ledger_suite_kit``, the SQLite extra in
``_ledger_suite_sqlite``); this module is their one public face and its names do not move.
"""

from __future__ import annotations

from typing import Any

# Names imported "as" themselves stay importable from here, as before the split, without joining __all__.
from ._ledger_suite_actions import SHIP as SHIP
from ._ledger_suite_actions import (
    check_a_checkpoint_survives_for_the_next_attempt,
    check_a_late_finish_does_not_overwrite_the_new_holder,
    check_a_live_lease_refuses_and_an_expired_one_is_taken_over,
    check_a_phone_order_and_its_row_are_written_together,
    check_an_action_runs_once_and_logs_every_attempt,
    check_racing_begin_action_exactly_one_goes,
    check_threads_can_share_one_ledger,
)
from ._ledger_suite_kit import NOW as NOW
from ._ledger_suite_kit import OTHER as OTHER
from ._ledger_suite_kit import STORE as STORE
from ._ledger_suite_kit import T0 as T0
from ._ledger_suite_kit import L as L
from ._ledger_suite_kit import LedgerCheck, LedgerFactory, ledger_checks
from ._ledger_suite_kit import make_order as make_order
from ._ledger_suite_pages import (
    check_commit_page_is_atomic,
    check_commit_page_writes_a_whole_page,
    check_known_keys_reports_the_newest_copy,
    check_mark_moves_only_with_its_page,
    check_seen_returns_rows_with_their_stored_stamp,
)
from ._ledger_suite_sqlite import SQLiteMigrationCheck as SQLiteMigrationCheck
from ._ledger_suite_sqlite import SQLiteMigrationContract, sqlite_migration_checks
from ._ledger_suite_sqlite import SQLiteOpener as SQLiteOpener
from ._ledger_suite_tabs import (
    check_a_replacement_update_wins_over_a_plain_one,
    check_accept_and_dismiss,
    check_failures_clear_when_the_order_reads,
    check_local_state_and_refresh,
)

__all__ = [
    "LedgerCheck",
    "LedgerContract",
    "LedgerFactory",
    "SQLiteMigrationContract",
    "ledger_checks",
    "sqlite_migration_checks",
]


class LedgerContract:
    """The checks of :func:`ledger_checks` as pytest test methods.

    Subclass it under a name pytest collects (``class TestMyLedger(LedgerContract): pass``) in a module that
    provides a ``ledger_factory`` fixture returning a :class:`LedgerFactory`. Each method runs one check;
    override a method to skip it.
    """

    def test_commit_page_writes_a_whole_page(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_commit_page_writes_a_whole_page(ledger_factory)

    def test_commit_page_is_atomic(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_commit_page_is_atomic(ledger_factory)

    def test_mark_moves_only_with_its_page(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_mark_moves_only_with_its_page(ledger_factory)

    def test_seen_returns_rows_with_their_stored_stamp(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_seen_returns_rows_with_their_stored_stamp(ledger_factory)

    def test_known_keys_reports_the_newest_copy(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_known_keys_reports_the_newest_copy(ledger_factory)

    def test_a_replacement_update_wins_over_a_plain_one(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_replacement_update_wins_over_a_plain_one(ledger_factory)

    def test_accept_and_dismiss(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_accept_and_dismiss(ledger_factory)

    def test_failures_clear_when_the_order_reads(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_failures_clear_when_the_order_reads(ledger_factory)

    def test_local_state_and_refresh(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_local_state_and_refresh(ledger_factory)

    def test_an_action_runs_once_and_logs_every_attempt(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_an_action_runs_once_and_logs_every_attempt(ledger_factory)

    def test_a_live_lease_refuses_and_an_expired_one_is_taken_over(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_live_lease_refuses_and_an_expired_one_is_taken_over(ledger_factory)

    def test_a_late_finish_does_not_overwrite_the_new_holder(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_late_finish_does_not_overwrite_the_new_holder(ledger_factory)

    def test_a_checkpoint_survives_for_the_next_attempt(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_checkpoint_survives_for_the_next_attempt(ledger_factory)

    def test_racing_begin_action_exactly_one_goes(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_racing_begin_action_exactly_one_goes(ledger_factory)

    def test_a_phone_order_and_its_row_are_written_together(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_a_phone_order_and_its_row_are_written_together(ledger_factory)

    def test_threads_can_share_one_ledger(self, ledger_factory: LedgerFactory[Any]) -> None:
        check_threads_can_share_one_ledger(ledger_factory)
