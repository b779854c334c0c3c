"""The bounce mailbox, read from a Maildir folder or over IMAP: list its messages (never reading one too large
to be a report), read one, and move one into a folder of its own. Nothing here deletes a message.

A Maildir's folders are Maildir++ subfolders (`.Processed`, `.Ignored`), which mail clients and IMAP servers
(Dovecot, Courier) show as folders; over IMAP they are `publisher/processed` and `publisher/ignored`, in the
server's own hierarchy separator. Plain IMAP is allowed only to this machine, as for SMTP.
"""

from __future__ import annotations

import imaplib
import mailbox
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..errors import ConfigError, InboxError
from ..sending.transports import is_loopback

PROCESSED, IGNORED = "processed", "ignored"
FETCH_BATCH = 200


@dataclass(frozen=True)
class Item:
    """One message in the mailbox: its key there (a Maildir file's path below the folder, an IMAP UID), its size
    in bytes, and how to name it to the author."""

    key: str
    size: int
    label: str


class Mailbox(Protocol):
    """A mailbox `publisher inbox` reads: list, read, and move into one of its own folders."""

    def items(self) -> list[Item]: ...

    def read(self, item: Item) -> bytes: ...

    def move(self, item: Item, folder: str) -> None: ...

    def close(self) -> None: ...


class MaildirBox:
    """A Maildir folder on this machine (new/ and cur/); moves are renames, so a message is never lost."""

    def __init__(self, path: Path):
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise ConfigError(f"inbox.maildir: {path} is not a Maildir (it needs cur/ and new/ folders); point it "
                              "at the folder your mail server delivers the bounce address to")
        self.path = path

    def items(self) -> list[Item]:
        found = []
        for sub in ("new", "cur"):
            for entry in sorted(os.scandir(self.path / sub), key=lambda e: e.name):
                if entry.is_file() and not entry.name.startswith("."):
                    found.append(Item(f"{sub}/{entry.name}", entry.stat().st_size, f"{sub}/{entry.name}"))
        return found

    def read(self, item: Item) -> bytes:
        """The message's bytes; b'' when it is gone (another run moved it meanwhile)."""
        try:
            return (self.path / item.key).read_bytes()
        except FileNotFoundError:
            return b""

    def move(self, item: Item, folder: str) -> None:
        """Rename the file into the Maildir++ subfolder `.Processed` or `.Ignored` (made if missing), seen."""
        target = self.path / f".{folder.capitalize()}"
        if not target.is_dir():
            mailbox.Maildir(self.path, create=False).add_folder(folder.capitalize())
        name = item.key.partition("/")[2]
        try:
            os.rename(self.path / item.key, target / "cur" / (name if ":2," in name else f"{name}:2,S"))
        except FileNotFoundError:
            return  # another run moved it meanwhile

    def close(self) -> None:
        """Nothing to close: every file is read and closed at once."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the mailbox is: from `imaps://user@host:993/INBOX` and PUBLISHER_IMAP_PASSWORD."""

    host: str
    port: int
    tls: bool
    username: str
    folder: str
    password: str = field(default="", repr=False)
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{'imaps' if self.tls else 'imap'}://{self.username}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str, password: str, timeout: float = 30.0) -> ImapSettings:
    """The settings in an [inbox] imap_url; ConfigError for plain IMAP to another machine or a missing password."""
    parts = urlsplit(url)
    tls = parts.scheme == "imaps"
    settings = ImapSettings(host=parts.hostname or "", port=parts.port or (993 if tls else 143), tls=tls,
                            username=unquote(parts.username or ""), folder=unquote(parts.path.lstrip("/")) or "INBOX",
                            password=password, timeout=timeout)
    if not tls and not is_loopback(settings.host):
        raise ConfigError(f"inbox.imap_url: plain imap:// would send the password unencrypted to {settings.host}; "
                          "use imaps://")
    if not settings.username or not password:
        raise ConfigError("inbox.imap_url: name the user (imaps://user@host/INBOX) and set PUBLISHER_IMAP_PASSWORD")
    return settings


class ImapBox:
    """A folder on an IMAP server, over TLS (or plain to this machine). Reading never marks a message seen;
    moving uses MOVE where the server has it, else copy, flag deleted and expunge that one message."""

    def __init__(self, settings: ImapSettings, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.where = settings.where
        with imap_errors(settings.where):
            self._client = IMAPClient(settings.host, settings.port, ssl=settings.tls, timeout=settings.timeout,
                                      ssl_context=ssl_context or ssl.create_default_context())
            try:
                self._client.login(settings.username, settings.password)
                self._client.select_folder(settings.folder)
                self._separator = self._client.list_folders("", "")[0][1] or b"/"
            except BaseException:
                self._client.shutdown()
                raise

    def items(self) -> list[Item]:
        with imap_errors(self.where):
            uids = self._client.search("ALL")
            sizes: dict[int, int] = {}
            for start in range(0, len(uids), FETCH_BATCH):
                fetched = self._client.fetch(uids[start:start + FETCH_BATCH], ["RFC822.SIZE"])
                sizes.update({uid: data[b"RFC822.SIZE"] for uid, data in fetched.items()})
        return [Item(str(uid), size, f"{self.settings.folder} UID {uid}") for uid, size in sorted(sizes.items())]

    def read(self, item: Item) -> bytes:
        with imap_errors(self.where):
            fetched = self._client.fetch([int(item.key)], ["BODY.PEEK[]"])
        return fetched.get(int(item.key), {}).get(b"BODY[]", b"")

    def move(self, item: Item, folder: str) -> None:
        name = self._folder(folder)
        with imap_errors(self.where):
            if not self._client.folder_exists(name):
                self._client.create_folder(name)
            if self._client.has_capability("MOVE"):
                self._client.move([int(item.key)], name)
                return
            self._client.copy([int(item.key)], name)
            self._client.delete_messages([int(item.key)])
            if self._client.has_capability("UIDPLUS"):
                self._client.uid_expunge([int(item.key)])

    def close(self) -> None:
        try:
            self._client.logout()
        except (OSError, IMAPClientError, imaplib.IMAP4.error):
            self._client.shutdown()

    def _folder(self, folder: str) -> str:
        separator = self._separator.decode() if isinstance(self._separator, bytes) else self._separator
        return f"publisher{separator}{folder}"


@contextmanager
def imap_errors(where: str) -> Iterator[None]:
    """What can go wrong talking to the IMAP server, as one InboxError line that never holds the password."""
    try:
        yield
    except LoginError:
        raise InboxError(f"{where}: login refused; check the user in inbox.imap_url and PUBLISHER_IMAP_PASSWORD") \
            from None
    except ssl.SSLCertVerificationError as exc:
        raise InboxError(f"{where}: the server's TLS certificate is not trusted ({exc.verify_message})") from None
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise InboxError(f"{where}: {_reason(exc)}; what was done so far is kept, and running `publisher inbox` "
                         "again finishes the job") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"the connection failed ({text or type(exc).__name__})"


def open_mailbox(maildir: Path | None, imap: ImapSettings | None) -> Mailbox:
    """The configured mailbox, opened; ConfigError when neither is set."""
    if imap is not None:
        return ImapBox(imap)
    if maildir is not None:
        return MaildirBox(maildir)
    raise ConfigError("[inbox] is not set up: set maildir = \"…\" (a Maildir folder the bounce address is "
                      "delivered to) or imap_url = \"imaps://user@host/INBOX\" under [inbox] in publisher.toml")
