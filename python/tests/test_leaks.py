"""Reference counts and memory: no leak across many calls."""

import gc
import sys

from hypernodes_c import Pipeline, node


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


@node(output_name="cleaned")
def clean(text: str) -> str:
    return text.strip().lower()


@node(output_name="tokens")
def tokenize(cleaned: str) -> list[str]:
    return cleaned.split()


@node(output_name="obj")
def keep(tokens: list[str], sentinel) -> object:
    return sentinel


P = Pipeline(nodes=[clean, tokenize, keep])


def test_refcounts_of_values_through_maps():
    sentinel = object()
    before = sys.getrefcount(sentinel)
    for _ in range(1000):
        out = P.map(inputs={"text": [" A b ", "c"], "sentinel": sentinel}, map_over="text")
        assert out["obj"][0] is sentinel
        del out
    gc.collect()
    assert sys.getrefcount(sentinel) == before


def test_no_leak_across_10000_maps():
    texts = [f" Hello World {i} " for i in range(8)]
    sentinel = object()
    for _ in range(1000):  # warm up: allocator pools, plan caches
        P.map(inputs={"text": texts, "sentinel": sentinel}, map_over="text")
    gc.collect()
    start = rss_kib()
    for _ in range(10000):
        P.map(inputs={"text": texts, "sentinel": sentinel}, map_over="text")
    gc.collect()
    grown = rss_kib() - start
    assert grown < 2048, f"RSS grew by {grown} KiB over 10,000 maps"


def test_no_leak_threads_engine():
    texts = [f" Hello {i} " for i in range(64)]
    sentinel = object()
    for _ in range(300):
        P.map(inputs={"text": texts, "sentinel": sentinel}, map_over="text", engine="threads")
    gc.collect()
    start = rss_kib()
    before = sys.getrefcount(sentinel)
    for _ in range(2000):
        P.map(inputs={"text": texts, "sentinel": sentinel}, map_over="text", engine="threads")
    gc.collect()
    assert sys.getrefcount(sentinel) == before
    assert rss_kib() - start < 2048
