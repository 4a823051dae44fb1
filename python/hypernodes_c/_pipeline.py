"""Pipeline: nodes wired by name, run once or mapped over items, on any engine."""

from __future__ import annotations

import shutil
import subprocess
import threading

from . import _hypernodes as _hn
from ._node import CNode, Node
from ._result import Result

_POLICIES = {"raise": 0, "continue": 1}
_MODES = {"zip": 0, "product": 1}
_CACHE_MODES = {"use": 0, "recompute": 1, "read_only": 2}
_CACHE_NODES = {"all": 0, "marked": 1}
_MATERIALIZE = {"auto": 0, "row": 1, "column": 2}
_FORMATS = ("python", "rows", "numpy", "pandas", "arrow", "result")
_CALLBACK_NAMES = ("on_pipeline_start", "on_pipeline_end", "on_map_start", "on_map_end",
                   "on_item_start", "on_item_end", "on_node_start", "on_node_end", "on_error",
                   "on_cache_hit", "on_cache_miss", "on_cache_write", "on_chunk_start",
                   "on_chunk_end")
_PROGRESS = {False: 0, None: 0, True: 1, "always": 2}


class Engine(_hn.Engine):
    """An engine and its workers, reused across calls.

    ``Engine("threads", workers=0, chunk_size=0, item_timeout=0.0)``; kinds:
    sequential, threads, columnar, processes, mpi. An engine serves one call
    at a time; engines given by name are cached per thread.
    """


class Profile(_hn.Profile):
    """Per-node calls and times (count, total, mean, p50, p99, share) over every call
    given it (``profile=``): ``text()``, ``json()``, ``nodes()``, ``reset()``."""


class Trace(_hn.Trace):
    """``Trace(items=False, max_events=0)``: timed events of the calls given it
    (``trace=``), written as a Chrome trace-event file: ``write(path)`` (open it in
    Perfetto); ``counts()`` is (recorded, dropped)."""


class Cache(_hn.Cache):
    """``Cache(dir, max_bytes=0)``: node results on disk (LMDB), shared by processes."""

    @staticmethod
    def usage(dir: str) -> dict:
        return _hn.Cache.usage_of(str(dir))

    @staticmethod
    def clear(dir: str) -> None:
        _hn.Cache.clear_dir(str(dir))


_local = threading.local()


def get_engine(engine) -> Engine | None:
    """An Engine for a name (cached per thread), an Engine as is, None for sequential."""
    if engine is None or isinstance(engine, _hn.Engine):
        return engine
    if not isinstance(engine, str):
        raise TypeError(f"engine must be a name or an Engine, got {type(engine).__name__}")
    cache = getattr(_local, "engines", None)
    if cache is None:
        cache = _local.engines = {}
    if engine not in cache:
        cache[engine] = Engine(engine)
    return cache[engine]


def _shutdown_engines() -> None:
    """Stop the cached engines' workers while the interpreter is whole (atexit)."""
    cache = getattr(_local, "engines", None)
    if cache:
        cache.clear()


def _names(value, what: str):
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def _mapping_string(mapping) -> str | None:
    if not mapping:
        return None
    return ",".join(f"{a}={b}" for a, b in dict(mapping).items())


class PipelineNode:
    """A pipeline used as a node of a bigger one (made by :meth:`Pipeline.as_node`)."""

    def __init__(self, pipeline, name, input_mapping, output_mapping, map_over, map_mode):
        self.pipeline = pipeline
        self.name = name or pipeline.name or "nested"
        self.input_mapping = dict(input_mapping or {})  # outer -> inner
        self.output_mapping = dict(output_mapping or {})  # inner -> outer
        self.map_over = _names(map_over, "map_over") or ()
        self.map_mode = map_mode
        inner_to_outer = {v: k for k, v in self.input_mapping.items()}
        self.inputs = tuple(inner_to_outer.get(n, n) for n in pipeline.root_inputs)
        outs = self.output_mapping or {o: o for o in pipeline.outputs}
        self.outputs = tuple(outs.values())
        self.defaults = {}
        self.out_convs = {}
        for inner, outer in outs.items():
            c = pipeline._convs.get(inner)
            if c is not None:
                self.out_convs[outer] = (c,) if self.map_over else c

    def declared_inputs(self) -> dict:
        inner_to_outer = {v: k for k, v in self.input_mapping.items()}
        out = {}
        for inner, t in self.pipeline._types.items():
            outer = inner_to_outer.get(inner, inner)
            out[outer] = f"list<{t}>" if outer in self.map_over else t
        return out

    def _add_to(self, p: _hn.Pipeline) -> None:
        p._add_nested(self.name, self.pipeline._p, _mapping_string(self.input_mapping),
                      _mapping_string(self.output_mapping),
                      ",".join(self.map_over) or None, _MODES[self.map_mode])


