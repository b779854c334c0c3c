"""Reading the times other services write: ISO 8601 with or without a zone ("2019-10-30T14:52:08.000Z"),
Mailchimp's "2019-05-03 10:00:00", or a bare date. A time without a zone is read in the site's time zone, and
the file says so once (see Clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass
class Clock:
    """Reads one file's times in `tz`, remembering whether any of them lacked a zone (for one warning)."""

    tz: ZoneInfo
    naive_seen: bool = field(default=False)

    def read(self, text: str, column: str) -> dt.datetime | None:
        """The moment `text` names, None when the cell is empty; ValueError naming the column otherwise."""
        text = text.strip()
        if not text:
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{column}: {text!r} is not a date and time; expected one like "
                             "2024-05-03 09:00:00 or 2024-05-03T09:00:00+00:00") from None
        if moment.tzinfo is None:
            self.naive_seen = True
            return moment.replace(tzinfo=self.tz)
        return moment
