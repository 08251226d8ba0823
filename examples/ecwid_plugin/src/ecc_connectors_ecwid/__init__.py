"""An Ecwid cart driver for ecc-connectors, shipped as a plugin (entry point ``ecwid``), with a fake Ecwid
store to test against: see README.md."""

from ._driver import FULFILLMENT_STATUSES, PAYMENT_STATUSES, BearerToken, EcwidDriver, EcwidSettings

__all__ = ["FULFILLMENT_STATUSES", "PAYMENT_STATUSES", "BearerToken", "EcwidDriver", "EcwidSettings"]
__version__ = "0.1.0"
