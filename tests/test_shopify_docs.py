"""The Shopify guide's "Try it" snippet runs as written, and the guide names every scope and setting."""

from __future__ import annotations

import re
from pathlib import Path

from ecc_connectors import describe_settings
from ecc_connectors.drivers.shopify import ShopifySettings
from test_shopify_support import schema_file

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "drivers" / "shopify.md"


def test_the_try_it_snippet_runs(monkeypatch: object) -> None:
    import os

    os.environ.setdefault("ECC_SHOPIFY_SCHEMA", str(schema_file()))
    text = GUIDE.read_text()
    section = text.split("## Try it", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    exec(compile(code.group(1), str(GUIDE), "exec"), {})


def test_the_guide_names_every_setting_and_scope() -> None:
    text = GUIDE.read_text()
    for info in describe_settings(ShopifySettings):
        assert f"`{info.name}`" in text, info.name
        assert info.env is not None
        assert f"`{info.env}`" in text
    for scope in (
        "read_orders",
        "write_orders",
        "read_all_orders",
        "write_merchant_managed_fulfillment_orders",
        "read_products",
        "write_draft_orders",
        "write_fulfillments",
    ):
        assert f"`{scope}`" in text, scope
