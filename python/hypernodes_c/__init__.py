"""hypernodes_c: the hypernodes C engines for Python pipelines.

Import name ``hypernodes_c`` (distribution ``hypernodes-c``), so it installs
beside the original ``hypernodes`` Python package. See docs/python.md.

    from hypernodes_c import Pipeline, node

    @node(output_name="cleaned")
    def clean(text: str) -> str:
        return text.strip().lower()

    Pipeline(nodes=[clean]).map(inputs={"text": ["  A ", "B"]}, map_over="text",
                                engine="threads")
"""

import atexit as _atexit

from . import _hypernodes
from ._hypernodes import Error, NodeError
from ._node import CNode, Node, Resource, code_hash, load_nodes, node, stateful
from ._pipeline import (Cache, Diagram, Engine, Pipeline, PipelineNode, Profile, Trace,
                        _shutdown_engines, get_engine)
from ._result import Result

__version__ = "0.1.0"
library_version = _hypernodes.library_version()
ENGINES = tuple(_hypernodes.engine_kinds())

_atexit.register(_shutdown_engines)

__all__ = ["node", "Node", "Pipeline", "PipelineNode", "Engine", "Cache", "Result", "Resource",
           "stateful", "CNode", "Profile", "Trace", "load_nodes", "Error", "NodeError", "Diagram", "get_engine",
           "code_hash", "ENGINES", "library_version"]
