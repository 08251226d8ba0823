"""Writing back to WooCommerce: shipments, status changes and cancellations, each looking first.

Writes look first, write once
-----------------------------
``ship``, ``set_status`` (acknowledge) and ``cancel`` read the order, its notes and (when the extension
answers) its Shipment Tracking items, then send only what is missing: the status ``PUT`` when the order is not
already in it, the tracking items whose numbers are not there yet, and the note (``customer_note: true`` sends
the customer the note email) unless a note with the same text and visibility exists since the first attempt.
The ``PUT`` is marked not idempotent (its body was decided from a read), so the engine never resends it blindly.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ...driver import (
    BrokenAnswer,
    CancelRequest,
    Flow,
    ShipmentRequest,
    ShipmentResult,
    StatusChange,
    StatusNotAllowed,
    WriteResult,
)
from ._mapping import gmt
from ._rest import WooRest

__all__ = ["PostBack"]

_TRACKING = "/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"


class PostBack(WooRest):
    """``ship``, ``set_status`` and ``cancel``: read the order, its notes and its tracking items, then send only
    what is missing (see the module notes)."""

    shipment_tracking: str

    def _notes(self, order_id: str) -> Flow[list[Mapping[str, Any]]]:
        response = yield self._get(f"/orders/{self._id(order_id)}/notes", {"type": "any"})
        body = self._json(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer("the order notes are not a list", store=self.store_id, order_id=order_id)
        return [n for n in body if isinstance(n, Mapping)]

    def _note_found(
        self, notes: Iterable[Mapping[str, Any]], text: str, customer: bool, since: datetime | None
    ) -> Mapping[str, Any] | None:
        wanted = _plain_text(text)
        for note in notes:
            if _plain_text(str(note.get("note") or "")) != wanted or bool(note.get("customer_note")) != customer:
                continue
            if since is not None:
                try:
                    made = gmt(note.get("date_created_gmt"), "date_created_gmt")
                except ValueError:
                    continue
                if made < since:
                    continue
            return note
        return None

    def _add_note(self, order_id: str, text: str, customer: bool) -> Flow[str | None]:
        response = yield self._send(
            "POST", f"/orders/{self._id(order_id)}/notes", {"note": text, "customer_note": customer}
        )
        body = self._json(response, order_id)
        return str(body.get("id")) if isinstance(body, Mapping) and body.get("id") is not None else None

    def _put_status(self, order_id: str, status: str) -> Flow[None]:
        # WooCommerce keeps statuses as wc-<slug> internally and takes the bare slug over REST.
        response = yield self._send("PUT", f"/orders/{self._id(order_id)}", {"status": status.removeprefix("wc-")})
        self._status_error(response, order_id, status)

    def _trackings(self, order_id: str) -> Flow[list[Mapping[str, Any]] | None]:
        """The Shipment Tracking extension's items, or ``None`` when the store does not answer at its endpoint
        (``rest_no_route``: not installed) or the setting is off. Detected on every write, never assumed."""
        if self.shipment_tracking == "off":
            return None
        response = yield self._get(_TRACKING.format(order_id=self._id(order_id)), site=True)
        if response.status_code == 404:
            body = self._body_or_none(response)
            code = body.get("code") if isinstance(body, Mapping) else None
            if code in (None, "rest_no_route"):
                return None
        body = self._json(response, order_id)
        if not isinstance(body, list):
            raise BrokenAnswer("the shipment trackings are not a list", store=self.store_id, order_id=order_id)
        return [t for t in body if isinstance(t, Mapping)]

    def ship(self, request: ShipmentRequest) -> Flow[ShipmentResult]:
        """Tracking items (when the extension answers), the status (``request.status``: ``completed`` unless the
        policy says otherwise; WooCommerce emails the customer its completion mail on that change) and a customer
        note naming the tracking numbers (``customer_note`` = ``notify``, which emails it), each only if missing."""
        order_id = request.order_id
        order = yield from self._order_json(order_id)
        notes = yield from self._notes(order_id)
        trackings = yield from self._trackings(order_id)
        wrote = False
        reference: str | None = None
        if trackings is not None:
            have = {str(t.get("tracking_number") or "").strip() for t in trackings}
            for track in request.tracking:
                if track.number in have:
                    reference = reference or next(
                        (str(t.get("tracking_id")) for t in trackings if t.get("tracking_number") == track.number), None
                    )
                    continue
                # Always a custom provider: a predefined one must match the store's provider list word for word.
                provider = track.title or (track.carrier_code if track.carrier_code != "custom" else "")
                body: dict[str, Any] = {
                    "tracking_number": track.number,
                    "custom_tracking_provider": provider or _shipping_title(order) or "Carrier",
                }
                response = yield self._send("POST", _TRACKING.format(order_id=self._id(order_id)), body, site=True)
                made = self._json(response, order_id)
                wrote = True
                if isinstance(made, Mapping) and made.get("tracking_id"):
                    reference = str(made["tracking_id"])
        if request.status and order.get("status") != request.status.removeprefix("wc-"):
            yield from self._put_status(order_id, request.status)
            wrote = True
        text = _shipment_note(request)
        if text:
            found = self._note_found(notes, text, request.notify, request.since)
            if found is None:
                made_id = yield from self._add_note(order_id, text, request.notify)
                wrote = True
                reference = reference or made_id
            else:
                reference = reference or str(found.get("id"))
        return ShipmentResult(reference or str(order.get("id") or order_id), already_shipped=not wrote)

    def set_status(self, change: StatusChange) -> Flow[WriteResult]:
        """The status (``PUT``) unless the order is in it, then the comment as a note (``customer_note`` =
        ``notify``) unless the same note exists since ``change.since``."""
        result = yield from self._status_and_note(
            change.order_id, change.status, change.comment, change.notify, change.since
        )
        return result

    def cancel(self, request: CancelRequest) -> Flow[WriteResult]:
        """``cancelled`` (or the policy's status) and the comment as a note; a customer note emails the customer
        (WooCommerce's own cancelled-order mail goes to the shop's admin only)."""
        result = yield from self._status_and_note(
            request.order_id, request.status or "cancelled", request.comment, request.notify, request.since
        )
        return result

    def _status_and_note(
        self, order_id: str, status: str, comment: str, notify: bool, since: datetime | None
    ) -> Flow[WriteResult]:
        if not status or any(c.isspace() for c in status):
            raise StatusNotAllowed(
                f"{status!r} is not a WooCommerce status slug", store=self.store_id, order_id=order_id
            )
        order = yield from self._order_json(order_id)
        notes: list[Mapping[str, Any]] = []
        if comment:
            notes = yield from self._notes(order_id)
        found: list[str] = []
        wrote = False
        if order.get("status") != status.removeprefix("wc-"):
            yield from self._put_status(order_id, status)
            wrote = True
        else:
            found.append(f"status already {status}")
        reference: str | None = None
        if comment:
            note = self._note_found(notes, comment, notify, since)
            if note is None:
                reference = yield from self._add_note(order_id, comment, notify)
                wrote = True
            else:
                reference = str(note.get("id"))
                found.append(f"note {reference} already there")
        return WriteResult(already_done=not wrote, reference=reference, found="; ".join(found))


def _plain_text(text: str) -> str:
    """A note's text as compared: WordPress may store it with entities (``&amp;``) and other line breaks."""
    return " ".join(html.unescape(text).split())


def _shipping_title(order: Mapping[str, Any]) -> str:
    lines = order.get("shipping_lines") or ()
    return next(
        (str(line.get("method_title")) for line in lines if isinstance(line, Mapping) and line.get("method_title")), ""
    )


def _shipment_note(request: ShipmentRequest) -> str:
    lines = [request.comment.strip()] if request.comment.strip() else []
    for track in request.tracking:
        carrier = track.title or (track.carrier_code if track.carrier_code != "custom" else "")
        lines.append(f"Tracking number: {track.number}" + (f" ({carrier})" if carrier else ""))
    return "\n".join(lines)
