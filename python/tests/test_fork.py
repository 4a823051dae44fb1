"""The processes engine forks a Python process: it must be safe and truly parallel."""

import faulthandler
import logging
import os
import threading
import time

import pytest

from hypernodes_c import Pipeline, node

log = logging.getLogger("hypernodes_c.test")


@node(output_name="pid")
def worker_pid(x: int) -> int:
    log.debug("item %d", x)  # takes the logging lock a busy parent thread holds often
    import json  # the import machinery works in the worker
    json.dumps({"x": x})
    return os.getpid()


def test_workers_are_other_processes_and_parallel():
    p = Pipeline(nodes=[worker_pid])
    pids = p.map(inputs={"x": list(range(400))}, map_over="x", engine="processes")["pid"]
    assert os.getpid() not in pids
    assert len(set(pids)) >= 2  # two workers on two cores took batches


def test_fork_while_other_python_threads_run_and_log():
    logging.basicConfig(level=logging.CRITICAL)
    stop = threading.Event()

    def busy():
        n = 0
        while not stop.is_set():
            log.debug("busy %d", n)  # holds the handler lock, and the GIL, over and over
            n += 1

    threads = [threading.Thread(target=busy) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        p = Pipeline(nodes=[worker_pid])
        for _ in range(5):
            out = p.map(inputs={"x": list(range(200))}, map_over="x", engine="processes")
            assert len(out["pid"]) == 200
    finally:
        stop.set()
        for t in threads:
            t.join()


@node(output_name="y")
def crashy(x: int) -> int:
    if x == 7:
        faulthandler.disable()  # the worker dies on purpose: no traceback dump
        os.abort()
    return x + 1


def test_crashing_python_node_fails_only_its_item():
    p = Pipeline(nodes=[crashy])
    r = p.map(inputs={"x": list(range(20))}, map_over="x", engine="processes",
              error_policy="continue", return_format="result")
    ys = r.to_pydict()["y"]
    assert ys[7] is None and ys[:7] == [i + 1 for i in range(7)] and ys[19] == 20
    [err] = r.errors
    assert err["item"] == 7 and "SIGABRT" in err["message"] and err["node"] == "crashy"


def test_parent_fine_after_fork():
    p = Pipeline(nodes=[crashy])
    p.map(inputs={"x": [1, 2]}, map_over="x", engine="processes")
    assert p.map(inputs={"x": [1, 2]}, map_over="x", engine="threads") == {"y": [2, 3]}
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()


@node(output_name="span")
def nap(x: int) -> list[float]:
    t0 = time.time()
    t = time.perf_counter()
    while time.perf_counter() - t < 0.004:
        pass
    return [float(os.getpid()), t0, time.time()]


def test_python_nodes_run_at_the_same_time_in_two_processes():
    """Items of two workers overlap in time: no lock is shared between them (timing-free)."""
    p = Pipeline(nodes=[nap])
    spans = p.map(inputs={"x": list(range(200))}, map_over="x", engine="processes")["span"]
    by_pid = {}
    for pid, a, b in spans:
        by_pid.setdefault(pid, []).append((a, b))
    assert len(by_pid) >= 2
    (p1, s1), (p2, s2) = list(by_pid.items())[:2]
    overlap = any(a1 < b2 and a2 < b1 for a1, b1 in s1 for a2, b2 in s2)
    assert overlap


@node(output_name="main")
def is_main(x: int) -> bool:
    return threading.current_thread() is threading.main_thread()


def test_after_fork_child_ran_also_when_mapping_from_another_thread():
    """PyOS_AfterFork_Child makes the forking thread the worker's main thread; the
    thread state it clears holds this thread's cached threads engine, which the
    worker must leave alone (its threads are not in the worker)."""
    p = Pipeline(nodes=[is_main])
    assert p.map(inputs={"x": [1, 2]}, map_over="x", engine="threads") == {"main": [False] * 2}
    got = []
    t = threading.Thread(target=lambda: got.append(
        p.map(inputs={"x": [1, 2, 3]}, map_over="x", engine="processes")))
    t.start()
    t.join()
    assert got == [{"main": [True, True, True]}]
