"""The on-disk cache from Python: hits, versions from code, modes."""

from hypernodes_c import Cache, Pipeline, code_hash, node

CALLS = []


@node(output_name="y", cache=True)
def slow_square(x: int) -> int:
    CALLS.append(x)
    return x * x


def test_code_hash_follows_code():
    def f(x):
        return x + 1

    def g(x):
        return x + 1

    def h(x):
        return x + 2

    assert code_hash(f) == code_hash(g) != code_hash(h)
    assert slow_square.version == code_hash(slow_square.func)


def test_cached_map(tmp_path, engine):
    cache = Cache(str(tmp_path / "c"))
    p = Pipeline(nodes=[slow_square])
    r1 = p.map(inputs={"x": [1, 2, 3]}, map_over="x", cache=cache, engine=engine,
               return_format="result")
    assert r1.to_pydict() == {"y": [1, 4, 9]} and r1.stats["cache_misses"] == 3
    r2 = p.map(inputs={"x": [1, 2, 3, 4]}, map_over="x", cache=cache, engine=engine,
               return_format="result")
    assert r2.to_pydict() == {"y": [1, 4, 9, 16]}
    assert r2.stats["cache_hits"] == 3 and r2.stats["cache_misses"] == 1
    r3 = p.map(inputs={"x": [1]}, map_over="x", cache=cache, cache_mode="recompute",
               engine=engine, return_format="result")
    assert r3.stats["cache_hits"] == 0
    assert Cache.usage(str(tmp_path / "c"))["items"] >= 4
    Cache.clear(str(tmp_path / "c"))
    assert Cache.usage(str(tmp_path / "c"))["items"] == 0


def test_new_version_recomputes(tmp_path):
    cache = Cache(str(tmp_path / "c"))

    def run(version):
        n = node(slow_square.func, output_name="y", version=version, cache=True)
        return Pipeline(nodes=[n]).map(inputs={"x": [5]}, map_over="x", cache=cache,
                                       return_format="result").stats

    assert run("1")["cache_misses"] == 1
    assert run("1")["cache_hits"] == 1
    assert run("2")["cache_misses"] == 1
