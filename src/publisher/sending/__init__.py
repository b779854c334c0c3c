"""Getting newsletters to subscribers: which posts are due, the publish run, campaigns, single messages, transports."""
