"""Every setting of the order-download screen, as one frozen value: :class:`SyncPolicy`.

Loading and saving (dict, JSON, TOML) lives in ``_convert.py``. Loading only checks that each value has the
right shape; :meth:`SyncPolicy.check` (or :meth:`SyncPolicy.validate`) is the explicit, further step that looks
at the settings together and, given the store's statuses, against the store (docs/policy.md, "Checking a
policy against the store").
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from ._errors import ConfigurationError
from ._model import ChangeKind, StoreStatus, _aware

__all__ = [
    "MAX_SETTLE_DELAY",
    "Acknowledgement",
    "Cancellation",
    "ChangeDetection",
    "DownloadRange",
    "Incremental",
    "ItemSource",
    "PhoneOrders",
    "PolicyProblem",
    "PostBack",
    "StatusMapping",
    "StatusRule",
    "StoreDefaults",
    "SyncPolicy",
    "Unselected",
]

MAX_SETTLE_DELAY = timedelta(days=1)
"""The longest ``incremental.settle_delay`` :meth:`SyncPolicy.check` accepts (see there for the whole rule)."""

# The defaults of PostBack / Cancellation: Magento's vocabulary. StoreDefaults swaps them for another store's.
_DEFAULT_POST_BACK_STATUS = "complete"
_DEFAULT_CANCELLATION_STATUS = "canceled"


class Unselected(str, enum.Enum):
    """What happens to orders whose store status has no downloaded row."""

    SKIP = "skip"
    IGNORE_TAB = "ignore_tab"


class ItemSource(str, enum.Enum):
    NETSUITE = "netsuite"
    STORE = "store"


@attrs.frozen
class StatusRule:
    """One status row.

    ``process_payment=True`` is the screen's "Yes": the order arrives unpaid and payment is processed locally;
    ``False`` is "No, mark as paid". ``process_shipping`` reads the same way for shipping.
    ``status`` matches an order's status exactly (case-sensitive, as stores are); for two-axis statuses
    (``"PAID|UNFULFILLED"``) an axis may be ``*``.
    ``unselected`` (only for a row with ``download=False``) overrides the policy's choice for this one status,
    so one status can go to the Ignore tab while another is not downloaded at all.
    """

    status: str
    download: bool = True
    process_payment: bool = True
    process_shipping: bool = True
    unselected: Unselected | None = None

    def matches(self, status: str) -> bool:
        if self.status == status:
            return True
        if "*" not in self.status:
            return False
        want = self.status.split("|")
        have = status.split("|")
        return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


@attrs.frozen
class StatusMapping:
    """The status rows. An exact row wins over a wildcard row; among wildcard rows the first listed wins."""

    rules: tuple[StatusRule, ...] = ()

    def rule_for(self, status: str) -> StatusRule | None:
        for rule in self.rules:
            if rule.status == status:
                return rule
        for rule in self.rules:
            if rule.matches(status):
                return rule
        return None

    def selected(self) -> tuple[str, ...]:
        """The status codes marked for download (wildcard rows included as written)."""
        return tuple(rule.status for rule in self.rules if rule.download)


@attrs.frozen
class DownloadRange:
    """What to download: orders created from ``start`` (and before ``end``, if given) numbered from
    ``starting_number`` on. ``statuses`` narrows the store query further when not empty."""

    start: datetime = attrs.field(validator=_aware)
    end: datetime | None = attrs.field(default=None, validator=_aware)
    starting_number: str | None = None
    statuses: tuple[str, ...] = ()


@attrs.frozen
class PostBack:
    """What to do in the store when an order ships."""

    status: str | None = _DEFAULT_POST_BACK_STATUS
    send_email: bool = True


@attrs.frozen
class Acknowledgement:
    """Change the store's status when an order is taken. ``status=None`` turns acknowledgement off."""

    status: str | None = None
    comment: str = "Order received by the back office."
    notify_customer: bool = False


@attrs.frozen
class Cancellation:
    status: str | None = _DEFAULT_CANCELLATION_STATUS
    send_email: bool = False
    comment: str = "Order cancelled."


@attrs.frozen
class PhoneOrders:
    item_source: ItemSource = ItemSource.STORE


@attrs.frozen
class ChangeDetection:
    """The Updates tab: which kinds of change count, and from when (``watch_from``; ``None`` = always)."""

    enabled: bool = True
    kinds: frozenset[ChangeKind] = frozenset(ChangeKind)
    watch_from: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen
