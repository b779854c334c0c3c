"""One message on its own: DKIM-signed when [dkim] is set up, handed over on a connection of its own, which is
then closed. The subscription service's emails and `send --test-to` go this way; a campaign keeps each
connection open for many messages instead (campaign.py)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from ..config import Config
from ..mail.dkim import load_signer
from .transports import Transport


def single_sender(config: Config, connect: Callable[[], Transport]) -> Callable[[EmailMessage], str]:
    """A function that signs and delivers one message and returns the server's reply. The DKIM key is loaded
    here, once, so a broken [dkim] section fails before the first message rather than with it."""
    signer = load_signer(config)

    def send(msg: EmailMessage) -> str:
        transport = connect()
        try:
            return transport.send(signer.sign(msg) if signer else msg)
        finally:
            transport.close()
    return send
