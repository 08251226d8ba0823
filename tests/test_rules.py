"""The download rules, one table row per case, and the field diff, kind by kind."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from ecc_connectors import (
    Address,
    ChangeDetection,
    ChangeKind,
    Customer,
    Download,
    DownloadRange,
    FieldChange,
    Ignore,
    Note,
    Order,
    OrderLine,
    Outcome,
    Payment,
    Seen,
    Shipment,
    Skip,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tab,
    Totals,
    Unchanged,
    Unselected,
    Update,
)
from ecc_connectors.rules import compare_order_numbers, decide, diff, order_number_key

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 7, 1, tzinfo=UTC)
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)
WATCH_FROM = T0 + timedelta(days=1)
K = ChangeKind
ALL_KINDS = frozenset(ChangeKind)

RULES = StatusMapping(
    (
        StatusRule("processing", process_payment=False, process_shipping=True),
        StatusRule("pending", process_payment=True, process_shipping=True),
        StatusRule("complete", process_payment=False, process_shipping=False),
        StatusRule("shipped_unpaid", process_payment=True, process_shipping=False),
        StatusRule("holded", download=False),
        StatusRule("PAID|*", process_payment=False, process_shipping=True),
        StatusRule("*|FULFILLED", process_payment=True, process_shipping=False),
        StatusRule("PAID|FULFILLED", process_payment=False, process_shipping=False),
        StatusRule("PENDING|FULFILLED", download=False),
    )
)

BASE = Order(
    store="shop",
    order_id="13",
    number="000000013",
    status="processing",
    state="processing",
    created_at=T0,
    updated_at=T0,
    currency="USD",
    customer=Customer(name="Ann Lee", email="ann@example.com", phone="555-0100"),
    billing_address=Address(
        name="Ann Lee", street=("1 Main St",), city="Springfield", region="IL", postcode="62701", country="US"
    ),
    shipping_address=Address(
        name="Ann Lee",
        street=("1 Main St", "Apt 2"),
        city="Springfield",
        region="IL",
        postcode="62701",
        country="US",
        phone="555-0100",
    ),
    shipping_method="flatrate_flatrate",
    lines=(
        OrderLine(
            "1",
            "24-MB01",
            "Joust Duffle Bag",
            Decimal("2.0000"),
            unit_price=Decimal("34.00"),
            row_total=Decimal("68.00"),
        ),
        OrderLine(
            "2",
            "24-WB04",
            "Overnight Duffle",
            Decimal("1.0000"),
            unit_price=Decimal("45.00"),
            row_total=Decimal("45.00"),
        ),
    ),
    totals=Totals(
        subtotal=Decimal("113.00"),
        shipping=Decimal("10.00"),
        grand_total=Decimal("123.00"),
        paid=Decimal("123.00"),
        due=Decimal("0.00"),
    ),
    payments=(Payment("checkmo", amount_paid=Decimal("123.00"), transaction_id="tx-1"),),
    shipments=(Shipment("s1", ("1Z999",), carrier="ups", method="Ground"),),
    notes=(Note("Leave at the door"),),
    raw={"entity_id": 13},
)


def order(**changes: Any) -> Order:
    return attrs.evolve(BASE, **changes)


def policy(
    *,
    unselected: Unselected = Unselected.SKIP,
    detection: bool = True,
    kinds: frozenset[ChangeKind] = ALL_KINDS,
    watch_from: datetime | None = None,
    end: datetime | None = None,
    starting_number: str | None = None,
    statuses: tuple[str, ...] = (),
) -> SyncPolicy:
    return SyncPolicy(
        statuses=RULES,
        range=DownloadRange(start=START, end=end, starting_number=starting_number, statuses=statuses),
        unselected=unselected,
        change_detection=ChangeDetection(enabled=detection, kinds=kinds, watch_from=watch_from),
    )


def seen(previous: Order = BASE, tab: Tab = Tab.ORDERS) -> Seen:
    return Seen(order=previous, tab=tab, paid=True, shipped=False)


def status_change(old: str, new: str) -> FieldChange:
    return FieldChange(K.STATUS, "status", old, new)


def skip(reason_part: str) -> tuple[type[Skip], str]:
    """A row expecting Skip whose reason mentions ``reason_part``."""
    return (Skip, reason_part)


PROCESSING_TO_CANCELED = order(status="canceled", state="canceled", updated_at=LATER)
MOVED_TO_HOLD = order(status="holded", state="holded", updated_at=LATER)
QTY_CHANGED = order(
    lines=(attrs.evolve(BASE.lines[0], quantity=Decimal("3")), BASE.lines[1]),
    updated_at=LATER,
)

# An admin edit in Magento: a new entity with a suffixed number, renumbered lines, one quantity changed, and a
# different grand total; it names the order it replaces.
REPLACEMENT = order(
    order_id="20",
    number="000000013-1",
    status="pending",
    state="new",
    created_at=LATER,
    updated_at=LATER,
    lines=(
        attrs.evolve(BASE.lines[0], line_id="31", quantity=Decimal("1"), row_total=Decimal("34.00")),
        attrs.evolve(BASE.lines[1], line_id="32"),
    ),
    totals=attrs.evolve(BASE.totals, subtotal=Decimal("79.00"), grand_total=Decimal("89.00")),
    replaces="13",
)
REPLACEMENT_CHANGES = (
    FieldChange(K.STATUS, "status", "processing", "pending"),
    FieldChange(K.STATUS, "state", "processing", "new"),
    FieldChange(K.QUANTITIES, "lines[sku=24-MB01].quantity", "2.0000", "1"),
    FieldChange(K.PRICES_TOTALS, "lines[sku=24-MB01].row_total", "68.00", "34.00"),
    FieldChange(K.PRICES_TOTALS, "totals.subtotal", "113.00", "79.00"),
    FieldChange(K.PRICES_TOTALS, "totals.grand_total", "123.00", "89.00"),
)


DECIDE_CASES = [
    # -- never seen: status rows, payment and shipping columns
    pytest.param(
        order(), policy(), None, Download(paid=True, shipped=False), id="selected-payment-no-shipping-yes"
    ),
    pytest.param(
        order(status="pending"),
        policy(),
        None,
        Download(paid=False, shipped=False),
        id="payment-yes-shipping-yes",
    ),
    pytest.param(
        order(status="complete"),
        policy(),
        None,
        Download(paid=True, shipped=True),
        id="payment-no-shipping-no",
    ),
    pytest.param(
        order(status="shipped_unpaid"),
        policy(),
        None,
        Download(paid=False, shipped=True),
        id="payment-yes-shipping-no",
    ),
    pytest.param(order(status="fraud"), policy(), None, skip("not selected"), id="unselected-no-row-skip"),
    pytest.param(
        order(status="fraud"),
        policy(unselected=Unselected.IGNORE_TAB),
        None,
        Ignore(),
        id="unselected-ignore-tab",
    ),
    pytest.param(order(status="holded"), policy(), None, skip("not selected"), id="row-not-downloaded-skip"),
    pytest.param(
        order(status="holded"),
        policy(unselected=Unselected.IGNORE_TAB),
        None,
        Ignore(),
        id="row-not-downloaded-ignore-tab",
    ),
    pytest.param(
        order(status="Processing"), policy(), None, skip("not selected"), id="status-match-is-case-sensitive"
    ),
    # -- two-axis statuses
    pytest.param(
        order(status="PAID|UNFULFILLED"),
        policy(),
        None,
        Download(paid=True, shipped=False),
        id="wildcard-two-axis-row",
    ),
    pytest.param(
        order(status="PAID|FULFILLED"),
        policy(),
        None,
        Download(paid=True, shipped=True),
        id="exact-row-beats-wildcard-row",
    ),
    pytest.param(
        order(status="PENDING|FULFILLED"),
        policy(),
        None,
        skip("not selected"),
        id="exact-do-not-download-row-beats-wildcard-download-row",
    ),
    pytest.param(
        order(status="REFUNDED|FULFILLED"),
        policy(),
        None,
        Download(paid=False, shipped=True),
        id="wildcard-on-first-axis",
    ),
    pytest.param(order(status="PAID"), policy(), None, skip("not selected"), id="wildcard-needs-both-axes"),
    # -- date range
    pytest.param(
        order(created_at=START - timedelta(seconds=1)), policy(), None, skip("range start"), id="before-start"
    ),
    pytest.param(order(created_at=START), policy(), None, Download(paid=True, shipped=False), id="at-start"),
    pytest.param(order(created_at=END), policy(end=END), None, skip("range end"), id="at-end-is-outside"),
    pytest.param(
        order(created_at=END + timedelta(days=3)), policy(end=END), None, skip("range end"), id="after-end"
    ),
    pytest.param(
        order(created_at=END - timedelta(seconds=1)),
        policy(end=END),
        None,
        Download(paid=True, shipped=False),
        id="just-before-end",
    ),
    pytest.param(
        order(status="fraud", created_at=START - timedelta(days=1)),
        policy(unselected=Unselected.IGNORE_TAB),
        None,
        skip("range start"),
        id="out-of-range-unselected-is-skipped-not-ignored",
    ),
    pytest.param(
        order(status="pending"),
        policy(statuses=("processing",)),
        None,
        skip("range statuses"),
        id="range-statuses-narrow-the-download",
    ),
    # -- starting number
    pytest.param(
        order(number="99"), policy(starting_number="100"), None, skip("starting number"), id="below-number"
    ),
    pytest.param(
        order(number="100"),
        policy(starting_number="100"),
        None,
        Download(paid=True, shipped=False),
        id="at-number",
    ),
    pytest.param(
        order(number="000000099"),
        policy(starting_number="000000100"),
        None,
        skip("starting number"),
        id="zero-padded-below",
    ),
    pytest.param(
        order(number="000000120"),
        policy(starting_number="100"),
        None,
        Download(paid=True, shipped=False),
        id="zero-padded-above-unpadded-start",
    ),
    pytest.param(
        order(number="000000013"),
        policy(starting_number="100"),
        None,
        skip("starting number"),
        id="zero-padded-below-unpadded-start",
    ),
    pytest.param(
        order(number="000000013-1"),
        policy(starting_number="000000013"),
        None,
        Download(paid=True, shipped=False),
        id="edit-suffix-at-base-number",
    ),
    pytest.param(
        order(number="000000012-3"),
        policy(starting_number="000000013"),
        None,
        skip("starting number"),
        id="edit-suffix-compares-by-base",
    ),
    # -- seen before
    pytest.param(order(), policy(), seen(), Unchanged(), id="seen-unchanged"),
    pytest.param(
        order(updated_at=LATER, raw={"touched": True}), policy(), seen(), Unchanged(), id="seen-only-touched"
    ),
    pytest.param(
        PROCESSING_TO_CANCELED,
        policy(kinds=frozenset({K.STATUS})),
        seen(),
        Update(
            (
                status_change("processing", "canceled"),
                FieldChange(K.STATUS, "state", "processing", "canceled"),
            )
        ),
        id="cancelled-in-store-after-download",
    ),
    pytest.param(
        QTY_CHANGED,
        policy(kinds=frozenset({K.QUANTITIES})),
        seen(),
        Update((FieldChange(K.QUANTITIES, "lines[1].quantity", "2.0000", "3"),)),
        id="seen-changed-in-watched-kind",
    ),
    pytest.param(
        QTY_CHANGED,
        policy(kinds=frozenset(ALL_KINDS - {K.QUANTITIES})),
        seen(),
        Unchanged(),
        id="seen-changed-only-in-unwatched-kind",
    ),
    pytest.param(QTY_CHANGED, policy(detection=False), seen(), Unchanged(), id="detection-off"),
    pytest.param(
        attrs.evolve(QTY_CHANGED, updated_at=WATCH_FROM - timedelta(seconds=1)),
        policy(watch_from=WATCH_FROM),
        seen(),
        Unchanged(),
        id="changed-before-watch-date",
    ),
    pytest.param(
        attrs.evolve(QTY_CHANGED, updated_at=WATCH_FROM),
        policy(watch_from=WATCH_FROM),
        seen(),
        Update((FieldChange(K.QUANTITIES, "lines[1].quantity", "2.0000", "3"),)),
        id="changed-at-watch-date",
    ),
    pytest.param(
        MOVED_TO_HOLD,
        policy(unselected=Unselected.IGNORE_TAB),
        seen(),
        Update(
            (status_change("processing", "holded"), FieldChange(K.STATUS, "state", "processing", "holded"))
        ),
        id="moved-to-unselected-status-after-download",
    ),
    pytest.param(
        MOVED_TO_HOLD,
        policy(kinds=frozenset({K.NOTES})),
        seen(),
        Unchanged(),
        id="moved-to-unselected-status-status-not-watched",
    ),
    pytest.param(
        order(created_at=START - timedelta(days=30), updated_at=LATER, status="complete"),
        policy(kinds=frozenset({K.STATUS})),
        seen(order(created_at=START - timedelta(days=30))),
        Update((status_change("processing", "complete"),)),
        id="seen-orders-are-tracked-even-if-now-outside-range",
    ),
    # -- Ignore tab
    pytest.param(
        order(status="processing", updated_at=LATER),
        policy(unselected=Unselected.IGNORE_TAB),
        seen(order(status="holded"), tab=Tab.IGNORE),
        Download(paid=True, shipped=False),
        id="promotion-out-of-ignore",
    ),
    pytest.param(
        order(status="complete", updated_at=LATER),
        policy(unselected=Unselected.IGNORE_TAB, detection=False),
        seen(order(status="holded"), tab=Tab.IGNORE),
        Download(paid=True, shipped=True),
        id="promotion-even-with-detection-off",
    ),
    pytest.param(
        order(status="fraud", updated_at=LATER),
        policy(unselected=Unselected.IGNORE_TAB),
        seen(order(status="holded"), tab=Tab.IGNORE),
        Unchanged(),
        id="ignored-order-changed-but-still-unselected",
    ),
    # -- an edited order that is a new entity replacing the downloaded one
    pytest.param(
        REPLACEMENT, policy(), seen(), Update(REPLACEMENT_CHANGES, replaces="13"), id="replacement-full-diff"
    ),
    pytest.param(
        REPLACEMENT,
        policy(kinds=frozenset({K.NOTES})),
        seen(),
        Update(REPLACEMENT_CHANGES, replaces="13"),
        id="replacement-shows-all-kinds-not-just-watched",
    ),
    pytest.param(
        REPLACEMENT,
        policy(detection=False),
        seen(),
        Update(REPLACEMENT_CHANGES, replaces="13"),
        id="replacement-surfaces-with-detection-off",
    ),
    pytest.param(
        REPLACEMENT,
        policy(starting_number="000000014", end=T0, watch_from=END),
        seen(),
        Update(REPLACEMENT_CHANGES, replaces="13"),
        id="replacement-ignores-range-number-and-watch-date",
    ),
    pytest.param(
        attrs.evolve(REPLACEMENT, status=BASE.status, state=BASE.state, lines=BASE.lines, totals=BASE.totals),
        policy(),
        seen(),
        Update((), replaces="13"),
        id="replacement-without-differences-still-surfaces",
    ),
    pytest.param(
        REPLACEMENT,
        policy(unselected=Unselected.IGNORE_TAB),
        seen(order(status="holded"), tab=Tab.IGNORE),
        Download(paid=False, shipped=False),
        id="replacement-of-ignored-order-now-selected",
    ),
    pytest.param(
        attrs.evolve(REPLACEMENT, status="fraud"),
        policy(unselected=Unselected.IGNORE_TAB),
        seen(order(status="holded"), tab=Tab.IGNORE),
        Ignore(),
        id="replacement-of-ignored-order-still-unselected",
    ),
    pytest.param(
        REPLACEMENT,
        policy(),
        None,
        Download(paid=False, shipped=False),
        id="replacement-of-unknown-order-is-new",
    ),
    pytest.param(
        REPLACEMENT,
        policy(),
        seen(REPLACEMENT),
        Unchanged(),
        id="replacement-seen-again-under-its-own-id",
    ),
]


@pytest.mark.parametrize(("current", "sync_policy", "previous", "expected"), DECIDE_CASES)
def test_decide(
    current: Order, sync_policy: SyncPolicy, previous: Seen | None, expected: Outcome | tuple[type, str]
) -> None:
    outcome = decide(current, sync_policy, previous)
    if isinstance(expected, tuple):
        kind, reason_part = expected
        assert isinstance(outcome, kind), outcome
        assert isinstance(outcome, Skip)
        assert reason_part in outcome.reason
    else:
        assert outcome == expected


def test_decide_refuses_a_ledger_record_of_another_order() -> None:
    with pytest.raises(ValueError, match="neither"):
        decide(order(order_id="14"), policy(), seen())


def test_skip_reason_names_the_values() -> None:
    outcome = decide(order(number="42"), policy(starting_number="100"), None)
    assert isinstance(outcome, Skip)
    assert "'42'" in outcome.reason
    assert "'100'" in outcome.reason


# -- order numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("99", "100", -1, id="numeric-not-textual"),
        pytest.param("000000120", "100", 1, id="leading-zeros-ignored"),
        pytest.param("000000100", "100", 0, id="padded-equals-unpadded"),
        pytest.param("000000013-1", "000000013", 1, id="edit-after-base"),
        pytest.param("000000013-1", "000000014", -1, id="edit-before-next-base"),
        pytest.param("000000013-2", "000000013-10", -1, id="edit-suffixes-numeric"),
        pytest.param("#1001", "1000", 1, id="hash-prefix-ignored"),
        pytest.param("SO-99", "SO-100", -1, id="prefixed-digit-runs"),
        pytest.param("so-100", "SO-100", 0, id="prefix-case-insensitive"),
        pytest.param("2024-0002", "2024-0010", -1, id="year-and-sequence"),
        pytest.param(" 100 ", "100", 0, id="spaces-ignored"),
    ],
)
def test_compare_order_numbers(a: str, b: str, expected: int) -> None:
    assert compare_order_numbers(a, b) == expected
    assert compare_order_numbers(b, a) == -expected


def test_order_number_key_sorts_like_a_store() -> None:
    numbers = ["000000100", "99", "000000013-1", "000000013", "101", "000000014"]
    assert sorted(numbers, key=order_number_key) == [
        "000000013",
        "000000013-1",
        "000000014",
        "99",
        "000000100",
        "101",
    ]


# -- diff, kind by kind ----------------------------------------------------------------------------------


def _line(index: int, **changes: Any) -> tuple[OrderLine, ...]:
    lines = list(BASE.lines)
    lines[index] = attrs.evolve(lines[index], **changes)
    return tuple(lines)


def _ship_to(**changes: Any) -> Address:
    assert BASE.shipping_address is not None
    return attrs.evolve(BASE.shipping_address, **changes)


NEW_LINE = OrderLine(
    "3", "MH01", "Hoodie", Decimal("1"), unit_price=Decimal("52.00"), row_total=Decimal("52.00")
)

DIFF_CASES: list[Any] = [
    # STATUS
    pytest.param(K.STATUS, {"status": "complete"}, [("status", "processing", "complete")], id="status"),
    pytest.param(K.STATUS, {"state": None}, [("state", "processing", None)], id="state"),
    # LINE_ITEMS
    pytest.param(
        K.LINE_ITEMS,
        {"lines": (*BASE.lines, NEW_LINE)},
        [("lines[3]", None, "1 x MH01 (Hoodie)")],
        id="line-added",
    ),
    pytest.param(
        K.LINE_ITEMS,
        {"lines": BASE.lines[:1]},
        [("lines[2]", "1.0000 x 24-WB04 (Overnight Duffle)", None)],
        id="line-removed",
    ),
    pytest.param(
        K.LINE_ITEMS, {"lines": _line(0, sku="24-MB02")}, [("lines[1].sku", "24-MB01", "24-MB02")], id="sku"
    ),
    pytest.param(
        K.LINE_ITEMS,
        {"lines": _line(1, name="Duffle")},
        [("lines[2].name", "Overnight Duffle", "Duffle")],
        id="name",
    ),
    # QUANTITIES
    pytest.param(
        K.QUANTITIES,
        {"lines": _line(1, quantity=Decimal("4"))},
        [("lines[2].quantity", "1.0000", "4")],
        id="qty",
    ),
    # PRICES_TOTALS
    pytest.param(
        K.PRICES_TOTALS,
        {"lines": _line(0, unit_price=Decimal("30.00"), discount=Decimal("4"))},
        [("lines[1].unit_price", "34.00", "30.00"), ("lines[1].discount", "0", "4")],
        id="line-prices",
    ),
    pytest.param(
        K.PRICES_TOTALS,
        {"lines": _line(0, tax=Decimal("5.44"))},
        [("lines[1].tax", "0", "5.44")],
        id="line-tax",
    ),
    pytest.param(
        K.PRICES_TOTALS,
        {"lines": _line(0, row_total=Decimal("60"))},
        [("lines[1].row_total", "68.00", "60")],
        id="row-total",
    ),
    pytest.param(
        K.PRICES_TOTALS,
        {"totals": attrs.evolve(BASE.totals, grand_total=Decimal("130.00"), shipping=Decimal("17.00"))},
        [("totals.shipping", "10.00", "17.00"), ("totals.grand_total", "123.00", "130.00")],
        id="totals",
    ),
    pytest.param(
        K.PRICES_TOTALS,
        {
            "totals": attrs.evolve(
                BASE.totals, refunded=Decimal("20"), tax=Decimal("1"), discount=Decimal("2")
            )
        },
        [("totals.tax", "0", "1"), ("totals.discount", "0", "2"), ("totals.refunded", "0", "20")],
        id="refund-tax-discount",
    ),
    pytest.param(K.PRICES_TOTALS, {"currency": "EUR"}, [("currency", "USD", "EUR")], id="currency"),
    # SHIPPING_ADDRESS
    pytest.param(
        K.SHIPPING_ADDRESS,
        {"shipping_address": _ship_to(city="Chicago", postcode="60601")},
        [
            ("shipping_address.city", "Springfield", "Chicago"),
            ("shipping_address.postcode", "62701", "60601"),
        ],
        id="ship-city",
    ),
    pytest.param(
        K.SHIPPING_ADDRESS,
        {"shipping_address": _ship_to(street=("1 Main St",))},
        [("shipping_address.street", "1 Main St, Apt 2", "1 Main St")],
        id="ship-street",
    ),
    pytest.param(
        K.SHIPPING_ADDRESS,
        {"shipping_address": None},
        [("shipping_address", "Ann Lee, 1 Main St, Apt 2, Springfield, IL, 62701, US", None)],
        id="ship-removed",
    ),
    pytest.param(
        K.SHIPPING_ADDRESS,
        {"shipping_address": _ship_to(phone="555-0199", email="x@example.com", name="Bo", company="Acme")},
        [
            ("shipping_address.name", "Ann Lee", "Bo"),
            ("shipping_address.company", "", "Acme"),
            ("shipping_address.phone", "555-0100", "555-0199"),
            ("shipping_address.email", "", "x@example.com"),
        ],
        id="ship-contact-fields",
    ),
    # BILLING_ADDRESS
    pytest.param(
        K.BILLING_ADDRESS,
        {"billing_address": attrs.evolve(BASE.billing_address, region="WI", country="CA")},
        [("billing_address.region", "IL", "WI"), ("billing_address.country", "US", "CA")],
        id="bill-region",
    ),
    # SHIPPING_METHOD
    pytest.param(
        K.SHIPPING_METHOD,
        {"shipping_method": "ups_GND"},
        [("shipping_method", "flatrate_flatrate", "ups_GND")],
        id="method",
    ),
    pytest.param(
        K.SHIPPING_METHOD,
        {"shipments": (Shipment("s1", ("1Z999", "1Z998"), carrier="fedex", method="Ground"),)},
        [
            ("shipments[s1].tracking_numbers", "1Z999", "1Z999, 1Z998"),
            ("shipments[s1].carrier", "ups", "fedex"),
        ],
        id="tracking-and-carrier",
    ),
    pytest.param(
        K.SHIPPING_METHOD,
        {"shipments": (*BASE.shipments, Shipment(None, ("TRK2",), carrier="usps"))},
        [("shipments[#1]", None, "usps TRK2")],
        id="shipment-added",
    ),
    pytest.param(
        K.SHIPPING_METHOD,
        {"shipments": ()},
        [("shipments[s1]", "ups Ground 1Z999", None)],
        id="shipment-removed",
    ),
    pytest.param(
        K.SHIPPING_METHOD,
        {"lines": _line(0, quantity_shipped=Decimal("2"))},
        [("lines[1].quantity_shipped", "0", "2")],
        id="quantity-shipped",
    ),
    # CUSTOMER_CONTACT
    pytest.param(
        K.CUSTOMER_CONTACT,
        {"customer": Customer(name="Ann Lee", email="ann@new.example", phone="555-0100")},
        [("customer.email", "ann@example.com", "ann@new.example")],
        id="email",
    ),
    pytest.param(
        K.CUSTOMER_CONTACT,
        {"customer": Customer(name="Ann Smith", email="ann@example.com", phone="")},
        [("customer.name", "Ann Lee", "Ann Smith"), ("customer.phone", "555-0100", "")],
        id="name-phone",
    ),
    # PAYMENT
    pytest.param(
        K.PAYMENT,
        {"totals": attrs.evolve(BASE.totals, paid=Decimal("100.00"), due=Decimal("23.00"))},
        [("totals.paid", "123.00", "100.00"), ("totals.due", "0.00", "23.00")],
        id="paid-due",
    ),
    pytest.param(
        K.PAYMENT,
        {"payments": (Payment("paypal", amount_paid=Decimal("123.00"), transaction_id="tx-9"),)},
        [("payments[0].method", "checkmo", "paypal"), ("payments[0].transaction_id", "tx-1", "tx-9")],
        id="payment-method",
    ),
    pytest.param(
        K.PAYMENT,
        {"payments": (*BASE.payments, Payment("giftcard", amount_paid=Decimal("5")))},
        [("payments[1]", None, "giftcard 5")],
        id="payment-added",
    ),
    pytest.param(
        K.PAYMENT, {"payments": ()}, [("payments[0]", "checkmo 123.00", None)], id="payment-removed"
    ),
    # NOTES
    pytest.param(
        K.NOTES,
        {"notes": (*BASE.notes, Note("Gift wrap please"))},
        [("notes[+]", None, "Gift wrap please")],
        id="note-added",
    ),
    pytest.param(K.NOTES, {"notes": ()}, [("notes[-]", "Leave at the door", None)], id="note-removed"),
    pytest.param(
        K.NOTES,
        {"notes": (Note("Leave at the door"), Note("Leave at the door"))},
        [("notes[+]", None, "Leave at the door")],
        id="duplicate-note-text-added",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), DIFF_CASES)
def test_diff_detects_its_own_kind_only(
    kind: ChangeKind, changes: dict[str, Any], expected: list[tuple[str, str | None, str | None]]
) -> None:
    current = order(**changes)
    assert diff(BASE, current, [kind]) == [FieldChange(kind, path, old, new) for path, old, new in expected]
    assert diff(BASE, current, ALL_KINDS - {kind}) == []
    assert [change.kind for change in diff(BASE, current, ALL_KINDS)] == [kind] * len(expected)


def test_diff_of_an_order_with_itself_is_empty() -> None:
    assert diff(BASE, BASE, ALL_KINDS) == []


def test_diff_compares_amounts_by_value() -> None:
    rescaled = order(
        lines=_line(0, quantity=Decimal("2"), unit_price=Decimal("34.0000"), row_total=Decimal("68")),
        totals=attrs.evolve(BASE.totals, grand_total=Decimal("123"), due=Decimal("0E-4")),
    )
    assert diff(BASE, rescaled, ALL_KINDS) == []


def test_diff_ignores_raw_and_updated_at_and_identity() -> None:
    touched = order(updated_at=LATER, raw={"anything": "else"}, order_id="99", number="77", created_at=START)
    assert diff(BASE, touched, ALL_KINDS) == []


def test_lines_pair_by_id_whatever_their_order() -> None:
    assert diff(BASE, order(lines=tuple(reversed(BASE.lines))), ALL_KINDS) == []


def test_lines_renumbered_by_a_new_entity_pair_by_sku() -> None:
    renumbered = order(
        lines=(
            attrs.evolve(BASE.lines[0], line_id="31"),
            attrs.evolve(BASE.lines[1], line_id="32", quantity=Decimal("2")),
        )
    )
    assert diff(BASE, renumbered, ALL_KINDS) == [
        FieldChange(K.QUANTITIES, "lines[sku=24-WB04].quantity", "1.0000", "2")
    ]


def test_line_with_new_id_and_new_sku_is_removed_and_added() -> None:
    swapped = order(lines=(BASE.lines[0], NEW_LINE))
    assert diff(BASE, swapped, [K.LINE_ITEMS]) == [
        FieldChange(K.LINE_ITEMS, "lines[2]", "1.0000 x 24-WB04 (Overnight Duffle)", None),
        FieldChange(K.LINE_ITEMS, "lines[3]", None, "1 x MH01 (Hoodie)"),
    ]


def test_address_added() -> None:
    no_address = order(billing_address=None)
    assert diff(no_address, BASE, [K.BILLING_ADDRESS]) == [
        FieldChange(
            K.BILLING_ADDRESS, "billing_address", None, "Ann Lee, 1 Main St, Springfield, IL, 62701, US"
        )
    ]
    assert diff(no_address, no_address, ALL_KINDS) == []


def test_diff_order_is_by_kind_then_document_order() -> None:
    current = order(
        notes=(),
        status="complete",
        customer=attrs.evolve(BASE.customer, email="new@example.com"),
        lines=_line(1, quantity=Decimal("5"), unit_price=Decimal("40.00")),
    )
    kinds_in_any_order: list[ChangeKind] = [
        K.NOTES,
        K.CUSTOMER_CONTACT,
        K.PRICES_TOTALS,
        K.QUANTITIES,
        K.STATUS,
    ]
    assert [change.path for change in diff(BASE, current, kinds_in_any_order)] == [
        "status",
        "lines[2].quantity",
        "lines[2].unit_price",
        "customer.email",
        "notes[-]",
    ]
    assert diff(BASE, current, kinds_in_any_order) == diff(BASE, current, reversed(kinds_in_any_order))


def test_diff_with_no_kinds_is_empty() -> None:
    assert diff(BASE, order(status="complete", notes=()), []) == []


def test_update_carries_only_watched_changes() -> None:
    current = order(status="complete", notes=(), updated_at=LATER)
    outcome = decide(current, policy(kinds=frozenset({K.NOTES})), seen())
    assert outcome == Update((FieldChange(K.NOTES, "notes[-]", "Leave at the door", None),))


def _per_row_policy(default: Unselected) -> SyncPolicy:
    rows = (
        StatusRule("processing", process_payment=False),
        StatusRule("holded", download=False, unselected=Unselected.IGNORE_TAB),
        StatusRule("canceled", download=False, unselected=Unselected.SKIP),
        StatusRule("fraud", download=False),
    )
    return attrs.evolve(policy(unselected=default), statuses=StatusMapping(rows))


@pytest.mark.parametrize(
    ("status", "default", "expected"),
    [
        pytest.param("holded", Unselected.SKIP, Ignore(), id="row-ignore-beats-policy-skip"),
        pytest.param("canceled", Unselected.IGNORE_TAB, Skip, id="row-skip-beats-policy-ignore"),
        pytest.param("fraud", Unselected.IGNORE_TAB, Ignore(), id="row-without-choice-follows-policy-ignore"),
        pytest.param("fraud", Unselected.SKIP, Skip, id="row-without-choice-follows-policy-skip"),
        pytest.param("unknown", Unselected.IGNORE_TAB, Ignore(), id="no-row-follows-policy"),
    ],
)
def test_a_row_may_choose_skip_or_ignore_for_its_own_status(
    status: str, default: Unselected, expected: Outcome | type[Skip]
) -> None:
    outcome = decide(order(status=status), _per_row_policy(default), None)
    if expected is Skip:
        assert isinstance(outcome, Skip)
        assert status in outcome.reason
    else:
        assert outcome == expected


def test_blank_history_entries_are_not_note_changes() -> None:
    blank = (Note(""), Note("   ", status="complete"))
    changed = order(notes=BASE.notes + blank, updated_at=LATER)
    assert diff(BASE, changed, [K.NOTES]) == []
    assert diff(BASE, order(notes=(*BASE.notes, Note("Gift wrap")), updated_at=LATER), [K.NOTES]) == [
        FieldChange(K.NOTES, "notes[+]", None, "Gift wrap")
    ]
