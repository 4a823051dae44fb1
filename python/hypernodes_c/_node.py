"""Nodes: Python functions (@node), C nodes from a library, resources."""

from __future__ import annotations

import hashlib
import inspect
import types as _pytypes
import typing

from . import _hypernodes as _hn
from . import _types

_CACHE_POLICY = {None: 0, True: 1, False: 2}


def _stable_repr(value) -> str:
    if isinstance(value, frozenset):
        return "frozenset(" + ",".join(sorted(_stable_repr(v) for v in value)) + ")"
    if isinstance(value, tuple):
        return "(" + ",".join(_stable_repr(v) for v in value) + ")"
    return repr(value)


def code_hash(func) -> str | None:
    """Hash of a function's code object and constants (nested code included).

    The default cache version of a Python node: it changes when the
    function's bytecode, names or constants change, not when it moves
    in its file.
    """
    code = getattr(func, "__code__", None) or getattr(getattr(func, "__call__", None),
                                                      "__code__", None)
    if code is None:
        return None
    h = hashlib.sha256()

    def feed(c: _pytypes.CodeType) -> None:
        h.update(c.co_code)
        h.update(repr(c.co_names).encode())
        for const in c.co_consts:
            if isinstance(const, _pytypes.CodeType):
                feed(const)
            else:
                h.update(_stable_repr(const).encode())

    feed(code)
    return h.hexdigest()[:16]


class Node:
    """A Python function as a node (made by :func:`node`).

    Calling the node calls the function. ``inputs`` are the parameter names,
    ``outputs`` the output names; types come from the annotations or from
    ``input_types`` / ``output_types``.
    """

    def __init__(self, func, output_name, *, name=None, batch=False, version=None, cache=None,
                 input_types=None, output_types=None, rename_inputs=None, row=None):
        if isinstance(output_name, str):
            outputs = (output_name,)
        elif output_name:
            outputs = tuple(output_name)
        else:
            raise ValueError(f"node {func.__name__!r}: output_name is required")
        self.func = func
        self.row = row if batch else None
        self.name = name or getattr(func, "__name__", "node")
        self.batch = bool(batch)
        self.outputs = outputs
        self.cache = cache
        self.version = version if version is not None else code_hash(func)
        sig = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func)
        except Exception:  # unresolvable forward references: fall back to the raw annotations
            hints = {}
        rename = dict(rename_inputs or {})
        params = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.params = tuple(p.name for p in params)
        self.inputs = tuple(rename.get(p, p) for p in self.params)
        self.defaults = {rename.get(p.name, p.name): p.default for p in params
                         if p.default is not inspect.Parameter.empty}
        in_explicit = dict(input_types or {})
        self.input_types, convs = [], []
        for p, name_ in zip(params, self.inputs):
            if name_ in in_explicit or p.name in in_explicit:
                t, c = _types.explicit(in_explicit.get(name_, in_explicit.get(p.name)))
            elif self.batch:
                t, c = None, None  # columns arrive as arrays: annotations describe those
            else:
                t, c = _types.from_annotation(hints.get(p.name, p.annotation))
            self.input_types.append(t)
            convs.append(c)
        self.in_convs = tuple(convs)
        self.output_types, self.out_convs = self._output_types(func, hints, output_types)

    def _output_types(self, func, hints, given):
        if given is not None and not isinstance(given, dict):
            given = dict(zip(self.outputs, given if isinstance(given, (list, tuple)) else (given,)))
        given = dict(given or {})
        ret = hints.get("return", inspect.signature(func).return_annotation)
        per_output = [inspect.Parameter.empty] * len(self.outputs)
        if len(self.outputs) == 1:
            per_output = [ret]
        elif typing.get_origin(ret) is tuple and len(typing.get_args(ret)) == len(self.outputs):
            per_output = list(typing.get_args(ret))
        types_, convs = [], {}
        for out, ann in zip(self.outputs, per_output):
            if out in given:
                t, c = _types.explicit(given[out])
            elif self.batch:
                t, c = (_types.OBJECT, None) if ann is inspect.Parameter.empty else \
                    _batch_output_type(ann)
            else:
                t, c = _types.from_annotation(ann, output=True)
            types_.append(t)
            if c is not None:
                convs[out] = c
        return types_, convs

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, inputs={self.inputs}, outputs={self.outputs})"

    def _add_to(self, p: _hn.Pipeline) -> None:
        p._add_python_node(
            name=self.name, func=self.func, inputs=self.inputs,
            input_types=tuple(self.input_types), outputs=self.outputs,
            output_types=tuple(self.output_types), batch=self.batch, version=self.version,
            cache=_CACHE_POLICY[self.cache], in_convs=self.in_convs, row_func=self.row)

    def declared_inputs(self) -> dict:
        return {n: t for n, t in zip(self.inputs, self.input_types) if t is not None}


