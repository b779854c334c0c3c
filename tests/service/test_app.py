"""The subscription service over real HTTP on 127.0.0.1, with a real SQLite store and the confirmation and
welcome emails going through a real SMTP server (aiosmtpd). `publisher serve` itself: test_cli_service.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import ssl
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from urllib.parse import urlencode, urljoin

import pytest
from click.testing import CliRunner

from publisher.build.pipeline import load_site
from publisher.build.theme import make_env
from publisher.cli import main
from publisher.errors import ConfigError
from publisher.mail.newsletter import compile_newsletter, personalise
from publisher.mail.tokens import CONFIRM, UNSUBSCRIBE, LinkTokens
from publisher.service.app import load_app
from publisher.service.limits import SharedLimiter
from publisher.store import NewSubscriber
from publisher.store import open_sqlite as open_store

from ..fixtures_site import held, post_text
from ..fixtures_smtp import free_port
from ..fixtures_tokens import links_in, old_format_token, reveals
from ..fixtures_web import (
    SECRET,
    START,
    Clock,
    Reply,
    Service,
    confirm_link,
    press_confirm,
    running,
    serving,
    site_config,
    write_posts,
)

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
TOKENS = LinkTokens(SECRET)
OTHER_KEY = LinkTokens("another-secret-that-is-long-enough")


def public_id(service: Service, address: str) -> str:
    return service.store.get_subscriber(address).public_id


@pytest.fixture
def start_service(tmp_path, smtp_server):
    """start_service(extra_toml="", proxies=0, posts=4, old_keys=()): the service for a site with `posts` posts,
    and `old_keys` as PUBLISHER_OLD_SECRET_KEYS."""
    with ExitStack() as stack:
        def start(extra: str = "", proxies: int = 0, posts: int = 4, name: str = "site",
                  old_keys: tuple[str, ...] = ()) -> Service:
            root = tmp_path / name
            write_posts(root, posts)
            smtp = f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n'
            config = site_config(root, f"http://127.0.0.1:{free_port()}", extra + smtp)
            config = dataclasses.replace(config, secrets=dataclasses.replace(config.secrets, old_secret_keys=old_keys))
            return stack.enter_context(running(config, smtp_server, Clock(START), proxies))
        yield start


@pytest.fixture
def service(start_service) -> Service:
    return start_service()


def subscribe_and_confirm(service: Service, address: str) -> None:
    assert service.post("/subscribe", {"email": address}).status == 200
    assert press_confirm(service, confirm_link(service.mails(address)[-1])).status == 200
    assert service.status(address) == "active"


def test_subscribe_confirm_and_a_single_welcome_with_the_three_newest_posts(service):
    reply = service.post("/subscribe", {"email": "Ann.Lee@Example.COM", "name": "Ann Lee"})
    assert reply.status == 200 and "Check your inbox" in reply.text and "Ann.Lee@example.com" in reply.text
    assert service.status("Ann.Lee@example.com") == "pending"
    [confirmation] = service.mails("Ann.Lee@example.com")
    assert confirmation["Subject"] == "Confirm your subscription to Test Site"
    assert confirmation["To"] == "Ann Lee <Ann.Lee@example.com>"
    link = confirm_link(confirmation)
    assert link.startswith(service.url + "/confirm?token=")
    assert f'href="{link}"' in confirmation.get_body(("html",)).get_content()

    confirmed = press_confirm(service, link)
    assert confirmed.status == 200 and "You are subscribed" in confirmed.text
    assert service.status("Ann.Lee@example.com") == "active"
    for again in (service.get(link), service.post(link, {})):
        assert again.status == 200 and "already subscribed" in again.text

    welcome = service.mails("Ann.Lee@example.com")[1:]
    assert [m["Subject"] for m in welcome] == ["Welcome to Test Site"]
    text = welcome[0].get_body(("plain",)).get_content()
    shown = [n for n in range(1, 5) if f"Article number {n}" in text]
    assert shown == [2, 3, 4]
    assert "https://example.com/posts/post-4/" in welcome[0].get_body(("html",)).get_content()
    assert welcome[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_opening_a_confirm_link_changes_nothing_until_the_button_is_pressed(service):
    """Mail providers' link scanners open (GET or HEAD) every link in an email; only a person presses a button."""
    service.post("/subscribe", {"email": "ann@example.com"})
    link = confirm_link(service.mails("ann@example.com")[0])
    assert service.request("HEAD", link).status == 200
    page = service.get(link)
    assert page.status == 200 and "Confirm your subscription" in page.text and "ann@example.com" in page.text
    assert service.status("ann@example.com") == "pending" and len(service.mails("ann@example.com")) == 1
    pressed = press_confirm(service, link)
    assert pressed.status == 200 and "You are subscribed" in pressed.text
    assert service.status("ann@example.com") == "active"
    assert [m["Subject"] for m in service.mails("ann@example.com")][1:] == ["Welcome to Test Site"]


