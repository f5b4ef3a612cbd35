"""jax_debug_nans / jax_debug_infs against JAX: the same operations raise FloatingPointError
naming the same primitive (eagerly, under jit via the de-optimized rerun, under grad), the
message also giving the user's line; nothing is checked while the flags are off."""
import jax
import jax.numpy as jnp_ref
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp


@pytest.fixture
def flags():
    """``set(name, value)`` on both libraries; every flag restored afterwards."""
    names = ("jax_debug_nans", "jax_debug_infs")
    before = [(lib, n, getattr(lib.config, n)) for lib in (jax, pyjax) for n in names]
    yield lambda name, value: [lib.config.update(name, value) for lib in (jax, pyjax)]
    for lib, n, v in before:
        lib.config.update(n, v)


def _cases(lib, np_):
    def g(x):
        y = x * 2
        return np_.log(y)
    return {
        "eager_log": lambda: np_.log(np_.float32(-1.0)),
        "eager_div": lambda: np_.float32(0) / np_.float32(0),
        "jit_log": lambda: lib.jit(g)(np.float32(-1.0)),
        "grad_sqrt_at_0": lambda: lib.grad(np_.sqrt)(np.float32(0.0)),  # inf, not nan
        "jit_grad": lambda: lib.jit(lib.grad(lambda x: np_.sqrt(x) * 2))(np.float32(-1.0)),
        "vmap_log": lambda: lib.vmap(np_.log)(np.array([1.0, -1.0], np.float32)),
        "clean": lambda: lib.jit(g)(np.float32(3.0)),
    }


def _outcome(fn):
    try:
        return repr(np.asarray(fn()).tolist())  # (repr: nan equals nan)
    except FloatingPointError as e:
        return ("FloatingPointError", str(e).splitlines()[0].split(", but")[0])


@pytest.mark.parametrize("flag", ["jax_debug_nans", "jax_debug_infs"])
def test_flags_raise_where_jax_does(flag, flags):
    flags(flag, True)
    jax.clear_caches()  # (JAX's cached dispatch skips the checks for calls seen before)
    ours, theirs = _cases(pyjax, jnp), _cases(jax, jnp_ref)
    for name in ours:
        got, want = _outcome(ours[name]), _outcome(theirs[name])
        if name.startswith("jit") and isinstance(want, tuple):
            # JAX's de-optimized rerun still runs its cached jitted jnp functions, so the
            # primitive it names depends on what ran before; pyjax names the first one
            # making the value (checked below). Compare the class and the kind.
            got, want = (got[0], got[1].split(" in ")[0]), (want[0], want[1].split(" in ")[0])
        assert got == want, name
    if flag == "jax_debug_nans":
        assert _outcome(ours["jit_grad"])[1] == "invalid value (nan) encountered in sqrt"


def test_message_names_the_user_line(flags):
    flags("jax_debug_nans", True)
    with pytest.raises(FloatingPointError, match=r"in log\n.*test_debug_nans.py:\d+"):
        pyjax.jit(lambda x: jnp.log(x))(-1.0)


def test_off_by_default_and_as_context_managers():
    assert np.isnan(np.asarray(jnp.log(-1.0)))  # no check while off
    with pyjax.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"invalid value \(inf\) encountered in log"):
            jnp.log(0.0)
        assert np.isnan(np.asarray(jnp.log(-1.0)))  # infs only
    assert np.asarray(jnp.log(0.0)) == -np.inf
    assert pyjax.debug_nans.value is pyjax.debug_infs.value is False
