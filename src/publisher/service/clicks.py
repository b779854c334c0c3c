"""The counting redirect of [newsletter] track_clicks: GET /c/TOKEN adds one to that link's count and sends the
reader on to the link's URL. Only a URL recorded for the campaign the token names, with a signature made
for that campaign and URL, is ever redirected to; anything else gets the 'page not found' page. Nothing
about the reader is kept: not their address (the token does not hold one), not their IP address. A HEAD
request (a link checker's) is redirected but not counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Flask, Response, redirect, request

from ..errors import TokenError
from ..mail.clicks import check_click, read_click_token
from ..store import Store


def add_click_route(app: Flask, store: Store, secret: Sequence[str], not_found: Callable[[], Response]) -> None:
    """GET /c/TOKEN: count and redirect, or `not_found()`."""

    @app.get("/c/<token>")
    def click(token: str) -> Response:
        try:
            found = read_click_token(token)
            url = store.click_target(found.campaign_id, found.link)
            if url is None:
                return not_found()
            check_click(secret, found, url)
        except TokenError:
            return not_found()
        if request.method == "GET":
            store.count_click(found.campaign_id, found.link)
        return redirect(url, 302)
