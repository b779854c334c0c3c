"""The email compile step: a template rendered with placeholders, compiled from MJML once, its CSS inlined,
prepared into a frame that personalises by substitution; MJML the compiler refuses names the file and line."""

import datetime as dt
import email
import email.policy
from pathlib import Path

import mjml
import pytest
from markupsafe import Markup

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.errors import ContentError
from publisher.mail.compose import Draft, compile_email, compile_mjml

from ..fixtures_site import BASIC_TOML

NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
TEMPLATE = """\
{% set email_css %}.note p { color: #123456; }{% endset %}
<mjml>
  <mj-body>
    <mj-section><mj-column>
      <mj-text css-class="note"><p>{{ slots.greeting }} {{ topic }}</p></mj-text>
      <mj-button href="{{ slots.link }}">Open</mj-button>
    </mj-column></mj-section>
    {{ body }}
  </mj-body>
</mjml>
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + '\n[newsletter]\nfrom_address = "news@example.com"\n', encoding="utf-8")
    return load_config(path, env={})


@pytest.fixture
def templates(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "note.mjml").write_text(TEMPLATE, encoding="utf-8")
    return folder


def draft(topic="<b>Backs</b>", body="", content_source=None) -> Draft:
    return Draft("note.mjml", "A note", {"topic": topic, "body": body},
                 lambda marks: f"{marks['greeting']}\nOpen: {marks['link']}\n", ("greeting", "link"),
                 key=repr(topic), css_variable="email_css", content_source=content_source)


def message(compiled, name="Ann", link="https://example.com/x?a=1&b=2"):
    values = {"greeting": f"Hi {name},", "link": link}
    msg = compiled.frame.message("ann@example.com", name, values, now=NOW, message_id="<1@example.com>")
    return email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)


def test_placeholders_are_filled_per_recipient_and_the_authors_text_is_escaped(config, templates):
    msg = message(compile_email(draft(), config, make_env(templates)), name="<i>Ann</i>")
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    assert "Hi &lt;i&gt;Ann&lt;/i&gt;, &lt;b&gt;Backs&lt;/b&gt;" in html and "<i>Ann" not in html
    assert 'href="https://example.com/x?a=1&amp;b=2"' in html
    assert text.splitlines() == ["Hi <i>Ann</i>,", "Open: https://example.com/x?a=1&b=2"]
    assert "__publisher_" not in html + text
    assert msg["Subject"] == "A note" and msg["To"].addresses[0].addr_spec == "ann@example.com"


def test_the_templates_css_is_inlined(config, templates):
    html = compile_email(draft(), config, make_env(templates)).html
    assert 'style="color: #123456;"' in html.split("Backs", 1)[0].rsplit("<p", 1)[1]


def test_mjml_is_compiled_once_and_never_while_personalising(config, templates, monkeypatch):
    calls = []
    compiled = compile_email(draft(), config, make_env(templates),
                             mjml_to_html=lambda source: calls.append(source) or compile_mjml(source))
    monkeypatch.setattr(mjml, "mjml2html", lambda *a, **k: pytest.fail("MJML compiled while personalising"))
    for name in ("Ann", "Bob", "Cy"):
        assert f"Hi {name}," in message(compiled, name=name).get_body(("html",)).get_content()
    assert len(calls) == 1


def test_mjml_the_compiler_refuses_names_the_template_file_and_line(config, templates):
    (templates / "note.mjml").write_text(TEMPLATE.replace("    {{ body }}", '    <mj-include path="x.mjml" />'),
                                         encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        compile_email(draft(), config, make_env(templates))
    assert (caught.value.path, caught.value.line) == (Path("templates/note.mjml"), 8)
    assert "unable to load included template" in caught.value.message


def test_a_mistake_in_a_layout_the_template_extends_names_the_layout(config, templates):
    (templates / "_layout.mjml").write_text(
        TEMPLATE.replace("    {{ body }}", "    {% block extra %}{% endblock %}\n    <mj-include path=\"x.mjml\" />"),
        encoding="utf-8")
    (templates / "note.mjml").write_text('{% extends "_layout.mjml" %}\n', encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        compile_email(draft(), config, make_env(templates))
    assert (caught.value.path, caught.value.line) == (Path("templates/_layout.mjml"), 9)


def test_mjml_broken_by_a_posts_raw_html_names_the_post(config, templates):
    broken = Markup("<mj-section><mj-column><mj-text><p>An <b>unclosed tag</p></mj-text></mj-column></mj-section>")
    with pytest.raises(ContentError) as caught:
        compile_email(draft(body=broken, content_source=Path("posts/a.md")), config, make_env(templates))
    assert caught.value.path == Path("posts/a.md")
    assert "could not be compiled from note.mjml" in caught.value.message
    assert "any raw HTML in the post" in caught.value.message
