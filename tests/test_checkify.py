"""``jax.experimental.checkify`` against JAX: the same programs on both, comparing which
check fires (its message text, payload values included), the outputs, and the errors raised
by ``throw``, eager ``check`` and a staged unfunctionalized ``check``."""
import jax
import jax.experimental.checkify as ref_ck
import numpy as np
import pytest

import pyjax
import pyjax.experimental.checkify as ck
from harness import assert_same

SIDES = [(pyjax, ck), (jax, ref_ck)]


def positive_log(ck, jnp):
    def f(x):
        ck.check(x > 0, "x must be positive, got {x}", x=x)
        return jnp.log(x) + jnp.sin(x)
    return f


def body_scan(ck, jnp, lax):
    def body(c, x):
        ck.check(x < 3, "too big {}", x)
        return c + x, c * 2
    return lambda xs: lax.scan(body, jnp.float32(0), xs)


def cond_nan(ck, jnp, lax):
    return lambda x: lax.cond(x > 0, jnp.log, lambda v: jnp.sqrt(v) * 2, x)


def jitted_div(ck, jnp, jx):
    @jx.jit
    def f(x, y):
        ck.check(jnp.all(y != 0), "y has a zero: {}", y)
        return x // y + x / y
    return f


def while_count(ck, jnp, lax):
    def body(c):
        i, s = c
        ck.check(i < 4, "step {} reached", i)
        return i + 1, s + jnp.log(s)
    return lambda s: lax.while_loop(lambda c: c[0] < 6, body, (jnp.int32(0), s))


