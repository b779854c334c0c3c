"""The call-to-action: Book and Call in every header, the booking block on every kind of page, in posts after
the introduction and at the end, the booking page's form, and a booking URL that always leads somewhere."""

import re

import pytest

from publisher.build.pages import split_intro

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text
from .test_pages import Collect

INTERNAL = BOOKING_TOML.replace('url = "https://massageinyork.co.uk/booking/"', 'url = "/booking/"')
LONG_BODY = "\n\n".join(f"Paragraph {n}." for n in range(1, 7))
SERVICE = '\n[subscriptions]\nurl = "https://book.example.com"\n'


def write_page(site_dir, name: str, text: str) -> None:
    (site_dir.root / "pages").mkdir(exist_ok=True)
    (site_dir.root / "pages" / name).write_text(text, encoding="utf-8")


@pytest.fixture
def site(site_dir):
    site_dir.config(BASIC_TOML + INTERNAL + SERVICE)
    write_page(site_dir, "booking.md", "---\ntitle: Book\nlayout: booking\n---\nTell me when.\n")
    write_page(site_dir, "about.md", "---\ntitle: About\nnav: 1\n---\nAbout me.\n")
    site_dir.post("a.md", post_text("A post", "2024-01-01", LONG_BODY, tags="[backs]"))
    assert site_dir.run("build").exit_code == 0
    return site_dir


EVERY_KIND = ("index.html", "posts/a/index.html", "tags/index.html", "tags/backs/index.html",
              "archive/index.html", "404.html", "about/index.html", "booking/index.html")


@pytest.mark.parametrize("path", EVERY_KIND)
def test_every_page_has_book_and_call_in_its_header(site, path):
    header = site.read(path).split('<header class="site-header">')[1].split("</header>")[0]
    page = Collect(header)
    assert page.find("a", href="https://example.com/booking/", **{"class": "button"})
    assert page.find("a", href="tel:+447713250352")


@pytest.mark.parametrize("path", [p for p in EVERY_KIND if p != "booking/index.html"])
def test_every_page_but_the_booking_page_carries_the_booking_block(site, path):
    html = site.read(path)
    assert '<aside class="booking"' in html and "Book a mobile massage" in html


def test_a_post_shows_the_block_after_its_introduction_and_at_the_end(site):
    html = site.read("posts/a/index.html")
    blocks = [m.start() for m in re.finditer('<aside class="booking"', html)]
    assert len(blocks) == 2
    assert html.index("Paragraph 3.") < blocks[0] < html.index("Paragraph 4.") < html.index("</article>") < blocks[1]
    assert len(set(re.findall(r'aria-labelledby="([^"]+)"', html))) == len(re.findall('aria-labelledby', html))


@pytest.mark.parametrize("in_post, count", [("after_intro", 1), ("end", 1), ("both", 2)])
def test_where_posts_show_the_block_is_a_setting(site, in_post, count):
    site.config(BASIC_TOML + INTERNAL + f'in_post = "{in_post}"\nintro_paragraphs = 2\n' + SERVICE)
    site.run("build")
    html = site.read("posts/a/index.html")
    assert html.count('<aside class="booking"') == count
    if in_post == "after_intro":
        assert html.index("Paragraph 2.") < html.index('<aside class="booking"') < html.index("Paragraph 3.")


def test_a_short_post_shows_the_block_once_at_the_end(site):
    site.post("a.md", post_text("A post", "2024-01-01", "Only one paragraph."))
    site.run("build")
    assert site.read("posts/a/index.html").count('<aside class="booking"') == 1


def test_the_introduction_ends_after_top_level_paragraphs_only():
    html = "<p>One.</p>\n<blockquote>\n<p>Quoted.</p>\n</blockquote>\n<p>Two.</p>\n<p>Three.</p>\n"
    assert split_intro(html, 2) == ("<p>One.</p>\n<blockquote>\n<p>Quoted.</p>\n</blockquote>\n<p>Two.</p>\n",
                                    "<p>Three.</p>\n")
    assert split_intro(html, 3) == ("", "")


