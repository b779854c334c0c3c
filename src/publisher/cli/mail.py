"""Mail commands: `email` writes one post's newsletter, for one recipient, as a complete .eml message."""

from __future__ import annotations

from pathlib import Path

import click

from .. import clock
from ..errors import ContentError
from . import main, pass_context
from .building import print_warnings


@main.command("email")
@click.argument("slug")
@click.option("--to", "to", metavar="ADDRESS", help="The recipient (default: the newsletter's From address).")
@click.option("--name", default="", help="The recipient's name, as a subscriber would have it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the message to this file instead of standard output.")
@pass_context
def email_command(ctx, slug: str, to: str | None, name: str, output: Path | None) -> None:
    """Write the newsletter for post SLUG as an RFC 5322 message (.eml) for one recipient.

    Open the file in any mail client to see exactly what a subscriber gets. Drafts work too, so a post
    can be proofread as an email before it is published.

    \b
    Example:
        publisher email sciatica --to me@example.com -o sciatica.eml
    """
    import email.policy

    from ..build.pipeline import load_site
    from ..build.theme import make_env
    from ..mail.dkim import load_signer
    from ..mail.newsletter import Addressee, compile_newsletter, personalise
    from ..mail.tokens import LinkTokens
    from .campaigns import signing_secret

    config = ctx.config
    site, warnings = load_site(config, clock.now(), drafts=True)
    post = find_post(site.posts, slug, config.path(config.paths.posts))
    newsletter = compile_newsletter(post, config, make_env(config.path(config.paths.templates)))
    print_warnings([w for w in warnings if w.path == post.source] + list(newsletter.warnings))
    recipient = to or config.from_address
    msg = personalise(newsletter, Addressee(recipient, name), tokens=LinkTokens(signing_secret(config)),
                      now=clock.now())
    signer = load_signer(config)
    data = (signer.sign(msg) if signer else msg).as_bytes(policy=email.policy.SMTP)
    _write(data, output)
    if output:
        click.echo(f"Wrote the newsletter for '{slug}' to {recipient} into {output} ({len(data):,} bytes)", err=True)


def find_post(posts, slug: str, posts_dir: Path):
    for post in posts:
        if post.slug == slug:
            return post
    import difflib
    close = difflib.get_close_matches(slug, [p.slug for p in posts], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; the slug is the post's URL name, as in /posts/SLUG/"
    raise ContentError(f"no post with the slug '{slug}'{hint}", posts_dir)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        with click.open_file("-", "wb") as stdout:
            stdout.write(data)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise click.FileError(str(output), hint=exc.strerror) from None
