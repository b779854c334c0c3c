"""`publisher subscribers show`, `forget` and `invite` through the real CLI, beside the subscription service on
real HTTP on 127.0.0.1 and a real SMTP server where mail is involved."""

from __future__ import annotations

import datetime as dt
import html
import mailbox
import os
import re
import sqlite3
import subprocess
import sys
from urllib.parse import urljoin

from click.testing import CliRunner

from publisher.cli import main
from publisher.store import NewSubscriber

from ..fixtures_web import SECRET, Service, confirm_link, press_confirm, run_command, site_service

ADDRESS = "ann@example.com"
OLD_KEY = "an-older-secret-that-is-long-enough"
service = site_service


def history_lines(service: Service, address: str = ADDRESS) -> list[str]:
    result = run_command(service, "subscribers", "show", address)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def later(service: Service, **delta) -> None:
    service.clock.advance(dt.timedelta(**delta))


def test_show_prints_a_whole_life_of_consent_in_the_site_s_time_zone(service):
    service.post("/subscribe", {"email": ADDRESS, "name": "Ann Lee"})
    later(service, minutes=3)
    assert press_confirm(service, confirm_link(service.mails(ADDRESS)[0])).status == 200
    later(service, days=150)
    welcome = service.mails(ADDRESS)[-1]
    assert service.post(welcome["List-Unsubscribe"].strip("<>"), {"List-Unsubscribe": "One-Click"}).status == 200
    later(service, days=1)
    service.post("/subscribe", {"email": ADDRESS})  # someone signs the address up again; nobody confirms
    assert history_lines(service) == [
        "ann@example.com",
        "status: unsubscribed",
        "name: Ann Lee",
        "consent history:",
        "  2025-01-15 12:00 GMT  subscribed   form      127.0.0.1",
        "  2025-01-15 12:03 GMT  confirmed    link      127.0.0.1",
        "  2025-06-14 13:03 BST  unsubscribed one-click 127.0.0.1",
        "  2025-06-15 13:03 BST  subscribed   form      127.0.0.1",
    ]


def test_the_unsubscribe_button_on_the_page_is_recorded_as_the_link_not_one_click(service):
    service.store.add_subscribers([NewSubscriber(ADDRESS)], "list.csv", now=service.clock())
    service.post("/subscribe", {"email": "bo@example.com"})
    press_confirm(service, confirm_link(service.mails("bo@example.com")[0]))
    link = service.mails("bo@example.com")[-1]["List-Unsubscribe"].strip("<>")
    page = service.get(link)
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)">', page.text)[1])
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', page.text))
    assert service.post(urljoin(link, action), fields).status == 200
    assert history_lines(service, "bo@example.com")[-1].split()[3:] == ["unsubscribed", "link", "127.0.0.1"]


def test_show_of_an_unknown_address_is_one_clear_line_and_exit_1(service):
    result = run_command(service, "subscribers", "show", "nobody@example.com")
    assert result.exit_code == 1
    assert result.stderr == ("Error: nobody@example.com is not on the list; `publisher subscribers list` shows "
                             "who is\n")


def test_remove_and_a_bounce_are_in_the_history_with_how_and_the_server_s_reply(service):
    run_command(service, "subscribers", "add", ADDRESS)
    run_command(service, "subscribers", "add", "gone@example.com")
    service.smtp.reply_at_rcpt("gone@example.com", "550 5.1.1 No such user", times=None)
    assert run_command(service, "send", "hello").exit_code == 1
    assert run_command(service, "subscribers", "remove", ADDRESS).exit_code == 0
    assert [line.split()[3:] for line in history_lines(service)[3:]] == [["subscribed", "cli"],
                                                                        ["unsubscribed", "cli"]]
    assert history_lines(service, "gone@example.com")[1:] == ["status: bounced", "consent history:",
                                                             "  2025-01-15 12:00 GMT  subscribed   cli",
                                                             "  2025-01-15 12:00 GMT  bounced      smtp      "
                                                             "550 5.1.1 No such user"]


