"""The extension API as Haiku reaches it. A ``jax.core.Trace`` subclass written to JAX's
protocol (made as ``Trace()``, without a parent trace: ``hk.experimental.to_dot``) is
refused with NotImplementedError naming it, not run half-way; defining one (at a library's
import) still works. ``jax.interpreters`` is an attribute of ``jax`` once imported."""
import subprocess
import sys

import pytest

import pyjax
import pyjax.core as jax_core
from pyjax.extend import core as jex_core


class LibraryTrace(jax_core.Trace):
    """A trace as Haiku's DotTrace is written."""

    def __init__(self, parent_trace):
        super().__init__()
        self.parent_trace = parent_trace

    def process_primitive(self, primitive, tracers, params):
        return primitive.bind_with_trace(self.parent_trace, tracers, params)


def test_library_trace_is_refused_naming_it():
    with jex_core.take_current_trace() as parent:
        with pytest.raises(NotImplementedError, match="LibraryTrace.*jax.core.Trace subclass"):
            LibraryTrace(parent)


def test_pyjax_traces_still_work():
    assert float(pyjax.grad(lambda x: x * x)(3.0)) == 6.0


def test_interpreters_is_an_attribute_after_import_as_in_jax():
    code = "import {0}; print({0}.interpreters.ad.deflinear.__name__)"
    for lib in ("pyjax", "jax"):
        out = subprocess.run([sys.executable, "-c", code.format(lib)], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0 and out.stdout.strip() == "deflinear", out.stderr
