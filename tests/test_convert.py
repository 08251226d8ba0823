"""Policies to and from dict / JSON / TOML, order snapshots, fingerprints."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from cattrs.errors import ClassValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from ecc_connectors import (
    Acknowledgement,
    Cancellation,
    ChangeDetection,
    ChangeKind,
    ConfigurationError,
    Customer,
    DownloadRange,
    Incremental,
    Order,
    OrderLine,
    PostBack,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Totals,
    Unselected,
    fingerprint,
    order_from_snapshot,
    order_snapshot,
    policy_from_dict,
    policy_from_json,
    policy_from_toml,
    policy_to_dict,
    policy_to_json,
    policy_to_toml,
)
from test_rules_properties import MUTATIONS, orders, policies

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

UTC = timezone.utc

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            StatusRule("processing", process_payment=False),
            StatusRule("PAID|*", process_payment=False, process_shipping=True),
            StatusRule("holded", download=False),
        )
    ),
    range=DownloadRange(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=None,
        starting_number="000000100",
        statuses=("processing",),
    ),
    unselected=Unselected.IGNORE_TAB,
    post_back=PostBack(status=None, send_email=False),
    acknowledgement=Acknowledgement(status="received"),
    cancellation=Cancellation(status=None),
    change_detection=ChangeDetection(
        kinds=frozenset({ChangeKind.STATUS, ChangeKind.QUANTITIES}),
        watch_from=datetime(2024, 2, 1, 6, 30, tzinfo=UTC),
    ),
    incremental=Incremental(lookback=timedelta(minutes=10), settle_delay=timedelta(seconds=1.5)),
)


# -- round trips --------------------------------------------------------------------------------------------


def test_policy_round_trips_through_dict_json_and_toml() -> None:
    assert policy_from_dict(policy_to_dict(POLICY)) == POLICY
    assert policy_from_json(policy_to_json(POLICY)) == POLICY
    assert policy_from_toml(policy_to_toml(POLICY)) == POLICY


@settings(max_examples=100, deadline=None)
@given(policy=policies)
def test_any_policy_round_trips(policy: SyncPolicy) -> None:
    assert policy_from_dict(policy_to_dict(policy)) == policy
    assert policy_from_json(policy_to_json(policy)) == policy
    assert policy_from_toml(policy_to_toml(policy)) == policy


def test_loaded_policy_holds_real_enum_members() -> None:
    loaded = policy_from_json(policy_to_json(POLICY))
    assert loaded.unselected is Unselected.IGNORE_TAB
    assert all(type(kind) is ChangeKind for kind in loaded.change_detection.kinds)
    # A policy that sends unselected orders to Ignore needs every status from the store.
    assert loaded.store_statuses_to_request() == ("processing",)
    assert attrs.evolve(loaded, range=attrs.evolve(loaded.range, statuses=())).store_statuses_to_request() is None


def test_saved_policy_is_plain_and_sorted() -> None:
    data = policy_to_dict(POLICY)
    assert data["change_detection"]["kinds"] == ["quantities", "status"]
    assert data["unselected"] == "ignore_tab"
    assert data["incremental"] == {"lookback": 600, "settle_delay": 1.5}
    assert data["range"]["start"] == "2024-01-01T00:00:00+00:00"
    json.dumps(data)  # nothing but JSON types


def test_unset_setting_with_a_set_default_survives_toml() -> None:
    # TOML has no null: post_back.status = None must not come back as the default "complete".
    text = policy_to_toml(POLICY)
    loaded = policy_from_toml(text)
    assert loaded.post_back.status is None
    assert loaded.cancellation.status is None
    # An unset setting whose default is unset too is simply left out.
    assert "end" not in tomllib.loads(text)["range"]


def test_handwritten_toml() -> None:
    text = """
unselected = "skip"

[statuses]
rules = [
  { status = "processing", process_payment = false },
  { status = "pending" },
]

[range]
start = 2024-03-01T00:00:00+02:00
starting_number = "000000100"

[acknowledgement]
status = false

[change_detection]
kinds = ["status", "line_items"]
watch_from = "2024-03-02T00:00:00Z"

