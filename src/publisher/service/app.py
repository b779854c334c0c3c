"""The subscription service on HTTP: a small Flask app for the site's subscribe form, the confirm link and the
one-click unsubscribe (RFC 8058), with pages in the site's own look that work without JavaScript.

    POST /subscribe          email (+ name), honeypot, per-client rate limit (counted in the store), small bodies only
    GET  /confirm?token=     a page with one button (link scanners follow links, they do not press buttons)
    POST /confirm?token=     activates the subscriber; a welcome email follows
    GET  /unsubscribe?token= a page with one button, as for confirming
    POST /unsubscribe?token= body List-Unsubscribe=One-Click: unsubscribes, 200, no redirect
    POST /book               a booking request: emailed to the therapist (Reply-To the client), a copy to the client
    GET  /book/sent          the thank-you page a booking request is redirected to (303)
    GET  /healthz            for the process supervisor: 'ok' while the database can be written, else 503
    POST /webhooks/PROVIDER  bounces and complaints from Mailgun, Postmark or Amazon SES (service/webhooks.py)
    GET  /c/TOKEN            a newsletter link's counting redirect, with [newsletter] track_clicks (clicks.py)

A database that another process holds for longer than its busy timeout gets a 503 page with Retry-After.

`create_app` only wires the parts together; `build_app` opens them from a Config, and `load_app` from a site
folder, for any WSGI server (`gunicorn 'publisher.service.app:load_app("/srv/site")'`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ..build.theme import make_env
from ..clock import now as clock_now
from ..config import Config, find_config, load_config
from ..content.site import Site
from ..errors import (
    ConfigError,
    DatabaseBusy,
    BookingError,
    DatabaseUnavailable,
    DeliveryError,
    SignUpError,
    TokenError,
    TokenExpired,
)
from ..mail.tokens import check_keys
from ..sending.single import single_sender
from ..sending.transports import Transport, make_transport
from ..store import Store, open_store
from .booking import Bookings, read_booking
from .booking_emails import therapist
from .clicks import add_click_route
from .limits import SharedLimiter
from .subscriptions import CONFIRMATIONS_PER_ADDRESS, ONE_CLICK, Subscriptions, read_sign_up
from .webhooks import add_webhook_routes

MAX_BODY_BYTES = 4_096
BOOKING_BODY_BYTES = 16_384  # a booking request carries a message of up to 2,000 characters
RATE_WINDOW_SECONDS = 3_600
FROM_PAGE = ("from", "page")  # the unsubscribe page's button sends this too: a press there, not a mail program's POST
RETRY_AFTER_SECONDS = 30  # when the database is busy
TEMPLATE = "service.html"
PAGES = {  # message: (page title, HTTP status)
    "subscribe": ("Subscribe", 200),
    "check_inbox": ("Check your inbox", 200),
    "invalid_form": ("Please check the form", 400),
    "too_many": ("Too many requests", 429),
    "too_large": ("Request too large", 413),
    "unavailable": ("Please try again later", 503),
    "busy": ("Please try again later", 503),
    "confirm": ("Confirm your subscription", 200),
    "confirmed": ("You are subscribed", 200),
    "already": ("You are already subscribed", 200),
    "stale": ("This link no longer works", 400),
    "expired": ("This link has expired", 400),
    "bad_link": ("This link does not work", 400),
    "unsubscribe": ("Unsubscribe", 200),
    "unsubscribed": ("You are unsubscribed", 200),
    "gone": ("Not on the list", 200),
    "booking_invalid": ("Please check your booking request", 400),
    "booking_sent": ("Thank you for your booking request", 200),
    "booking_failed": ("Your booking request could not be sent", 503),
    "booking_too_many": ("Too many requests", 429),
    "not_found": ("Page not found", 404),
    "not_allowed": ("Not allowed", 405),
    "bad_request": ("Bad request", 400),
    "error": ("Something went wrong", 500),
}
log = logging.getLogger(__name__)


class Pages:
    """The service's pages: templates/service.html (extending the theme's base.html), one message each."""

    def __init__(self, config: Config, env: jinja2.Environment, clock: Callable[[], dt.datetime]):
        self.config, self._clock = config, clock
        self._template = env.get_template(TEMPLATE)

    def render(self, message: str, **context) -> Response:
        title, status = PAGES[message]
        site = Site(config=self.config, posts=(), now=self._clock())
        page = {"title": title, "url": self.config.subscribe_base + request.path, "path": request.path,
                "kind": "website", "image": "", "description": self.config.site.description}
        body = self._template.render(site=site, config=self.config, page=page, message=message,
                                     hours=self.config.subscriptions.confirm_hours, **context)
        return Response(body, status, content_type="text/html; charset=utf-8")


def create_app(config: Config, *, store: Store, connect: Callable[[], Transport],
               clock: Callable[[], dt.datetime] = clock_now,
               proxies: int = 0, fetch: Callable[[str], bytes] | None = None) -> Flask:
    """The service for one site. `connect()` makes a transport for each email; `proxies` is how many reverse
    proxies in front are trusted for the client's address (X-Forwarded-For) and the public URL; `fetch(url)`
    gets Amazon SNS's signing certificates (and confirms its subscription) over HTTPS."""
    check_keys(config.secrets.secret_key, config.secrets.old_secret_keys)
    env = make_env(config.path(config.paths.templates))
    deliver = single_sender(config, connect)
    service = Subscriptions(config, store, env, deliver, clock)
    bookings = Bookings(config, env, deliver, clock)
    limiter = SharedLimiter(store, "subscribe", config.subscriptions.rate_limit, RATE_WINDOW_SECONDS, clock)
    pages = Pages(config, env, clock)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES, MAX_FORM_PARTS=16)
    _add_routes(app, service, limiter, pages, store)
    _add_booking_routes(app, bookings, (
        SharedLimiter(store, "book", config.subscriptions.rate_limit, RATE_WINDOW_SECONDS, clock),
        SharedLimiter(store, "book-copy", CONFIRMATIONS_PER_ADDRESS, RATE_WINDOW_SECONDS, clock)), pages)
    add_webhook_routes(app, config, store, clock, *([fetch] if fetch else []))
    add_click_route(app, store, (config.secrets.secret_key, *config.secrets.old_secret_keys),
                    lambda: pages.render("not_found"))
    app.register_error_handler(HTTPException, lambda exc: _error_page(pages, exc))
    app.register_error_handler(DatabaseBusy, lambda exc: _busy_page(pages, exc))
    app.register_error_handler(DatabaseUnavailable, lambda exc: _busy_page(pages, exc))
    app.after_request(_security_headers(config))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # links come from publisher.toml, never the Host
    return app


