"""The whole path a bounce takes, with real parts: `publisher send` through Postfix to an address that does not
exist, Postfix's DSN delivered to the tagged bounce address's Maildir, `publisher inbox`, and the next campaign
skipping that subscriber."""

from __future__ import annotations

import email
import email.policy

import pytest

from publisher.store import open_sqlite

from ..fixtures_mailservers import BOUNCES, READER, READERS, UNREACHABLE, wait_for_file
from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text

SECRET = "a-test-secret-that-is-long-enough"
GONE = f"no-such-user@{READERS}"
AWAY = f"someone@{UNREACHABLE}"


@pytest.mark.postfix
def test_a_real_bounce_from_postfix_marks_that_subscriber_bounced_and_the_next_campaign_skips_them(site_dir,
                                                                                                     postfix):
    site_dir.config(BASIC_TOML + BOOKING_TOML + f'[delivery]\nsmtp_url = "{postfix.smtp_url}"\n'
                    f'bounce_address = "{BOUNCES}"\n[inbox]\nmaildir = "{postfix.bounce_maildir}"\n')
    site_dir.post("first.md", post_text("First", "2025-01-10"))
    with open_sqlite(site_dir.root / "publisher.db") as store:
        for address in (READER, GONE, AWAY):
            store.add_subscriber(address, now="2025-01-01T00:00:00+00:00")
    env = {"PUBLISHER_SECRET_KEY": SECRET}
    assert site_dir.run("send", "first", env=env).exit_code == 0
    dsn_files = wait_for_file(postfix.bounce_maildir / "new", count=2)
    for dsn_file in dsn_files:
        dsn = email.message_from_bytes(dsn_file.read_bytes(), policy=email.policy.default)
        assert dsn.get_content_type() == "multipart/report" and dsn["Delivered-To"].startswith("bounces+")
    assert wait_for_file(postfix.root / "mail" / "reader" / "new")

    result = site_dir.run("inbox", env=env)
    assert result.exit_code == 0, result.output
    assert f"hard bounce: {GONE}: now bounced -> processed" in result.output
    assert f"soft bounce: {AWAY}: soft bounce counted -> processed" in result.output
    assert "Read 2 messages: 1 subscriber bounced, 1 soft bounce counted. Filed 2; left 0 for you." in result.output
    filed = sorted(p.name.partition(":")[0] for p in (postfix.bounce_maildir / ".Processed" / "cur").iterdir())
    assert filed == sorted(p.name for p in dsn_files) and not list((postfix.bounce_maildir / "new").iterdir())
    assert site_dir.run("inbox", env=env).output.strip().endswith("Read 0 messages: nobody changed. Filed 0; "
                                                                  "left 0 for you.")

    site_dir.post("second.md", post_text("Second", "2025-01-12"))
    assert site_dir.run("send", "second", env=env).exit_code == 0
    with open_sqlite(site_dir.root / "publisher.db") as store:
        assert store.get_subscriber(GONE).status == "bounced"
        second = store.list_deliveries(store.get_campaign("second").id)
        assert store.get_subscriber(AWAY).status == "active"
    assert [(d.subscriber.email, d.status) for d in second] == [(READER, "sent"), (AWAY, "sent")]
