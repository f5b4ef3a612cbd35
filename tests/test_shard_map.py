"""Many devices in one process: meshes, shardings, placement, ``shard_map`` with every
collective, JAX's varying-manual-axes typing of gradients (``check_vma`` on and off),
composition with jit/vmap/scan/grad, ``pmap``, and the errors for bad specs: each case of
``spmd_cases.py`` against real JAX on 4 virtual CPU devices (one JAX subprocess for all)."""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pyjax
from pyjax._src.config import config

import spmd_cases

HERE = Path(__file__).parent

# The pictures JAX 0.10.2 prints with rich 15 (JAX needs rich for them; where the reference
# process lacks it, the cases compare with these).
PICTURES = {
    "picture_1d": "┌───────┬───────┐\n│CPU 0,1│CPU 2,3│\n└───────┴───────┘\n",
    "picture_one": "┌───────┐\n│ CPU 0 │\n└───────┘\n",
    "picture_cols": "┌───────┬───────┬───────┬───────┐\n" + "│       │       │       │       │\n" * 4
    + "│ CPU 0 │ CPU 1 │ CPU 2 │ CPU 3 │\n" + "│       │       │       │       │\n" * 4
    + "└───────┴───────┴───────┴───────┘\n",
    "picture_grid": "┌──────────┬──────────┐\n│          │          │\n│  CPU 0   │  CPU 1   │\n"
    "│          │          │\n│          │          │\n├──────────┼──────────┤\n"
    "│          │          │\n│  CPU 2   │  CPU 3   │\n│          │          │\n"
    "│          │          │\n└──────────┴──────────┘\n",
    "picture_rows": "┌───────────────────────┐\n│                       │\n│        CPU 0,1        │\n"
    "│                       │\n│                       │\n├───────────────────────┤\n"
    "│                       │\n│        CPU 2,3        │\n│                       │\n"
    "│                       │\n└───────────────────────┘\n",
}


def _four_devices():
    previous = config.jax_num_cpu_devices
    config.update("jax_num_cpu_devices", spmd_cases.N_DEVICES)
    return previous


_prev = _four_devices()
NAMES = list(spmd_cases.cases(pyjax))
config.update("jax_num_cpu_devices", _prev)


def _results(tmp_path):
    """(ours, JAX's) for every case."""
    out = tmp_path / "jax.pickle"
    env = {**os.environ, "JAX_NUM_CPU_DEVICES": str(spmd_cases.N_DEVICES),
           "JAX_PLATFORMS": "cpu"}
    env.pop("PYTHONPATH", None)
    subprocess.run([sys.executable, str(HERE / "spmd_cases.py"), str(out)], check=True,
                   env=env, cwd=HERE, timeout=900)  # (~25 s of CPU; wall time under load)
    with open(out, "rb") as f:
        theirs = pickle.load(f)
    previous = _four_devices()
    try:
        ours = spmd_cases.run(pyjax)
    finally:
        config.update("jax_num_cpu_devices", previous)
    return ours, theirs


def _same(a, b, where):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), where
        for k in b:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(b, np.ndarray):
        a = np.asarray(a)
        assert (a.shape, a.dtype) == (b.shape, b.dtype), where
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6, err_msg=where)
    else:
        assert a == b, where


def _message(text: str) -> str:
    """An error message without what differs only by JAX's internals: the traced
    function's name (JAX wraps it) and the source location it appends."""
    text = re.sub(r"function '[^']*'", "function 'f'", text)
    return text.split(" This error occurs at source")[0]


def _check(mine, ref, name):
    if name in PICTURES and ref[0] == "err" and "rich" in ref[2]:
        ref = ("ok", PICTURES[name])
    assert mine[0] == ref[0], (mine, ref)
    if ref[0] == "err":
        assert mine[1] == ref[1], (mine, ref)
        assert _message(mine[2]) == _message(ref[2])
    else:
        _same(mine[1], ref[1], name)


def test_cases_match_jax(tmp_path):
    """Every case of spmd_cases.py (one test, so one JAX subprocess under xdist too);
    the failures are listed together."""
    ours, theirs = _results(tmp_path)
    assert sorted(theirs) == sorted(NAMES)
    failures = []
    for name in NAMES:
        try:
            _check(ours[name], theirs[name], name)
        except AssertionError as e:
            failures.append(f"{name}: {str(e)[:2000]}")
    assert not failures, "\n\n".join(failures)


