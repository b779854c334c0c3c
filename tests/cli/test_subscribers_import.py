"""`publisher subscribers import` of other services' exports, through the real CLI into a real SQLite file: what
each file is recognised as, that nobody who left is made mailable, and that a bad file writes nothing."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "service" / "list_import" / "data"
MAILCHIMP = ["subscribed_members_export_5d1b3a.csv", "unsubscribed_members_export_5d1b3a.csv",
             "cleaned_members_export_5d1b3a.csv"]


def listed(site_dir) -> dict[str, str]:
    rows = site_dir.run("subscribers", "list").stdout.splitlines()
    return {row.split("\t")[0]: row.split("\t")[1] for row in rows}


def copy(site_dir, name: str) -> Path:
    return Path(shutil.copy(DATA / name, site_dir.root / name))


def test_mailchimp_unsubscribed_and_cleaned_exports_never_become_active(site_dir):
    files = [copy(site_dir, name) for name in MAILCHIMP[1:]]
    result = site_dir.run("subscribers", "import", *map(str, files))
    assert listed(site_dir) == {"dee@example.com": "unsubscribed", "eve@example.com": "unsubscribed",
                                "fay@example.org": "bounced"}
    out = result.stdout.splitlines()
    assert out[0] == (f"{files[0]}: Mailchimp (unsubscribed export): 2 unsubscribed; 1 bad row, 0 repeated rows")
    assert out[1] == ("Imported unsubscribed_members_export_5d1b3a.csv: 2 added, 0 made stricter, 0 unchanged, "
                      "0 kept off as suppressed.")
    assert out[2] == f"{files[1]}: Mailchimp (cleaned export): 1 bounced; 0 bad rows, 0 repeated rows"
    assert result.exit_code == 1 and f"{files[0]}:4: 'not-an-address' is not a valid email" in result.stderr


def test_the_mailchimp_zip_as_downloaded_imports_each_status_from_its_file(site_dir):
    archive = site_dir.root / "audience.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in MAILCHIMP:
            zipped.write(DATA / name, name)
    result = site_dir.run("subscribers", "import", str(archive))
    assert listed(site_dir) == {"fay@example.org": "bounced", "ann@example.com": "active", "bob@example.com": "active",
                                "cy@example.com": "active", "dee@example.com": "unsubscribed",
                                "eve@example.com": "unsubscribed"}
    assert f"{archive}:subscribed_members_export_5d1b3a.csv: Mailchimp (subscribed export): 3 active" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "without a zone" in line]
    assert warnings == [f"{archive}:{name}: times without a zone were read in Europe/London, the site's time zone"
                        for name in sorted(MAILCHIMP)]


def test_buttondown_ghost_and_listmonk_statuses_are_kept(site_dir):
    files = [copy(site_dir, name) for name in
             ("buttondown-subscribers.csv", "member-export-2024-05-01.csv", "listmonk-subscribers.csv")]
    result = site_dir.run("subscribers", "import", *map(str, files))
    people = listed(site_dir)
    assert {email: people[email] for email in ("max@example.com", "lou@example.com", "ned@example.com")} == {
        "max@example.com": "unsubscribed", "lou@example.com": "pending", "ned@example.com": "bounced"}
    assert (people["rae@example.com"], people["sam@example.com"], people["pat@example.com"]) == (
        "unsubscribed", "unsubscribed", "active")
    assert (people["tia@example.com"], people["uma@example.com"], people["vic@example.com"]) == (
        "active", "unsubscribed", "unsubscribed")
    assert f"{files[1]}: Ghost (members export): 1 active, 2 unsubscribed; 0 bad rows" in result.stdout


def test_a_time_without_a_zone_is_read_in_the_site_zone_with_one_warning_not_a_skipped_row(site_dir):
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("email,status,created_at\nann@example.com,active,2024-07-01 09:00:00\n"
                        "bob@example.com,active,2024-07-02 09:00:00\n")
    result = site_dir.run("subscribers", "import", str(csv_file))
    assert result.exit_code == 0
    assert result.stderr == f"{csv_file}: times without a zone were read in Europe/London, the site's time zone\n"
    exported = [line.split(",")[:5] for line in site_dir.run("subscribers", "export").stdout.splitlines()]
    assert exported[1:] == [["ann@example.com", "", "active", *["2024-07-01T08:00:00+00:00"] * 2],
                            ["bob@example.com", "", "active", *["2024-07-02T08:00:00+00:00"] * 2]]


def test_a_plain_list_imports_only_when_the_author_gives_a_status(site_dir):
    csv_file = site_dir.root / "list.csv"
    csv_file.write_text("Email,Name\nann@example.com,Ann\nbob@example.com,Bob\n")
    refused = site_dir.run("subscribers", "import", str(csv_file))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == (
        f"Error: {csv_file}:1: this file does not say whether these people agreed to be mailed (it has no status "
        "column); import it with --status active if they all asked for the newsletter, or --status unsubscribed "
        "for a list of people to keep off it\n")
    assert not (site_dir.root / "publisher.db").exists()
    assert site_dir.run("subscribers", "import", str(csv_file), "--status", "active").exit_code == 0
    assert listed(site_dir) == {"ann@example.com": "active", "bob@example.com": "active"}


def test_status_active_never_overrides_an_unsubscribe_the_file_states(site_dir):
    csv_file = copy(site_dir, "member-export-2024-05-01.csv")
    assert site_dir.run("subscribers", "import", str(csv_file), "--status", "active").exit_code == 0
    assert listed(site_dir) == {"pat@example.com": "active", "rae@example.com": "unsubscribed",
                                "sam@example.com": "unsubscribed"}


def test_status_unsubscribed_imports_a_suppression_list(site_dir):
    csv_file = site_dir.root / "do-not-mail.csv"
    csv_file.write_text("email,status\nann@example.com,active\nbob@example.com,\n")
    assert site_dir.run("subscribers", "import", str(csv_file), "--status", "unsubscribed").exit_code == 0
    assert listed(site_dir) == {"ann@example.com": "unsubscribed", "bob@example.com": "unsubscribed"}


def test_dry_run_reports_each_file_and_writes_nothing(site_dir):
    files = [copy(site_dir, name) for name in ("kit-subscribers.csv", "mailerlite-subscribers.csv")]
    result = site_dir.run("subscribers", "import", *map(str, files), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{files[0]}: Kit (subscriber export): 1 pending, 1 active, 1 unsubscribed, 1 bounced, 1 complained; "
        "0 bad rows, 0 repeated rows",
        f"{files[1]}: MailerLite (subscriber export): 1 pending, 1 active, 1 unsubscribed, 1 bounced, "
        "1 complained; 0 bad rows, 0 repeated rows",
        "Dry run: 10 new addresses, 0 already on the list; nothing was written."]
    assert not (site_dir.root / "publisher.db").exists()


def test_dry_run_counts_the_addresses_already_on_the_list_and_changes_nothing(site_dir):
    site_dir.run("subscribers", "add", "WES@example.com")
    database = site_dir.root / "publisher.db"
    before = database.read_bytes()
    result = site_dir.run("subscribers", "import", str(copy(site_dir, "kit-subscribers.csv")), "--dry-run")
    assert result.stdout.splitlines()[-1] == "Dry run: 4 new addresses, 1 already on the list; nothing was written."
    assert database.read_bytes() == before
    assert listed(site_dir) == {"WES@example.com": "active"}


def test_a_file_that_fails_halfway_stops_the_import_before_anything_is_written(site_dir):
    good = copy(site_dir, "email_list.quiet-letters.csv")
    broken = site_dir.root / "broken.csv"
    broken.write_text('email,status\nann@example.com,active\n"bob@example.com,active\ncy@example.com,active\n')
    site_dir.run("subscribers", "add", "old@example.com")
    result = site_dir.run("subscribers", "import", str(good), str(broken))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {broken}:3: a quoted field starts on this line")
    assert listed(site_dir) == {"old@example.com": "active"}


def test_a_mailbox_in_two_files_keeps_the_stricter_status_whatever_the_order(site_dir):
    left = site_dir.root / "left.csv"
    left.write_text("email,status\nAnn@example.com,unsubscribed\n")
    stayed = site_dir.root / "stayed.csv"
    stayed.write_text("email,status\nann@example.com,active\n")
    result = site_dir.run("subscribers", "import", str(left), str(stayed))
    assert listed(site_dir) == {"Ann@example.com": "unsubscribed"}
    assert f"{stayed}: CSV with an email column: nobody; 0 bad rows, 0 repeated rows, 1 address left to a " \
           "stricter file" in result.stdout


def test_bad_input_is_one_clear_line_each_never_a_traceback(site_dir):
    cases = {"empty.csv": b"", "no-csv.zip": _zip({"notes.txt": b"hi"}), "broken.zip": b"PK\x03\x04broken",
             "mixed.csv": b"email,subscribed_to_emails,subscriber_type\nann@example.com,true,regular\n"}
    for name, raw in cases.items():
        (site_dir.root / name).write_bytes(raw)
        result = site_dir.run("subscribers", "import", str(site_dir.root / name))
        assert result.exit_code == 1 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith(f"Error: {site_dir.root / name}")


def test_utf16_semicolon_export_from_excel_imports(site_dir):
    csv_file = site_dir.root / "excel.csv"
    csv_file.write_bytes("Email;Name;Status\r\nzoë@example.de;Zoë;subscribed\r\n".encode("utf-16"))
    assert site_dir.run("subscribers", "import", str(csv_file)).exit_code == 0
    assert site_dir.run("subscribers", "list").stdout == "zoë@example.de\tactive\tZoë\n"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_unreadable_row_keeps_its_address_from_being_imported_by_any_other_row(site_dir):
    header = "Email Address,First Name,OPTIN_TIME,CONFIRM_TIME"
    (site_dir.root / "subscribed_members_export_1.csv").write_text(
        f"{header}\ndan@example.com,Dan,2019-01-01 10:00:00,2019-01-01 10:01:00\n"
        "gil@example.com,Gil,2019-01-01 10:00:00,2019-01-01 10:01:00\n")
    (site_dir.root / "unsubscribed_members_export_1.csv").write_text(
        f"{header},UNSUB_TIME\nDAN@example.com,Dan,2019-01-01 10:00:00,,last Tuesday\n")
    (site_dir.root / "list.csv").write_text("email,status\nhal@example.com,active\nhal@example.com,unsubcribed\n")
    result = site_dir.run("subscribers", "import", *(str(site_dir.root / name) for name in (
        "subscribed_members_export_1.csv", "unsubscribed_members_export_1.csv", "list.csv")))
    assert listed(site_dir) == {"gil@example.com": "active"}
    assert result.exit_code == 1
    assert ("unsubscribed_members_export_1.csv:2: unsub_time: 'last Tuesday' is not a date and time"
            in result.stderr)
    assert "row skipped, and so is every other row for DAN@example.com" in result.stderr
    assert "list.csv:3: status: 'unsubcribed' is not a value" in result.stderr
