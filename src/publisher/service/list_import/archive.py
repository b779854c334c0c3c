"""The files an import names, opened: a CSV as it is, and a .zip (Mailchimp's export, as downloaded) as the CSV
files inside it, each named `archive.zip:member.csv` so that every message says which one it means."""

from __future__ import annotations

import io
import zipfile

from ...errors import ContentError

MAX_MEMBER_BYTES = 512 * 1024 * 1024  # far beyond any list; a larger member is a damaged or hostile archive


def expand(name: str, raw: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of each CSV the file is or holds."""
    if not (name.lower().endswith(".zip") or raw.startswith(b"PK\x03\x04")):
        return [(name, raw)]
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return _members(name, archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise ContentError("not a .zip archive that can be read; download the export again", name) from None


def _members(name: str, archive: zipfile.ZipFile) -> list[tuple[str, bytes]]:
    infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    csvs = [i for i in infos if i.filename.lower().endswith(".csv")]
    if not csvs:
        held = ", ".join(i.filename for i in infos) or "nothing"
        raise ContentError(f"no CSV file inside (it holds {held}); import the export's .csv files or the "
                           "service's own .zip", name)
    for info in csvs:
        if info.file_size > MAX_MEMBER_BYTES:
            raise ContentError(f"{info.filename} unpacks to {info.file_size:,} bytes, more than any list; "
                               "unpack it yourself and import the CSV", name)
    return [(f"{name}:{info.filename}", archive.read(info)) for info in sorted(csvs, key=lambda i: i.filename)]
