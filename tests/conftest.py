import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Fixture plugins, one per area, each owned by the area's tests.
pytest_plugins = ["plugin_engine", "plugin_magento", "plugin_netsuite"]
