"""Pytest fixtures for the netsuite tests."""
