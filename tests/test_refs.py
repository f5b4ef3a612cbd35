"""Mutable array references (``jax.new_ref``) against JAX: each program is written once
over a library ``L`` (``jax`` or ``pyjax``) and returns arrays and refs; the results, the
refs' final contents and the errors must agree."""
import jax
import numpy as np
import pytest

import pyjax
from harness import assert_same


def _contents(out, L):
    """``out`` with each ref replaced by its contents (read eagerly)."""
    return L.tree_util.tree_map(lambda x: x[...] if isinstance(x, L.Ref) else x, out,
                                is_leaf=lambda x: isinstance(x, L.Ref))


def _both(program, *args):
    ours, theirs = program(pyjax, *args), program(jax, *args)
    assert_same(_contents(ours, pyjax), _contents(theirs, jax))


def _eager_reads(L):
    r = L.new_ref(L.numpy.arange(12.).reshape(3, 4))
    row = r[0]
    r[1] = row
    r[2, 3] = r[1, 2]
    r[0, :3] = r[:, 1]
    r[L.numpy.array([1, 2, 1]), L.numpy.array([0, 0, 1])] = \
        r[L.numpy.array([0, 0, 1]), L.numpy.array([1, 2, 3])]
    r[...] += 1.
    return r, r[...], r[-1], r[1:, ::2]


def _swap_addupdate(L):
    q = L.new_ref(L.numpy.arange(6.).reshape(2, 3))
    old = L.ref.swap(q, (0,), L.numpy.ones(3))
    L.ref.addupdate(q, (1,), L.numpy.full(3, 2.))
    L.ref.set(q, (0, 1), 7.)
    return q, old, L.ref.get(q, 1), L.ref.get(q, ())


def _weak_and_ints(L):
    w = L.new_ref(1.)
    w[...] = L.numpy.float32(2.)
    i = L.new_ref(3)
    i[...] += 4
    return w, w[...], i, i[...]


def _jit_closed_over(L):
    r = L.new_ref(L.numpy.zeros(3))

    @L.jit
    def bump():
        r[1] += 1.
    bump()
    bump()
    return r


def _jit_ref_args(L):
    q = L.new_ref(L.numpy.zeros((2, 3)))
    f = L.jit(lambda a, x: a.__setitem__(0, a[1] + x))
    f(q, L.numpy.ones(3))
    f(q, L.numpy.full(3, 2.))
    other = L.new_ref(L.numpy.ones((2, 3)))
    f(other, L.numpy.ones(3))  # (the same specialization, another ref)
    return q, other


def _jit_pure(L):
    def pure(x):
        ref = L.new_ref(x)
        ref[...] = ref[...] * ref[...] + 1.
        return L.freeze(ref)
    return L.jit(pure)(3.), L.grad(L.jit(pure))(3.), L.grad(pure)(2.)


def _nested_jit(L):
    r = L.new_ref(L.numpy.arange(3.))
    inner = L.jit(lambda x: r.__setitem__(0, r[0] + x))

    @L.jit
    def outer(x):
        inner(x)
        inner(2. * x)
        return r[...].sum()
    return outer(1.), outer(1.), r


def _scan_closed_over(L):
    acc = L.new_ref(L.numpy.zeros(3))

    def body(c, x):
        acc[...] += x
        return c + 1, acc[0]
    out = L.lax.scan(body, 0, L.numpy.arange(12.).reshape(4, 3))
    return out, acc


def _fori_closed_over(L):
    r = L.new_ref(L.numpy.zeros(5))

    def body(i, c):
        r[i] = c * i
        return c + 1.
    return L.lax.fori_loop(0, 5, body, 1.), r


def _scan_in_jit(L):
    @L.jit
    def f(xs):
        total = L.new_ref(0.)

        def body(c, x):
            total[...] += x * c
            return c * 2., None
        L.lax.scan(body, 1., xs)
        return L.freeze(total)
    return f(L.numpy.arange(4.)), L.grad(lambda xs: f(xs))(L.numpy.arange(4.))


