"""The download rules: what happens to one order, decided from the order, the policy and the ledger's memory.

Everything here is pure: no I/O, no clock, no module state. The engine fetches, remembers and acts; these
functions only decide, so every case can be tested as a table row.

Deciding (:func:`decide`)
=========================

``previous`` is the ledger's record (:class:`~ecc_connectors.Seen`) of the order, or ``None`` when it was
never downloaded. Three situations:

**Never seen** (``previous is None``). Checked in this order; the first that applies wins:

1. created before ``range.start``, or at/after ``range.end`` when set -> :class:`Skip`. The end is exclusive
   so consecutive ranges never overlap.
2. ``range.statuses`` is not empty and the status is not one of them -> :class:`Skip` (the same narrowing the
   store query applies; it is applied here too for drivers that cannot filter by status).
3. number below ``range.starting_number`` -> :class:`Skip` (see :func:`compare_order_numbers`).
4. a status row matches (exact row first, then the first matching wildcard row such as ``"PAID|*"``) and says
   download -> :class:`Download` with ``paid = not process_payment`` and ``shipped = not process_shipping``
   ("No, mark as paid" arrives paid; "Yes" arrives unpaid so payment is processed locally).
5. otherwise the status is unselected (no row, or a row that says do not download; an exact "do not download"
   row beats a wildcard row that says download) -> :class:`Ignore` when ``unselected`` is ``IGNORE_TAB``, else
   :class:`Skip`. A "do not download" row may name its own ``unselected`` choice, which wins over the policy's.

A never-seen order that names an order it ``replaces`` is decided like any new order: without a record of the
replaced order there is nothing to update.

**An edited order replacing a downloaded one** (``order.replaces`` set and ``previous`` is the record of the
replaced order; Magento makes an admin edit a new entity and cancels the original). It is the same sale
changed, not a new one, and the new entity would be lost if the rules stayed silent, so:

* it is always surfaced as :class:`Update` with ``replaces`` set to the replaced ``order_id`` and the changes
  over **all** kinds, whether or not change detection is on, whatever ``watch_from`` says and whichever kinds
  are watched: accepting it replaces the whole downloaded copy, so the user must see every difference. The
  change list may be empty (an edit that touched nothing compared here); the Update still stands.
* the date range and starting number are not applied: the sale was in range when first downloaded, and the
  edited entity carries a new creation time and a suffixed number.
* if the replaced order sat in the Ignore tab, the replacement follows the rule for Ignore-tab orders below:
  :class:`Download` when its status is now selected, else :class:`Ignore` (it stays where its predecessor
  was).

**Seen before** (``previous.order.order_id == order.order_id``):

1. ``previous.tab`` is Ignore and the status now has a download row -> :class:`Download` (promotion: the
   order reached a selected status, and it would have been downloaded had unselected orders been skipped
   instead). Promotion is about status selection, not change detection, so it happens even with detection off
   or before ``watch_from``; the range is not re-checked (the order passed it when first seen).
2. change detection off -> :class:`Unchanged`.
3. ``order.updated_at`` before ``change_detection.watch_from`` -> :class:`Unchanged`.
4. ``previous.tab`` is Ignore (status still unselected) -> :class:`Unchanged`: Ignore-tab orders are not
   tracked for updates.
5. ``diff`` over the watched kinds: empty -> :class:`Unchanged`, else :class:`Update`. An order moved to an
   unselected status, or cancelled in the store, after download is an Update carrying the status change when
   STATUS is watched; it is never silently moved to Ignore (the back office may already be working on it).

A ``previous`` that is neither the same order nor the one it replaces is a caller error (:class:`ValueError`).

Comparing (:func:`diff`)
========================

``diff(previous, current, kinds)`` lists :class:`~ecc_connectors.FieldChange` values, only for the kinds asked
for. Each compared field belongs to exactly one kind, so a change in one kind is never reported under another.
Output order is deterministic: by kind in :class:`~ecc_connectors.ChangeKind` order, then in document order.
``old`` / ``new`` are display strings (``None`` where absent); amounts and quantities compare by value
(``10.00 == 10.0000``) and display as the store wrote them. ``raw``, ``updated_at`` and the identity fields
(``store``, ``order_id``, ``number``, ``created_at``, ``replaces``) are never compared.

Paths and kinds:

=================  ================================================================================
STATUS             ``status``, ``state``
LINE_ITEMS         ``lines[<ref>]`` (line added: old ``None``; removed: new ``None``),
                   ``lines[<ref>].sku``, ``lines[<ref>].name``
QUANTITIES         ``lines[<ref>].quantity``
PRICES_TOTALS      ``lines[<ref>].unit_price|tax|discount|row_total``, ``currency``,
                   ``totals.subtotal|shipping|tax|discount|grand_total|refunded``
SHIPPING_ADDRESS   ``shipping_address`` (added/removed), ``shipping_address.<field>``
BILLING_ADDRESS    ``billing_address`` (added/removed), ``billing_address.<field>``
SHIPPING_METHOD    ``shipping_method``, ``lines[<ref>].quantity_shipped``, ``shipments[<ref>]``
                   (added/removed), ``shipments[<ref>].tracking_numbers|carrier|method``
CUSTOMER_CONTACT   ``customer.name``, ``customer.email``, ``customer.phone``
PAYMENT            ``totals.paid``, ``totals.due``, ``payments[<i>]`` (added/removed),
                   ``payments[<i>].method|amount_paid|amount_authorized|transaction_id``
NOTES              ``notes[-]`` (a note text no longer there), ``notes[+]`` (a new note text)
=================  ================================================================================

Lines are paired by ``line_id``; lines left unpaired are then paired by ``sku`` (first come, first served),
because an edited order that is a new entity renumbers its lines. ``<ref>`` is the ``line_id`` (the current
one) for lines paired by id or added/removed, and ``sku=<sku>`` for lines paired by sku. The line fields that
describe how the store models a line (``parent_line_id``, ``product_type``, ``counts``) are not compared.
Shipments are paired by ``shipment_id`` (``<ref>`` is the id, or ``#<position>`` when the store gives none);
payments by position. Notes compare as a multiset of texts; a note whose text is unchanged is the same note,
and notes with no text (bare status-history entries) are not compared.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from ._model import Address, ChangeKind, FieldChange, Order, OrderLine, Payment, Shipment
from ._outcomes import Download, Ignore, Outcome, Seen, Skip, Tab, Unchanged, Update
from ._policy import StatusRule, SyncPolicy, Unselected

__all__ = ["compare_order_numbers", "decide", "diff", "order_number_key"]

_RUNS = re.compile(r"\d+|\D+")

# What a FieldChange can show: text, an amount, a yes/no, a tuple of texts (tracking numbers, street), None.
_Value = object


# ---------------------------------------------------------------------------------------------------------
# Order numbers


def order_number_key(number: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders order numbers the way stores mean them.

    Runs of digits compare as numbers (leading zeros ignored: ``"000000120"`` sorts after ``"100"``), other
    runs as text, case-insensitively; a digit run sorts before a text run at the same place. A leading ``#``
    (Shopify shows ``#1001``) and surrounding spaces are ignored. Magento's edit suffix falls out of this:
    ``"000000013-1"`` sorts after ``"000000013"`` and before ``"000000014"``, i.e. by its base number first.
    """
    text = number.strip().lstrip("#").strip()
    key: list[tuple[int, int | str]] = []
    for run in _RUNS.findall(text):
        key.append((0, int(run)) if run.isdigit() else (1, run.casefold()))
    return tuple(key)


