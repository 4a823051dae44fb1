"""The Python benchmark: the seed's scenarios as Python nodes, every engine against a
plain Python loop making the same calls, in one run, as ratios (JSON like
``hypernodes bench --json``).

    python3 -m hypernodes_c.bench                       # 5,000 items, every scenario
    python3 -m hypernodes_c.bench --items 100000 --scenarios text --engines sequential,processes
    python3 -m hypernodes_c.bench --json out.json --repeats 5

Scenarios: ``text`` (clean -> tokenize -> count), ``stateful`` (a resource whose
init sleeps 50 ms, encoding strings into 128 float32), ``numeric`` (``(x - mean) / std``
as a numpy batch function; the item engines call its row function), ``nested`` (a
sentence pipeline mapped over a list inside one run), ``overhead`` (a chain of 10
``x + 1`` nodes: the framework's cost per node call) and ``cnodes`` (a CPU-heavy C
node from a shared library: threads against sequential; needs ``--cnodes LIB``).
Every engine's outputs are compared with the loop's; a mismatch exits 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

from . import Engine, Pipeline, load_nodes, node, stateful

# ---- scenario functions (plain Python, shared by the loop and the nodes) -------


def clean_f(text: str) -> str:
    return text.strip().lower()


def tokenize_f(cleaned: str) -> list[str]:
    return cleaned.split()


def count_f(tokens: list[str]) -> int:
    return len(tokens)


def length_f(tokens: list[str]) -> int:
    return len(tokens)


class Encoder:
    """50 ms to build (a real sleep), then a 256 x 128 float32 table."""

    def __init__(self, dim: int = 128):
        time.sleep(0.05)
        rng = np.random.default_rng(7)
        self.table = rng.standard_normal((256, dim)).astype(np.float32)

    def encode(self, text: str) -> np.ndarray:
        idx = np.frombuffer(text.encode(), dtype=np.uint8)
        return self.table[idx].sum(axis=0)


def encode_f(text: str, encoder) -> list[float]:
    return encoder.encode(text)


def zscore_row(x: float, mean: float, std: float) -> float:
    return (x - mean) / std


def zscore_batch(x, mean, std):
    return (x - mean) / std


def add1(x: int) -> int:
    return x + 1


K_OVERHEAD = 10

# ---- scenarios --------------------------------------------------------------------


class Scenario:
    name = ""
    return_format = "python"  # --format: "arrow" leaves text/overhead results unconverted
    cap = 0  # items at most (0: none)
    calls_per_item = 0  # node calls per item, for ns_per_node_call

    def __init__(self, n: int):
        self.n = min(n, self.cap) if self.cap else n

    def loop(self):  # the plain Python loop: the baseline
        raise NotImplementedError

    def engine(self, engine):  # the pipeline on an engine
        raise NotImplementedError

    def same(self, a, b) -> bool:
        return a == b

    def finish(self, out):  # after the clock: a Result left as Arrow batches becomes lists
        return out.to_pydict() if hasattr(out, "to_pydict") else out


class Text(Scenario):
    name, calls_per_item = "text", 3

    def __init__(self, n):
        super().__init__(n)
        self.texts = [f"  Hello World {i}  " for i in range(self.n)]
        self.p = Pipeline(nodes=[node(clean_f, output_name="cleaned"),
                                 node(tokenize_f, output_name="tokens"),
                                 node(count_f, output_name="n_tokens")])

    def loop(self):
        cleaned, tokens, counts = [], [], []
        for t in self.texts:
            c = clean_f(t)
            tk = tokenize_f(c)
            cleaned.append(c)
            tokens.append(tk)
            counts.append(count_f(tk))
        return {"cleaned": cleaned, "tokens": tokens, "n_tokens": counts}

    def engine(self, engine):
        r = self.p.map(inputs={"text": self.texts}, map_over="text", engine=engine,
                       return_format=self.return_format)
        return r


class Stateful(Scenario):
    name, cap, calls_per_item = "stateful", 5000, 1

    def __init__(self, n):
        super().__init__(n)
        self.texts = [f"document_{i}" for i in range(self.n)]
        self.p = Pipeline(nodes=[node(encode_f, output_name="vec",
                                      output_types={"vec": "list<float32>"})])
        self.resource = stateful(Encoder)

    def loop(self):
        enc = Encoder()
        return {"vec": [encode_f(t, enc) for t in self.texts]}

    def engine(self, engine):
        return self.p.map(inputs={"text": self.texts, "encoder": self.resource()},
                          map_over="text", engine=engine, return_format="numpy")

    def same(self, a, b):
        va = np.stack([np.asarray(v) for v in a["vec"]]) if len(a["vec"]) else np.zeros(0)
        vb = np.asarray(b["vec"])  # (n, 128): a zero-copy view of the list<float32> column
        return va.shape == vb.shape and np.allclose(va, vb, rtol=1e-5)


class Numeric(Scenario):
    name, calls_per_item = "numeric", 1

    def __init__(self, n):
        super().__init__(n)
        self.x = np.linspace(0, 10000, self.n)
        self.p = Pipeline(nodes=[node(zscore_batch, output_name="z", batch=True, row=zscore_row,
                                      input_types={"x": float}, output_types={"z": float})])

    def loop(self):  # the same numpy expression by hand
        return {"z": zscore_batch(self.x, 5000.0, 750.0)}

    def engine(self, engine):
        r = self.p.map(inputs={"x": self.x, "mean": 5000.0, "std": 750.0}, map_over="x",
                       engine=engine, return_format="result")
        return {"z": r.column("z")}

    def same(self, a, b):
        return np.allclose(a["z"], b["z"])


class Nested(Scenario):
    name, cap, calls_per_item = "nested", 5000, 3

    def __init__(self, n):
        super().__init__(n)
        self.sentences = [f"Sentence number {i} with some tokens" for i in range(self.n)]
        inner = Pipeline(nodes=[node(clean_f, output_name="cleaned"),
                                node(tokenize_f, output_name="tokens"),
                                node(length_f, output_name="length")], name="sentence")

        @node(output_name="average")
        def average(lengths: list[int]) -> float:
            return sum(lengths) / len(lengths) if lengths else 0.0

        @node(output_name="vocabulary")
        def vocabulary(all_tokens: list[list[str]]) -> list[str]:
            return sorted({t for ts in all_tokens for t in ts})

        self.p = Pipeline(nodes=[
            inner.as_node(name="per_sentence", input_mapping={"sentences": "text"},
                          output_mapping={"length": "lengths", "tokens": "all_tokens"},
                          map_over="sentences"),
            average, vocabulary])

    def loop(self):
        lengths, tokens = [], []
        for s in self.sentences:
            tk = tokenize_f(clean_f(s))
            tokens.append(tk)
            lengths.append(length_f(tk))
        avg = sum(lengths) / len(lengths) if lengths else 0.0
        return {"average": avg, "vocabulary": sorted({t for ts in tokens for t in ts})}

    def engine(self, engine):
        return self.p.run(inputs={"sentences": self.sentences},
                          output_name=["average", "vocabulary"], engine=engine)


class Overhead(Scenario):
    name, calls_per_item = "overhead", K_OVERHEAD

    def __init__(self, n):
        super().__init__(n)
        self.items = list(range(self.n))
        nodes = [node(add1, name=f"add{k}", output_name=f"x{k + 1}",
                      rename_inputs={"x": f"x{k}"}) for k in range(K_OVERHEAD)]
        self.p = Pipeline(nodes=nodes)

    def loop(self):
        out = []
        for x in self.items:
            for _ in range(K_OVERHEAD):
                x = add1(x)
            out.append(x)
        return {f"x{K_OVERHEAD}": out}

    def engine(self, engine):
        r = self.p.map(inputs={"x0": self.items}, map_over="x0",
                       output_name=f"x{K_OVERHEAD}", engine=engine,
                       return_format=self.return_format)
        return r


class CNodes(Scenario):
    """A CPU-heavy C node (about 20 us per item): threads against sequential."""

    name, cap = "cnodes", 20000
    library = None

    def __init__(self, n):
        super().__init__(n)
        self.x = [float(i) for i in range(self.n)]
        self.p = Pipeline(nodes=[load_nodes(self.library)["c_heavy"]])

    def loop(self):
        return self.p.map(inputs={"x": self.x}, map_over="x", return_format="result").column(
            "heavy")

    def engine(self, engine):
        return self.p.map(inputs={"x": self.x}, map_over="x", engine=engine,
                          return_format="result").column("heavy")

    def same(self, a, b):
        return np.array_equal(a, b)


SCENARIOS = {s.name: s for s in (Text, Stateful, Numeric, Nested, Overhead, CNodes)}
ENGINES = ("sequential", "threads", "columnar", "processes")

# ---- harness ----------------------------------------------------------------------


def timed(f, repeats: int, warmup: int):
    for _ in range(warmup):
        out = f()
    durations = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        durations.append(time.perf_counter() - t)
    return out, durations


def metric(durations, base_median, calls, n):
    med = statistics.median(durations)
    m = {"available": True, "durations_s": [round(d, 6) for d in durations],
         "median_s": round(med, 6), "best_s": round(min(durations), 6),
         "ratio_to_loop": round(med / base_median, 3) if base_median else None}
    if calls and n and base_median:
        m["ns_per_node_call"] = round((med - base_median) / (n * calls) * 1e9, 1)
    return m


def run_scenario(cls, n, engines, repeats, warmup, workers, out):
    s = cls(n)
    want, base = timed(s.loop, repeats, warmup)
    base_med = statistics.median(base)
    label = "sequential engine" if cls is CNodes else "python loop"
    base_key = "sequential_baseline" if cls is CNodes else "python_loop"
    metrics = {base_key: metric(base, base_med, 0, 0)}
    print(f"\n{s.name}: {s.n} items; times in ms (median of {repeats}); baseline: {label}")
    print(f"  {'engine':<14}{'median':>10}{'min':>10}{'max':>10}{'vs loop':>9}"
          f"{'ns/call':>9}  check")
    print(f"  {base_key:<14}{base_med * 1e3:>10.2f}{min(base) * 1e3:>10.2f}"
          f"{max(base) * 1e3:>10.2f}{1:>8.2f}x{'-':>9}  ok")
    ok_all = True
    for name in engines:
        kind, _, opts = name.partition(":")
        if cls is CNodes and kind == "processes":
            continue
        try:
            kw = {"workers": workers}
            for opt in filter(None, opts.split(":")):
                k, _, v = opt.partition("=")
                kw[k] = float(v) if k == "item_timeout" else int(v)
            eng = Engine(kind, **kw)
        except Exception as e:  # an engine this build lacks
            metrics[name] = {"available": False, "reason": str(e)}
            continue
        got, d = timed(lambda: s.engine(eng), repeats, warmup)
        got = s.finish(got)
        m = metric(d, base_med, s.calls_per_item, s.n)
        m["matches_loop"] = ok = bool(s.same(want, got))
        ok_all &= ok
        metrics[name] = m
        ns = m.get("ns_per_node_call")
        print(f"  {name:<14.40}{m['median_s'] * 1e3:>10.2f}{min(d) * 1e3:>10.2f}"
              f"{max(d) * 1e3:>10.2f}{m['ratio_to_loop']:>8.2f}x"
              f"{(f'{ns:.0f}' if ns is not None else '-'):>9}  {'ok' if ok else 'MISMATCH'}")
        del eng
    out.append({"scenario": s.name, "n_items": s.n, "metrics": metrics})
    return ok_all


def keep_freed_memory_mapped() -> None:
    """As the C benchmarks do (mallopt): page faults cost ~10 us per page on the reference
    VM and would drown what is measured. glibc only; elsewhere nothing happens."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, -1)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m hypernodes_c.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--scenarios", default="text,stateful,numeric,nested,overhead,cnodes")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help="names, each optionally with options: columnar:chunk_size=262144:workers=1")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0, help="0: one per core")
    ap.add_argument("--cnodes", default=os.environ.get("HYPERNODES_TEST_CNODES"),
                    help="the node library for the cnodes scenario (libhn_test_cnodes.so)")
    ap.add_argument("--json", help="write the results there")
    ap.add_argument("--format", choices=("python", "arrow"), default="python",
                    help="text and overhead: results as Python lists (timed) or left as "
                         "Arrow batches (converted after the clock stops, for the check)")
    a = ap.parse_args(argv)
    keep_freed_memory_mapped()
    if a.cnodes is None:
        guess = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "tests", "libhn_test_cnodes.so")
        a.cnodes = guess if os.path.exists(guess) else None
    CNodes.library = a.cnodes
    Scenario.return_format = a.format
    names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    print(f"hypernodes_c bench: {a.items} items, {a.repeats} repeats after {a.warmup} warm-up, "
          f"{os.cpu_count()} cores")
    results, ok = [], True
    for name in names:
        if name not in SCENARIOS:
            print(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})", file=sys.stderr)
            return 2
        if name == "cnodes" and not a.cnodes:
            print("\ncnodes: skipped (no --cnodes library)")
            continue
        ok &= run_scenario(SCENARIOS[name], a.items, engines, a.repeats, a.warmup, a.workers,
                           results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"version": 1, "items": a.items, "workers": a.workers or os.cpu_count(),
                       "python": sys.version.split()[0], "results": results}, f, indent=1,
                      allow_nan=False, default=lambda v: None if isinstance(v, float) and
                      not math.isfinite(v) else v)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
