"""Find the real mail servers the bounce tests start (Debian's Postfix and Dovecot), and say before pytest runs
whether those tests will run or be skipped.

`make test` runs this script first, so missing servers are announced loudly instead of hiding among skips. Both
servers start as root and drop to their own users, so the tests need root (as CI has) and the binaries that
`.ci/run` installs. It exits 0 either way, except under CI (`CI=true`), where a missing server is a fault.
The same checks are imported by `tests/fixtures_mailservers.py`, so both always agree.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

SERVERS = {"postfix": ("postfix", "/usr/sbin/postfix"), "dovecot": ("dovecot-imapd", "/usr/sbin/dovecot")}


def find_server(name: str) -> str | None:
    """The server's executable, if installed (on PATH or where Debian puts it)."""
    package, debian_path = SERVERS[name]
    return shutil.which(name) or (debian_path if os.access(debian_path, os.X_OK) else None)


def missing_reason(name: str) -> str:
    """Why the tests that start `name` cannot run here, with the fix; '' when they can."""
    package = SERVERS[name][0]
    if find_server(name) is None:
        return f"no {name} found: apt-get install {package}"
    if os.geteuid() != 0:
        return f"{name} starts only as root (it then drops to its own user): run the tests as root, as CI does"
    return ""


def banner(reasons: list[str], under_ci: bool) -> str:
    """The loud warning printed when the real-server tests cannot run, with each reason and its fix."""
    bar = "!" * 78
    outcome = "this CI run FAILS (.ci/run installs them and runs as root)" if under_ci else (
        "those tests will be SKIPPED")
    install = ["!!! Install them:  sudo apt-get install postfix dovecot-imapd   (or run .ci/run)"] if any(
        reason.startswith("no ") for reason in reasons) else []
    return "\n".join([bar, *(f"!!! {reason}" for reason in reasons),
                      f"!!! Without them, {outcome}: the real-server bounce and IMAP tests.", *install, bar])


def main(environ: Mapping[str, str] = os.environ) -> int:
    """Print which servers the bounce tests use, or the banner; exit 1 only for a missing one under CI."""
    reasons = [reason for reason in (missing_reason(name) for name in SERVERS) if reason]
    if not reasons:
        print(f"Mail server tests will use {', '.join(find_server(name) for name in SERVERS)}")
        return 0
    under_ci = environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
    print(banner(reasons, under_ci), file=sys.stderr)
    return 1 if under_ci else 0


if __name__ == "__main__":
    sys.exit(main())
