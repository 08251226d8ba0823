"""Listing Shopify orders without loss: ties in one second (in either tie order), edits and new orders while a
download reads, the key listing behind reconcile, and the 60-day window without ``read_all_orders``."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from ecc_connectors import ConfigurationError, Connector, OrderQuery, Seek, SQLiteLedger
from test_shopify_support import fake_shop, policy, shopify_driver


def _tied_shop(count: int, ties_against_id: bool) -> object:
    store = fake_shop()
    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
    with store.lock:
        for index in range(count):
            stamp = moment + timedelta(seconds=index // 9)  # nine orders share each second
            store.shop.add_order(created=stamp, updated=stamp)
    store.ties_against_id = ties_against_id
    return store


@pytest.mark.parametrize("ties_against_id", [False, True])
def test_orders_sharing_a_second_are_all_read_whatever_the_tie_order(ties_against_id: bool) -> None:
    """27 orders in three seconds, read two a page: a page boundary always falls inside a second. The driver
    completes each second before returning it, so the engine's cursor never skips a tied order, whether Shopify
    orders ties by id or against it."""
    with _tied_shop(27, ties_against_id) as store:  # type: ignore[attr-defined]
        with Connector(shopify_driver(store, page_size=2), policy(), SQLiteLedger()) as connector:
            report = connector.download()
            ids = {r.order_id for r in connector.orders()}
        assert report.downloaded == 27
        assert ids == {str(n) for n in store.shop.orders}


def test_edits_and_new_orders_during_the_download_lose_nothing() -> None:
    with fake_shop(30, seed=5) as store:
        before = sorted(store.shop.orders, key=lambda n: (store.shop.orders[n]["updatedAt"], n))
        edited: list[int] = []

        def churn(n: int) -> None:
            if 2 <= n <= 6:
                target = before[len(edited)]
                store.shop.edit_address(target, f"Edited {target}")
                edited.append(target)
                store.shop.add_order(financial="PENDING")

        with Connector(shopify_driver(store, page_size=2), policy(), SQLiteLedger()) as connector:
            store.on_listing(churn)
            connector.download()
            store.on_listing(None)
            ledger, name = connector.ledger, connector.store
            untouched = [n for n in before if n not in edited]
            assert [n for n in untouched if ledger.get(name, str(n)) is None] == []
            assert len(edited) == 5
            import time

            time.sleep(1.1)
            connector.download()
            for number in store.shop.orders:
                record = ledger.get(name, str(number))
                assert record is not None, number
            for number in edited:
                record = ledger.get(name, str(number))
                pending = ledger.pending(name, str(number))
                city = (pending.order if pending else record.order).shipping_address.city  # type: ignore[union-attr]
                assert city == f"Edited {number}"


def test_reconcile_walks_the_key_listing_and_repairs_what_the_ledger_lacks() -> None:
    with fake_shop(25, seed=2) as store:
        with Connector(shopify_driver(store, page_size=4), policy(), SQLiteLedger()) as connector:
            connector.download()
            store.clear_requests()
            with store.lock:
                made = store.shop.add_order(created=datetime.now(timezone.utc) - timedelta(days=1))
            report = connector.reconcile()
            assert report.listed == 26
            assert report.missing == 1
            assert connector.ledger.get(connector.store, made["legacyResourceId"]) is not None
        key_queries = [q for q in store.endpoint.queries if "query OrderKeys" in q]
        assert key_queries, "reconcile listed keys with the cheap OrderKeys query"


def test_the_60_day_window_without_read_all_orders_is_refused_not_silently_shortened() -> None:
    scopes = ("read_orders", "write_orders")
    with fake_shop(0, scopes=scopes) as store:
        with store.lock:
            store.shop.add_order(created=datetime.now(timezone.utc) - timedelta(days=90))
            store.shop.add_order(created=datetime.now(timezone.utc) - timedelta(days=3))
        with Connector(shopify_driver(store), policy(), SQLiteLedger()) as connector:
            with pytest.raises(ConfigurationError, match="read_all_orders"):
                connector.download()
            assert connector.orders() == []


def test_the_60_day_window_allowed_explicitly_warns_and_reads_what_shopify_shows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with fake_shop(0, scopes=("read_orders",)) as store:
        with store.lock:
            store.shop.add_order(created=datetime.now(timezone.utc) - timedelta(days=90))
            recent = store.shop.add_order(created=datetime.now(timezone.utc) - timedelta(days=3))
        driver = shopify_driver(store, allow_recent_only=True)
        with (
            caplog.at_level(logging.WARNING, logger="ecc_connectors.drivers.shopify"),
            Connector(driver, policy(), SQLiteLedger()) as connector,
        ):
            connector.download()
            assert [r.order_id for r in connector.orders()] == [recent["legacyResourceId"]]
        assert any("read_all_orders" in r.getMessage() for r in caplog.records)


def test_the_listing_asks_for_every_status_and_the_window_with_a_second_of_slack() -> None:
    with fake_shop(3) as store:
        driver = shopify_driver(store)
        start = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
        end = datetime(2024, 5, 2, 10, 0, 0, tzinfo=timezone.utc)
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            connector.run(driver.seek_page(OrderQuery(updated_from=start, updated_to=end), Seek(), 10))
        listing = [json.loads(r.body) for r in store.requests if b"query Orders(" in r.body]
    assert len(listing) == 1
    assert "sortKey: UPDATED_AT" in listing[0]["query"]
    search = listing[0]["variables"]["query"]
    assert search == "status:any updated_at:>='2024-05-01T09:59:59Z' updated_at:<='2024-05-02T10:00:01Z'"


def test_first_page_follows_on_by_key_for_callers_without_the_keyset_walk() -> None:
    with fake_shop(14, seed=4) as store:
        driver = shopify_driver(store, page_size=3)
        query = OrderQuery(updated_from=datetime(2000, 1, 1, tzinfo=timezone.utc), page_size=4)
        seen: list[str] = []
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            page = connector.run(driver.first_page(query))
            seen += [o.order_id for o in page.orders]  # type: ignore[union-attr]
            while page.next is not None:
                page = connector.run(page.next.fetch())  # type: ignore[call-arg, union-attr]
                seen += [o.order_id for o in page.orders]  # type: ignore[union-attr]
    assert sorted(seen) == sorted(str(n) for n in store.shop.orders)
    assert len(seen) == len(set(seen))


def test_created_bounds_are_exact_although_the_search_has_slack() -> None:
    with fake_shop(0) as store:
        moment = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
        with store.lock:
            before = store.shop.add_order(created=moment - timedelta(seconds=1))
            inside = store.shop.add_order(created=moment)
        driver = shopify_driver(store)
        query = OrderQuery(updated_from=moment - timedelta(days=1), created_from=moment)
        with Connector(driver, policy(), SQLiteLedger()) as connector:
            page = connector.run(driver.seek_page(query, Seek(), 10))
    assert [o.order_id for o in page.orders] == [inside["legacyResourceId"]]  # type: ignore[union-attr]
    assert int(before["legacyResourceId"]) not in {k.id for k in page.keys}


def test_a_shop_clock_hours_ahead_loses_nothing_while_orders_are_edited() -> None:
    """The window ends at the shop's own time (its Date header), so a shop clock far from ours cannot let an
    edit made during the download slip behind the high-water mark."""
    ahead = timedelta(hours=3)
    with fake_shop(0, clock=lambda: datetime.now(timezone.utc) + ahead) as store:
        with store.lock:
            store.shop.seed(20, start=store.now() - timedelta(days=3), end=store.now() - timedelta(minutes=5), seed=9)
        first = sorted(store.shop.orders, key=lambda n: (store.shop.orders[n]["updatedAt"], n))[:3]

        def churn(n: int) -> None:
            if n == 2:
                for number in first:
                    store.shop.edit_address(number, "Skewed")

        with Connector(shopify_driver(store, page_size=2), policy(), SQLiteLedger()) as connector:
            store.on_listing(churn)
            connector.download()
            store.on_listing(None)
            import time

            time.sleep(1.1)
            connector.download()
            ledger, name = connector.ledger, connector.store
            for number in store.shop.orders:
                assert ledger.get(name, str(number)) is not None
            for number in first:
                record = ledger.get(name, str(number))
                pending = ledger.pending(name, str(number))
                shown = pending.order if pending else record.order  # type: ignore[union-attr]
                assert shown.shipping_address is not None
                assert shown.shipping_address.city == "Skewed"


def test_server_errors_and_dropped_connections_on_reads_are_retried() -> None:
    with fake_shop(10) as store:
        with Connector(shopify_driver(store, page_size=3), policy(), SQLiteLedger()) as connector:
            store.inject_5xx(2, status=502)
            store.drop_connections(2)
            report = connector.download()
        assert report.downloaded + report.ignored == 10
        assert store.stats["injected"] == 2
        assert store.dropped_connections == 2
