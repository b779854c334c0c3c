"""Markdown rendering: CommonMark + tables + footnotes + figures, absolute URLs, raw HTML kept out."""

from publisher.content.markdown import first_paragraph, render_markdown

BASE = "https://example.com/posts/a/"


def test_figures_tables_and_footnotes():
    html = render_markdown('![Spine](/img/s.svg "The sciatic nerve")\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n'
                           "Pain[^1].\n\n[^1]: A source.\n", BASE)
    assert '<figure><img src="https://example.com/img/s.svg" alt="Spine"' in html
    assert "<figcaption>The sciatic nerve</figcaption></figure>" in html
    assert "<table>" in html and "<td>2</td>" in html
    assert 'href="https://example.com/posts/a/#fn-1"' in html and "A source." in html


def test_relative_links_become_absolute_and_others_are_kept():
    html = render_markdown("[a](../b/) [c](/c?x=1&y=2) [d](mailto:d@e.com) [e](https://other.org/x)", BASE)
    assert 'href="https://example.com/posts/b/"' in html
    assert 'href="https://example.com/c?x=1&amp;y=2"' in html
    assert 'href="mailto:d@e.com"' in html
    assert 'href="https://other.org/x"' in html


def test_raw_html_is_left_out_unless_allowed():
    assert "<script>" not in render_markdown("<script>alert(1)</script>\n\nText", BASE)
    assert "<b>bold</b>" in render_markdown("<b>bold</b>", BASE, allow_html=True)


def test_first_paragraph_is_plain_text():
    assert first_paragraph(render_markdown("# Title\n\nOne *two* &amp; three.\n\nNext.", BASE)) == "One two & three."
