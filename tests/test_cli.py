"""The command line: every command explains itself with an example."""

import click
from click.testing import CliRunner

from publisher.cli import main


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    names = []
    for path, command in all_commands(main):
        result = runner.invoke(main, [*path, "--help"], catch_exceptions=False)
        assert result.exit_code == 0, path
        assert "Example" in result.output and "publisher" in result.output, path
        names.append(" ".join(path))
    assert {"build", "new", "init"} <= set(names)


def test_missing_site_gives_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "build"])
    assert result.exit_code == 1
    assert "no publisher.toml here; run `publisher init DIR`" in result.output
    assert "Traceback" not in result.output
