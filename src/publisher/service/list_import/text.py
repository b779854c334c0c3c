"""From a file's bytes to numbered rows: the encodings and separators spreadsheets and services write, and the
one rule that keeps a quote left open from swallowing rows unseen.

Excel saves "Unicode text" as UTF-16 with a byte order mark and "CSV UTF-8" with a UTF-8 one; both are read, as
is plain UTF-8. The separator (comma, semicolon or tab) is judged by the header line. A field may run over
several lines (Mailchimp's NOTES column does) only when the row still has as many fields as the header and the
line break sits in a column the import does not read; otherwise the row is refused at the line it starts on,
because the lines after an unclosed quote cannot be trusted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from ...errors import ContentError

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Row:
    line: int  # the line the row starts on
    cells: list[str]
    end: int = 0  # the line it ends on, when it runs over several

    @property
    def spans_lines(self) -> bool:
        return self.end > self.line


def decode(raw: bytes, source: str) -> str:
    """The file's text without any byte order mark, or a ContentError naming the first line that is not text."""
    encoding = "utf-16" if raw.startswith(_UTF16_BOMS) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError("not UTF-8 (or UTF-16) text; save the file as 'CSV UTF-8' and import it again",
                           source, line) from None


def read_rows(text: str, source: str, separator: str) -> Iterator[Row]:
    """Every row with the line it starts on, blank rows left out, one at a time (a list of 100,000 rows is
    read without holding them all); a ContentError for a field longer than any name or address (a quote
    opened and never closed)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield Row(start, cells, reader.line_num)
            start = reader.line_num + 1
    except csv.Error:
        raise ContentError(f"a field is longer than {csv.field_size_limit():,} characters, longer than any "
                           "name or address; close the quote opened on this line and import again",
                           source, start) from None


def delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheets write, judged by the first line."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count)


def check_row_shape(row: Row, width: int, read_columns: Collection[int], separator: str, source: str) -> None:
    """Refuse a row that runs over several lines unless it has the header's width and its line breaks are all
    in columns the import ignores (a note, say), none of whose lines looks like a row of the file (as many
    separators as a row has): anything else is a quote left open, swallowing the rows after it."""
    if not row.spans_lines:
        return
    broken = {i for i, cell in enumerate(row.cells) if "\n" in cell or "\r" in cell}
    swallowed = any(line.count(separator) >= max(width - 1, 1)
                    for i in broken for line in row.cells[i].splitlines()[1:])
    if len(row.cells) == width and not broken & set(read_columns) and not swallowed:
        return
    raise ContentError(f"a quoted field starts on this line and runs on to line {row.end}, reading those lines as "
                       "one row; close the quote on this line (or remove the line break inside it) and import "
                       "again", source, row.line)
