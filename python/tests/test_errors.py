"""Errors: raise and continue policies, exceptions carrying node and item, callbacks."""

import threading

import pytest

from hypernodes_c import NodeError, Pipeline, node


@node(output_name="y")
def fragile(x: int) -> int:
    if x % 5 == 3:
        raise ValueError(f"bad value {x}")
    return x * 10


@node(output_name="z")
def after(y: int) -> int:
    return y + 1


@node(output_name="w")
def independent(x: int) -> int:
    return -x


P = Pipeline(nodes=[fragile, after, independent])


def test_raise_reports_lowest_item_with_node_and_cause(engine):
    with pytest.raises(NodeError) as e:
        P.map(inputs={"x": list(range(20))}, map_over="x", engine=engine)
    err = e.value
    assert err.node == "fragile" and err.item == 3 and err.item_path == "3"
    assert "ValueError: bad value 3" in str(err)
    assert "test_errors.py" in err.message  # where it was raised
    if engine != "processes":  # the exception itself stays in the worker process there
        assert isinstance(err.__cause__, ValueError)


def test_continue_gives_nulls_and_error_records(engine):
    r = P.map(inputs={"x": list(range(10))}, map_over="x", engine=engine,
              error_policy="continue", return_format="result")
    d = r.to_pydict()
    assert d["y"] == [0, 10, 20, None, 40, 50, 60, 70, None, 90]
    assert d["z"] == [1, 11, 21, None, 41, 51, 61, 71, None, 91]
    assert d["w"] == [-i for i in range(10)]
    errs = r.errors
    assert [e["item"] for e in errs] == [3, 8]
    assert errs[0]["node"] == "fragile" and "bad value 3" in errs[0]["message"]
    assert r.stats["n_failed"] == 2


def test_pipeline_usable_after_failure(engine):
    with pytest.raises(NodeError):
        P.map(inputs={"x": [3]}, map_over="x", engine=engine)
    assert P.map(inputs={"x": [1]}, map_over="x", engine=engine)["z"] == [11]


def test_callbacks_fire_once_each(engine):
    lock = threading.Lock()
    seen = {"map_start": 0, "map_end": 0, "item_end": 0, "node_end": 0}

    def counter(name):
        def f(event):
            with lock:
                seen[name] += 1
        return f

    cbs = {f"on_{k}": counter(k) for k in seen}
    p = Pipeline(nodes=[after])
    p.map(inputs={"y": list(range(7))}, map_over="y", engine=engine, callbacks=cbs)
    assert seen["map_start"] == 1 and seen["map_end"] == 1
    assert seen["item_end"] == 7
    assert seen["node_end"] >= 1  # columnar fires per morsel, item engines per item


def test_callback_object_and_event_fields():
    events = []

    class Obs:
        def on_map_start(self, e):
            events.append(e)

    Pipeline(nodes=[after]).map(inputs={"y": [1, 2]}, map_over="y", callbacks=Obs())
    assert events[0]["event"] == "map_start" and events[0]["n_items"] == 2


def test_bad_callback_name():
    with pytest.raises(ValueError, match="unknown callback"):
        Pipeline(nodes=[after]).map(inputs={"y": [1]}, map_over="y",
                                    callbacks={"on_nothing": print})


def test_bad_input_type_is_a_type_error():
    with pytest.raises(TypeError, match="'x', row 1"):
        P.map(inputs={"x": [1, "two"]}, map_over="x")
