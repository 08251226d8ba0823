"""Sales orders: the status table, the search criteria of a query, and the listing, page by page.

A listing is one :class:`~._walk.WalkSearch` walk over ``TransactionSearchBasic`` for sales orders: each page is
one answer of the walk, turned into orders; a record that does not map is a :class:`PayloadError` with its raw
record, never a lost page. The query's statuses become Oracle's ``TransactionStatus`` search values, its date
ranges filter ``lastModifiedDate`` and ``dateCreated`` (the record's ``createdDate``, which ``Order.created_at``
comes from), and the starting number is applied to the orders read (SuiteTalk cannot compare document numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ...driver import ConfigurationError, Flow, FollowCursor, Order, OrderQuery, Page, PayloadError, StoreStatus
from ._calls import raw_of
from ._mapping import ORDER_STATUSES, field, search_status_values
from ._walk import WalkSearch, _Walk

__all__ = ["Orders"]


@attrs.define
class _Listing:
    """One order download: its walk, and the number filter applied to the orders."""

    walk: _Walk
    starting_number: str | None
    first: bool = True


def _number_key(number: str) -> tuple[str, int] | None:
    digits = len(number) - len(number.rstrip("0123456789"))
    if digits == 0:
        return None
    return number[: len(number) - digits], int(number[len(number) - digits :])


def _from_number(number: str, starting: str) -> bool:
    """``number`` comes at or after ``starting`` (same prefix, numeric part compared as a number)."""
    have, want = _number_key(number), _number_key(starting)
    if have is None or want is None or have[0] != want[0]:
        return number >= starting
    return have[1] >= want[1]


class Orders(WalkSearch):
    """``list_statuses``, ``first_page`` and the pages after it."""

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        return ORDER_STATUSES
        yield  # a flow that needs no request

    def _order_criteria(self, query: OrderQuery) -> dict[str, Any]:
        criteria: dict[str, Any] = {"type": {"operator": "anyOf", "searchValue": ["_salesOrder"]}}
        if query.statuses:
            try:
                values = search_status_values(query.statuses)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
            if values:
                criteria["status"] = {"operator": "anyOf", "searchValue": values}
        for name, start, end in (
            ("lastModifiedDate", query.updated_from, query.updated_to),
            # dateCreated is the record's createdDate, which Order.created_at comes from (tranDate is the order
            # date a user may set to any day).
            ("dateCreated", query.created_from, query.created_to),
        ):
            if start and end:
                criteria[name] = {"operator": "within", "searchValue": start, "searchValue2": end}
            elif start:
                criteria[name] = {"operator": "onOrAfter", "searchValue": start}
            elif end:
                criteria[name] = {"operator": "onOrBefore", "searchValue": end}
        return criteria

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        # The query's page size, up to the configured ceiling; NetSuite takes 5 to 1000.
        page_size = min(self.settings.page_size, max(5, query.page_size or self.settings.page_size))
        walk = _Walk("TransactionSearchBasic", self._order_criteria(query), page_size)
        return (yield from self._order_page(_Listing(walk, query.starting_number)))

    def _order_page(self, listing: _Listing) -> Flow[Page]:
        walk = listing.walk
        records = yield from self._walk_step(walk)
        orders: list[Order | PayloadError] = []
        for record in records:
            internal_id = str(field(record, "internalId", ""))
            try:
                order = self._order(record)
            except PayloadError as exc:  # a field that does not map (a country): named in the error
                orders.append(exc)
                continue
            except Exception as exc:  # one bad record must not cost the page
                orders.append(PayloadError(self.store_id, internal_id or None, "record", str(exc), raw=raw_of(record)))
                continue
            if listing.starting_number and not _from_number(order.number, listing.starting_number):
                continue
            orders.append(order)
        # The count of the first answer; later answers count ranges, not the listing.
        total = walk.total if listing.first else None
        listing.first = False
        following = None if walk.done else FollowCursor(fetch=self._cursor(listing))
        return Page(orders=tuple(orders), next=following, total=total)

    def _cursor(self, listing: _Listing) -> Callable[[], Flow[Page]]:
        return lambda: self._order_page(listing)
