"""Built-in cart drivers. Each is registered through the ``ecc_connectors.drivers`` entry point."""
