"""Every transformation with JAX's signatures and semantics, checked against real JAX on
the same programs: each case builds its function from a namespace (pyjax's or JAX's) so
the very same code runs on both."""
import functools

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from pyjax._src.core.jaxpr import ClosedJaxpr

from harness import assert_same, check_grads

rng = np.random.default_rng(0)
X = rng.standard_normal(3).astype(np.float32)
Y = rng.standard_normal(3).astype(np.float32)
M = rng.standard_normal((3, 4)).astype(np.float32)


def both(make, *args, **tol):
    """``make(jax_module, numpy_module)`` builds the program; run it on pyjax and JAX."""
    ours = make(pyjax, jnp)(*args)
    theirs = make(jax, jnp_ref)(*args)
    assert_same(ours, theirs, **tol)
    return ours


def loss(np_):
    def f(p, x):
        h = np_.tanh(x @ p["w"] + p["b"])
        return np_.sum(h ** 2) + 0.1 * np_.sum(p["w"] ** 2)
    return f


PARAMS = {"w": M, "b": np.zeros(4, np.float32)}

# ---------------------------------------------------------------------------- grad & co

CASES = {
    "grad argnums int": lambda J, N: J.grad(lambda x, y: N.sum(N.sin(x) * y), argnums=1),
    "grad argnums tuple": lambda J, N: J.grad(lambda x, y: N.sum(N.sin(x) * y), argnums=(0, 1)),
    "grad negative argnums": lambda J, N: J.grad(lambda x, y: N.sum(x * y), argnums=-1),
    "grad has_aux": lambda J, N: J.grad(lambda x, y: (N.sum(x * y), {"aux": x + 1}),
                                        has_aux=True),
    "value_and_grad": lambda J, N: J.value_and_grad(lambda x, y: N.sum(N.exp(x) * y), (0, 1)),
    "value_and_grad has_aux": lambda J, N: J.value_and_grad(
        lambda x, y: (N.sum(x * y), [x, y]), has_aux=True),
    "grad of grad": lambda J, N: J.grad(lambda x, y: J.grad(lambda a: N.sin(a) * N.cos(a))(
        N.sum(x * y))),
    "jvp": lambda J, N: lambda x, y: J.jvp(lambda a: N.sin(a) * a, (x,), (y,)),
    "jvp pytree has_aux": lambda J, N: lambda x, y: J.jvp(
        lambda d: (d["a"] * d["b"], d["a"]), ({"a": x, "b": y},), ({"a": y, "b": x},),
        has_aux=True),
    "vjp": lambda J, N: lambda x, y: J.vjp(lambda a, b: N.tanh(a) * b, x, y)[1](x),
    "vjp has_aux": lambda J, N: lambda x, y: J.vjp(lambda a: (N.sin(a), a * 2), x,
                                                     has_aux=True)[1](y),
    "linearize": lambda J, N: lambda x, y: J.linearize(lambda a: N.sin(a) * N.exp(a), x)[1](y),
    "jacfwd": lambda J, N: J.jacfwd(lambda x, y: N.outer(N.sin(x), y), argnums=(0, 1)),
    "jacrev": lambda J, N: J.jacrev(lambda x, y: {"o": N.sin(x) * y, "s": N.sum(x)}),
    "jacobian": lambda J, N: J.jacobian(lambda x, y: N.tanh(x * y)),
    "hessian": lambda J, N: J.hessian(lambda x, y: N.sum(N.sin(x) * y ** 2), argnums=(0, 1)),
    "jacfwd has_aux": lambda J, N: J.jacfwd(lambda x, y: (x * y, N.sum(y)), has_aux=True),
    "jacrev of jacfwd": lambda J, N: J.jacrev(J.jacfwd(lambda x, y: N.sin(x) * N.sum(y))),
    "stop_gradient": lambda J, N: J.grad(lambda x, y: N.sum(J.lax.stop_gradient(x) * x * y)),
    "per-example grads": lambda J, N: lambda x, y: J.vmap(
        J.grad(lambda p, a, b: N.sum((a * p["w"][:, 0] + p["b"][0] - b) ** 2)),
        in_axes=(None, 0, 0))(
        {"w": np.ones((3, 4), np.float32), "b": np.ones(4, np.float32)},
        N.stack([x, y]), N.stack([y, x])),
    "hvp (jvp of grad)": lambda J, N: lambda x, y: J.jvp(
        J.grad(lambda a: N.sum(N.sin(a) * a ** 2)), (x,), (y,)),
    "jit(vmap(jacrev))": lambda J, N: lambda x, y: J.jit(J.vmap(J.jacrev(
        lambda a: N.sin(a) * N.sum(a ** 2))))(N.stack([x, y])),
    "grad of vmap": lambda J, N: J.grad(lambda x, y: N.sum(J.vmap(
        lambda a, b: N.dot(a, b) * a, in_axes=(0, None))(N.stack([x, y]), y))),
    "grad through jit": lambda J, N: J.grad(J.jit(lambda x, y: N.sum(N.sin(x) * y))),
    "grad with jitted calls on constants": lambda J, N: J.grad(
        lambda x, y: N.sum(x * (y - N.mean(y)) * J.jit(lambda c: c * 2)(y))),
    "jit of grad": lambda J, N: J.jit(J.grad(lambda x, y: N.sum(N.sin(x) * y), argnums=(0, 1))),
    "mlp grad": lambda J, N: lambda x, y: J.grad(loss(N))(
        {"w": np.ones((3, 4), np.float32) * 0.1, "b": np.zeros(4, np.float32)}, x),
    "linear_transpose": lambda J, N: lambda x, y: J.linear_transpose(
        lambda a: (2.0 * a, N.sum(a)), x)((y, 1.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_transformation_matches_jax(name):
    both(CASES[name], X, Y, rtol=2e-5, atol=2e-6)


def test_allow_int_gives_float0_zeros():
    ours = pyjax.grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    theirs = jax.grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert float(ours[0]) == float(theirs[0])
    assert np.asarray(ours[1]).dtype == np.asarray(theirs[1]).dtype  # float0


@pytest.mark.parametrize("call, error", [
    (lambda J: J.grad(lambda n: n * 2)(3), TypeError),             # integer input
    (lambda J: J.grad(lambda x: x * 2)(np.ones(3, np.float32)), TypeError),  # non-scalar out
    (lambda J: J.grad(lambda x: x, argnums=2)(1.0), TypeError),    # argnums out of range
    (lambda J: J.jvp(lambda x: x, (1.0,), (np.ones(2, np.float32),)), ValueError),
    (lambda J: J.jvp(lambda x: x, (1.0,), (np.int32(1),)), TypeError),
    (lambda J: J.vjp(lambda x: x, 1.0)[1](np.ones(2, np.float32)), ValueError),
    (lambda J: J.jacfwd(lambda n: n)(3), TypeError),
])
def test_errors_match_jax(call, error):
    with pytest.raises(error):
        call(jax)
    with pytest.raises(error):
        call(pyjax)


def test_holomorphic_grad():
    f = lambda J, N: J.grad(lambda z: N.sin(z) * z, holomorphic=True)  # noqa: E731
    z = np.complex64(1.0 + 0.5j)
    both(f, z, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError):
        pyjax.grad(lambda z: z * z, holomorphic=True)(1.0)


# ---------------------------------------------------------------------------- closures, escapes

def test_no_perturbation_confusion():
    f = lambda J, N: J.grad(lambda x: J.grad(lambda y: x * y)(1.0))  # noqa: E731
    assert float(both(f, 1.0)) == 1.0
    g = lambda J, N: J.grad(lambda x: x * J.grad(lambda y: x * y ** 2)(x))  # noqa: E731
    both(g, 1.5)


def test_nested_closure_over_outer_tracer_under_every_transform():
    def make(J, N):
        def f(x):
            inner = J.jit(lambda y: J.vmap(lambda z: x * z * y)(N.arange(3.0)))
            return N.sum(inner(x))
        return J.jit(J.grad(f))
    both(make, 2.0)


@pytest.mark.parametrize("transform", ["grad", "vmap", "jvp"])
def test_escaped_tracer_is_an_error(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return x.sum()
    arg = jnp.ones(3)
    if transform == "grad":
        pyjax.grad(f)(arg)
    elif transform == "vmap":
        pyjax.vmap(f)(jnp.ones((2, 3)))
    else:
        pyjax.jvp(f, (arg,), (arg,))
    with pytest.raises(pyjax.errors.UnexpectedTracerError):
        jnp.sin(leaked[0])


def test_unused_leaves_cost_nothing_until_the_end():
    """Reverse mode with symbolic zeros: the linear program of a loss that reads one leaf
    of a large pytree touches only that leaf; the others' cotangents are zeros made at
    the end."""
    from pyjax._src.transforms.transpose import linearize_flat
    leaves = [jnp.ones(100) for _ in range(50)]
    _, lin, _ = linearize_flat(lambda *xs: [jnp.sum(xs[7] ** 2)], leaves)
    used = {id(v) for e in lin.jaxpr.eqns for v in e.invars}
    assert sum(id(v) in used for v in lin.jaxpr.invars) == 1
    grads = pyjax.grad(lambda p: jnp.sum(p[7] ** 2))(leaves)
    np.testing.assert_array_equal(grads[7], np.full(100, 2.0, np.float32))
    assert all(float(jnp.abs(g).sum()) == 0 for i, g in enumerate(grads) if i != 7)


def test_python_control_flow_on_values_under_grad():
    def f(x):
        return x ** 2 if x > 0 else -x
    assert float(pyjax.grad(f)(3.0)) == 6.0
    assert float(pyjax.grad(f)(-3.0)) == -1.0


# ---------------------------------------------------------------------------- custom rules

def custom_jvp_program(J, N):
    @J.custom_jvp
    def safe_log1pexp(x):
        return N.log1p(N.exp(x))

    @safe_log1pexp.defjvp
    def _jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return safe_log1pexp(x), t * J.nn.sigmoid(x)
    return safe_log1pexp


def custom_vjp_program(J, N):
    @J.custom_vjp
    def clip_gradient(x, lo):
        return x

    def fwd(x, lo):
        return x, lo

    def bwd(lo, g):
        return N.clip(g, lo, -lo), None
    clip_gradient.defvjp(fwd, bwd)
    return clip_gradient


@pytest.mark.parametrize("stack", ["grad", "jit_grad", "grad_jit", "vmap_grad", "grad_vmap",
                                   "jacrev", "jacfwd"])
def test_custom_jvp_under_transformations(stack):
    def make(J, N):
        f = custom_jvp_program(J, N)
        scalar = lambda x: N.sum(f(x * 30.0))  # noqa: E731
        return {"grad": lambda: J.grad(scalar),
                "jit_grad": lambda: J.jit(J.grad(scalar)),
                "grad_jit": lambda: J.grad(J.jit(scalar)),
                "vmap_grad": lambda: J.vmap(J.grad(lambda x: f(x * 30.0))),
                "grad_vmap": lambda: J.grad(lambda x: N.sum(J.vmap(f)(x * 30.0))),
                "jacrev": lambda: J.jacrev(lambda x: f(x * 30.0)),
                "jacfwd": lambda: J.jacfwd(lambda x: f(x * 30.0))}[stack]()
    both(make, X, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stack", ["grad", "jit_grad", "grad_jit", "vmap_grad", "grad_vmap"])
def test_custom_vjp_under_transformations(stack):
    def make(J, N):
        f = custom_vjp_program(J, N)
        scalar = lambda x: N.sum(f(x, -0.5) * 3.0)  # noqa: E731
        return {"grad": lambda: J.grad(scalar),
                "jit_grad": lambda: J.jit(J.grad(scalar)),
                "grad_jit": lambda: J.grad(J.jit(scalar)),
                "vmap_grad": lambda: J.vmap(J.grad(lambda x: f(x, -0.5) * 3.0)),
                "grad_vmap": lambda: J.grad(lambda x: N.sum(
                    J.vmap(f, in_axes=(0, None))(x, -0.5) * 3.0))}[stack]()
    both(make, X)


def test_custom_jvp_defjvps_and_nondiff_argnums():
    def make(J, N):
        @functools.partial(J.custom_jvp, nondiff_argnums=(0,))
        def app(f, x):
            return f(x)

        @app.defjvp
        def app_jvp(f, primals, tangents):
            (x,), (t,) = primals, tangents
            return app(f, x), 2.0 * t

        @J.custom_jvp
        def h(x, y):
            return x * y
        h.defjvps(lambda g, ans, x, y: g * y * 10.0, lambda g, ans, x, y: g * x)
        return lambda x: (J.grad(lambda a: app(N.sin, a))(x),
                          J.grad(h, argnums=(0, 1))(x, 3.0))
    both(make, 0.5)


def test_custom_vjp_forward_mode_is_an_error():
    f = custom_vjp_program(pyjax, jnp)
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        pyjax.jvp(lambda x: f(x, -0.5), (1.0,), (1.0,))


def test_custom_rules_are_staged_into_jaxprs():
    f = custom_jvp_program(pyjax, jnp)
    jaxpr = pyjax.make_jaxpr(f)(1.0)
    assert [e.prim.name for e in jaxpr.eqns] == ["custom_jvp_call"]
    g = custom_vjp_program(pyjax, jnp)
    assert [e.prim.name for e in pyjax.make_jaxpr(lambda x: g(x, -1.0))(1.0).eqns] == \
        ["custom_vjp_call"]


# ---------------------------------------------------------------------------- checkpoint

def test_checkpoint_recomputes_instead_of_saving():
    def body(x):
        return jnp.sin(jnp.sin(jnp.sin(x)))
    plain = pyjax.make_jaxpr(pyjax.grad(lambda x: body(x).sum()))(jnp.ones(3))
    remat = pyjax.make_jaxpr(pyjax.grad(lambda x: pyjax.checkpoint(body)(x).sum()))(jnp.ones(3))
    def count(jaxpr, name):
        """Equations named ``name``, nested call bodies included."""
        return sum((e.prim.name == name) + sum(count(p.jaxpr, name) for p in e.params.values()
                                               if isinstance(p, ClosedJaxpr))
                   for e in jaxpr.eqns)
    # the backward pass of the checkpointed body recomputes the sines from the input
    assert count(remat.jaxpr, "sin") > count(plain.jaxpr, "sin")
    for stack in (lambda f: pyjax.grad(f), lambda f: pyjax.jit(pyjax.grad(f)),
                  lambda f: pyjax.vmap(pyjax.grad(f))):
        scalar = lambda x: jnp.sum(body(x))  # noqa: E731
        scalar_remat = lambda x: jnp.sum(pyjax.checkpoint(body)(x))  # noqa: E731
        np.testing.assert_allclose(stack(scalar_remat)(X), stack(scalar)(X), rtol=1e-6)
    assert pyjax.remat is pyjax.checkpoint


def test_checkpoint_matches_jax():
    make = lambda J, N: J.grad(lambda x: N.sum(J.checkpoint(  # noqa: E731
        lambda a: N.tanh(a) * N.exp(a))(x) ** 2))
    both(make, X)


# ---------------------------------------------------------------------------- numerical checks


@pytest.mark.parametrize("name, f", [
    ("mlp", lambda x, y: jnp.sum(jnp.tanh(jnp.outer(x, y)) ** 2)),
    ("custom_jvp", lambda x, y: jnp.sum(custom_jvp_program(pyjax, jnp)(x * y))),
    ("checkpoint", lambda x, y: pyjax.checkpoint(lambda a, b: jnp.sin(a) * jnp.exp(b))(x, y)),
    ("jit inside", lambda x, y: pyjax.jit(lambda a: a * jnp.cos(a))(x) * y),
    ("vmap inside", lambda x, y: pyjax.vmap(lambda a, b: a * b ** 2)(x, y)),
])
def test_gradients_against_finite_differences(name, f, x64):
    check_grads(f, [X.astype(np.float64), Y.astype(np.float64)])
    # second order: the gradient's own JVP/VJP against its finite differences
    check_grads(lambda x, y: pyjax.grad(lambda a: jnp.sum(f(a, y)))(x),
                [X.astype(np.float64), Y.astype(np.float64)], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- printed custom calls

def _custom_call_params(text: str) -> list:
    """The printed custom-call headers and their non-jaxpr params, in order."""
    import re
    return re.findall(r"(custom_[jv]vp_call\[|^\s*(?:name|jvp|fwd|bwd|num_consts|"
                      r"symbolic_zeros)=.*$)", text, re.M)


def _custom_print_programs(J, N):
    f = custom_jvp_program(J, N)
    g = custom_vjp_program(J, N)

    def closure(y):
        h = J.custom_jvp(lambda x: N.sin(x) * y)
        h.defjvp(lambda p, t: (h(p[0]), t[0] * y))
        return h(y)

    def with_nondiff(x):
        k = J.custom_jvp(lambda n, x: x * n, nondiff_argnums=(0,))
        k.defjvp(functools.partial(lambda n, p, t: (k(n, *p), t[0] * n)))
        m = J.custom_jvp(lambda x: x * x)
        m.defjvps(lambda t, out, x: 2.0 * t * x)
        return m(k(3.0, x))
    return {"jvp": f, "vjp": lambda x: g(x, -1.0), "closure": closure,
            "nondiff_defjvps": with_nondiff, "vmap": lambda x: J.vmap(f)(x * N.ones(3)),
            "jit": J.jit(lambda x: g(f(x), -2.0))}


@pytest.mark.parametrize("case", ["jvp", "vjp", "closure", "nondiff_defjvps", "vmap", "jit"])
def test_custom_calls_print_like_jax(case):
    ours = str(pyjax.make_jaxpr(_custom_print_programs(pyjax, jnp)[case])(1.0))
    theirs = str(jax.make_jaxpr(_custom_print_programs(jax, jnp_ref)[case])(1.0))
    assert _custom_call_params(ours) == _custom_call_params(theirs)
    assert _custom_call_params(ours)


def test_defjvps_with_nondiff_argnums_is_an_error():
    k = pyjax.custom_jvp(lambda n, x: x * n, nondiff_argnums=(0,))
    with pytest.raises(TypeError, match="defjvps.*nondiff_argnums"):
        k.defjvps(lambda t, out, n, x: t * n)


def test_aux_passes_non_traced_leaves_through_as_jax():
    """has_aux data: traced leaves come back as arrays, every other leaf (strings,
    objects, Python and NumPy values) untouched, for grad, value_and_grad, vjp, jvp and
    linearize, as in JAX (Haiku's stateful.grad returns an object as aux)."""
    marker = object()

    def f(x):
        return x ** 2, (1.0, "a", marker, np.ones(2), 3, x * 2)

    def kinds(aux):
        return [type(a).__name__ for a in aux[:5]], float(aux[5]), aux[2] is marker

    def run(lib):
        return [kinds(lib.grad(f, has_aux=True)(3.)[1]),
                kinds(lib.value_and_grad(f, has_aux=True)(3.)[0][1]),
                kinds(lib.vjp(f, 3., has_aux=True)[2]),
                kinds(lib.jvp(f, (3.,), (1.,), has_aux=True)[2]),
                kinds(lib.linearize(f, 3., has_aux=True)[2])]

    assert run(pyjax) == run(jax)
    assert run(pyjax)[0] == (["float", "str", "object", "ndarray", "int"], 6.0, True)


def test_linearized_function_is_a_partial_that_crosses_jit_and_vmap():
    """linearize's f_jvp is a tree_util.Partial (its constants are leaves), so jit and vmap
    may return it, and the returned map still applies, as in JAX."""
    def run(lib, np_):
        f = lib.linearize(lambda a: np_.sin(a) * 2.0, X)[1]
        out, f_b = lib.jit(lib.vmap(lambda a: lib.linearize(np_.sin, a)))(M.T)
        g = lib.jit(lambda a: lib.linearize(lambda b: b * a, a)[1])(Y)
        return (isinstance(f, lib.tree_util.Partial), isinstance(f_b, lib.tree_util.Partial),
                f(Y), out, g(X), lib.jit(lambda h, t: h(t))(g, X))

    ours, theirs = run(pyjax, jnp), run(jax, jnp_ref)
    assert ours[:2] == theirs[:2] == (True, True)
    assert_same(ours[2:], theirs[2:])


def test_vmap_passes_unmapped_leaves_through_as_jax():
    """in_axes=None leaves reach the function as they are (a Python int stays an int, a
    NumPy scalar a NumPy scalar), as in JAX: libraries type-check them (Equinox's pools)."""
    def run(lib, np_):
        seen = []

        def f(x, n, a, b, g):
            seen.append(tuple(type(v).__name__ if not isinstance(v, lib.core.Tracer) else
                              "tracer" for v in (n, a, b)))
            return g(x * n + a + b)
        args = (np_.ones(3), 4, np.float32(2), np_.float32(1), np_.sin)
        outs = [lib.vmap(f, (0, None, None, None, None))(*args),
                lib.vmap(lib.vmap(f, (0, None, None, None, None)),
                         (0, None, None, None, None))(np_.ones((2, 3)), *args[1:])]
        return outs, [tuple(t.replace("ArrayImpl", "Array") for t in s) for s in seen]

    ours, theirs = run(pyjax, jnp), run(jax, jnp_ref)
    assert ours[1] == theirs[1] == [("int", "float32", "Array")] * 2
    assert_same(ours[0], theirs[0])


def test_jacobian_transforms_wrap_their_function_as_jax():
    """jacfwd, jacrev and hessian keep the function's name and ``__wrapped__`` (Equinox
    follows ``__wrapped__`` to warn about transformed modules as attributes)."""
    def f(x):
        return x * 2

    def view(lib):
        return [(g.__name__, g.__wrapped__ is f) for g in
                (lib.jacfwd(f), lib.jacrev(f), lib.jacfwd(f, argnums=(0,)))] + \
            [lib.hessian(f).__name__]
    assert view(pyjax) == view(jax) == [("f", True)] * 3 + ["f"]
