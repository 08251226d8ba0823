"""Listing cannot lose an order: the store changes between pages, in any sort order, and nothing that matches the
window all along is skipped. Also: answers that cannot be read are broken answers, never shorter pages."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from ecc_connectors import BrokenAnswer, ConfigurationError, OrderQuery, StoreError
from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings, packaged_wsdl

# private: loading the WSDL itself, with the process-wide client cache emptied between loads
from ecc_connectors.drivers.netsuite._soap import _clients, load_zeep_client
from ecc_connectors.testing import FakeSuiteTalk
from plugin_netsuite import collect_orders, run_flow

BASE = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
Hook = Callable[[str, FakeSuiteTalk], None]


def store(order: str, count: int = 30, first_id: int = 100, gap: int = 3) -> FakeSuiteTalk:
    """A fake with ``count`` orders pending fulfilment, internal ids ``gap`` apart from ``first_id``, all modified in
    May 2024. Orders created later get higher ids (the fake counts from 1000), as in NetSuite."""
    fake = FakeSuiteTalk(seed=False, search_order=order)
    fake.add_customer("Abe Simpson", "87")
    item = fake.add_item("TD-100", "Tongue Depressor", price="14.00", internal_id="15")
    for n in range(count):
        fake.add_sales_order(
            [(item, 1, "14.00")],
            status="_pendingFulfillment",
            created=BASE + timedelta(minutes=n),
            internal_id=str(first_id + gap * n),
        )
    return fake


@pytest.fixture(params=["internalId", "lastModifiedDate", "reverse"])
def any_order(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def download(fake: FakeSuiteTalk, query: OrderQuery, hook: Hook | None = None) -> list[str]:
    """Every order id of one download, pages of 5, with ``hook`` changing the store after every answer."""
    driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, page_size=5))
    if hook is not None:
        fake.on_answer(hook)
    with httpx.Client(timeout=10) as client:
        orders, _pages = collect_orders(lambda flow: run_flow(flow, client, driver.auth()), driver, query)
    ids = [o.order_id for o in orders]
    assert len(ids) == len(set(ids)), "an order was returned twice"
    return ids


class Changes:
    """Store changes made between answers; ``touched`` are the orders they concern (these may or may not be
    listed: they changed during the download). Every other order matches all along and must be listed."""

    def __init__(self) -> None:
        self.touched: set[str] = set()
        self.answers = 0

    def new_order(self, fake: FakeSuiteTalk, modified: datetime | None = None) -> None:
        oid = fake.add_sales_order([("15", 1, "14.00")], status="_pendingFulfillment", modified=modified)
        self.touched.add(oid)


def stable(fake_ids: set[str], changes: Changes) -> set[str]:
    return fake_ids - changes.touched


def test_an_order_leaving_while_another_arrives_costs_no_other(any_order: str) -> None:
    """The case a changed total cannot see: one order already read leaves the window and a new one arrives,
    so the count stays the same while every row behind the leaver moves up a place."""
    changes = Changes()
    returned: list[str] = []

    def hook(operation: str, fake: FakeSuiteTalk) -> None:
        changes.answers += 1
        if changes.answers > 8:  # a window with no upper bound: new orders would keep it growing for ever
            return
        read = [oid for oid in returned if oid not in changes.touched]
        if read:
            fake.sales_orders[read[0]]["orderStatus"] = "_cancelled"  # leaves the status filter
            fake.sales_orders[read[0]]["lastModifiedDate"] = fake.now()
            changes.touched.add(read[0])
        changes.new_order(fake)

    with store(any_order) as fake:
        everyone = set(fake.sales_orders)
        driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, page_size=5))
        fake.on_answer(hook)
        with httpx.Client(timeout=10) as client:
            page = run_flow(driver.first_page(OrderQuery(statuses=("_pendingFulfillment",))), client, driver.auth())
            returned += [o.order_id for o in page.orders]
            while page.next is not None:
                page = run_flow(page.next.fetch(), client, driver.auth())
                returned += [o.order_id for o in page.orders]
    assert changes.answers > 3
    assert len(returned) == len(set(returned))
    assert stable(everyone, changes) <= set(returned)


def test_edits_moving_orders_to_the_end_cost_no_other(any_order: str) -> None:
    """Orders not yet read are edited (their lastModifiedDate moves; sorted by it, they jump to the end)."""
    changes = Changes()

    def hook(operation: str, fake: FakeSuiteTalk) -> None:
        untouched = sorted(set(fake.sales_orders) - changes.touched, key=int)
        if untouched:
            victim = untouched[len(untouched) // 2]
            fake.touch(victim, memo="edited")
            changes.touched.add(victim)

    with store(any_order) as fake:
        everyone = set(fake.sales_orders)
        ids = download(fake, OrderQuery(updated_from=BASE), hook)
        # Edited orders still match an open window: they are listed too.
        assert set(ids) == everyone


def test_orders_edited_out_of_the_window_cost_no_other(any_order: str) -> None:
    """A window with an upper bound: an edit moves an order out of it (and every row behind it up)."""
    changes = Changes()

    def hook(operation: str, fake: FakeSuiteTalk) -> None:
        inside = sorted(set(fake.sales_orders) - changes.touched, key=int)
        for victim in inside[:2]:
            fake.touch(victim, memo="edited")  # lastModifiedDate is now: past updated_to
            changes.touched.add(victim)

    with store(any_order) as fake:
        everyone = set(fake.sales_orders)
        ids = download(fake, OrderQuery(updated_from=BASE, updated_to=BASE + timedelta(days=1)), hook)
        assert stable(everyone, changes) <= set(ids)


def test_a_window_with_an_upper_bound_ends_however_fast_orders_arrive(any_order: str) -> None:
    """The engine always bounds the window (updated_to = when the run started): orders created while it pages
    are outside it, so the walk ends even when a new order arrives after every answer."""
    changes = Changes()

    def hook(operation: str, fake: FakeSuiteTalk) -> None:
        changes.new_order(fake)

    with store(any_order) as fake:
        everyone = set(fake.sales_orders)
        ids = download(fake, OrderQuery(updated_from=BASE, updated_to=BASE + timedelta(days=1)), hook)
        assert set(ids) == everyone


@pytest.mark.parametrize("seed", range(12))
def test_random_changes_between_answers_never_cost_a_stable_order(seed: int) -> None:
    """Any mix of changes after every answer: cancellations (leave), re-openings and new orders (arrive), edits
    (move), deletions; ids sparse or dense; every sort order. The orders no change touched are all listed."""
    rnd = random.Random(seed)
    order = rnd.choice(["internalId", "lastModifiedDate", "reverse", "createdDate"])
    changes = Changes()

    def hook(operation: str, fake: FakeSuiteTalk) -> None:
        for _ in range(rnd.randint(0, 3)):
            ids = sorted(fake.sales_orders, key=int)
            victim = rnd.choice(ids)
            kind = rnd.choice(["cancel", "reopen", "edit", "new", "delete"])
            if kind == "new":
                changes.new_order(fake)
                continue
            changes.touched.add(victim)
            if kind == "cancel":
                fake.touch(victim, orderStatus="_cancelled")
            elif kind == "reopen":
                fake.touch(victim, orderStatus="_pendingFulfillment")
            elif kind == "edit":
                fake.touch(victim, memo=f"edit {rnd.random()}")
            else:
                del fake.sales_orders[victim]

    with store(order, count=rnd.randint(12, 45), gap=rnd.choice([1, 2, 7, 40])) as fake:
        for oid in rnd.sample(sorted(fake.sales_orders), 4):
            fake.sales_orders[oid]["orderStatus"] = "_pendingApproval"  # outside the window from the start
        matching = {oid for oid, o in fake.sales_orders.items() if o["orderStatus"] == "_pendingFulfillment"}
        ids = download(fake, OrderQuery(statuses=("_pendingFulfillment",)), hook)
        assert stable(matching, changes) <= set(ids)
        assert not set(ids) - matching - changes.touched  # nothing listed that never matched


def test_the_search_order_does_not_matter_when_nothing_changes(any_order: str) -> None:
    with store(any_order, count=23, gap=11) as fake:
        assert sorted(download(fake, OrderQuery()), key=int) == sorted(fake.sales_orders, key=int)
        assert "searchMoreWithId" not in fake.calls


@pytest.mark.parametrize("order", ["internalId", "reverse"])
def test_far_apart_clusters_of_ids_are_read_in_few_requests(order: str) -> None:
    """Ids in clusters a million apart: an empty range widens the next one, a range too full is at least halved,
    so the walk neither crawls through the gaps nor spins on a dense cluster."""
    with FakeSuiteTalk(seed=False, search_order=order) as fake:
        fake.add_customer("Abe Simpson", "87")
        item = fake.add_item("TD-100", price="14.00", internal_id="15")
        ids = [*range(100, 130, 3), *range(1_000_000, 1_000_060), *range(2_000_000_000, 2_000_000_004)]
        for n, oid in enumerate(ids):
            fake.add_sales_order([(item, 1, "14.00")], created=BASE + timedelta(minutes=n), internal_id=str(oid))
        assert sorted(download(fake, OrderQuery()), key=int) == [str(i) for i in ids]
        assert len(fake.calls) <= 100  # 74 orders, pages of 5 (15 pages), ranges of ~2 orders: measured 63 and 87


def test_a_page_smaller_than_asked_for_is_honoured() -> None:
    """NetSuite may apply a smaller page than the one asked for; the answer's pageSize says which."""
    with store("internalId", count=23) as fake:
        fake.max_page_size = 5
        driver = NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url, page_size=10))
        with httpx.Client(timeout=10) as client:
            orders, _pages = collect_orders(
                lambda flow: run_flow(flow, client, driver.auth()), driver, OrderQuery(page_size=10)
            )
        assert sorted(o.order_id for o in orders) == sorted(fake.sales_orders)