class Incremental:
    """Each run re-reads ``lookback`` before the last high-water mark, and leaves orders changed within the last
    ``settle_delay`` to the next run (stores may still be writing them)."""

    lookback: timedelta = timedelta(minutes=5)
    settle_delay: timedelta = timedelta(0)

    def __attrs_post_init__(self) -> None:
        if self.lookback < timedelta(0) or self.settle_delay < timedelta(0):
            raise ValueError("lookback and settle_delay must not be negative")


@attrs.frozen
class PolicyProblem:
    """One thing :meth:`SyncPolicy.check` found, at ``path`` (as in a settings file: ``statuses.rules[2].status``,
    ``range.end``, ``incremental.settle_delay``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@attrs.frozen
class StoreDefaults:
    """A store's own vocabulary for the statuses a policy sets: what a driver offers to
    :meth:`SyncPolicy.with_store_defaults`. ``None``: the store has no such default."""

    post_back_status: str | None = None
    cancellation_status: str | None = None
    acknowledgement_status: str | None = None


@attrs.frozen
class SyncPolicy:
    statuses: StatusMapping
    range: DownloadRange
    unselected: Unselected = Unselected.SKIP
    post_back: PostBack = PostBack()
    acknowledgement: Acknowledgement = Acknowledgement()
    cancellation: Cancellation = Cancellation()
    phone_orders: PhoneOrders = PhoneOrders()
    change_detection: ChangeDetection = ChangeDetection()
    incremental: Incremental = Incremental()

    def store_statuses_to_request(self) -> tuple[str, ...] | None:
        """The statuses to ask the store for, or ``None`` for all.

        All statuses are needed when unselected orders go to the Ignore tab, when change detection is on (an
        order that moved to an unselected status must still be seen), or when a row uses a wildcard.
        """
        if self.range.statuses:
            return self.range.statuses
        if self.unselected is Unselected.IGNORE_TAB or self.change_detection.enabled:
            return None
        selected = self.statuses.selected()
        if any("*" in s for s in selected):
            return None
        return selected

    def check(self, statuses: Iterable[str | StoreStatus] | None = None) -> list[PolicyProblem]:
        """Every problem with this policy, in the order of its settings; empty when there is none.

        Without ``statuses`` it looks at the policy alone: status rows that are empty, have whitespace around
        them (or around an axis), use ``*`` inside an axis, repeat an earlier row, or can never match because an
        earlier wildcard row matches all they match; a range whose end is not after its start; a settle delay
        longer than :data:`MAX_SETTLE_DELAY`, or (when ``range.end`` is set) longer than the range; a negative
        number or duration anywhere. Given the store's ``statuses`` (codes, or :class:`StoreStatus` as
        ``Driver.list_statuses`` returns them), it also reports rows, ``range.statuses`` and the post-back,
        cancellation and acknowledgement statuses that name a status the store does not have, wildcard rows
        that match none of the store's statuses, and wildcard rows left with none because other rows take all
        the ones they match.

        Loading a policy does not run this: it is an explicit step (see :meth:`validate`).
        """
        known = None if statuses is None else _StoreVocabulary.of(statuses)
        problems: list[PolicyProblem] = []
        problems += _row_problems(self.statuses.rules, known)
        problems += _range_problems(self.range, known)
        for path, status in (
            ("post_back.status", self.post_back.status),
            ("acknowledgement.status", self.acknowledgement.status),
            ("cancellation.status", self.cancellation.status),
        ):
            problems += _status_to_set_problems(path, status, known)
        problems += _settle_problems(self)
        problems += _negative_problems(self, "")
        return problems

    def validate(self, statuses: Iterable[str | StoreStatus] | None = None) -> None:
        """Raise :class:`ConfigurationError` listing every problem :meth:`check` finds, each with its path."""
        problems = self.check(statuses)
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise ConfigurationError(f"sync policy has {count}: " + "; ".join(map(str, problems)))

    def with_store_defaults(
        self, defaults: StoreDefaults, statuses: Iterable[str | StoreStatus] | None = None
    ) -> SyncPolicy:
        """This policy speaking the store's vocabulary where it was left at the defaults.

        ``post_back.status`` is replaced by ``defaults.post_back_status`` only while it is still the built-in
        default ``"complete"``, and ``cancellation.status`` by ``defaults.cancellation_status`` only while it is
        still ``"canceled"`` (Magento's words; WooCommerce says ``"completed"`` and ``"cancelled"``), and, when
        the store's ``statuses`` are given, only if the store has no status of that name, so a store that does
        use ``"complete"`` keeps it. A default of ``None`` changes nothing (it never turns a setting off).

        ``acknowledgement.status`` is never replaced: its default, ``None``, is also how a policy turns
        acknowledgement off, so filling it in could turn on what a user turned off. To acknowledge with the
        store's status, set it: ``Acknowledgement(status=defaults.acknowledgement_status)``.
        """
        known = None if statuses is None else _StoreVocabulary.of(statuses)

        def pick(current: str | None, builtin: str, store: str | None) -> str | None:
            if current != builtin or store is None or (known is not None and builtin in known.codes):
                return current
            return store

        post_back = pick(self.post_back.status, _DEFAULT_POST_BACK_STATUS, defaults.post_back_status)
        cancellation = pick(self.cancellation.status, _DEFAULT_CANCELLATION_STATUS, defaults.cancellation_status)
        if post_back == self.post_back.status and cancellation == self.cancellation.status:
            return self
        return attrs.evolve(
            self,
            post_back=attrs.evolve(self.post_back, status=post_back),
            cancellation=attrs.evolve(self.cancellation, status=cancellation),
        )


# -- checks -------------------------------------------------------------------------------------------------

@attrs.frozen
class _StoreVocabulary:
    codes: tuple[str, ...]
    labels: dict[str, str]  # label -> code, for "you wrote the label" hints

    @classmethod
    def of(cls, statuses: Iterable[str | StoreStatus]) -> _StoreVocabulary:
        codes: dict[str, None] = {}  # ordered, without repeats
        labels: dict[str, str] = {}
        for status in statuses:
            code = status.code if isinstance(status, StoreStatus) else status
            codes.setdefault(code)
            if isinstance(status, StoreStatus) and status.label and status.label != code:
                labels.setdefault(status.label, code)
        return cls(tuple(codes), labels)

    def unknown(self, status: str) -> str:
        """Why ``status`` is not one of the store's, with a hint."""
        message = f"{status!r} is not a status of the store"
        if status in self.labels:
            return f"{message}: it is the label of {self.labels[status]!r}, and statuses are matched by code"
        close = difflib.get_close_matches(status, self.codes, n=1)
        if close:
            return f"{message} (did you mean {close[0]!r}?)"
        if not self.codes:
            return f"{message} (the store listed no statuses)"
        shown = ", ".join(repr(code) for code in self.codes[:20])
        more = f" and {len(self.codes) - 20} more" if len(self.codes) > 20 else ""
        return f"{message} (the store has {shown}{more})"


def _is_pattern(status: str) -> bool:
    return "*" in status.split("|")


def _text_problems(path: str, status: str) -> list[PolicyProblem]:
    """A status that can never equal a store's code as written: empty, padded, or with an empty axis."""
    if status == "":
        return [PolicyProblem(path, "the status is empty")]
    if not status.strip():
        return [PolicyProblem(path, f"the status {status!r} is only whitespace")]
    if status != status.strip():
        return [
            PolicyProblem(
                path,
                f"{status!r} has leading or trailing whitespace, which store statuses never have, so it does not "
                f"match {status.strip()!r}",
            )
        ]
    axes = status.split("|")
    if len(axes) > 1:
        if any(axis == "" for axis in axes):
            return [PolicyProblem(path, f"{status!r} has an empty axis")]
        if any(axis != axis.strip() for axis in axes):
            return [PolicyProblem(path, f"{status!r} has whitespace around an axis, which store statuses never have")]
    return []


def _row_problems(rules: tuple[StatusRule, ...], known: _StoreVocabulary | None) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    first_row: dict[str, int] = {}
    exact = {rule.status for rule in rules if not _is_pattern(rule.status)}
    for index, rule in enumerate(rules):
        path = f"statuses.rules[{index}].status"
        status = rule.status
        found = _text_problems(path, status)
        for axis in [] if found else status.split("|"):
            if "*" in axis and axis != "*":
                message = f"{status!r}: '*' stands for a whole axis only, so {axis!r} is matched as written"
                found.append(PolicyProblem(path, message))
        if status in first_row:
            earlier = first_row[status]
            found.append(
                PolicyProblem(
                    path, f"{status!r} repeats statuses.rules[{earlier}], and only the first of the two rows is used"
                )
            )
        elif _is_pattern(status):
            cover = next(
                (
                    j
                    for j, other in enumerate(rules[:index])
                    if _is_pattern(other.status) and other.status != status and _covers(other.status, status)
                ),
                None,
            )
            if cover is not None:
                found.append(
                    PolicyProblem(
                        path,
                        f"{status!r} can never match: statuses.rules[{cover}] ({rules[cover].status!r}) comes first "
                        "and matches every status it matches (among wildcard rows the first listed wins)",
                    )
                )
            elif known is not None and not found:
                found += _dead_against_store(path, index, rules, exact, known)
        elif known is not None and not found and status not in known.codes:
            found.append(PolicyProblem(path, known.unknown(status)))
        first_row.setdefault(status, index)
        problems += found
    return problems


def _covers(general: str, specific: str) -> bool:
    """Whether wildcard row ``general`` matches every status that row ``specific`` matches."""
    want = general.split("|")
    have = specific.split("|")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def _dead_against_store(
    path: str, index: int, rules: tuple[StatusRule, ...], exact: set[str], known: _StoreVocabulary
) -> list[PolicyProblem]:
    rule = rules[index]
    matched = [code for code in known.codes if rule.matches(code)]
    if not matched:
        return [PolicyProblem(path, f"the wildcard {rule.status!r} matches none of the store's statuses")]
    taken: list[str] = []
    for code in matched:
        if code in exact:
            taken.append(f"{code!r} (its own row)")
            continue
        first = next(j for j, other in enumerate(rules) if _is_pattern(other.status) and other.matches(code))
        if first == index:
            return []
        taken.append(f"{code!r} (statuses.rules[{first}])")
    return [
        PolicyProblem(
            path,
            f"{rule.status!r} can never match: every store status it matches is taken by another row: "
            + ", ".join(taken),
        )
    ]


def _range_problems(download: DownloadRange, known: _StoreVocabulary | None) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    if download.end is not None and download.start >= download.end:
        relation = "equals" if download.start == download.end else "is after"
        problems.append(
            PolicyProblem(
                "range.end",
                f"range.start ({download.start.isoformat()}) {relation} range.end ({download.end.isoformat()}): "
                "no order can fall in the range",
            )
        )
    for index, status in enumerate(download.statuses):
        path = f"range.statuses[{index}]"
        found = _text_problems(path, status)
        if not found and known is not None and status not in known.codes:
            found.append(PolicyProblem(path, known.unknown(status)))
        problems += found
    return problems


def _status_to_set_problems(path: str, status: str | None, known: _StoreVocabulary | None) -> list[PolicyProblem]:
    if status is None:
        return []
    found = _text_problems(path, status)
    if status == "":
        found = [PolicyProblem(path, "the status is empty (to turn this off, set it to false, or None in code)")]
    elif not found and _is_pattern(status):
        found.append(PolicyProblem(path, f"{status!r} is a wildcard, but a status to set must be one status"))
    elif not found and known is not None and status not in known.codes and not _names_an_axis(status, known):
        found.append(PolicyProblem(path, known.unknown(status)))
    return found


def _names_an_axis(status: str, known: _StoreVocabulary) -> bool:
    """On a store whose statuses have two axes (``PAYMENT|FULFILMENT``), a status to set may name one axis
    (``SHIPPED``): the driver changes that axis and keeps the other."""
    if "|" in status:
        return False
    return any(status in code.split("|") for code in known.codes if "|" in code)


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _settle_problems(policy: SyncPolicy) -> list[PolicyProblem]:
    settle = policy.incremental.settle_delay
    limit, what = MAX_SETTLE_DELAY, f"{_duration(MAX_SETTLE_DELAY)}, the most this check accepts"
    start, end = policy.range.start, policy.range.end
    if end is not None and end > start and end - start < limit:
        limit, what = end - start, f"the download range itself ({_duration(end - start)} from range.start to range.end)"
    if settle <= limit:
        return []
    return [
        PolicyProblem(
            "incremental.settle_delay",
            f"{_duration(settle)} is longer than {what}: each run would leave that much of the most recent "
            "changes to a later one",
        )
    ]


def _negative_problems(value: Any, path: str) -> list[PolicyProblem]:
    """Every number or duration below zero, wherever it is (a policy built around its validators, or a
    setting added later)."""
    if attrs.has(type(value)):
        problems: list[PolicyProblem] = []
        for field in attrs.fields(type(value)):
            problems += _negative_problems(getattr(value, field.name), f"{path}.{field.name}" if path else field.name)
        return problems
    if isinstance(value, tuple):
        return [problem for i, item in enumerate(value) for problem in _negative_problems(item, f"{path}[{i}]")]
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float, Decimal)) and value < 0:
        return [PolicyProblem(path, f"{value} is negative")]
    if isinstance(value, timedelta) and value < timedelta(0):
        return [PolicyProblem(path, f"the duration is negative ({value})")]
    return []
