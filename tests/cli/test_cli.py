"""The command line: every command explains itself with an example, and fails with one clear line."""

import click
import pytest
from click.testing import CliRunner

from publisher.cli import main

from ..fixtures_site import BASIC_TOML, held


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


@pytest.mark.parametrize("command", [("subscribers", "add", "cy@example.com"), ("publish",)])
def test_a_database_another_process_holds_too_long_is_one_clear_line(site_dir, command):
    site_dir.config(BASIC_TOML + "[database]\nbusy_timeout = 0.2\n")
    assert site_dir.run("subscribers", "add", "bo@example.com").exit_code == 0
    database = site_dir.root / "publisher.db"
    with held(database):
        result = site_dir.run(*command)
    assert result.exit_code == 1 and "Traceback" not in result.output and result.output.count("Error") == 1
    assert result.output.splitlines()[-1] == (
        f"Error: the database {database} is busy: another publisher process (or another program) has held it for "
        "more than 0.2 s; try again when it has finished")
    assert site_dir.run(*command).exit_code == 0
    assert "bo@example.com" in site_dir.run("subscribers", "list").output


def test_commands_that_only_read_answer_while_another_process_holds_the_database(site_dir):
    """Opening an up-to-date database writes nothing, so listing, counting and exporting never wait for a writer."""
    site_dir.config(BASIC_TOML + "[database]\nbusy_timeout = 0.2\n")
    assert site_dir.run("subscribers", "add", "bo@example.com").exit_code == 0
    with held(site_dir.root / "publisher.db"):
        results = {command: site_dir.run(*command.split()) for command in
                   ("subscribers list", "subscribers count", "subscribers export", "status")}
    assert {command: result.exit_code for command, result in results.items()} == dict.fromkeys(results, 0)
    assert results["subscribers list"].output == "bo@example.com\tactive\n"
    assert "bo@example.com,,active," in results["subscribers export"].output
    assert results["status"].output.startswith("Subscribers: 0 pending, 1 active, 0 unsubscribed, 0 bounced, 0 complained\n")
