"""The Jinja2 environment: the site's own templates/ first, the packaged defaults as fallback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2

DEFAULTS = Path(__file__).parent / "defaults" / "templates"  # the project's templates/, packaged
_AUTOESCAPE = ("html", "xml", "mjml", "j2")


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
    )
    env.filters["datefmt"] = format_date
    env.filters["isodate"] = lambda d: d.isoformat(timespec="seconds")
    return env


def format_date(value: dt.datetime, style: str = "long") -> str:
    """'3 May 2024': day month year, the way British readers write it, with no locale dependence."""
    if style == "short":
        return f"{value.day} {value:%b %Y}"
    return f"{value.day} {value:%B %Y}"
