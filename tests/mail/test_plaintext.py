"""The plain-text part: the post reads well as text, links are numbered, booking and unsubscribe are there."""

import datetime as dt
from pathlib import Path

from publisher.config import BookingConfig, Config, SiteConfig
from publisher.content.markdown import render_markdown
from publisher.content.posts import Post
from publisher.mail.plaintext import Slots, html_to_text, render_text

BASE = "https://example.com/posts/a/"
CONFIG = Config(
    root=Path("."),
    site=SiteConfig(title="Massage in York", url="https://example.com", address="1 High St, York YO1 1AA"),
    booking=BookingConfig(heading="Book a mobile massage", text="Mobile massage in York.", phone="07713 250352",
                          country_code="44", email="david@massageinyork.co.uk",
                          url="https://massageinyork.co.uk/booking/", button="Book a massage",
                          services=("Sports massage", "Deep tissue massage")),
)


def text_of(markdown: str) -> str:
    return html_to_text(render_markdown(markdown, BASE))


def make_post(body: str, title: str = "Sciatica and you", summary: str = "How massage helps.") -> Post:
    return Post(source=Path("posts/a.md"), slug="a", title=title, date=dt.datetime(2024, 5, 3, tzinfo=dt.timezone.utc),
                summary=summary, body=body, html=render_markdown(body, BASE), url=BASE)


def test_links_become_numbered_references_listed_at_the_end():
    text = text_of("See [the clinic](/clinic/) and [the NHS](https://www.nhs.uk/), then [the clinic](/clinic/) again.")
    assert text.startswith("See the clinic [1] and the NHS [2], then the clinic [1] again.")
    assert text.endswith("Links:\n[1] https://example.com/clinic/\n[2] https://www.nhs.uk/")


def test_a_bare_url_is_shown_once_not_as_a_reference():
    text = text_of("Read https://www.nhs.uk/conditions/sciatica/ today, or write to <ann@example.com>.")
    assert " ".join(text.split()) == "Read https://www.nhs.uk/conditions/sciatica/ today, or write to ann@example.com."


def test_paragraphs_wrap_at_72_columns_without_breaking_urls():
    long_url = "https://example.com/" + "a" * 90
    text = text_of(("word " * 40) + long_url + " end")
    lines = text.splitlines()
    assert all(len(line) <= 72 for line in lines if long_url not in line)
    assert long_url in lines


def test_headings_lists_quotes_code_and_rules_keep_their_shape():
    text = text_of("## Why it hurts\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n"
                   "> a quote\n>\n> second line\n\n```\ncode  keeps   spacing\n```\n\n---\n\nLine one  \nline two\n")
    assert "Why it hurts\n------------" in text
    assert "- one\n- two\n  - nested" in text
    assert "1. first\n2. second" in text
    assert "> a quote\n>\n> second line" in text
    assert "    code  keeps   spacing" in text
    assert "* * *" in text
    assert "Line one\nline two" in text


def test_images_show_their_alt_text_and_tables_their_cells():
    text = text_of('![A stretch for the lower back](/img/s.jpg "Hold for 30 seconds")\n\n'
                   "| Muscle | Helps |\n|---|---|\n| Piriformis | Stretching |\n")
    assert "[Image: A stretch for the lower back]" in text and "Hold for 30 seconds" in text
    assert "Muscle | Helps\nPiriformis | Stretching" in text


def test_footnotes_use_superscript_markers_and_drop_the_back_links():
    text = text_of("Sciatica is common[^1].\n\n[^1]: About 40% of people, per [the NHS](https://www.nhs.uk/).")
    assert "Sciatica is common¹." in text
    assert "Notes:\n\n¹ About 40% of people, per the NHS [1]." in text
    assert "↩" not in text and "#fn" not in text


def test_markup_and_entities_become_plain_characters():
    text = text_of('Fish & chips, "quotes", <not a tag> and *emphasis*.')
    assert text == "Fish & chips, “quotes”, and emphasis."


def test_the_full_text_has_title_article_booking_and_footer_in_order():
    slots = Slots(greeting="Hi Ann,", sent_to="This email was sent to ann@example.com.",
                  unsubscribe_url="https://example.com/unsubscribe?token=abc")
    text = render_text(make_post("Massage [helps](https://www.nhs.uk/)."), CONFIG, slots,
                       "https://example.com/newsletter/a/")
    order = ["Massage in York", "Sciatica and you\n================", "Hi Ann,", "Massage helps [1].",
             "[1] https://www.nhs.uk/", "Book a mobile massage", "Sports massage · Deep tissue massage",
             "Book a massage: https://massageinyork.co.uk/booking/", "Phone: 07713 250352",
             "Email: david@massageinyork.co.uk", "subscribed to the Massage in York",
             "This email was sent to ann@example.com.", "View in your browser: https://example.com/newsletter/a/",
             "Unsubscribe: https://example.com/unsubscribe?token=abc", "1 High St, York YO1 1AA"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_excerpt_mode_sends_the_summary_and_a_link_to_the_article():
    slots = Slots("Hello,", "", "https://example.com/unsubscribe?token=abc")
    text = render_text(make_post("The whole long article."), CONFIG, slots, "https://example.com/newsletter/a/",
                       excerpt=True)
    assert "How massage helps.\n\nRead the full article: https://example.com/posts/a/" in text
    assert "The whole long article." not in text


def test_a_title_with_line_breaks_stays_on_one_line():
    text = render_text(make_post("Body.", title="Two\r\nlines"), CONFIG, Slots("", "", "u"), "w")
    assert "Two lines\n=========" in text


def test_without_booking_details_there_is_no_booking_block():
    config = Config(root=Path("."), site=CONFIG.site)
    text = render_text(make_post("Body."), config, Slots("", "", "u"), "w")
    assert "Phone:" not in text and "Book" not in text
