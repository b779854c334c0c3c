"""A Mailchimp export as downloaded: a .zip of one CSV per status, each read as the export it is."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.errors import ContentError
from publisher.service.list_import import merge_files, parse_export

DATA = Path(__file__).parent / "data"
MAILCHIMP = ["subscribed_members_export_5d1b3a.csv", "unsubscribed_members_export_5d1b3a.csv",
             "cleaned_members_export_5d1b3a.csv"]


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_each_csv_in_a_mailchimp_zip_is_read_as_the_export_it_is():
    raw = zipped({name: (DATA / name).read_bytes() for name in MAILCHIMP} | {"__MACOSX/._x.csv": b"junk"})
    parsed = parse_export("audience.zip", raw, ZoneInfo("UTC"))
    assert [(p.name, p.service, p.counts()) for p in parsed] == [
        ("audience.zip:cleaned_members_export_5d1b3a.csv", "Mailchimp (cleaned export)", {"bounced": 1}),
        ("audience.zip:subscribed_members_export_5d1b3a.csv", "Mailchimp (subscribed export)", {"active": 3}),
        ("audience.zip:unsubscribed_members_export_5d1b3a.csv", "Mailchimp (unsubscribed export)",
         {"unsubscribed": 2})]


def test_a_zip_without_a_csv_says_what_it_holds():
    with pytest.raises(ContentError) as caught:
        parse_export("audience.zip", zipped({"readme.txt": b"hello", "pics/a.png": b"x"}), ZoneInfo("UTC"))
    assert str(caught.value) == ("audience.zip: no CSV file inside (it holds readme.txt, pics/a.png); import the "
                                 "export's .csv files or the service's own .zip")


def test_a_damaged_zip_is_one_clear_error():
    with pytest.raises(ContentError, match="audience.zip: not a .zip archive that can be read"):
        parse_export("audience.zip", b"PK\x03\x04 cut short", ZoneInfo("UTC"))


def test_a_mailbox_in_two_files_is_imported_once_from_the_stricter():
    tz = ZoneInfo("UTC")
    subscribed = parse_export("a.csv", b"email,status\nAnn@example.com,active\nbob@example.com,active\n", tz)
    left = parse_export("b.csv", b"email,status\nann@example.com,unsubscribed\n", tz)
    first, second = merge_files(subscribed + left)
    assert [(s.email, s.status) for s in first.subscribers] == [("bob@example.com", "active")]
    assert [(s.email, s.status) for s in second.subscribers] == [("ann@example.com", "unsubscribed")]
    assert (first.in_other_files, second.in_other_files) == (1, 0)
