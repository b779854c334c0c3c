"""A build plan: every file of the site as a `Job`, saying what the file is made from and how to render it.

A job's `depends` names everything the file is made from besides what every file shares (the code, the
config and the templates, summed up in the site's fingerprint): the posts it shows, by their fingerprints,
and any other value it prints. Two builds that give a job the same key give it the same bytes, which is what
lets a rebuild render only the files whose key changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the type: the posts module imports the Markdown and YAML libraries
    from ..content.posts import Post

PostPrint = Callable[["Post"], str]  # a post's fingerprint: changes whenever anything about the post changes


@dataclass(frozen=True)
class Job:
    path: str
    depends: tuple
    render: Callable[[], bytes]


def job_key(site_print: str, job: Job) -> str:
    """The job's key: a digest of the site's fingerprint, its path and what it depends on."""
    text = f"{site_print}\0{job.path}\0{job.depends!r}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