def test_auto_pcast_off_is_refused():
    """JAX's strict mode (``auto_pcast(False)``: mixing varying and invariant operands is an
    error) is not pyjax's, which always broadcasts as JAX's default does: turning it off,
    by context manager or config.update, raises NotImplementedError naming the flag."""
    import jax
    assert pyjax.auto_pcast.value is jax.auto_pcast.value is True
    with pytest.raises(NotImplementedError, match="jax_auto_pcast=False"):
        pyjax.auto_pcast(False)
    with pytest.raises(NotImplementedError, match="jax_auto_pcast=False"):
        config.update("jax_auto_pcast", False)
    with pyjax.auto_pcast(True):
        assert config.jax_auto_pcast is True
    env = {**os.environ, "JAX_AUTO_PCAST": "0",
           "PYTHONPATH": str(Path(pyjax.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", "import pyjax"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0 and "jax_auto_pcast=False is not implemented" in out.stderr


def test_collective_outside_scope():
    """A collective over an axis no shard_map binds: the NameError of a named axis JAX's
    collectives raise outside any map (JAX's shard_map trips an internal assertion)."""
    _four_devices()
    try:
        mesh = pyjax.sharding.Mesh(np.array(pyjax.devices()), ("i",))
        f = pyjax.shard_map(lambda v: pyjax.lax.psum(v, "j"), mesh=mesh,
                            in_specs=pyjax.P("i"), out_specs=pyjax.P())
        with pytest.raises(NameError, match="unbound axis name: j"):
            f(np.arange(8.0, dtype=np.float32))
    finally:
        config.update("jax_num_cpu_devices", _prev)


def test_device_count_sources(monkeypatch):
    """``jax_num_cpu_devices`` wins; else XLA's host device count flag; else one."""
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    previous = config.jax_num_cpu_devices
    try:
        config.update("jax_num_cpu_devices", -1)
        assert pyjax.device_count() == 3
        config.update("jax_num_cpu_devices", 2)
        assert [d.id for d in pyjax.devices()] == [0, 1]
        monkeypatch.delenv("XLA_FLAGS")
        config.update("jax_num_cpu_devices", -1)
        assert pyjax.devices() == [pyjax.devices()[0]] and pyjax.device_count() == 1
    finally:
        config.update("jax_num_cpu_devices", previous)


def test_collectives_in_bodies_under_named_vmap():
    """A scan's or cond's body batched by a named vmap's rule keeps the name: collectives
    inside reach the axis (as in JAX)."""
    import jax
    x = np.arange(4.0, dtype=np.float32)
    for lib in (pyjax, jax):
        lax = lib.lax
        got = (lib.vmap(lambda v: lax.scan(lambda c, _: (c + lax.psum(v, "i"), None), 0.0,
                                           None, length=3)[0], axis_name="i")(x),
               lib.vmap(lambda v: lax.cond(v > 1, lambda: lax.psum(v, "i"), lambda: v),
                        axis_name="i")(x))
        if lib is pyjax:
            ours = got
    for a, b in zip(ours, got):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype


def _ragged_reference(operands, outputs, in_off, send, out_off):
    """JAX's documented semantics of ragged_all_to_all (its docstring's send/receive
    loops), member by member in NumPy: JAX's CPU backend cannot run it (XLA:CPU has no
    ragged-all-to-all), so this is the oracle."""
    n, slots = len(operands), len(in_off[0])
    per = slots // n
    results = [o.copy() for o in outputs]
    for sender in range(n):
        for i in range(slots):
            dst, a, k, at = i // per, in_off[sender][i], send[sender][i], out_off[sender][i]
            results[dst][at:at + k] = operands[sender][a:a + k]
    return np.concatenate(results)


def test_ragged_all_to_all():
    """Random ragged exchanges on 4 devices against the NumPy oracle, eagerly, jitted,
    under vmap (against a loop) and with check_grads (forward and reverse)."""
    from pyjax.test_util import check_grads
    previous = _four_devices()
    try:
        n, rows, out_rows, per = 4, 6, 17, 2
        rng = np.random.default_rng(0)
        mesh = pyjax.sharding.Mesh(np.array(pyjax.devices()), ("i",))
        f = pyjax.shard_map(lambda *a: pyjax.lax.ragged_all_to_all(*a, axis_name="i"),
                            mesh=mesh, in_specs=pyjax.P("i"), out_specs=pyjax.P("i"))
        # every receiver gets n*per slices of 0-2 rows, at disjoint even rows
        send = rng.integers(0, 3, (n, n * per)).astype(np.int32)
        in_off = rng.integers(0, rows - 2, (n, n * per)).astype(np.int32)
        out_off = np.zeros((n, n * per), np.int32)
        for dst in range(n):
            places = 2 * rng.permutation(n * per)
            for k, (sender, t) in enumerate((s, t) for s in range(n) for t in range(per)):
                out_off[sender, dst * per + t] = places[k]
        recv = np.stack([send[:, d * per:(d + 1) * per].reshape(-1) for d in range(n)])
        ops = rng.standard_normal((n, rows, 3)).astype(np.float32)
        outs = rng.standard_normal((n, out_rows, 3)).astype(np.float32)
        flat = lambda a: a.reshape((-1,) + a.shape[2:])  # noqa: E731
        index = [flat(a) for a in (in_off, send, out_off, recv)]
        want = _ragged_reference(list(ops), list(outs), in_off, send, out_off)
        got = f(flat(ops), flat(outs), *index)
        np.testing.assert_array_equal(np.asarray(got), want)
        np.testing.assert_array_equal(np.asarray(pyjax.jit(f)(flat(ops), flat(outs), *index)),
                                      want)
        batched = pyjax.vmap(lambda a, b: f(a, b, *index))(np.stack([flat(ops), flat(ops) * 2]),
                                                           np.stack([flat(outs), -flat(outs)]))
        np.testing.assert_array_equal(np.asarray(batched[0]), want)
        np.testing.assert_array_equal(np.asarray(batched[1]), _ragged_reference(
            list(ops * 2), list(-outs), in_off, send, out_off))
        check_grads(lambda a, b: f(a, b, *index), (flat(ops), flat(outs)), order=1,
                    modes=("fwd", "rev"))
        with pytest.raises(ValueError, match="input_offsets must be integer type"):
            f(flat(ops), flat(outs), index[0].astype(np.float32), *index[1:])
    finally:
        config.update("jax_num_cpu_devices", previous)


def test_unplaced_results_on_default_device():
    """docs/scale-out.md, "Shardings of results": results nothing placed (eager operations,
    jit of unannotated code, with_sharding_constraint inside jit) come back on the default
    device; values are those of the sharded inputs' computation; placing ones keep theirs."""
    previous = _four_devices()
    try:
        mesh = pyjax.sharding.Mesh(np.array(pyjax.devices()), ("i",))
        rows = pyjax.sharding.NamedSharding(mesh, pyjax.P("i"))
        x = pyjax.device_put(np.arange(8.0, dtype=np.float32), rows)
        default = pyjax.sharding.SingleDeviceSharding(pyjax.devices()[0])
        wsc = pyjax.lax.with_sharding_constraint
        for out in (pyjax.numpy.sin(x), pyjax.jit(lambda v: v * 2)(x),
                    pyjax.jit(lambda v: wsc(v * 2, rows))(x)):
            assert out.sharding == default
        assert np.asarray(pyjax.jit(lambda v: v * 2)(x)).tolist() == list(range(0, 16, 2))
        assert pyjax.jit(lambda v: v * 2, out_shardings=rows)(x).sharding == rows
        assert wsc(x * 2, rows).sharding == rows
    finally:
        config.update("jax_num_cpu_devices", previous)


def _manual_axis_type_facts(lib):
    import pickle
    M, am = lib.sharding.ManualAxisType, lib.sharding.AbstractMesh
    out = []
    for thunk in [
            lambda: repr(M(varying={"x"}, reduced=frozenset({"y"}))),
            lambda: (M(varying={"x"}) is M(varying=frozenset({"x"})), M() is M(),
                     M(varying={"x"}) is M(varying={"y"}), M().empty, M(varying={"x"}).empty),
            lambda: M(varying={"x"}, unreduced={"x"}),
            lambda: M(varying={"x"}, reduced={"x"}),
            lambda: M(varying=["x"]),
            lambda: M({"x"}),
            lambda: setattr(M(), "varying", frozenset()),
            lambda: repr(M(varying={"x"}).update(reduced={"y"})),
            lambda: repr(M(unreduced={"a"}, reduced={"b"}, varying={"c"}).to_ct_mat()),
            lambda: sorted(M(unreduced={"a"}, reduced={"b"}, varying={"c"}).vur),
            lambda: pickle.loads(pickle.dumps(M(varying={"x"}))) is M(varying={"x"}),
            lambda: sorted(M(varying={"x"}).invarying(am(
                (2, 2), ("x", "y"), axis_types=(lib.sharding.AxisType.Manual,) * 2)))]:
        try:
            out.append(("ok", thunk()))
        except Exception as e:  # noqa: BLE001  (the error is the result compared)
            out.append(("err", type(e).__name__, str(e)))
    return out


def test_manual_axis_type_matches_jax():
    """JAX's type-level record of varying/unreduced/reduced axes: interned values, its
    errors, immutability, update, the cotangent type, pickling."""
    import jax
    assert _manual_axis_type_facts(pyjax) == _manual_axis_type_facts(jax)


def test_inferring_in_specs_from_a_tracer_is_refused():
    """JAX reads a traced argument's sharding off its type; pyjax's types have none, so
    under jit the inferred spec would be replicated (four copies side by side): refused."""
    _four_devices()
    try:
        mesh = pyjax.make_mesh((4,), ("i",))
        with pyjax.set_mesh(mesh):
            a = pyjax.reshard(np.arange(8.0, dtype=np.float32), pyjax.P("i"))
            f = pyjax.smap(lambda v: v * 2, out_axes=0, axis_name="i")
            assert f(a).shape == (8,)
            for g in (pyjax.jit(f), pyjax.jit(pyjax.shard_map(lambda v: v, out_specs=pyjax.P("i")))):
                with pytest.raises(NotImplementedError, match="inferring in_specs"):
                    g(a)
    finally:
        config.update("jax_num_cpu_devices", _prev)
