"""Getting newsletters to subscribers: which posts are due, campaigns, transports, the lock."""
