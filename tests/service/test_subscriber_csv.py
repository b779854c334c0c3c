"""The rules for addresses and names, and our own export, which reads back unchanged through the import."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from publisher.service.list_import import parse_export
from publisher.service.subscriber_csv import validate_address, write_csv
from publisher.store import NewSubscriber, Subscriber

WHEN = dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC)


def test_validate_address_normalises_the_domain_and_explains_failures():
    assert validate_address("  Ann.Lee@EXAMPLE.com ") == "Ann.Lee@example.com"
    with pytest.raises(ValueError, match="'ann@localhost' is not a valid email address"):
        validate_address("ann@localhost")


def test_export_reads_back_unchanged_even_with_awkward_names():
    people = [
        Subscriber(1, "ann@example.com", 'Ann "The Boss", Lee', "active", "cli", WHEN, WHEN),
        Subscriber(2, "-bob@example.com", "=HYPERLINK(\"http://evil\")", "unsubscribed", "web", WHEN, WHEN),
        Subscriber(3, "zoë@example.de", "Zoë 'Zo' Müller; \"Z\"", "bounced", "import", WHEN, WHEN),
        Subscriber(4, "cy@example.com", "", "pending", "web", WHEN, WHEN),
    ]
    text = write_csv(people)
    assert text.startswith("email,name,status,created_at,subscribed_at,confirmed_at,source,status_changed_at\r\n")
    assert "'=HYPERLINK" in text and "\r\n'-bob@example.com," in text
    [parsed] = parse_export("export.csv", text.encode(), ZoneInfo("UTC"))
    assert parsed.service == "publisher export"
    assert parsed.subscribers == tuple(NewSubscriber(p.email, p.name, p.status, WHEN, status_at=WHEN) for p in people)
    assert parsed.problems == ()


@pytest.mark.parametrize("address", ["ann\u2028@example.com", "ann\t@example.com", "ann@exam\x00ple.com"])
def test_control_characters_in_an_address_are_refused(address):
    with pytest.raises(ValueError, match="is not a valid email address"):
        validate_address(address)
