"""The driver conformance suite against the BigCommerce driver and the fake BigCommerce store, every request
checked against BigCommerce's OpenAPI (the store's ``stop()`` fails on a violation, so CI fails on one).

And proof that the listing check bites on this store: a BigCommerce driver that lists by numbered
``page``/``limit`` pages over ``sort=date_modified:asc`` (what a first try would do) loses orders when the store
is edited between pages, and so does one that trusts the store's order of ties inside a second.
"""

from __future__ import annotations

from typing import Any

import pytest

from _shared import shared_path
from ecc_connectors.driver import (
    Capability,
    Flow,
    NumberedPages,
    Order,
    OrderQuery,
    Page,
    PayloadError,
    Seek,
)
from ecc_connectors.drivers.bigcommerce import BigCommerceDriver
from ecc_connectors.testing.bigcommerce import BigCommerceConformanceStore
from ecc_connectors.testing.conformance import check_listing_complete_under_edits, check_money_and_times
from ecc_connectors.testing.pytest_plugin import DriverConformance


def bigcommerce_store() -> BigCommerceConformanceStore:
    return BigCommerceConformanceStore(orders=30, seed=3, spec_dir=shared_path("specs", "bigcommerce"))


def bigcommerce_driver(store: BigCommerceConformanceStore) -> BigCommerceDriver:
    return BigCommerceDriver(
        store.fake.store_hash, store.fake.token, base_url=store.base_url, page_size=5, requests_per_30s=0
    )


pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers and dropped connections are the point


class TestBigCommerceConformance(DriverConformance):
    """The built-in driver passes every check, each against a fresh store of 30 orders, 5 a page."""

    store_factory = staticmethod(bigcommerce_store)
    driver_factory = staticmethod(bigcommerce_driver)


class NumberedPagesDriver(BigCommerceDriver):
    """Lists by page number over ``sort=date_modified:asc``, with nothing to verify the pages against."""

    capabilities = BigCommerceDriver.capabilities - {Capability.SEEK_ORDERS, Capability.LIST_KEYS}

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        page = yield from self._numbered(query, 1)
        return page

    def _numbered(self, query: OrderQuery, number: int) -> Flow[Page]:
        params = self._filters(query) | {"sort": "date_modified:asc", "limit": str(self.page_size), "page": str(number)}
        rows = yield from self._orders(params)
        orders: list[Order | PayloadError] = []
        for row in rows:
            pieces = yield from self._pieces(row)
            orders.append(pieces if isinstance(pieces, PayloadError) else self._parse(pieces))
        following = None
        if number == 1 and len(rows) == self.page_size:
            following = NumberedPages(range(2, 50), lambda n: self._numbered(query, n), page_size=self.page_size)
        return Page(tuple(orders), following)

    def _parse(self, pieces: Any) -> Order | PayloadError:
        from ecc_connectors.drivers.bigcommerce import parse_order

        return parse_order(self.store_id, pieces)


class TrustsTies(BigCommerceDriver):
    """A keyset that trusts the store to order the orders of one second by id (v2 promises no such thing):
    it never reads a second by id, and keeps the last second of a full page."""

    def _seek_rows(self, query: OrderQuery, seek: Seek, size: int) -> Flow[list[dict[str, Any]]]:
        size = max(1, min(size, self.page_size))
        params = self._filters(query) | {"sort": "date_modified:asc", "limit": str(size), "page": "1"}
        start = seek.after.updated_at if seek.after is not None else query.updated_from
        if start is not None:
            params["min_date_modified"] = start.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        end = seek.through.updated_at if seek.through is not None else query.updated_to
        if end is not None:
            params["max_date_modified"] = end.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        rows = yield from self._orders(params)
        keyed = sorted((self._key(r), r) for r in rows if seek.after is None or self._key(r) > seek.after)
        return [row for _key, row in keyed]


@pytest.mark.parametrize("broken", [NumberedPagesDriver, TrustsTies], ids=["numbered-pages", "trusts-ties"])
def test_the_listing_check_catches_a_driver_that_can_skip_orders(broken: type[BigCommerceDriver]) -> None:
    def factory(store: BigCommerceConformanceStore) -> BigCommerceDriver:
        return broken(store.fake.store_hash, store.fake.token, base_url=store.base_url, page_size=5, requests_per_30s=0)

    with pytest.raises(AssertionError, match="were not downloaded"):
        check_listing_complete_under_edits(factory, bigcommerce_store)


class SendsAnUndeclaredFilter(BigCommerceDriver):
    """Adds ``modified_since`` (not a v2 filter: a typo for ``min_date_modified``) to every listing."""

    def _filters(self, query: OrderQuery) -> dict[str, str]:
        return super()._filters(query) | {"modified_since": "2020-01-01"}


def test_a_request_the_spec_does_not_allow_fails_the_suite() -> None:
    """The store checks every request against BigCommerce's OpenAPI and its ``stop()`` fails on a violation,
    so a driver that passes every behavioural check still fails the suite (and CI) when it sends one."""

    def factory(store: BigCommerceConformanceStore) -> BigCommerceDriver:
        return SendsAnUndeclaredFilter(
            store.fake.store_hash, store.fake.token, base_url=store.base_url, page_size=5, requests_per_30s=0
        )

    with pytest.raises(AssertionError, match="modified_since"):
        check_money_and_times(factory, bigcommerce_store)
