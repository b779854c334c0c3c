"""A throwaway PostgreSQL cluster for the tests and the benchmark, and the check `make test` runs first.

The cluster is Debian's `postgresql` server binaries run by hand: `initdb` into a temporary folder, `postgres`
listening on a free port of 127.0.0.1 (its socket in the same folder), password authentication over TCP. initdb
refuses to run as root, so under root the folder is given to the `postgres` user and the binaries run as it.
Run as a script, this says before pytest starts whether the PostgreSQL tests will run or be skipped; like
tests/browser_check.py, it exits 0 either way except under CI (`CI=true`), where `.ci/run` installs the server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

BIN_FOLDERS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
INSTALL_HINT = "apt-get install postgresql"
USER = "publisher"
PASSWORD = "cluster-password-for-tests"  # the throwaway cluster's own; it never leaves the temporary folder


def find_bin() -> Path | None:
    """The folder holding initdb and postgres: Debian's versioned folder, else wherever PATH finds initdb."""
    for folder in BIN_FOLDERS:
        if os.access(Path(folder) / "initdb", os.X_OK):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def missing_reason() -> str:
    """One line saying why PostgreSQL cannot be started and how to fix it; the pytest skip reason."""
    if find_bin() is None:
        return f"no PostgreSQL server binaries (initdb, postgres) found: {INSTALL_HINT}"
    if os.geteuid() == 0 and not _has_user("postgres"):
        return "running as root and there is no 'postgres' user to run the server as: " + INSTALL_HINT
    return ""


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One running cluster in a temporary folder: `url(database)` to reach it, `stop()` to remove it all."""

    def __init__(self, settings: Mapping[str, str] | None = None):
        self.bin = find_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="publisher-pg-"))
        self.port = free_port()
        self._settings = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                          "unix_socket_directories": str(self.folder), "max_connections": "200", **(settings or {})}
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _run(self, *args: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def _start(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        data = self.folder / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        options = " ".join(f"-c {name}={value}" for name, value in self._settings.items())
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")

    def url(self, database: str = "postgres") -> str:
        """The URL of `database`, without the password (give it as PGPASSWORD or PUBLISHER_DATABASE_PASSWORD)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement as the cluster's superuser (over its socket, which needs no password)."""
        import psycopg
        with psycopg.connect(host=str(self.folder), port=self.port, user=USER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def missing_banner(under_ci: bool) -> str:
    bar = "!" * 78
    outcome = ("this CI run FAILS (.ci/run installs postgresql, so it should be here)" if under_ci
               else "the PostgreSQL store tests will be SKIPPED")
    return "\n".join([bar, f"!!! {missing_reason()}", f"!!! Without it, {outcome}.",
                      f"!!! Install it:  sudo {INSTALL_HINT}   (or run .ci/run, which installs it and runs make test)",
                      bar])


def main(environ: Mapping[str, str] = os.environ) -> int:
    """Print which PostgreSQL the tests use, or the banner; exit 1 only when it is missing under CI."""
    if not missing_reason():
        print(f"PostgreSQL tests will use {find_bin()}")
        return 0
    print(missing_banner(environ.get("CI", "").strip().lower() in {"true", "1", "yes"}), file=sys.stderr)
    return 1 if environ.get("CI", "").strip().lower() in {"true", "1", "yes"} else 0


if __name__ == "__main__":
    sys.exit(main())
