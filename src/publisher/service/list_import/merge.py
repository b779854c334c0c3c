"""Several files imported together (a Mailchimp .zip holds one per status): a mailbox listed in more than one
is imported once, from the file that gives it the stricter status, so that the order the files are written in
can never leave someone who left a later file's 'subscribed'. A mailbox with a bad row in any of them is
imported from none: that row may be the one that says they left."""

from __future__ import annotations

import dataclasses

from ...store import NewSubscriber, fold_email, strictness
from .reader import ParsedFile


def merge_files(files: list[ParsedFile]) -> list[ParsedFile]:
    """The files with each mailbox kept only where its status is strictest (the first such file on a tie);
    `in_other_files` counts the rows each file gave up. Addresses of bad rows are left out of every file."""
    held = {fold_email(problem.email) for parsed in files for problem in parsed.problems if problem.email}
    if held:
        files = [dataclasses.replace(parsed, subscribers=tuple(entry for entry in parsed.subscribers
                                                               if fold_email(entry.email) not in held))
                 for parsed in files]
    if len(files) < 2:
        return files  # one file has already kept each mailbox once
    keeper: dict[str, tuple[int, NewSubscriber]] = {}
    for index, parsed in enumerate(files):
        for entry in parsed.subscribers:
            key = fold_email(entry.email)
            if key not in keeper or strictness(entry.status) > strictness(keeper[key][1].status):
                keeper[key] = (index, entry)
    kept = [[] for _ in files]
    for index, entry in keeper.values():
        kept[index].append(entry)
    return [dataclasses.replace(parsed, subscribers=_in_order(parsed, mine),
                                in_other_files=len(parsed.subscribers) - len(mine))
            for parsed, mine in zip(files, kept)]


def _in_order(parsed: ParsedFile, mine: list[NewSubscriber]) -> tuple[NewSubscriber, ...]:
    wanted = {id(entry) for entry in mine}
    return tuple(entry for entry in parsed.subscribers if id(entry) in wanted)