def _add_routes(app: Flask, service: Subscriptions, per_client: SharedLimiter, pages: Pages, store: Store) -> None:
    @app.get("/subscribe")
    def subscribe_form():
        return pages.render("subscribe")

    @app.post("/subscribe")
    def subscribe():
        if not per_client.allow(request.remote_addr or ""):
            return pages.render("too_many")
        try:
            sign_up = read_sign_up(request.form)
        except SignUpError as exc:
            return pages.render("invalid_form", problem=str(exc))
        try:
            service.subscribe(sign_up, request.remote_addr or "")  # over the address's limit: the same answer
        except DeliveryError as exc:
            log.error("the confirmation email could not be sent: %s", exc)
            return pages.render("unavailable")
        return pages.render("check_inbox", email=sign_up.email)

    @app.get("/confirm")
    def confirm_form():
        def show(token: str) -> Response:
            message, email = service.check_confirm(token)
            return pages.render(message, email=email, token=token)
        return _with_token(pages, show)

    @app.post("/confirm")
    def confirm():
        return _with_token(pages, lambda token: pages.render(service.confirm(token, request.remote_addr or "")))

    @app.get("/unsubscribe")
    def unsubscribe_form():
        def show(token: str) -> Response:
            message, email = service.check_unsubscribe(token)
            return pages.render(message, email=email, token=token, one_click=ONE_CLICK, from_page=FROM_PAGE)
        return _with_token(pages, show)

    @app.post("/unsubscribe")
    def unsubscribe():
        if request.form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            return pages.render("bad_request")
        how = "link" if request.form.get(FROM_PAGE[0]) == FROM_PAGE[1] else "one-click"

        def done(token: str) -> Response:
            message, email = service.unsubscribe(token, how, request.remote_addr or "")
            return pages.render(message, email=email)
        return _with_token(pages, done)

    @app.get("/healthz")
    def healthz():
        try:
            store.check_writable()
        except (DatabaseBusy, DatabaseUnavailable, ConfigError) as exc:
            log.error("health check: the database cannot be written: %s", exc)
            return Response("unavailable: the database cannot be written (see the log)\n", 503,
                            {"Retry-After": str(RETRY_AFTER_SECONDS)}, content_type="text/plain; charset=utf-8")
        return Response(f"ok (schema {store.schema_version})\n", content_type="text/plain; charset=utf-8")


