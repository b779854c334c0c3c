"""`publisher inbox` over IMAPS against a real Dovecot started by the test: it files what it handled into the
server's folders, leaves the rest, and after the server drops the connection halfway says so in one line, and a
rerun finishes the job without applying anything twice."""

from __future__ import annotations

import sqlite3
import ssl

import pytest
from imapclient import IMAPClient

from publisher.store import open_sqlite

from ..fixtures_mailservers import IMAP_PASSWORD, IMAP_USER, CuttingProxy
from ..fixtures_site import BASIC_TOML
from .test_classify import ARF_B1, HARD_TAG, crlf, sample
from .test_inbox import GONE, SECRET, send_to

pytestmark = pytest.mark.dovecot


@pytest.fixture
def imap_env(dovecot, monkeypatch):
    """The environment `publisher inbox` runs in: the key, the IMAP password, and trust in the test's certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cafile))
    return {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_IMAP_PASSWORD": IMAP_PASSWORD}


def configure(site_dir, port: int) -> None:
    site_dir.config(BASIC_TOML + '[delivery]\nbounce_address = "bounces@example.com"\n'
                    f'[inbox]\nimap_url = "imaps://{IMAP_USER}@localhost:{port}/INBOX"\ntimeout = 10\n')


def folders(dovecot) -> dict[str, int]:
    """How many messages each of the user's folders holds, read over IMAP like a mail client."""
    context = ssl.create_default_context(cafile=str(dovecot.cafile))
    with IMAPClient("localhost", dovecot.port, ssl_context=context, timeout=10) as client:
        client.login(IMAP_USER, IMAP_PASSWORD)
        names = [name for flags, _, name in client.list_folders() if b"\\Noselect" not in flags]
        return {name: client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"] for name in names}


def complained(site_dir) -> int:
    with open_sqlite(site_dir.root / "publisher.db") as store:
        return store.count_subscribers()["complained"]


def complaint(n: int) -> bytes:
    raw = ARF_B1.format(to="fbl@example.com", feedback_type="abuse", message_id=f"<newsletter-{n}.first@example.com>")
    return crlf(raw.replace("<report-b1@example.com>", f"<report-{n}@example.com>"))


def test_the_mailbox_over_imaps_is_read_filed_into_folders_and_left_where_not_understood(site_dir, dovecot, imap_env):
    send_to(site_dir, GONE, "away@example.org", "reader@example.org")
    for name, raw in [("1", sample("postfix-hard.eml")), ("2", complaint(3)),
                      ("3", crlf(f"To: bounces+{HARD_TAG}@example.com\nSubject: Automatische Antwort\n\nWeg.\n")),
                      ("4", crlf("From: friend@example.org\nSubject: hello\n\nHi!\n"))]:
        (dovecot.maildir / "new" / name).write_bytes(raw)
    dovecot.start()
    configure(site_dir, dovecot.port)
    result = site_dir.run("inbox", env=imap_env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == ("Read 4 messages: 1 subscriber bounced, 1 subscriber complained. "
                                              "Filed 3; left 1 for you.")
    assert folders(dovecot) == {"INBOX": 1, "publisher.processed": 2, "publisher.ignored": 1}
    with open_sqlite(site_dir.root / "publisher.db") as store:
        assert {s.email: s.status for s in store.list_subscribers()} == {
            GONE: "bounced", "away@example.org": "active", "reader@example.org": "complained"}


def test_a_connection_dropped_halfway_is_one_clear_line_and_a_rerun_finishes_without_doing_anything_twice(
        site_dir, dovecot, imap_env):
    readers = [f"reader{n}@example.org" for n in range(1, 9)]
    send_to(site_dir, *readers)
    for n in range(1, 9):
        (dovecot.maildir / "new" / f"report-{n}").write_bytes(complaint(n))
    dovecot.start()
    proxy = CuttingProxy(dovecot.port, limit=9_000)
    configure(site_dir, proxy.port)
    cut = site_dir.run("inbox", env=imap_env)
    proxy.close()
    assert cut.exit_code == 1
    done_before = cut.output.count("now complained")
    # the message in hand when the line dropped may have been applied but not yet filed
    assert 0 < done_before < 8 and complained(site_dir) in (done_before, done_before + 1)
    error = cut.output.splitlines()[-1]
    assert error.startswith(f"Error: imaps://{IMAP_USER}@localhost:{proxy.port}/INBOX: the connection failed")
    assert error.endswith("running `publisher inbox` again finishes the job") and IMAP_PASSWORD not in cut.output
    assert "Traceback" not in cut.output
    configure(site_dir, dovecot.port)
    rerun = site_dir.run("inbox", env=imap_env)
    assert rerun.exit_code == 0, rerun.output
    assert folders(dovecot) == {"INBOX": 0, "publisher.processed": 8}
    assert rerun.output.count(": now complained") + rerun.output.count(": already applied before") == 8 - done_before
    assert complained(site_dir) == 8
    conn = sqlite3.connect(site_dir.root / "publisher.db")
    assert conn.execute("SELECT COUNT(*) FROM consent_events WHERE kind = 'complained'").fetchone()[0] == 8


def test_a_wrong_password_is_one_line_naming_the_setting_never_the_password(site_dir, dovecot, imap_env):
    dovecot.start()
    configure(site_dir, dovecot.port)
    result = site_dir.run("inbox", env={**imap_env, "PUBLISHER_IMAP_PASSWORD": "not-the-password-at-all"})
    assert result.exit_code == 1 and "not-the-password-at-all" not in result.output
    assert result.output.strip() == (f"Error: imaps://{IMAP_USER}@localhost:{dovecot.port}/INBOX: login refused; "
                                     "check the user in inbox.imap_url and PUBLISHER_IMAP_PASSWORD")
