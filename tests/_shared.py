"""Where the reference material (``../shared``) is, and what to do when it is missing.

Outside CI a test that needs it skips with the reason; under CI (``ECC_REQUIRE_SHARED=1``, set by ``.ci/run``)
its absence fails the test, so a green CI always means the vendor specs and fixtures were checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ECC_SHARED_DIR", PROJECT_ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """The path under ``shared/``; skip (or fail under CI) when it is not there."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        message = f"reference material not found: {path} (set ECC_SHARED_DIR to the shared/ folder)"
        if os.environ.get("ECC_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