def compare_order_numbers(a: str, b: str) -> int:
    """-1, 0 or 1 as order number ``a`` is below, level with or above ``b`` (see :func:`order_number_key`)."""
    ka, kb = order_number_key(a), order_number_key(b)
    return (ka > kb) - (ka < kb)


# ---------------------------------------------------------------------------------------------------------
# Deciding


def decide(order: Order, policy: SyncPolicy, previous: Seen | None) -> Outcome:
    """What to do with ``order`` now (the rules are in the module docstring)."""
    if previous is None:
        return _decide_new(order, policy)
    if previous.order.order_id == order.order_id:
        return _decide_seen(order, policy, previous)
    if order.replaces is not None and previous.order.order_id == order.replaces:
        return _decide_replacement(order, policy, previous)
    raise ValueError(
        f"ledger record is for order {previous.order.order_id!r}, which is neither order {order.order_id!r} "
        f"nor the order it replaces ({order.replaces!r})"
    )


def _download_rule(order: Order, policy: SyncPolicy) -> StatusRule | None:
    rule = policy.statuses.rule_for(order.status)
    return rule if rule is not None and rule.download else None


def _download(rule: StatusRule) -> Download:
    return Download(paid=not rule.process_payment, shipped=not rule.process_shipping)


def _decide_new(order: Order, policy: SyncPolicy) -> Outcome:
    window = policy.range
    if order.created_at < window.start:
        return Skip(
            f"created {order.created_at.isoformat()}, before the range start {window.start.isoformat()}"
        )
    if window.end is not None and order.created_at >= window.end:
        return Skip(
            f"created {order.created_at.isoformat()}, not before the range end {window.end.isoformat()}"
        )
    if window.statuses and not any(StatusRule(s).matches(order.status) for s in window.statuses):
        return Skip(f"status {order.status!r} is not among the range statuses {list(window.statuses)!r}")
    if window.starting_number is not None and compare_order_numbers(order.number, window.starting_number) < 0:
        return Skip(f"number {order.number!r} is below the starting number {window.starting_number!r}")
    rule = policy.statuses.rule_for(order.status)
    if rule is not None and rule.download:
        return _download(rule)
    mode = rule.unselected if rule is not None and rule.unselected is not None else policy.unselected
    if mode is Unselected.IGNORE_TAB:
        return Ignore()
    return Skip(f"status {order.status!r} is not selected for download")


