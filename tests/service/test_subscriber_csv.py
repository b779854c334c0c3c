"""The rules for addresses and names, and our own export, which reads back unchanged through the import."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from email_validator import EmailNotValidError, validate_email

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


ADDRESSES = ["Ann.Lee@EXAMPLE.com", "zoë@example.de", "a@xn--bcher-kva.example", "bob+news@Bücher.example",
             "x@localhost", "a..b@example.com", ".a@example.com", "a@example.com.", "a@-example.com",
             "a@ex_ample.com", "a@[127.0.0.1]", '"q u"@example.com', "a@EXAMPLE.TEST", "a" * 64 + "@example.com",
             "a@" + "b" * 250 + ".com", "o'neil@example.ie", "ann@exam\x00ple.com"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_at_a_domain_seen_before_gets_the_same_answer_as_a_full_check(address):
    def answer(text: str) -> str:
        try:
            return validate_email(text.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            return f"{text.strip()!r} is not a valid email address: {exc}"

    for _ in range(2):  # the second time the domain's check is remembered
        try:
            got = validate_address(address)
        except ValueError as exc:
            got = str(exc)
        assert got == answer(address)
