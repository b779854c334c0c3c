"""The command line: every command explains itself with an example, and fails with one clear line."""

import importlib
import pkgutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from publisher import cli
from publisher.cli import COMMANDS, SUBSCRIBER_COMMANDS, main

from ..fixtures_site import BASIC_TOML, held


def all_commands(group: click.Group, prefix=()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
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


def test_the_command_lists_name_every_command_the_modules_define_and_where():
    for module in pkgutil.iter_modules(cli.__path__):
        importlib.import_module(f"publisher.cli.{module.name}")
    for group, modules in ((main, {**COMMANDS, "subscribers": "__init__"}), (cli.subscriber_group, SUBSCRIBER_COMMANDS)):
        defined = {name: command.callback.__module__ for name, command in group.commands.items()}
        assert defined == {name: "publisher.cli" + ("" if module == "__init__" else f".{module}")
                           for name, module in modules.items()}


def test_a_command_starts_with_only_what_it_uses():
    """`publisher build` loads neither the commands that mail nor the subscriber store (nor, to show its help,
    anything of the build), and the list of every command loads no store either: a start-up is its own."""
    def loaded(*args: str) -> set[str]:
        return set(subprocess.run([sys.executable, "-c", "import sys; from publisher.cli import main; "
                                   f"main({list(args)!r}, standalone_mode=False); "
                                   "print(' '.join(m for m in sys.modules if m.startswith('publisher')), "
                                   "file=sys.stderr)"], capture_output=True, text=True, check=True).stderr.split())

    build = loaded("build", "--help")
    assert "publisher.cli.building" in build
    assert not {"publisher.cli.campaigns", "publisher.cli.subscribers", "publisher.build.incremental"} & build
    assert not {"publisher.store", "publisher.cli.consent"} & (build | loaded("--help"))


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
