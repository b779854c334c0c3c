"""The Jinja2 environment: the site's own templates/ first, the packaged defaults as fallback."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import jinja2
from jinja2 import nodes
from jinja2.loaders import split_template_path

from ..errors import ConfigError, PublisherError

DEFAULTS = Path(__file__).parents[1] / "defaults" / "templates"  # the project's templates/, packaged
_AUTOESCAPE = ("html", "xml", "mjml", "j2")
# What a page template may ask of `site` without depending on every post: the rest (site.posts, site.tags…)
# makes the incremental build re-render every page whenever any post changes.
_PAGE_SUFFIXES = (".html", ".xml", ".css")
_LOCAL_SITE_ATTRIBUTES = {"absolute", "url", "config", "tag_slug", "is_unpublished", "show_unpublished", "nav"}


def make_env(site_templates: Path | None = None) -> jinja2.Environment:
    """One environment per build: templates are compiled once and reused for every page."""
    loaders = [_Loader(str(site_templates))] if site_templates and site_templates.is_dir() else []
    loaders.append(_Loader(str(DEFAULTS)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(_AUTOESCAPE, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one environment per build: no need to check every template's file for each page
    )
    env.filters["datefmt"] = format_date
    env.filters["isodate"] = lambda d: d.isoformat(timespec="seconds")
    env.filters["opening_hours"] = opening_hours
    return env


class NotUtf8(jinja2.TemplateSyntaxError):
    """A template file that is not UTF-8 text, reported like any other mistake in a template."""


class _Loader(jinja2.FileSystemLoader):
    """A FileSystemLoader that names the file and line of a template that is not UTF-8, instead of letting a
    bare UnicodeDecodeError (with no file name) through."""

    def get_source(self, environment: jinja2.Environment, template: str):
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            paths = (os.path.join(folder, *split_template_path(template)) for folder in self.searchpath)
            filename = next(path for path in paths if os.path.isfile(path))
            raw = Path(filename).read_bytes()
            line = raw[:exc.start].count(b"\n") + 1
            raise NotUtf8("not UTF-8 text; re-save the file with UTF-8 encoding", line, template,
                          filename) from None


def format_date(value: dt.datetime, style: str = "long") -> str:
    """'3 May 2024': day month year, the way British readers write it, with no locale dependence."""
    if style == "short":
        return f"{value.day} {value:%b %Y}"
    return f"{value.day} {value:%B %Y}"


DAYS = {"Mo": "Monday", "Tu": "Tuesday", "We": "Wednesday", "Th": "Thursday", "Fr": "Friday", "Sa": "Saturday",
        "Su": "Sunday"}


def opening_hours(value: str) -> str:
    """'Mo-Fr 09:00-18:00' (schema.org's form, as [booking] hours holds it) as readers say it:
    'Monday to Friday, 09:00 to 18:00'."""
    days, times = value.split(" ", 1)
    spoken = days.replace("-", " to ").replace(",", ", ")
    for short, name in DAYS.items():
        spoken = spoken.replace(short, name)
    return f"{spoken}, {times.replace('-', ' to ')}"


def has_own_pages(site_templates: Path) -> bool:
    """Whether the site has templates of its own for pages (rather than only, say, its newsletter's)."""
    return site_templates.is_dir() and any(p.suffix in _PAGE_SUFFIXES for p in site_templates.rglob("*"))


def shows_whole_site(env: jinja2.Environment, site_templates: Path) -> bool:
    """Whether any of the site's own templates uses `site` beyond what a single page needs (e.g. site.posts)."""
    if not site_templates.is_dir():
        return False
    for path in sorted(site_templates.rglob("*")):
        if path.is_file() and path.suffix in _PAGE_SUFFIXES:
            try:
                tree = env.parse(path.read_text(encoding="utf-8"))
            except (jinja2.TemplateSyntaxError, UnicodeDecodeError):
                return True
            if _uses_whole_site(tree):
                return True
    return False


def _uses_whole_site(tree: nodes.Template) -> bool:
    local = {id(node.node) for node in tree.find_all(nodes.Getattr)
             if isinstance(node.node, nodes.Name) and node.attr in _LOCAL_SITE_ATTRIBUTES}
    return any(node.name == "site" and id(node) not in local for node in tree.find_all(nodes.Name))


def render_guarded(render: Callable[[], bytes], root: Path) -> bytes:
    """`render()`, with a template's mistake turned into a ConfigError naming its file and line here, in the
    process that rendered it: a worker process's traceback, where the template's file and line are, does not
    survive the trip back to the build."""
    try:
        return render()
    except PublisherError:
        raise
    except Exception as exc:
        error = template_failure(exc, root)
        if error is None:
            raise
        raise error from exc


def template_failure(exc: Exception, root: Path) -> ConfigError | None:
    """Any exception raised while a template ran (a Jinja2 error, or say a division by zero in `{{ 1/0 }}`)
    as an error naming the template file and line; None when no template was running, which is a bug."""
    if isinstance(exc, jinja2.TemplateError):
        return template_error(exc, root)
    frames = _template_frames(exc.__traceback__)
    if not frames:
        return None
    filename, line = frames[-1]
    return ConfigError(f"template error: {type(exc).__name__}: {exc}", _shown(Path(filename), root), line)


def template_error(exc: jinja2.TemplateError, root: Path) -> ConfigError:
    """A template's mistake as an error naming the template file and line (from the traceback when Jinja2
    only knows it at render time), so the author sees where to look instead of a Python traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        filename, line = exc.filename, exc.lineno
        message = exc.message if isinstance(exc, NotUtf8) else f"template syntax error: {exc.message}"
    else:
        frames = _template_frames(exc.__traceback__)
        filename, line = frames[-1] if frames else (None, None)
        message = (f"template {exc.name!r} not found in templates/ or the defaults"
                   if isinstance(exc, jinja2.TemplateNotFound) else f"template error: {exc.message or exc}")
    return ConfigError(message, _shown(Path(filename), root) if filename else None, line)


def _template_frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    """The (template file, line) of every frame of a template in a traceback, outermost first: frames Jinja2
    has rewritten to point into the template, and frames of compiled template code it has not (a template
    module's, as the newsletter uses), whose lines are mapped back to the template's."""
    found = []
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        filename = tb.tb_frame.f_code.co_filename
        if template is not None and template.filename:
            found.append((template.filename, template.get_corresponding_lineno(tb.tb_lineno)))
        elif not filename.endswith(".py") and not filename.startswith("<"):
            found.append((filename, tb.tb_lineno))
        tb = tb.tb_next
    return found


def _shown(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root)
    except ValueError:
        return path
