"""The fake Magento store as a :class:`~ecc_connectors.testing.conformance.ConformanceStore`."""

from __future__ import annotations

from typing import Any

from ._magento import FakeMagentoStore
from .conformance import FakeStoreAdapter

__all__ = ["MagentoConformanceStore"]


class MagentoConformanceStore(FakeStoreAdapter[FakeMagentoStore]):
    """Adapts a :class:`FakeMagentoStore` to the conformance checks (order ids are ``entity_id`` strings, as
    ``Magento2Driver`` names orders). Made without a store, it starts one with ``store_kwargs`` (by default 30
    generated orders and no admin-edited pair); ``fake`` is the store, ``base_url`` and ``token`` what a
    driver needs::

        def store_factory() -> MagentoConformanceStore:
            return MagentoConformanceStore(seed=3)

        def driver_factory(store: MagentoConformanceStore) -> Magento2Driver:
            return Magento2Driver(store.base_url, auth=BearerToken(store.token), page_size=5)
    """

    def __init__(self, fake: FakeMagentoStore | None = None, **store_kwargs: Any) -> None:
        if fake is None:
            store_kwargs.setdefault("order_count", 30)
            store_kwargs.setdefault("edited_pairs", 0)
            fake = FakeMagentoStore(**store_kwargs)
        super().__init__(fake)

    @property
    def token(self) -> str:
        return self.fake.token

    def order_ids(self) -> list[str]:
        """Every order's ``entity_id``, in the order of a listing sorted by ``updated_at`` then ``entity_id``."""
        orders = self.fake.orders()
        orders.sort(key=lambda o: (str(o.get("updated_at")), int(o["entity_id"])))
        return [str(o["entity_id"]) for o in orders]

    def edit(self, order_id: str) -> None:
        """A new shipping city, as an admin would type it (``updated_at`` moves to now)."""
        self.fake.edit_order(int(order_id), {"shipping_address": {"city": f"Edited {order_id}"}})

    def create(self) -> str:
        """A new order in state ``new`` / status ``pending``: shippable, commentable, cancellable."""
        return str(self.fake.generate_order(state="new"))

    def status_of(self, order_id: str) -> str:
        return str(self.fake.order(int(order_id))["status"])

    def count_comments(self, order_id: str, text: str) -> int:
        return sum(1 for c in self.fake.comments(int(order_id)) if c.get("comment") == text)

    def count_shipments(self, order_id: str) -> int:
        return len(self.fake.shipments(int(order_id)))