def test_a_confirm_link_dated_in_the_future_is_refused(service):
    service.post("/subscribe", {"email": "ann@example.com"})
    later = TOKENS.make(CONFIRM, public_id(service, "ann@example.com"), service.config.list_id,
                        START + dt.timedelta(hours=1))
    query = "/confirm?" + urlencode({"token": later})
    for reply in (service.get(query), service.post(query, {})):
        assert reply.status == 400 and "This link does not work" in reply.text
    assert service.status("ann@example.com") == "pending" and len(service.mails("ann@example.com")) == 1


def test_the_honeypots_refusal_does_not_say_which_field_gave_the_bot_away(service):
    reply = service.post("/subscribe", {"email": "ann@example.com", "website": "http://spam.example"})
    [problem] = re.findall(r"could not be accepted: (.*?)</p>", reply.text, re.S)
    assert reply.status == 400 and "send the form again" in problem
    assert not any(word in problem.lower() for word in ("website", "hidden", "empty", "honeypot"))
    assert service.store.list_subscribers() == [] and service.smtp.received == []


def test_many_clicks_on_one_link_at_once_send_one_welcome(service):
    service.post("/subscribe", {"email": "bo@example.com"})
    link = confirm_link(service.mails("bo@example.com")[0])
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: service.post(link, {}), range(6)))
    assert {r.status for r in replies} == {200}
    assert sum("You are subscribed" in r.text for r in replies) == 1
    assert [m["Subject"] for m in service.mails("bo@example.com")].count("Welcome to Test Site") == 1


def test_no_welcome_when_it_is_turned_off(start_service):
    service = start_service("\n[newsletter]\nwelcome = false\n")
    subscribe_and_confirm(service, "cy@example.com")
    assert [m["Subject"] for m in service.mails("cy@example.com")] == ["Confirm your subscription to Test Site"]


def test_a_site_without_posts_still_welcomes(start_service):
    service = start_service(posts=0)
    subscribe_and_confirm(service, "di@example.com")
    welcome = service.mails("di@example.com")[-1]
    assert welcome["Subject"] == "Welcome to Test Site"
    assert "latest article" not in welcome.get_body(("plain",)).get_content()


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(service):
    service.store.add_subscribers([NewSubscriber("known@example.com"),
                                   NewSubscriber("left@example.com", status="unsubscribed")], "test", now=START)
    replies = {a: service.post("/subscribe", {"email": a}) for a in
               ("new@example.com", "known@example.com", "left@example.com")}
    pages = {(r.status, r.text.replace(a, "ADDRESS")) for a, r in replies.items()}
    assert len(pages) == 1
    assert service.status("known@example.com") == "active"
    assert service.status("left@example.com") == "unsubscribed"  # until the reader opens the link
    assert all(len(service.mails(a)) == 1 for a in replies)
    assert "already subscribed" in service.post(confirm_link(service.mails("known@example.com")[0]), {}).text


@pytest.mark.parametrize("body, problem", [
    ({"name": "Ann"}, "enter your email address"),
    ({"email": "not-an-address"}, "not a valid email address"),
    ({"email": "ann@example.com", "name": "Ann\r\nBcc: victim@example.org"}, "remove the line breaks"),
    ({"email": "ann@example.com\r\nBcc: victim@example.org"}, "remove the line breaks"),
    ({"email": "ann@example.com\nBcc: victim@example.org"}, "remove the line breaks"),
    ({"email": "ann@example.com", "website": "http://spam.example"}, "fill in only your email address"),
    ({"email": "ann@example.com", "name": "A" * 101}, "at most 100 characters"),
    ({"email": "a" * 250 + "@example.com"}, "at most 254 characters"),
])
def test_bad_forms_are_refused_with_a_reason_and_nothing_stored_or_sent(service, body, problem):
    reply = service.post("/subscribe", body)
    assert reply.status == 400
    assert problem in reply.text
    assert service.store.list_subscribers() == []
    assert service.smtp.received == []


