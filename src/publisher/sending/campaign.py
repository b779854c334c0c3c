"""Running a campaign: worker threads (one transport connection each) claim deliveries from the store,
send them at a shared rate, retry deferrals with exponential backoff, and record each outcome at once.

Claim before sending, record after (DESIGN rule 5): after a crash only deliveries left in 'sending' are
uncertain, at most one per connection. Running the campaign again re-queues those (reporting them as possible
duplicates) and sends everything not yet sent. Where the store lets several senders share a campaign
(PostgreSQL), a run that runs out of work also takes over what a sender that died meanwhile left in flight. A
message the server may have taken without saying so in time (a timeout or a lost connection after the whole
message was sent) is likewise retried and reported as a possible duplicate. Ctrl-C lets each worker finish and
record the message it is sending, then stops.

A server that turns connections away (421, or no greeting) is waited out with the same backoff; a worker
turned away max_attempts times in a row gives up, and when every worker has, the run stops with the rest
still queued (SendingStopped), as it does at once for what no wait can fix (no such server, TLS or login
refused). Nothing becomes 'failed' because of the server: only a refusal of one message does that. A refusal
because the reader's mailbox is full is a failure too, but reported apart (`CampaignResult.full`): the reader
stays subscribed and the next campaign tries again.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

from .. import clock
from ..errors import (
    DeliveryError,
    PermanentError,
    SendingStopped,
    ServerBusy,
    TransientError,
)
from ..store import Campaign, Delivery, Store, Subscriber
from .transports import Transport, mailbox_full

POLL_SECONDS = 0.2
UNSURE = "retried, may have arrived"  # the outcome of a retry whose first try may have been delivered


@dataclass(frozen=True)
class CampaignResult:
    """What one run of a campaign did: outcomes recorded in this run, and how long it took."""

    sent: int
    failed: int
    retried: int
    possible_duplicates: int
    seconds: float
    skipped: int = 0
    full: tuple[str, ...] = ()  # of the failed: the addresses whose mailbox was full, in the order they failed

    @property
    def failed_for_good(self) -> int:
        """Failures an author should look into: every failure but a full mailbox."""
        return self.failed - len(self.full)


@dataclass(frozen=True)
class _Full:
    """A worker's report that a delivery failed because the reader's mailbox is full."""

    email: str


@dataclass(frozen=True)
class _GaveUp:
    """A worker's report that the server turned it away max_attempts times in a row."""

    error: ServerBusy


class RateLimiter:
    """Spaces sends at least 1/rate seconds apart across all workers (a token bucket of one token)."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller may send its next message."""
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


@dataclass
class _Run:
    """What every worker of one campaign run shares."""

    store: Store
    campaign_id: int
    render: Callable[[Subscriber], EmailMessage]
    connect: Callable[[], Transport]
    limiter: RateLimiter
    max_attempts: int
    retry_delay: float
    now: Callable[[], dt.datetime]
    sleep: Callable[[float], None]
    return_path: Callable[[Delivery], str]
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: queue.Queue = field(default_factory=queue.Queue)


