"""Fixtures shared by the test files."""
import jax
import pytest

import pyjax


@pytest.fixture
def x64():
    """64-bit mode on in pyjax and JAX together (float64 gradients, x64 dtype rules);
    both restored afterwards."""
    before = pyjax.config.jax_enable_x64, jax.config.jax_enable_x64
    pyjax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_x64", True)
    jax.clear_caches()  # (JAX reuses an inner jit's 32-bit lowering under x64 otherwise)
    yield
    pyjax.config.update("jax_enable_x64", before[0])
    jax.config.update("jax_enable_x64", before[1])
    jax.clear_caches()
