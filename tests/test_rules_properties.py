"""Properties of the download rules over generated orders and policies.

The strategies here (``orders``, ``policies`` and friends) are also used by ``test_convert.py``.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ecc_connectors import (
    Acknowledgement,
    Address,
    Cancellation,
    ChangeDetection,
    ChangeKind,
    Customer,
    DownloadRange,
    Incremental,
    ItemSource,
    Note,
    Order,
    OrderLine,
    Payment,
    PhoneOrders,
    PostBack,
    Seen,
    Shipment,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tab,
    Totals,
    Unchanged,
    Unselected,
    order_from_snapshot,
    order_snapshot,
)
from ecc_connectors.rules import decide, diff

UTC = timezone.utc
ALL_KINDS = frozenset(ChangeKind)
STATUSES = ["pending", "processing", "complete", "canceled", "holded", "PAID|UNFULFILLED", "PAID|FULFILLED"]
RULE_STATUSES = [*STATUSES, "PAID|*", "*|FULFILLED", "*|*"]

words = st.text(alphabet=string.ascii_letters + string.digits + " -", max_size=8)
amounts = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
maybe_moments = st.none() | moments
numbers = st.from_regex(r"#?[0-9]{1,9}(-[0-9])?", fullmatch=True)

addresses = st.builds(
    Address,
    name=words,
    company=words,
    street=st.lists(words, max_size=2).map(tuple),
    city=words,
    region=words,
    postcode=words,
    country=st.sampled_from(["US", "GB", "DE", ""]),
    phone=words,
    email=words,
)
customers = st.builds(Customer, name=words, email=words, phone=words, is_guest=st.booleans())
order_lines = st.builds(
    OrderLine,
    line_id=st.text(alphabet=string.digits, min_size=1, max_size=3),
    sku=st.sampled_from(["24-MB01", "24-WB04", "MH01", "WS12"]),
    name=words,
    quantity=amounts,
    unit_price=amounts,
    tax=amounts,
    discount=amounts,
    row_total=amounts,
    quantity_shipped=amounts,
)
totals = st.builds(
    Totals,
    subtotal=amounts,
    shipping=amounts,
    tax=amounts,
    discount=amounts,
    grand_total=amounts,
    paid=amounts,
    due=amounts,
    refunded=amounts,
)
payments = st.builds(
    Payment,
    method=st.sampled_from(["checkmo", "paypal", "card"]),
    amount_paid=amounts,
    amount_authorized=amounts,
    transaction_id=st.none() | words,
)
shipments = st.builds(
    Shipment,
    shipment_id=st.none() | st.text(alphabet=string.digits, min_size=1, max_size=3),
    tracking_numbers=st.lists(words, max_size=2).map(tuple),
    carrier=st.sampled_from(["", "ups", "fedex"]),
    method=words,
    created_at=maybe_moments,
)
notes = st.builds(Note, text=words, created_at=maybe_moments, customer_visible=st.booleans())

orders = st.builds(
    Order,
    store=st.just("shop"),
    order_id=st.just("1"),
    number=numbers,
    status=st.sampled_from(STATUSES),
    created_at=moments,
    updated_at=moments,
    currency=st.sampled_from(["USD", "EUR"]),
    state=st.none() | st.sampled_from(["new", "processing", "complete"]),
    customer=customers,
    billing_address=st.none() | addresses,
    shipping_address=st.none() | addresses,
    shipping_method=words,
    lines=st.lists(order_lines, max_size=3, unique_by=lambda line: line.line_id).map(tuple),
    totals=totals,
    payments=st.lists(payments, max_size=2).map(tuple),
    shipments=st.lists(shipments, max_size=2).map(tuple),
    notes=st.lists(notes, max_size=2).map(tuple),
    replaces=st.none() | st.just("0"),
    raw=st.none() | st.dictionaries(words, words, max_size=2),
)

kind_sets = st.frozensets(st.sampled_from(list(ChangeKind)))
policies = st.builds(
    SyncPolicy,
    statuses=st.builds(
        StatusMapping,
        rules=st.lists(
            st.builds(
                StatusRule,
                status=st.sampled_from(RULE_STATUSES),
                download=st.booleans(),
                process_payment=st.booleans(),
                process_shipping=st.booleans(),
            ),
            max_size=4,
        ).map(tuple),
    ),
    range=st.builds(
        DownloadRange,
        start=moments,
        end=maybe_moments,
        starting_number=st.none() | numbers,
        statuses=st.lists(st.sampled_from(STATUSES), max_size=2, unique=True).map(tuple),
    ),
    unselected=st.sampled_from(Unselected),
    post_back=st.builds(PostBack, status=st.none() | words, send_email=st.booleans()),
    acknowledgement=st.builds(
        Acknowledgement, status=st.none() | words, comment=words, notify_customer=st.booleans()
    ),
    cancellation=st.builds(Cancellation, status=st.none() | words, send_email=st.booleans(), comment=words),
    phone_orders=st.builds(PhoneOrders, item_source=st.sampled_from(ItemSource)),
    change_detection=st.builds(
        ChangeDetection, enabled=st.booleans(), kinds=kind_sets, watch_from=maybe_moments
    ),
    incremental=st.builds(
        Incremental,
        lookback=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
        settle_delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
    ),
)


@st.composite
def ledger_records(draw: st.DrawFn, current: Order) -> Seen | None:
    """Nothing, or a record of this same order, or a record of the order it replaces."""
    earlier = draw(orders)
    choice = draw(st.sampled_from(["none", "same", "replaced"]))
    if choice == "none":
        return None
    if choice == "same" or current.replaces is None:
        earlier = attrs.evolve(earlier, order_id=current.order_id)
    else:
        earlier = attrs.evolve(earlier, order_id=current.replaces)
    return Seen(
        order=earlier, tab=draw(st.sampled_from(Tab)), paid=draw(st.booleans()), shipped=draw(st.booleans())
    )


# A change confined to one kind, for each kind; each is visible in its own kind.
ONE = Decimal("1")
_Mutation = Callable[[Order, st.DataObject], Order]


def _one_line(change: Callable[[OrderLine], OrderLine]) -> _Mutation:
    def mutate(order: Order, data: st.DataObject) -> Order:
        index = data.draw(st.integers(0, len(order.lines) - 1), label="line")
        lines = list(order.lines)
        lines[index] = change(lines[index])
        return attrs.evolve(order, lines=tuple(lines))

    return mutate


def _address_change(field: str) -> _Mutation:
    def mutate(order: Order, data: st.DataObject) -> Order:
        address: Address | None = getattr(order, field)
        if address is None:
            return attrs.evolve(order, **{field: Address(city="Springfield")})
        if data.draw(st.booleans(), label="remove"):
            return attrs.evolve(order, **{field: None})
        return attrs.evolve(order, **{field: attrs.evolve(address, city=address.city + "x")})

    return mutate


MUTATIONS: dict[ChangeKind, list[_Mutation]] = {
    ChangeKind.STATUS: [
        lambda o, d: attrs.evolve(o, status=o.status + "-x"),
        lambda o, d: attrs.evolve(o, state=(o.state or "") + "-x"),
    ],
    ChangeKind.LINE_ITEMS: [
        lambda o, d: attrs.evolve(o, lines=(*o.lines, OrderLine("new", "NEW-SKU", "New", ONE))),
        lambda o, d: attrs.evolve(o, lines=o.lines[1:]),
        _one_line(lambda line: attrs.evolve(line, name=line.name + "x")),
        _one_line(lambda line: attrs.evolve(line, sku=line.sku + "x")),
    ],
    ChangeKind.QUANTITIES: [_one_line(lambda line: attrs.evolve(line, quantity=line.quantity + ONE))],
    ChangeKind.PRICES_TOTALS: [
        lambda o, d: attrs.evolve(o, totals=attrs.evolve(o.totals, grand_total=o.totals.grand_total + ONE)),
        lambda o, d: attrs.evolve(o, totals=attrs.evolve(o.totals, refunded=o.totals.refunded + ONE)),
        _one_line(lambda line: attrs.evolve(line, unit_price=line.unit_price + ONE)),
        lambda o, d: attrs.evolve(o, currency=o.currency + "x"),
    ],
    ChangeKind.SHIPPING_ADDRESS: [_address_change("shipping_address")],
    ChangeKind.BILLING_ADDRESS: [_address_change("billing_address")],
    ChangeKind.SHIPPING_METHOD: [
        lambda o, d: attrs.evolve(o, shipping_method=o.shipping_method + "x"),
        lambda o, d: attrs.evolve(o, shipments=(*o.shipments, Shipment("new", ("T1",)))),
        _one_line(lambda line: attrs.evolve(line, quantity_shipped=line.quantity_shipped + ONE)),
    ],
    ChangeKind.CUSTOMER_CONTACT: [
        lambda o, d: attrs.evolve(o, customer=attrs.evolve(o.customer, email=o.customer.email + "x")),
    ],
    ChangeKind.PAYMENT: [
        lambda o, d: attrs.evolve(o, totals=attrs.evolve(o.totals, due=o.totals.due + ONE)),
        lambda o, d: attrs.evolve(o, payments=(*o.payments, Payment("giftcard"))),
    ],
    ChangeKind.NOTES: [lambda o, d: attrs.evolve(o, notes=(*o.notes, Note("a note no one wrote before!")))],
}


def test_every_kind_has_a_mutation() -> None:
    assert set(MUTATIONS) == ALL_KINDS


@settings(max_examples=150, deadline=None)
@given(current=orders, policy=policies, data=st.data())
def test_decide_is_deterministic(current: Order, policy: SyncPolicy, data: st.DataObject) -> None:
    previous = data.draw(ledger_records(current), label="previous")
    first = decide(current, policy, previous)
    # Equal inputs built afresh (through the snapshot converters) decide the same.
    rebuilt = order_from_snapshot(order_snapshot(current))
    again_previous = (
        None
        if previous is None
        else attrs.evolve(previous, order=order_from_snapshot(order_snapshot(previous.order)))
    )
    assert decide(rebuilt, policy, again_previous) == first
    assert decide(current, policy, previous) == first


@settings(max_examples=150, deadline=None)
@given(current=orders, kinds=kind_sets)
def test_diff_with_itself_is_empty(current: Order, kinds: frozenset[ChangeKind]) -> None:
    assert diff(current, current, kinds) == []
    assert diff(current, order_from_snapshot(order_snapshot(current)), ALL_KINDS) == []


@settings(max_examples=150, deadline=None)
@given(previous=orders, current=orders, kinds=kind_sets)
def test_diff_reports_only_requested_kinds(
    previous: Order, current: Order, kinds: frozenset[ChangeKind]
) -> None:
    full = diff(previous, current, ALL_KINDS)
    partial = diff(previous, current, kinds)
    assert all(change.kind in kinds for change in partial)
    # Asking for fewer kinds filters the full diff and changes nothing else.
    assert partial == [change for change in full if change.kind in kinds]


@settings(max_examples=200, deadline=None)
@given(previous=orders, kind=st.sampled_from(list(ChangeKind)), data=st.data())
def test_changes_only_in_unwatched_kinds_never_give_update(
    previous: Order, kind: ChangeKind, data: st.DataObject
) -> None:
    if not previous.lines:
        # Line mutations need a line to change; adding it to both sides keeps the change in one kind.
        previous = attrs.evolve(previous, lines=(OrderLine("900", "WS12", "Tee", ONE),))
    mutate = data.draw(st.sampled_from(MUTATIONS[kind]), label="mutation")
    current = mutate(previous, data)
    assert diff(previous, current, [kind]), "the mutation must be visible in its own kind"
    others = ALL_KINDS - {kind}
    assert diff(previous, current, others) == []
    policy = data.draw(policies, label="policy")
    policy = attrs.evolve(
        policy, change_detection=ChangeDetection(enabled=True, kinds=others, watch_from=None)
    )
    assert decide(current, policy, Seen(order=previous, tab=Tab.ORDERS)) == Unchanged()
