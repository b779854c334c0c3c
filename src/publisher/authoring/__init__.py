"""The author's loop: live preview, the source watcher, check and feed validation."""
