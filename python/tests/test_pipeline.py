"""The Hypernodes-shaped API on every engine: nodes, types, run, map, bind, nesting."""

import dataclasses
import typing

import pytest

from hypernodes_c import NodeError, Pipeline, node


@node(output_name="cleaned")
def clean(text: str) -> str:
    return text.strip().lower()


@node(output_name="tokens")
def tokenize(cleaned: str) -> list[str]:
    return cleaned.split()


@node(output_name="n_tokens")
def count(tokens: list[str]) -> int:
    return len(tokens)


TEXT = Pipeline(nodes=[clean, tokenize, count], name="text")
TEXTS = [f"  Hello World {i}  " for i in range(50)]


def expected_text(texts):
    cleaned = [t.strip().lower() for t in texts]
    return {"cleaned": cleaned, "tokens": [c.split() for c in cleaned],
            "n_tokens": [len(c.split()) for c in cleaned]}


def test_node_is_still_a_function():
    assert clean("  A ") == "a"
    assert clean.inputs == ("text",) and clean.outputs == ("cleaned",)
    assert clean.output_types == ["utf8"] and tokenize.output_types == ["list<utf8>"]


def test_run_returns_every_output():
    assert TEXT.run(inputs={"text": " A b "}) == {"cleaned": "a b", "tokens": ["a", "b"],
                                                  "n_tokens": 2}


def test_run_selected_output():
    assert TEXT.run(inputs={"text": "x y z"}, output_name="n_tokens") == {"n_tokens": 3}


def test_map_on_every_engine(engine):
    assert TEXT.map(inputs={"text": TEXTS}, map_over="text", engine=engine) == \
        expected_text(TEXTS)


def test_map_empty(engine):
    out = TEXT.map(inputs={"text": []}, map_over="text", engine=engine)
    assert out == {"cleaned": [], "tokens": [], "n_tokens": []}


@node(output_name="s")
def add(a: int, b: int) -> int:
    return a + b


def test_zip_and_product(engine):
    p = Pipeline(nodes=[add])
    z = p.map(inputs={"a": [1, 2, 3], "b": [10, 20, 30]}, map_over=["a", "b"], engine=engine)
    assert z == {"s": [11, 22, 33]}
    pr = p.map(inputs={"a": [1, 2], "b": [10, 20, 30]}, map_over=["a", "b"],
               map_mode="product", engine=engine)
    assert pr == {"s": [11, 21, 31, 12, 22, 32]}


def test_broadcast_value(engine):
    p = Pipeline(nodes=[add])
    assert p.map(inputs={"a": [1, 2], "b": 100}, map_over="a", engine=engine) == {"s": [101, 102]}


@node(output_name=("q", "r"))
def divmod_node(a: int, b: int) -> tuple[int, int]:
    return divmod(a, b)


def test_several_outputs(engine):
    p = Pipeline(nodes=[divmod_node])
    out = p.map(inputs={"a": [7, 9], "b": 2}, map_over="a", engine=engine)
    assert out == {"q": [3, 4], "r": [1, 1]}


def test_bind_and_defaults(engine):
    @node(output_name="y")
    def scale(x: float, factor: float = 2.0) -> float:
        return x * factor

    p = Pipeline(nodes=[scale])
    assert p.root_inputs == ("x",)
    assert p.map(inputs={"x": [1.0, 2.0]}, map_over="x", engine=engine) == {"y": [2.0, 4.0]}
    p.bind(factor=10.0)
    assert p.map(inputs={"x": [1.0]}, map_over="x", engine=engine) == {"y": [10.0]}
    assert p.map(inputs={"x": [1.0], "factor": 3.0}, map_over="x", engine=engine) == {"y": [3.0]}


@dataclasses.dataclass
class Point:
    x: float
    y: float


@node(output_name="p")
def make_point(v: float) -> Point:
    return Point(v, v * 2)


@node(output_name="norm1")
def norm1(p: Point) -> float:
    assert isinstance(p, Point)
    return abs(p.x) + abs(p.y)


class Stats(typing.TypedDict):
    n: int
    label: str


@node(output_name="stats")
def stats_of(v: float) -> Stats:
    return {"n": int(v), "label": f"v{v}"}


def test_structs_from_dataclasses_and_typed_dicts(engine):
    p = Pipeline(nodes=[make_point, norm1, stats_of])
    assert p.output_type("p") == "struct<x: float64, y: float64>"
    out = p.map(inputs={"v": [1.0, -2.0]}, map_over="v", engine=engine)
    assert out["norm1"] == [3.0, 6.0]
    assert out["p"] == [Point(1.0, 2.0), Point(-2.0, -4.0)]
    assert out["stats"] == [{"n": 1, "label": "v1.0"}, {"n": -2, "label": "v-2.0"}]


