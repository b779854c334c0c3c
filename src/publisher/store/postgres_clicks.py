"""The PostgreSQL store's click counts, as sqlite_clicks.py: for each campaign, the links its newsletter carried
(numbered in the order they appear) and how often each was followed, never by whom. Senders on several machines
may record one campaign's links at once: each does it holding the campaign's row, so the numbers never clash."""

from __future__ import annotations

from collections.abc import Iterable

from .postgres_feedback import PostgresFeedback


class PostgresClicks(PostgresFeedback):
    """Links per campaign and their click counts."""

    def record_links(self, campaign_id: int, urls: Iterable[str]) -> dict[str, int]:
        """Number the campaign's links, keeping the numbers of those recorded before (a resumed campaign, or
        another sender, links alike); returns every recorded link's number by URL."""
        with self._write() as conn:
            conn.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,))
            for url in urls:
                conn.execute(
                    "INSERT INTO clicks (campaign_id, link, url) SELECT %(c)s, COALESCE(MAX(link), 0) + 1, %(url)s"
                    " FROM clicks WHERE campaign_id = %(c)s ON CONFLICT DO NOTHING", {"c": campaign_id, "url": url})
            rows = conn.execute("SELECT url, link FROM clicks WHERE campaign_id = %s", (campaign_id,)).fetchall()
        return dict(rows)

    def click_target(self, campaign_id: int, link: int) -> str | None:
        """The URL of the campaign's link number `link`; None when the campaign carried no such link."""
        rows = self._rows("SELECT url FROM clicks WHERE campaign_id = %s AND link = %s", (campaign_id, link))
        return rows[0][0] if rows else None

    def count_click(self, campaign_id: int, link: int) -> None:
        """One more click on the campaign's link `link`."""
        self._execute("UPDATE clicks SET count = count + 1 WHERE campaign_id = %s AND link = %s", (campaign_id, link))

    def list_clicks(self, campaign_id: int) -> list[tuple[str, int]]:
        """(URL, clicks) of each of the campaign's links, in the order they appear in the newsletter."""
        return [(url, count) for url, count in self._rows(
            "SELECT url, count FROM clicks WHERE campaign_id = %s ORDER BY link", (campaign_id,))]