def _grad_through_internal_ref(L):
    def g(x):
        r = L.new_ref(0.)
        r[...] = L.numpy.sin(x)
        return r[...] * x
    return L.grad(g)(1.), L.jvp(g, (1.,), (1.,)), L.vmap(L.grad(g))(L.numpy.arange(3.))


def _plumbing_ref(L):
    out = L.new_ref(0.)

    def f(x, plumb):
        y = x + x
        plumb[...] += L.lax.stop_gradient(y)
        return y * y
    return L.grad(f)(3., out), out


def _vmap_internal_and_read(L):
    r = L.new_ref(L.numpy.arange(3.))

    def f(x):
        mine = L.new_ref(x)
        mine[...] += r[1]
        return L.freeze(mine)
    return L.vmap(f)(L.numpy.arange(3.)), L.vmap(lambda x: r[0] + x)(L.numpy.ones(2))


def _ds_indexing(L):
    r = L.new_ref(L.numpy.arange(10.))
    r[L.ds(1, 2)] = L.numpy.full(2, -1.)
    at = L.jit(lambda i: r[L.ds(i, 3)])
    stride = r[L.ds(1, 3, 2)]
    q = L.new_ref(L.numpy.arange(6.).reshape(2, 3))
    x = L.numpy.arange(20).reshape(4, 5)
    arrays = (x[L.ds(1, 2)], L.jit(lambda i: x[..., L.ds(i, 2, 2)])(1), x[L.ds(3), None, 2],
              *[L.jit(lambda i: x.at[L.ds(i, 2), 1].add(100))(i) for i in (2, 3, -1)],
              *[L.jit(lambda i: x[L.ds(i, 2)])(i) for i in (3, -1, -7)])
    writes = L.jit(lambda i: (lambda w: (w.__setitem__(L.ds(i, 2), L.numpy.array([7, 8])),
                                         w[...])[1])(L.new_ref(L.numpy.arange(5))))
    arrays += tuple(writes(i) for i in (4, 3, -1, -2))
    return r, at(2), at(9), stride, q[L.ds(0, 2), 1], L.jit(
        lambda i: q.__setitem__((L.ds(i, 1), ...), L.numpy.zeros((1, 3))))(1), q, arrays


def _cond_and_switch(L):
    r = L.new_ref(L.numpy.zeros(3))

    def set_to(v):
        def branch(x):
            r[0] = v * x
            return x + v
        return branch
    a = L.lax.cond(True, set_to(7.), lambda x: x, 2.)
    b = L.jit(lambda p, x: L.lax.cond(p, lambda y: y, set_to(3.), x))(False, 1.)
    c = L.lax.switch(2, [set_to(1.), set_to(2.), lambda x: (r.__setitem__(2, r[0]), x)[1]], 5.)
    return a, b, c, r


def _while_closed_over(L):
    r = L.new_ref(L.numpy.zeros(3))
    count = L.new_ref(0)

    def body(c):
        r[2] += 1.
        count[...] += 1
        return c + r[2]
    out = L.lax.while_loop(lambda c: c < 10., body, 0.)
    fori = L.jit(lambda n: L.lax.fori_loop(0, n, lambda i, c: (r.__setitem__(0, r[0] + i),
                                                                c)[1], 0.))(4)
    return out, fori, r, count


def _checkpoint_closed_over(L):
    log = L.new_ref(L.numpy.zeros(2))

    @L.checkpoint  # (JAX runs a remat body's writes again when recomputing: not counted)
    def f(x):
        log[0] = L.lax.stop_gradient(x) * 2.
        log[1] = L.lax.stop_gradient(x)
        return L.numpy.sin(x) * x
    return f(2.), L.grad(f)(3.), log


def _vmap_ref_args(L):
    def dist(x, y, out_ref):
        out_ref[...] = L.numpy.sum((x - y) ** 2)
    vecs = L.numpy.arange(12.).reshape(3, 4)
    out = L.new_ref(L.numpy.zeros((3, 3)))
    L.vmap(L.vmap(dist, (0, None, 0)), (None, 0, 0))(vecs, vecs, out)
    cols = L.new_ref(L.numpy.ones((2, 3)))
    L.vmap(lambda x, o: o.__setitem__(0, o[1] * x), (0, 1))(L.numpy.arange(3.), cols)
    return out, cols


