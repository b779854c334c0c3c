"""Progress of a campaign run from cron or a pipe: a line as it starts, then one at least every ten seconds
while deliveries are being made (an injected clock stands in for the wait)."""

from __future__ import annotations

from publisher.cli.progress import ProgressLines

from ..fixtures_site import post_text
from .test_campaigns import ENV, add_readers


def test_a_line_when_a_campaign_starts_and_then_every_ten_seconds(capsys):
    now = [0.0]
    lines = ProgressLines(clock=lambda: now[0])
    lines.update("news", 0, 10_000)
    for done, at in [(600, 5.0), (1_200, 10.0), (1_300, 12.0), (2_500, 20.5), (2_600, 25.0)]:
        now[0] = at
        lines.update("news", done, 10_000)
    now[0] = 30.0
    lines.update("next", 0, 3)
    assert capsys.readouterr().out.splitlines() == [
        "Sending 'news': 0 of 10,000",
        "Sending 'news': 1,200 of 10,000 (120 msg/s)",
        "Sending 'news': 2,500 of 10,000 (122 msg/s)",
        "Sending 'next': 0 of 3",
    ]


def test_publish_into_a_pipe_says_which_campaign_it_is_sending_before_the_summary(site_dir):
    add_readers(site_dir, 3)
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    lines = site_dir.run("publish", env=ENV).stdout.splitlines()
    assert "Sending 'news': 0 of 3" in lines
    summary = next(n for n, line in enumerate(lines) if line.startswith("'news': sent 3"))
    assert lines.index("Sending 'news': 0 of 3") < summary