def test_an_oversized_body_is_refused_before_it_is_read(service):
    reply = service.post("/subscribe", {"email": "ann@example.com", "name": "x" * 10_000})
    assert reply.status == 413 and "Request too large" in reply.text
    assert service.store.list_subscribers() == []


def test_a_burst_from_one_client_is_refused_until_the_hour_is_over(start_service):
    service = start_service("", proxies=1)
    first = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(5):
        assert service.post("/subscribe", {"email": f"p{n}@example.com"}, first).status == 200
    refused = service.post("/subscribe", {"email": "p5@example.com"}, first)
    assert refused.status == 429 and "Too many requests" in refused.text
    assert service.status("p5@example.com") is None
    assert service.post("/subscribe", {"email": "q@example.com"}, {"X-Forwarded-For": "198.51.100.2"}).status == 200
    service.clock.advance(dt.timedelta(hours=1, seconds=1))
    assert service.post("/subscribe", {"email": "p5@example.com"}, first).status == 200


def test_one_address_gets_at_most_three_confirmations_an_hour_whoever_asks(start_service):
    service = start_service("", proxies=1)
    replies = [service.post("/subscribe", {"email": "target@example.com"}, {"X-Forwarded-For": f"203.0.113.{n}"})
               for n in range(6)]
    assert {r.status for r in replies} == {200} and len({r.text for r in replies}) == 1
    assert len(service.mails("target@example.com")) == 3
    service.post("/subscribe", {"email": "TARGET@example.com"}, {"X-Forwarded-For": "198.51.100.1"})
    assert len(service.smtp.received) == 3
    service.clock.advance(dt.timedelta(hours=1, seconds=1))
    service.post("/subscribe", {"email": "target@example.com"}, {"X-Forwarded-For": "198.51.100.1"})
    assert len(service.mails("target@example.com")) == 4


def test_the_limiter_limits_every_client_and_forgets_each_request_an_hour_after_it(tmp_path):
    clock = Clock(START)
    with open_store(tmp_path / "p.db") as store:
        limiter = SharedLimiter(store, "subscribe", 2, 3_600, clock)
        crowd = [f"10.0.{n // 250}.{n % 250}" for n in range(500)]
        assert all(limiter.allow(client) for client in crowd for _ in range(2))
        assert not any(limiter.allow(client) for client in crowd)
        clock.advance(dt.timedelta(minutes=30))
        assert limiter.allow("203.0.113.1") and not limiter.allow(crowd[0])
        clock.advance(dt.timedelta(minutes=30, seconds=1))
        assert limiter.allow("198.51.100.1")
        assert store._rows("SELECT COUNT(*) FROM request_log")[0][0] == 2  # the crowd's requests are forgotten
        assert limiter.allow(crowd[0]) and limiter.allow(crowd[0]) and not limiter.allow(crowd[0])


def test_confirmations_over_starttls_share_the_one_tls_context_made_for_the_service(
        tmp_path, make_smtp_server, server_tls_context, tls_certificate, monkeypatch):
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def trusting_the_test_certificate(*args, **kwargs) -> ssl.SSLContext:
        context = create(*args, **kwargs)
        context.load_verify_locations(cafile=str(tls_certificate[0]))
        made.append(context)
        return context
    monkeypatch.setattr(ssl, "create_default_context", trusting_the_test_certificate)
    smtp = make_smtp_server(tls_context=server_tls_context, require_starttls=True)
    root = tmp_path / "site"
    write_posts(root, 1)
    config = site_config(root, f"http://127.0.0.1:{free_port()}", f'\n[delivery]\nsmtp_url = "{smtp.url}"\n')
    with running(config, smtp, Clock(START)) as service:
        for n in range(3):
            assert service.post("/subscribe", {"email": f"r{n}@example.com"}).status == 200
    assert sorted(smtp.recipients()) == ["r0@example.com", "r1@example.com", "r2@example.com"]
    assert len(made) == 1


def test_the_client_address_is_the_connection_unless_proxies_are_trusted(service):
    for n in range(5):
        service.post("/subscribe", {"email": f"p{n}@example.com"}, {"X-Forwarded-For": f"203.0.113.{n}"})
    assert service.post("/subscribe", {"email": "p5@example.com"}, {"X-Forwarded-For": "198.51.100.9"}).status == 429