def _vjp_with_refs(L):
    _, f_vjp = L.vjp(lambda x, y: x * L.numpy.sin(y), 1.5, 2.)
    g = L.new_ref(10.)
    routed = f_vjp.with_refs(g, L.ad.GradValue())(1.)
    skipped = f_vjp.with_refs(L.ad.GradValue(), L.ad.DontWant())(2.)
    take = L.jit(lambda x, i: x[i])
    acc = L.new_ref(L.numpy.zeros(5))
    for i in [3, 1, 3]:
        _, take_vjp = L.vjp(take, L.numpy.arange(5.), i)
        take_vjp.with_refs(acc, L.ad.GradValue())(1.)
    markers = L.tree_util.tree_leaves([L.ad.GradRef(), L.ad.DidntWant()])
    return routed[1], skipped[0], g, acc, f_vjp(1.), markers


def _microbatches(L):
    """JAX's recipe: a scan over microbatches adds each one's gradient into a ref."""
    jnp = L.numpy

    def loss(ws, xs):
        act, _ = L.lax.scan(lambda x, w: (jnp.tanh(x @ w), None), xs, ws)
        return jnp.mean(act)

    ws = jnp.linspace(-1., 1., 3 * 4 * 4).reshape(3, 4, 4)
    batches = jnp.linspace(0., 1., 5 * 7 * 4).reshape(5, 7, 4)
    acc = L.new_ref(jnp.zeros_like(ws))

    def step(_, xs):
        value, f_vjp = L.vjp(lambda w: loss(w, xs), ws)
        f_vjp.with_refs(acc)(jnp.ones_like(value))
        return (), value
    _, losses = L.lax.scan(step, (), batches)
    return L.freeze(acc), losses


def _custom_vjp_plumbing(L):
    """JAX's recipe: a custom_vjp whose bwd stashes the cotangent into a ref argument."""
    @L.custom_vjp
    def stash(grads_ref, x):
        return x

    def fwd(grads_ref, x):
        return x, grads_ref

    def bwd(grads_ref, g):
        grads_ref[...] = g
        return None, g
    stash.defvjp(fwd, bwd)

    def f(x, grads_ref):
        return L.numpy.sin(stash(grads_ref, x) * 2.)
    eager, jitted = L.new_ref(0.), L.new_ref(0.)
    return L.grad(f)(1., eager), eager, L.jit(L.grad(f))(0.5, jitted), jitted


@pytest.mark.parametrize("program", [
    _custom_vjp_plumbing, _vjp_with_refs, _microbatches, _cond_and_switch, _while_closed_over, _checkpoint_closed_over, _vmap_ref_args,
    _eager_reads, _swap_addupdate, _weak_and_ints, _jit_closed_over, _jit_ref_args,
    _jit_pure, _nested_jit, _scan_closed_over, _fori_closed_over, _scan_in_jit,
    _grad_through_internal_ref, _plumbing_ref, _vmap_internal_and_read, _ds_indexing])
def test_against_jax(program):
    _both(program)


def test_types_and_printing():
    for L in (pyjax, jax):
        r = L.new_ref(L.numpy.zeros((2, 3)))
        assert isinstance(r, L.Ref) and not isinstance(L.numpy.ones(2), L.Ref)
        assert (r.shape, r.dtype, r.ndim, len(r)) == ((2, 3), np.float32, 2, 2)
    assert str(pyjax.typeof(pyjax.new_ref(np.zeros(3, np.float32)))) == \
        str(jax.typeof(jax.new_ref(np.zeros(3, np.float32)))) == "Ref{float32[3]}"
    for x in [1., np.arange(3, dtype=np.int32), np.ones((2, 2), np.float32)]:
        assert repr(pyjax.new_ref(x)) == repr(jax.new_ref(x))
    assert pyjax.ds(None) == slice(None)
    assert (pyjax.ds(3).start, pyjax.ds(3).size) == (0, 3)
    assert [s.name for s in pyjax.memory.Space] == [s.name for s in jax.memory.Space]
    assert set(jax.ref.__all__) == set(pyjax.ref.__all__)


