"""`publisher migrate` and `publisher store copy`, and a PostgreSQL database that cannot be used, through the real
CLI against a site folder and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from publisher.store import NewSubscriber, open_sqlite
from publisher.store.migrations import MIGRATIONS
from publisher.store.postgres import open_postgres

from ..fixtures_site import BASIC_TOML
from ..fixtures_smtp import free_port
from ..postgres_cluster import PASSWORD

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def use_database(site_dir, url: str) -> None:
    site_dir.config(BASIC_TOML + f'[database]\nurl = "{url}"\n')


@pytest.fixture
def empty_url(postgres_cluster, monkeypatch, request) -> str:
    """A database with no tables yet, as `createdb` leaves it."""
    name = f"empty_{abs(hash(request.node.nodeid))}"
    postgres_cluster.admin(f"CREATE DATABASE {name}")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return postgres_cluster.url(name)


def test_a_new_postgresql_database_is_used_only_after_publisher_migrate(site_dir, empty_url):
    use_database(site_dir, empty_url)
    refused = site_dir.run("subscribers", "count")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert f"has schema version 0, this publisher needs {len(MIGRATIONS)}; run `publisher migrate`" in refused.output
    assert site_dir.run("migrate").output == f"Migrated the database from schema version 0 to {len(MIGRATIONS)}.\n"
    assert site_dir.run("migrate").output == f"The database is up to date (schema version {len(MIGRATIONS)}).\n"
    assert site_dir.run("subscribers", "add", "ann@example.com").exit_code == 0
    with open_postgres(empty_url) as store:
        assert [s.email for s in store.list_subscribers()] == ["ann@example.com"]


def test_a_schema_from_a_newer_publisher_is_refused_and_left_alone(site_dir, postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    use_database(site_dir, postgres_url)
    for command in (("subscribers", "count"), ("migrate",)):
        result = site_dir.run(*command)
        assert result.exit_code == 1
        assert "was last migrated by a newer publisher (schema version 99; this one knows" in result.output
        assert "upgrade publisher before using it" in result.output
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 99


def test_an_unreachable_server_is_one_line_and_exit_1(site_dir):
    url = f"postgresql://publisher@127.0.0.1:{free_port()}/news"
    use_database(site_dir, url)
    result = site_dir.run("subscribers", "count")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: [database] url: cannot connect to {url}: ")
    assert "Connection refused" in result.output and "check that the server is running" in result.output
    assert len(result.output.splitlines()) == 1


def test_a_wrong_password_is_reported_without_the_password(site_dir, postgres_url, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    use_database(site_dir, postgres_url)
    result = site_dir.run("subscribers", "count", env={"PUBLISHER_DATABASE_PASSWORD": "Wr0ng-Secret-42"})
    assert result.exit_code == 1
    assert 'password authentication failed for user "publisher"' in result.output
    assert "set PUBLISHER_DATABASE_PASSWORD (or PGPASSWORD, or ~/.pgpass)" in result.output
    assert "Wr0ng-Secret-42" not in result.output
    assert site_dir.run("subscribers", "count", env={"PUBLISHER_DATABASE_PASSWORD": PASSWORD}).exit_code == 0


def test_a_password_written_in_publisher_toml_is_refused_without_repeating_it(site_dir, postgres_url):
    use_database(site_dir, postgres_url.replace("publisher@", "publisher:Hunter2-Secret@"))
    result = site_dir.run("subscribers", "count")
    assert result.exit_code == 1
    assert ("database.url: holds a password; remove it from the file and set PUBLISHER_DATABASE_PASSWORD"
            in result.output)
    assert "Hunter2-Secret" not in result.output


def test_the_environment_url_wins_over_the_file(site_dir, postgres_url, tmp_path):
    use_database(site_dir, f"postgresql://publisher@127.0.0.1:{free_port()}/elsewhere")
    assert site_dir.run("subscribers", "add", "ann@example.com", env={"PUBLISHER_DATABASE_URL": postgres_url}
                        ).exit_code == 0
    with open_postgres(postgres_url) as store:
        assert store.get_subscriber("ann@example.com").status == "active"


def fill(store) -> None:
    """Subscribers of every status and a campaign with deliveries in every state, one of them left in flight."""
    statuses = ["active"] * 6 + ["pending", "unsubscribed", "bounced", "complained"]
    store.add_subscribers([NewSubscriber(f"r{n}@example.com", f"Reader {n}", status)
                           for n, status in enumerate(statuses)], "import", now=NOW)
    campaign = store.create_campaign("first", "First", now=NOW)
    store.mark_sent(store.claim_next(campaign.id, NOW), "250 OK", "<1@example.com>", now=NOW)
    store.mark_failed(store.claim_next(campaign.id, NOW), "550 no such user", True, now=NOW)
    store.mark_retry(store.claim_next(campaign.id, NOW), "451 later", NOW, possible_duplicate=True, now=NOW)
    store.unsubscribe("r5@example.com", now=NOW)
    store.skip_inactive(campaign.id, now=NOW)
    store.claim_next(campaign.id, NOW)
    store.create_campaign("second", "Second", now=NOW)
    store.record_post("old", "archived", now=NOW)
    store.setting("secret", lambda: "kept")


def snapshot(store) -> tuple:
    campaigns = store.list_campaigns()
    return (store.list_subscribers(), campaigns, [store.list_deliveries(c.id) for c in campaigns],
            store.published_posts(), store.setting("secret", lambda: "new"))


def test_a_store_is_copied_into_postgresql_and_back_with_every_status_and_campaign(site_dir, postgres_url, tmp_path):
    with open_sqlite(site_dir.root / "publisher.db") as store:
        fill(store)
        before = snapshot(store)
    result = site_dir.run("store", "copy", "--to", postgres_url)
    assert result.exit_code == 0, result.output
    assert "subscribers: 10 copied, 10 in both" in result.output
    assert "deliveries: 10 copied, 10 in both" in result.output
    assert result.output.endswith("The copy matches its source: every table and status has the same count.\n")
    with open_postgres(postgres_url) as store:
        assert snapshot(store) == before
        added, _ = store.add_subscriber("new@example.com", now=NOW)
        assert added.id == 11
    use_database(site_dir, postgres_url)
    back = site_dir.run("store", "copy", "--to", str(tmp_path / "back.db"))
    assert back.exit_code == 0, back.output
    with open_sqlite(tmp_path / "back.db") as store:
        assert snapshot(store)[1:] == before[1:] and len(store.list_subscribers()) == 11


def test_an_interrupted_copy_is_finished_by_running_it_again(site_dir, postgres_url):
    with open_sqlite(site_dir.root / "publisher.db") as store:
        fill(store)
    assert site_dir.run("store", "copy", "--to", postgres_url).exit_code == 0
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as if it had stopped within the deliveries
        for table in ("settings", "published", "suppressions", "consent_events"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM deliveries WHERE id > 2")
    again = site_dir.run("store", "copy", "--to", postgres_url)
    assert again.exit_code == 0, again.output
    assert "subscribers: 0 copied, 10 in both" in again.output and "deliveries: 8 copied, 10 in both" in again.output
    assert "published: 1 copied, 1 in both" in again.output


def test_a_copy_into_a_database_holding_other_rows_fails_naming_the_counts(site_dir, postgres_url):
    with open_sqlite(site_dir.root / "publisher.db") as store:
        fill(store)
    with open_postgres(postgres_url) as other:
        other.record_post("someone-elses", "sent", now=NOW)
    result = site_dir.run("store", "copy", "--to", postgres_url)
    assert result.exit_code == 1
    assert "the copy does not match its source (published: 1 in the source, 2 in the target)" in result.output


def test_a_url_with_a_password_is_refused_as_a_copy_target(site_dir, postgres_url):
    result = site_dir.run("store", "copy", "--to", postgres_url.replace("publisher@", "publisher:S3cret-Pw@"))
    assert result.exit_code == 1 and "S3cret-Pw" not in result.output
    assert "holds a password, which would be seen in the process list" in result.output


def test_migrate_also_brings_an_sqlite_database_up_to_date(site_dir):
    assert site_dir.run("migrate").output == f"Migrated the database from schema version 0 to {len(MIGRATIONS)}.\n"
    assert site_dir.run("migrate").output == f"The database is up to date (schema version {len(MIGRATIONS)}).\n"


def test_a_database_url_that_is_not_postgresql_names_the_setting_it_came_from(site_dir):
    result = site_dir.run("subscribers", "count", env={"PUBLISHER_DATABASE_URL": "mysql://news@db.example.com/news"})
    assert result.exit_code == 1
    assert "PUBLISHER_DATABASE_URL: mysql://news@db.example.com/news is not a PostgreSQL URL" in result.output
    site_dir.config(BASIC_TOML + '[database]\nurl = "sqlite:///list.db"\n')
    assert "database.url: expected a PostgreSQL URL like" in site_dir.run("subscribers", "count").output
