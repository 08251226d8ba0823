"""SyncPolicy.check / validate (a policy against itself and against the store's statuses) and
SyncPolicy.with_store_defaults (a store's own words for the statuses a policy sets)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecc_connectors import (
    MAX_SETTLE_DELAY,
    Acknowledgement,
    Cancellation,
    ConfigurationError,
    DownloadRange,
    Incremental,
    PolicyProblem,
    PostBack,
    StatusMapping,
    StatusRule,
    StoreDefaults,
    StoreStatus,
    SyncPolicy,
    policy_from_dict,
    policy_to_dict,
)
from test_rules_properties import RULE_STATUSES, policies

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)
MAGENTO = ("pending", "processing", "holded", "complete", "closed", "canceled")


def policy(*statuses: str, **changes: object) -> SyncPolicy:
    base = SyncPolicy(statuses=StatusMapping(tuple(StatusRule(s) for s in statuses)), range=DownloadRange(start=START))
    return attrs.evolve(base, **changes)


def paths(problems: list[PolicyProblem]) -> list[str]:
    return [problem.path for problem in problems]


def rows(problems: list[PolicyProblem]) -> list[str]:
    """The paths of the problems with status rows (a Shopify-like store has no "complete" to post back)."""
    return [path for path in paths(problems) if path.startswith("statuses.")]


def only(problems: list[PolicyProblem], path: str) -> str:
    """The one problem at ``path`` (failing if there are none or several)."""
    (message,) = [problem.message for problem in problems if problem.path == path]
    return message


def test_a_sound_policy_has_no_problems() -> None:
    sound = policy("pending", "processing", acknowledgement=Acknowledgement(status="processing"))
    assert sound.check() == []
    assert sound.check(MAGENTO) == []
    sound.validate(MAGENTO)  # does not raise


# -- status rows ------------------------------------------------------------------------------------------


def test_empty_status_row() -> None:
    problems = policy("pending", "", "processing").check()
    assert paths(problems) == ["statuses.rules[1].status"]
    assert "empty" in problems[0].message


def test_blank_status_row() -> None:
    assert "only whitespace" in only(policy("   ").check(), "statuses.rules[0].status")


def test_status_row_with_surrounding_whitespace() -> None:
    problems = policy("processing", " pending ").check(MAGENTO)
    # Reported once, as whitespace, not also as a status the store does not have.
    assert paths(problems) == ["statuses.rules[1].status"]
    assert "' pending '" in problems[0].message
    assert "whitespace" in problems[0].message


def test_whitespace_around_an_axis() -> None:
    assert "whitespace around an axis" in only(policy("PAID | *").check(), "statuses.rules[0].status")
    assert "empty axis" in only(policy("PAID|").check(), "statuses.rules[0].status")


def test_star_inside_an_axis_is_not_a_wildcard() -> None:
    message = only(policy("PA*|UNFULFILLED").check(), "statuses.rules[0].status")
    assert "whole axis" in message


def test_duplicated_status_row() -> None:
    problems = policy("pending", "processing", "pending").check()
    assert paths(problems) == ["statuses.rules[2].status"]
    assert "statuses.rules[0]" in problems[0].message


def test_duplicated_wildcard_row() -> None:
    problems = policy("PAID|*", "*|UNFULFILLED", "PAID|*").check()
    assert paths(problems) == ["statuses.rules[2].status"]
    assert "repeats statuses.rules[0]" in problems[0].message


def test_wildcard_row_shadowed_by_an_earlier_wildcard() -> None:
    # Among wildcard rows the first listed wins, so "PAID|*" after "*|*" can never match.
    problems = policy("*|*", "PAID|*").check()
    assert paths(problems) == ["statuses.rules[1].status"]
    assert "statuses.rules[0] ('*|*')" in problems[0].message
    assert "never match" in problems[0].message


def test_wildcard_rows_that_only_overlap_and_exact_rows_after_wildcards_are_fine() -> None:
    # "*|*" still gets what "PAID|*" does not; an exact row always wins over wildcard rows, wherever it is.
    assert policy("PAID|*", "*|*", "PAID|FULFILLED").check() == []
    mapping = policy("PAID|*", "*|*", "PAID|FULFILLED").statuses
    assert mapping.rule_for("PAID|FULFILLED") == StatusRule("PAID|FULFILLED")
    assert mapping.rule_for("PENDING|FULFILLED") == StatusRule("*|*")


SHOPIFY = ("PAID|UNFULFILLED", "PAID|FULFILLED", "PENDING|UNFULFILLED", "REFUNDED|FULFILLED")


def test_wildcard_row_left_with_no_store_status_by_earlier_wildcards() -> None:
    # Against the store: "*|UNFULFILLED" matches PAID|UNFULFILLED and PENDING|UNFULFILLED, both taken.
    checked = policy("PAID|*", "PENDING|*", "*|UNFULFILLED")
    assert checked.check() == []  # on paper the rows only overlap
    message = only(checked.check(SHOPIFY), "statuses.rules[2].status")
    assert "never match" in message
    assert "'PAID|UNFULFILLED' (statuses.rules[0])" in message
    assert "'PENDING|UNFULFILLED' (statuses.rules[1])" in message


def test_wildcard_row_whose_statuses_all_have_their_own_rows() -> None:
    checked = policy("PAID|UNFULFILLED", "PAID|*", "PAID|FULFILLED")
    message = only(checked.check(SHOPIFY), "statuses.rules[1].status")
    assert "'PAID|FULFILLED' (its own row)" in message
    assert rows(policy("PAID|UNFULFILLED", "PAID|*").check(SHOPIFY)) == []


# -- against the store's statuses -------------------------------------------------------------------------


def test_row_naming_a_status_the_store_does_not_have() -> None:
    problems = policy("pending", "shipped").check(MAGENTO)
    assert paths(problems) == ["statuses.rules[1].status"]
    assert "'shipped' is not a status of the store" in problems[0].message
    assert "'pending'" in problems[0].message  # lists what the store has
    assert policy("pending", "shipped").check() == []  # without the store's statuses nobody can tell


def test_unknown_status_hints() -> None:
    assert "did you mean 'processing'?" in only(policy("procesing").check(MAGENTO), "statuses.rules[0].status")
    store = (StoreStatus("_pendingFulfillment", "Pending Fulfillment"), StoreStatus("_closed", "Closed"))
    message = only(policy("Pending Fulfillment").check(store), "statuses.rules[0].status")
    assert "label of '_pendingFulfillment'" in message
    assert "store listed no statuses" in only(policy("pending").check([]), "statuses.rules[0].status")


def test_wildcard_row_must_match_a_store_status() -> None:
    message = only(policy("VOIDED|*").check(SHOPIFY), "statuses.rules[0].status")
    assert "matches none of the store's statuses" in message
    # One axis: "*" matches only single-axis statuses.
    assert rows(policy("*").check(SHOPIFY)) == ["statuses.rules[0].status"]
    assert rows(policy("REFUNDED|*").check(SHOPIFY)) == []


def test_store_statuses_may_be_codes_or_store_statuses_and_any_iterable() -> None:
    checked = policy("pending", "processing")
    statuses = [StoreStatus("pending", "Pending"), "processing", StoreStatus("complete"), "canceled"]
    assert checked.check(statuses) == []
    assert checked.check(iter(statuses)) == []
    assert checked.check(s for s in MAGENTO) == []


def test_statuses_to_set_that_the_store_does_not_have() -> None:
    woo = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
    checked = policy("processing", acknowledgement=Acknowledgement(status="received"))
    problems = checked.check(woo)
    assert paths(problems) == ["post_back.status", "acknowledgement.status", "cancellation.status"]
    assert "did you mean 'completed'?" in problems[0].message
    assert "did you mean 'cancelled'?" in problems[2].message
    assert paths(checked.check(MAGENTO)) == ["acknowledgement.status"]


def test_statuses_turned_off_are_not_checked() -> None:
    off = policy("processing", post_back=PostBack(status=None), cancellation=Cancellation(status=None))
    assert off.check(["processing"]) == []


def test_statuses_to_set_must_be_one_real_status() -> None:
    assert "empty" in only(policy(post_back=PostBack(status="")).check(), "post_back.status")
    assert "whitespace" in only(policy(cancellation=Cancellation(status="canceled ")).check(), "cancellation.status")
    wildcard = policy(acknowledgement=Acknowledgement(status="PAID|*")).check()
    assert "wildcard" in only(wildcard, "acknowledgement.status")


def test_range_statuses_are_checked_too() -> None:
    checked = policy("pending", range=DownloadRange(start=START, statuses=("pending", "pending ", "shiped")))
    problems = checked.check(MAGENTO)
    assert paths(problems) == ["range.statuses[1]", "range.statuses[2]"]


# -- range, settle delay, negative values -----------------------------------------------------------------


def test_range_start_after_end() -> None:
    problems = policy(range=DownloadRange(start=START, end=START - timedelta(days=1))).check()
    assert paths(problems) == ["range.end"]
    assert "is after range.end" in problems[0].message


def test_empty_range() -> None:
    assert "equals range.end" in only(policy(range=DownloadRange(start=START, end=START)).check(), "range.end")
    assert policy(range=DownloadRange(start=START, end=START + timedelta(seconds=1))).check() == []


def test_settle_delay_longer_than_a_day() -> None:
    assert timedelta(days=1) == MAX_SETTLE_DELAY
    at_most = policy(incremental=Incremental(settle_delay=timedelta(days=1)))
    assert at_most.check() == []
    too_long = policy(incremental=Incremental(settle_delay=timedelta(days=1, seconds=1)))
    assert "longer than 1d" in only(too_long.check(), "incremental.settle_delay")


def test_settle_delay_longer_than_a_closed_range() -> None:
    two_hours = DownloadRange(start=START, end=START + timedelta(hours=2))
    fits = policy(range=two_hours, incremental=Incremental(settle_delay=timedelta(hours=2)))
    assert fits.check() == []
    too_long = policy(range=two_hours, incremental=Incremental(settle_delay=timedelta(hours=3)))
    message = only(too_long.check(), "incremental.settle_delay")
    assert "3h is longer than the download range itself (2h" in message
    # A range longer than a day leaves the one-day rule in charge.
    week = DownloadRange(start=START, end=START + timedelta(days=7))
    assert "longer than 1d" in only(
        policy(range=week, incremental=Incremental(settle_delay=timedelta(days=2))).check(), "incremental.settle_delay"
    )


def test_settle_delay_at_or_beyond_lookback_is_fine() -> None:
    incremental = Incremental(lookback=timedelta(minutes=5), settle_delay=timedelta(hours=1))
    assert policy(incremental=incremental).check() == []


def test_negative_values_anywhere() -> None:
    # The constructors refuse them; check still reports one that got in another way.
    with pytest.raises(ValueError, match="must not be negative"):
        Incremental(lookback=timedelta(seconds=-1))
    incremental = Incremental()
    object.__setattr__(incremental, "lookback", timedelta(minutes=-5))
    problems = policy(incremental=incremental).check()
    assert paths(problems) == ["incremental.lookback"]
    assert "negative" in problems[0].message


# -- validate and loading ---------------------------------------------------------------------------------


def test_validate_lists_every_problem_with_its_path() -> None:
    bad = policy(
        "pending",
        "",
        "pending",
        range=DownloadRange(start=START, end=START - timedelta(hours=1)),
        incremental=Incremental(settle_delay=timedelta(days=3)),
    )
    with pytest.raises(ConfigurationError) as raised:
        bad.validate(MAGENTO)
    message = str(raised.value)
    assert message.startswith("sync policy has 4 problems: ")
    for path in ("statuses.rules[1].status", "statuses.rules[2].status", "range.end", "incremental.settle_delay"):
        assert f"{path}: " in message
    # In the order of the settings.
    assert message.index("statuses.rules[1]") < message.index("range.end") < message.index("incremental")


def test_problems_come_in_the_order_of_the_settings() -> None:
    bad = policy(
        " x",
        range=DownloadRange(start=START, end=START),
        post_back=PostBack(status=""),
        incremental=Incremental(settle_delay=timedelta(days=2)),
    )
    expected = ["statuses.rules[0].status", "range.end", "post_back.status", "incremental.settle_delay"]
    assert paths(bad.check()) == expected
    assert str(bad.check()[0]) == f"statuses.rules[0].status: {bad.check()[0].message}"


def test_loading_does_not_check() -> None:
    # Loading keeps accepting what it accepts; check is a separate, explicit step.
    data = policy_to_dict(policy("pending", "pending", range=DownloadRange(start=START, end=START)))
    loaded = policy_from_dict(data)
    assert paths(loaded.check()) == ["statuses.rules[1].status", "range.end"]


@settings(max_examples=200, deadline=None)
@given(
    policy=policies,
    statuses=st.none() | st.lists(st.sampled_from([*RULE_STATUSES, "PAID|PARTIAL", "other"]), max_size=6),
)
def test_check_never_fails_and_a_clean_policy_validates(policy: SyncPolicy, statuses: list[str] | None) -> None:
    problems = policy.check(statuses)
    assert all(isinstance(problem, PolicyProblem) and problem.path and problem.message for problem in problems)
    if problems:
        with pytest.raises(ConfigurationError):
            policy.validate(statuses)
    else:
        policy.validate(statuses)


# -- the store's defaults ---------------------------------------------------------------------------------

WOO_DEFAULTS = StoreDefaults(post_back_status="completed", cancellation_status="cancelled")
WOO = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")


def test_woocommerce_defaults_end_up_in_the_policy() -> None:
    adapted = policy("processing").with_store_defaults(WOO_DEFAULTS)
    assert adapted.post_back == PostBack(status="completed", send_email=True)
    assert adapted.cancellation.status == "cancelled"
    assert adapted.check(WOO) == []
    # Given the store's statuses, the same.
    assert policy("processing").with_store_defaults(WOO_DEFAULTS, WOO) == adapted


def test_store_defaults_survive_saving_and_loading() -> None:
    adapted = policy("processing").with_store_defaults(WOO_DEFAULTS)
    assert policy_from_dict(policy_to_dict(adapted)) == adapted


def test_settings_someone_chose_are_kept() -> None:
    chosen = policy(
        "processing",
        post_back=PostBack(status="shipped-out", send_email=False),
        cancellation=Cancellation(status=None),
    )
    assert chosen.with_store_defaults(WOO_DEFAULTS) is chosen


def test_a_store_that_has_the_default_status_keeps_it() -> None:
    # Only a leftover "complete" the store does not know is replaced.
    store = (*WOO, "complete")
    adapted = policy("processing").with_store_defaults(WOO_DEFAULTS, store)
    assert adapted.post_back.status == "complete"
    assert adapted.cancellation.status == "cancelled"


def test_no_store_default_changes_nothing() -> None:
    original = policy("processing")
    assert original.with_store_defaults(StoreDefaults()) is original
    magento = StoreDefaults(post_back_status="complete", cancellation_status="canceled")
    assert original.with_store_defaults(magento) is original


def test_acknowledgement_is_never_switched_on_by_a_default() -> None:
    defaults = StoreDefaults(acknowledgement_status="processing")
    assert policy("pending").with_store_defaults(defaults).acknowledgement.status is None
    chosen = policy("pending", acknowledgement=Acknowledgement(status="on-hold"))
    assert chosen.with_store_defaults(defaults).acknowledgement.status == "on-hold"


def test_a_status_to_set_may_name_one_axis_of_a_two_axis_store() -> None:
    from ecc_connectors import PostBack

    store = ["PAID|AWAITING_PROCESSING", "PAID|SHIPPED", "AWAITING_PAYMENT|AWAITING_PROCESSING"]
    from ecc_connectors import DownloadRange

    base = SyncPolicy(
        statuses=StatusMapping((StatusRule("PAID|*"),)),
        range=DownloadRange(start=datetime(2024, 1, 1, tzinfo=timezone.utc)),
    )
    policy = attrs.evolve(base, post_back=PostBack("SHIPPED"))
    assert [p.path for p in policy.check(store)] == ["cancellation.status"]
    wrong = attrs.evolve(policy, post_back=PostBack("SHIPED"))
    assert "post_back.status" in [p.path for p in wrong.check(store)]