def _batch_output_type(ann):
    """A batch function's return annotation names the column's item type (list[float])."""
    if typing.get_origin(ann) is list and typing.get_args(ann):
        return _types.from_annotation(typing.get_args(ann)[0], output=True)
    return _types.from_annotation(ann, output=True)


def node(func=None, *, output_name=None, name=None, batch=False, version=None, cache=None,
         input_types=None, output_types=None, rename_inputs=None, row=None):
    """Make a node of a function: ``@node(output_name="y")`` (a tuple for several).

    - Types come from the annotations (``int``, ``float``, ``str``, ``bool``,
      ``bytes``, ``list[...]``, dataclasses and TypedDicts as structs) or from
      ``input_types`` / ``output_types`` (type strings or Python types); an
      unannotated output, and anything else, is a Python object.
    - ``batch=True``: the function gets whole columns (numpy arrays for
      fixed-width columns, lists otherwise; broadcast inputs as plain values)
      and returns arrays or lists of the same length. Annotate the output's
      item type (``-> list[float]``) or give ``output_types``. ``row=f`` adds a row
      function with the same parameters, which the item engines (sequential, threads,
      processes) call instead of the batch function with one-row arrays.
    - ``version``: the node's identity for the cache (default: a hash of its
      code and constants). ``cache``: ``True``/``False`` forces caching on/off.
    """
    def wrap(f):
        return Node(f, output_name, name=name, batch=batch, version=version, cache=cache,
                    input_types=input_types, output_types=output_types,
                    rename_inputs=rename_inputs, row=row)
    return wrap(func) if func is not None else wrap


class CNode:
    """A C node from a shared library (see :func:`load_nodes`); runs without the GIL."""

    def __init__(self, capsule, name=None):
        self._capsule = capsule
        spec_name, inputs, outputs, version = _hn.cnode_info(capsule)
        self.name = name or spec_name
        ins, outs = _types.split_spec(inputs), _types.split_spec(outputs)
        self.inputs = tuple(n for n, _ in ins)
        self.input_types = [t for _, t in ins]
        self.outputs = tuple(n for n, _ in outs)
        self.output_types = [t for _, t in outs]
        self.out_convs = {}
        self.defaults = {}
        self.version = version

    def renamed(self, name: str) -> "CNode":
        """The same C node under another name (to use it twice in one pipeline)."""
        return CNode(self._capsule, name)

    def _add_to(self, p: _hn.Pipeline) -> None:
        p._add_c_node(self._capsule, self.name)

    def declared_inputs(self) -> dict:
        return {n: t for n, t in zip(self.inputs, self.input_types) if t is not None}

    def __repr__(self) -> str:
        return f"CNode({self.name!r}, inputs={self.inputs}, outputs={self.outputs})"


def load_nodes(path: str) -> dict:
    """C nodes from a shared library that defines ``hypernodes_nodes()``: name -> CNode.

    The library stays loaded for the life of the process.
    """
    nodes = {}
    for cap in _hn.load_nodes(str(path)):
        n = CNode(cap)
        nodes[n.name] = n
    return nodes


class Resource:
    """A value built once per worker (``factory(*args, **kwargs)``), freed after the call.

    Give it as an input: every node reading that input gets the worker's
    instance. ``close()`` is called on it, if it has one, when the call ends.
    ``version`` stands for it in cache keys (nodes reading an unversioned
    resource are not cached).
    """

    def __init__(self, factory, *args, name=None, version=None, **kwargs):
        self.factory, self.args, self.kwargs = factory, args, kwargs
        self.name = name or getattr(factory, "__name__", "resource")
        self.version = version

    def _hn_build(self):
        return self.factory(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"Resource({self.name})"


def stateful(cls=None, *, version=None):
    """Class decorator: calling the class gives a :class:`Resource` built once per worker.

    ``Encoder(dim=128)`` then returns a resource spec; the expensive
    ``__init__`` runs lazily, once in each worker that needs it. The class
    itself stays reachable as ``Encoder.cls``.
    """
    def wrap(c):
        def make(*args, **kwargs):
            return Resource(c, *args, name=c.__name__, version=version, **kwargs)
        make.cls = c
        make.__name__ = c.__name__
        make.__doc__ = c.__doc__
        return make
    return wrap(cls) if cls is not None else wrap
