"""Consent commands of the `publisher subscribers` group: invite (the double opt-in that is the only way back
for someone who left), show (a subscriber's consent history) and forget (erasure onto the suppression list)."""

from __future__ import annotations

import click

from .. import clock
from ..store import CONTROL_CHARACTERS, ConsentEvent
from . import Context, open_site_store, pass_context, subscriber_group
from .addresses import valid_address, valid_name


@subscriber_group.command()
@click.argument("address")
@click.option("--name", default="", help="The subscriber's name, for greetings.")
@pass_context
def invite(ctx: Context, address: str, name: str) -> None:
    """Send ADDRESS the confirmation email the subscribe form sends (double opt-in).

    They are subscribed only once they open its link, so this is the way back for someone
    who unsubscribed, bounced or complained. At most 3 confirmation emails go to one
    address an hour, sign-ups on the form included. The email goes out over
    [delivery] smtp_url, or into the Maildir outbox when none is set; its link needs
    PUBLISHER_SECRET_KEY, the key `publisher serve` uses.

    \b
    Example:
        publisher subscribers invite ann@example.com --name "Ann Lee"
    """
    from ..build.theme import make_env
    from ..mail.tokens import check_secret
    from ..sending.single import single_sender
    from ..sending.transports import make_transport
    from ..service.subscriptions import CONFIRMATIONS_PER_ADDRESS, SignUp, Subscriptions
    config, email, name = ctx.config, valid_address(address), valid_name(name)
    check_secret(config.secrets.secret_key)
    with open_site_store(config) as store:
        service = Subscriptions(config, store, make_env(config.path(config.paths.templates)),
                                single_sender(config, make_transport(config)), clock.now)
        outcome, email = service.invite(SignUp(email, name))
    if outcome == "too_many":
        raise click.ClickException(
            f"{email} was sent {CONFIRMATIONS_PER_ADDRESS} confirmation emails in the last hour (sign-ups and "
            "invitations together); nothing was sent. Invite them again in an hour")
    if outcome == "already":
        click.echo(f"{email} is already subscribed; nothing was sent.")
        return
    click.echo(f"Sent {email} a confirmation email; they are subscribed once they open its link "
               f"(it works for {config.subscriptions.confirm_hours} hours).")


@subscriber_group.command()
@click.argument("address")
@pass_context
def show(ctx: Context, address: str) -> None:
    """Print ADDRESS's status and name, and its consent history: one line per event, oldest first,
    with when (in the site's time zone), what, how and the evidence (the file of an import, the
    IP address of a form, the server's reply to a bounce).

    \b
    Example:
        publisher subscribers show ann@example.com
    """
    with open_site_store(ctx.config) as store:
        subscriber = store.get_subscriber(address)
        history = store.consent_history(address)
    if subscriber is None:
        raise click.ClickException(f"{address} is not on the list; `publisher subscribers list` shows who is")
    click.echo(f"{subscriber.email}\nstatus: {subscriber.status}")
    if subscriber.name:
        click.echo(f"name: {subscriber.name}")
    click.echo("consent history:" if history else "consent history: none recorded (added before it was kept)")
    for event in history:
        click.echo(event_line(event, ctx.config.tz))


def event_line(event: ConsentEvent, tz) -> str:
    """One event as a line: when, what, how and the evidence (line breaks in a server's reply become spaces)."""
    when = event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    detail = " ".join(CONTROL_CHARACTERS.sub(" ", event.detail).split())
    return f"  {when}  {event.kind:<12} {event.how:<9} {detail}".rstrip()


@subscriber_group.command()
@click.argument("address")
@click.option("--yes", is_flag=True, help="Erase without asking first.")
@pass_context
def forget(ctx: Context, address: str, yes: bool) -> None:
    """Erase ADDRESS for good (GDPR article 17): the subscriber, their consent history and
    their deliveries, so campaign counts no longer include them.

    A keyed hash of the address (HMAC-SHA256 under PUBLISHER_SECRET_KEY) stays on the
    suppression list: nobody can read the address back from it, but no later import or
    `add` can bring them back. Only their own sign-up and confirmation can.

    \b
    Example:
        publisher subscribers forget ann@example.com --yes
    """
    from ..service.suppression import address_hash, current_key
    email, key = valid_address(address), current_key(ctx.config.secrets)
    if not yes:
        click.confirm(f"Erase {email} and their history for good?", abort=True)
    with open_site_store(ctx.config) as store:
        erased = store.forget_subscriber(email, address_hash(key, email), now=clock.now())
    if erased:
        click.echo(f"Forgot {email}: erased with their history and deliveries; the suppression list keeps "
                   "imports from adding them again.")
    else:
        click.echo(f"{email} was not on the list; it is on the suppression list now, so no import adds it.")
