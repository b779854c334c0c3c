"""Each service's export, written from that service's own documentation of it, maps to the right statuses and
keeps its consent times. Where the documentation is silent (a column list, a value) the test says so, and the
mapping under test is the one that is never mailed.

Sources, per service:
- Mailchimp: one file per status, the .zip holding them, and what "cleaned" means:
  https://mailchimp.com/help/about-cleaned-contacts and
  http://kb.mailchimp.com/lists/managing-subscribers/view-unsubscribed-and-cleaned-addresses . Mailchimp's help
  does not list the columns; the headers here (MEMBER_RATING, OPTIN_TIME, CONFIRM_TIME, UNSUB_TIME, CLEAN_TIME,
  LEID, EUID, NOTES) are those of real exports quoted in public projects that parse them, and its times carry no
  zone.
- Substack: Substack publishes no description of email_list.<publication>.csv; the columns are those Ghost's
  own Substack migration (@tryghost/mg-substack-members-csv) reads: email, active_subscription, expiry, plan,
  email_disabled, created_at, first_payment_at. email_disabled=true is someone not to be mailed.
- Buttondown: subscriber types https://docs.buttondown.email/api-reference/subscribers (regular, premium,
  trialed, unpaid, gifted, churning, removed, unactivated, unsubscribed...) and the export's columns
  https://docs.buttondown.com/subscriber-dashboard . A type not in the documentation is a bad row.
- Ghost: the members CSV format (email, name, note, subscribed_to_emails, complimentary_plan,
  stripe_customer_id, labels, created_at in ISO 8601) https://ghost.org/help/import-members/ ; its export
  adds id, deleted_at and tiers. The documentation is silent on deleted_at: a deleted member is not mailed.
- listmonk: subscriber status enabled / disabled / blocklisted, and a per-list subscription status
  unconfirmed / confirmed / unsubscribed, https://mintlify.wiki/knadh/listmonk/features/subscribers ; the
  export's columns are listmonk's queries.sql (uuid, email, name, attribs, status, created_at, updated_at).
  "disabled" is "excluded from campaigns": imported as unsubscribed, never mailed.
- Kit: subscriber states Confirmed, Unconfirmed, Cancelled, Cold, Bounced, Complained
  http://help.convertkit.com/article/12-convertkit-subscribers and the API's field names (first_name,
  email_address, state, created_at) https://developers.kit.com/api-reference/subscribers/list-subscribers .
  Kit's help does not give the CSV export's header; these are the API's names. Cold subscribers are confirmed
  ones who have not opened lately: still active.
- MailerLite: statuses active, unsubscribed, unconfirmed, bounced, junk and the fields subscribed_at,
  opted_in_at, optin_ip, unsubscribed_at, from MailerLite's official SDK documentation
  https://github.com/mailerlite/mailerlite-nodejs/blob/main/src/modules/subscribers/README.md and
  https://www.mailerlite.com/help/subscriber-statuses-explained . Its help does not give the export's header;
  "junk" (marked as spam) becomes complained.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.errors import ContentError
from publisher.service.list_import import parse_export

DATA = Path(__file__).parent / "data"
LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def parse(name: str, status: str | None = None):
    [parsed] = parse_export(name, (DATA / name).read_bytes(), LONDON, status)
    return parsed


def statuses(parsed) -> dict[str, str]:
    return {s.email: s.status for s in parsed.subscribers}


def test_mailchimp_subscribed_export_is_active_with_its_opt_in_and_confirmation_times():
    parsed = parse("subscribed_members_export_5d1b3a.csv")
    assert parsed.service == "Mailchimp (subscribed export)"
    assert statuses(parsed) == {"ann@example.com": "active", "bob@example.com": "active", "cy@example.com": "active"}
    ann = parsed.subscribers[0]
    assert (ann.name, ann.created_at, ann.confirmed_at) == (
        "Ann Lee", dt.datetime(2019, 5, 3, 10, 0, tzinfo=LONDON), dt.datetime(2019, 5, 3, 10, 4, 12, tzinfo=LONDON))
    assert parsed.naive_times and parsed.problems == ()


def test_mailchimp_unsubscribed_export_is_unsubscribed_with_the_time_they_left():
    parsed = parse("unsubscribed_members_export_5d1b3a.csv")
    assert parsed.service == "Mailchimp (unsubscribed export)"
    assert statuses(parsed) == {"dee@example.com": "unsubscribed", "eve@example.com": "unsubscribed"}
    assert parsed.subscribers[0].status_at == dt.datetime(2023, 11, 20, 21, 15, tzinfo=LONDON)
    assert [p.line for p in parsed.problems] == [4]


def test_mailchimp_cleaned_export_is_bounced():
    parsed = parse("cleaned_members_export_5d1b3a.csv")
    assert parsed.service == "Mailchimp (cleaned export)"
    assert statuses(parsed) == {"fay@example.org": "bounced"}
    assert parsed.subscribers[0].status_at == dt.datetime(2022, 8, 9, 3, 0, tzinfo=LONDON)


def test_a_renamed_mailchimp_file_is_still_told_by_its_columns():
    raw = (DATA / "unsubscribed_members_export_5d1b3a.csv").read_bytes()
    [parsed] = parse_export("audience.csv", raw, LONDON)
    assert parsed.service == "Mailchimp (unsubscribed export)"
    assert set(statuses(parsed).values()) == {"unsubscribed"}


def test_substack_email_disabled_is_unsubscribed():
    parsed = parse("email_list.quiet-letters.csv")
    assert parsed.service == "Substack (subscriber export)"
    assert statuses(parsed) == {"gus@example.com": "active", "hal@example.com": "active",
                                "ida@example.com": "unsubscribed"}
    assert parsed.subscribers[0].created_at == dt.datetime(2019, 8, 18, 13, 36, 31, 230000, tzinfo=UTC)
    assert not parsed.naive_times


def test_buttondown_subscriber_types_map_and_an_undocumented_one_is_a_bad_row():
    parsed = parse("buttondown-subscribers.csv")
    assert parsed.service == "Buttondown (subscriber export)"
    assert statuses(parsed) == {"jo@example.com": "active", "kim@example.com": "active",
                                "lou@example.com": "pending", "max@example.com": "unsubscribed",
                                "ned@example.com": "bounced"}
    [problem] = parsed.problems
    assert problem.line == 7 and problem.message.startswith("subscriber_type: 'paused' is not a value this export")


def test_ghost_members_not_subscribed_to_emails_or_deleted_are_unsubscribed():
    parsed = parse("member-export-2024-05-01.csv")
    assert parsed.service == "Ghost (members export)"
    assert statuses(parsed) == {"pat@example.com": "active", "rae@example.com": "unsubscribed",
                                "sam@example.com": "unsubscribed"}
    assert parsed.subscribers[2].status_at == dt.datetime(2023, 1, 1, tzinfo=UTC)
    assert parsed.subscribers[0].name == "Pat Quinn"


def test_listmonk_blocklisted_and_disabled_are_never_mailed():
    parsed = parse("listmonk-subscribers.csv")
    assert parsed.service == "listmonk (subscriber export)"
    assert statuses(parsed) == {"tia@example.com": "active", "uma@example.com": "unsubscribed",
                                "vic@example.com": "unsubscribed"}
    assert parsed.subscribers[0].created_at == dt.datetime(2023, 1, 2, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("status, subscription, expected", [
    ("enabled", "confirmed", "active"), ("enabled", "unconfirmed", "pending"),
    ("enabled", "unsubscribed", "unsubscribed"), ("blocklisted", "confirmed", "unsubscribed")])
def test_listmonk_per_list_subscription_status_is_the_safer_of_the_two(status, subscription, expected):
    raw = ("uuid,email,name,attributes,status,subscription_status,created_at\n"
           f"u1,ann@example.com,Ann,{{}},{status},{subscription},2023-01-02 10:00:00+00\n").encode()
    [parsed] = parse_export("list.csv", raw, LONDON)
    assert statuses(parsed) == {"ann@example.com": expected}


def test_kit_states_map_to_ours():
    parsed = parse("kit-subscribers.csv")
    assert parsed.service == "Kit (subscriber export)"
    assert statuses(parsed) == {"wes@example.com": "active", "xia@example.com": "pending",
                                "yan@example.com": "unsubscribed", "zed@example.com": "bounced",
                                "abe@example.com": "complained"}
    assert parsed.subscribers[0].name == "Wes"


def test_mailerlite_statuses_map_and_junk_is_a_complaint():
    parsed = parse("mailerlite-subscribers.csv")
    assert parsed.service == "MailerLite (subscriber export)"
    assert statuses(parsed) == {"bea@example.com": "active", "cal@example.com": "pending",
                                "dan@example.com": "unsubscribed", "ed@example.com": "bounced",
                                "flo@example.com": "complained"}
    bea, _, dan, *_ = parsed.subscribers
    assert (bea.name, bea.created_at, bea.confirmed_at) == (
        "Bea Cole", dt.datetime(2021, 8, 31, 14, 22, 8, tzinfo=LONDON), dt.datetime(2021, 8, 31, 14, 25, tzinfo=LONDON))
    assert dan.status_at == dt.datetime(2022, 1, 1, 10, 0, tzinfo=LONDON)


def test_a_header_mixing_two_services_is_refused_naming_both():
    raw = b"email,subscribed_to_emails,subscriber_type\nann@example.com,true,unsubscribed\n"
    with pytest.raises(ContentError) as caught:
        parse_export("mixed.csv", raw, LONDON)
    assert caught.value.line == 1
    assert str(caught.value) == ("mixed.csv:1: the header mixes columns of Buttondown (subscriber_type) and Ghost "
                                 "(subscribed_to_emails); import each service's own export as it was downloaded")


def test_a_mailchimp_state_merge_field_does_not_make_it_a_kit_export():
    raw = ("Email Address,First Name,State,MEMBER_RATING,OPTIN_TIME,LEID\n"
           "ann@example.com,Ann,Ohio,2,2019-05-03 10:00:00,1\n").encode()
    [parsed] = parse_export("subscribed_members_export_1.csv", raw, LONDON)
    assert parsed.service == "Mailchimp (subscribed export)"
    assert statuses(parsed) == {"ann@example.com": "active"}
