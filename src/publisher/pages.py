"""The site's HTML pages, sitemap and robots.txt, rendered from a Site: pure, returns {path: bytes}."""

from __future__ import annotations

import jinja2

from .content import Post
from .site import Site

Files = dict[str, bytes]
THEME_ASSETS = ("assets/style.css",)


def render_pages(site: Site, env: jinja2.Environment) -> Files:
    """Every page of the site, keyed by its path under the output folder."""
    files: Files = {}
    files.update(render_home(site, env))
    files.update(render_posts(site, env))
    files.update(render_tags(site, env))
    files["archive/index.html"] = _render(env, "archive.html", site, page=_page(site, "Archive", "archive/"),
                                          years=_by_year(site.posts))
    files["404.html"] = _render(env, "404.html", site, page=_page(site, "Page not found", "404.html"))
    files["sitemap.xml"] = _render(env, "sitemap.xml", site, pages=_sitemap_entries(site, files))
    files["robots.txt"] = f"User-agent: *\nAllow: /\nSitemap: {site.absolute('sitemap.xml')}\n".encode()
    for asset in THEME_ASSETS:
        files[asset] = env.get_template(asset).render(site=site).encode()
    return files


def render_home(site: Site, env: jinja2.Environment) -> Files:
    """The home page and its numbered continuation pages, newest posts first."""
    size = site.config.site.posts_per_page
    chunks = [site.posts[i:i + size] for i in range(0, len(site.posts), size)] or [()]
    files: Files = {}
    for number, posts in enumerate(chunks, start=1):
        path = _home_path(number)
        pager = {"number": number, "count": len(chunks),
                 "newer": _home_path(number - 1) if number > 1 else None,
                 "older": _home_path(number + 1) if number < len(chunks) else None}
        title = site.config.site.title if number == 1 else f"Page {number}"
        files[path + "index.html"] = _render(env, "index.html", site, page=_page(site, title, path),
                                             posts=posts, pager=pager)
    return files


def render_posts(site: Site, env: jinja2.Environment) -> Files:
    """One page per post, each with links to its neighbours."""
    template = env.get_template("post.html")
    files: Files = {}
    for i, post in enumerate(site.posts):
        newer = site.posts[i - 1] if i > 0 else None
        older = site.posts[i + 1] if i + 1 < len(site.posts) else None
        files[post.path + "index.html"] = render_post(site, template, post, newer, older)
    return files


def render_post(site: Site, template: jinja2.Template, post: Post, newer: Post | None, older: Post | None) -> bytes:
    page = _page(site, post.title, post.path, description=post.summary, kind="article", image=post.image)
    return template.render(site=site, config=site.config, page=page, post=post,
                           newer=newer, older=older).encode()


def render_tags(site: Site, env: jinja2.Environment) -> Files:
    """A page per tag listing its posts, and an index of all tags."""
    files: Files = {"tags/index.html": _render(env, "tags.html", site, page=_page(site, "Topics", "tags/"))}
    template = env.get_template("tag.html")
    for tag in site.tags:
        page = _page(site, f"Posts about {tag.name}", tag.path)
        files[tag.path + "index.html"] = template.render(site=site, config=site.config, page=page, tag=tag).encode()
    return files


def _render(env: jinja2.Environment, name: str, site: Site, **context) -> bytes:
    return env.get_template(name).render(site=site, config=site.config, **context).encode()


def _page(site: Site, title: str, path: str, description: str = "", kind: str = "website", image: str = "") -> dict:
    return {"title": title, "url": site.absolute(path), "path": path, "kind": kind, "image": image,
            "description": description or site.config.site.description}


def _home_path(number: int) -> str:
    return "" if number == 1 else f"page/{number}/"


def _by_year(posts: tuple[Post, ...]) -> list[tuple[int, list[Post]]]:
    years: dict[int, list[Post]] = {}
    for post in posts:
        years.setdefault(post.date.year, []).append(post)
    return list(years.items())


def _sitemap_entries(site: Site, files: Files) -> list[dict]:
    """Every HTML page but the 404, with the post's last change where known."""
    modified = {p.path + "index.html": (p.updated or p.date) for p in site.posts}
    newest = site.posts[0].date if site.posts else None
    return [{"url": site.absolute(path.removesuffix("index.html")), "lastmod": modified.get(path, newest)}
            for path in sorted(files) if path.endswith("index.html")]
