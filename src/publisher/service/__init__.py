"""The subscription web service: its rules, its emails, subscriber lists as CSV."""
