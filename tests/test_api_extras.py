"""The rest of JAX's top-level API, against JAX: host transfers, typeof, config states,
compile-time evaluation, custom_gradient, closure_convert, ravel_pytree, test_util."""
import functools

import jax
import jax.numpy as jnp_ref
import jax.test_util  # noqa: F401
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from harness import assert_same, to_jax


def test_device_get_process_and_version():
    tree = {"a": np.arange(3, dtype=np.float32), "b": 1.5, "c": None}
    ours, theirs = pyjax.device_get(pyjax.device_put(tree)), jax.device_get(jax.device_put(tree))
    assert type(ours["a"]) is type(theirs["a"]) is np.ndarray and ours["b"] == theirs["b"]
    assert (pyjax.process_index(), pyjax.process_count()) == (jax.process_index(), jax.process_count())
    # the version of the JAX API implemented, as libraries compare it under the import swap
    assert (pyjax.__version__, pyjax.__version_info__) == (jax.__version__, jax.__version_info__)
    assert issubclass(pyjax.errors.JaxRuntimeError, RuntimeError)
    with pytest.raises(RuntimeError):
        pyjax.process_index(backend="tpu")


@pytest.mark.parametrize("x", [1.0, 2, np.ones((2, 3), np.int32), np.float32(1)])
def test_typeof(x):
    assert str(pyjax.typeof(x)) == str(jax.typeof(x))
    assert pyjax.typeof(jnp.asarray(x)).weak_type == jax.typeof(jnp_ref.asarray(x)).weak_type


def test_states_as_context_managers():
    assert pyjax.enable_x64.value is jax.enable_x64.value is False
    with pyjax.enable_x64(True), jax.enable_x64(True):
        assert jnp.ones(2).dtype == jnp_ref.ones(2).dtype == np.float64
        assert pyjax.enable_x64.value
    assert jnp.ones(2).dtype == np.float32

    @pyjax.enable_x64(True)
    def f():
        return jnp.arange(2).dtype
    assert f() == np.int64
    with pyjax.default_matmul_precision("highest"):
        assert pyjax.config.jax_default_matmul_precision == "highest"
    for state in ("default_matmul_precision", "numpy_rank_promotion", "numpy_dtype_promotion"):
        with pytest.raises(ValueError):
            getattr(jax, state)("bogus")
        with pytest.raises(ValueError):
            getattr(pyjax, state)("bogus")
    with pytest.raises(NotImplementedError, match="jax_numpy_dtype_promotion"):
        pyjax.numpy_dtype_promotion("strict")
    with pyjax.numpy_rank_promotion("allow"), pyjax.enable_checks(True):
        assert pyjax.jit(lambda x: x + 1)(1.0) == 2.0


def test_ensure_compile_time_eval_under_jit():
    seen = []

    def f(x):
        with pyjax.ensure_compile_time_eval():
            y = jnp.sin(3.0)
            seen.append((type(y), type(x + y)))
            n = int(jnp.sum(jnp.arange(4)))  # concrete: usable as a Python int
        return x * n + y

    def f_ref(x):
        with jax.ensure_compile_time_eval():
            y = jnp_ref.sin(3.0)
            n = int(jnp_ref.sum(jnp_ref.arange(4)))
        return x * n + y

    assert_same(pyjax.jit(f)(2.0), jax.jit(f_ref)(2.0))
    assert seen[0][0] is type(jnp.ones(1)) and seen[0][1] is not type(jnp.ones(1))


def test_custom_gradient_matches_jax():
    def make(np_):
        def f(x, y):
            def vjp(g):
                return g * 3.0 * y, g * x
            return np_.sin(x) * y, vjp
        return f

    ours, theirs = pyjax.custom_gradient(make(jnp)), jax.custom_gradient(make(jnp_ref))
    args = (np.float32(0.5), np.float32(2.0))
    assert_same(pyjax.grad(ours, argnums=(0, 1))(*args), jax.grad(theirs, argnums=(0, 1))(*args))
    assert_same(pyjax.jit(pyjax.grad(ours))(*args), jax.jit(jax.grad(theirs))(*args))
    xs = np.linspace(0, 1, 4, dtype=np.float32)
    assert_same(pyjax.vmap(pyjax.grad(ours), (0, None))(xs, args[1]),
                jax.vmap(jax.grad(theirs), (0, None))(xs, args[1]))
    assert_same(ours(*args), theirs(*args))


def test_closure_convert_hoists_traced_floats():
    def outer(np_, convert, grad):
        def g(w):
            scale, count = w * 2.0, np_.int32(3)
            fun = lambda x: x * scale + count  # noqa: E731
            converted, consts = convert(fun, w)
            assert len(consts) == 1  # the float tracer, not the int constant
            return converted(w, *consts)
        return grad(g)(1.5)

    assert_same(outer(jnp, pyjax.closure_convert, pyjax.grad),
                outer(jnp_ref, jax.closure_convert, jax.grad))
    converted, consts = pyjax.closure_convert(lambda x: x + 1, 1.0)
    assert consts == [] and converted(2.0) == 3.0
    with pytest.raises(TypeError, match="same Pytree structure"):
        converted((2.0,))