# Answers that cannot be read ----------------------------------------------------------------------------------
@pytest.fixture
def seeded() -> Iterator[tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client]]:
    with FakeSuiteTalk() as fake, httpx.Client(timeout=10) as client:
        yield fake, NetSuiteDriver(fake.credentials, NetSuiteSettings(endpoint=fake.url)), client


def real_answer(flow: Any, client: httpx.Client, driver: NetSuiteDriver) -> tuple[Any, httpx.Response]:
    """Start ``flow`` and fetch the true answer to its first request (the flow waits for it)."""
    request = next(flow)
    response = client.send(request, auth=driver.auth())
    response.read()
    return request, response


def feed(driver: NetSuiteDriver, make: Callable[[], Any], request: httpx.Request, content: bytes) -> Any:
    flow = make()
    next(flow)
    try:
        flow.send(httpx.Response(200, content=content, request=request))
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the flow asked for more")


CUTS = [0.05, 0.3, 0.5, 0.62, 0.75, 0.9, 0.97, 0.995]


@pytest.mark.parametrize(
    "operation",
    ["search", "get", "initialize"],
)
def test_an_answer_cut_short_is_a_broken_answer_never_a_shorter_one(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client], operation: str
) -> None:
    _fake, driver, client = seeded
    makers: dict[str, Callable[[], Any]] = {
        "search": lambda: driver.first_page(OrderQuery()),
        "get": lambda: driver.get_order("1505"),
        "initialize": lambda: driver._call(
            "initialize",
            {
                "initializeRecord": {
                    "type": "itemFulfillment",
                    "reference": {"type": "salesOrder", "internalId": "1505"},
                }
            },
            idempotent=True,
        ),
    }
    make = makers[operation]
    request, response = real_answer(make(), client, driver)
    whole = feed(driver, make, request, response.content)
    assert whole is not None
    for cut in CUTS:
        with pytest.raises(BrokenAnswer) as raised:
            feed(driver, make, request, response.content[: int(len(response.content) * cut)])
        assert raised.value.code == "BAD_XML"


