"""SuiteQL text for the ``netsuite_rest`` driver: the keyset listing of sales orders, their lines and addresses,
look-ups by external id, and items.

Theory of operation
-------------------
*Keyset.* Sales orders are read in the order of ``(lastmodifieddate, id)``. A request asks for the orders whose
key lies after a cursor ``K`` and up to a bound ``B``, sorted by that key, with ``offset=0``: Oracle SQL has no
row-value comparison in SuiteQL's documented subset, so "after ``K``" is spelled
``lastmodifieddate >= K.t AND (lastmodifieddate > K.t OR id > K.id)``. A cursor is a value, so an order edited
while a window is read leaves the window (its stamp moves past the window's end) without pushing any unread row
onto a page already read; the engine's proof in ``_keyset.py`` carries over. Because ``offset`` stays 0, SuiteQL's
100,000-row paging cap never applies to a listing, however large the window.

*Whole seconds.* ``lastmodifieddate`` has whole seconds. A bound with a fraction lies strictly between two seconds,
so ``(t, id)`` with a fraction is replaced by ``(ceil(t), 0)`` (ids start at 1): the comparison stays exact.

*Time zones.* SuiteQL formats and parses timestamps in the session's time zone, which is the time zone in the
integration user's preferences, not UTC, and it shows a bare timestamp column as a date only. So every stamp is
selected through ``TO_CHAR(col, 'YYYY-MM-DD HH24:MI:SS')`` and every bound is written with ``TO_TIMESTAMP`` in
that zone (the driver's ``time_zone`` setting), and converted to and from UTC here with ``zoneinfo``.

*Literals.* Every value written into a query is a number the driver made or a string literal with its quotes
doubled (:func:`literal`): a status code, an SKU or a search text typed by a user cannot change the query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ...driver import OrderQuery, Seek
from .._common import ceil_second, floor_second, whole_second

__all__ = [
    "MAX_LIMIT",
    "MAX_OFFSET",
    "SUITEQL_PATH",
    "STAMP_FORMAT",
    "addresses_query",
    "by_external_id",
    "items_query",
    "lines_query",
    "literal",
    "orders_query",
    "parse_stamp",
    "prices_query",
    "stamp",
    "stock_query",
]

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
MAX_LIMIT = 1000
"""SuiteQL over REST answers at most 1000 rows a request."""
MAX_OFFSET = 100_000
"""Rows past this offset cannot be paged to without SuiteAnalytics Connect: probes stop there."""

STAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_PY_STAMP = "%Y-%m-%d %H:%M:%S"

ORDER_COLUMNS = (
    "t.id",
    "t.tranid",
    "t.status",
    f"TO_CHAR(t.createddate, '{STAMP_FORMAT}') AS created",
    f"TO_CHAR(t.lastmodifieddate, '{STAMP_FORMAT}') AS modified",
    "t.currency",
    "BUILTIN.DF(t.currency) AS currencyname",
    "t.entity",
    "BUILTIN.DF(t.entity) AS entityname",
    "t.email",
    "t.memo",
    "t.otherrefnum",
    "t.externalid",
    "t.foreigntotal",
    "t.taxtotal",
    "t.shippingcost",
    "t.discounttotal",
    "BUILTIN.DF(t.shipmethod) AS shipmethodname",
    "t.shippingaddress",
    "t.billingaddress",
)
KEY_COLUMNS = ("t.id", f"TO_CHAR(t.lastmodifieddate, '{STAMP_FORMAT}') AS modified")
LINE_COLUMNS = (
    "tl.transaction",
    "tl.id",
    "tl.linesequencenumber",
    "tl.item",
    "BUILTIN.DF(tl.item) AS itemname",
    "tl.memo",
    "tl.quantity",
    "tl.rate",
    "tl.foreignamount",
    "tl.quantityshiprecv",
    "tl.isclosed",
)
ADDRESS_COLUMNS = (
    "a.nkey",
    "a.addressee",
    "a.attention",
    "a.addr1",
    "a.addr2",
    "a.addr3",
    "a.city",
    "a.state",
    "a.zip",
    "a.country",
    "a.addrphone",
)
ITEM_TYPES = ("InvtPart", "NonInvtPart", "Kit", "Assembly", "Service")
"""Sellable item kinds (SuiteQL ``item.itemtype``); bought-only and other kinds are not offered for phone orders."""


def literal(value: str) -> str:
    """A SuiteQL string literal: the value's quotes doubled, so no text can end the literal early."""
    return "'" + str(value).replace("'", "''") + "'"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(_PY_STAMP)


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as a SuiteQL timestamp in the session's time zone."""
    return f"TO_TIMESTAMP({literal(_local(moment, zone))}, {literal(STAMP_FORMAT)})"


def parse_stamp(text: str, zone: ZoneInfo) -> datetime:
    """A ``TO_CHAR`` stamp in the session's time zone, as an aware UTC datetime (``ValueError`` when it is not
    one). In the hour a clock falls back, the first of the two readings is taken (``fold=0``)."""
    local = datetime.strptime(text.strip(), _PY_STAMP)
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def status_filter(letters: Sequence[str] | None) -> list[str]:
    if letters is None:
        return []
    return [f"t.status IN ({', '.join(literal(letter) for letter in letters)})"]


