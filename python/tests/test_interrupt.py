"""Ctrl-C during a map: KeyboardInterrupt comes out soon, on every engine."""

import _thread
import os
import signal
import time

import pytest

from hypernodes_c import Pipeline, node


def spin(seconds):
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


@node(output_name="y")
def interrupt_at_five(x: int) -> int:
    if x == 5:
        _thread.interrupt_main()
    spin(0.002)
    return x


@pytest.mark.parametrize("policy", ["raise", "continue"])
def test_keyboard_interrupt_sequential(policy):
    p = Pipeline(nodes=[interrupt_at_five])
    t = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        p.map(inputs={"x": list(range(2000))}, map_over="x", error_policy=policy)
    assert time.perf_counter() - t < 2.0  # the whole map would take 4 s
    assert p.map(inputs={"x": [1]}, map_over="x") == {"y": [1]}


sent = []  # when sigint_at_ten sent the signal


@node(output_name="y")
def sigint_at_ten(x: int) -> int:
    if x == 10:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # let the kernel deliver it (to any thread) before going on
    spin(0.002)
    return x


@pytest.mark.parametrize("engine", ["threads", "columnar"])
@pytest.mark.parametrize("policy", ["raise", "continue"])
def test_keyboard_interrupt_from_a_worker_thread(engine, policy):
    p = Pipeline(nodes=[sigint_at_ten])
    sent.clear()
    with pytest.raises(KeyboardInterrupt):
        p.map(inputs={"x": list(range(2000))}, map_over="x", engine=engine,
              error_policy=policy)
    # Timed from the signal, not from the start: the GIL is not fair, so item 10
    # may come after hundreds of the other worker's items (the whole map takes 4 s).
    assert len(sent) == 1
    assert time.perf_counter() - sent[0] < 1.0
    assert p.map(inputs={"x": [1, 2]}, map_over="x", engine=engine) == {"y": [1, 2]}


@node(output_name="y")
def sigint_parent(x: int) -> int:
    if x == 3:
        os.kill(os.getppid(), signal.SIGINT)
    return x


def test_keyboard_interrupt_processes():
    p = Pipeline(nodes=[sigint_parent])
    with pytest.raises(KeyboardInterrupt):
        p.map(inputs={"x": list(range(50))}, map_over="x", engine="processes")
    assert p.map(inputs={"x": [1]}, map_over="x", engine="processes") == {"y": [1]}