[incremental]
lookback = "5m"
settle_delay = 90
"""
    policy = policy_from_toml(text)
    assert policy.statuses.rules == (
        StatusRule("processing", process_payment=False),
        StatusRule("pending"),
    )
    assert policy.range.start == datetime(2024, 2, 29, 22, 0, tzinfo=UTC)
    assert policy.range.start.utcoffset() == timedelta(0)
    assert policy.acknowledgement.status is None
    assert policy.change_detection.kinds == {ChangeKind.STATUS, ChangeKind.LINE_ITEMS}
    assert policy.change_detection.watch_from == datetime(2024, 3, 2, tzinfo=UTC)
    assert policy.incremental == Incremental(lookback=timedelta(minutes=5), settle_delay=timedelta(seconds=90))
    assert policy.post_back == PostBack()


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        pytest.param("90s", 90, id="seconds"),
        pytest.param("5m", 300, id="minutes"),
        pytest.param("1h", 3600, id="hours"),
        pytest.param("2d", 172800, id="days"),
        pytest.param("1.5h", 5400, id="fraction"),
        pytest.param(" 5 m ", 300, id="spaces"),
        pytest.param("45", 45, id="bare-number-string"),
        pytest.param(300, 300, id="integer-seconds"),
        pytest.param(0.5, 0.5, id="float-seconds"),
    ],
)
def test_durations(written: Any, seconds: float) -> None:
    data = policy_to_dict(POLICY)
    data["incremental"]["lookback"] = written
    assert policy_from_dict(data).incremental.lookback == timedelta(seconds=seconds)


# -- bad settings -------------------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[part]
        data[last] = value

    return apply


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


def _set_rule_status(value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data["statuses"]["rules"][0]["status"] = value

    return apply


BAD_SETTINGS = [
    pytest.param(_set("range.start", "yesterday"), "@ policy.range.start", "yesterday", id="start-not-a-date"),
    pytest.param(
        _set("range.start", "2024-01-01T00:00:00"),
        "@ policy.range.start",
        "no time zone",
        id="naive-datetime",
    ),
    pytest.param(
        _set("change_detection.watch_from", "2024-01-01 08:00"),
        "@ policy.change_detection.watch_from",
        "no time zone",
        id="naive-watch-from",
    ),
    pytest.param(_set("colour", "blue"), "extra fields found (colour) @ policy", "", id="extra-key"),
    pytest.param(_set("post_back.sendemail", True), "(sendemail) @ policy.post_back", "", id="extra-nested-key"),
    pytest.param(
        _set("incremental.lookback", "5 parsecs"),
        "@ policy.incremental.lookback",
        "5 parsecs",
        id="bad-duration",
    ),
    pytest.param(_set("incremental.settle_delay", True), "@ policy.incremental.settle_delay", "", id="bool-duration"),
    pytest.param(_set("incremental.lookback", -5), "@ policy.incremental", "negative", id="negative-duration"),
    pytest.param(_set("post_back.send_email", "yes"), "@ policy.post_back.send_email", "'yes'", id="bool-as-text"),
    pytest.param(_set("unselected", "maybe"), "@ policy.unselected", "'maybe'", id="unknown-choice"),
    pytest.param(
        _set("change_detection.kinds", ["status", "weather"]),
        "@ policy.change_detection.kinds[1]",
        "'weather'",
        id="unknown-kind",
    ),
    pytest.param(_set("phone_orders.item_source", 2), "@ policy.phone_orders.item_source", "", id="choice-not-text"),
    pytest.param(_drop("range"), "required field missing @ policy.range", "", id="missing-section"),
    pytest.param(_set_rule_status(1.5), "@ policy.statuses.rules[0].status", "1.5", id="float-for-text"),
    pytest.param(
        _set("range.starting_number", 100.0),
        "@ policy.range.starting_number",
        "100.0",
        id="float-order-number",
    ),
    pytest.param(_set("range.statuses", "processing,pending"), "policy.range.statuses", "", id="text-for-list"),
]


@pytest.mark.parametrize(("mutate", "path", "detail"), BAD_SETTINGS)
def test_bad_setting_names_its_field(mutate: Callable[[dict[str, Any]], None], path: str, detail: str) -> None:
    data = copy.deepcopy(policy_to_dict(POLICY))
    mutate(data)
    with pytest.raises(ConfigurationError) as caught:
        policy_from_dict(data)
    assert path in str(caught.value)
    assert detail in str(caught.value)


def test_every_bad_field_is_named() -> None:
    data = copy.deepcopy(policy_to_dict(POLICY))
    data["range"]["start"] = "2024-01-01T00:00:00"
    data["incremental"]["lookback"] = "5 parsecs"
    with pytest.raises(ConfigurationError) as caught:
        policy_from_dict(data)
    assert "policy.range.start" in str(caught.value)
    assert "policy.incremental.lookback" in str(caught.value)


@pytest.mark.parametrize(
    ("loader", "text"),
    [
        pytest.param(policy_from_json, "{not json", id="bad-json"),
        pytest.param(policy_from_json, "[1, 2]", id="json-list"),
        pytest.param(policy_from_json, "null", id="json-null"),
        pytest.param(policy_from_toml, "start = = 1", id="bad-toml"),
        pytest.param(policy_from_toml, "", id="empty-toml"),
    ],
)
def test_unreadable_policy_text(loader: Callable[[str], SyncPolicy], text: str) -> None:
    with pytest.raises(ConfigurationError):
        loader(text)


# -- order snapshots and fingerprints ----------------------------------------------------------------------

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ORDER = Order(
    store="shop",
    order_id="13",
    number="000000013",
    status="processing",
    created_at=T0,
    updated_at=T0,
    currency="USD",
    customer=Customer(name="Ann Lee", email="ann@example.com"),
    lines=(OrderLine("1", "24-MB01", "Joust Duffle Bag", Decimal("2.0000"), unit_price=Decimal("34.00")),),
    totals=Totals(grand_total=Decimal("68.00"), paid=Decimal("68.00")),
    raw={"entity_id": 13, "increment_id": "000000013"},
)


@settings(max_examples=100, deadline=None)
@given(order=orders)
def test_snapshot_round_trip(order: Order) -> None:
    snapshot = order_snapshot(order)
    assert "raw" not in snapshot
    restored = order_from_snapshot(json.loads(json.dumps(snapshot)))
    assert restored == order
    assert fingerprint(restored) == fingerprint(order)


def test_snapshot_keeps_amounts_as_written_and_reattaches_raw() -> None:
    snapshot = order_snapshot(ORDER)
    assert snapshot["lines"][0]["quantity"] == "2.0000"
    assert snapshot["totals"]["grand_total"] == "68.00"
    restored = order_from_snapshot(snapshot, raw=ORDER.raw)
    assert restored.raw == ORDER.raw
    assert order_from_snapshot(snapshot).raw is None


@pytest.mark.parametrize(
    ("value", "problem", "message"),
    [
        pytest.param(68.0, TypeError, "not a float", id="float-money"),
        pytest.param("NaN", ValueError, "not a finite amount", id="nan-money"),
        pytest.param("sixty", ValueError, "not a decimal number", id="text-money"),
    ],
)
def test_snapshot_refuses_bad_money(value: Any, problem: type[Exception], message: str) -> None:
    snapshot = order_snapshot(ORDER)
    snapshot["totals"]["grand_total"] = value
    with pytest.raises(ClassValidationError) as caught:
        order_from_snapshot(snapshot)
    assert caught.group_contains(problem, match=message)


def test_fingerprint_same_for_equal_orders() -> None:
    rebuilt = order_from_snapshot(json.loads(json.dumps(order_snapshot(ORDER))))
    assert rebuilt is not ORDER
    assert fingerprint(rebuilt) == fingerprint(ORDER)
    # The same instants read in another offset are the same order.
    elsewhere = timezone(timedelta(hours=2))
    shifted = attrs.evolve(ORDER, created_at=T0.astimezone(elsewhere), updated_at=T0.astimezone(elsewhere))
    assert shifted == ORDER
    assert fingerprint(shifted) == fingerprint(ORDER)
    assert order_snapshot(shifted) == order_snapshot(ORDER)


def test_fingerprint_ignores_updated_at_and_raw() -> None:
    touched = attrs.evolve(ORDER, updated_at=T0 + timedelta(hours=5), raw={"completely": "different"})
    assert fingerprint(touched) == fingerprint(ORDER)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"status": "complete"}, id="status"),
        pytest.param({"number": "000000013-1"}, id="number"),
        pytest.param({"order_id": "14"}, id="order-id"),
        pytest.param({"created_at": T0 + timedelta(seconds=1)}, id="created-at"),
        pytest.param({"totals": Totals(grand_total=Decimal("68.01"), paid=Decimal("68.00"))}, id="amount"),
        pytest.param({"totals": Totals(grand_total=Decimal("-68.00"), paid=Decimal("68.00"))}, id="sign"),
        pytest.param({"customer": Customer(name="Ann Lee", email="ann@example.org")}, id="email"),
        pytest.param({"replaces": "12"}, id="replaces"),
    ],
)
def test_fingerprint_changes_with_a_field(changes: dict[str, Any]) -> None:
    assert fingerprint(attrs.evolve(ORDER, **changes)) != fingerprint(ORDER)


@settings(max_examples=100, deadline=None)
@given(order=orders, kind=st.sampled_from(list(ChangeKind)), data=st.data())
def test_fingerprint_changes_with_any_watched_change(order: Order, kind: ChangeKind, data: st.DataObject) -> None:
    if not order.lines:
        order = attrs.evolve(order, lines=ORDER.lines)
    changed = data.draw(st.sampled_from(MUTATIONS[kind]))(order, data)
    assert fingerprint(changed) != fingerprint(order)
    assert fingerprint(attrs.evolve(order, updated_at=T0, raw="x")) == fingerprint(order)


def test_any_enum_is_read_and_written_by_value_even_one_added_later() -> None:
    """Enum hooks go by predicate: an enum the converter has never heard of cannot fall back to plain text."""
    import enum

    from ecc_connectors import policy_converter

    _policy_converter = policy_converter()  # the loaders' hooks, on enums no policy field uses yet

    class Channel(str, enum.Enum):
        WEB = "web"
        PHONE = "phone"

    class Plain(enum.Enum):
        ONE = 1

    assert _policy_converter.structure("phone", Channel) is Channel.PHONE
    assert _policy_converter.unstructure(Channel.WEB) == "web"
    with pytest.raises(ValueError, match="not one of"):
        _policy_converter.structure("fax", Channel)
    with pytest.raises(TypeError):
        _policy_converter.structure(1, Channel)
    assert _policy_converter.structure(1, Plain) is Plain.ONE
    assert _policy_converter.unstructure(Plain.ONE) == 1
