import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Fixture plugins, one per area, each owned by the area's tests.
pytest_plugins = ["plugin_engine", "plugin_magento", "plugin_netsuite", "plugin_woocommerce"]


@pytest.fixture
def quiet_retries() -> Iterator[None]:
    """Warnings off for tests whose lost answers and dropped connections are the point (the conformance suites
    use it with ``pytestmark = pytest.mark.usefixtures("quiet_retries")``)."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)
