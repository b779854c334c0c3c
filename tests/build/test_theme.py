"""The theme: a template's mistake, wherever it is rendered, named by its file and line."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from publisher.build.theme import make_env, render_guarded
from publisher.errors import ConfigError
from publisher.parallel import map_parallel, worker_count


def test_a_template_failing_in_a_worker_process_is_named_by_its_file_and_line(tmp_path: Path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>\n{{ check() }}\n</p>\n")
    env = make_env(tmp_path / "templates")
    here, forks = os.getpid(), worker_count() > 1

    def check() -> str:
        time.sleep(0.002)
        return str(1 / 0) if os.getpid() != here or not forks else ""  # only in a worker, where there are any

    def render() -> bytes:
        return env.get_template("page.html").render(check=check).encode()

    jobs = [functools.partial(render_guarded, render, tmp_path) for _ in range(200)]
    with pytest.raises(ConfigError) as caught:
        map_parallel(_call, jobs)
    assert str(caught.value) == "templates/page.html:2: template error: ZeroDivisionError: division by zero"


def _call(job) -> bytes:
    return job()
