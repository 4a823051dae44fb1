"""C nodes from a shared library, mixed with Python nodes, without the GIL."""

import math

import pytest

from hypernodes_c import NodeError, Pipeline, node


@node(output_name="x")
def parse(s: str) -> float:
    return float(s)


def test_load_and_mix(cnodes, engine):
    assert {"c_scale", "c_heavy", "c_words", "c_checked"} <= set(cnodes)
    scale = cnodes["c_scale"]
    assert scale.inputs == ("x",) and scale.outputs == ("scaled",)

    @node(output_name="label")
    def label(scaled: float) -> str:
        return f"{scaled:.1f}"

    p = Pipeline(nodes=[parse, scale, label])
    out = p.map(inputs={"s": ["1", "2"]}, map_over="s", engine=engine)
    assert out == {"x": [1.0, 2.0], "scaled": [2.5, 5.0], "label": ["2.5", "5.0"]}


def test_c_node_failure_names_node_and_item(cnodes, engine):
    p = Pipeline(nodes=[cnodes["c_checked"]])
    with pytest.raises(NodeError) as e:
        p.map(inputs={"v": [1, 2, -3, 4]}, map_over="v", engine=engine)
    assert e.value.node == "c_checked" and e.value.item == 2
    assert "negative: -3" in str(e.value)


def test_c_node_twice_under_two_names(cnodes):
    words = cnodes["c_words"]
    p = Pipeline(nodes=[words])
    assert p.run(inputs={"text": "a bc  d"}) == {"n_words": 3}
    with pytest.raises(Exception):
        Pipeline(nodes=[words, words])  # same name twice
    assert words.renamed("w2").name == "w2"


def test_heavy_c_node_on_threads(cnodes):
    p = Pipeline(nodes=[cnodes["c_heavy"]])
    xs = [float(i) for i in range(200)]
    seq = p.map(inputs={"x": xs}, map_over="x")["heavy"]
    thr = p.map(inputs={"x": xs}, map_over="x", engine="threads")["heavy"]
    assert seq == thr and all(math.isfinite(v) for v in seq)


def test_missing_library_and_entry_point(tmp_path):
    from hypernodes_c import Error, load_nodes

    with pytest.raises(Error, match="cannot load"):
        load_nodes(str(tmp_path / "nope.so"))
    import ctypes.util
    libm = ctypes.util.find_library("m")
    with pytest.raises(Error, match="hypernodes_nodes"):
        load_nodes(libm)
