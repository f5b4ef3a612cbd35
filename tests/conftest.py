"""Fixtures shared by the test files."""
import jax
import pytest

from harness import x64_mode


@pytest.fixture
def x64():
    """64-bit mode on in pyjax and JAX together (float64 gradients, x64 dtype rules);
    both restored afterwards. JAX's caches are cleared on the way in and out: JAX reuses
    an inner jit's 32-bit lowering under x64 otherwise (``jnp.polyder`` after a 32-bit
    run fails its own compile)."""
    jax.clear_caches()
    with x64_mode():
        yield
    jax.clear_caches()