def tamper(token: str) -> str:
    payload, _, signature = token.partition(".")
    return f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def pending_link_tokens(service: Service) -> dict[str, str]:
    """Confirm tokens that must not confirm ann@example.com (pending), each made a different wrong way."""
    service.post("/subscribe", {"email": "ann@example.com"})
    service.post("/subscribe", {"email": "bob@example.com"})
    good = confirm_link(service.mails("ann@example.com")[0]).partition("token=")[2]
    bob = confirm_link(service.mails("bob@example.com")[0]).partition("token=")[2]
    list_id, ann = service.config.list_id, public_id(service, "ann@example.com")
    return {
        "forged": tamper(good),
        "truncated": good[:-6],
        "payload only": good.partition(".")[0],
        "bob's signature on ann's payload": good.partition(".")[0] + "." + bob.partition(".")[2],
        "another key": OTHER_KEY.make(CONFIRM, ann, list_id, START),
        "another list": TOKENS.make(CONFIRM, ann, "news.other.example", START),
        "an unsubscribe token": TOKENS.make(UNSUBSCRIBE, ann, list_id),
        "empty": "",
    }


def test_bad_confirm_links_get_a_friendly_page_and_change_nothing(service):
    for name, token in pending_link_tokens(service).items():
        query = "/confirm?" + urlencode({"token": token})
        for reply in (service.get(query), service.post(query, {})):
            assert reply.status == 400, name
            assert "This link does not work" in reply.text and "<form" in reply.text, name
    assert service.status("ann@example.com") == "pending"
    assert service.status("bob@example.com") == "pending"
    assert len(service.smtp.received) == 2


def test_an_expired_confirm_link_changes_nothing_and_a_new_one_works(service):
    service.post("/subscribe", {"email": "ann@example.com"})
    old = confirm_link(service.mails("ann@example.com")[0])
    service.clock.advance(dt.timedelta(hours=48, minutes=1))
    for reply in (service.get(old), service.post(old, {})):
        assert reply.status == 400 and "This link has expired" in reply.text
    assert service.status("ann@example.com") == "pending"
    service.post("/subscribe", {"email": "ann@example.com"})
    assert press_confirm(service, confirm_link(service.mails("ann@example.com")[-1])).status == 200
    assert service.status("ann@example.com") == "active"


def test_unsubscribe_link_shows_one_button_and_only_the_post_unsubscribes(service):
    subscribe_and_confirm(service, "ann@example.com")
    link = service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>")
    page = service.get(link)
    assert page.status == 200 and "ann@example.com" in page.text
    assert service.status("ann@example.com") == "active"
    forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    [(action, fields)] = [f for f in forms if "subscribe-form" not in f[0]]
    assert 'name="List-Unsubscribe" value="One-Click"' in fields and "<script" not in page.text
    pressed = service.post(urljoin(link, action.replace("&amp;", "&")), ONE_CLICK)
    assert pressed.status == 200 and "will get no more emails" in pressed.text
    assert service.status("ann@example.com") == "unsubscribed"


def test_one_click_post_answers_200_without_a_redirect_and_repeats_harmlessly(service):
    subscribe_and_confirm(service, "ann@example.com")
    subscribe_and_confirm(service, "bob@example.com")
    link = service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>")
    for _ in range(2):
        reply = service.post(link, b"List-Unsubscribe=One-Click")
        assert reply.status == 200 and reply.headers.get("Location") is None
    assert service.status("ann@example.com") == "unsubscribed"
    assert service.status("bob@example.com") == "active"


def test_a_post_without_the_one_click_body_changes_nothing(service):
    subscribe_and_confirm(service, "ann@example.com")
    link = service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>")
    assert service.post(link, b"").status == 400
    assert service.post(link, {"List-Unsubscribe": "Yes"}).status == 400
    assert service.status("ann@example.com") == "active"