def test_types_of_every_kind(engine):
    @node(output_name=("b", "f", "s", "by", "nested"))
    def kinds(i: int) -> tuple[bool, float, str, bytes, list[list[int]]]:
        return i % 2 == 0, i / 2, str(i), bytes([i]), [[i], [i, i]]

    p = Pipeline(nodes=[kinds])
    out = p.map(inputs={"i": [0, 1]}, map_over="i", engine=engine)
    assert out == {"b": [True, False], "f": [0.0, 0.5], "s": ["0", "1"],
                   "by": [b"\x00", b"\x01"], "nested": [[[0], [0, 0]], [[1], [1, 1]]]}


class Opaque:
    def __init__(self, v):
        self.v = v


@node(output_name="obj")
def wrap(i: int):
    return Opaque(i)


@node(output_name="back")
def unwrap(obj) -> int:
    return obj.v


def test_python_objects_between_nodes(engine):
    p = Pipeline(nodes=[wrap, unwrap])
    out = p.map(inputs={"i": [1, 2, 3]}, map_over="i", output_name="back", engine=engine)
    assert out == {"back": [1, 2, 3]}


def test_python_object_outputs_refused_across_processes():
    p = Pipeline(nodes=[wrap])
    out = p.map(inputs={"i": [1]}, map_over="i", engine="threads")
    assert out["obj"][0].v == 1
    with pytest.raises(Exception, match="obj"):
        p.map(inputs={"i": [1]}, map_over="i", engine="processes")


def test_none_is_null(engine):
    @node(output_name="y")
    def maybe(x: int) -> typing.Optional[int]:
        return None if x < 0 else x

    p = Pipeline(nodes=[maybe])
    assert p.map(inputs={"x": [1, -1]}, map_over="x", engine=engine) == {"y": [1, None]}


def test_wrong_return_type_names_node_and_item(engine):
    @node(output_name="y")
    def bad(x: int) -> int:
        return "no" if x == 3 else x

    p = Pipeline(nodes=[bad])
    with pytest.raises(NodeError) as e:
        p.map(inputs={"x": list(range(6))}, map_over="x", engine=engine)
    assert e.value.node == "bad" and e.value.item == 3
    assert "expected int, got str" in str(e.value)


def test_nested_as_node(engine):
    @node(output_name="avg")
    def average(lengths: list[int]) -> float:
        return sum(lengths) / len(lengths) if lengths else 0.0

    inner = Pipeline(nodes=[clean, tokenize, count], name="sentence")
    outer = Pipeline(nodes=[
        inner.as_node(name="per_sentence", input_mapping={"sentences": "text"},
                      output_mapping={"n_tokens": "lengths"}, map_over="sentences"),
        average])
    out = outer.run(inputs={"sentences": ["a b", "c d e f"]}, engine=engine)
    assert out == {"lengths": [2, 4], "avg": 3.0}
    out = outer.map(inputs={"sentences": [["a"], ["a b", "c"]]}, map_over="sentences",
                    engine=engine)
    assert out == {"lengths": [[1], [2, 1]], "avg": [1.0, 1.5]}


def test_build_errors_name_the_nodes():
    @node(output_name="cleaned")
    def other(text: str) -> str:
        return text

    with pytest.raises(Exception, match="clean|other"):
        Pipeline(nodes=[clean, other])


def test_missing_input_is_reported():
    with pytest.raises(Exception, match="missing inputs: text"):
        TEXT.run(inputs={})


def test_visualize():
    d = TEXT.visualize(depth=1, orientation="LR")
    assert "node:tokenize" in d.dot and "rankdir" in d.dot
    import shutil
    if shutil.which("dot"):
        assert "<svg" in d.svg()


@pytest.mark.parametrize("engine", ["sequential", "columnar", "processes"])
def test_arrow_types_beyond_the_core(engine):
    """Widths, half floats, large strings and lists, maps: both ways through Python."""
    @node(output_name=("i8", "u64", "h", "big", "ll", "m", "d"),
          output_types={"i8": "int8", "u64": "uint64", "h": "float16", "big": "large_utf8",
                        "ll": "large_list<int64>", "m": "map<utf8, int64>", "d": "date32"})
    def widths(x: int):
        return x - 100, 2 ** 64 - 1 - x, x / 2, "s" * x, [x, x], {"k": x}, 19000 + x

    @node(output_name="back")
    def back(i8, u64, h, big, ll, m, d) -> str:  # any type: int8 is not int64
        return f"{i8}|{u64}|{h}|{len(big)}|{ll}|{m}|{d}"

    p = Pipeline(nodes=[widths, back])
    out = p.map(inputs={"x": [1, 3]}, map_over="x", engine=engine)
    assert out["i8"] == [-99, -97] and out["u64"] == [2 ** 64 - 2, 2 ** 64 - 4]
    assert out["h"] == [0.5, 1.5] and out["big"] == ["s", "sss"] and out["ll"] == [[1, 1], [3, 3]]
    assert out["m"] == [[{"key": "k", "value": 1}], [{"key": "k", "value": 3}]]
    assert out["d"] == [19001, 19003]
    assert out["back"][0] == "-99|18446744073709551614|0.5|1|[1, 1]|[{'key': 'k', 'value': 1}]|19001"
