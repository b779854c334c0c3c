"""Structured data: the business and each post as schema.org JSON-LD that parses as JSON-LD, uses only
schema.org terms, never says null, and cannot be broken out of by a title; og:image and twitter:card."""

import json
from pathlib import Path

from pyld import jsonld

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text
from .test_pages import HOSTILE, Collect

SCHEMA = "https://schema.org/"
TERMS = {line.strip() for line in (Path(__file__).parent / "schema_org_terms.txt").read_text().splitlines()
         if line.strip() and not line.startswith("#")}
LOCAL = """
locality = "York"
region = "North Yorkshire"
country = "GB"
image = "/images/david.jpg"
"""
HOURS = """
price_range = "£40-£60"
hours = ["Mo-Fr 09:00-18:00", "Sa 10:00-14:00"]
prices = ["Sports massage, 60 minutes: £50"]
"""


def offline_loader(url, options=None):
    """schema.org's context, as the vocabulary it stands for, without fetching it (tests never leave loopback)."""
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {"contextUrl": None, "documentUrl": url, "document": {"@context": {"@vocab": SCHEMA}}}


def expanded_terms(node) -> set[str]:
    """Every @type and property IRI in an expanded JSON-LD document."""
    found = set()
    if isinstance(node, list):
        for item in node:
            found |= expanded_terms(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type":
                found |= set(value)
            elif not key.startswith("@"):
                found.add(key)
            found |= expanded_terms(value)
    return found


def blocks(html: str) -> list[dict]:
    return [json.loads(script) for script in Collect(html).scripts if script.strip().startswith("{")]


def assert_schema_org(data: dict) -> None:
    expanded = jsonld.expand(data, {"documentLoader": offline_loader})
    terms = expanded_terms(expanded)
    assert terms and all(term.startswith(SCHEMA) for term in terms), terms
    assert {term.removeprefix(SCHEMA) for term in terms} <= TERMS
    assert "null" not in json.dumps(data)


def test_home_and_contact_describe_the_business_with_only_what_is_set(site_dir):
    site_dir.config(BASIC_TOML + LOCAL + BOOKING_TOML)
    (site_dir.root / "pages").mkdir()
    (site_dir.root / "pages" / "contact.md").write_text("---\ntitle: Contact\nlayout: contact\n---\nCall me.\n")
    site_dir.post("a.md", post_text())
    site_dir.run("build")
    for path in ("index.html", "contact/index.html"):
        [business] = blocks(site_dir.read(path))
        assert_schema_org(business)
        assert business["@type"] == "HealthAndBeautyBusiness" and business["telephone"] == "+447713250352"
        assert business["email"] == "david@massageinyork.co.uk" and business["url"] == "https://example.com/"
        assert business["address"]["addressLocality"] == "York" and business["areaServed"]["name"] == "York"
        assert "priceRange" not in business and "openingHours" not in business
    assert "Prices" not in site_dir.read("contact/index.html")
    site_dir.config(BASIC_TOML + LOCAL + BOOKING_TOML + HOURS)
    site_dir.run("build")
    [business] = blocks(site_dir.read("index.html"))
    assert_schema_org(business)
    assert business["priceRange"] == "£40-£60" and business["openingHours"][0] == "Mo-Fr 09:00-18:00"
    contact = site_dir.read("contact/index.html")
    assert "Monday to Friday, 09:00 to 18:00" in contact and "Sports massage, 60 minutes: £50" in contact


def test_a_post_is_a_blog_posting_whose_image_is_its_own_or_the_sites_never_null(site_dir):
    site_dir.post("plain.md", post_text("Plain", "2024-01-01"))
    site_dir.post("pic.md", post_text("Pictured", "2024-01-02", image="/images/x.png", image_alt="An x"))
    site_dir.run("build")
    plain = site_dir.read("posts/plain/index.html")
    [posting] = blocks(plain)
    assert_schema_org(posting)
    assert "image" not in posting and posting["author"]["name"] == "Ann Author"
    assert '<meta name="twitter:card" content="summary">' in plain
    [posting] = blocks(site_dir.read("posts/pic/index.html"))
    assert posting["image"] == "https://example.com/images/x.png"
    site_dir.config(BASIC_TOML + LOCAL + BOOKING_TOML)
    site_dir.run("build")
    plain = site_dir.read("posts/plain/index.html")
    assert blocks(plain)[0]["image"] == "https://example.com/images/david.jpg"
    page = Collect(plain)
    assert page.find("meta", property="og:image", content="https://example.com/images/david.jpg")
    assert page.find("meta", name="twitter:card", content="summary_large_image")
    assert Collect(site_dir.read("tags/index.html")).find("meta", property="og:image")


def test_no_title_or_setting_can_end_the_script_element(site_dir):
    site_dir.config(BASIC_TOML.replace('title = "Test Site"', f'title = {json.dumps(HOSTILE)}') + LOCAL
                    + BOOKING_TOML)
    site_dir.post("evil.md", post_text(json.dumps(HOSTILE), "2024-01-01", summary=json.dumps("</script><b>x")))
    site_dir.run("build")
    for path in ("index.html", "posts/evil/index.html"):
        html = site_dir.read(path)
        script = html.split('<script type="application/ld+json">')[1].split("</script>")[0]
        assert "<" not in script and ">" not in script
        data = json.loads(script)
        assert HOSTILE in (data.get("name"), data.get("headline"))