def send_campaign(store: Store, campaign: Campaign, render: Callable[[Subscriber], EmailMessage],
                  connect: Callable[[], Transport], *, connections: int = 4, rate: float = 0.0,
                  max_attempts: int = 5, retry_delay: float = 2.0, clock: Callable[[], float] = time.monotonic,
                  now: Callable[[], dt.datetime] = clock.now, sleep: Callable[[float], None] = time.sleep,
                  progress: Callable[[int, int], None] | None = None,
                  return_path: Callable[[Delivery], str] = lambda delivery: "") -> CampaignResult:
    """Deliver every queued message of `campaign`, resuming after a crash; `progress(done, total)` per outcome.
    Anyone no longer active when their turn comes (unsubscribed mid-campaign, say) is skipped, not mailed.
    `return_path(delivery)` is the envelope sender of its message (a tagged bounce address), '' for the From.

    Raises SendingStopped when sending cannot work at all (e.g. the server is unreachable, or busy for longer
    than the retries last) and re-raises KeyboardInterrupt after the workers have stopped; either way the store
    is left ready to resume.
    """
    started = clock()
    skipped_before = store.delivery_counts(campaign.id).skipped
    duplicates = store.recover_in_flight(campaign.id)
    store.skip_inactive(campaign.id, now=now())
    total = store.delivery_counts(campaign.id).queued
    run = _Run(store, campaign.id, render, connect, RateLimiter(rate, clock, sleep), max_attempts, retry_delay,
               now, sleep, return_path)
    tally, full, gave_up = _run_workers(run, max(1, min(connections, total)), total, progress)
    while gave_up is None and (recovered := store.recover_in_flight(campaign.id)):  # another sender died meanwhile
        duplicates += recovered
        run.stop.clear()
        tally, full, gave_up = _run_workers(run, max(1, min(connections, recovered)), total, progress, tally, full)
    if gave_up is not None and store.delivery_counts(campaign.id).unfinished:
        raise SendingStopped(f"{gave_up.message}; the server turned each connection away {max_attempts} times "
                             "in a row")
    store.finish_campaign(campaign.id, now=now())
    skipped = store.delivery_counts(campaign.id).skipped - skipped_before
    return CampaignResult(sent=tally["sent"], failed=tally["failed"], retried=tally["retried"] + tally[UNSURE],
                          possible_duplicates=duplicates + tally[UNSURE], seconds=clock() - started, skipped=skipped,
                          full=tuple(full))


def _run_workers(run: _Run, count: int, total: int, progress: Callable[[int, int], None] | None,
                 tally: Counter | None = None,
                 full: list[str] | None = None) -> tuple[Counter, list[str], ServerBusy | None]:
    """Start `count` workers and tally their outcomes (adding to `tally` and `full` of an earlier round: the full
    mailboxes among the failures, and why the last to give up on the server did so); on any error (or Ctrl-C)
    stop them all before raising."""
    workers = [threading.Thread(target=_work, args=(run,), name=f"delivery-{n}", daemon=True) for n in range(count)]
    for worker in workers:
        worker.start()
    try:
        return _collect(run, workers, total, progress, tally or Counter(), full or [])
    finally:
        run.stop.set()
        for worker in workers:
            worker.join()


def _collect(run: _Run, workers: list[threading.Thread], total: int, progress: Callable[[int, int], None] | None,
             tally: Counter, full: list[str]) -> tuple[Counter, list[str], ServerBusy | None]:
    """Gather outcomes from the workers until all have finished; re-raise the first error one of them hit. A
    worker giving up on a busy server stops only itself: the others may still get through."""
    gave_up = None
    while any(w.is_alive() for w in workers) or not run.outcomes.empty():
        try:
            outcome = run.outcomes.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, _GaveUp):
            gave_up = outcome.error
            continue
        if isinstance(outcome, _Full):
            full.append(outcome.email)
            outcome = "failed"
        tally[outcome] += 1
        if progress is not None and outcome in ("sent", "failed"):
            progress(tally["sent"] + tally["failed"], total)
    return tally, full, gave_up


def _work(run: _Run) -> None:
    """One worker: claim, send and record until nothing is left to send, the run stops, or the server has turned
    this worker away max_attempts times in a row."""
    transport: Transport | None = None
    turned_away = 0
    try:
        delivery = _next_delivery(run)
        while delivery is not None:
            transport = transport or run.connect()
            try:
                outcome, claimed = _deliver(run, transport, delivery)
                turned_away = 0
            except ServerBusy as exc:
                turned_away += 1
                if not _wait_for_server(run, exc, turned_away):
                    return
                outcome, claimed = "retried", None
            run.outcomes.put(outcome)
            delivery = _next_delivery(run, claimed)
    except BaseException as exc:
        run.stop.set()
        run.outcomes.put(exc)
    finally:
        if transport is not None:
            transport.close()


