"""Resources: stateful classes built once per worker, also in forked workers."""

import os

import pytest

from hypernodes_c import Pipeline, Resource, node, stateful


@stateful
class Model:
    def __init__(self, scale):
        self.scale = scale
        self.pid = os.getpid()

    def predict(self, x):
        return x * self.scale


@node(output_name="y")
def predict(x: float, model) -> float:
    return model.predict(x)


@node(output_name="pid")
def where(x: float, model) -> int:
    return model.pid


def test_resource_built_once_per_worker(engine):
    p = Pipeline(nodes=[predict])
    r = p.map(inputs={"x": [1.0, 2.0, 3.0] * 100, "model": Model(scale=2.0)}, map_over="x",
              engine=engine, return_format="result")
    assert r.to_pydict()["y"] == [2.0, 4.0, 6.0] * 100
    st = r.stats
    assert 1 <= st["resource_inits"] <= max(st["workers"], 1)
    assert st["resource_destroys"] in (st["resource_inits"], 0)


def test_resource_lives_in_the_worker_process():
    p = Pipeline(nodes=[where])
    pids = p.map(inputs={"x": [1.0] * 200, "model": Model(scale=1.0)}, map_over="x",
                 engine="processes")["pid"]
    assert os.getpid() not in pids


def test_resource_close_and_failure():
    closed = []

    class Conn:
        def close(self):
            closed.append(1)

    @node(output_name="ok")
    def use(x: int, conn) -> bool:
        return isinstance(conn, Conn)

    p = Pipeline(nodes=[use])
    assert p.map(inputs={"x": [1, 2], "conn": Resource(Conn)}, map_over="x")["ok"] == [True, True]
    assert closed == [1]

    def broken():
        raise RuntimeError("no connection")

    with pytest.raises(Exception, match="no connection"):
        p.map(inputs={"x": [1], "conn": Resource(broken)}, map_over="x")
