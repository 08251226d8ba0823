"""The shared part of a fake store's conformance adapter (see :class:`FakeStoreAdapter`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ._base_faults import ListingHook, LostAnswerMode
from ._base_http import ReceivedRequest
from .base import FakeStore

__all__ = ["FakeStoreAdapter"]

F = TypeVar("F", bound=FakeStore)


class FakeStoreAdapter(Generic[F]):
    """The part of a :class:`ConformanceStore` every fake built on :class:`~ecc_connectors.testing.base.FakeStore`
    shares: it starts the store and forwards the request log, the write test, lost answers, the listing hook
    and ``stop``. A cart's adapter adds what speaks its dialect: ``order_ids``, ``edit``, ``create``,
    ``status_of``, ``count_comments`` and ``count_shipments``.
    """

    def __init__(self, fake: F) -> None:
        self.fake: F = fake.start()

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self.fake.requests

    def is_write(self, request: ReceivedRequest) -> bool:
        return self.fake.is_write(request)

    def lose_next_write_answer(self, mode: LostAnswerMode) -> None:
        self.fake.lose_write_answers(1, mode=mode)

    def on_listing(self, callback: Callable[[int], object] | None) -> ListingHook | None:
        return self.fake.on_listing(callback)

    def stop(self) -> None:
        self.fake.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fake!r}>"