def test_bad_unsubscribe_links_change_nothing(service):
    subscribe_and_confirm(service, "ann@example.com")
    list_id, ann = service.config.list_id, public_id(service, "ann@example.com")
    good = TOKENS.make(UNSUBSCRIBE, ann, list_id)
    bad = {
        "forged": tamper(good), "truncated": good[:-4], "missing": "",
        "another key": OTHER_KEY.make(UNSUBSCRIBE, ann, list_id),
        "a confirm token": TOKENS.make(CONFIRM, ann, list_id, START),
        "another list": TOKENS.make(UNSUBSCRIBE, ann, "news.other.example"),
    }
    for name, token in bad.items():
        query = "/unsubscribe?" + urlencode({"token": token})
        assert service.get(query).status == 400, name
        reply = service.post(query, ONE_CLICK)
        assert reply.status == 400 and "This link does not work" in reply.text, name
    assert service.status("ann@example.com") == "active"


def test_the_newsletters_unsubscribe_header_works_here(service):
    subscribe_and_confirm(service, "ann@example.com")
    site, _ = load_site(service.config, START)
    post = site.posts[0]
    newsletter = compile_newsletter(post, service.config, make_env())
    msg = personalise(newsletter, service.store.get_subscriber("ann@example.com"), tokens=TOKENS, now=START)
    link = msg["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert link.startswith(service.url + "/unsubscribe?token=")
    assert service.post(link, b"List-Unsubscribe=One-Click").status == 200
    assert service.status("ann@example.com") == "unsubscribed"


RETIRED_KEY = "the-key-this-site-used-last-year"


def unsubscribe_with(service: Service, token: str) -> Reply:
    """Open an unsubscribe link as a mail client's one-click does."""
    return service.post("/unsubscribe?" + urlencode({"token": token}), ONE_CLICK)


def test_a_link_signed_with_a_retired_key_still_unsubscribes_and_one_in_neither_is_refused(start_service):
    service = start_service(old_keys=(RETIRED_KEY,))
    subscribe_and_confirm(service, "ann@example.com")
    subscribe_and_confirm(service, "bob@example.com")
    list_id = service.config.list_id
    stranger = unsubscribe_with(service, OTHER_KEY.make(UNSUBSCRIBE, public_id(service, "bob@example.com"), list_id))
    assert stranger.status == 400 and "This link does not work" in stranger.text
    assert service.status("bob@example.com") == "active"
    retired = LinkTokens(RETIRED_KEY).make(UNSUBSCRIBE, public_id(service, "ann@example.com"), list_id)
    page = service.get("/unsubscribe?" + urlencode({"token": retired}))
    assert page.status == 200 and "ann@example.com" in page.text
    reply = unsubscribe_with(service, retired)
    assert reply.status == 200 and "will get no more emails" in reply.text
    assert service.status("ann@example.com") == "unsubscribed" and service.status("bob@example.com") == "active"


def test_without_the_retired_key_its_links_are_refused(service):
    subscribe_and_confirm(service, "ann@example.com")
    retired = LinkTokens(RETIRED_KEY).make(UNSUBSCRIBE, public_id(service, "ann@example.com"), service.config.list_id)
    assert unsubscribe_with(service, retired).status == 400
    assert service.status("ann@example.com") == "active"


def test_an_unsubscribe_link_of_the_earlier_format_still_unsubscribes_with_the_current_or_a_retired_key(
        start_service):
    service = start_service(old_keys=(RETIRED_KEY,))
    for address, key in (("ann@example.com", SECRET), ("bob@example.com", RETIRED_KEY)):
        subscribe_and_confirm(service, address)
        token = old_format_token(key, UNSUBSCRIBE, address.upper(), service.config.list_id)
        assert address in service.get("/unsubscribe?" + urlencode({"token": token})).text
        assert unsubscribe_with(service, token).status == 200
        assert service.status(address) == "unsubscribed"


def test_a_confirm_link_of_the_earlier_format_confirms_within_its_age_and_never_unsubscribes(service):
    service.post("/subscribe", {"email": "ann@example.com"})
    service.clock.advance(dt.timedelta(hours=1))
    token = old_format_token(SECRET, CONFIRM, "ann@example.com", service.config.list_id, service.clock.now)
    assert unsubscribe_with(service, token).status == 400
    link = f"{service.url}/confirm?" + urlencode({"token": token})
    assert press_confirm(service, link).status == 200 and service.status("ann@example.com") == "active"
    service.post("/subscribe", {"email": "bob@example.com"})
    late = old_format_token(SECRET, CONFIRM, "bob@example.com", service.config.list_id, service.clock.now)
    service.clock.advance(dt.timedelta(hours=48, minutes=1))
    assert "This link has expired" in service.post("/confirm?" + urlencode({"token": late}), {}).text
    assert service.status("bob@example.com") == "pending"


def test_a_genuine_link_for_someone_no_longer_on_the_list_changes_nothing_and_says_so(service):
    subscribe_and_confirm(service, "ann@example.com")
    nobody, list_id = "0123456789abcdef0123456789abcdef", service.config.list_id
    query = "/unsubscribe?" + urlencode({"token": TOKENS.make(UNSUBSCRIBE, nobody, list_id)})
    for reply in (service.get(query), service.post(query, ONE_CLICK)):
        assert reply.status == 200 and "no longer on the list" in reply.text and "<form" in reply.text
    confirm = "/confirm?" + urlencode({"token": TOKENS.make(CONFIRM, nobody, list_id, START)})
    for reply in (service.get(confirm), service.post(confirm, {})):
        assert reply.status == 400 and "no longer valid" in reply.text
    assert service.status("ann@example.com") == "active" and len(service.mails("ann@example.com")) == 2


def test_no_link_in_the_confirmation_or_the_welcome_gives_away_the_address(service):
    subscribe_and_confirm(service, "Zoe.Lee+news@example.com")
    messages = service.mails("Zoe.Lee+news@example.com")
    assert [m["Subject"] for m in messages] == ["Confirm your subscription to Test Site", "Welcome to Test Site"]
    for msg in messages:
        links = [link for link in links_in(msg) if "token=" in link]
        assert links and not [link for link in links if reveals(link, "Zoe.Lee+news@example.com")]


def test_coming_back_after_unsubscribing_needs_a_new_confirmation(service):
    subscribe_and_confirm(service, "ann@example.com")
    old_link = confirm_link(service.mails("ann@example.com")[0])
    service.post(service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>"), ONE_CLICK)
    service.clock.advance(dt.timedelta(minutes=5))
    for reply in (service.get(old_link), service.post(old_link, {})):
        assert reply.status == 400 and "no longer valid" in reply.text
    assert service.status("ann@example.com") == "unsubscribed"
    service.post("/subscribe", {"email": "ann@example.com"})
    assert service.status("ann@example.com") == "unsubscribed"
    assert service.get(old_link).status == 400 and service.post(old_link, {}).status == 400
    assert service.status("ann@example.com") == "unsubscribed"
    assert press_confirm(service, confirm_link(service.mails("ann@example.com")[-1])).status == 200
    assert service.status("ann@example.com") == "active"


def test_a_refused_confirmation_email_gets_a_try_again_page(service):
    service.smtp.reply_at_rcpt("gone@example.com", "550 5.1.1 No such user", times=None)
    reply = service.post("/subscribe", {"email": "gone@example.com"})
    assert reply.status == 503 and "try again in a few minutes" in reply.text


def test_pages_use_the_site_look_and_need_no_javascript(service):
    page = service.get("/subscribe")
    assert page.status == 200
    assert '<link rel="stylesheet" href="https://example.com/assets/style.css">' in page.text
    assert 'class="site-header"' in page.text and "Test Site" in page.text
    assert f'action="{service.url}/subscribe"' in page.text and "<script" not in page.text
    assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]
    missing = service.get("/nothing-here")
    assert missing.status == 404 and 'class="site-header"' in missing.text
    assert service.request("PUT", "/subscribe").status == 405


def test_health_check(service):
    reply = service.get("/healthz")
    assert reply.status == 200 and reply.text.startswith("ok")


def test_a_database_held_by_another_process_gets_503_pages_and_an_unhealthy_health_check(tmp_path, smtp_server):
    """Nothing is recorded or sent while another connection holds the write lock, and the service tells
    people (a page in the site's look) and its supervisor (healthz) to try again; afterwards all works."""
    root = tmp_path / "site"
    write_posts(root, 1)
    config = site_config(root, f"http://127.0.0.1:{free_port()}", f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n')
    with running(config, smtp_server, Clock(START), busy_timeout=0.2) as service:
        subscribe_and_confirm(service, "ann@example.com")
        service.post("/subscribe", {"email": "bob@example.com"})
        link = confirm_link(service.mails("bob@example.com")[0])
        unsubscribe = service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>")
        sent = len(service.smtp.received)
        with held(service.store.path):
            health = service.get("/healthz")
            replies = [service.post("/subscribe", {"email": "cy@example.com"}), service.post(link, {}),
                       service.post(unsubscribe, ONE_CLICK)]
        assert health.status == 503 and not health.text.startswith("ok")
        for reply in replies:
            assert reply.status == 503 and "Please try again later" in reply.text
            assert 'class="site-header"' in reply.text and reply.headers["Retry-After"] == "30"
        assert len(service.smtp.received) == sent
        assert [service.status(a) for a in ("ann@example.com", "bob@example.com", "cy@example.com")] == [
            "active", "pending", None]
        assert service.get("/healthz").status == 200
        assert press_confirm(service, link).status == 200 and service.status("bob@example.com") == "active"


def test_healthz_says_unavailable_when_the_database_cannot_be_used(service):
    service.store.close()
    reply = service.get("/healthz")
    assert reply.status == 503 and not reply.text.startswith("ok")


def run_cli(root, *args: str):
    env = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": START.isoformat()}
    return CliRunner().invoke(main, ["--config", str(root), *args], env=env, catch_exceptions=False)


def test_from_the_form_to_the_inbox_and_out_again_with_send_and_publish(tmp_path, smtp_server):
    """Subscribe, confirm, get the next campaign (publisher send), unsubscribe with the newsletter's one-click
    header, and get nothing from the campaign after that (publisher publish), while another reader still does."""
    root = tmp_path / "site"
    write_posts(root, 1)
    config = site_config(root, f"http://127.0.0.1:{free_port()}",
                         f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n')
    assert "as the archive" in run_cli(root, "publish").output
    with running(config, smtp_server, Clock(START)) as service:
        subscribe_and_confirm(service, "ann@example.com")
        subscribe_and_confirm(service, "bob@example.com")
        assert [m["Subject"] for m in service.mails("ann@example.com")] == [
            "Confirm your subscription to Test Site", "Welcome to Test Site"]

        (root / "posts" / "second.md").write_text(post_text("Second article", "2025-01-10"), encoding="utf-8")
        sent = run_cli(root, "send", "second")
        assert sent.exit_code == 0 and "'second': sent 2, failed 0" in sent.output
        newsletter = service.mails("ann@example.com")[-1]
        assert newsletter["Subject"] == "Second article"

        link = newsletter["List-Unsubscribe"].split(",")[0].strip().strip("<>")
        reply = service.post(link, b"List-Unsubscribe=One-Click")
        assert reply.status == 200 and reply.headers.get("Location") is None
        assert service.status("ann@example.com") == "unsubscribed"

        (root / "posts" / "third.md").write_text(post_text("Third article", "2025-01-12"), encoding="utf-8")
        published = run_cli(root, "publish")
        assert published.exit_code == 0 and "'third': sent 1, failed 0" in published.output
        assert [m["Subject"] for m in service.mails("bob@example.com")][-2:] == ["Second article", "Third article"]
        assert "Third article" not in [m["Subject"] for m in service.mails("ann@example.com")]


def test_a_failure_of_ours_gets_a_500_page_in_the_site_look(service):
    service.store.close()
    reply = service.post("/subscribe", {"email": "ann@example.com"})
    assert reply.status == 500 and "Something went wrong" in reply.text and 'class="site-header"' in reply.text


def test_any_wsgi_server_can_load_the_service_from_the_site_folder(tmp_path, smtp_server, monkeypatch):
    port = free_port()
    root = tmp_path / "site"
    site_config(root, f"http://127.0.0.1:{port}", f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n')
    monkeypatch.delenv("PUBLISHER_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET_KEY is not set"):
        load_app(root)
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", SECRET)
    with serving(load_app(str(root), proxies=1), port):
        service = Service(f"http://127.0.0.1:{port}", None, None, smtp_server, None)
        assert service.post("/subscribe", {"email": "ann@example.com"}).status == 200
        assert press_confirm(service, confirm_link(service.mails("ann@example.com")[0])).status == 200
    with open_store(root / "publisher.db") as store:
        assert store.get_subscriber("ann@example.com").status == "active"


def test_the_entry_point_named_by_earlier_deployment_guides_still_loads_the_service(tmp_path, monkeypatch):
    import importlib
    port = free_port()
    root = tmp_path / "site"
    site_config(root, f"http://127.0.0.1:{port}", "")
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", SECRET)
    module, _, name = "publisher.web:load_app".partition(":")
    app = getattr(importlib.import_module(module), name)(str(root))
    with serving(app, port):
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