def _errors(L):
    r = L.new_ref(L.numpy.zeros(3))
    q = L.new_ref(L.numpy.zeros((2, 3)))
    return {
        "math on a ref": lambda: L.numpy.sin(r),
        "returned from jit": lambda: L.jit(lambda x: x)(r),
        "passed twice": lambda: L.jit(lambda a, b: None)(r, r),
        "grad wrt a ref": lambda: L.grad(lambda a: a[...].sum())(r),
        "jvp wrt a ref": lambda: L.jvp(lambda a: a[...], (r,), (L.numpy.ones(3),)),
        "jacfwd wrt a ref": lambda: L.jacfwd(lambda a: a[...])(r),
        "differentiated value into plumbing": lambda: L.grad(
            lambda x, p: (p.__setitem__(..., x + x), (x * x).sum())[1])(L.numpy.ones(3), r),
        "vmapped value into closed-over ref": lambda: L.vmap(
            lambda x: r.__setitem__(0, x))(L.numpy.arange(3.)),
        "any write to a closed-over ref under vmap": lambda: L.vmap(
            L.jit(lambda x: (r.__setitem__(1, 7.), x)[1]))(L.numpy.arange(3.)),
        "any write to an unmapped ref argument": lambda: L.vmap(
            lambda x, o: o.__setitem__(..., 5.), (0, None))(L.numpy.arange(3.), r),
        "returned from a scan body": lambda: L.lax.scan(lambda c, x: (c, r), 0., None, length=2),
        "bad shape": lambda: q.__setitem__(0, L.numpy.ones(4)),
        "no broadcasting": lambda: q.__setitem__(0, 1.),
        "bad dtype": lambda: q.__setitem__(0, L.numpy.ones(3, np.int32)),
        "out of bound index": lambda: r[5],
        "list": lambda: L.new_ref([1., 2.]),
    }


def test_errors_match_jax():
    ours, theirs = _errors(pyjax), _errors(jax)
    for name in ours:
        with pytest.raises(Exception) as t:
            theirs[name]()
        with pytest.raises(type(t.value)):
            ours[name]()


def test_refs_after_freeze_and_free_are_unusable():
    r = pyjax.new_ref(1.)
    assert float(pyjax.freeze(r)) == 1.
    with pytest.raises(ValueError, match="frozen"):
        r[...]
    f = pyjax.new_ref(1.)
    pyjax.free_ref(f)
    with pytest.raises(ValueError, match="freed"):
        f[...] = 2.
    with pytest.raises(ValueError, match="scope that created it"):
        pyjax.jit(lambda a: pyjax.freeze(a))(pyjax.new_ref(1.))


def test_empty_ref():
    e = pyjax.empty_ref(pyjax.ShapeDtypeStruct((2,), np.float32))
    assert (e.shape, e.dtype) == ((2,), np.float32)
    e[...] = pyjax.numpy.ones(2)
    assert e[...].tolist() == [1., 1.]


def test_unsupported_places_say_so():
    r = pyjax.new_ref(0.)
    writes = pyjax.custom_jvp(lambda x: (r.__setitem__(..., x), x)[1])
    writes.defjvp(lambda p, t: (p[0], t[0]))
    for run in [lambda: pyjax.jit(writes)(1.),
                lambda: pyjax.make_jaxpr(lambda: r.__setitem__(..., 1.))(),
                lambda: pyjax.lax.while_loop(lambda c: (r.__setitem__(..., 1.), c < 3)[1],
                                             lambda c: c + 1, 0),
                lambda: pyjax.vjp(lambda a: a[...], pyjax.new_ref(1.)),
                lambda: pyjax.make_jaxpr(lambda a: a[...])(r),
                lambda: pyjax.jit(lambda: r[...]).lower()]:
        with pytest.raises(NotImplementedError):
            run()
    assert float(r[...]) == 0.


def test_jit_reads_the_current_value_every_call():
    r = pyjax.new_ref(1.)
    f = pyjax.jit(lambda x: r[...] * x)
    assert float(f(2.)) == 2.
    r[...] = 5.
    assert float(f(2.)) == 10.