def database_bytes(service: Service) -> bytes:
    path = service.config.path(service.config.database.path)
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def test_forget_erases_the_person_their_history_and_deliveries_for_good(service):
    for address in (ADDRESS, "bo@example.com"):
        run_command(service, "subscribers", "add", address)
    assert run_command(service, "send", "hello").exit_code == 0
    result = run_command(service, "subscribers", "forget", "Ann@Example.com", "--yes")
    assert result.stdout == ("Forgot Ann@example.com: erased with their history and deliveries; the suppression "
                             "list keeps imports from adding them again.\n")
    assert service.status(ADDRESS) is None and service.store.consent_history(ADDRESS) == []
    assert service.store.delivery_counts(service.store.get_campaign("hello").id).total == 1
    assert b"ann@example.com" not in database_bytes(service).lower()
    db = sqlite3.connect(service.config.path(service.config.database.path))
    assert db.execute("SELECT COUNT(*) FROM consent_events").fetchone()[0] == 1  # bo's alone
    assert db.execute("SELECT reason FROM suppressions").fetchall() == [("forgotten",)]


def test_a_forgotten_address_is_never_imported_or_added_again_in_any_case(service):
    run_command(service, "subscribers", "add", ADDRESS)
    run_command(service, "subscribers", "forget", ADDRESS, "--yes")
    (service.config.root / "old.csv").write_text("email,status\nANN@example.COM,active\nbo@example.com,active\n", encoding="utf-8")
    result = run_command(service, "subscribers", "import", str(service.config.root / "old.csv"))
    assert result.stdout.splitlines()[-1] == "Imported old.csv: 1 added, 0 made stricter, 0 unchanged, 1 kept off as suppressed."
    added = run_command(service, "subscribers", "add", "Ann@example.com")
    assert added.exit_code == 1 and "Ann@example.com was forgotten (erased at their request)" in added.stderr
    assert "`publisher subscribers invite Ann@example.com`" in added.stderr
    assert [s.email for s in service.store.list_subscribers()] == ["bo@example.com"]


def test_a_rotated_key_still_recognises_forgotten_addresses_through_the_old_keys(service):
    run_command(service, "subscribers", "forget", ADDRESS, "--yes", env={"PUBLISHER_SECRET_KEY": OLD_KEY})
    (service.config.root / "old.csv").write_text(f"email,status\n{ADDRESS},active\n", encoding="utf-8")
    rotated = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_OLD_SECRET_KEYS": f"another-one-that-is-long, {OLD_KEY}"}
    result = run_command(service, "subscribers", "import", str(service.config.root / "old.csv"), env=rotated)
    assert result.stdout.splitlines()[-1] == "Imported old.csv: 0 added, 0 made stricter, 0 unchanged, 1 kept off as suppressed."
    assert service.status(ADDRESS) is None
    without_old_key = run_command(service, "subscribers", "import", str(service.config.root / "old.csv"))
    assert without_old_key.stdout.splitlines()[-1].startswith("Imported old.csv: 1 added")  # useless without its key


def test_forgetting_and_checking_forgotten_addresses_need_the_key_and_say_so(service):
    run_command(service, "subscribers", "add", ADDRESS)
    no_key = {"PUBLISHER_SECRET_KEY": ""}
    refused = run_command(service, "subscribers", "forget", ADDRESS, "--yes", env=no_key)
    assert refused.exit_code == 1 and refused.stderr.startswith("Error: PUBLISHER_SECRET_KEY is not set;")
    assert service.status(ADDRESS) == "active"
    (service.config.root / "new.csv").write_text("email,status\nbo@example.com,active\n", encoding="utf-8")
    assert run_command(service, "subscribers", "import", str(service.config.root / "new.csv"),
                       env=no_key).exit_code == 0  # nothing forgotten yet: no key needed
    run_command(service, "subscribers", "forget", "cy@example.com", "--yes")
    (service.config.root / "more.csv").write_text("email,status\ndi@example.com,active\n", encoding="utf-8")
    blocked = run_command(service, "subscribers", "import", str(service.config.root / "more.csv"), env=no_key)
    assert blocked.exit_code == 1 and "PUBLISHER_SECRET_KEY is not set" in blocked.stderr
    assert service.status("di@example.com") is None


