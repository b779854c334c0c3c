"""The plain-text part of the newsletter: the post as readable text, then the booking details and the footer.

The text is made from the post's rendered HTML (the Markdown already turned into structure, every URL made
absolute), so it says exactly what the HTML part says. Links become numbered references, `text [1]`, listed
after the article; footnote markers become superscript digits; lines are wrapped at 72 columns except URLs.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ..config import Config
from ..content.posts import Post

WIDTH = 72
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_FLUSHING = {"p", "div", "section", "figure", "figcaption", "table", "dl", "dt", "dd", "article", "aside"}
_HEADINGS = {"h1": "=", "h2": "-", "h3": "", "h4": "", "h5": "", "h6": ""}
_LINKABLE = ("http://", "https://", "mailto:", "tel:")


@dataclass
class _Block:
    text: str
    group: int = 0  # consecutive blocks of one list or table share a group and are not separated by a blank line
    quote: int = 0


@dataclass
class _State:
    """Where the parser is: lists and quotes open, the link being read, the table row being built."""
    lists: list[list] = field(default_factory=list)  # [bullet kind, counter] per open list
    quote: int = 0
    pre: int = 0
    bullet: str | None = None
    heading: str | None = None
    skipping: int = 0
    footnotes: bool = False
    group: int = 0
    groups: int = 0
    links: list[tuple[str | None, int, bool]] = field(default_factory=list)  # href, text start, footnote
    cells: list[str] | None = None
    cell_start: int = 0


class _TextWriter(HTMLParser):
    """Collects blocks of wrapped text and the link list from an HTML fragment."""

    def __init__(self, width: int):
        super().__init__(convert_charrefs=True)
        self.width = width
        self.blocks: list[_Block] = []
        self.inline: list[str] = []
        self.urls: list[str] = []
        self.s = _State()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self.s.skipping or "data-footnote-backref" in a:
            self.s.skipping += tag == "a"
            return
        if tag in _FLUSHING or tag in _HEADINGS or tag in ("blockquote", "pre", "li", "ul", "ol", "hr"):
            self.flush()
        self._open(tag, a)

    def _open(self, tag: str, a: dict) -> None:
        s = self.s
        if tag in ("ul", "ol"):
            if not s.lists:
                s.groups += 1
                s.group = s.groups
            s.lists.append(["ol" if tag == "ol" else "ul", int(a.get("start") or 1) - 1])
        elif tag == "li" and s.lists:
            s.lists[-1][1] += 1
            kind, number = s.lists[-1]
            s.bullet = self._footnote_bullet(number) if s.footnotes else ("- " if kind == "ul" else f"{number}. ")
        elif tag in _HEADINGS:
            s.heading = _HEADINGS[tag]
        elif tag == "blockquote":
            s.quote += 1
        elif tag == "pre":
            s.pre += 1
        elif tag == "hr":
            self.blocks.append(_Block("* * *"))
        elif tag == "br":
            self.inline.append("\n")
        elif tag == "img" and a.get("alt"):
            self.inline.append(f"[Image: {a['alt']}]")
        elif tag == "a":
            s.links.append((a.get("href"), len(self.inline), "data-footnote-ref" in a))
        elif tag == "section" and "footnotes" in (a.get("class") or ""):
            s.footnotes = True
            self.blocks.append(_Block("Notes:"))
        elif tag == "table":
            s.groups += 1
            s.group = s.groups
        elif tag == "tr":
            s.cells = []
        elif tag in ("td", "th"):
            s.cell_start = len(self.inline)

    @staticmethod
    def _footnote_bullet(number: int) -> str:
        return str(number).translate(SUPERSCRIPT) + " "

    def handle_endtag(self, tag: str) -> None:
        s = self.s
        if s.skipping:
            s.skipping -= tag == "a"
            return
        if tag == "a" and s.links:
            self._close_link(*s.links.pop())
        elif tag in ("td", "th") and s.cells is not None:
            s.cells.append(" ".join("".join(self.inline[s.cell_start:]).split()))
            del self.inline[s.cell_start:]
        elif tag == "tr" and s.cells is not None:
            self.blocks.append(_Block(" | ".join(s.cells), s.group))
            s.cells = None
        elif tag in _FLUSHING or tag in _HEADINGS or tag in ("blockquote", "pre", "li", "ul", "ol"):
            self.flush()
            self._close(tag)

    def _close(self, tag: str) -> None:
        s = self.s
        if tag in ("ul", "ol") and s.lists:
            s.lists.pop()
            s.group = s.group if s.lists else 0
        elif tag in _HEADINGS:
            s.heading = None
        elif tag == "blockquote":
            s.quote -= 1
        elif tag == "pre":
            s.pre -= 1
        elif tag == "section":
            s.footnotes = False
        elif tag == "table":
            s.group = 0

    def _close_link(self, href: str | None, start: int, footnote: bool) -> None:
        text = "".join(self.inline[start:]).strip()
        if footnote:
            self.inline[start:] = [text.translate(SUPERSCRIPT)]
        elif href and href.startswith(_LINKABLE) and text and not _shows_url(text, href):
            if href not in self.urls:
                self.urls.append(href)
            self.inline.append(f" [{self.urls.index(href) + 1}]")

    def handle_data(self, data: str) -> None:
        if not self.s.skipping:
            self.inline.append(data if self.s.pre else data.replace("\n", " "))

    def flush(self) -> None:
        """Turn the inline text gathered so far into a block, wrapped and prefixed for its list or quote."""
        text, self.inline = "".join(self.inline), []
        if not text.strip():
            return
        s = self.s
        quote = "> " * s.quote
        if s.pre:
            code = "\n".join(quote + "    " + line for line in text.strip("\n").split("\n"))
            self.blocks.append(_Block(code, quote=s.quote))
            return
        depth = "  " * max(len(s.lists) - 1, 0)
        first = quote + depth + (s.bullet or "")
        rest = quote + depth + " " * len(s.bullet or "")
        s.bullet = None
        lines = [" ".join(line.split()) for line in text.split("\n")]
        self.blocks.append(_Block(self._format(lines, first, rest), s.group if s.lists else 0, s.quote))

    def _format(self, lines: list[str], first: str, rest: str) -> str:
        if self.s.heading is not None:
            title = " ".join(lines)
            rule = self.s.heading * min(len(title), self.width)
            return f"{first}{title}\n{rest}{rule}" if rule else first + title
        wrapped = [wrap(line, self.width, first if i == 0 else rest, rest) for i, line in enumerate(lines)]
        return "\n".join(wrapped)

    def text(self) -> str:
        self.flush()
        parts = [self.blocks[0].text] if self.blocks else []
        for previous, block in zip(self.blocks, self.blocks[1:]):
            parts.append(_separator(previous, block) + block.text)
        links = "\n".join(f"[{n}] {url}" for n, url in enumerate(self.urls, start=1))
        return "".join(parts) + (f"\n\nLinks:\n{links}" if links else "")


def _separator(previous: _Block, block: _Block) -> str:
    """A line break inside a list or table, a quoted blank line inside a quote, else a blank line."""
    if block.group and previous.group == block.group:
        return "\n"
    return "\n" + ">" * min(previous.quote, block.quote) + "\n"


def _shows_url(text: str, href: str) -> bool:
    """Whether the link text already is the URL (an autolink), so a reference would only repeat it."""
    bare = href.removeprefix("mailto:").removeprefix("tel:")
    return text in (href, bare) or href.split("://", 1)[-1].rstrip("/") == text.rstrip("/")


def wrap(line: str, width: int = WIDTH, first: str = "", rest: str = "") -> str:
    """One paragraph wrapped at `width`; long words (URLs) are never broken."""
    return textwrap.fill(line, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or first.rstrip()


def html_to_text(fragment: str, width: int = WIDTH) -> str:
    """Readable plain text of an HTML fragment, with its links as numbered references listed at the end."""
    writer = _TextWriter(width)
    writer.feed(fragment)
    writer.close()
    return writer.text()


@dataclass(frozen=True)
class Slots:
    """What to write where a per-recipient value goes: placeholders when compiling, or the values themselves."""
    greeting: str
    sent_to: str
    unsubscribe_url: str


def render_text(post: Post, config: Config, slots: Slots, web_url: str, excerpt: bool = False) -> str:
    """The whole plain-text part: header, title, article (or summary), booking details, footer."""
    title = " ".join(post.title.split())
    article = (wrap(post.summary) + f"\n\nRead the full article: {post.url}") if excerpt else html_to_text(post.html)
    sections = [
        config.site.title,
        f"{title}\n{'=' * min(len(title), WIDTH)}",
        slots.greeting,
        article,
        booking_text(config),
        footer_text(config, slots, web_url),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def booking_text(config: Config) -> str:
    """The booking call to action: heading, sentence, services, and the three ways to book."""
    b = config.booking
    if not b.enabled:
        return ""
    lines = [f"{b.heading}\n{'-' * min(len(b.heading), WIDTH)}"]
    lines += [wrap(b.text)] if b.text else []
    lines += [wrap(" · ".join(b.services))] if b.services else []
    ways = [f"{b.button}: {b.url}" if b.url else "", f"Phone: {b.phone}" if b.phone else "",
            f"Email: {b.email}" if b.email else ""]
    return "\n\n".join(lines + ["\n".join(w for w in ways if w)])


def footer_text(config: Config, slots: Slots, web_url: str) -> str:
    """Why the reader gets this, where to read it online, how to leave, and who sends it."""
    lines = [
        "-" * 24,
        wrap(f"You are receiving this because you subscribed to the {config.site.title} newsletter."),
        slots.sent_to,
        f"View in your browser: {web_url}",
        f"Unsubscribe: {slots.unsubscribe_url}",
        config.site.address,
    ]
    return "\n".join(line for line in lines if line)
