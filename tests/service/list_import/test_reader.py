"""Reading one CSV: encodings and separators spreadsheets write, bad rows by line, the author's --status, times
without a zone, and the rows that must stop an import before anything is written."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from publisher.errors import ContentError
from publisher.service.list_import import parse_export
from publisher.store import NewSubscriber

LONDON = ZoneInfo("Europe/London")


def parse(text: str | bytes, status: str | None = None, name: str = "list.csv"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    [parsed] = parse_export(name, raw, LONDON, status)
    return parsed


def emails(parsed) -> list[str]:
    return [s.email for s in parsed.subscribers]


def test_a_plain_list_without_status_is_refused_unless_the_author_vouches_with_status():
    with pytest.raises(ContentError) as caught:
        parse("Email,Name\nann@example.com,Ann\n")
    assert caught.value.line == 1
    assert "does not say whether these people agreed to be mailed" in str(caught.value)
    assert "--status active" in str(caught.value)
    parsed = parse("Email,Name\nann@example.com,Ann\n", status="active")
    assert parsed.service == "CSV with an email column"
    assert parsed.subscribers == (NewSubscriber("ann@example.com", "Ann", "active"),)


def test_a_bare_list_of_addresses_needs_no_header_but_needs_a_status():
    with pytest.raises(ContentError, match="--status"):
        parse("ann@example.com\r\nbob@example.com\r\n", name="list.txt")
    parsed = parse("ann@example.com\r\nbob@example.com\r\n", status="unsubscribed", name="list.txt")
    assert parsed.service == "list of addresses"
    assert [(s.email, s.status) for s in parsed.subscribers] == [
        ("ann@example.com", "unsubscribed"), ("bob@example.com", "unsubscribed")]


@pytest.mark.parametrize("stated, option, expected", [
    ("unsubscribed", "active", "unsubscribed"), ("pending", "active", "pending"), ("bounced", "active", "bounced"),
    ("active", "unsubscribed", "unsubscribed"), ("bounced", "complained", "complained"),
    ("complained", "unsubscribed", "complained"), ("", "active", "active")])
def test_status_never_makes_a_row_more_mailable_than_the_file_says(stated, option, expected):
    parsed = parse(f"email,status\nann@example.com,{stated}\n", status=option)
    assert [s.status for s in parsed.subscribers] == [expected]


def test_a_status_column_of_our_words_needs_no_option_but_an_empty_cell_is_a_bad_row():
    parsed = parse("email,name,status\nann@example.com,Ann,subscribed\nbob@example.com,Bob,\n"
                   "cy@example.com,Cy,complained\ndee@example.com,Dee,paused\n")
    assert [(s.email, s.status) for s in parsed.subscribers] == [
        ("ann@example.com", "active"), ("cy@example.com", "complained")]
    problems = {p.line: p.message for p in parsed.problems}
    assert list(problems) == [3, 5]
    assert problems[3].startswith("status: empty; fill it in, or import with --status")
    assert problems[5].startswith("status: 'paused' is not a value this export uses")


def test_bad_rows_are_reported_by_line_and_the_rest_still_read():
    parsed = parse("email,name\nann@example.com,Ann\nnot-an-address,Nobody\n,No address\n\n"
                   "bob@,Bob\ncy@example.com,Cy\n", status="active")
    assert emails(parsed) == ["ann@example.com", "cy@example.com"]
    problems = {p.line: p.message for p in parsed.problems}
    assert list(problems) == [3, 4, 6]
    assert "'not-an-address' is not a valid email address" in problems[3]
    assert problems[4] == "no email address in this row"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
def test_excel_exports_in_utf8_with_bom_and_utf16_read_the_same(encoding):
    text = "Email Address\tFirst Name\tStatus\r\nzoë@example.de\tZoë\tunsubscribed\r\n"
    raw = text.encode(encoding) if encoding != "utf-16-le" else b"\xff\xfe" + text.encode("utf-16-le")
    parsed = parse(raw)
    assert [(s.email, s.name, s.status) for s in parsed.subscribers] == [("zoë@example.de", "Zoë", "unsubscribed")]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_comma_semicolon_and_tab_separated_files_read_the_same(separator):
    parsed = parse(separator.join(["email", "name", "status"]) + "\n"
                   + separator.join(["ann@example.com", "Ann Lee", "bounced"]) + "\n")
    assert parsed.subscribers == (NewSubscriber("ann@example.com", "Ann Lee", "bounced"),)


def test_text_that_is_not_utf8_is_refused_naming_the_line():
    with pytest.raises(ContentError, match="save the file as 'CSV UTF-8'") as caught:
        parse("email\nann@example.com\nzo\xeb@example.com\n".encode("latin-1"))
    assert caught.value.line == 3


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_an_empty_file_is_one_clear_error(raw):
    with pytest.raises(ContentError, match="the file is empty; expected a header row with an email column"):
        parse(raw, status="active")


def test_a_file_without_an_email_column_is_refused_with_the_fix():
    with pytest.raises(ContentError) as caught:
        parse("\nName,Phone\nAnn,0123\n")
    assert caught.value.line == 2
    assert "no email column in the header ('Name', 'Phone'); name it 'email'" in str(caught.value)


def test_a_quoted_line_break_in_a_column_not_imported_is_harmless():
    text = ('Email Address,First Name,NOTES,MEMBER_RATING,LEID\r\n'
            'ann@example.com,Ann,"Met at the fair\r\nasked for the letter",2,1\r\n'
            'bob@example.com,Bob,,2,2\r\n')
    parsed = parse(text, name="subscribed_members_export_1.csv")
    assert emails(parsed) == ["ann@example.com", "bob@example.com"] and parsed.problems == ()


def test_a_quote_left_open_is_an_error_at_its_line_not_a_thousand_lost_rows():
    rows = [f"person{i}@example.com,Person {i}" for i in range(1000)]
    rows[9] = '"person9@example.com,Person 9'
    with pytest.raises(ContentError) as caught:
        parse("email,name\n" + "\n".join(rows) + "\n", status="active")
    assert caught.value.line == 11
    assert "a quoted field starts on this line and runs on to line 1001" in str(caught.value)


def test_a_quote_left_open_in_an_ignored_column_still_stops_the_import():
    rows = [f"p{i}@example.com,,{i}" for i in range(50)]
    rows[5] = 'p5@example.com,"open note,5'
    with pytest.raises(ContentError) as caught:
        parse("Email Address,NOTES,LEID\n" + "\n".join(rows) + "\n", name="subscribed_members_export_1.csv")
    assert caught.value.line == 7


def test_a_quote_left_open_in_a_last_ignored_column_cannot_swallow_the_rows_up_to_the_next_quote():
    rows = [f"p{i}@example.com,P{i},{i}," for i in range(10)]
    rows[2] = 'p2@example.com,P2,2,"left open'
    rows[6] = 'p6@example.com,P6,6,"a note"'
    with pytest.raises(ContentError) as caught:
        parse("Email Address,First Name,LEID,NOTES\n" + "\n".join(rows) + "\n", name="subscribed_members_export_1.csv")
    assert caught.value.line == 4
    assert "runs on to line 8" in str(caught.value)


def test_a_line_break_inside_a_quoted_name_is_refused_naming_its_line():
    with pytest.raises(ContentError) as caught:
        parse('email,name\r\nann@example.com,Ann\r\neve@example.com,"Eve\r\nSecond line"\r\n', status="active")
    assert (caught.value.line, str(caught.value.path)) == (3, "list.csv")
    assert "runs on to line 4" in str(caught.value)


def test_a_field_longer_than_any_address_is_an_error_naming_the_line():
    text = "email,name\nann@example.com,Ann\nbob@example.com,\"" + "x" * 200_000 + "\n"
    with pytest.raises(ContentError) as caught:
        parse(text, status="active")
    assert caught.value.line == 3 and "longer than 131,072 characters" in str(caught.value)


@pytest.mark.parametrize("name", ["Ann\tLee", "Ann\x1b[31mLee", "Ann\u2028Lee", "Ann\x85Lee"])
def test_control_characters_in_a_name_are_a_bad_row_with_its_line(name):
    parsed = parse(f"email;first name;last name\nbob@example.com;Bob;\nann@example.com;{name};\n", status="active")
    assert emails(parsed) == ["bob@example.com"]
    [problem] = parsed.problems
    assert problem.line == 3 and "name: remove the line breaks and control characters" in problem.message


def test_duplicates_differing_in_case_keep_the_stricter_status_whichever_comes_first():
    parsed = parse("email,status\nBo@example.com,subscribed\nbo@EXAMPLE.com,unsubscribed\nBO@example.com,active\n")
    assert [(s.email, s.status) for s in parsed.subscribers] == [("bo@example.com", "unsubscribed")]
    assert [(d.line, d.message) for d in parsed.duplicates] == [
        (3, "bo@example.com repeats line 2; this row's stricter status, unsubscribed, is the one imported"),
        (4, "BO@example.com repeats line 2")]


def test_naive_times_are_read_in_the_site_zone_and_flagged_once_and_zoned_ones_kept():
    parsed = parse("email,status,created_at\nann@example.com,active,2024-07-01 09:00:00\n"
                   "bob@example.com,active,2024-01-01T09:00:00+02:00\ncy@example.com,active,2024-01-02\n")
    ann, bob, cy = parsed.subscribers
    assert ann.created_at == dt.datetime(2024, 7, 1, 9, tzinfo=LONDON)
    assert ann.created_at.utcoffset() == dt.timedelta(hours=1)
    assert bob.created_at == dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)
    assert cy.created_at == dt.datetime(2024, 1, 2, tzinfo=LONDON)
    assert parsed.naive_times and parsed.problems == ()


def test_a_time_that_is_not_one_is_a_bad_row_naming_the_column():
    parsed = parse("email,status,created_at\nann@example.com,active,3rd May\n")
    [problem] = parsed.problems
    assert problem.message.startswith("created_at: '3rd May' is not a date and time")


def test_our_own_export_is_recognised_and_reads_back_with_defused_cells():
    parsed = parse("email,name,status,created_at\r\n'-bob@example.com,'=HYPERLINK(1),unsubscribed,"
                   "2025-06-01T08:30:00+00:00\r\n")
    assert parsed.service == "publisher export"
    assert parsed.subscribers == (NewSubscriber("-bob@example.com", "=HYPERLINK(1)", "unsubscribed",
                                                dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC)),)