def order_conditions(query: OrderQuery, letters: Sequence[str] | None, seek: Seek, zone: ZoneInfo) -> list[str]:
    """The ``WHERE`` conditions (ANDed) of one keyset request."""
    where = ["t.type = 'SalesOrd'", *status_filter(letters)]
    if seek.after is not None:
        key = whole_second(seek.after)
        at = stamp(key.updated_at, zone)
        where += [f"t.lastmodifieddate >= {at}", f"(t.lastmodifieddate > {at} OR t.id > {int(key.id)})"]
    elif query.updated_from is not None:
        where.append(f"t.lastmodifieddate >= {stamp(ceil_second(query.updated_from), zone)}")
    if seek.through is not None:
        key = whole_second(seek.through)
        at = stamp(key.updated_at, zone)
        where += [f"t.lastmodifieddate <= {at}", f"(t.lastmodifieddate < {at} OR t.id <= {int(key.id)})"]
    elif query.updated_to is not None:
        where.append(f"t.lastmodifieddate <= {stamp(floor_second(query.updated_to), zone)}")
    if query.created_from is not None:
        where.append(f"t.createddate >= {stamp(ceil_second(query.created_from), zone)}")
    if query.created_to is not None:
        where.append(f"t.createddate <= {stamp(floor_second(query.created_to), zone)}")
    if query.starting_number:
        # tranid is text: "SO100" >= "SO99" is false, so numbers compare as the account pads them (as on Magento).
        where.append(f"t.tranid >= {literal(query.starting_number)}")
    return where


def orders_query(
    query: OrderQuery, letters: Sequence[str] | None, seek: Seek, zone: ZoneInfo, *, keys_only: bool = False
) -> str:
    columns = KEY_COLUMNS if keys_only else ORDER_COLUMNS
    where = " AND ".join(order_conditions(query, letters, seek, zone))
    return f"SELECT {', '.join(columns)} FROM transaction t WHERE {where} ORDER BY t.lastmodifieddate, t.id"


def order_by_id(order_id: int) -> str:
    return f"SELECT {', '.join(ORDER_COLUMNS)} FROM transaction t WHERE t.type = 'SalesOrd' AND t.id = {int(order_id)}"


def lines_query(order_ids: Iterable[int], after: tuple[int, int] | None = None) -> str:
    """The item lines of ``order_ids`` (not the main line, not tax lines), sorted by order and line id; ``after``
    continues after that ``(order id, line id)`` (a keyset too: lines edited meanwhile cannot slide past it)."""
    ids = ", ".join(str(int(i)) for i in order_ids)
    where = [f"tl.transaction IN ({ids})", "tl.mainline = 'F'", "tl.taxline = 'F'"]
    if after is not None:
        order, line = after
        where.append(f"(tl.transaction > {int(order)} OR (tl.transaction = {int(order)} AND tl.id > {int(line)}))")
    return (
        f"SELECT {', '.join(LINE_COLUMNS)} FROM transactionline tl WHERE {' AND '.join(where)} "
        "ORDER BY tl.transaction, tl.id"
    )


def addresses_query(table: str, keys: Iterable[int]) -> str:
    """Rows of ``transactionshippingaddress`` or ``transactionbillingaddress`` by their ``nkey``."""
    if table not in ("transactionshippingaddress", "transactionbillingaddress"):
        raise ValueError(f"not an address table: {table}")
    ids = ", ".join(str(int(k)) for k in keys)
    return f"SELECT {', '.join(ADDRESS_COLUMNS)} FROM {table} a WHERE a.nkey IN ({ids})"


def by_external_id(record_type: str, external_id: str) -> str:
    """The transaction of SuiteQL type ``record_type`` (``SalesOrd``, ``ItemShip``) with that external id."""
    return (
        f"SELECT t.id, t.memo FROM transaction t WHERE t.type = {literal(record_type)} "
        f"AND t.externalid = {literal(external_id)}"
    )


def items_query(skus: Sequence[str], text: str) -> str:
    """Active sellable items by exact item id, or with ``text`` in the item id or the display name."""
    where = ["i.isinactive = 'F'", f"i.itemtype IN ({', '.join(literal(t) for t in ITEM_TYPES)})"]
    if skus:
        where.append(f"i.itemid IN ({', '.join(literal(s) for s in skus)})")
    elif text:
        pattern = literal("%" + text.upper().replace("%", "").replace("_", "") + "%")
        where.append(f"(UPPER(i.itemid) LIKE {pattern} OR UPPER(i.displayname) LIKE {pattern})")
    return f"SELECT i.id, i.itemid, i.displayname, i.itemtype FROM item i WHERE {' AND '.join(where)} ORDER BY i.id"


def prices_query(item_ids: Iterable[int], price_level: int, currency: int | None) -> str:
    ids = ", ".join(str(int(i)) for i in item_ids)
    where = [f"p.item IN ({ids})", f"p.pricelevel = {int(price_level)}"]
    if currency is not None:
        where.append(f"p.currency = {int(currency)}")
    return (
        f"SELECT p.item, p.priceqty, p.unitprice FROM pricing p WHERE {' AND '.join(where)} ORDER BY p.item, p.priceqty"
    )


def stock_query(item_ids: Iterable[int], location: int | None) -> str:
    ids = ", ".join(str(int(i)) for i in item_ids)
    where = [f"l.item IN ({ids})"]
    if location is not None:
        where.append(f"l.location = {int(location)}")
    return (
        f"SELECT l.item, l.location, l.quantityavailable FROM inventoryitemlocations l WHERE {' AND '.join(where)} "
        "ORDER BY l.item, l.location"
    )
