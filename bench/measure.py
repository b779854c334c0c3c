"""Timing a command and its peak memory: wall time, and the memory of its whole process tree sampled often.

Peak memory is the largest sum of proportional set size (PSS: shared pages split between the processes
sharing them) over the command and all its children, sampled every 10 ms from /proc. A process that
forks workers is therefore not under-counted, and pages shared after fork are not counted twice.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.01


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def run(argv: list[str], cwd: Path | None = None, env: dict | None = None, sample: bool = True) -> Run:
    """Run `argv` to completion, returning its wall time and peak memory (MB) with its output.

    Reading the memory of a big process tree every 10 ms costs CPU too, so timings meant to be compared are
    taken with `sample=False` (peak memory is then 0) and the memory in a run of its own.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = _Sampler(proc.pid)
    if sample:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if sample:
        sampler.stop()
    return Run(seconds, sampler.peak_kb / 1024, proc.returncode, out.decode(errors="replace"),
               err.decode(errors="replace"))


def checked(argv: list[str], cwd: Path | None = None, env: dict | None = None, sample: bool = True) -> Run:
    result = run(argv, cwd, env, sample)
    if result.returncode:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result


class _Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, tree_pss_kb(self.pid))
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree_pss_kb(pid: int) -> int:
    """Sum of PSS (kB) of `pid` and its descendants; 0 once it has exited."""
    return sum(_pss_kb(p) for p in _tree(pid))


def _tree(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except OSError:
                continue
            frontier.extend(int(c) for c in children)
    return found


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def summary(values: list[float]) -> dict:
    """Median, min and max of a list of measurements, and the measurements themselves."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def drop_tree(path: Path) -> None:
    """Remove a folder (outside any timing) and let the disk settle, so one run does not slow the next."""
    subprocess.run(["rm", "-rf", str(path)], check=True)
    os.sync()


def publisher() -> list[str]:
    """The installed `publisher` command beside this Python (or `python -m publisher`)."""
    script = Path(sys.executable).with_name("publisher")
    return [str(script)] if script.exists() else [sys.executable, "-m", "publisher"]