def _next_delivery(run: _Run, claimed: Delivery | None = None) -> Delivery | None:
    """The next delivery to send (`claimed` already, or claimed here), once the rate limit allows; None when all
    is done or the run stops (a claimed delivery is then released unsent)."""
    while not run.stop.is_set():
        delivery, claimed = claimed or run.store.claim_next(run.campaign_id, run.now()), None
        if delivery is None:
            if not _wait_for_retries(run):
                return None
            continue
        run.limiter.wait()
        if not run.stop.is_set():
            return delivery
        run.store.release(delivery, now=run.now())
    if claimed is not None:
        run.store.release(claimed, now=run.now())
    return None


def _wait_for_server(run: _Run, error: ServerBusy, times: int) -> bool:
    """After the server turned this worker away `times` times in a row: wait retry_delay * 2^(times-1) seconds
    (less if the run stops) and return True; or, at max_attempts, report that this worker gives up and return
    False."""
    if times >= run.max_attempts:
        run.outcomes.put(_GaveUp(error))
        return False
    run.stop.wait(run.retry_delay * 2 ** (times - 1))
    return True


def _wait_for_retries(run: _Run) -> bool:
    """Sleep until the next deferred delivery is due (briefly, to notice a stop); False when none is queued."""
    due = run.store.next_due(run.campaign_id)
    if due is None:
        return False
    run.sleep(min(max((due - run.now()).total_seconds(), 0.0), POLL_SECONDS))
    return True


def _deliver(run: _Run, transport: Transport, delivery: Delivery) -> tuple[str | _Full, Delivery | None]:
    """Send one claimed delivery and record its outcome: 'sent', 'failed' (_Full for a full mailbox), 'retried'
    or UNSURE (retried, and possibly delivered already). After a send, the record of it also claims the next
    delivery, which is returned. ServerBusy (the delivery released unsent) is left to the worker; any other DeliveryError stops the run."""
    msg, message_id = _render(run, delivery)
    try:
        reply = transport.send(msg, run.return_path(delivery))
    except PermanentError as exc:
        run.store.mark_failed(delivery, exc.reply, exc.mailbox_unknown, now=run.now())
        return _failed(delivery, exc.reply), None
    except ServerBusy:
        run.store.release(delivery, now=run.now())
        raise
    except TransientError as exc:
        return _retry_or_fail(run, delivery, exc), None
    except DeliveryError as exc:
        run.store.release(delivery, now=run.now())
        raise SendingStopped(exc.message, exc.path, exc.line) from None
    return "sent", run.store.mark_sent_and_claim_next(delivery, reply, message_id, now=run.now())


def _render(run: _Run, delivery: Delivery) -> tuple[EmailMessage, str]:
    """The subscriber's message and its Message-ID; if rendering fails, the claim is released unsent."""
    try:
        msg = run.render(delivery.subscriber)
        return msg, ensure_message_id(msg)
    except BaseException:
        run.store.release(delivery, now=run.now())
        raise


def _failed(delivery: Delivery, reply: str) -> str | _Full:
    """The outcome of a failed delivery: a full mailbox is told apart from every other failure."""
    return _Full(delivery.subscriber.email) if mailbox_full(reply) else "failed"


def _retry_or_fail(run: _Run, delivery: Delivery, error: TransientError) -> str | _Full:
    """Queue a deferred delivery again after retry_delay * 2^(attempts-1) seconds, or fail it when out of tries.
    One the server may have taken already is flagged in the store and reported as a possible duplicate."""
    now = run.now()
    if delivery.attempts >= run.max_attempts:
        run.store.mark_failed(delivery, error.reply, bounce=False, now=now)
        return _failed(delivery, error.reply)
    delay = run.retry_delay * 2 ** (delivery.attempts - 1)
    run.store.mark_retry(delivery, error.reply, now + dt.timedelta(seconds=delay), possible_duplicate=error.uncertain,
                         now=now)
    return UNSURE if error.uncertain else "retried"


def ensure_message_id(msg: EmailMessage) -> str:
    """The message's Message-ID, adding one in the sender's domain if it has none (recorded with the delivery)."""
    if msg["Message-ID"] is None:
        addresses = getaddresses(msg.get_all("From", []))
        domain = addresses[0][1].rpartition("@")[2] if addresses else ""
        msg["Message-ID"] = make_msgid(domain=domain or "localhost")
    return str(msg["Message-ID"])
