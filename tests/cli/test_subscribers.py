"""`publisher subscribers ...` run through the real CLI against a site folder and its SQLite database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import socket
import sqlite3

import pytest

from publisher.store import open_sqlite as open_store
from publisher.store.migrations import MIGRATIONS

from ..fixtures_site import SiteDir, post_text

MAILCHIMP = ("\ufeffEmail Address,First Name,Last Name\r\n"
             "Ann@Example.COM,Ann,Lee\r\n"
             "not-an-address,Nobody,\r\n"
             "bob@example.org,Bob,\r\n"
             "Ann@EXAMPLE.com,Ann,Again\r\n"
             "Cy@Example.com,Cy,\r\n"
             ",Empty,\r\n")


AT_NOON = {"PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_add_list_and_count(site_dir):
    assert site_dir.run("subscribers", "add", "Ann.Lee@EXAMPLE.com", "--name", "Ann Lee").stdout == (
        "Added Ann.Lee@example.com.\n")
    site_dir.run("subscribers", "add", "bob@example.org")
    again = site_dir.run("subscribers", "add", "Ann.Lee@example.COM")
    assert again.stdout == "Ann.Lee@example.com is already subscribed.\n"
    assert lines(site_dir.run("subscribers", "list").stdout) == [
        "Ann.Lee@example.com\tactive\tAnn Lee", "bob@example.org\tactive"]
    counts = lines(site_dir.run("subscribers", "count").stdout)
    assert counts[1].split() == ["active", "2"] and counts[-1].split() == ["total", "2"]
    assert (site_dir.root / "publisher.db").is_file()


def test_bad_address_is_one_clear_line_and_exit_1(site_dir):
    result = site_dir.run("subscribers", "add", "ann@example")
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        "Error: 'ann@example' is not a valid email address: The part after the @-sign is not valid. "
        "It should have a period."]
    assert site_dir.run("subscribers", "list").stdout == ""


def test_remove_unsubscribes_and_add_refuses_to_bring_back_pointing_to_invite(site_dir):
    site_dir.run("subscribers", "add", "ann@example.com")
    site_dir.run("subscribers", "add", "bob@example.com")
    assert site_dir.run("subscribers", "remove", "ann@example.com").stdout == "Unsubscribed ann@example.com.\n"
    assert site_dir.run("subscribers", "list", "--status", "active").stdout == "bob@example.com\tactive\n"
    assert site_dir.run("subscribers", "list", "--status", "unsubscribed").stdout == (
        "ann@example.com\tunsubscribed\n")
    again = site_dir.run("subscribers", "add", "ann@example.com")
    assert again.exit_code == 1 and lines(again.stderr) == [
        "Error: ann@example.com unsubscribed, so only their own confirmation can subscribe them: run "
        "`publisher subscribers invite ann@example.com` to send them a confirmation email"]
    assert site_dir.run("subscribers", "list", "--status", "active").stdout == "bob@example.com\tactive\n"
    missing = site_dir.run("subscribers", "remove", "nobody@example.com")
    assert missing.exit_code == 1 and "nobody@example.com is not a subscriber" in missing.stderr


def test_import_skips_bad_rows_by_line_keeps_the_rest_and_is_idempotent(site_dir):
    csv_file = site_dir.root / "mailchimp.csv"
    csv_file.write_bytes(MAILCHIMP.encode("utf-8"))
    first = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert first.exit_code == 1
    assert f"{csv_file}:3: 'not-an-address' is not a valid email address" in first.stderr
    assert f"{csv_file}:7: no email address in this row; row skipped" in first.stderr
    assert "Error: 2 bad rows were skipped" in first.stderr
    assert first.stdout == (f"{csv_file}: CSV with an email column: 3 active; 2 bad rows, 1 repeated row\n"
                            "Imported mailchimp.csv: 3 added, 0 made stricter, 0 unchanged, 0 kept off as "
                            "suppressed.\n")
    assert lines(site_dir.run("subscribers", "list").stdout) == [
        "Ann@example.com\tactive\tAnn Lee", "bob@example.org\tactive\tBob", "Cy@example.com\tactive\tCy"]
    second = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert second.stdout.splitlines()[-1] == (
        "Imported mailchimp.csv: 0 added, 0 made stricter, 3 unchanged, 0 kept off as suppressed.")
    assert len(lines(site_dir.run("subscribers", "list").stdout)) == 3


def test_import_does_not_resubscribe_people_who_left(site_dir):
    site_dir.run("subscribers", "add", "ann@example.com")
    site_dir.run("subscribers", "remove", "ann@example.com")
    (site_dir.root / "list.csv").write_text("email\nann@example.com\n")
    assert site_dir.run("subscribers", "import", str(site_dir.root / "list.csv"), "--status", "active").exit_code == 0
    assert site_dir.run("subscribers", "list").stdout == "ann@example.com\tunsubscribed\n"


def test_an_import_listing_someone_as_subscribed_and_unsubscribed_never_makes_them_mailable(site_dir):
    (site_dir.root / "list.csv").write_text("email,status\nBo@example.com,subscribed\nbo@example.com,unsubscribed\n")
    assert site_dir.run("subscribers", "import", str(site_dir.root / "list.csv")).exit_code == 0
    assert site_dir.run("subscribers", "list").stdout == "bo@example.com\tunsubscribed\n"
    assert site_dir.run("subscribers", "list", "--status", "active").stdout == ""


def test_import_of_a_file_without_an_email_column_fails_without_traceback(site_dir):
    (site_dir.root / "people.csv").write_text("Name,Phone\nAnn,0123\n")
    result = site_dir.run("subscribers", "import", str(site_dir.root / "people.csv"))
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"Error: {site_dir.root / 'people.csv'}:1: no email column in the header ('Name', 'Phone'); "
        "name it 'email' or 'Email Address'"]


def test_one_bad_row_and_one_new_subscriber_are_counted_in_the_singular(site_dir):
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email\nann@example.com\nnot-an-address\n")
    result = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert result.exit_code == 1 and "Error: 1 bad row was skipped (listed above)" in result.stderr
    assert result.stdout == (f"{csv_file}: CSV with an email column: 1 active; 1 bad row, 0 repeated rows\n"
                             "Imported list.csv: 1 added, 0 made stricter, 0 unchanged, 0 kept off as suppressed.\n")
    backup = site_dir.root / "backup.csv"
    assert site_dir.run("subscribers", "export", str(backup)).stderr == f"Exported 1 subscriber to {backup}.\n"


def test_export_round_trips_through_import(site_dir, tmp_path):
    csv_file = site_dir.root / "mailchimp.csv"
    csv_file.write_bytes(MAILCHIMP.encode("utf-8"))
    site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    site_dir.run("subscribers", "remove", "bob@example.org")
    exported = site_dir.run("subscribers", "export").stdout_bytes
    assert exported.startswith(b"email,name,status,created_at,")
    backup = tmp_path / "backup.csv"
    assert site_dir.run("subscribers", "export", str(backup)).stderr == f"Exported 3 subscribers to {backup}.\n"
    assert backup.read_bytes() == exported

    other = SiteDir(tmp_path / "other-site")
    imported = other.run("subscribers", "import", str(backup))
    assert imported.exit_code == 0
    assert imported.stdout.startswith(f"{backup}: publisher export: 2 active, 1 unsubscribed; 0 bad rows")
    assert first_columns(other.run("subscribers", "export").stdout) == first_columns(exported.decode())


def first_columns(export: str) -> list[list[str]]:
    """The columns `import` reads back from an export: email, name, status and created_at."""
    return [row[:4] for row in csv.reader(io.StringIO(export))]


def test_export_carries_the_consent_evidence_of_each_subscriber(site_dir):
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email,name,status,created_at\nann@example.com,Ann,active,2021-04-02T08:30:00+00:00\n"
                        "=bo@example.com,,unsubscribed,\n", encoding="utf-8")
    site_dir.run("subscribers", "import", str(csv_file), env=AT_NOON)
    site_dir.run("subscribers", "add", "cy@example.com", env=AT_NOON)
    rows = list(csv.DictReader(io.StringIO(site_dir.run("subscribers", "export").stdout)))
    assert [(r["email"], r["subscribed_at"][:16], r["confirmed_at"], r["source"], r["status_changed_at"][:16])
            for r in rows] == [("ann@example.com", "2021-04-02T08:30", "", "import list.csv (publisher export)", "2025-01-15T12:00"),
                               ("'=bo@example.com", "2025-01-15T12:00", "", "import list.csv (publisher export)", "2025-01-15T12:00"),
                               ("cy@example.com", "2025-01-15T12:00", "", "cli", "2025-01-15T12:00")]


@pytest.mark.parametrize("command", ["add", "invite", "remove", "forget", "show", "list", "count", "import",
                                     "export"])
def test_every_subscribers_command_has_help_with_an_example(site_dir, command):
    result = site_dir.run("subscribers", command, "--help")
    assert result.exit_code == 0 and "Example:" in result.stdout


def test_import_with_a_quote_left_open_names_its_line_and_imports_nothing(site_dir):
    site_dir.run("subscribers", "add", "old@example.com")
    rows = [f"person{i}@example.com,Person {i}" for i in range(1000)]
    rows[9] = '"person9@example.com,Person 9'
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email,name\n" + "\n".join(rows) + "\n")
    result = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert result.exit_code == 1 and result.stdout == ""
    assert lines(result.stderr) == [
        f"Error: {csv_file}:11: a quoted field starts on this line and runs on to line 1001, reading those lines "
        "as one row; close the quote on this line (or remove the line break inside it) and import again"]
    assert site_dir.run("subscribers", "list").stdout == "old@example.com\tactive\n"


def test_import_with_an_endless_field_is_one_clear_line_without_traceback(site_dir):
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text('email,name\nann@example.com,Ann\nbob@example.com,"Bob' + " and more" * 20_000 + "\n")
    result = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"Error: {csv_file}:3: a field is longer than 131,072 characters, longer than any name or address; "
        "close the quote opened on this line and import again"]
    assert site_dir.run("subscribers", "list").stdout == ""


def test_names_with_line_breaks_or_control_characters_are_refused_on_add_and_import(site_dir):
    for name in ("Ann\r\nBcc: everyone", "Ann\x1b[2J"):
        result = site_dir.run("subscribers", "add", "ann@example.com", "--name", name)
        assert result.exit_code == 1
        assert lines(result.stderr) == [
            "Error: --name: remove the line breaks and control characters (tabs included) from it"]
    assert site_dir.run("subscribers", "add", "ann\r\n@example.com").exit_code == 1
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email;name\nbob@example.com;Bob\ncy@example.com;Cy\tTab\n")
    result = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert result.exit_code == 1
    assert (f"{csv_file}:3: name: remove the line breaks and control characters (tabs included) from it; "
            "row skipped") in result.stderr
    assert site_dir.run("subscribers", "list").stdout == "bob@example.com\tactive\tBob\n"


def test_one_mailbox_is_one_subscriber_on_add_and_import_whatever_its_case(site_dir):
    assert site_dir.run("subscribers", "add", "alice@example.com", "--name", "Alice").stdout == (
        "Added alice@example.com.\n")
    assert site_dir.run("subscribers", "add", "Alice@Example.com").stdout == "alice@example.com is already subscribed.\n"
    site_dir.run("subscribers", "remove", "ALICE@example.com")
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email,name\nAlice@example.com,Alice Again\nBob@example.com,Bob\nbob@EXAMPLE.com,Bob\n")
    result = site_dir.run("subscribers", "import", str(csv_file), "--status", "active")
    assert result.stdout.splitlines()[-1] == (
        "Imported list.csv: 1 added, 0 made stricter, 0 unchanged, 1 kept off as suppressed.")
    assert lines(site_dir.run("subscribers", "list").stdout) == [
        "alice@example.com\tunsubscribed\tAlice", "Bob@example.com\tactive\tBob"]


COMMANDS_THAT_OPEN_THE_DATABASE = [("subscribers", "add", "ann@example.com"), ("subscribers", "list"),
                                   ("subscribers", "import", "{root}/list.csv"), ("subscribers", "export"),
                                   ("status",), ("send", "hello"), ("publish",), ("serve", "--port", "{port}")]


@pytest.fixture
def taken_port():
    """A port on 127.0.0.1 that is already listening, so that a `serve` that got past the database stops there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run_with_database(site_dir, path: str, command: tuple[str, ...], port: int):
    site_dir.config(site_dir.root.joinpath("publisher.toml").read_text() + f'[database]\npath = "{path}"\n')
    site_dir.post("hello.md", post_text("Hello"))
    (site_dir.root / "list.csv").write_text("email,status\nann@example.com,active\n")
    return site_dir.run(*(part.format(root=site_dir.root, port=port) for part in command),
                        env={"PUBLISHER_SECRET_KEY": "a-test-secret-that-is-long-enough"})


