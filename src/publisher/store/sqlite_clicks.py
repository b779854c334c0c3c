"""The SQLite store's click counts: for each campaign, the links its newsletter carried (numbered in the order
they appear) and how often each was followed. Who clicked is never known here: a link is the same for every
recipient of a campaign, so there is nothing to record but a count."""

from __future__ import annotations

from collections.abc import Iterable

from .sqlite_feedback import SqliteFeedback


class SqliteClicks(SqliteFeedback):
    """Links per campaign and their click counts."""

    def record_links(self, campaign_id: int, urls: Iterable[str]) -> dict[str, int]:
        """Number the campaign's links, keeping the numbers of those recorded before (a resumed campaign links
        alike); returns every recorded link's number by URL."""
        with self._write() as conn:
            for url in urls:
                conn.execute(
                    "INSERT INTO clicks (campaign_id, link, url) SELECT ?1, COALESCE(MAX(link), 0) + 1, ?2"
                    " FROM clicks WHERE campaign_id = ?1 ON CONFLICT DO NOTHING", (campaign_id, url))
            rows = conn.execute("SELECT url, link FROM clicks WHERE campaign_id = ?", (campaign_id,)).fetchall()
        return {row[0]: row[1] for row in rows}

    def click_target(self, campaign_id: int, link: int) -> str | None:
        """The URL of the campaign's link number `link`; None when the campaign carried no such link."""
        rows = self._rows("SELECT url FROM clicks WHERE campaign_id = ? AND link = ?", (campaign_id, link))
        return rows[0][0] if rows else None

    def count_click(self, campaign_id: int, link: int) -> None:
        """One more click on the campaign's link `link`."""
        with self._write() as conn:
            conn.execute("UPDATE clicks SET count = count + 1 WHERE campaign_id = ? AND link = ?", (campaign_id, link))

    def list_clicks(self, campaign_id: int) -> list[tuple[str, int]]:
        """(URL, clicks) of each of the campaign's links, in the order they appear in the newsletter."""
        rows = self._rows("SELECT url, count FROM clicks WHERE campaign_id = ? ORDER BY link", (campaign_id,))
        return [(row[0], row[1]) for row in rows]
