"""A minimal SMTP sink for the benchmark: accepts every message on 127.0.0.1 and only counts it.

It speaks just enough ESMTP (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for a client
to deliver, and parses pipelined commands, so that it costs far less per message than the sender.
With --record FILE it also counts messages per recipient and writes them as JSON when stopped
(SIGTERM or SIGINT), which is how the benchmark checks that a killed campaign lost nobody.

    python bench/smtp_sink.py --port 2525 --record counts.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import Counter
from pathlib import Path

EHLO_REPLY = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n"
END_OF_DATA = b"\r\n.\r\n"


class SinkProtocol(asyncio.Protocol):
    """One client connection: commands line by line, then the message up to the lone dot."""

    def __init__(self, stats: Counter, recipients: Counter | None):
        self.stats = stats
        self.recipients = recipients
        self.buffer = bytearray()
        self.in_data = False
        self.rcpts: list[bytes] = []

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = bytearray()
        while self.buffer:
            if self.in_data:
                end = self.buffer.find(END_OF_DATA)
                if end < 0:
                    break
                del self.buffer[: end + len(END_OF_DATA)]
                self._delivered()
                replies += b"250 2.0.0 queued\r\n"
                continue
            newline = self.buffer.find(b"\r\n")
            if newline < 0:
                break
            line = bytes(self.buffer[:newline])
            del self.buffer[: newline + 2]
            replies += self._command(line)
        if replies:
            self.transport.write(bytes(replies))

    def _command(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            return EHLO_REPLY
        if verb == b"MAIL":
            self.rcpts = []
            return b"250 2.1.0 ok\r\n"
        if verb == b"RCPT":
            self.rcpts.append(line.partition(b"<")[2].partition(b">")[0])
            return b"250 2.1.5 ok\r\n"
        if verb == b"DATA":
            self.in_data = True
            self.buffer[:0] = b"\r\n"  # lets a message with no body still end at CRLF.CRLF
            return b"354 go ahead\r\n"
        if verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
            return b""
        if verb == b"RSET":
            self.rcpts = []
        return b"250 ok\r\n"

    def _delivered(self) -> None:
        self.in_data = False
        self.stats["messages"] += 1
        if self.recipients is not None:
            self.recipients.update(r.decode("utf-8", "replace") for r in self.rcpts)
        self.rcpts = []


async def serve(port: int, record: Path | None, ready: Path | None) -> None:
    stats: Counter = Counter()
    recipients: Counter | None = Counter() if record else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(stats, recipients), "127.0.0.1", port, backlog=256)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready:
        ready.write_text(str(server.sockets[0].getsockname()[1]))
    await stop.wait()
    server.close()
    if record:
        record.write_text(json.dumps({"messages": stats["messages"], "recipients": recipients}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (written to --ready)")
    parser.add_argument("--record", type=Path, help="write per-recipient counts here when stopped")
    parser.add_argument("--ready", type=Path, help="write the listening port here once accepting")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.record, args.ready))


if __name__ == "__main__":
    main()
