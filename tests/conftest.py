"""Shared fixtures. Heavier ones live in their own modules, loaded here as plugins."""

pytest_plugins = ["tests.fixtures_site", "tests.fixtures_smtp", "tests.fixtures_browser"]
