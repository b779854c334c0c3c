"""The `publisher` command line: thin Click commands over the pipeline; the only place that prints or exits.

Commands live in one module per area (site, mail, subscribers, service); heavy imports happen inside
the commands so that `publisher --help` starts fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from .. import clock
from ..errors import Problems, PublisherError


COMMANDS = {  # each command and the module of this package that defines it
    "build": "building", "new": "building", "init": "building", "preview": "author", "check": "author",
    "send": "campaigns", "publish": "campaigns", "status": "status", "email": "mail", "inbox": "feedback",
    "serve": "service", "migrate": "database", "store": "database",
}
SUBSCRIBER_COMMANDS = {  # the same for `publisher subscribers ...`
    "add": "subscribers", "remove": "subscribers", "list": "subscribers", "count": "subscribers",
    "export": "subscribers", "import": "subscribers_import", "invite": "consent", "show": "consent",
    "forget": "consent",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs or is listed (by --help), so that
    each command starts with only the imports it uses."""

    def __init__(self, *args, modules: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.modules = modules

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.modules, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.modules:
            importlib.import_module(f"{__name__}.{self.modules[cmd_name]}")
        return super().get_command(ctx, cmd_name)


class PublisherGroup(LazyGroup):
    """A group that turns PublisherError into clear lines and exit code 1 (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context):
        clock.restart()
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = _as_publisher_error(exc, ctx)
            if error is None or ctx.meta.get("publisher.debug"):
                raise
            problems = error.problems if isinstance(error, Problems) else [error]
            for problem in problems:
                click.secho(f"Error: {problem}", fg="red", err=True)
            ctx.exit(1)


def _as_publisher_error(exc: Exception, ctx: click.Context) -> PublisherError | None:
    """The error as one the author can act on: ours as it is, a template's mistake (whatever it raised) with
    its file and line (only if a command loaded Jinja2, to keep start-up fast), None for a bug."""
    if isinstance(exc, PublisherError):
        return exc
    if "jinja2" in sys.modules:
        from ..build.theme import template_failure
        root = ctx.obj.config_path if ctx.obj else Path(".")
        return template_failure(exc, (root.parent if root.suffix == ".toml" else root).resolve())
    return None


@click.group(cls=PublisherGroup, modules=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="The site folder, or its publisher.toml.")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
@click.version_option(package_name="publisher")
@click.pass_context
def main(ctx: click.Context, config_path: Path, debug: bool) -> None:
    """Turn Markdown posts into a blog, RSS/Atom/JSON feeds and an email newsletter.

    \b
    Example:
        publisher build && publisher publish
    """
    ctx.meta["publisher.debug"] = debug
    ctx.obj = Context(config_path)


class Context:
    """What every command shares: where the site is, and its config loaded on first use."""

    def __init__(self, config_path: Path):
        self.config_path = config_path
        self._config = None

    @property
    def config(self):
        if self._config is None:
            from ..config import find_config, load_config
            self._config = load_config(find_config(self.config_path))
        return self._config


pass_context = click.make_pass_decorator(Context)


@main.group("subscribers", cls=LazyGroup, modules=SUBSCRIBER_COMMANDS)
def subscriber_group() -> None:
    """Manage who receives the newsletter: add, invite, remove, forget, show, list, count, import and export.

    \b
    Example:
        publisher subscribers import mailchimp-export.csv && publisher subscribers count
    """


def open_site_store(config):
    """The site's database ([database] in publisher.toml); a Store, to use in a `with` block."""
    from ..store import open_store
    return open_store(config)