def test_the_booking_page_form_follows_the_services_contract(site):
    page = Collect(site.read("booking/index.html"))
    [form] = page.find("form", action="https://book.example.com/book", method="post")
    assert form
    fields = {attrs.get("name"): attrs for tag, attrs in page.tags if tag in ("input", "select", "textarea")}
    assert {"name", "phone", "email", "service", "when", "area", "message", "website", "page"} <= set(fields)
    assert "required" in fields["name"] and fields["page"]["value"] == "https://example.com/booking/"
    assert (fields["name"]["autocomplete"], fields["phone"]["autocomplete"], fields["email"]["autocomplete"],
            fields["area"]["autocomplete"]) == ("name", "tel", "email", "postal-code")
    options = re.findall(r"<option>([^<]+)</option>", site.read("booking/index.html"))
    assert options == ["Sports massage", "Deep tissue massage", "Not sure"]
    labelled = {attrs["for"] for tag, attrs in page.tags if tag == "label" and "for" in attrs}
    assert all(attrs["id"] in labelled for name, attrs in fields.items() if name not in ("website", "page"))
    assert "<script>" not in site.read("booking/index.html")  # (JSON-LD only: the form needs no JavaScript)


def test_without_a_service_url_the_form_posts_to_the_site_itself_as_the_subscribe_form_does(site):
    site.config(BASIC_TOML + INTERNAL)
    site.run("build")
    page = Collect(site.read("booking/index.html"))
    assert page.find("form", action="https://example.com/book", method="post")
    assert page.find("form", action="https://example.com/subscribe", method="post")
    html = site.read("booking/index.html")
    assert 'href="tel:+447713250352"' in html and "mailto:david@massageinyork.co.uk" in html
    assert "booking" not in site.run("check").output


def test_a_booking_url_inside_the_site_with_no_page_is_a_build_error(site_dir):
    site_dir.config(BASIC_TOML + INTERNAL)
    site_dir.post("a.md", post_text())
    result = site_dir.run("build")
    assert result.exit_code == 1 and not site_dir.out.exists()
    assert ("publisher.toml: booking.url: /booking/ is a page of this site, but the site has no /booking/; add "
            "pages/booking.md with 'layout: booking'") in result.output
    assert "booking.url" in site_dir.run("check", "--strict").output


def test_an_absolute_booking_url_on_the_sites_own_domain_is_held_to_the_same_rule(site_dir):
    site_dir.config(BASIC_TOML + BOOKING_TOML.replace("https://massageinyork.co.uk/booking/",
                                                      "https://example.com/booking/"))
    site_dir.post("a.md", post_text())
    assert site_dir.run("build").exit_code == 1


def test_check_reports_an_outside_booking_url_that_is_not_https(site_dir):
    site_dir.config(BASIC_TOML + BOOKING_TOML.replace("https://massageinyork", "http://massageinyork"))
    site_dir.post("a.md", post_text(summary="A summary."))
    result = site_dir.run("check", "--strict")
    assert result.exit_code == 1
    assert "publisher.toml:14: warning: booking.url http://massageinyork.co.uk/booking/ is not https" in result.output


def test_the_home_page_starts_with_the_business_then_the_newest_articles(site):
    site.config(BASIC_TOML + 'headline = "Mobile massage in York"\n' + INTERNAL + SERVICE)
    site.run("build")
    html = site.read("index.html")
    assert '<h1 class="page-title">Mobile massage in York</h1>' in html
    assert html.index("Book a mobile massage") < html.index("Sports massage") < html.index("Latest articles") \
        < html.index("A post")


def test_read_more_links_start_with_their_visible_words(site):
    html = site.read("index.html")
    link = re.search(r'<a href="https://example.com/posts/a/">(Read more.*?)</a>', html)[1]
    assert re.sub("<[^>]+>", "", link) == "Read more about A post" and "aria-label" not in link