def test_recover_mode_made_a_cut_search_answer_a_successful_shorter_page(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client],
) -> None:
    """Why replies are parsed strictly: zeep with strict=False parses in lxml's recover mode, and a search answer
    cut in half came back as a successful page holding fewer orders (and fewer lines) than NetSuite sent."""
    import zeep
    from zeep.loader import parse_xml

    _fake, driver, client = seeded
    request, response = real_answer(driver.first_page(OrderQuery()), client, driver)
    lax = zeep.Client(str(packaged_wsdl()), settings=zeep.Settings(strict=False, xsd_ignore_sequence_order=True))
    cut = response.content[: len(response.content) // 2]
    doc = parse_xml(cut, lax.transport, settings=lax.settings)
    result = lax.service._binding.get("search").process_reply(doc).body.searchResult
    assert result.status.isSuccess is True
    assert result.totalRecords == 3
    assert len(result.recordList.record) < 3  # the trap
    with pytest.raises(BrokenAnswer):
        feed(driver, lambda: driver.first_page(OrderQuery()), request, cut)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"<html><body>Bad gateway<br></body></html>", "BAD_XML"),  # not even XML that parses
        (b"<html><body>Bad gateway</body></html>", "NO_ENVELOPE"),  # XML, but no SOAP
        (b"Service is being upgraded", "NO_ENVELOPE"),
        (
            b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soapenv:Body/></soapenv:Envelope>",
            "NO_ENVELOPE",
        ),
    ],
)
def test_a_read_without_its_envelope_is_a_broken_answer(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client], content: bytes, code: str
) -> None:
    _fake, driver, _client = seeded
    request = next(driver.get_order("1505"))
    with pytest.raises(BrokenAnswer) as raised:
        feed(driver, lambda: driver.get_order("1505"), request, content)
    assert raised.value.code == code


