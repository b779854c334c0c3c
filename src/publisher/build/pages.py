"""The site's HTML pages, sitemap and robots.txt, planned from a Site as jobs: pure, each renders bytes."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2

from ..config import CONFIG_NAME
from ..content.pages import Page
from ..content.posts import Post
from ..content.site import Site
from ..errors import ConfigError, ContentError, Problems
from .jobs import Job, PostPrint
from .structured import business_data, post_data

THEME_ASSETS = ("assets/style.css",)


def page_jobs(site: Site, env: jinja2.Environment, fp: PostPrint, lp: PostPrint) -> list[Job]:
    """Every page of the site with what it shows: the home pages, posts, tags, archive, 404, sitemap. `fp` is
    a post's fingerprint as a whole, `lp` as lists of posts show it."""
    jobs = [*home_jobs(site, env, lp), *post_jobs(site, env, fp, lp), *tag_jobs(site, env, lp)]
    jobs.append(Job("archive/index.html", tuple(map(lp, site.posts)),
                    functools.partial(_render, env, "archive.html", site, page=_page(site, "Archive", "archive/"),
                                      years=_by_year(site.posts))))
    jobs.append(Job("404.html", (), functools.partial(_render, env, "404.html", site,
                                                      page=_page(site, "Page not found", "404.html"))))
    check_page_paths(site, jobs)
    jobs += [_page_job(site, env, page) for page in site.pages]
    check_booking_url(site, {job.path for job in jobs})
    entries = _sitemap_entries(site, [job.path for job in jobs])
    jobs.append(Job("sitemap.xml", tuple((e["url"], str(e["lastmod"])) for e in entries),
                    functools.partial(_render, env, "sitemap.xml", site, pages=entries)))
    robots = robots_txt(site.url)
    jobs.append(Job("robots.txt", (), lambda: robots))
    for asset in THEME_ASSETS:
        jobs.append(Job(asset, (), functools.partial(_render_asset, env, asset, site)))
    return jobs


def _page_job(site: Site, env: jinja2.Environment, page: Page) -> Job:
    shown = _page(site, page.title, page.path, description=page.summary)
    structured = business_data(site.config) if page.layout in ("contact", "booking") else None
    return Job(page.path + "index.html", (), functools.partial(_render, env, "page.html", site, page=shown,
                                                              content=page, structured=structured))


RESERVED = ("posts", "tags", "archive", "page", "newsletter", "assets")


def check_page_paths(site: Site, jobs: list[Job]) -> None:
    """Refuse a page whose address another part of the site (the posts, the topics, a static file) already
    uses: one of the two would silently replace the other."""
    static = site.config.path(site.config.paths.static)
    taken = {job.path.split("/", 1)[0] for job in jobs}
    errors = [ContentError(f"slug '{page.slug}' is also the address of the site's own /{page.slug}; choose "
                           f"another 'slug:' in the front matter", page.source, 1)
              for page in site.pages
              if page.slug in taken or page.slug in RESERVED or (static / page.slug).exists()]
    if errors:
        raise Problems(errors)


def check_booking_url(site: Site, built: set[str]) -> None:
    """A booking URL inside the site must lead to a page the build makes or a file in static/."""
    config = site.config
    static = config.path(config.paths.static)
    url = config.booking_url
    if not (url == site.url or url.startswith(site.url + "/")):
        return
    rel = re.split(r"[?#]", url[len(site.url):], maxsplit=1)[0].lstrip("/")
    wanted = [rel + "index.html"] if rel == "" or rel.endswith("/") else [rel, rel + "/index.html"]
    if not any(path in built or (static / path).is_file() for path in wanted):
        raise ConfigError(f"booking.url: {config.booking.url} is a page of this site, but the site has no "
                          f"/{rel}; add {config.paths.pages}/{rel.strip('/') or 'booking'}.md with "
                          f"'layout: booking', or set url to your booking service's https address",
                          Path(CONFIG_NAME))


def robots_txt(site_url: str) -> bytes:
    """robots.txt: everything may be crawled, and the sitemap is here."""
    return f"User-agent: *\nAllow: /\nSitemap: {site_url}/sitemap.xml\n".encode()


