"""How the command line words a count: "1 post", "2 posts", "1 delivery", "1,200 deliveries"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str = "") -> str:
    """The count with its noun in the singular for exactly one, else the plural (`nouns`, or the noun plus s)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
