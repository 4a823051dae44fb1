"""Types: Python annotations to hypernodes type strings, and back to values.

A type string is what the C library prints (``int64``, ``list<utf8>``,
``struct<x: float64, y: float64>``); ``object<py>`` holds any Python object.
A *conv* says how structs come back to Python: ``None`` (dicts), a class
(a dataclass, called with the fields as keywords) or ``(conv,)`` for the
items of a list.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

OBJECT = "object<py>"

_SCALARS = {bool: "bool", int: "int64", float: "float64", str: "utf8", bytes: "binary"}
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.\-$]+$")
_EMPTY = inspect.Parameter.empty


def _quote(name: str) -> str:
    if _PLAIN_NAME.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_optional(ann) -> typing.Any:
    """X for Optional[X] / X | None, else None."""
    args = typing.get_args(ann)
    if len(args) == 2 and type(None) in args and typing.get_origin(ann) in (typing.Union,
                                                                           _union_type()):
        return args[0] if args[1] is type(None) else args[1]
    return None


def _union_type():
    import types

    return getattr(types, "UnionType", typing.Union)


def from_annotation(ann, *, output: bool = False):
    """(type string or None, conv) for an annotation; None means any type."""
    if ann is _EMPTY or ann is typing.Any or ann is None:
        return (OBJECT if output else None), None
    if isinstance(ann, str):
        return ann, None  # already a type string
    inner = _is_optional(ann)
    if inner is not None:
        return from_annotation(inner, output=output)
    if ann in _SCALARS:
        return _SCALARS[ann], None
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    homogeneous_tuple = origin is tuple and len(args) == 2 and args[1] is Ellipsis
    if (origin is list and args) or homogeneous_tuple:
        item, conv = from_annotation(args[0], output=True)
        return f"list<{item}>", ((conv,) if conv is not None else None)
    if dataclasses.is_dataclass(ann) and isinstance(ann, type):
        return _struct(typing.get_type_hints(ann)), ann
    if _is_typed_dict(ann):
        return _struct(typing.get_type_hints(ann)), None
    return OBJECT, None


def _is_typed_dict(ann) -> bool:
    return isinstance(ann, type) and issubclass(ann, dict) and hasattr(ann, "__total__")


def _struct(fields: dict) -> str:
    parts = []
    for name, ann in fields.items():
        t, _ = from_annotation(ann, output=True)
        parts.append(f"{_quote(name)}: {t}")
    return "struct<" + ", ".join(parts) + ">"


def explicit(t):
    """A type given explicitly: a type string or a Python type/annotation."""
    if t is None:
        return None, None
    if isinstance(t, str):
        return t, None
    return from_annotation(t, output=True)


def split_spec(spec: str):
    """'a, b: int64' -> [('a', None), ('b', 'int64')] (commas inside <> or quotes kept)."""
    out, depth, quote, cur = [], 0, False, ""
    for ch in spec or "":
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            depth += 1
        elif not quote and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    result = []
    for part in out:
        part = part.strip()
        if not part:
            continue
        name, sep, typ = part.partition(":")
        result.append((name.strip().strip('"'), typ.strip() if sep else None))
    return result
