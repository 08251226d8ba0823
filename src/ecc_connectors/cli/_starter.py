"""``init``: a commented starter policy written from the store's own statuses.

Each status the store lists becomes one ``[[statuses.rules]]`` row, set by what the status *means*. A status's
meaning is read from its code, label and state (the words stores use: ``processing``, ``awaiting_fulfillment``,
``_pendingFulfillment``, ``PAID|UNFULFILLED``...); a two-axis status (``FINANCIAL|FULFILLMENT``) is read axis by
axis and takes the meaning of its more final axis (``PAID|FULFILLED`` is done, ``PENDING|UNFULFILLED`` waits for
payment). The defaults, per meaning:

==============  =========  ==========================================================================
meaning         download   arrives
==============  =========  ==========================================================================
ready to ship   yes        paid (``process_payment = false``), to ship here (``process_shipping = true``)
awaiting pay    yes        unpaid (payment processed here), to ship here
done            no         (shipped or billed already: history, not work)
cancelled       no         (cancelled, refunded, failed, declined)
on hold         no         (held or in review: decide per store)
unknown         no         (a word this table does not know: the comment asks you to decide)
==============  =========  ==========================================================================

The post-back, cancellation and acknowledgement statuses are the driver's own defaults
(``Driver.store_defaults`` through :meth:`SyncPolicy.with_store_defaults`); acknowledgement starts off, with the
store's suggested status in a comment. The text is written by hand (TOML has comments, ``policy_to_toml`` does
not write them), and :func:`starter_policy` loads it back and compares it with the policy it meant, so the file
always loads.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import datetime

from .. import (
    DownloadRange,
    StatusMapping,
    StatusRule,
    StoreDefaults,
    StoreStatus,
    SyncPolicy,
    Unselected,
    policy_from_toml,
)

__all__ = ["Meaning", "meaning_of", "starter_policy"]


class Meaning(str, enum.Enum):
    READY = "ready to ship"
    UNPAID = "awaiting payment"
    DONE = "done"
    CANCELLED = "cancelled"
    HOLD = "on hold"
    UNKNOWN = "unknown"


# Checked in this order on the lower-cased words; the first hit wins. "unfulfilled" before "fulfilled", and
# NetSuite's "pendingFulfillment" (approved, not shipped) before the bare "pending" (not yet paid or approved).
_WORDS: tuple[tuple[Meaning, tuple[str, ...]], ...] = (
    # Suspected fraud is a review, not a verdict: on hold, like Magento's payment_review state it sits in.
    (Meaning.HOLD, ("hold", "review", "disput", "suspect", "fraud", "manual_verification", "manual verification")),
    (
        Meaning.CANCELLED,
        ("cancel", "void", "refund", "declin", "fail", "reject", "expire", "abandon", "trash", "deleted", "closed"),
    ),
    (
        Meaning.READY,
        (
            "unfulfilled",
            "partially_fulfilled",
            "partiallyfulfilled",
            "partially fulfilled",
            "pendingfulfillment",
            "pending_fulfillment",
            "pending fulfillment",
            "awaiting_fulfillment",
            "awaiting fulfillment",
            "awaiting_shipment",
            "awaiting shipment",
            "partially_shipped",
            "partially shipped",
            "in_progress",
            "in progress",
            "processing",
            "pendingbillingpartfulfilled",
            "scheduled",
            "not_shipped",
        ),
    ),
    (
        Meaning.DONE,
        (
            "complete",
            "shipped",
            "fulfilled",
            "delivered",
            "billed",
            "pendingbilling",
            "pending billing",
            "pending_billing",
            "picked_up",
            "picked up",
        ),
    ),
    (
        Meaning.UNPAID,
        (
            "pending",
            "new",
            "awaiting",
            "unpaid",
            "authorized",
            "authorised",
            "approval",
            "on-hold",
            "incomplete",
            "payment",
        ),
    ),
    (Meaning.READY, ("paid", "ready", "open", "approved")),
)
_FINALITY = (Meaning.CANCELLED, Meaning.HOLD, Meaning.DONE, Meaning.UNPAID, Meaning.READY, Meaning.UNKNOWN)


def _meaning_of_words(text: str) -> Meaning:
    lowered = text.lower()
    for meaning, words in _WORDS:
        if any(word in lowered for word in words):
            return meaning
    return Meaning.UNKNOWN


def meaning_of(status: StoreStatus) -> Meaning:
    """What a status means for the back office (see the module's table)."""
    if "|" in status.code:
        found = {_meaning_of_words(axis) for axis in status.code.split("|")}
        return next(meaning for meaning in _FINALITY if meaning in found)
    # The code first: labels are free text a merchant may have renamed; the state is the store's own class.
    for text in (status.code, status.state or "", status.label):
        meaning = _meaning_of_words(text)
        if meaning is not Meaning.UNKNOWN:
            return meaning
    return Meaning.UNKNOWN


def _row_for(status: StoreStatus) -> tuple[StatusRule, str]:
    meaning = meaning_of(status)
    what = f"{status.label!r}" if status.label and status.label != status.code else "no label"
    state = f", state {status.state!r}" if status.state and status.state != status.code else ""
    if meaning is Meaning.READY:
        rule = StatusRule(status.code, download=True, process_payment=False, process_shipping=True)
        effect = "downloaded; arrives paid, shipped from here"
    elif meaning is Meaning.UNPAID:
        rule = StatusRule(status.code, download=True, process_payment=True, process_shipping=True)
        effect = "downloaded; arrives unpaid (payment taken here), shipped from here"
    elif meaning is Meaning.UNKNOWN:
        rule = StatusRule(status.code, download=False)
        effect = "not downloaded: its meaning is not clear from its name, decide yourself"
    else:
        rule = StatusRule(status.code, download=False)
        effect = "not downloaded"
    return rule, f"{what}{state}: {meaning.value} -> {effect}"


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _optional(status: str | None) -> str:
    return "false" if status is None else _q(status)


def starter_policy(
    statuses: Sequence[StoreStatus],
    defaults: StoreDefaults,
    *,
    start: datetime,
    unselected: Unselected = Unselected.SKIP,
    driver_name: str = "",
) -> tuple[SyncPolicy, str]:
    """The starter policy for a store with ``statuses``, and its commented TOML text (which loads back to it)."""
    rows = [_row_for(status) for status in statuses]
    base = SyncPolicy(
        statuses=StatusMapping(tuple(rule for rule, _ in rows)),
        range=DownloadRange(start=start),
        unselected=unselected,
    )
    policy = base.with_store_defaults(defaults, statuses)
    lines = [
        f"# Sync policy written by `ecc-connectors init` from the statuses of the {driver_name or 'store'}.",
        "# Every setting is explained in docs/policy.md. Check it against the store with `ecc-connectors plan`.",
        "",
        '# Orders whose status has no downloaded row: "skip" (never downloaded) or "ignore_tab" (kept in the',
        "# Ignore tab, and downloaded for real if they later reach a downloaded status).",
        f"unselected = {_q(policy.unselected.value)}",
        "",
        '# One row per store status. process_payment = false is "No, mark as paid" (arrives paid);',
        "# process_shipping = true means the order arrives unshipped and is shipped from the back office.",
    ]
    if not rows:
        lines += ["# The store listed no statuses: add rows by hand.", "[statuses]", "rules = []"]
    for rule, comment in rows:
        lines += [
            "",
            f"# {comment}",
            "[[statuses.rules]]",
            f"status = {_q(rule.status)}",
            f"download = {'true' if rule.download else 'false'}",
            f"process_payment = {'true' if rule.process_payment else 'false'}",
            f"process_shipping = {'true' if rule.process_shipping else 'false'}",
        ]
    ack_hint = (
        f" (this store suggests {_q(defaults.acknowledgement_status)})" if defaults.acknowledgement_status else ""
    )
    lines += [
        "",
        "[range]",
        '# Orders created from this time on (inclusive). Add end = "..." to stop at a time (exclusive), and',
        '# starting_number = "..." to skip orders numbered below it.',
        f"start = {_q(policy.range.start.isoformat())}",
        "",
        "[post_back]",
        "# The status set in the store when an order ships (false: leave the status alone).",
        f"status = {_optional(policy.post_back.status)}",
        "send_email = true                    # the store sends its shipping email with the tracking numbers",
        "",
        "[acknowledgement]",
        f"# The status set when the back office takes an order; false keeps acknowledgement off{ack_hint}.",
        f"status = {_optional(policy.acknowledgement.status)}",
        f"comment = {_q(policy.acknowledgement.comment)}",
        "notify_customer = false",
        "",
        "[cancellation]",
        "# The status set when an order is cancelled from here (false: cancel without a status of our own).",
        f"status = {_optional(policy.cancellation.status)}",
        "send_email = false",
        f"comment = {_q(policy.cancellation.comment)}",
        "",
        "[change_detection]",
        "# Orders edited in the store after download show in the Updates tab with their field changes.",
        "enabled = true",
        "",
        "[incremental]",
        'lookback = "5m"                     # each run re-reads this much before the last high-water mark',
        'settle_delay = "0s"                 # and leaves orders changed this recently to the next run',
        "",
    ]
    text = "\n".join(lines)
    loaded = policy_from_toml(text)
    if loaded != policy:  # pragma: no cover - a bug here, not a user's mistake
        raise AssertionError(f"the starter policy does not load back as written: {loaded!r} != {policy!r}")
    return policy, text
