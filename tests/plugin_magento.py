"""Pytest fixtures for the magento tests."""
