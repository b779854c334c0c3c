"""Find the Chromium the browser tests drive, and say before pytest runs whether they will run or be skipped.

`make test` runs this script first so a missing browser is announced loudly instead of hiding among skips.
It exits 0 either way, except under CI (`CI=true`), where `.ci/run` installs chromium, so a missing one is a fault.
The finder is also imported by `tests/fixtures_browser.py`, so both always agree on which browser is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

ENV_VAR = "PUBLISHER_CHROMIUM"
NAMES_ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEBIAN_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "apt-get install chromium"


def is_executable(path: str) -> bool:
    """True when `path` is a file this user may run."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_chromium(environ: Mapping[str, str] = os.environ) -> str | None:
    """The browser to drive: $PUBLISHER_CHROMIUM if set, else the first known name on PATH, else Debian's path.

    A PUBLISHER_CHROMIUM that is not executable gives None rather than a silent fallback to another browser.
    """
    chosen = environ.get(ENV_VAR)
    if chosen:
        return chosen if is_executable(chosen) else None
    search_path = environ.get("PATH", os.defpath)
    for name in NAMES_ON_PATH:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    return DEBIAN_CHROMIUM if is_executable(DEBIAN_CHROMIUM) else None


def missing_reason(environ: Mapping[str, str] = os.environ) -> str:
    """One line saying why no browser was found and how to get one; used as the pytest skip reason."""
    chosen = environ.get(ENV_VAR)
    if chosen:
        return f"no Chromium found: {ENV_VAR}={chosen} is not an executable file; fix it or unset it"
    return f"no Chromium found: {INSTALL_HINT}"


def describe(path: str) -> str:
    """`path` followed by the browser's own version line, or the bare path if it will not say."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return path
    version = done.stdout.strip()
    return f"{path} ({version})" if version else path


def missing_banner(environ: Mapping[str, str], under_ci: bool) -> str:
    """The loud multi-line warning printed when the browser tests cannot run."""
    bar = "!" * 78
    outcome = "this CI run FAILS (.ci/run installs chromium, so it should be here)" if under_ci else (
        "the browser tests will be SKIPPED")
    lines = [
        bar,
        f"!!! {missing_reason(environ)}",
        f"!!! Without a browser, {outcome}.",
        f"!!! Looked for ${ENV_VAR}, then {', '.join(NAMES_ON_PATH)} on PATH, then {DEBIAN_CHROMIUM}.",
        f"!!! Install it:  sudo {INSTALL_HINT}   (or run .ci/run, which installs it and runs make test)",
        f"!!! Or point {ENV_VAR} at a Chromium or Chrome executable.",
        bar,
    ]
    return "\n".join(lines)


def is_ci(environ: Mapping[str, str]) -> bool:
    """True under a CI runner, which sets CI=true."""
    return environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def main(environ: Mapping[str, str] = os.environ) -> int:
    """Print which browser the browser tests use, or the banner; the exit code is 1 only for a missing one under CI."""
    path = find_chromium(environ)
    if path:
        print(f"Browser tests will use {describe(path)}")
        return 0
    print(missing_banner(environ, is_ci(environ)), file=sys.stderr)
    return 1 if is_ci(environ) else 0


if __name__ == "__main__":
    sys.exit(main())