# (name, program(jax-like module, checkify module) -> function, arguments, errors)
CASES = [
    ("user", lambda jx, c: positive_log(c, jx.numpy), (-1.0,), "user_checks"),
    ("user_ok", lambda jx, c: positive_log(c, jx.numpy), (2.0,), "all_checks"),
    ("user_before_nan", lambda jx, c: positive_log(c, jx.numpy), (-1.0,), "all_checks"),
    ("nan_only", lambda jx, c: positive_log(c, jx.numpy), (-1.0,), "float_checks"),
    ("nan_in_sin", lambda jx, c: jx.numpy.sin, (np.inf,), "nan_checks"),
    ("user_off", lambda jx, c: positive_log(c, jx.numpy), (-1.0,), "nan_checks"),
    ("div_float", lambda jx, c: (lambda x, y: x / y), (1.0, 0.0), "div_checks"),
    ("div_int", lambda jx, c: (lambda x, y: x // y), (np.int32(7), np.int32(0)), "div_checks"),
    ("jit_div", lambda jx, c: jitted_div(c, jx.numpy, jx),
     (np.arange(4, dtype=np.int32), np.array([1, 2, 0, 4], np.int32)), "all_checks"),
    ("getitem_oob", lambda jx, c: (lambda x, i: x[i]), (np.arange(3.0), np.int32(5)),
     "index_checks"),
    ("getitem_vector_oob", lambda jx, c: (lambda x, i: x[i]),
     (np.arange(6.0).reshape(3, 2), np.array([0, 2, 7, 1], np.int32)), "index_checks"),
    ("dynamic_slice_oob", lambda jx, c: (lambda x, i: jx.lax.dynamic_slice(x, (i, 0), (2, 2))),
     (np.ones((3, 2)), np.int32(2)), "index_checks"),
    ("dynamic_update_oob", lambda jx, c: (lambda x, i: jx.lax.dynamic_update_slice(
        x, np.ones(2), (i,))), (np.ones(4), np.int32(-1)), "index_checks"),
    ("scatter_oob", lambda jx, c: (lambda x, i: x.at[i].add(1.0)),
     (np.ones(4), np.array([1, 9], np.int32)), "index_checks"),
    ("scan_user", lambda jx, c: body_scan(c, jx.numpy, jx.lax), (np.arange(5.0),), "all_checks"),
    ("scan_ok", lambda jx, c: body_scan(c, jx.numpy, jx.lax), (np.arange(3.0),), "all_checks"),
    ("cond_nan", lambda jx, c: cond_nan(c, jx.numpy, jx.lax), (-1.0,), "nan_checks"),
    ("cond_ok", lambda jx, c: cond_nan(c, jx.numpy, jx.lax), (2.0,), "nan_checks"),
    ("while_user", lambda jx, c: while_count(c, jx.numpy, jx.lax), (2.0,), "user_checks"),
    ("while_nan", lambda jx, c: while_count(c, jx.numpy, jx.lax), (0.5,), "all_checks"),
    ("grad", lambda jx, c: jx.grad(positive_log(c, jx.numpy)), (-1.0,), "all_checks"),
    ("vmap_inside", lambda jx, c: jx.vmap(positive_log(c, jx.numpy)),
     (np.array([1.0, -1.0, -2.0, 3.0], np.float32),), "user_checks"),
]


def _run(side, program, args, errors, wrap):
    jx, c = side
    f = c.checkify(program(jx, c), errors=getattr(c, errors))
    args = [jx.numpy.asarray(a) for a in args]
    err, out = wrap(jx, f)(*args)
    return err.get(), out


@pytest.mark.parametrize("wrap", ["eager", "jit"])
@pytest.mark.parametrize("name,program,args,errors", CASES, ids=[c[0] for c in CASES])
def test_checkify_matches_jax(name, program, args, errors, wrap):
    wrapper = (lambda jx, f: f) if wrap == "eager" else (lambda jx, f: jx.jit(f))
    (msg, out), (ref_msg, ref_out) = [_run(s, program, args, errors, wrapper) for s in SIDES]
    assert msg == ref_msg
    assert_same(out, ref_out, check_weak=False, what=name)


def test_vmap_of_checkify_reports_each_index():
    def run(jx, c):
        f = c.checkify(positive_log(c, jx.numpy))
        err, out = jx.vmap(f)(jx.numpy.array([1.0, -1.0, -2.0, 3.0]))
        return err.get(), out
    (msg, out), (ref_msg, ref_out) = [run(*s) for s in SIDES]
    assert msg == ref_msg and "at mapped index 2" in msg
    assert_same(out, ref_out, check_weak=False)


def test_throw_and_eager_check_raise_jax_runtime_error():
    for jx, c in SIDES:
        err, _ = c.checkify(positive_log(c, jx.numpy))(jx.numpy.float32(-2.0))
        with pytest.raises(c.JaxRuntimeError, match=r"x must be positive, got -2.0 \(`check`"):
            err.throw()
        with pytest.raises(c.JaxRuntimeError, match="x must be positive"):
            positive_log(c, jx.numpy)(jx.numpy.float32(-2.0))
        with pytest.raises(ValueError, match="Cannot abstractly evaluate a checkify.check"):
            jx.jit(positive_log(c, jx.numpy))(jx.numpy.float32(-2.0))
        jx.jit(lambda x: c.debug_check(x > 0, "never"))(jx.numpy.float32(-2.0))  # a no-op
        err, _ = c.checkify(lambda x: c.debug_check(x > 0, "dbg {}", x))(jx.numpy.int32(-3))
        assert err.get() == "dbg -3 (`check` failed)"
        ok, _ = c.checkify(positive_log(c, jx.numpy))(jx.numpy.float32(2.0))
        ok.throw()
        assert ok.get() is None


def test_check_error_refunctionalizes():
    def run(jx, c):
        def inner(x):
            err, out = jx.jit(c.checkify(positive_log(c, jx.numpy)))(x)
            c.check_error(err)
            return out
        return c.checkify(inner)(jx.numpy.float32(-4.0))[0].get()
    assert run(pyjax, ck) == run(jax, ref_ck) == "x must be positive, got -4.0 (`check` failed)"


@pytest.mark.parametrize("bad", ["vector_pred", "python_fmt_arg", "not_an_error"])
def test_bad_arguments_raise_as_in_jax(bad):
    for jx, c in SIDES:
        call = {"vector_pred": lambda: c.check(jx.numpy.array([True]), "m"),
                "python_fmt_arg": lambda: c.check(True, "m {}", 3),
                "not_an_error": lambda: c.check_error("nope")}[bad]
        with pytest.raises(TypeError) as info:
            call()
        if c is ck:
            ours = str(info.value)
        else:
            assert str(info.value) == ours


def test_checks_in_unsupported_bodies_raise_not_implemented():
    f = ck.checkify(lambda x: pyjax.lax.while_loop(
        lambda v: pyjax.numpy.log(v) > 0, lambda v: v - 1.0, x), errors=ck.nan_checks)
    with pytest.raises(NotImplementedError, match="cond_fun"):
        f(pyjax.numpy.float32(3.0))