def test_another_operations_answer_is_a_broken_answer(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client],
) -> None:
    _fake, driver, client = seeded
    _request, get_answer = real_answer(driver.get_order("1505"), client, driver)
    search_request = next(driver.first_page(OrderQuery()))
    with pytest.raises(BrokenAnswer, match="not a searchResponse"):
        feed(driver, lambda: driver.first_page(OrderQuery()), search_request, get_answer.content)
    # A searchResponse without its searchResult is no answer either.
    hollow = etree.fromstring(get_answer.content)
    body = hollow.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    body[0].tag = body[0].tag.replace("getResponse", "searchResponse")
    for child in list(body[0]):
        body[0].remove(child)
    with pytest.raises(BrokenAnswer, match="no searchResult"):
        feed(driver, lambda: driver.first_page(OrderQuery()), search_request, etree.tostring(hollow))


def test_a_write_answer_cut_short_is_a_store_error_not_a_retry(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client],
) -> None:
    _fake, driver, client = seeded
    record = driver._sales_order(internalId="1505", memo="hello")
    make = lambda: driver._write("update", record, "1505", "update")  # noqa: E731
    request, response = real_answer(make(), client, driver)
    with pytest.raises(StoreError) as raised:
        feed(driver, make, request, response.content[: len(response.content) // 2])
    assert not isinstance(raised.value, BrokenAnswer)  # the write may have happened: the engine must not resend
    assert raised.value.code == "BAD_XML"


def test_a_dtd_in_an_answer_is_refused_and_never_expanded(
    seeded: tuple[FakeSuiteTalk, NetSuiteDriver, httpx.Client], tmp_path: Path
) -> None:
    _fake, driver, client = seeded
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    request, response = real_answer(driver.get_order("1505"), client, driver)
    text = response.content.decode()
    body = text.split("?>", 1)[1]
    evil = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]>' + body.replace("SO1505", "&s;")
    with pytest.raises(StoreError) as raised:
        feed(driver, lambda: driver.get_order("1505"), request, evil.encode())
    assert raised.value.code == "DTD_FORBIDDEN"
    assert "top secret" not in str(raised.value)


# WSDLs are loaded strictly too ------------------------------------------------------------------------------
def copy_wsdl(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    target = tmp_path / "wsdl"
    target.mkdir()
    for source in packaged_wsdl().parent.iterdir():
        (target / source.name).write_text(source.read_text())
    wsdl = target / "netsuite.wsdl"
    wsdl.write_text(edit(wsdl.read_text()))
    return wsdl


def test_a_wsdl_with_a_dtd_does_not_load(tmp_path: Path) -> None:
    wsdl = copy_wsdl(tmp_path, lambda t: t.replace("?>", '?><!DOCTYPE definitions [<!ENTITY x "y">]>', 1))
    with pytest.raises(ConfigurationError, match=r"not well-formed|DTD|Entit"):
        load_zeep_client(str(wsdl))
    _clients.clear()


def test_a_local_wsdl_may_not_import_schemas_over_http(tmp_path: Path) -> None:
    wsdl = copy_wsdl(
        tmp_path, lambda t: t.replace('schemaLocation="platform.core.xsd"', 'schemaLocation="http://127.0.0.1:9/c.xsd"')
    )
    assert "127.0.0.1:9" in wsdl.read_text()
    with pytest.raises(ConfigurationError, match=re.escape("imports http://127.0.0.1:9/c.xsd")):
        load_zeep_client(str(wsdl))
    _clients.clear()


def test_a_wsdl_cut_short_does_not_load_as_a_smaller_schema(tmp_path: Path) -> None:
    wsdl = copy_wsdl(tmp_path, lambda t: t[: len(t) * 2 // 3])
    with pytest.raises(ConfigurationError, match="not well-formed"):
        load_zeep_client(str(wsdl))
    _clients.clear()
