"""Shared fixtures. Heavier ones live in their own modules, loaded here as plugins."""

import pytest

from publisher import clock

pytest_plugins = ["tests.fixtures_site", "tests.fixtures_smtp", "tests.fixtures_browser", "tests.fixtures_mailservers",
                  "tests.fixtures_sns", "tests.fixtures_postgres"]


@pytest.fixture(autouse=True)
def _fresh_clock():
    """Each test starts the pinned clock afresh, as each command does: PUBLISHER_NOW is when it starts."""
    clock.restart()
