"""The suppression rule end to end, like data loss: for every status that keeps mail away and every way an address
can come back (an import that lists it as active, an import without statuses, `add`, a sign-up on the form that
nobody confirms), the address stays as it was and a campaign sent afterwards does not mail it. The service runs
on real HTTP on 127.0.0.1, mail goes through a real SMTP server, the commands run against the same site."""

from __future__ import annotations

import datetime as dt

import pytest

from publisher.store import SUPPRESSED_STATUSES, NewSubscriber

from .fixtures_web import START, Service, confirm_link, press_confirm, run_command, site_service

READER = "reader@example.com"
ADDRESS = "ann@example.com"
service = site_service


def run(service: Service, *args: str):
    return run_command(service, *args)


def import_file(service: Service, text: str, *options: str):
    path = service.config.root / "list.csv"
    path.write_text(text, encoding="utf-8")
    return run(service, "subscribers", "import", str(path), *options)


PATHS = {
    "import listing it as active": lambda service: import_file(service, f"email,status\n{ADDRESS.upper()},active\n"),
    "import listing it as subscribed": lambda service: import_file(service, f"email,status\n{ADDRESS},subscribed\n"),
    "import without statuses": lambda service: import_file(service, f"email,name\n{ADDRESS},Ann\n"),
    "import without statuses, vouched for with --status active": lambda service: import_file(
        service, f"email,name\n{ADDRESS},Ann\n", "--status", "active"),
    "add": lambda service: run(service, "subscribers", "add", ADDRESS),
    "form sign-up, not confirmed": lambda service: service.post("/subscribe", {"email": ADDRESS}),
}


@pytest.mark.parametrize("status", SUPPRESSED_STATUSES)
@pytest.mark.parametrize("path", PATHS)
def test_no_path_makes_a_suppressed_address_active_or_mails_it_a_newsletter(service, status, path):
    service.store.add_subscribers([NewSubscriber(READER), NewSubscriber(ADDRESS, status=status)], "earlier.csv",
                                  now=START)
    PATHS[path](service)
    assert service.status(ADDRESS) == status
    sent = run(service, "send", "hello")
    assert sent.exit_code == 0, sent.output
    newsletters = [r for r in service.smtp.received if r.message["Subject"] == "Hello readers"]
    assert [r.rcpt_tos for r in newsletters] == [(READER,)]
    assert service.status(ADDRESS) == status


@pytest.mark.parametrize("status", SUPPRESSED_STATUSES)
def test_add_refuses_a_suppressed_address_and_says_how_to_invite(service, status):
    service.store.add_subscribers([NewSubscriber(ADDRESS, status=status)], "earlier.csv", now=START)
    result = run(service, "subscribers", "add", "Ann@Example.com")
    assert result.exit_code == 1
    assert f"run `publisher subscribers invite {ADDRESS}` to send them a confirmation email" in result.stderr
    assert status in result.stderr


def test_only_the_reader_s_own_confirmation_brings_back_someone_who_unsubscribed(service):
    service.store.add_subscribers([NewSubscriber(ADDRESS, status="unsubscribed")], "earlier.csv", now=START)
    service.clock.advance(dt.timedelta(days=2))
    assert service.post("/subscribe", {"email": ADDRESS}).status == 200
    assert service.status(ADDRESS) == "unsubscribed"
    assert press_confirm(service, confirm_link(service.mails(ADDRESS)[-1])).status == 200
    assert service.status(ADDRESS) == "active"
    assert run(service, "send", "hello").exit_code == 0
    assert [m["Subject"] for m in service.mails(ADDRESS)][-1] == "Hello readers"


def test_add_refuses_an_address_still_waiting_to_confirm_a_sign_up(service):
    service.post("/subscribe", {"email": ADDRESS})
    result = run(service, "subscribers", "add", ADDRESS)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {ADDRESS} has not confirmed the sign-up yet, so only their own confirmation "
                             f"can subscribe them: run `publisher subscribers invite {ADDRESS}` to send them a "
                             "confirmation email\n")
    assert service.status(ADDRESS) == "pending"
