"""The one clock: PUBLISHER_NOW sets when a command starts, and time runs on from there."""

import datetime as dt
import time

import pytest

from publisher import clock
from publisher.errors import ConfigError


def test_without_publisher_now_it_is_the_system_clock_in_utc(monkeypatch):
    monkeypatch.delenv("PUBLISHER_NOW", raising=False)
    before = dt.datetime.now(dt.UTC)
    assert before <= clock.now() <= dt.datetime.now(dt.UTC)
    assert clock.now().utcoffset() == dt.timedelta(0)


def test_a_pinned_clock_starts_at_publisher_now_and_runs_on(monkeypatch):
    monkeypatch.setenv("PUBLISHER_NOW", "2025-01-31T09:00:00+00:00")
    clock.restart()
    start = dt.datetime(2025, 1, 31, 9, tzinfo=dt.UTC)
    first = clock.now()
    time.sleep(0.02)
    later = clock.now()
    assert start <= first < later < start + dt.timedelta(minutes=1)
    clock.restart()
    assert clock.now() < later


def test_a_time_without_a_zone_is_utc_and_a_bad_one_names_the_variable(monkeypatch):
    monkeypatch.setenv("PUBLISHER_NOW", "2025-01-31T09:00")
    clock.restart()
    assert clock.now().utcoffset() == dt.timedelta(0) and clock.now().hour == 9
    monkeypatch.setenv("PUBLISHER_NOW", "next Friday")
    with pytest.raises(ConfigError, match="PUBLISHER_NOW: expected an ISO date"):
        clock.now()


@pytest.mark.parametrize("span, words", [(dt.timedelta(days=7), "7 days"), (dt.timedelta(days=1), "1 day"),
                                         (dt.timedelta(hours=36), "36 hours"), (dt.timedelta(hours=1), "1 hour")])
def test_a_span_is_described_as_a_setting_would_say_it_and_read_back(span, words):
    assert clock.describe_duration(span) == words and clock.parse_duration(words) == span
