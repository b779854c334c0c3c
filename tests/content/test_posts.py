"""Posts: front matter and Markdown into Post, and a clear file:line message for every kind of bad input."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import frontmatter
import pytest
import yaml

from publisher.content import posts as content
from publisher.content.posts import decode_post, parse_post, slugify
from publisher.content.schedule import is_published
from publisher.errors import ContentError

from ..fixtures_site import post_text

LONDON = ZoneInfo("Europe/London")
URL = "https://example.com"


def parse(text: str, name: str = "posts/2024-05-03-a-post.md"):
    return parse_post(Path(name), text, URL, LONDON)


def test_a_full_post():
    parsed = parse(post_text("Sciatica & you", "2024-06-01 09:30", "Intro text.\n\n## Causes\n",
                             summary='"Short."', tags="[sciatica, back pain]", updated="2024-07-01",
                             image="/images/a.jpg", image_alt="A spine"))
    post = parsed.post
    assert parsed.warnings == ()
    assert post.title == "Sciatica & you" and post.slug == "a-post"
    assert post.date == dt.datetime(2024, 6, 1, 9, 30, tzinfo=LONDON)
    assert post.url == "https://example.com/posts/a-post/"
    assert post.tags == ("sciatica", "back pain") and post.summary == "Short."
    assert post.image == "https://example.com/images/a.jpg"
    assert "<h2>Causes</h2>" in post.html


def test_summary_defaults_to_the_first_paragraph():
    assert parse(post_text(body="First *para*.\n\nSecond.")).post.summary == "First para."


def test_slug_from_front_matter_and_filename():
    assert parse(post_text(slug="my-slug")).post.slug == "my-slug"
    assert slugify("Gluteus Medius – Is It Causing Your Lower Back Pain?") == \
        "gluteus-medius-is-it-causing-your-lower-back-pain"


@pytest.mark.parametrize("text, line, fragment", [
    ("No front matter here.\n", 1, "no front matter"),
    ("---\ntitle: A\ndate: 2024-01-01\nbody without closing", 1, "not closed"),
    ("---\ntitle: [unclosed\ndate: 2024-01-01\n---\nx", 3, "not valid YAML"),
    ("---\ndate: 2024-01-01\n---\nx", 1, "title: missing"),
    ("---\ndate: 2024-01-01\n---\nStart a post with its title, like this:\ntitle: A post\n", 1, "title: missing"),
    ("---\ntitle: A\n---\nx", 1, "date: missing"),
    ("---\ntitle: A\ndate: 3rd May\n---\nx", 3, "date: expected YYYY-MM-DD"),
    ("---\ntitle: A\ndate: 2024-13-45\n---\nx", 3, "impossible date"),
    ("---\ntitle: A\ndate: 2024-01-01\ndraft: maybe\n---\nx", 4, "draft: expected true or false"),
    ("---\ntitle: A\ndate: 2024-01-01\nslug: Not OK\n---\nx", 4, "slug: 'Not OK' must be lower-case"),
    ("---\ntitle: A\ndate: 2024-01-01\ntags: {a: 1}\n---\nx", 4, "tags: expected a list"),
])
def test_bad_front_matter_names_line_field_and_fix(text, line, fragment):
    with pytest.raises(ContentError) as caught:
        parse(text)
    assert fragment in str(caught.value)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"posts/2024-05-03-a-post.md:{line}: ")


@pytest.mark.parametrize("image", [
    "javascript:alert(1)", "JavaScript:alert(document.cookie)", '" javascript:alert(1)"', '"java\\tscript:alert(1)"',
    "data:image/svg+xml;base64,PHN2Zz4=", "vbscript:msgbox", "file:///etc/passwd", "//evil.example/x.png",
    "mailto:a@example.com",
])
def test_an_image_that_is_not_http_or_a_path_on_the_site_is_refused_naming_line_and_field(image):
    with pytest.raises(ContentError) as caught:
        parse(post_text("A", "2024-01-01", image=image, image_alt="A"))
    assert str(caught.value).startswith("posts/2024-05-03-a-post.md:4: image: ")
    assert "http" in str(caught.value) and "/images/" in str(caught.value)


@pytest.mark.parametrize("image, src", [
    ("/images/a.jpg", "https://example.com/images/a.jpg"),
    ("images/a.jpg", "https://example.com/images/a.jpg"),
    ("https://cdn.example.org/a.jpg", "https://cdn.example.org/a.jpg"),
    ("HTTP://cdn.example.org/a.jpg", "HTTP://cdn.example.org/a.jpg"),
])
def test_http_and_site_relative_images_are_accepted(image, src):
    assert parse(post_text("A", "2024-01-01", image=image, image_alt="A")).post.image == src


@pytest.mark.parametrize("front, line", [
    ('title: "Tea\\ftime"', 2),
    ('summary: "Short\\x07 text"', 4),
    ('image_alt: "A \\x1b[31m spine"', 4),
    ('tags: ["back\\x00pain"]', 4),
])
def test_a_control_character_in_front_matter_is_refused_naming_line_and_field(front, line):
    text = ("---\n" + front + "\ndate: 2024-01-01\n---\nBody.\n" if front.startswith("title")
            else "---\ntitle: A\ndate: 2024-01-01\n" + front + "\n---\nBody.\n")
    with pytest.raises(ContentError) as caught:
        parse(text)
    field = front.split(":")[0]
    assert str(caught.value).startswith(f"posts/2024-05-03-a-post.md:{line}: {field}: ")
    assert "control character" in str(caught.value)


def test_control_characters_in_the_body_are_dropped_with_a_warning():
    parsed = parse("---\ntitle: A\ndate: 2024-01-01\n---\nx\x0cy and \x00z\x1b.\n")
    assert "xy and" in parsed.post.html and "z." in parsed.post.html
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in parsed.post.html + parsed.post.summary)
    assert [w.line for w in parsed.warnings if "control character" in str(w)] == [5]


def test_non_utf8_names_the_line():
    with pytest.raises(ContentError, match="not UTF-8") as caught:
        decode_post(Path("posts/x.md"), "---\ntitle: A\n".encode() + b"caf\xe9\n")
    assert caught.value.line == 3


def test_warnings_for_unknown_keys_and_missing_alt_text():
    parsed = parse(post_text(titel="Oops", image="/a.jpg", body="![](/b.png)"))
    messages = [str(w) for w in parsed.warnings]
    assert any("unknown front matter key 'titel'" in m and "did you mean 'title'" in m for m in messages)
    assert any("image has no image_alt" in m for m in messages)
    assert any("image in the body has no alt text" in m for m in messages)


@pytest.mark.parametrize("front", [
    'title: Sciatica and you\ndate: 2024-05-03\ntags: [sciatica, back pain]\nsummary: "A trapped nerve: what helps."',
    'title: "Quoted: with a colon"\ndate: 2024-05-03 09:00\ndraft: true', 'date: 2024-05-03 09:00:00\nslug: post-1',
    "title: It's fine (really) & more/less!\nimage: /images/x.png\nimage_alt: A diagram", 'tags: []\ndraft: false',
    'title: yes', 'title: No', 'tags: [yes, no]', 'tags: [a,,b]', 'tags: [a, b,]', 'date: 2024-02-30', 'x: 12',
    'title: Hello # a comment', 'title: "a\\"b"', "title: 'single'", 'title: x\ntitle: y', 'title: ~', 'title: -a',
    'date: 2024-01-01T09:00:00', 'title: Ünïcode ☕', 'summary: "Ünïcode ☕"', 'title: a: b', 'draft: True',
])
def test_front_matter_is_read_as_yaml_reads_it(front):
    text = f"---\n{front}\n---\n\nBody."
    assert outcome(lambda: frontmatter.parse(text, handler=content._FRONT_MATTER)) == outcome(
        lambda: frontmatter.parse(text))


def outcome(parse):
    try:
        return parse()
    except (ValueError, yaml.YAMLError) as exc:
        return type(exc)


@pytest.mark.parametrize("front, at, published", [
    ({"date": "2024-05-03 09:00"}, dt.datetime(2024, 5, 3, 8, 0, tzinfo=dt.UTC), True),  # 09:00 London is 08:00 UTC
    ({"date": "2024-05-03 09:00"}, dt.datetime(2024, 5, 3, 7, 59, tzinfo=dt.UTC), False),
    ({"date": "2024-05-03", "draft": "true"}, dt.datetime(2999, 1, 1, tzinfo=dt.UTC), False),
    ({"date": "2024-05-03", "draft": "false"}, dt.datetime(2024, 5, 4, tzinfo=dt.UTC), True),
])
def test_a_post_is_published_from_its_date_on_unless_it_is_a_draft(front, at, published):
    post = parse(post_text(**front)).post
    assert is_published(post, at) is published


def test_email_and_id_are_read_from_the_front_matter():
    post = parse(post_text(email="false", id="3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f")).post
    assert post.email is False and post.id == "3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f"
    assert parse(post_text()).post.email is True and parse(post_text()).post.id == ""
    assert parse(post_text(email="false")).warnings == ()


@pytest.mark.parametrize("meta, message", [
    ({"email": "maybe"}, "4: email: expected true or false, got 'maybe'"),
    ({"id": "1234"}, "4: id: expected an id like 3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f as publish writes it, got 1234"),
    ({"id": "3F2B8C1E-7D4A-4C1B-9E2F-0A1B2C3D4E5F"}, "delete the line and the next publish writes it again"),
])
def test_a_bad_email_or_id_is_refused_with_its_line_and_the_fix(meta, message):
    with pytest.raises(ContentError) as caught:
        parse(post_text(**meta))
    assert message in str(caught.value)
