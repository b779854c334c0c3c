"""Tagged return addresses: they name a delivery without the subscriber's address, fit SMTP's limits, survive
case folding, and cannot be made or altered without the site's key."""

from __future__ import annotations

import re

import pytest

from publisher.errors import TokenError
from publisher.mail.verp import BOUNCE, UNSUBSCRIBE, find_tag, make_tag, read_tag, tagged_address

SECRET = "a-secret-key-of-some-length"


def test_a_tagged_address_fits_a_local_part_and_uses_only_safe_characters():
    address = tagged_address("bounces@example.com", make_tag(SECRET, UNSUBSCRIBE, 10**19))
    local = address.partition("@")[0]
    assert len(local) <= 64 and re.fullmatch(r"bounces\+u-\d+-[a-z2-7]{16}", local)
    assert "example" not in local.partition("+")[2]


def test_a_tag_reads_back_whatever_case_a_server_gave_it():
    tag = make_tag(SECRET, BOUNCE, 42)
    text = f"Final-Recipient: rfc822; x\nTo: {tagged_address('Bounces@Example.com', tag).upper()}\n"
    found = find_tag("bounces@example.com", text)
    assert found == tag and read_tag(SECRET, found, BOUNCE).number == 42


def test_a_tag_made_for_another_purpose_number_or_key_is_refused():
    tag = make_tag(SECRET, BOUNCE, 42)
    for forged, purpose in [(tag, UNSUBSCRIBE), ("43-" + tag.partition("-")[2], BOUNCE),
                            (make_tag("another-secret-key-here", BOUNCE, 42), BOUNCE), ("42-short", BOUNCE)]:
        with pytest.raises(TokenError):
            read_tag(SECRET, forged, purpose)


def test_a_tag_made_with_a_key_since_retired_is_read_with_the_old_keys_given_and_only_then():
    old = "the-key-before-the-rotation-1234"
    tag = make_tag(old, BOUNCE, 42)
    assert read_tag((SECRET, old), tag, BOUNCE).number == 42
    with pytest.raises(TokenError):
        read_tag((SECRET,), tag, BOUNCE)


def test_only_our_own_address_with_a_tag_is_found():
    assert find_tag("bounces@example.com", "To: notbounces+1-abc@example.com, bounces@example.com") == ""
    assert find_tag("bounces@example.com", "bounces+7-aaaaaaaaaaaaaaaa@example.org") == ""
