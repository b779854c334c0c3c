"""Pages in pages/: read with the posts' rules, each mistake one line naming the file, the line and the fix."""

import pytest

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text


def page_text(title: str = "About", body: str = "I am David.", **meta) -> str:
    lines = [f"title: {title}"] + [f"{k}: {v}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


def write_page(site_dir, name: str, text: str) -> None:
    folder = site_dir.root / "pages"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_a_page_is_built_at_its_slug_with_the_theme_and_in_the_sitemap(site_dir):
    write_page(site_dir, "about.md", page_text(body="I am **David**, a [therapist](/posts/).", summary="Who I am."))
    assert site_dir.run("build").exit_code == 0
    html = site_dir.read("about/index.html")
    assert "<h1 class=\"page-title\">About</h1>" in html and "<strong>David</strong>" in html
    assert 'href="https://example.com/assets/style.css"' in html
    assert '<meta name="description" content="Who I am.">' in html
    assert "<loc>https://example.com/about/</loc>" in site_dir.read("sitemap.xml")


@pytest.mark.parametrize("name, text, message", [
    ("no-title.md", "---\nnav: 1\n---\nText\n", "pages/no-title.md:1: title: missing; add 'title: …'"),
    ("bad-nav.md", page_text(nav="first"), "pages/bad-nav.md:3: nav: expected a whole number"),
    ("bad-layout.md", page_text(layout="fancy"), "pages/bad-layout.md:3: layout: unknown layout 'fancy'; use one "
                                                 "of page, contact, booking"),
    ("bad-slug.md", page_text(slug="Not OK"), "pages/bad-slug.md:3: slug: 'Not OK' must be lower-case"),
    ("bad-yaml.md", "---\ntitle: [x\n---\n", "pages/bad-yaml.md:3: front matter is not valid YAML"),
    ("posts.md", page_text(), "pages/posts.md:1: slug 'posts' is also the address of the site's own /posts"),
    ("tags.md", page_text(), "pages/tags.md:1: slug 'tags' is also the address"),
    ("images.md", page_text(), "pages/images.md:1: slug 'images' is also the address"),
])
def test_a_bad_page_is_one_clear_line_and_nothing_is_built(site_dir, name, text, message):
    (site_dir.root / "static" / "images").mkdir(parents=True)
    (site_dir.root / "static" / "images" / "a.png").write_bytes(b"png")
    write_page(site_dir, name, text)
    result = site_dir.run("build")
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not site_dir.out.exists()


def test_two_pages_with_one_slug_are_refused(site_dir):
    write_page(site_dir, "a.md", page_text(slug="about"))
    write_page(site_dir, "about.md", page_text())
    result = site_dir.run("build")
    assert result.exit_code == 1 and "slug 'about' is already used by pages/a.md" in result.output


def test_an_unknown_key_is_a_warning_naming_its_line(site_dir):
    write_page(site_dir, "about.md", page_text(titel="x"))
    result = site_dir.run("build")
    assert result.exit_code == 0
    assert "pages/about.md:3: unknown front matter key 'titel' is ignored; did you mean 'title'?" in result.output


def test_navigation_follows_the_pages_nav_order_unless_the_config_names_it(site_dir):
    write_page(site_dir, "about.md", page_text("About me", nav=2))
    write_page(site_dir, "prices.md", page_text("Prices", nav=1))
    write_page(site_dir, "hidden.md", page_text("Hidden"))
    site_dir.run("build")
    nav = site_dir.read("index.html").split('<nav aria-label="Site">')[1].split("</nav>")[0]
    assert nav.index("Prices") < nav.index("About me") < nav.index("Articles") and "Hidden" not in nav
    site_dir.config(BASIC_TOML.replace('timezone = "Europe/London"', 'timezone = "Europe/London"\n'
                                       'nav = ["hidden", "articles"]') + BOOKING_TOML)
    site_dir.run("build")
    nav = site_dir.read("about/index.html").split('<nav aria-label="Site">')[1].split("</nav>")[0]
    assert "Hidden" in nav and "Articles" in nav and "About me" not in nav and "Prices" not in nav


def test_an_unknown_navigation_entry_is_an_error_naming_the_setting(site_dir):
    site_dir.config(BASIC_TOML + 'nav = ["abuot"]\n' + BOOKING_TOML)
    result = site_dir.run("build")
    assert result.exit_code == 1
    assert ("publisher.toml: site.nav: 'abuot' is neither a page in pages/ nor a built-in page; use one of "
            "articles, archive, topics") in result.output


def test_a_changed_page_is_rebuilt_and_an_unchanged_site_renders_nothing(site_dir):
    site_dir.post("a.md", post_text())  # (a site with no posts dates its feeds by the clock)
    write_page(site_dir, "about.md", page_text(body="First version."))
    site_dir.run("build")
    assert " 0 written)" in site_dir.run("build").output
    write_page(site_dir, "about.md", page_text(body="Second version."))
    site_dir.run("build")
    assert "Second version." in site_dir.read("about/index.html")
    (site_dir.root / "pages" / "about.md").unlink()
    site_dir.run("build")
    assert not (site_dir.out / "about").exists()


def test_check_reports_a_pages_link_to_nowhere_at_its_line(site_dir):
    site_dir.post("a.md", post_text(summary="A summary."))
    write_page(site_dir, "about.md", page_text(body="Intro.\n\nSee [prices](/prices/)."))
    result = site_dir.run("check")
    assert result.exit_code == 1
    assert "pages/about.md:7: error: the link to /prices/ points nowhere" in result.output
