"""Native code as C (``backends/cpu/ccompiler.py``, ``c_kernels.py``, ``compiler/emit_c.py``)
gives the NumPy forms' bits: every fused group of ``test_native_loop.GROUPS`` and the
hand-written kernels, also when loaded back from the persistent cache, and after its
entries are corrupted; and the cache itself (``backends/cpu/cache.py``) is private,
whole under concurrent writers, and falls back where it cannot be written."""
import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

import pyjax
from pyjax._src.backends.cpu import c_kernels, cache, ccompiler, native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.config import config
from pyjax._src.core.primitive import REGISTRY, NativeForm
from pyjax._src.lax import elementwise, special, threefry

from test_native_loop import GROUPS, _caught, _group_args, _run_group, _same

if ccompiler.compiler() is None:
    pytest.skip("no C compiler", allow_module_level=True)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache folder, C code compiled when first wanted (not in the background),
    and nothing loaded yet in this process."""
    folder = tmp_path / "cache"
    monkeypatch.setitem(config._values, "jax_compilation_cache_dir", str(folder))
    monkeypatch.setattr(POLICY, "native_backend", "c")
    monkeypatch.setattr(POLICY, "native_background", False)
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(native, "_C_KERNELS", {})
    return folder


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "whole"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GROUPS))
def test_c_groups_give_the_numpy_bits(name, dtype, blocked, cache_dir, monkeypatch, x64):
    fn, numpy_only = GROUPS[name]
    args = _group_args(dtype)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False, blocked=blocked)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True, blocked=blocked)
    _same(got, want)
    assert any(k.native is not None and k.native.c for k in groups) == (not numpy_only), name
