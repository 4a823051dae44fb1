"""Build of the extension hypernodes_c._hypernodes for pip.

    pip install --no-build-isolation ./python

It links the C library libhypernodes.so, found (in this order) through
$HYPERNODES_INCLUDE_DIR and $HYPERNODES_LIB_DIR, a build tree of this
repository (build/release, then build/debug: build one first with
`cmake --preset release && cmake --build --preset release`), or pkg-config
(an installed library). The library's directory is recorded as the
extension's run path, so it must stay there.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent


def pkg_config(flag):
    if not shutil.which("pkg-config"):
        return None
    try:
        out = subprocess.run(["pkg-config", flag, "hypernodes"], check=True, capture_output=True,
                             text=True).stdout.split()
    except subprocess.CalledProcessError:
        return None
    return [o[2:] for o in out]


def locate():
    inc, lib = os.environ.get("HYPERNODES_INCLUDE_DIR"), os.environ.get("HYPERNODES_LIB_DIR")
    if inc and lib:
        return inc.split(os.pathsep), lib.split(os.pathsep)
    for preset in ("release", "debug"):
        build = HERE.parent / "build" / preset
        if (build / "libhypernodes.so").exists():
            return [str(HERE.parent / "include"), str(build / "include")], [str(build)]
    inc, lib = pkg_config("--cflags-only-I"), pkg_config("--libs-only-L")
    if inc is not None and lib is not None:
        return inc, lib
    raise SystemExit("hypernodes_c: libhypernodes not found: set HYPERNODES_INCLUDE_DIR and "
                     "HYPERNODES_LIB_DIR, build the repository (cmake --preset release && "
                     "cmake --build --preset release), or install the library (pkg-config)")


include_dirs, library_dirs = locate()
ext = Extension(
    "hypernodes_c._hypernodes",
    sources=sorted(str(p.relative_to(HERE)) for p in (HERE / "src").glob("*.c")),
    include_dirs=include_dirs,
    library_dirs=library_dirs,
    runtime_library_dirs=library_dirs,
    libraries=["hypernodes"],
    extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
)

setup(ext_modules=[ext])
