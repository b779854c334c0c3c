"""Text contrast of at least 4.5:1 (WCAG 2.2 AA) in light and dark mode, computed from the colours the
stylesheet and the newsletter's CSS actually set, and links in text that are underlined, not told apart by
colour alone."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).parents[2] / "templates"
CSS = (TEMPLATES / "assets" / "style.css").read_text()
NEWSLETTER = (TEMPLATES / "newsletter.mjml").read_text()
EMAIL_HEAD = (TEMPLATES / "_email_head.mjml").read_text()
BOOKING_MJML = (TEMPLATES / "_booking.mjml").read_text()
AA = 4.5

# Each text colour and the backgrounds it is shown on, by the names of the stylesheet's variables.
PAGE_PAIRS = [("ink", "paper"), ("muted", "paper"), ("muted", "tint"), ("ink", "tint"), ("accent", "paper"),
              ("accent", "tint"), ("accent-ink", "accent"), ("accent", "accent-ink")]


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def schemes() -> dict[str, dict[str, str]]:
    """The stylesheet's colour variables in light mode, and in dark mode (light ones overridden)."""
    light = variables(CSS.split("@media (prefers-color-scheme: dark)")[0])
    dark = {**light, **variables(CSS.split("@media (prefers-color-scheme: dark)")[1].split("}\n")[0])}
    return {"light": light, "dark": dark}


def test_the_contrast_formula_matches_wcags_examples():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("text, background", PAGE_PAIRS)
def test_page_text_is_readable(scheme, text, background):
    colours = schemes()[scheme]
    assert contrast(colours[text], colours[background]) >= AA, (scheme, text, background)


def test_the_badge_is_readable():
    badge = re.search(r"\.badge \{ background: (#\w{6}); color: (#\w{3,6});", CSS)
    assert contrast(badge[1], "#ffffff" if badge[2] in ("#fff", "#ffffff") else badge[2]) >= AA


def email_colours() -> list[tuple[str, str, str]]:
    """(where, text, background) for the newsletter in light mode and in dark mode, read from its CSS."""
    colour = r"(#[0-9a-f]{6})"
    text = re.search(rf'<mj-text color="{colour}"', EMAIL_HEAD)[1]
    card, band = "#ffffff", re.search(rf'<mj-body background-color="{colour}"', NEWSLETTER)[1]
    tint = re.search(rf'background-color="{colour}" border-radius="8px" css-class="nl-tint"', BOOKING_MJML)[1]
    link = re.search(rf"\.nl-text a {{ color: {colour};", NEWSLETTER)[1]
    muted = re.search(rf"\.nl-footer p {{[^}}]*color: {colour};", NEWSLETTER)[1]
    button = re.search(rf'<mj-button background-color="{colour}" color="{colour}"', EMAIL_HEAD)
    dark = EMAIL_HEAD.split("prefers-color-scheme: dark")[1]
    d_band = re.search(rf"\.nl-band > table {{ background-color: {colour}", dark)[1]
    d_card = re.search(rf"\.nl-card > table {{ background-color: {colour}", dark)[1]
    d_tint = re.search(rf"td {{ background-color: {colour}", dark)[1]
    d_text = re.search(rf"\.nl-brand a {{ color: {colour}", dark)[1]
    d_link = re.search(rf"\.nl-footer a {{ color: {colour}", dark)[1]
    d_muted = re.search(rf"\.nl-link p {{ color: {colour}", dark)[1]
    return [("text", text, card), ("link", link, card), ("booking link", link, tint), ("booking text", text, tint),
            ("footer", muted, band), ("footer link", link, band), ("button", button[2], button[1]),
            ("dark text", d_text, d_card), ("dark link", d_link, d_card), ("dark booking", d_link, d_tint),
            ("dark booking text", d_text, d_tint), ("dark footer", d_muted, d_band),
            ("dark footer link", d_link, d_band)]


@pytest.mark.parametrize("where, text, background", email_colours())
def test_newsletter_text_is_readable(where, text, background):
    assert contrast(text, background) >= AA, where


def test_links_in_text_are_underlined_in_pages_and_the_newsletter():
    assert re.search(r"^a \{[^}]*text-decoration: underline", CSS, re.M)
    assert not re.search(r"\.body a[^{]*\{[^}]*text-decoration: none", CSS)
    for rule in re.findall(r"^[^{\n]*\ba\b[^{\n]*\{[^}]*\}", NEWSLETTER, re.M):
        if ".nl-article" in rule or ".nl-footer" in rule or rule.startswith(".nl-text a "):
            assert "text-decoration: none" not in rule, rule
    assert re.search(r"\.footnote-backref[^{]*\{[^}]*text-decoration: underline", NEWSLETTER)
