"""The pages only the preview shows: a failed build's problems, a newsletter as a subscriber gets it, and the
script that reloads a page when the site changes. Pure: text in, bytes out, everything escaped."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from email.message import EmailMessage

from markupsafe import Markup, escape

from ..content.site import Site
from .check import Problem

EVENTS_PATH = "/_publisher/events"
PHONE_WIDTH = 375
DESKTOP_WIDTH = 800
_BODY_END = re.compile(rb"</body\s*>", re.I)

_RELOAD = """<script>/* publisher preview: reload when the site changes */
(function () {
  var shown = %s;
  var events = new EventSource(%s);
  events.onmessage = function (e) { if (e.data !== shown) { events.close(); location.reload(); } };
})();
</script>
"""

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 16px 24px; color: #1d2327; background: #f6f7f7; }
h1 { font-size: 22px; margin: 0 0 8px; }
code, pre { font: 14px/1.45 ui-monospace, Menlo, Consolas, monospace; }
.problems li { margin: 0 0 10px; padding: 8px 12px; background: #fff; border-left: 4px solid #b32d2e; }
.problems li.warning { border-left-color: #dba617; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 12px; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
input.width { position: absolute; opacity: 0; }
label.width { display: inline-block; padding: 6px 14px; border: 1px solid #8c8f94; border-radius: 4px;
  cursor: pointer; background: #fff; }
input.width:checked + label { background: #1d2327; color: #fff; }
input.width:focus-visible + label { outline: 2px solid #2271b1; outline-offset: 2px; }
.panes { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; margin-top: 12px; }
.panes iframe { width: %(phone)dpx; height: 85vh; border: 1px solid #8c8f94; background: #fff; }
#width-desktop:checked ~ .panes iframe { width: %(desktop)dpx; }
.text-part { flex: 1 1 36em; min-width: 0; }
.text-part pre { white-space: pre-wrap; background: #fff; padding: 12px; border: 1px solid #dcdcde; margin: 0; }
""" % {"phone": PHONE_WIDTH, "desktop": DESKTOP_WIDTH}


def inject_reload(page: bytes, version: str) -> bytes:
    """The page with the reload script before its last </body> (at the end when there is none)."""
    script = (_RELOAD % (_js_string(version), _js_string(EVENTS_PATH))).encode()
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + script
    at = ends[-1].start()
    return page[:at] + script + page[at:]


def _js_string(text: str) -> str:
    """A JavaScript string literal safe inside a <script> element."""
    return json.dumps(text).replace("<", "\\u003c")


def error_page(problems: Iterable[Problem]) -> bytes:
    """The page shown instead of every page while the site does not build."""
    items = "".join(
        f'<li class="{escape(p.severity)}"><code>{escape(p.where or p.severity)}</code><br>{escape(p.message)}</li>'
        for p in problems)
    body = (f"<h1>The site did not build</h1><p>Fix the problem and save; this page reloads by itself.</p>"
            f'<ol class="problems">{items}</ol>')
    return _document("Build failed", Markup(body))


def email_page(subject: str, msg: EmailMessage, size: int, limit: int, warnings: Iterable[Problem]) -> bytes:
    """The newsletter as a subscriber gets it: the HTML part at phone or desktop width, the text part beside it."""
    html_part = msg.get_body(("html",)).get_content()
    text_part = msg.get_body(("plain",)).get_content()
    notes = "".join(f'<li class="warning">{escape(w.message)}</li>' for w in warnings)
    head = "".join(f"<dt>{escape(name)}</dt><dd>{escape(str(msg[name]))}</dd>" for name in ("From", "To", "Subject"))
    body = (
        f"<h1>Newsletter: {escape(subject)}</h1>"
        f"<dl>{head}<dt>Size</dt><dd>HTML part {size:,} bytes of {limit:,} allowed</dd></dl>"
        + (f'<ul class="problems">{notes}</ul>' if notes else "")
        + f'<input class="width" type="radio" name="width" id="width-phone" checked><label class="width" '
        f'for="width-phone">Phone · {PHONE_WIDTH} px</label> <input class="width" type="radio" name="width" '
        f'id="width-desktop"><label class="width" for="width-desktop">Desktop · {DESKTOP_WIDTH} px</label>'
        f'<div class="panes"><iframe title="HTML part" sandbox="allow-popups" srcdoc="{escape(html_part)}"></iframe>'
        f'<section class="text-part" aria-label="Plain-text part"><pre>{escape(text_part)}</pre></section></div>'
    )
    return _document(f"Newsletter: {subject}", Markup(body))


def newsletter_index(site: Site) -> bytes:
    """Links to the preview of every post's newsletter, drafts and scheduled posts included."""
    items = "".join(
        f'<li><a href="{escape(site.absolute(f"newsletter/{post.slug}/"))}">{escape(post.title)}</a>'
        f"{' (draft)' if post.draft else ' (scheduled)' if site.is_unpublished(post) else ''}</li>"
        for post in site.posts)
    return _document("Newsletters", Markup(f"<h1>Newsletters</h1><ul>{items or '<li>No posts yet.</li>'}</ul>"))


def _document(title: str, body: Markup) -> bytes:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} · preview</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>").encode("utf-8")