def _add_booking_routes(app: Flask, bookings: Bookings, limiters: tuple[SharedLimiter, SharedLimiter],
                        pages: Pages) -> None:
    """POST /book and its thank-you page. The client's copy goes to one address at most a few times an hour,
    so the form cannot be used to send someone a stranger's words again and again."""
    config, (per_client, per_address) = bookings.config, limiters
    who = therapist(config)

    @app.post("/book")
    def book():
        if not bookings.enabled:
            return pages.render("not_found")
        request.max_content_length = request.max_form_memory_size = BOOKING_BODY_BYTES
        if not per_client.allow(request.remote_addr or ""):
            return pages.render("booking_too_many", therapist=who)
        try:
            booking = read_booking(request.form, config.site.url)
        except BookingError as exc:
            return pages.render("booking_invalid", problems=exc.problems, form=request.form, therapist=who)
        try:
            copy = bookings.send(booking, copy=per_address.allow(booking.email.lower()))
        except DeliveryError as exc:
            log.error("a booking request could not be sent to the therapist: %s", exc)
            return pages.render("booking_failed", form=request.form, therapist=who)
        return redirect(f"{config.subscribe_base}/book/sent?copy={copy}", 303)

    @app.get("/book/sent")
    def booking_sent():
        return pages.render("booking_sent", copy=request.args.get("copy", ""), therapist=who)


def _with_token(pages: Pages, handle: Callable[[str], Response]) -> Response:
    """Run `handle` with the link's token; a missing, forged, cut-short or expired token gets a friendly page."""
    token = request.args.get("token", "")
    try:
        return handle(token)
    except TokenExpired:
        return pages.render("expired")
    except TokenError:
        return pages.render("bad_link")


def _error_page(pages: Pages, exc: HTTPException) -> Response:
    """Errors in the site's look: the usual 4xx, and a 500 for a failure of ours (logged by Flask first)."""
    code = exc.code or 500
    fallback = "error" if code >= 500 else "bad_request"
    return pages.render({404: "not_found", 405: "not_allowed", 413: "too_large"}.get(code, fallback))


def _busy_page(pages: Pages, exc: DatabaseBusy | DatabaseUnavailable) -> Response:
    """A 503 in the site's look when another process held the database too long, or the database server cannot be
    reached: nothing was recorded or sent, so the same request will work again shortly."""
    log.error("%s", exc)
    response = pages.render("busy")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _security_headers(config: Config) -> Callable[[Response], Response]:
    """No caching (pages carry personal links), no framing (no clickjacked button), no Referer (no token leaks)."""
    site, service = _origin(config.site.url), _origin(config.subscribe_base)
    policy = (f"default-src 'none'; style-src 'self' {site}; img-src 'self' {site} data:; "
              f"form-action 'self' {service}; frame-ancestors 'none'; base-uri 'none'")

    def add(response: Response) -> Response:
        response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                 "X-Content-Type-Options": "nosniff", "Content-Security-Policy": policy})
        return response
    return add


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def build_app(config: Config, proxies: int = 0) -> Flask:
    """The service with the site's own store and mail transport, as `publish` uses them."""
    check_keys(config.secrets.secret_key, config.secrets.old_secret_keys)
    store = open_store(config)
    return create_app(config, store=store, connect=make_transport(config), proxies=proxies)


def load_app(site: str | Path = ".", proxies: int = 0) -> Flask:
    """The service for the site in folder `site` (or its publisher.toml): the entry point for WSGI servers."""
    return build_app(load_config(find_config(Path(site))), proxies)
