"""Batch nodes with numpy on every engine; numpy, pandas and Arrow in and out."""

import ctypes

import numpy as np
import pandas as pd
import pytest

from hypernodes_c import Pipeline, node


@node(output_name="z", batch=True)
def normalize(x, mean: float, std: float) -> list[float]:
    assert isinstance(x, np.ndarray)
    return (x - mean) / std


@node(output_name="doubled", batch=True, output_types={"doubled": "int64"})
def double_list(v):
    return [int(a) * 2 for a in v]


def test_batch_numpy_on_every_engine(engine):
    x = np.linspace(0, 100, 1001)
    p = Pipeline(nodes=[normalize])
    out = p.map(inputs={"x": x, "mean": 50.0, "std": 10.0}, map_over="x", engine=engine,
                return_format="numpy")
    np.testing.assert_allclose(out["z"], (x - 50.0) / 10.0)


def test_batch_lists_back(engine):
    p = Pipeline(nodes=[double_list])
    assert p.map(inputs={"v": [1, 2, 3]}, map_over="v", engine=engine) == {"doubled": [2, 4, 6]}


def test_batch_input_is_zero_copy_view():
    seen = []

    @node(output_name="s", batch=True, output_types={"s": float})
    def look(x):
        seen.append((x.flags.writeable, x.base is not None))
        return x

    x = np.arange(10, dtype=np.float64)
    Pipeline(nodes=[look]).map(inputs={"x": x}, map_over="x", engine="columnar")
    assert seen and all(not w and has_base for w, has_base in seen)


def test_batch_wrong_length_fails():
    @node(output_name="s", batch=True, output_types={"s": "float64"})
    def short(x):
        return x[:-1]

    with pytest.raises(Exception, match="rows"):
        Pipeline(nodes=[short]).map(inputs={"x": np.ones(5)}, map_over="x", engine="columnar")


@node(output_name="y")
def inc(x: int) -> int:
    return x + 1


def test_inputs_from_numpy_and_pandas(engine):
    p = Pipeline(nodes=[inc])
    assert p.map(inputs={"x": np.arange(4)}, map_over="x", engine=engine) == {"y": [1, 2, 3, 4]}
    s = pd.Series([5, 6], name="x")
    assert p.map(inputs={"x": s}, map_over="x", engine=engine) == {"y": [6, 7]}


def test_results_as_numpy_pandas_rows():
    p = Pipeline(nodes=[inc])
    r = p.map(inputs={"x": list(range(5))}, map_over="x", return_format="result")
    a = r.column("y")
    assert a.dtype == np.int64 and list(a) == [1, 2, 3, 4, 5] and not a.flags.writeable
    df = p.map(inputs={"x": [1, 2]}, map_over="x", return_format="pandas")
    assert list(df["y"]) == [2, 3]
    for m in ("auto", "row", "column"):
        assert p.map(inputs={"x": [1, 2]}, map_over="x", return_format="rows",
                     materialize=m) == [{"y": 2}, {"y": 3}]


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p),
                        ("metadata", ctypes.c_char_p), ("flags", ctypes.c_int64),
                        ("n_children", ctypes.c_int64),
                        ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
                        ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p),
                        ("private_data", ctypes.c_void_p)]


class ArrowArray(ctypes.Structure):
    _fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64),
                ("offset", ctypes.c_int64), ("n_buffers", ctypes.c_int64),
                ("n_children", ctypes.c_int64), ("buffers", ctypes.c_void_p),
                ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p),
                ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class ArrowArrayStream(ctypes.Structure):
    pass


GetSchema = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream),
                             ctypes.POINTER(ArrowSchema))
GetNext = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream),
                           ctypes.POINTER(ArrowArray))
ArrowArrayStream._fields_ = [("get_schema", GetSchema), ("get_next", GetNext),
                             ("get_last_error", ctypes.c_void_p),
                             ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


def capsule_pointer(cap, name):
    f = ctypes.pythonapi.PyCapsule_GetPointer
    f.restype = ctypes.c_void_p
    f.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return f(cap, name)


def test_arrow_stream_capsule_read_by_a_consumer(engine):
    """Read the stream through the C Stream interface, as pyarrow or polars would."""
    p = Pipeline(nodes=[inc])
    r = p.map(inputs={"x": list(range(100))}, map_over="x", engine=engine,
              return_format="arrow")
    cap = r.__arrow_c_stream__()
    stream = ctypes.cast(capsule_pointer(cap, b"arrow_array_stream"),
                         ctypes.POINTER(ArrowArrayStream))
    schema = ArrowSchema()
    assert stream.contents.get_schema(stream, ctypes.byref(schema)) == 0
    assert schema.format == b"+s" and schema.n_children == 1
    assert schema.children[0].contents.name == b"y" and schema.children[0].contents.format == b"l"
    ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))(schema.release)(ctypes.byref(schema))
    rows = 0
    while True:
        arr = ArrowArray()
        assert stream.contents.get_next(stream, ctypes.byref(arr)) == 0
        if not arr.release:
            break
        rows += arr.length
        ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))(arr.release)(ctypes.byref(arr))
    assert rows == 100
    sc = r.__arrow_c_schema__()
    assert ctypes.cast(capsule_pointer(sc, b"arrow_schema"),
                       ctypes.POINTER(ArrowSchema)).contents.format == b"+s"


class StreamOnly:
    """An Arrow producer that speaks only the stream PyCapsule protocol."""

    def __init__(self, r):
        self.r = r

    def __arrow_c_stream__(self, requested_schema=None):
        return self.r.__arrow_c_stream__()


def test_arrow_capsule_as_input(engine):
    src = Pipeline(nodes=[inc]).map(inputs={"x": list(range(200))}, map_over="x",
                                    engine="columnar", return_format="result")

    @node(output_name="z")
    def twice(y: int) -> int:
        return 2 * y

    out = Pipeline(nodes=[twice]).map(inputs={"y": StreamOnly(src)}, map_over="y",
                                      engine=engine)
    assert out == {"z": [2 * (i + 1) for i in range(200)]}


def test_list_column_as_a_matrix_without_copy():
    @node(output_name="v", output_types={"v": "list<float32>"})
    def vec(i: int):
        return np.full(4, i, dtype=np.float32)

    r = Pipeline(nodes=[vec]).map(inputs={"i": [1, 2, 3]}, map_over="i", return_format="result")
    m = r.column("v")
    assert m.shape == (3, 4) and m.dtype == np.float32 and not m.flags.writeable
    assert m[2].tolist() == [3.0] * 4


def test_batch_node_with_a_row_function(engine):
    calls = {"row": 0}

    def row(x: float) -> float:
        calls["row"] += 1
        return x + 1

    @node(output_name="y", batch=True, row=row, input_types={"x": float},
          output_types={"y": float})
    def plus_one(x):
        return x + 1

    out = Pipeline(nodes=[plus_one]).map(inputs={"x": [1.0, 2.0]}, map_over="x", engine=engine)
    assert out == {"y": [2.0, 3.0]}
    if engine in ("sequential", "threads"):
        assert calls["row"] == 2  # item engines call the row function
    if engine == "columnar":
        assert calls["row"] == 0
