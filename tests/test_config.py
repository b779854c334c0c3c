"""publisher.toml: defaults that work, every problem reported at once with its fix, secrets kept out of sight."""

import tomllib
from pathlib import Path

import pytest

from publisher.config import find_config, load_config
from publisher.errors import ConfigError, Problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_two_lines_are_enough(tmp_path):
    config = load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com/"\n'), env={})
    assert config.site.url == "https://example.com"
    assert config.site.feed_entries == 20
    assert config.delivery.maildir == "outbox"
    assert config.database.path == "publisher.db"
    assert not config.booking.enabled


def test_every_problem_is_reported_together(tmp_path):
    path = write(tmp_path, '[site]\ntitle = 3\nurl = "example.com"\ntimezone = "Mars/Base"\n'
                           'feed_entires = 5\n[bookin]\nphone = "1"\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    text = str(caught.value)
    assert "site.title: expected a string" in text
    assert "did you mean 'site.feed_entries'" in text
    assert "did you mean 'booking'" in text
    assert "unknown time zone 'Mars/Base'" in text
    assert "site.url" in text and "https://example.com" in text
    assert all(str(path) in line for line in text.splitlines())


@pytest.mark.parametrize("section, key", [
    ("newsletter", "list_id"), ("newsletter", "from_name"), ("newsletter", "subject_prefix"),
    ("newsletter", "reply_to"), ("newsletter", "from_address"), ("booking", "email"), ("dkim", "selector"),
    ("dkim", "domain"), ("subscriptions", "url"),
])
def test_a_line_break_in_a_value_that_reaches_a_header_is_refused_at_load(tmp_path, section, key):
    site = '[site]\ntitle = "T"\nurl = "https://example.com"\n'
    table = "" if section == "site" else f"[{section}]\n"
    path = write(tmp_path, site + table + f'{key} = "x@example.com\\r\\nBcc: evil@example.com"\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    assert f"{section}.{key}: contains a line break or control character (U+000D)" in str(caught.value)


def test_a_line_break_in_the_site_title_or_url_is_refused(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T\\nBcc: a@example.com"\nurl = "https://example.com/\\r\\nX: y"\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    text = str(caught.value)
    assert "site.title: contains a line break" in text and "site.url: contains a line break" in text


def test_prose_may_run_over_lines_but_identifiers_keep_their_shape(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com"\ndescription = """Two\nlines"""\n'
                           '[newsletter]\nlist_id = "not a list id"\nreply_to = "nobody"\n'
                           '[dkim]\nselector = "mail;x=1"\ndomain = "example.com"\nkey_file = "k.pem"\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert "newsletter.list_id: expected a dotted name like 'newsletter.example.com' (RFC 2919)" in lines[0]
    assert "newsletter.reply_to: expected an email address" in lines[1]
    assert "dkim.selector: expected a DNS label" in lines[2]


def test_an_smtp_url_from_the_environment_with_a_line_break_is_refused(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com"\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={"PUBLISHER_SMTP_URL": "smtp://mail.example.com:587\r\nRCPT TO:<x@example.com>"})
    assert "delivery.smtp_url: contains a line break" in str(caught.value)


def test_a_post_size_limit_below_one_byte_is_refused(tmp_path):
    with pytest.raises(Problems, match=r"content.max_post_bytes: must be at least 1"):
        load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com"\n'
                                    '[content]\nmax_post_bytes = 0\n'), env={})


def test_missing_required_key_names_the_fix(tmp_path):
    with pytest.raises(Problems, match=r"\[site\] needs 'url'"):
        load_config(write(tmp_path, '[site]\ntitle = "T"\n'), env={})


def test_broken_toml_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[site]\ntitle = "T\nurl = "x"\n'), env={})
    assert caught.value.line == 2


def test_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigError, match="publisher init"):
        find_config(tmp_path)


def test_environment_overrides_and_secrets_stay_hidden(tmp_path):
    env = {"PUBLISHER_SMTP_URL": "smtp://mailer@127.0.0.1:2525", "PUBLISHER_SMTP_PASSWORD": "hunter2-secret",
           "PUBLISHER_SECRET_KEY": "k" * 32}
    config = load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n'), env=env)
    assert config.delivery.smtp_url == "smtp://mailer@127.0.0.1:2525"
    assert config.secrets.smtp_password == "hunter2-secret"
    assert "hunter2-secret" not in repr(config) and "k" * 32 not in repr(config)


def test_retired_link_keys_come_from_the_environment_comma_separated_and_stay_hidden(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n')
    env = {"PUBLISHER_OLD_SECRET_KEYS": " " + "a" * 20 + " ,, " + "b" * 24 + ",", "PUBLISHER_SECRET_KEY": "k" * 32}
    config = load_config(path, env=env)
    assert config.secrets.old_secret_keys == ("a" * 20, "b" * 24)
    assert "a" * 20 not in repr(config) and "b" * 24 not in repr(config.secrets)
    assert load_config(path, env={}).secrets.old_secret_keys == ()


def test_booking_phone_becomes_an_international_tel_link(tmp_path):
    config = load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n'
                                         '[booking]\nheading = "Book"\nphone = "07713 250352"\n'
                                         'country_code = "44"\n'), env={})
    assert config.booking.tel == "tel:+447713250352"


def test_the_busy_timeout_cannot_be_negative(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com"\n[database]\nbusy_timeout = -1\n')
    with pytest.raises(Problems, match="database.busy_timeout: must be 0 or more seconds"):
        load_config(path, env={})
    assert load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com"\n'),
                       env={}).database.busy_timeout == 10


def test_delivery_numbers_out_of_range_are_each_named_with_the_fix(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n[delivery]\ntimeout = 0\nconnections = 0\n'
                           'max_attempts = 0\nrate = -1\nretry_delay = -0.5\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    lines = str(caught.value).splitlines()
    for key, fix in [("timeout", "above 0"), ("connections", "at least 1"), ("max_attempts", "at least 1"),
                     ("rate", "0 (no limit) or more"), ("retry_delay", "0 or more")]:
        assert [line for line in lines if f"delivery.{key}:" in line and fix in line], (key, lines)
    assert len(lines) == 5 and all(str(path) in line for line in lines)



@pytest.mark.parametrize("value, days", [("", 7), ("max_age = 3", 3), ('max_age = "36 hours"', 1.5),
                                         ('max_age = "1 day"', 1), ('max_age = " 14 Days "', 14)])
def test_max_age_is_days_or_text_in_days_or_hours(tmp_path, value, days):
    path = write(tmp_path, f'[site]\ntitle = "T"\nurl = "https://e.com"\n[newsletter]\n{value}\n')
    assert load_config(path, env={}).newsletter.max_age.total_seconds() == days * 86400


@pytest.mark.parametrize("value", ["0", "-2", "true", "1.5", '"a week"', '"7 weeks"', '"0 days"', '"7"'])
def test_a_max_age_that_is_not_a_span_above_zero_is_refused_with_the_fix(tmp_path, value):
    path = write(tmp_path, f'[site]\ntitle = "T"\nurl = "https://e.com"\n[newsletter]\nmax_age = {value}\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    assert str(caught.value) == (f'{path}: newsletter.max_age: expected a number of days above 0 (max_age = 7) or '
                                 f'hours in quotes (max_age = "36 hours"), got {tomllib.loads("v = " + value)["v"]!r}')


def test_a_bounce_address_and_the_inbox_settings_are_checked_with_their_fixes(tmp_path):
    path = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n[delivery]\n'
                           'bounce_address = "a-very-long-bounce-address-name@example.com"\nsoft_bounce_limit = 0\n'
                           '[inbox]\nmaildir = "bounces"\nimap_url = "imaps://me:hunter2-secret@mail.example.com/INBOX"\n'
                           'timeout = 0\n')
    with pytest.raises(Problems) as caught:
        load_config(path, env={})
    lines = str(caught.value).splitlines()
    assert [line.partition(": ")[2].partition(":")[0] for line in lines] == [
        "delivery.soft_bounce_limit", "inbox", "inbox.imap_url", "inbox.timeout", "delivery.bounce_address"]
    assert "hunter2" not in str(caught.value) and "at most 24 characters" in lines[-1]
    config = load_config(write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n[delivery]\n'
                                         'bounce_address = "bounces@example.com"\n[inbox]\n'
                                         'imap_url = "imaps://me@mail.example.com/INBOX"\n'),
                         env={"PUBLISHER_IMAP_PASSWORD": "hunter2-secret"})
    assert (config.delivery.bounce_address, config.delivery.soft_bounce_limit) == ("bounces@example.com", 3)
    assert config.secrets.imap_password == "hunter2-secret" and "hunter2" not in repr(config)


def test_webhook_settings_are_checked_and_their_secrets_stay_hidden(tmp_path):
    bad = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n[webhooks]\nses_topic_arn = "my-topic"\n')
    with pytest.raises(Problems, match=r"webhooks.ses_topic_arn: expected an SNS topic's ARN like 'arn:aws:sns:"):
        load_config(bad, env={})
    good = write(tmp_path, '[site]\ntitle = "T"\nurl = "https://e.com"\n[webhooks]\n'
                           'ses_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"\n')
    config = load_config(good, env={"PUBLISHER_MAILGUN_SIGNING_KEY": "mailgun-hidden",
                                    "PUBLISHER_POSTMARK_WEBHOOK_PASSWORD": "postmark-hidden"})
    assert config.webhooks.ses_topic_arn.endswith(":ses-feedback")
    assert (config.secrets.mailgun_signing_key, config.secrets.postmark_password) == ("mailgun-hidden",
                                                                                        "postmark-hidden")
    assert "hidden" not in repr(config)
