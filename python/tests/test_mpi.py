"""The mpi engine from Python: every rank runs the same script; rank 0 gets the rows."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import hypernodes_c

SCRIPT = textwrap.dedent("""
    import os, sys
    from hypernodes_c import Engine, Error, Pipeline, node

    @node(output_name="y")
    def inc(x: int) -> int:
        return x + 1

    try:
        e = Engine("mpi")
    except Error as err:  # a build without the plugin
        print("NOMPI", err, flush=True)
        sys.exit(0)
    r = Pipeline(nodes=[inc]).map(inputs={"x": list(range(100))}, map_over="x", engine=e)
    with open(os.path.join(sys.argv[1], f"rows.{os.getpid()}"), "w") as f:  # one file per rank
        f.write(f"ROWS {len(r['y'])} {sum(r['y'])}")
""")


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec (Open MPI)")
def test_mpi_two_ranks(tmp_path):
    script = tmp_path / "m.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_pml="ob1",
               OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               PYTHONPATH=os.path.dirname(os.path.dirname(hypernodes_c.__file__)))
    # MPI is started in the child processes only: forking after MPI_Init (the
    # processes engine in later tests) is not safe in this process.
    out = subprocess.run(["mpiexec", "-n", "2", sys.executable, str(script), str(tmp_path)],
                         env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if "NOMPI" in out.stdout:
        pytest.skip(out.stdout.strip())
    rows = sorted(p.read_text() for p in tmp_path.glob("rows.*"))
    assert rows == ["ROWS 0 0", f"ROWS 100 {sum(range(1, 101))}"]
