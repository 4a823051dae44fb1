"""Shared fixtures: the engines every conformance test runs on, the C node library."""

import os
import pathlib

import pytest

import hypernodes_c

ENGINES = ("sequential", "threads", "columnar", "processes")


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each engine, by name (the package caches one per thread)."""
    return request.param


def cnodes_path():
    """The test node library: $HYPERNODES_TEST_CNODES or beside the built package."""
    env = os.environ.get("HYPERNODES_TEST_CNODES")
    if env:
        return env
    here = pathlib.Path(hypernodes_c.__file__).resolve().parent.parent
    p = here / "tests" / "libhn_test_cnodes.so"
    return str(p) if p.exists() else None


@pytest.fixture(scope="session")
def cnodes():
    path = cnodes_path()
    if path is None:
        pytest.skip("the C node library libhn_test_cnodes.so is not built")
    return hypernodes_c.load_nodes(path)
