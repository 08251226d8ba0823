"""Pieces the Shopify test modules share (no tests here): the schema path, a fake shop, a driver and a policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _shared import shared_path
from ecc_connectors import (
    Acknowledgement,
    Cancellation,
    DownloadRange,
    PostBack,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.shopify import ShopifyDriver
from ecc_connectors.testing.shopify import FakeShopify

__all__ = ["fake_shop", "policy", "schema_file", "shopify_driver"]


def schema_file() -> Path:
    return shared_path("specs", "shopify", "admin_schema_unstable_public.graphql")


def fake_shop(orders: int = 0, **kwargs: Any) -> FakeShopify:
    """A fake shop with a bucket large enough that pacing adds no waits (unless the test sets one)."""
    kwargs.setdefault("bucket_size", 20_000)
    kwargs.setdefault("restore_rate", 20_000)
    return FakeShopify(orders, schema_file=schema_file(), **kwargs)


def shopify_driver(store: FakeShopify, **kwargs: Any) -> ShopifyDriver:
    return ShopifyDriver(store.shop_domain, store.token, base_url=store.base_url, **kwargs)


def policy(rules: Sequence[str | StatusRule] = ("*|*",), *, acknowledge: str | None = None) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping(tuple(r if isinstance(r, StatusRule) else StatusRule(r) for r in rules)),
        range=DownloadRange(start=datetime(2000, 1, 1, tzinfo=timezone.utc)),
        unselected=Unselected.IGNORE_TAB,
        post_back=PostBack(status=None, send_email=True),
        acknowledgement=Acknowledgement(status=acknowledge, comment="Received by the back office"),
        cancellation=Cancellation(status=None, comment="Cancelled by the back office", send_email=False),
    )
