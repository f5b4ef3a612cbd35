"""``jax.profiler``: annotations, trace sessions written as Chrome trace-event JSON, the
profile server and the pprof memory profile."""
from __future__ import annotations

import gzip
import json
import os
import stat
import threading
import urllib.request

import jax
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax import profiler


def _events(log_dir) -> list:
    (run,) = list((log_dir / "plugins" / "profile").iterdir())
    files = sorted(run.iterdir())
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    data = profiler.ProfileData.from_file(files[-1])
    return [e for line in data.planes[0].lines for e in line.events]


def test_a_trace_records_annotations_steps_and_jitted_calls(tmp_path):
    f = pyjax.jit(lambda x: jnp.sin(x) * 2.0)
    with profiler.TraceAnnotation("before"):  # (no session: nothing recorded)
        f(jnp.ones(3))

    @profiler.annotate_function
    def helper(x):
        return f(x)

    assert helper.__name__ == "helper"
    with profiler.trace(tmp_path, create_perfetto_trace=True):
        with profiler.StepTraceAnnotation("train", step_num=7):
            with profiler.TraceAnnotation("inner", tag="a"):
                helper(jnp.ones(3)).block_until_ready()
    files = sorted(p.name for p in next((tmp_path / "plugins" / "profile").iterdir()).iterdir())
    assert "perfetto_trace.json.gz" in files and any(n.endswith(".trace.json.gz") for n in files)
    events = {e.name: e for e in _events(tmp_path)}
    assert "before" not in events
    train, inner = events["train"], events["inner"]
    jitted, annotated = events["jit(<lambda>)"], events[helper.__qualname__]
    assert dict(train.stats) == {"step_num": "7"} and dict(inner.stats) == {"tag": "a"}
    for outer, nested in ((train, inner), (inner, annotated), (annotated, jitted)):
        assert outer.start_ns <= nested.start_ns and nested.end_ns <= outer.end_ns
    assert any("helper" in name and ".py" in name for name in events)  # (the Python tracer)


def test_the_trace_file_is_chrome_trace_event_json(tmp_path):
    with profiler.trace(tmp_path):
        with profiler.TraceAnnotation("span"):
            pass
    run = next((tmp_path / "plugins" / "profile").iterdir())
    doc = json.loads(gzip.decompress(next(run.iterdir()).read_bytes()))
    (span,) = [e for e in doc["traceEvents"] if e["name"] == "span"]
    assert span["ph"] == "X" and span["dur"] >= 0 and span["pid"] == os.getpid()


def test_host_tracer_level_zero_records_no_spans(tmp_path):
    options = profiler.ProfileOptions()
    options.host_tracer_level = options.python_tracer_level = 0
    with profiler.trace(tmp_path, profiler_options=options):
        with profiler.TraceAnnotation("span"):
            pyjax.jit(lambda x: x + 1)(1.0)
    assert _events(tmp_path) == []


def test_session_errors_match_jax(tmp_path):
    for lib in (jax.profiler, profiler):
        with pytest.raises(RuntimeError, match="No profile started"):
            lib.stop_trace()
    profiler.start_trace(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="Profile has already been started"):
            profiler.start_trace(tmp_path)
    finally:
        profiler.stop_trace()
    with pytest.raises(NotImplementedError, match="create_perfetto_link"):
        profiler.start_trace(tmp_path, create_perfetto_link=True)
    options = profiler.ProfileOptions()
    options.duration_ms = 5
    with pytest.raises(NotImplementedError, match="duration_ms"):
        profiler.start_trace(tmp_path, profiler_options=options)
    with pytest.raises(NotImplementedError, match="XSpace"):
        profiler.ProfileData.from_serialized_xspace(b"")


def test_the_profile_server_captures_other_threads():
    server = profiler.start_server(0)
    try:
        with pytest.raises(ValueError, match="Only one profiler server"):
            profiler.start_server(0)
        stop = threading.Event()

        def work():
            while not stop.is_set():
                with profiler.TraceAnnotation("worker-step"):
                    pyjax.jit(lambda x: x * 2)(jnp.ones(2))
        thread = threading.Thread(target=work)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.port}/profile?duration_ms=300"
            doc = json.loads(urllib.request.urlopen(url, timeout=30).read())
        finally:
            stop.set()
            thread.join()
        assert any(e["name"] == "worker-step" for e in doc["traceEvents"])
    finally:
        profiler.stop_server()
    with pytest.raises(ValueError, match="No active profiler server"):
        profiler.stop_server()


def _read_fields(data: bytes) -> list:
    """Top-level protocol-buffer fields as (number, int or bytes)."""
    out, i = [], 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
    while i < len(data):
        key = varint()
        if key & 7 == 0:
            out.append((key >> 3, varint()))
        else:
            n = varint()
            out.append((key >> 3, data[i:i + n]))
            i += n
    return out


def _packed(data: bytes) -> list:
    """Packed varints: each a field of number 0 to the reader."""
    return [v for _, v in _read_fields(bytes(b for n in _varints(data) for b in (0, *n)))]


def _varints(data: bytes) -> list:
    """Split packed varints into their byte groups."""
    groups, cur = [], []
    for b in data:
        cur.append(b)
        if not b & 0x80:
            groups.append(cur)
            cur = []
    return groups


def test_device_memory_profile_is_a_pprof_of_the_live_arrays(tmp_path):
    keep = jnp.asarray(np.zeros(123, np.float32))
    path = tmp_path / "memory.prof"
    profiler.save_device_memory_profile(path)
    fields = _read_fields(gzip.decompress(path.read_bytes()))
    strings = [v.decode() for n, v in fields if n == 6]
    assert strings[0] == "" and strings[1:5] == ["allocations", "count", "space", "bytes"]
    name = strings.index("pyjax.Array float32[123]")
    (function,) = [dict(_read_fields(v)) for n, v in fields if n == 5
                   and dict(_read_fields(v))[2] == name]
    samples = [dict(_read_fields(v)) for n, v in fields if n == 2]
    (sample,) = [s for s in samples if _packed(s[1]) == [function[1]]]
    count, size = _packed(sample[2])
    assert count >= 1 and size >= 123 * 4
    del keep
