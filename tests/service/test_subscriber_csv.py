"""Reading subscriber CSVs as other services export them, and writing ours so that it reads back unchanged."""

from __future__ import annotations

import datetime as dt

import pytest

from publisher.errors import ContentError
from publisher.service.subscriber_csv import (
    decode_csv,
    parse_csv,
    validate_address,
    write_csv,
)
from publisher.store import NewSubscriber, Subscriber

WHEN = dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC)


def emails(parsed) -> list[str]:
    return [s.email for s in parsed.subscribers]


def test_mailchimp_export_with_bom_and_windows_line_endings():
    raw = "\ufeffEmail Address,First Name,Last Name\r\nAnn@Example.COM,Ann,Lee\r\nbob@example.org,Bob,\r\n"
    parsed = parse_csv(decode_csv(raw.encode("utf-8"), "list.csv"), "list.csv")
    assert parsed.subscribers == (NewSubscriber("Ann@example.com", "Ann Lee"), NewSubscriber("bob@example.org", "Bob"))
    assert parsed.problems == () and parsed.duplicates == ()


@pytest.mark.parametrize("email_header", ["email", "Email", "Email Address", "E-mail", "EMAIL_ADDRESS"])
@pytest.mark.parametrize("name_header", ["name", "Name", "Full Name"])
def test_email_and_name_headers_are_recognised_in_any_usual_spelling(email_header, name_header):
    parsed = parse_csv(f"id,{name_header},{email_header}\n7,Ann Lee,ann@example.com\n", "list.csv")
    assert parsed.subscribers == (NewSubscriber("ann@example.com", "Ann Lee"),)


def test_name_column_is_optional_and_semicolons_work_too():
    assert parse_csv("Email;Signed up\nann@example.com;2024\n", "x.csv").subscribers == (
        NewSubscriber("ann@example.com"),)


def test_bad_rows_are_reported_by_line_and_the_rest_still_read():
    text = ("email,name,status\n"
            "ann@example.com,Ann,\n"
            "not-an-address,Nobody,\n"
            ",No address,\n"
            "\n"
            "cy@example.com,Cy,subscribed\n"
            "dee@example.com,Dee,paused\n"
            'eve@example.com,"Eve, the second",unsubscribed\n'
            "bob@,Bob,\n")
    parsed = parse_csv(text, "list.csv")
    assert emails(parsed) == ["ann@example.com", "cy@example.com", "eve@example.com"]
    assert [s.status for s in parsed.subscribers] == ["active", "active", "unsubscribed"]
    problems = {p.line: p.message for p in parsed.problems}
    assert list(problems) == [3, 4, 7, 9]
    assert "'not-an-address' is not a valid email address" in problems[3]
    assert problems[4] == "no email address in this row"
    assert "status 'paused'" in problems[7]
    assert "'bob@' is not a valid email address" in problems[9]


def test_duplicates_ignore_case():
    text = "email\nann@example.com\nann@EXAMPLE.com\nAnn@example.com\n ANN@example.com \n"
    parsed = parse_csv(text, "list.csv")
    assert emails(parsed) == ["ann@example.com"]
    assert [(d.line, d.message) for d in parsed.duplicates] == [
        (3, "ann@example.com repeats line 2"), (4, "Ann@example.com repeats line 2"),
        (5, "ANN@example.com repeats line 2")]


@pytest.mark.parametrize("rows", [("Bo@example.com,subscribed", "bo@example.com,unsubscribed"),
                                  ("bo@example.com,unsubscribed", "Bo@example.com,subscribed"),
                                  ("bo@example.com,subscribed", "bo@example.com,unsubscribed")])
def test_a_mailbox_listed_twice_keeps_the_stricter_status_whichever_row_comes_first(rows):
    parsed = parse_csv("email,status\n" + "\n".join(rows) + "\n", "list.csv")
    assert [(s.email.lower(), s.status) for s in parsed.subscribers] == [("bo@example.com", "unsubscribed")]
    assert [d.line for d in parsed.duplicates] == [3]


def test_a_bare_list_of_addresses_needs_no_header():
    assert emails(parse_csv("ann@example.com\r\nbob@example.com\r\n", "list.txt")) == [
        "ann@example.com", "bob@example.com"]


def test_a_file_without_an_email_column_is_refused_with_the_fix():
    with pytest.raises(ContentError) as caught:
        parse_csv("\nName,Phone\nAnn,0123\n", "people.csv")
    assert caught.value.line == 2
    assert "no email column in the header ('Name', 'Phone'); name it 'email'" in str(caught.value)
    with pytest.raises(ContentError, match="the file is empty"):
        parse_csv("\r\n", "empty.csv")


def test_text_that_is_not_utf8_is_refused_naming_the_line():
    with pytest.raises(ContentError, match="save the file as 'CSV UTF-8'") as caught:
        decode_csv("email\nann@example.com\nzo\xeb@example.com\n".encode("latin-1"), "list.csv")
    assert caught.value.line == 3


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
    parsed = parse_csv(text, "export.csv")
    assert parsed.subscribers == tuple(NewSubscriber(p.email, p.name, p.status, WHEN) for p in people)
    assert parsed.problems == ()


def test_a_quote_left_open_is_an_error_at_its_line_not_a_thousand_lost_rows():
    rows = [f"person{i}@example.com,Person {i}" for i in range(1000)]
    rows[9] = '"person9@example.com,Person 9'
    with pytest.raises(ContentError) as caught:
        parse_csv("email,name\n" + "\n".join(rows) + "\n", "list.csv")
    assert caught.value.line == 11
    assert "a quoted field starts on this line and runs on to line 1001" in str(caught.value)
    assert "close the quote" in str(caught.value)


def test_a_line_break_inside_a_quoted_name_is_refused_naming_its_line():
    with pytest.raises(ContentError) as caught:
        parse_csv('email,name\nann@example.com,Ann\r\neve@example.com,"Eve\r\nSecond line"\r\n', "list.csv")
    assert (caught.value.line, str(caught.value.path)) == (3, "list.csv")
    assert "runs on to line 4" in str(caught.value)


def test_a_field_longer_than_any_address_is_an_error_naming_the_line():
    text = "email,name\nann@example.com,Ann\nbob@example.com,\"" + "x" * 200_000 + "\n"
    with pytest.raises(ContentError) as caught:
        parse_csv(text, "list.csv")
    assert caught.value.line == 3
    assert "longer than 131,072 characters" in str(caught.value)


@pytest.mark.parametrize("name", ["Ann\tLee", "Ann\x1b[31mLee", "Ann\u2028Lee", "Ann\x85Lee"])
def test_control_characters_in_a_name_are_a_bad_row_with_its_line(name):
    parsed = parse_csv(f"email,first name,last name\nbob@example.com,Bob,\nann@example.com,{name},\n"
                       .replace(",", ";"), "list.csv")
    assert emails(parsed) == ["bob@example.com"]
    [problem] = parsed.problems
    assert problem.line == 3
    assert "name: remove the line breaks and control characters" in problem.message


@pytest.mark.parametrize("address", ["ann\u2028@example.com", "ann\t@example.com", "ann@exam\x00ple.com"])
def test_control_characters_in_an_address_are_refused(address):
    with pytest.raises(ValueError, match="is not a valid email address"):
        validate_address(address)