@pytest.mark.parametrize("command", COMMANDS_THAT_OPEN_THE_DATABASE)
def test_a_database_path_in_a_missing_folder_is_one_clear_line_and_creates_nothing(site_dir, command, taken_port):
    result = run_with_database(site_dir, "data/publisher.db", command, taken_port)
    assert result.exit_code == 1 and result.stdout == ""
    assert lines(result.stderr) == [
        f"Error: [database] path: the folder {site_dir.root / 'data'} does not exist; create it "
        f"(mkdir -p {site_dir.root / 'data'}) or correct the path in publisher.toml"]
    assert not (site_dir.root / "data").exists() and not (site_dir.root / "_site").exists()


@pytest.mark.parametrize("command", COMMANDS_THAT_OPEN_THE_DATABASE)
def test_a_database_path_that_is_a_folder_is_one_clear_line(site_dir, command, taken_port):
    (site_dir.root / "data").mkdir()
    result = run_with_database(site_dir, "data", command, taken_port)
    assert result.exit_code == 1 and result.stdout == ""
    assert lines(result.stderr) == [
        f"Error: [database] path: {site_dir.root / 'data'} is a folder; name a file in it, such as "
        f"{site_dir.root / 'data' / 'publisher.db'}"]
    assert list((site_dir.root / "data").iterdir()) == [] and not (site_dir.root / "_site").exists()


