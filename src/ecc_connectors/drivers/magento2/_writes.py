"""Reading the store before a write: is the work already there?

Each non-idempotent write (a status comment, an invoice, a shipment without tracking numbers) is preceded by a
read, and these functions decide from that read whether an earlier attempt, whose answer was lost, already did
the work. They are pure: plain decoded JSON in, a finding out.

``since`` (the time the write was first attempted, minus an allowance for clock skew, set by the engine) limits
what counts as this write's own work; without it anything equal counts. Magento's stamps are whole seconds in
UTC, so ``since`` is compared truncated to its second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ._mapping import parse_magento_datetime

__all__ = ["find_comment", "find_shipment", "latest", "lines_done", "quantity", "record_id", "requested_lines_done"]

ZERO = Decimal(0)


def quantity(value: Any) -> Decimal:
    """A quantity as Magento sends it (number, numeric text, null); anything unreadable counts as 0, which
    makes a check say "not done" and leaves the decision to the store, which refuses to ship or invoice more
    than is left."""
    if value is None or isinstance(value, bool):
        return ZERO
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, (str, float)):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return ZERO
        return number if number.is_finite() else ZERO
    return ZERO


def record_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("entity_id")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        return None
    return str(value).strip()


def _stamp(value: Any) -> datetime | None:
    try:
        return parse_magento_datetime(value, "created_at")
    except Exception:
        return None


def _floor(since: datetime | None) -> datetime | None:
    if since is None:
        return None
    return since.astimezone(timezone.utc).replace(microsecond=0)


def _recent(record: Mapping[str, Any], since: datetime | None) -> bool:
    floor = _floor(since)
    if floor is None:
        return True
    created = _stamp(record.get("created_at"))
    return created is not None and created >= floor


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _newest(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest record: latest ``created_at``, then highest ``entity_id``."""

    def order(record: Mapping[str, Any]) -> tuple[datetime, int]:
        created = _stamp(record.get("created_at")) or datetime.min.replace(tzinfo=timezone.utc)
        ident = record_id(record) or ""
        return created, int(ident) if ident.isdigit() else -1

    found = [r for r in records if record_id(r) is not None]
    return max(found, key=order) if found else None


def find_comment(
    histories: Any, *, status: str | None, comment: str, notify: bool, since: datetime | None
) -> Mapping[str, Any] | None:
    """The newest ``status_histories`` entry equal to the comment about to be posted: the same status (when one
    is set), the same text (surrounding whitespace aside; Magento writes no text as null), the same
    notification flag, created at or after ``since`` (when given)."""
    text = comment.strip()
    matches = []
    for entry in _rows(histories):
        if status and entry.get("status") != status:
            continue
        if str(entry.get("comment") or "").strip() != text:
            continue
        if bool(quantity(entry.get("is_customer_notified"))) != notify:
            continue
        if not _recent(entry, since):
            continue
        matches.append(entry)
    return _newest(matches)


def _line_id(item: Mapping[str, Any]) -> str | None:
    value = item.get("item_id")
    return None if value is None or isinstance(value, bool) else str(value)


def lines_done(items: Any, done_field: str, *, skip_virtual: bool = False) -> bool:
    """Whether every line of the order is done for ``done_field`` (``qty_shipped``, ``qty_invoiced``):
    ``done >= qty_ordered - qty_canceled``. Counted once, as the mapping counts them: the simple child of a
    configurable follows its parent and is skipped; a bundle is done when its own line or all of its parts
    are. ``skip_virtual`` leaves out lines that never ship. An order without lines is not done."""
    rows = _rows(items)
    if not rows:
        return False
    by_id = {_line_id(row): row for row in rows}
    children: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        parent = row.get("parent_item_id")
        if parent is not None:
            children.setdefault(str(parent), []).append(row)

    def covered(row: Mapping[str, Any]) -> bool:
        wanted = quantity(row.get("qty_ordered")) - quantity(row.get("qty_canceled"))
        return quantity(row.get(done_field)) >= wanted

    def virtual(row: Mapping[str, Any]) -> bool:
        return bool(quantity(row.get("is_virtual"))) or row.get("product_type") in ("virtual", "downloadable")

    for row in rows:
        if skip_virtual and virtual(row):
            continue
        parent_id = row.get("parent_item_id")
        parent = by_id.get(str(parent_id)) if parent_id is not None else None
        if parent is not None and parent.get("product_type") == "configurable":
            continue
        if covered(row) or (parent is not None and covered(parent)):
            continue
        kids = children.get(_line_id(row) or "", [])
        if kids and all(covered(kid) or (skip_virtual and virtual(kid)) for kid in kids):
            continue
        return False
    return True


def requested_lines_done(items: Any, requested: Mapping[str, Decimal]) -> bool:
    """Whether each requested line ``(line id, quantity)`` has at least that quantity shipped."""
    shipped = {_line_id(row): quantity(row.get("qty_shipped")) for row in _rows(items)}
    return bool(requested) and all(line in shipped and shipped[line] >= qty for line, qty in requested.items())


def find_shipment(
    shipments: Any, order_items: Any, requested: Mapping[str, Decimal], since: datetime | None
) -> Mapping[str, Any] | None:
    """The newest shipment (created at or after ``since``, when given) that is the one asked for: with
    ``requested`` lines, a shipment holding exactly those lines with those quantities (lines that are children
    of a requested line may ride along, as Magento adds them); without, any shipment (the order's whole
    remainder, which cannot be told apart)."""
    candidates = [s for s in _rows(shipments) if _recent(s, since)]
    if not requested:
        return _newest(candidates)
    parents = {
        _line_id(row): str(row["parent_item_id"]) for row in _rows(order_items) if row.get("parent_item_id") is not None
    }
    matching = []
    for shipment in candidates:
        got: dict[str, Decimal] = {}
        for item in _rows(shipment.get("items")):
            line = item.get("order_item_id")
            if line is None or isinstance(line, bool):
                continue
            qty = quantity(item.get("qty"))
            if qty:
                got[str(line)] = got.get(str(line), ZERO) + qty
        extra = {line for line in got if line not in requested}
        if all(got.get(line) == qty for line, qty in requested.items()) and all(
            parents.get(line) in requested for line in extra
        ):
            matching.append(shipment)
    return _newest(matching)


def latest(records: Any, since: datetime | None = None) -> Mapping[str, Any] | None:
    """The newest of ``records`` (created at or after ``since``, when given)."""
    return _newest(r for r in _rows(records) if _recent(r, since))
