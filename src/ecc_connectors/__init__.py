"""ecc-connectors: move orders between online stores and a back office.

(Public API re-exported here; the full list is pinned by ``tests/test_public_api.py``.)
"""

from ._convert import (
    fingerprint,
    order_from_snapshot,
    order_snapshot,
    policy_from_dict,
    policy_from_json,
    policy_from_toml,
    policy_to_dict,
    policy_to_json,
    policy_to_toml,
)
from ._driver import *  # noqa: F403
from ._driver import __all__ as _driver_all
from ._errors import *  # noqa: F403
from ._errors import __all__ as _errors_all
from ._model import *  # noqa: F403
from ._model import __all__ as _model_all
from ._outcomes import *  # noqa: F403
from ._outcomes import __all__ as _outcomes_all
from ._policy import *  # noqa: F403
from ._policy import __all__ as _policy_all
from ._registry import available_drivers, create_driver, get_driver, register, unregister

__version__ = "0.1.0"