@pytest.mark.parametrize("command", COMMANDS_THAT_OPEN_THE_DATABASE)
def test_a_database_path_that_is_not_a_database_is_one_clear_line_and_left_as_it_was(site_dir, command, taken_port):
    notes = site_dir.root / "notes.txt"
    notes.write_bytes(b"Shopping list: towels, oil, a second massage table\n" * 200)
    result = run_with_database(site_dir, "notes.txt", command, taken_port)
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"Error: [database] path: {notes} cannot be used: file is not a database; it is not a publisher "
        "database: point the setting at the right file"]
    assert notes.read_bytes() == b"Shopping list: towels, oil, a second massage table\n" * 200


def test_a_database_from_a_newer_publisher_is_refused_and_left_as_it_was(site_dir):
    path = site_dir.root / "publisher.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = path.read_bytes()
    result = site_dir.run("subscribers", "list")
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"Error: [database] path: this database was last used by a newer publisher (schema version 999; this one "
        f"knows {len(MIGRATIONS)}); upgrade publisher "
        "before using it"]
    assert path.read_bytes() == before


def test_list_and_count_show_complaints(site_dir):
    site_dir.run("subscribers", "add", "ann@example.com")
    with open_store(site_dir.root / "publisher.db") as store:
        store.set_subscriber_status("ann@example.com", "complained", now=dt.datetime(2025, 1, 15, tzinfo=dt.UTC))
    assert site_dir.run("subscribers", "list", "--status", "complained").stdout == "ann@example.com\tcomplained\n"
    assert "complained          1" in site_dir.run("subscribers", "count").stdout
