"""map_parallel: the same results in the same order as a plain loop, on every core when it is safe to fork."""

from __future__ import annotations

import os
import threading
import time

import pytest

from publisher.parallel import map_parallel, worker_count


def pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def slow_pid_and_square(n: int) -> tuple[int, int]:
    time.sleep(0.002)
    return pid_and_square(n)


def test_results_come_back_in_order_from_every_core():
    results = map_parallel(slow_pid_and_square, list(range(300)))
    assert [square for _, square in results] == [n * n for n in range(300)]
    pids = {pid for pid, _ in results}
    assert len(pids) == worker_count() and os.getpid() in pids


def test_a_failure_in_a_worker_is_raised_here():
    def fail_on_seven(n: int) -> int:
        if n == 7:
            raise ValueError("seven")
        return n
    with pytest.raises(ValueError, match="seven"):
        map_parallel(fail_on_seven, list(range(200)))


def test_with_another_thread_running_nothing_is_forked():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        results = map_parallel(pid_and_square, list(range(200)))
    finally:
        stop.set()
        thread.join()
    assert {pid for pid, _ in results} == {os.getpid()}
    assert [square for _, square in results] == [n * n for n in range(200)]


def test_a_few_items_are_done_here():
    assert map_parallel(pid_and_square, [1, 2, 3]) == [(os.getpid(), 1), (os.getpid(), 4), (os.getpid(), 9)]
