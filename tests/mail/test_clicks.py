"""Click tokens and the links they replace: one token per link per campaign, signed over the campaign and the
URL, so it says nothing about the reader and points nowhere but where the newsletter did."""

from __future__ import annotations

import re

import pytest

from publisher.errors import TokenError
from publisher.mail.clicks import check_click, click_url, read_click_token, tracked_urls, with_tracked_links

SECRET = "a-test-secret-that-is-long-enough"
SLOT = re.compile(r"__publisher_0123_(unsubscribe_url)__")


def token_of(url: str) -> str:
    return url.rsplit("/c/", 1)[1]


def test_a_token_passes_only_for_its_campaign_link_and_url():
    url = "https://example.org/prices?a=1&b=2"
    token = read_click_token(token_of(click_url("https://s.example.com", SECRET, 7, 2, url)))
    assert (token.campaign_id, token.link) == (7, 2)
    check_click(SECRET, token, url)
    for other in ("https://evil.example/", "https://example.org/prices?a=1&b=3"):
        with pytest.raises(TokenError):
            check_click(SECRET, token, other)
    moved = read_click_token(token_of(click_url("https://s.example.com", SECRET, 8, 2, url)))
    with pytest.raises(TokenError):
        check_click(SECRET, read_click_token(f"7-2-{moved.mac}"), url)
    with pytest.raises(TokenError):
        check_click("another-secret-that-is-long-enough", token, url)
    check_click(("another-secret-that-is-long-enough", SECRET), token, url)  # a key retired since still counts


@pytest.mark.parametrize("token", ["", "7-2", "7-2-ABCDEFGHIJKLMNOP", "x-2-abcdefghijklmnop", "7-2-abcdefghijklmnop1",
                                   "../../etc", "7-2-abcdefghijklmno\u00e9"])
def test_tokens_not_of_our_shape_are_refused_before_any_lookup(token):
    with pytest.raises(TokenError):
        read_click_token(token)


def test_only_web_links_without_a_placeholder_are_tracked_each_once_in_order():
    markup = ('<a href="https://example.com/b?x=1&amp;y=2">b</a> <a href="mailto:a@example.com">m</a>\n'
              '<a href="tel:+44">t</a> <a href="http://example.com/a">a</a>\n'
              '<a href="https://example.com/b?x=1&amp;y=2">again</a> <a href="__publisher_0123_unsubscribe_url__">u</a>'
              ' <img src="https://example.com/i.png">')
    assert tracked_urls(markup, SLOT) == ["https://example.com/b?x=1&y=2", "http://example.com/a"]
    swapped = with_tracked_links(markup, {"https://example.com/b?x=1&y=2": "https://s.example.com/c/1-1-x&y"})
    assert swapped.count('href="https://s.example.com/c/1-1-x&amp;y"') == 2
    assert 'href="http://example.com/a"' in swapped and 'href="mailto:a@example.com"' in swapped
    assert 'src="https://example.com/i.png"' in swapped
