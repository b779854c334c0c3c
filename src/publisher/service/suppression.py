"""Keyed hashes of forgotten addresses, for the suppression list.

`publisher subscribers forget` erases a person (GDPR article 17) but must still keep a later import from
adding them back. The list therefore holds HMAC-SHA256 of the folded address keyed by PUBLISHER_SECRET_KEY:
it can tell whether a given address is listed, but nobody can read the addresses out of it, and without the
key nobody can even test a guess. After a key is rotated, the keys in PUBLISHER_OLD_SECRET_KEYS still
recognise the hashes made with them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from ..config import Secrets
from ..errors import ConfigError
from ..store import fold_email


def address_hash(key: str, email: str) -> str:
    """The hex HMAC-SHA256, under `key`, of the address folded ('Bo@EX.com' and 'bo@ex.com' hash alike)."""
    return hmac.new(key.encode("utf-8"), fold_email(email).encode("utf-8"), hashlib.sha256).hexdigest()


def current_key(secrets: Secrets) -> str:
    """The key new hashes are made with; a ConfigError naming PUBLISHER_SECRET_KEY when it is not set."""
    if not secrets.secret_key:
        raise ConfigError("PUBLISHER_SECRET_KEY is not set; the suppression list of forgotten addresses is kept as "
                          "hashes keyed by it. Set it in the environment to the same value `publish` and `serve` use")
    return secrets.secret_key


def hashes_under_every_key(secrets: Secrets) -> Callable[[str], tuple[str, ...]]:
    """A function giving an address's hashes under the current key and every old one: what a store checks
    against its suppression list. The key is required only when the function is called."""

    def hashes(email: str) -> tuple[str, ...]:
        keys = (current_key(secrets), *secrets.old_secret_keys)
        return tuple(address_hash(key, email) for key in keys)
    return hashes
