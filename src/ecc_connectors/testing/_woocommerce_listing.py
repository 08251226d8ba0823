"""The WooCommerce fake shop's ``GET /orders``: WordPress's filters, sorts and pages, ties included.

Theory of operation, as WooCommerce does (its documentation and the wc/v3 OpenAPI tables, never the driver):

* ``GET /orders`` filters ``after``/``before`` (created) and ``modified_after``/``modified_before`` *exclusively*
  (WordPress's date query), in GMT only with ``dates_are_gmt=true`` and in site time otherwise; ``status`` is a
  comma list (``any``: every status but ``trash``); ``orderby`` ``date`` (default), ``modified``, ``id``,
  ``include``; ``order`` ``desc`` by default; rows with equal sort values come in *descending* id order (MySQL
  promises no order for ties; the fake picks the one a client assuming ascending ids gets wrong);
  ``per_page`` 1 to 100, ``page``, ``offset``, ``include``, ``exclude``, ``search``; answers carry
  ``X-WP-Total`` and ``X-WP-TotalPages``; ``_fields`` keeps only the named top-level fields.

``ignore_orderby`` plays a plugin that overrides the order query (newest first whatever was asked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from . import _woocommerce_spec as spec
from ._woocommerce_tables import WooTables, bad_param

__all__ = ["OrderListing"]


class OrderListing(WooTables):
    """``list_orders``: the rows of one listing request and its ``X-WP-*`` headers (see the module notes)."""

    def _bound(self, value: str, gmt: bool, name: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise bad_param(name, f"{name} is not a valid date.") from None
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc)
        # Without dates_are_gmt WordPress reads a date without an offset as the site's local time.
        return moment.replace(tzinfo=timezone.utc) - (timedelta(0) if gmt else self.utc_offset)

    def list_orders(self, query: Sequence[tuple[str, str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        params: dict[str, str] = {}
        for name, value in query:
            params[name.removesuffix("[]")] = (
                f"{params[name[:-2]]},{value}" if name.endswith("[]") and name[:-2] in params else value
            )
        gmt = params.get("dates_are_gmt", "false").lower() in ("1", "true")
        try:
            per_page = int(params.get("per_page", "10"))
            page = int(params.get("page", "1"))
            offset = int(params["offset"]) if "offset" in params else None
        except ValueError:
            raise bad_param("per_page", "per_page, page and offset are integers.") from None
        if not 1 <= per_page <= 100:
            raise bad_param("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
        if page < 1:
            raise bad_param("page", "page must be greater than or equal to 1")
        wanted = [s.strip() for s in params.get("status", "any").split(",") if s.strip()]
        for status in wanted:
            if status not in self.statuses and status not in ("any", "trash"):
                raise bad_param("status", f"status[0] is not one of {', '.join(['any', 'trash', *self.statuses])}.")
        rows = [o for o in self.orders.values() if "any" in wanted or o["status"] in wanted]
        if "any" in wanted:
            rows = [o for o in rows if o["status"] not in ("trash", "checkout-draft")]
        for name, field, later in (
            ("after", "date_created", True),
            ("before", "date_created", False),
            ("modified_after", "date_modified", True),
            ("modified_before", "date_modified", False),
        ):
            if params.get(name):
                # The *_gmt texts sort as their times do: compare text, not parsed times (8,000 orders a request).
                bound = self._bound(params[name], gmt, name).strftime("%Y-%m-%dT%H:%M:%S")
                key = f"{field}_gmt"
                rows = [o for o in rows if (o[key] > bound if later else o[key] < bound)]
        if params.get("include"):
            include = {int(i) for i in params["include"].split(",") if i.strip()}
            rows = [o for o in rows if o["id"] in include]
        if params.get("exclude"):
            exclude = {int(i) for i in params["exclude"].split(",") if i.strip()}
            rows = [o for o in rows if o["id"] not in exclude]
        if params.get("search"):
            term = params["search"].lower()
            rows = [
                o
                for o in rows
                if term
                in " ".join(
                    [str(v) for v in o["billing"].values()] + [line["name"] for line in o["line_items"]]
                ).lower()
            ]
        orderby = "date" if self.ignore_orderby else params.get("orderby", "date")
        if orderby not in spec.ORDERBY:
            raise bad_param("orderby", f"orderby is not one of {', '.join(spec.ORDERBY)}.")
        descending = self.ignore_orderby or params.get("order", "desc") == "desc"
        sort_field = {"date": "date_created_gmt", "modified": "date_modified_gmt"}.get(orderby)
        # Ties are broken by descending id, whatever the direction (see the module notes).
        rows.sort(key=lambda o: -o["id"])
        if sort_field is not None:
            by = sort_field
            rows.sort(key=lambda o: o[by], reverse=descending)
        elif orderby in ("id", "include", "title", "slug"):
            rows.sort(key=lambda o: o["id"], reverse=descending)
        total = len(rows)
        start = offset if offset is not None else (page - 1) * per_page
        chosen = rows[start : start + per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(math.ceil(total / per_page))}
        fields = [f.strip() for f in params.get("_fields", "").split(",") if f.strip()]
        body = [self.shown(o, fields) for o in chosen]
        return body, headers
