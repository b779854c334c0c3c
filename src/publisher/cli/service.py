"""Service command: `serve` runs the subscription service (sign-up, confirm, one-click unsubscribe, webhooks, click
redirects) and takes booking requests, on waitress."""

from __future__ import annotations

import click

from ..errors import PublisherError
from . import main, pass_context

MAX_REQUEST_BYTES = 65_536  # waitress refuses bigger bodies before they reach the app (which allows far less)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="The port to listen on.")
@click.option("--proxies", default=0, show_default=True, type=click.IntRange(0, 10),
              help="How many reverse proxies in front to trust for X-Forwarded-For/-Proto/-Host.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Requests handled at once.")
@pass_context
def serve(ctx, host: str, port: int, proxies: int, threads: int) -> None:
    """Run the subscription service that the site's subscribe form posts to.

    It confirms new subscribers by email (double opt-in), sends the welcome email, handles the
    newsletter's one-click unsubscribe links, takes bounces and complaints from Mailgun, Postmark or Amazon
    SES at /webhooks/PROVIDER once set up, and counts clicks with [newsletter] track_clicks, using the same
    database and mail settings as `publish`. It also takes the booking form's requests (POST /book) and
    emails them to [booking] notify or email.
    PUBLISHER_SECRET_KEY must be set, to the same value `publish` uses.

    \b
    Example:
        PUBLISHER_SECRET_KEY=... publisher serve --port 8000 --proxies 1
    """
    import logging
    import signal
    import sys

    import waitress

    from ..service.app import build_app

    config = ctx.config
    app = build_app(config, proxies=proxies)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # the app picks the X-Forwarded-* values it trusts; waitress would remove them all before it sees them
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="publisher",
                                        max_request_body_size=MAX_REQUEST_BYTES,
                                        clear_untrusted_proxy_headers=not proxies)
    except OSError as exc:
        raise PublisherError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") \
            from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"Serving subscriptions for {config.site.title} on http://{host}:{port}/ (the form posts to "
               f"{config.subscribe_base}/subscribe); Ctrl-C stops")
    server.run()
    click.echo("Stopped.")
