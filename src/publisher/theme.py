"""The Jinja2 environment: the site's own templates/ first, the packaged defaults as fallback."""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

import jinja2
from jinja2 import nodes

from .errors import ConfigError

DEFAULTS = Path(__file__).parent / "defaults" / "templates"  # the project's templates/, packaged
_AUTOESCAPE = ("html", "xml", "mjml", "j2")
# What a page template may ask of `site` without depending on every post: the rest (site.posts, site.tags…)
# makes the incremental build re-render every page whenever any post changes.
_PAGE_SUFFIXES = (".html", ".xml", ".css")
_LOCAL_SITE_ATTRIBUTES = {"absolute", "url", "config", "tag_slug", "is_unpublished", "show_unpublished"}


def make_env(site_templates: Path | None = None) -> jinja2.Environment:
    """One environment per build: templates are compiled once and reused for every page."""
    loaders = [jinja2.FileSystemLoader(str(site_templates))] if site_templates and site_templates.is_dir() else []
    loaders.append(jinja2.FileSystemLoader(str(DEFAULTS)))
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
    return env


def format_date(value: dt.datetime, style: str = "long") -> str:
    """'3 May 2024': day month year, the way British readers write it, with no locale dependence."""
    if style == "short":
        return f"{value.day} {value:%b %Y}"
    return f"{value.day} {value:%B %Y}"


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


def template_error(exc: jinja2.TemplateError, root: Path) -> ConfigError:
    """A template's mistake as an error naming the template file and line (from the traceback when Jinja2
    only knows it at render time), so the author sees where to look instead of a Python traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        filename, line, message = exc.filename, exc.lineno, f"template syntax error: {exc.message}"
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if not f.filename.endswith(".py") and not f.filename.startswith("<")]
        filename, line = (frames[-1].filename, frames[-1].lineno) if frames else (None, None)
        message = (f"template {exc.name!r} not found in templates/ or the defaults"
                   if isinstance(exc, jinja2.TemplateNotFound) else f"template error: {exc.message or exc}")
    return ConfigError(message, _shown(Path(filename), root) if filename else None, line)


def _shown(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root)
    except ValueError:
        return path
