"""pyjax.example_libraries (our own optimizers and stax, with JAX's API) against
jax.example_libraries: the same parameters after a few steps, the same initializations
from the same keys, the same layer outputs."""
import jax
import jax.example_libraries.optimizers as j_opt
import jax.numpy as jnp_ref
import numpy as np
import pytest

import pyjax
import pyjax.example_libraries.optimizers as opt
import pyjax.numpy as jnp
from harness import assert_same

_PARAMS = {"w": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
           "b": np.float32(0.5), "v": [np.arange(3, dtype=np.float32)]}

_OPTIMIZERS = [
    ("sgd", (0.1,), {}), ("momentum", (0.1, 0.9), {}), ("nesterov", (0.1,), {"mass": 0.8}),
    ("adagrad", (0.1,), {}), ("rmsprop", (0.05,), {"gamma": 0.8}),
    ("rmsprop_momentum", (0.05,), {}), ("adam", (0.01,), {}), ("adamax", (0.02,), {}),
    ("sm3", (0.1,), {}),
    ("sgd", ("exponential_decay", 0.1, 2, 0.5), {}),
    ("momentum", ("inverse_time_decay", 0.1, 2, 0.5), {"mass": 0.5}),
    ("adam", ("inverse_time_decay", 0.1, 2, 0.5, True), {}),
    ("sgd", ("polynomial_decay", 0.1, 3, 0.01, 2.0), {}),
    ("sgd", ("piecewise_constant", [1, 2], [0.1, 0.05, 0.01]), {}),
]


def _loss(np_):
    def loss(p):
        return np_.sum(np_.tanh(p["w"]) ** 2) + p["b"] ** 2 + np_.sum(p["v"][0] ** 3)
    return loss


def _make(lib_opt, name, args, kwargs):
    if args and isinstance(args[0], str):  # a schedule as the step size
        args = (getattr(lib_opt, args[0])(*args[1:]),)
    return getattr(lib_opt, name)(*args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs", _OPTIMIZERS,
                         ids=[f"{n}-{a[0] if isinstance(a[0], str) else 'const'}"
                              for n, a, _ in _OPTIMIZERS])
def test_optimizer_steps_match_jax(name, args, kwargs):
    results = []
    for lib, lib_opt, np_ in ((pyjax, opt, jnp), (jax, j_opt, jnp_ref)):
        init, update, get_params = _make(lib_opt, name, args, kwargs)
        grad, update = lib.jit(lib.grad(_loss(np_))), lib.jit(update)
        state = init(_PARAMS)
        for i in range(4):  # (get_params outside jit: sm3's state holds static shapes)
            state = update(i, grad(get_params(state)), state)
        results.append(get_params(state))
    assert_same(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_state_is_a_pytree_and_round_trips():
    init, update, get_params = opt.adam(0.1)
    state = init(_PARAMS)
    leaves = pyjax.tree_util.tree_leaves(state)
    assert len(leaves) == len(jax.tree_util.tree_leaves(j_opt.adam(0.1)[0](_PARAMS)))
    packed = opt.pack_optimizer_state(opt.unpack_optimizer_state(state))
    assert packed.tree_def == state.tree_def and packed.subtree_defs == state.subtree_defs
    with pytest.raises(TypeError, match="did not match the parameter tree"):
        update(0, {"w": 1.0}, state)


def test_schedules_and_utilities_match_jax():
    for name, args in [("constant", (0.3,)), ("exponential_decay", (0.3, 4, 0.5)),
                       ("inverse_time_decay", (0.3, 4, 0.5)),
                       ("inverse_time_decay", (0.3, 4, 0.5, True)),
                       ("polynomial_decay", (0.3, 4, 0.01)),
                       ("piecewise_constant", ([2, 5], [1.0, 0.5, 0.1]))]:
        ours, theirs = getattr(opt, name)(*args), getattr(j_opt, name)(*args)
        for i in range(7):
            assert_same(jnp.asarray(ours(i)), jnp_ref.asarray(theirs(i)), what=f"{name}({i})")
    for bad in [([1], [1.0]), ([[1]], [[1.0, 2.0]])]:
        with pytest.raises(ValueError):
            opt.piecewise_constant(*bad)
    with pytest.raises(TypeError):
        opt.make_schedule(np.ones(2))
    grads = {"a": np.array([3.0, 4.0], np.float32), "b": np.float32(12)}
    assert_same(opt.l2_norm(grads), j_opt.l2_norm(grads))
    for max_norm in (1.0, 100.0):
        assert_same(opt.clip_grads(grads, max_norm), j_opt.clip_grads(grads, max_norm))


def test_module_has_jax_names():
    import jax.example_libraries.optimizers as theirs
    names = [n for n in dir(theirs) if not n.startswith("_") and n not in
             ("Any", "Callable", "NamedTuple", "annotations", "namedtuple", "partial",
              "functools", "jax", "jnp")]
    assert [n for n in names if not hasattr(opt, n)] == []
