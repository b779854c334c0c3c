"""The bounce mailbox's settings and the Maildir it can be: what is refused before connecting, and moves that
keep every message."""

from __future__ import annotations

import mailbox

import pytest

from publisher.errors import ConfigError
from publisher.feedback.mailboxes import MaildirBox, parse_imap_url


def test_plain_imap_to_another_machine_and_a_missing_user_or_password_are_refused_before_connecting():
    with pytest.raises(ConfigError, match="plain imap:// would send the password unencrypted to mail.example.com"):
        parse_imap_url("imap://me@mail.example.com/INBOX", "secret-password")
    with pytest.raises(ConfigError, match="set PUBLISHER_IMAP_PASSWORD"):
        parse_imap_url("imaps://me@mail.example.com/INBOX", "")
    settings = parse_imap_url("imap://me%40example.com@127.0.0.1/Bounces", "secret-password")
    assert (settings.username, settings.port, settings.folder) == ("me@example.com", 143, "Bounces")
    assert not settings.tls
    assert "secret-password" not in repr(settings) and "secret-password" not in settings.where


def test_a_maildir_move_renames_the_file_into_a_subfolder_mail_clients_show_and_a_vanished_one_is_skipped(tmp_path):
    folder = mailbox.Maildir(tmp_path / "bounces", create=True)
    folder.add(b"Subject: one\r\n\r\nbody\r\n")
    box = MaildirBox(tmp_path / "bounces")
    [item] = box.items()
    raw = box.read(item)
    box.move(item, "processed")
    box.move(item, "processed")
    assert box.items() == [] and box.read(item) == b""
    [kept] = mailbox.Maildir(tmp_path / "bounces").get_folder("Processed").values()
    assert kept.as_bytes().replace(b"\n", b"\r\n") == raw and "S" in kept.get_flags()
