"""The pre-test check for the real mail servers speaks up when their tests cannot run, and fails CI then."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CHECK_SCRIPT = Path(__file__).resolve().parent / "mailserver_check.py"


def run_check_as_nobody(**env: str) -> subprocess.CompletedProcess:
    """The check run by an unprivileged user (`nobody`, when the tests run as root), with the system's Python."""
    as_nobody = ["/usr/sbin/runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*as_nobody, "/usr/bin/python3", str(CHECK_SCRIPT)], capture_output=True, text=True,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **env}, timeout=60)


def test_without_root_the_check_warns_loudly_and_fails_only_under_ci():
    done = run_check_as_nobody()
    assert done.returncode == 0 and done.stdout == ""
    assert "!!! postfix starts only as root" in done.stderr and "!!! dovecot starts only as root" in done.stderr
    assert "those tests will be SKIPPED" in done.stderr and "apt-get install" not in done.stderr
    under_ci = run_check_as_nobody(CI="true")
    assert under_ci.returncode == 1 and "this CI run FAILS" in under_ci.stderr