def test_named_scope_and_named_call():
    def f(x):
        with pyjax.named_scope("inner"):
            return x * 2
    g = pyjax.named_call(f, name="outer")
    assert g(3.0) == 6.0 and pyjax.jit(g)(3.0) == 6.0
    with pytest.raises(TypeError):
        with pyjax.named_scope(3):
            pass


def test_live_arrays_and_clear_caches():
    x = jnp.arange(5)
    assert any(a is x for a in pyjax.live_arrays())
    traces = []
    f = pyjax.jit(lambda v: traces.append(1) or v + 1)
    f(x)
    f(x)
    pyjax.clear_caches()
    f(x)
    assert len(traces) == 2


def test_checkpoint_policies_names_and_use():
    assert sorted(n for n in dir(jax.checkpoint_policies) if not n.startswith("_")) == \
        sorted(n for n in vars(pyjax.checkpoint_policies))
    f = lambda x: jnp.sin(jnp.dot(x, x))  # noqa: E731
    f_ref = lambda x: jnp_ref.sin(jnp_ref.dot(x, x))  # noqa: E731
    x = np.linspace(0, 1, 3, dtype=np.float32)
    for name in ("dots_saveable", "nothing_saveable", "everything_saveable"):
        ours = pyjax.grad(pyjax.checkpoint(f, policy=getattr(pyjax.checkpoint_policies, name)))(x)
        theirs = jax.grad(jax.checkpoint(f_ref, policy=getattr(jax.checkpoint_policies, name)))(x)
        assert_same(ours, theirs)


@pytest.mark.parametrize("tree", [
    {"a": np.ones((2, 2), np.float32), "b": 3, "c": np.arange(2, dtype=np.int32)},
    [np.float32(1), (np.ones(3, np.float32),)], [], 1.0])
def test_ravel_pytree(tree):
    from jax.flatten_util import ravel_pytree as ravel_ref
    flat, unravel = pyjax.flatten_util.ravel_pytree(tree)
    flat_ref, unravel_ref = ravel_ref(to_jax(tree))
    assert_same(flat, flat_ref)
    assert_same(unravel(flat), unravel_ref(flat_ref))
    with pytest.raises(ValueError):
        unravel(jnp.ones(flat.size + 1))


def test_check_grads_passes_and_fails():
    pyjax.test_util.check_grads(lambda x, y: jnp.sin(x) * y, (np.ones(3), np.full(3, 2.0)), 2)
    wrong = pyjax.custom_jvp(jnp.sin)
    wrong.defjvp(lambda p, t: (jnp.sin(p[0]), 2 * t[0]))
    for mode in ("fwd", "rev"):
        with pytest.raises(AssertionError):
            pyjax.test_util.check_grads(wrong, (np.ones(3),), 1, modes=(mode,))
    jax.test_util.check_grads(jnp_ref.sin, (np.ones(3),), 1)  # the same call shape as JAX's


def test_device_class_default_device_and_host_copies():
    assert all(isinstance(d, pyjax.Device) for d in pyjax.devices())
    assert all(isinstance(d, jax.Device) for d in jax.devices())
    for lib, np_ in ((pyjax, jnp), (jax, jnp_ref)):
        with lib.default_device(lib.devices()[0]):
            assert lib.default_device.value == lib.devices()[0]
            x = np_.ones(2)
        assert lib.default_device.value is None
        assert lib.copy_to_host_async(x) is x and lib.effects_barrier() is None
    assert pyjax.version.__version__ == pyjax.__version__


def test_check_grads_steps_like_jax():
    """The finite differences are JAX's, bit for bit (its steps in the leaves' dtype), and
    check_vjp draws its random directions in JAX's order: a function whose float32 finite
    difference is close to its tolerance (chex's own test) passes or fails on both alike."""
    from jax._src import public_test_util as ref_util

    from pyjax._src import test_util as our_util
    args = (np.linspace(-1, 1, 5, dtype=np.float32), np.float32(0.3))
    tangents = (np.arange(5, dtype=np.float32) / 7, np.float32(-0.5))
    ours = our_util.numerical_jvp(lambda x, a: jnp.tanh(x * a) * 3, args, tangents)
    theirs = ref_util.numerical_jvp(lambda x, a: jnp_ref.tanh(x * a) * 3, args, tangents)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))

    def hard(jnp_mod, lax_mod, grad):
        def f(lr, x):
            inner_grad = grad(lambda y: jnp_mod.sum((y - 1.0) ** 2))
            for _ in range(10):
                x1 = x - lr * inner_grad(x) + 100 * lr ** 2
                x2 = x - lr * inner_grad(x) - 100 * lr ** 2
                x = lax_mod.select((x > 3.0).any(), x1, x2 + lr)
            return jnp_mod.sum((x - 1.0) ** 2)
        return f
    rng = np.random.RandomState(1)
    point = (rng.uniform(size=(1, 1)).astype(np.float32),
             rng.uniform(size=(3, 5)).astype(np.float32))
    outcomes = []
    for mod, f in [(pyjax, hard(jnp, pyjax.lax, pyjax.grad)),
                   (jax, hard(jnp_ref, jax.lax, jax.grad))]:
        try:
            mod.test_util.check_grads(f, point, order=1, modes=("rev",), atol=0.15)
            outcomes.append("pass")
        except AssertionError:
            outcomes.append("fail")
    assert outcomes[0] == outcomes[1]
