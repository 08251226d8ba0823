"""Pytest fixtures for the engine tests."""
