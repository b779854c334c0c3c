"""A post's id written into its front matter: one line added, every other byte kept, atomically, only into the
file as it was read, and a clear reason when it cannot be written."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.content.post_ids import POST_ID, new_post_id, with_id, write_id
from publisher.content.posts import decode_post, parse_post
from publisher.errors import ContentError

from ..fixtures_files import read_only
from ..fixtures_site import post_text

POST_ID_A = "3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f"


def parser(shown: Path):
    return lambda raw: parse_post(shown, decode_post(shown, raw), "https://example.com", ZoneInfo("UTC")).post


@pytest.mark.parametrize("raw, expected", [
    (b"---\ntitle: A\ndate: 2024-01-01\n---\nBody\n",
     b"---\ntitle: A\ndate: 2024-01-01\nid: X\n---\nBody\n"),
    (b"---\r\ntitle: A\r\ndate: 2024-01-01\r\n---\r\n\r\nBody --- not the end\r\n",
     b"---\r\ntitle: A\r\ndate: 2024-01-01\r\nid: X\r\n---\r\n\r\nBody --- not the end\r\n"),
    ("\ufeff---\nsummary: |\n  Caf\u00e9\n  ---ish\n---  \n---\n".encode(),
     "\ufeff---\nsummary: |\n  Caf\u00e9\n  ---ish\nid: X\n---  \n---\n".encode()),
])
def test_the_id_is_one_line_at_the_end_of_the_front_matter_and_nothing_else_changes(raw, expected):
    assert with_id(raw, "X") == expected


def test_new_ids_have_the_shape_posts_accept_and_differ():
    ids = {new_post_id() for _ in range(100)}
    assert len(ids) == 100 and all(POST_ID.match(post_id) for post_id in ids)


def test_the_file_is_replaced_keeping_its_mode_and_reads_as_the_same_post_with_its_id(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(post_text("A", "2024-01-01", tags="[x]"), encoding="utf-8")
    path.chmod(0o640)
    post = parser(path)(path.read_bytes())
    write_id(path, post, POST_ID_A, parser(path))
    assert parser(path)(path.read_bytes()).id == POST_ID_A
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and os.listdir(tmp_path) == ["a.md"]


def test_a_file_changed_since_it_was_read_is_left_as_it_is(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(post_text("A", "2024-01-01"), encoding="utf-8")
    post = parser(path)(path.read_bytes())
    path.write_text(post_text("A, edited", "2024-01-01"), encoding="utf-8")
    with pytest.raises(ContentError, match="changed while publishing, so its id was not written"):
        write_id(path, post, POST_ID_A, parser(path))
    assert "id:" not in path.read_text(encoding="utf-8")


def test_a_read_only_folder_is_a_clear_reason_with_the_line_to_add(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(post_text("A", "2024-01-01"), encoding="utf-8")
    post = parser(path)(path.read_bytes())
    with read_only(tmp_path), pytest.raises(ContentError) as caught:
        write_id(path, post, POST_ID_A, parser(path))
    assert "its id could not be written (" in str(caught.value)
    assert f"add the line 'id: {POST_ID_A}' to its front matter" in str(caught.value)
    assert "id:" not in path.read_text(encoding="utf-8") and os.listdir(tmp_path) == ["a.md"]


def test_a_front_matter_that_would_read_differently_with_the_id_is_left_alone(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: A\ndate: 2024-01-01\n...\n---\n\nBody.\n", encoding="utf-8")
    post = parser(path)(path.read_bytes())
    before = path.read_bytes()
    with pytest.raises(ContentError, match="would read differently with the id added"):
        write_id(path, post, POST_ID_A, parser(path))
    assert path.read_bytes() == before


def test_a_flow_list_over_two_lines_still_reads_the_same_with_the_id(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: A\ndate: 2024-01-01\ntags: [a,\n  b]\n---\n\nBody.\n", encoding="utf-8")
    write_id(path, parser(path)(path.read_bytes()), POST_ID_A, parser(path))
    assert parser(path)(path.read_bytes()).tags == ("a", "b")
    assert path.read_text(encoding="utf-8").endswith(f"  b]\nid: {POST_ID_A}\n---\n\nBody.\n")
