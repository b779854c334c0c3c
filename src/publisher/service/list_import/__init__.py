"""Importing a list that comes from another service: recognise the service from the export's header (or a
Mailchimp .zip as downloaded), map its statuses to ours, keep its consent times, and report per file.

Parsing is pure (bytes in, plain data out); the command line reads the files, parses every one before anything
is written, and hands each file's subscribers to the store.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from .archive import expand
from .merge import merge_files
from .reader import ParsedFile, RowProblem, parse_file

__all__ = ["ParsedFile", "RowProblem", "merge_files", "parse_export"]


def parse_export(name: str, raw: bytes, tz: ZoneInfo, status: str | None = None) -> list[ParsedFile]:
    """Every CSV in one named file (a .zip holds several), parsed; a ContentError for the first that cannot be."""
    return [parse_file(member, data, tz, status) for member, data in expand(name, raw)]