def _decide_replacement(order: Order, policy: SyncPolicy, previous: Seen) -> Outcome:
    if previous.tab is Tab.IGNORE:
        rule = _download_rule(order, policy)
        return _download(rule) if rule is not None else Ignore()
    return Update(tuple(diff(previous.order, order, ChangeKind)), replaces=previous.order.order_id)


def _decide_seen(order: Order, policy: SyncPolicy, previous: Seen) -> Outcome:
    if previous.tab is Tab.IGNORE:
        rule = _download_rule(order, policy)
        if rule is not None:
            return _download(rule)
    detection = policy.change_detection
    if not detection.enabled:
        return Unchanged()
    if detection.watch_from is not None and order.updated_at < detection.watch_from:
        return Unchanged()
    if previous.tab is Tab.IGNORE:
        return Unchanged()
    changes = diff(previous.order, order, detection.kinds)
    return Update(tuple(changes)) if changes else Unchanged()


# ---------------------------------------------------------------------------------------------------------
# Comparing


def _show(value: _Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(str(part) for part in value)
    return str(value)


class _Changes:
    """Collects the changes of one kind; values compare with ``==`` (Decimals by value)."""

    def __init__(self, kind: ChangeKind) -> None:
        self.kind = kind
        self.found: list[FieldChange] = []

    def field(self, path: str, old: _Value, new: _Value) -> None:
        if old != new:
            self.found.append(FieldChange(self.kind, path, _show(old), _show(new)))

    def presence(self, path: str, old: str | None, new: str | None) -> None:
        self.found.append(FieldChange(self.kind, path, old, new))


class _LinePairs:
    """How the previous lines map onto the current ones (see the module docstring)."""

    def __init__(self, previous: Sequence[OrderLine], current: Sequence[OrderLine]) -> None:
        old_left = list(previous)
        self.paired: list[tuple[str, OrderLine, OrderLine]] = []
        new_left: list[OrderLine] = []
        for line in current:
            match = next((o for o in old_left if o.line_id == line.line_id), None)
            if match is None:
                new_left.append(line)
            else:
                old_left.remove(match)
                self.paired.append((line.line_id, match, line))
        self.added: list[OrderLine] = []
        for line in new_left:
            match = next((o for o in old_left if o.sku == line.sku), None)
            if match is None:
                self.added.append(line)
            else:
                old_left.remove(match)
                self.paired.append((f"sku={line.sku}", match, line))
        self.removed = old_left


def _line_summary(line: OrderLine) -> str:
    return f"{line.quantity} x {line.sku} ({line.name})" if line.name else f"{line.quantity} x {line.sku}"


def _address_summary(address: Address) -> str:
    parts = [
        address.name,
        address.company,
        *address.street,
        address.city,
        address.region,
        address.postcode,
        address.country,
    ]
    return ", ".join(part for part in parts if part)


def _shipment_summary(shipment: Shipment) -> str:
    parts = [shipment.carrier, shipment.method, ", ".join(shipment.tracking_numbers)]
    return " ".join(part for part in parts if part) or "shipment"


def _payment_summary(payment: Payment) -> str:
    return f"{payment.method} {payment.amount_paid}"


def _status(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    out.field("status", old.status, new.status)
    out.field("state", old.state, new.state)


def _line_items(out: _Changes, _old: Order, _new: Order, lines: Callable[[], _LinePairs]) -> None:
    pairs = lines()
    for line in pairs.removed:
        out.presence(f"lines[{line.line_id}]", _line_summary(line), None)
    for ref, before, after in pairs.paired:
        out.field(f"lines[{ref}].sku", before.sku, after.sku)
        out.field(f"lines[{ref}].name", before.name, after.name)
    for line in pairs.added:
        out.presence(f"lines[{line.line_id}]", None, _line_summary(line))


def _quantities(out: _Changes, _old: Order, _new: Order, lines: Callable[[], _LinePairs]) -> None:
    for ref, before, after in lines().paired:
        out.field(f"lines[{ref}].quantity", before.quantity, after.quantity)


def _prices_totals(out: _Changes, old: Order, new: Order, lines: Callable[[], _LinePairs]) -> None:
    for ref, before, after in lines().paired:
        for name in ("unit_price", "tax", "discount", "row_total"):
            out.field(f"lines[{ref}].{name}", getattr(before, name), getattr(after, name))
    out.field("currency", old.currency, new.currency)
    for name in ("subtotal", "shipping", "tax", "discount", "grand_total", "refunded"):
        out.field(f"totals.{name}", getattr(old.totals, name), getattr(new.totals, name))


def _address(out: _Changes, path: str, old: Address | None, new: Address | None) -> None:
    if old is None and new is None:
        return
    if old is None or new is None:
        out.presence(
            path,
            None if old is None else _address_summary(old),
            None if new is None else _address_summary(new),
        )
        return
    for name in ("name", "company", "street", "city", "region", "postcode", "country", "phone", "email"):
        out.field(f"{path}.{name}", getattr(old, name), getattr(new, name))


def _shipping_address(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    _address(out, "shipping_address", old.shipping_address, new.shipping_address)


def _billing_address(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    _address(out, "billing_address", old.billing_address, new.billing_address)


def _shipment_refs(shipments: Sequence[Shipment]) -> dict[str, Shipment]:
    refs: dict[str, Shipment] = {}
    for position, shipment in enumerate(shipments):
        ref = shipment.shipment_id if shipment.shipment_id is not None else f"#{position}"
        refs.setdefault(ref, shipment)
    return refs


def _shipping_method(out: _Changes, old: Order, new: Order, lines: Callable[[], _LinePairs]) -> None:
    out.field("shipping_method", old.shipping_method, new.shipping_method)
    for ref, before, after in lines().paired:
        out.field(f"lines[{ref}].quantity_shipped", before.quantity_shipped, after.quantity_shipped)
    was, now = _shipment_refs(old.shipments), _shipment_refs(new.shipments)
    for ref, shipment in was.items():
        if ref not in now:
            out.presence(f"shipments[{ref}]", _shipment_summary(shipment), None)
    for ref, shipment in now.items():
        earlier = was.get(ref)
        if earlier is None:
            out.presence(f"shipments[{ref}]", None, _shipment_summary(shipment))
            continue
        out.field(f"shipments[{ref}].tracking_numbers", earlier.tracking_numbers, shipment.tracking_numbers)
        out.field(f"shipments[{ref}].carrier", earlier.carrier, shipment.carrier)
        out.field(f"shipments[{ref}].method", earlier.method, shipment.method)


def _customer_contact(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    for name in ("name", "email", "phone"):
        out.field(f"customer.{name}", getattr(old.customer, name), getattr(new.customer, name))


def _payment(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    out.field("totals.paid", old.totals.paid, new.totals.paid)
    out.field("totals.due", old.totals.due, new.totals.due)
    for position in range(max(len(old.payments), len(new.payments))):
        path = f"payments[{position}]"
        if position >= len(new.payments):
            out.presence(path, _payment_summary(old.payments[position]), None)
        elif position >= len(old.payments):
            out.presence(path, None, _payment_summary(new.payments[position]))
        else:
            before, after = old.payments[position], new.payments[position]
            for name in ("method", "amount_paid", "amount_authorized", "transaction_id"):
                out.field(f"{path}.{name}", getattr(before, name), getattr(after, name))


def _notes(out: _Changes, old: Order, new: Order, _lines: Callable[[], _LinePairs]) -> None:
    # A history entry with no text (Magento writes one for each status change) says nothing to a reader: the
    # status change itself is reported under STATUS.
    old_notes = [note for note in old.notes if note.text.strip()]
    new_notes = [note for note in new.notes if note.text.strip()]
    was = Counter(note.text for note in old_notes)
    now = Counter(note.text for note in new_notes)
    gone, came = was - now, now - was
    for note in old_notes:
        if gone[note.text] > 0:
            gone[note.text] -= 1
            out.presence("notes[-]", note.text, None)
    for note in new_notes:
        if came[note.text] > 0:
            came[note.text] -= 1
            out.presence("notes[+]", None, note.text)


_Section = Callable[[_Changes, Order, Order, Callable[[], _LinePairs]], None]

_SECTIONS: dict[ChangeKind, _Section] = {
    ChangeKind.STATUS: _status,
    ChangeKind.LINE_ITEMS: _line_items,
    ChangeKind.QUANTITIES: _quantities,
    ChangeKind.PRICES_TOTALS: _prices_totals,
    ChangeKind.SHIPPING_ADDRESS: _shipping_address,
    ChangeKind.BILLING_ADDRESS: _billing_address,
    ChangeKind.SHIPPING_METHOD: _shipping_method,
    ChangeKind.CUSTOMER_CONTACT: _customer_contact,
    ChangeKind.PAYMENT: _payment,
    ChangeKind.NOTES: _notes,
}


def diff(previous: Order, current: Order, kinds: Iterable[ChangeKind]) -> list[FieldChange]:
    """The field changes from ``previous`` to ``current`` in ``kinds`` (paths: see the module docstring)."""
    wanted = {ChangeKind(kind) for kind in kinds}
    pairs: list[_LinePairs] = []

    def lines() -> _LinePairs:
        if not pairs:
            pairs.append(_LinePairs(previous.lines, current.lines))
        return pairs[0]

    found: list[FieldChange] = []
    for kind in ChangeKind:
        if kind in wanted:
            out = _Changes(kind)
            _SECTIONS[kind](out, previous, current, lines)
            found.extend(out.found)
    return found