def home_jobs(site: Site, env: jinja2.Environment, fp: PostPrint) -> list[Job]:
    """The home page and its numbered continuation pages, newest posts first."""
    size = site.config.site.posts_per_page
    chunks = [site.posts[i:i + size] for i in range(0, len(site.posts), size)] or [()]
    jobs = []
    for number, posts in enumerate(chunks, start=1):
        path = _home_path(number)
        pager = {"number": number, "count": len(chunks),
                 "newer": _home_path(number - 1) if number > 1 else None,
                 "older": _home_path(number + 1) if number < len(chunks) else None}
        title = site.config.site.title if number == 1 else f"Page {number}"
        render = functools.partial(_render, env, "index.html", site, page=_page(site, title, path),
                                   posts=posts, pager=pager, structured=business_data(site.config))
        jobs.append(Job(path + "index.html", (len(chunks), *map(fp, posts)), render))
    return jobs


def post_jobs(site: Site, env: jinja2.Environment, fp: PostPrint, lp: PostPrint) -> list[Job]:
    """One page per post, each with links to its neighbours."""
    jobs = []
    for i, post in enumerate(site.posts):
        newer = site.posts[i - 1] if i > 0 else None
        older = site.posts[i + 1] if i + 1 < len(site.posts) else None
        depends = (fp(post), newer and lp(newer), older and lp(older))
        render = functools.partial(render_post, site, env, post, newer, older)
        jobs.append(Job(post.path + "index.html", depends, render))
    return jobs


def render_post(site: Site, env: jinja2.Environment, post: Post, newer: Post | None, older: Post | None) -> bytes:
    page = _page(site, post.title, post.path, description=post.summary, kind="article", image=post.image)
    booking = site.config.booking
    intro, rest = split_intro(post.html, booking.intro_paragraphs) if booking.in_post != "end" else ("", "")
    return env.get_template("post.html").render(
        site=site, config=site.config, page=page, post=post, newer=newer, older=older, intro=intro, rest=rest,
        booking_at_end=booking.in_post != "after_intro" or not rest, structured=post_data(post, site.config),
    ).encode()


_BLOCK = re.compile(r"<(/?)(?:blockquote|ul|ol|div|section|table|figure|details)\b|</p>\n")


def split_intro(html: str, paragraphs: int) -> tuple[str, str]:
    """A post's HTML cut after its first `paragraphs` top-level paragraphs (those not inside a list, quote or
    table), where the booking block goes; ("", "") when nothing follows them, so the block is not shown twice
    in a row at the end."""
    depth, seen = 0, 0
    for match in _BLOCK.finditer(html):
        if match[0] == "</p>\n":
            seen += depth == 0
            if seen == paragraphs:
                rest = html[match.end():]
                return (html[:match.end()], rest) if rest.strip() else ("", "")
        else:
            depth += -1 if match[1] else 1
    return "", ""


def tag_jobs(site: Site, env: jinja2.Environment, fp: PostPrint) -> list[Job]:
    """A page per tag listing its posts, and an index of all tags."""
    index = tuple((tag.name, tag.slug, len(tag.posts)) for tag in site.tags)
    jobs = [Job("tags/index.html", index,
                functools.partial(_render, env, "tags.html", site, page=_page(site, "Topics", "tags/")))]
    for tag in site.tags:
        page = _page(site, f"Posts about {tag.name}", tag.path)
        jobs.append(Job(tag.path + "index.html", (tag.name, *map(fp, tag.posts)),
                        functools.partial(_render, env, "tag.html", site, page=page, tag=tag)))
    return jobs


def _render(env: jinja2.Environment, name: str, site: Site, **context) -> bytes:
    return env.get_template(name).render(site=site, config=site.config, **context).encode()


def _render_asset(env: jinja2.Environment, name: str, site: Site) -> bytes:
    return env.get_template(name).render(site=site).encode()


def _page(site: Site, title: str, path: str, description: str = "", kind: str = "website", image: str = "") -> dict:
    """What the page's <head> says of it; a page with no picture of its own shows the site's [site] image."""
    default = site.config.site.image
    return {"title": title, "url": site.absolute(path), "path": path, "kind": kind,
            "image": image or (site.absolute(default) if default.startswith("/") else default),
            "description": description or site.config.site.description}


def _home_path(number: int) -> str:
    return "" if number == 1 else f"page/{number}/"


def _by_year(posts: tuple[Post, ...]) -> list[tuple[int, list[Post]]]:
    years: dict[int, list[Post]] = {}
    for post in posts:
        years.setdefault(post.date.year, []).append(post)
    return list(years.items())


def _sitemap_entries(site: Site, paths: list[str]) -> list[dict]:
    """Every HTML page but the 404, with the post's last change where known."""
    modified = {p.path + "index.html": (p.updated or p.date) for p in site.posts}
    newest = site.posts[0].date if site.posts else None
    return [{"url": site.absolute(path.removesuffix("index.html")), "lastmod": modified.get(path, newest)}
            for path in sorted(paths) if path.endswith("index.html")]
