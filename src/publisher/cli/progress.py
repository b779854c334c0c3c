"""The words of a publish or send as it happens: newsletter warnings, the archive, progress, each campaign's
summary. On a terminal progress is a bar; anywhere else (cron, a pipe, a log file) it is a line at the start of
each campaign and then with the first delivery ten seconds or more after the last line, so a long campaign
shows it is alive."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

import click

from ..clock import describe_duration
from ..sending.due import NOT_EMAILED, Archive
from ..sending.publish import (
    Archived,
    ArchivedUnmailed,
    CampaignProgress,
    CampaignReport,
    Compiled,
    Event,
    IdNotWritten,
    IdsWritten,
    Orphaned,
)
from .building import print_warnings
from .words import plural

EVERY_SECONDS = 10.0
FULL_SHOWN = 5  # full mailboxes named in a campaign's warning; `status SLUG --failed` lists them all


class ProgressLines:
    """Progress as lines: "Sending 'slug': 1,200 of 10,000 (120 msg/s)" when a campaign starts, then whenever
    EVERY_SECONDS have passed since the last line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._slug: str | None = None
        self._started = self._shown = 0.0

    def update(self, slug: str, done: int, total: int) -> None:
        """Print a line if the campaign is new or the last line is EVERY_SECONDS old."""
        now = self._clock()
        if slug != self._slug:
            self._slug, self._started = slug, now
        elif now - self._shown < EVERY_SECONDS:
            return
        self._shown = now
        rate = f" ({done / (now - self._started):,.0f} msg/s)" if done and now > self._started else ""
        click.echo(f"Sending '{slug}': {done:,} of {total:,}{rate}")

    def close(self) -> None:
        """Nothing to finish: every line is complete."""


class ProgressBar:
    """Progress as a bar with rate and time left, on a terminal."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._slug: str | None = None
        self._bar = None
        self._started = 0.0

    def update(self, slug: str, done: int, total: int) -> None:
        """Start a bar for a new campaign, or move the current one on to `done`."""
        if slug != self._slug:
            self.close()
            self._slug, self._started = slug, self._clock()
            self._bar = click.progressbar(length=total, label=f"Sending '{slug}'", show_eta=True,
                                          item_show_func=self._rate).__enter__()
        self._bar.update(done - self._bar.pos, done)

    def _rate(self, done: int | None) -> str:
        return f"{done / max(self._clock() - self._started, 1e-6):,.0f} msg/s" if done else ""

    def close(self) -> None:
        """Finish the current bar, if any."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar, self._slug = None, None


class Reporter:
    """Prints the events of a publish or send as they come; `sending` is the campaign under way, if any."""

    def __init__(self, progress: ProgressLines | ProgressBar | None = None):
        self.sending: str | None = None
        self._progress = progress or (ProgressBar() if sys.stdout.isatty() else ProgressLines())

    def __call__(self, event: Event) -> None:
        if isinstance(event, CampaignProgress):
            self.sending = event.slug
            if event.total:
                self._progress.update(event.slug, event.done, event.total)
        elif isinstance(event, CampaignReport):
            self._progress.close()
            self.sending = None
            summarise(event)
        elif isinstance(event, Compiled):
            print_warnings(event.newsletter.warnings)
        elif isinstance(event, Archived) and event.first_run:
            click.echo(f"First publish: recorded {plural(event.count, 'existing post')} as the archive, mailing "
                       "none (--send-latest mails the newest).")
        elif isinstance(event, ArchivedUnmailed):
            click.echo(f"Archived without mailing ({unmailed_reason(event.archive, event.max_age)}): "
                       f"{event.archive.post.source}")
        elif isinstance(event, IdsWritten):
            click.echo(f"Wrote its stable id into the front matter of {plural(len(event.sources), 'post')} "
                       f"({_listed(event.sources)}): keep the line when renaming a post, delete it from a copy.")
        elif isinstance(event, IdNotWritten):
            click.secho(f"Warning: {event.error}", fg="yellow", err=True)
        elif isinstance(event, Orphaned):
            click.secho(f"Warning: the campaign for '{event.slug}' is unfinished, but the post is no longer "
                        "published; publish it again to finish the campaign.", fg="yellow", err=True)

    def close(self) -> None:
        """Finish a progress bar left open by an interruption."""
        self._progress.close()


def unmailed_reason(entry: Archive, max_age: dt.timedelta) -> str:
    """Why a post new to the site was archived without mailing, in a few words."""
    if entry.reason == NOT_EMAILED:
        return "email: false"
    return f"dated {entry.post.date:%Y-%m-%d}, older than max_age = {describe_duration(max_age)}"


def _listed(sources, most: int = 3) -> str:
    """The first few paths, and how many more."""
    shown = ", ".join(str(source) for source in sources[:most])
    return shown + (f" and {len(sources) - most:,} more" if len(sources) > most else "")


def summarise(report: CampaignReport) -> None:
    """One line for a campaign's run (and a note on possible duplicates), or that it had been sent before."""
    result, counts, slug = report.result, report.counts, report.slug
    if result is None:
        retry = f"; `publisher send {slug} --retry-failed` tries the failed ones again" if counts.failed else ""
        click.echo(f"'{slug}' was already sent ({counts.sent} sent, {counts.failed} failed); nothing left to "
                   f"send{retry}.")
        return
    rate = (result.sent / result.seconds) if result.seconds else 0.0
    click.secho(f"'{slug}': sent {result.sent}, failed {result.failed}, retried {result.retried}, "
                f"possible duplicates {result.possible_duplicates}, skipped {result.skipped} "
                f"in {result.seconds:.2f} s ({rate:,.0f} messages/s)", fg="red" if result.failed_for_good else None)
    if result.full:
        shown = ", ".join(result.full[:FULL_SHOWN]) + (", ..." if len(result.full) > FULL_SHOWN else "")
        click.secho(f"Warning: {plural(len(result.full), 'mailbox was', 'mailboxes were')} full ({shown}); "
                    f"those readers stay subscribed and the next campaign tries again (`publisher status {slug} "
                    "--failed` shows the replies).", fg="yellow", err=True)
    if result.possible_duplicates:
        click.echo(f"  {plural(result.possible_duplicates, 'message')} may have reached the server before it "
                   "could say so (a run stopped mid-send, or the server answered too late); they were sent again, "
                   "so those readers may have two copies.")
