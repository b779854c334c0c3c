"""Emails compiled once and filled per recipient: the newsletter, plain text, MIME, DKIM, link tokens."""
