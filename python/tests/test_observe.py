"""The C library's observers from Python: progress bar, profile, trace, chunk events."""

import json

from hypernodes_c import Pipeline, Profile, Trace, node


@node(output_name="y")
def double(x: int) -> int:
    return 2 * x


P = Pipeline(nodes=[double], name="dbl")


def test_profile_counts_every_call(engine):
    prof = Profile()
    P.map(inputs={"x": list(range(300))}, map_over="x", engine=engine, profile=prof)
    [entry] = [n for n in prof.nodes() if n["node"] == "double"]
    assert entry["engine"] == engine and entry["rows"] == 300 and entry["total_ns"] > 0
    assert "double" in prof.text()
    assert isinstance(json.loads(prof.json()), dict)
    prof.reset()
    assert prof.nodes() == []


def test_trace_file(tmp_path, engine):
    tr = Trace()
    events = []
    P.map(inputs={"x": list(range(50))}, map_over="x", engine=engine, trace=tr,
          callbacks={"on_map_end": events.append})  # chained with the trace
    recorded, dropped = tr.counts()
    assert recorded > 0 and dropped == 0 and len(events) == 1
    path = tmp_path / "trace.json"
    tr.write(str(path))
    doc = json.loads(path.read_text())
    names = {e.get("name") for e in doc["traceEvents"]}
    assert "double" in names


def test_progress_bar_always(capfd):
    P.map(inputs={"x": list(range(20))}, map_over="x", progress="always")
    err = capfd.readouterr().err
    assert "20/20" in err


def test_progress_silent_off_a_terminal(capfd):
    P.map(inputs={"x": list(range(20))}, map_over="x", progress=True)
    assert "20/20" not in capfd.readouterr().err


def test_chunk_events_and_timed_fields():
    seen = []
    P.map(inputs={"x": list(range(100))}, map_over="x", engine="threads",
          callbacks={"on_chunk_end": seen.append})
    assert sum(e["n_items"] for e in seen) == 100
    assert all(e["duration_ns"] >= 0 and e["engine"] == "threads" for e in seen)
