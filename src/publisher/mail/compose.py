"""The one step that turns an email template into a compiled email, shared by the newsletter and the service's
emails (confirmation, welcome): the Jinja2 template renders MJML with a placeholder for each per-recipient
field, MJML becomes HTML, the template's CSS is inlined, the plain text is written, and both bodies are prepared
once, with the shared headers, in a Frame. Personalising then only fills in placeholders (frame.py).

The placeholder names carry a hash of everything the author wrote, so no text of theirs can be mistaken for one.
A template the MJML compiler refuses becomes a ContentError naming the template's file and, where the compiler
says where it stopped, the line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import css_inline
import jinja2
import jinja2.meta
import mjml
from markupsafe import Markup

from ..config import Config
from ..errors import ContentError
from . import mime
from .frame import Frame, make_frame

_POSITION = re.compile(r"at position (\d+):(\d+)")  # where MRML stopped, in bytes of the MJML source


@dataclass(frozen=True)
class Draft:
    """What an email is made from: its template, the template's context, the subject, its plain text (written
    from the placeholders) and the names of its per-recipient fields. `key` is everything the author wrote,
    hashed into the placeholder names; `css_variable` names the template's variable holding the CSS to inline;
    `content_source` is the post whose HTML the template shows, blamed when the MJML fails outside the template."""
    template: str
    subject: str
    context: dict
    text: Callable[[dict[str, str]], str]
    slot_names: tuple[str, ...]
    key: str
    css_variable: str
    content_source: Path | None = None


@dataclass(frozen=True)
class Compiled:
    """An email compiled once: `html` and `text` hold placeholders that `slot_pattern` finds, and `frame` makes
    each recipient's message by filling them in."""
    html: str
    text: str
    frame: Frame
    slot_pattern: re.Pattern
    boundary: str = ""

    def with_html(self, markup: str) -> Compiled:
        """The same email with another (normalised) HTML part, prepared once more; the text part unchanged."""
        body = mime.prepare_html(markup, self.slot_pattern, self.boundary)
        return dataclasses.replace(self, html=markup, frame=dataclasses.replace(self.frame, html_body=body))


def compile_mjml(source: str) -> str:
    """MJML to HTML with mjml-python (MRML). No web fonts: the template declares its own font stack."""
    return mjml.mjml2html(source, fonts={})


def compile_email(draft: Draft, config: Config, env: jinja2.Environment, *,
                  mjml_to_html: Callable[[str], str] = compile_mjml) -> Compiled:
    """Render, compile and prepare `draft` once; a ContentError names the template (or post) that went wrong."""
    nonce = hashlib.sha256(draft.key.encode()).hexdigest()[:16]
    marks = {name: f"__publisher_{nonce}_{name}__" for name in draft.slot_names}
    slot_pattern = re.compile(rf"__publisher_{nonce}_({'|'.join(draft.slot_names)})__")
    module = env.get_template(draft.template).make_module({
        **draft.context, "config": config, "subject": draft.subject,
        "slots": {name: Markup(mark) for name, mark in marks.items()}})
    compiled = _to_html(mjml_to_html, str(module), draft, config, env)
    markup = mime.normalise_html(inline_css(compiled, str(getattr(module, draft.css_variable, ""))))
    text = draft.text(marks)
    boundary = f"=_publisher_{nonce}"
    frame = make_frame(config, draft.subject, mime.prepare_html(markup, slot_pattern, boundary),
                       mime.prepare_text(text, slot_pattern), boundary)
    return Compiled(html=markup, text=text, frame=frame, slot_pattern=slot_pattern, boundary=boundary)


def inline_css(markup: str, css: str) -> str:
    """Apply the template's CSS as style attributes (mail clients drop <style>); <head> styles stay as they are."""
    if not css.strip():
        return markup
    inliner = css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True, keep_link_tags=True,
                                    load_remote_stylesheets=False, extra_css=css)
    return inliner.inline(markup)


def _to_html(mjml_to_html: Callable[[str], str], source: str, draft: Draft, config: Config,
             env: jinja2.Environment) -> str:
    try:
        return mjml_to_html(source)
    except ValueError as exc:
        raise _mjml_error(str(exc), source, draft, config, env) from None


def _mjml_error(problem: str, source: str, draft: Draft, config: Config, env: jinja2.Environment) -> ContentError:
    """The MJML compiler's complaint as an error naming the template file and line where it is written there,
    else the post whose HTML the template shows, else the template alone."""
    found = _template_line(env, draft.template, _failing_text(source, problem))
    if found is None and draft.content_source is not None:
        return ContentError(f"the email could not be compiled from {draft.template} ({problem}); check the "
                            "template and any raw HTML in the post", draft.content_source)
    filename, line = found or (env.get_template(draft.template).filename or draft.template, None)
    return ContentError(f"the email could not be compiled ({problem}); check the template",
                        _shown(Path(filename), config.root), line)


def _failing_text(source: str, problem: str) -> str:
    """The piece of MJML source the compiler's message points at ('… at position 98:108'), or ''."""
    position = _POSITION.search(problem)
    if not position:
        return ""
    return source.encode()[int(position[1]):int(position[2])].decode(errors="ignore").strip()


def _template_line(env: jinja2.Environment, name: str, text: str) -> tuple[str, int] | None:
    """The file and line of `text` in the template or the templates it extends and includes; None unless it is
    written there exactly once (text from a post, or repeated, has no one line to name)."""
    if not text:
        return None
    places = [(filename, number) for filename, source in _template_sources(env, name, set())
              for number, line in enumerate(source.split("\n"), start=1) for _ in range(line.count(text))]
    return places[0] if len(places) == 1 else None


def _template_sources(env: jinja2.Environment, name: str, seen: set[str]) -> list[tuple[str, str]]:
    """(file, text) of the template `name` and of every template it extends or includes, each once."""
    seen.add(name)
    source, filename, _ = env.loader.get_source(env, name)
    found = [(filename or name, source)]
    for other in jinja2.meta.find_referenced_templates(env.parse(source)):
        if other and other not in seen:
            found += _template_sources(env, other, seen)
    return found


def _shown(path: Path, root: Path) -> Path:
    """The path relative to the site's folder when it is inside it (templates/x.mjml), else as it is."""
    resolved = path.resolve()
    return resolved.relative_to(root) if resolved.is_relative_to(root) else path