class Pipeline:
    """Nodes wired by name: ``Pipeline(nodes=[clean, tokenize, count])``.

    Nodes are :func:`node` functions, C nodes (:func:`load_nodes`) or other
    pipelines (:meth:`as_node`). The pipeline is checked as it is built
    (second producers, cycles, type mismatches). ``engine``, ``cache`` and
    ``callbacks`` set defaults for :meth:`run` and :meth:`map`.
    """

    def __init__(self, nodes, name=None, *, engine=None, cache=None, callbacks=None,
                 progress=False):
        self.nodes = list(nodes)
        self.name = name
        self.engine, self.cache, self.callbacks = engine, cache, callbacks
        self.progress = progress
        self._p = _hn.Pipeline(name)
        self._types, self._convs = {}, {}
        produced = set()
        for n in self.nodes:
            if isinstance(n, Pipeline):
                n = n.as_node()
            if not isinstance(n, (Node, CNode, PipelineNode)):
                raise TypeError(f"not a node: {n!r}")
            n._add_to(self._p)
            produced.update(n.outputs)
            for name_, t in n.declared_inputs().items():
                self._types.setdefault(name_, t)
            self._convs.update(n.out_convs)
        self.nodes = [n.as_node() if isinstance(n, Pipeline) else n for n in self.nodes]
        for n in self.nodes:
            for name_, value in n.defaults.items():
                if name_ not in produced and name_ in self._p.root_inputs():
                    self._p._bind_value(name_, value, self._types.get(name_))

    # ---- introspection ----------------------------------------------------
    @property
    def root_inputs(self) -> tuple:
        """Inputs that no node produces and nothing is bound to."""
        return self._p.root_inputs()

    @property
    def outputs(self) -> tuple:
        return self._p.outputs()

    @property
    def execution_order(self) -> tuple:
        return self._p.execution_order()

    def output_type(self, name: str) -> str | None:
        return self._p.output_type(name)

    # ---- building -----------------------------------------------------------
    def bind(self, **values) -> "Pipeline":
        """Bind default values for inputs (explicit inputs override them). Returns self."""
        for name_, value in values.items():
            self._p._bind_value(name_, value, self._types.get(name_))
        return self

    def unbind(self, *names) -> "Pipeline":
        for name_ in names:
            self._p.unbind(name_)
        return self

    def as_node(self, name=None, input_mapping=None, output_mapping=None, map_over=None,
                map_mode="zip") -> PipelineNode:
        """This pipeline as one node: inputs renamed outer -> inner, outputs inner -> outer
        (an output mapping also selects); with ``map_over`` it runs once per element of
        those list inputs and its outputs become lists."""
        return PipelineNode(self, name, input_mapping, output_mapping, map_over, map_mode)

    # ---- running ------------------------------------------------------------
    def _call(self, is_map, inputs, output_name, map_over, map_mode, engine, error_policy,
              callbacks, cache, cache_mode, cache_nodes, progress=None, profile=None,
              trace=None):
        eng = get_engine(engine if engine is not None else self.engine)
        cbs = callbacks if callbacks is not None else self.callbacks
        if cbs is not None and not isinstance(cbs, dict):
            cbs = {k: getattr(cbs, k) for k in _CALLBACK_NAMES if callable(getattr(cbs, k, None))}
        if map_mode not in _MODES:
            raise ValueError(f"map_mode must be 'zip' or 'product', not {map_mode!r}")
        if error_policy not in _POLICIES:
            raise ValueError(f"error_policy must be 'raise' or 'continue', not {error_policy!r}")
        call = self._p.map if is_map else self._p.run
        return call(inputs=dict(inputs or {}), outputs=_names(output_name, "output_name"),
                    map_over=map_over, types=self._types, engine=eng, callbacks=cbs,
                    cache=cache if cache is not None else self.cache,
                    convs=self._convs or None, map_mode=_MODES[map_mode],
                    error_policy=_POLICIES[error_policy], cache_mode=_CACHE_MODES[cache_mode],
                    cache_nodes=_CACHE_NODES[cache_nodes], profile=profile, trace=trace,
                    progress=_PROGRESS[progress if progress is not None else self.progress])

    def run(self, inputs=None, output_name=None, *, engine=None, callbacks=None, cache=None,
            cache_mode="use", cache_nodes="all", return_format="python", progress=None,
            profile=None, trace=None):
        """Run once. Returns ``{output: value}`` (``return_format="result"``: a Result).

        With no ``output_name`` every output not given is returned.
        """
        r = Result(self._call(False, inputs, output_name, None, "zip", engine, "raise",
                              callbacks, cache, cache_mode, cache_nodes, progress, profile,
                              trace))
        if return_format == "python":
            return {k: v[0] for k, v in r.to_pydict().items()}
        return _format(r, return_format, "auto")

    def map(self, inputs, map_over, map_mode="zip", output_name=None, *, engine=None,
            error_policy="raise", callbacks=None, cache=None, cache_mode="use",
            cache_nodes="all", return_format="python", materialize="auto", progress=None,
            profile=None, trace=None):
        """Map over items: the inputs named in ``map_over`` are columns (lists, numpy
        arrays, pandas Series, Arrow arrays), the rest are given to every item.

        ``return_format``: ``"python"`` ``{output: [values]}``; ``"rows"`` a list of dicts
        (``materialize``: auto, row, column); ``"numpy"`` ``{output: array}``; ``"pandas"``
        a DataFrame; ``"arrow"``/``"result"`` the :class:`Result` (Arrow PyCapsule provider).
        ``error_policy="continue"``: failed items give None and an error record
        (``return_format="result"``, then ``result.errors``). ``progress=True`` draws the
        C library's progress bar on standard error when it is a terminal (``"always"``:
        also when not); ``profile=Profile()`` and ``trace=Trace()`` record the call.
        """
        over = _names(map_over, "map_over")
        if not over:
            raise ValueError("map_over names no input")
        r = Result(self._call(True, inputs, output_name, over, map_mode, engine, error_policy,
                              callbacks, cache, cache_mode, cache_nodes, progress, profile,
                              trace))
        return _format(r, return_format, materialize)

    # ---- pictures -----------------------------------------------------------
    def to_dot(self, depth=0, orientation="TB", show_types=True, inputs=None,
               output_name=None) -> str:
        """The pipeline as Graphviz DOT text (nested pipelines as clusters)."""
        if orientation not in ("TB", "LR"):
            raise ValueError("orientation must be 'TB' or 'LR'")
        return self._p.to_dot(depth=depth, orientation=orientation == "LR",
                              hide_types=not show_types, provided=_names(inputs, "inputs"),
                              requested=_names(output_name, "output_name"))

    def visualize(self, filename=None, depth=0, orientation="TB", show_types=True,
                  inputs=None, output_name=None, format=None):
        """Draw the pipeline: DOT text, or SVG/PNG through Graphviz's ``dot`` when installed.

        Returns a :class:`Diagram` (``.dot``, ``.svg()``, shown inline in Jupyter);
        with ``filename`` also writes it (format from ``format`` or the extension).
        """
        d = Diagram(self.to_dot(depth, orientation, show_types, inputs, output_name))
        if filename is not None:
            fmt = format or str(filename).rsplit(".", 1)[-1]
            data = d.dot.encode() if fmt in ("dot", "gv") else d.render(fmt)
            with open(filename, "wb") as f:
                f.write(data)
        return d

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, nodes={[n.name for n in self.nodes]})"


class Diagram:
    """A drawing of a pipeline: ``dot`` (text); ``svg()`` and ``render(fmt)`` need Graphviz."""

    def __init__(self, dot: str):
        self.dot = dot

    def render(self, fmt: str = "svg") -> bytes:
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError("Graphviz's `dot` is not on PATH (Debian package graphviz); "
                               "the DOT text is in .dot")
        return subprocess.run([exe, f"-T{fmt}"], input=self.dot.encode(), check=True,
                              capture_output=True).stdout

    def svg(self) -> str:
        return self.render("svg").decode()

    def _repr_svg_(self):
        return self.svg() if shutil.which("dot") else None

    def __str__(self) -> str:
        return self.dot


def _format(r: Result, fmt: str, materialize: str):
    if fmt == "python":
        return r.to_pydict()
    if fmt == "rows":
        return r.to_pylist(materialize)
    if fmt == "numpy":
        return r.to_numpy()
    if fmt == "pandas":
        return r.to_pandas()
    if fmt in ("arrow", "result"):
        return r
    raise ValueError(f"return_format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