def test_forget_asks_first_unless_told_yes(service):
    run_command(service, "subscribers", "add", ADDRESS)
    env = {"PUBLISHER_SECRET_KEY": SECRET}
    args = ["--config", str(service.config.root), "subscribers", "forget", ADDRESS]
    kept = CliRunner().invoke(main, args, input="n\n", env=env)
    assert kept.exit_code == 1 and "Erase ann@example.com and their history for good?" in kept.output
    assert service.status(ADDRESS) == "active"
    assert CliRunner().invoke(main, args, input="y\n", env=env).exit_code == 0
    assert service.status(ADDRESS) is None


def test_invite_sends_the_confirmation_and_only_the_reader_s_click_brings_them_back(service):
    service.store.add_subscribers([NewSubscriber(ADDRESS, status="unsubscribed")], "old.csv", now=service.clock())
    later(service, days=1)
    result = run_command(service, "subscribers", "invite", ADDRESS, "--name", "Ann Lee")
    assert result.stdout == ("Sent ann@example.com a confirmation email; they are subscribed once they open its "
                             "link (it works for 48 hours).\n")
    [invitation] = service.mails(ADDRESS)
    assert invitation["Subject"] == "Confirm your subscription to Test Site" and "Ann Lee" in invitation["To"]
    assert service.status(ADDRESS) == "unsubscribed"
    later(service, hours=2)
    assert press_confirm(service, confirm_link(invitation)).status == 200
    assert service.status(ADDRESS) == "active"
    assert [line.split()[3:5] for line in history_lines(service)[4:]] == [
        ["subscribed", "import"], ["unsubscribed", "import"], ["invited", "cli"], ["confirmed", "link"]]


def test_invite_of_an_active_subscriber_sends_nothing(service):
    run_command(service, "subscribers", "add", ADDRESS)
    result = run_command(service, "subscribers", "invite", "Ann@Example.com")
    assert result.exit_code == 0 and result.stdout == "ann@example.com is already subscribed; nothing was sent.\n"
    assert service.mails(ADDRESS) == []


def invite_in_another_process(service: Service) -> subprocess.CompletedProcess:
    env = {**os.environ, "PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": service.clock().isoformat()}
    return subprocess.run([sys.executable, "-m", "publisher", "--config", str(service.config.root), "subscribers",
                           "invite", ADDRESS], env=env, capture_output=True, text=True, timeout=120)


def test_three_confirmation_emails_an_hour_at_most_counted_across_processes(service):
    for _ in range(2):
        service.post("/subscribe", {"email": ADDRESS})
        later(service, minutes=10)
    assert invite_in_another_process(service).returncode == 0
    later(service, minutes=10)
    fourth = invite_in_another_process(service)
    assert fourth.returncode == 1
    assert fourth.stderr == ("Error: ann@example.com was sent 3 confirmation emails in the last hour (sign-ups and "
                             "invitations together); nothing was sent. Invite them again in an hour\n")
    service.post("/subscribe", {"email": ADDRESS})  # the form's answer is the same, but no fourth email goes
    assert len(service.mails(ADDRESS)) == 3
    later(service, minutes=31)
    assert invite_in_another_process(service).returncode == 0 and len(service.mails(ADDRESS)) == 4


def test_invite_without_an_smtp_server_writes_the_confirmation_to_the_outbox(site_dir):
    env = {"PUBLISHER_SECRET_KEY": SECRET}
    result = site_dir.run("subscribers", "invite", "ann@example.com", env=env)
    assert result.exit_code == 0 and result.stdout.startswith("Sent ann@example.com a confirmation email")
    [invitation] = mailbox.Maildir(site_dir.root / "outbox", create=False)
    assert invitation["To"] == "ann@example.com" and "/confirm?token=" in invitation.as_string()
    assert site_dir.run("subscribers", "list", "--status", "pending").stdout == "ann@example.com\tpending\n"


def test_invite_needs_the_key_that_signs_its_link_and_records_nothing_without_it(site_dir):
    result = site_dir.run("subscribers", "invite", "ann@example.com", env={"PUBLISHER_SECRET_KEY": ""})
    assert result.exit_code == 1 and result.stderr.startswith("Error: PUBLISHER_SECRET_KEY is not set;")
    assert site_dir.run("subscribers", "list").stdout == ""
