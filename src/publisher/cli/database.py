"""Database commands: `publisher migrate` brings the schema up to date; `publisher store copy` copies everything
to another database (from SQLite into PostgreSQL when a list outgrows one machine, or back)."""

from __future__ import annotations

import click

from . import Context, main, pass_context


@main.command()
@pass_context
def migrate(ctx: Context) -> None:
    """Bring the site's database up to this publisher's schema.

    SQLite databases are brought up to date whenever they are opened; a PostgreSQL one only by this command,
    run once after upgrading publisher, with senders stopped (every process refuses a schema that is behind).

    \b
    Example:
        PUBLISHER_DATABASE_PASSWORD=... publisher migrate
    """
    from ..store import migrate_database
    before, after = migrate_database(ctx.config)
    if before == after:
        click.echo(f"The database is up to date (schema version {after}).")
    else:
        click.echo(f"Migrated the database from schema version {before} to {after}.")


@main.group()
def store() -> None:
    """Look after the site's database as a whole.

    \b
    Example:
        publisher store copy --to postgresql://publisher@db.example.com/newsletter
    """


@store.command()
@click.option("--to", "target", required=True, metavar="URL|FILE",
              help="A postgresql:// URL (its password in PUBLISHER_DATABASE_PASSWORD or PGPASSWORD), or an "
                   "SQLite file.")
@pass_context
def copy(ctx: Context, target: str) -> None:
    """Copy every subscriber, consent record, campaign and delivery to another database, then check the counts.

    Stop senders and the service first. An interrupted copy is finished by running the same command again;
    rows the target already has are kept. Afterwards, point [database] at the target.

    \b
    Example:
        publisher store copy --to postgresql://publisher@db.example.com/newsletter
    """
    from ..store import copy_database

    def report(copied) -> None:
        click.echo(f"{copied.table}: {copied.added:,} copied, {copied.total:,} in both")
    copy_database(ctx.config, target, report)
    click.echo("The copy matches its source: every table and status has the same count.")
