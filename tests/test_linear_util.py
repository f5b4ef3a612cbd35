"""``jax.extend.linear_util``: wrapped functions under generator- and function-based
transformations behave as JAX's (same results, same aux, same Store errors)."""
import jax.extend.linear_util as jax_lu
import pytest

import pyjax.extend.linear_util as our_lu


def _program(lu):
    @lu.transformation
    def scale(k, *args):
        out = yield tuple(a * k for a in args), {}
        yield [o + 1 for o in out]

    @lu.transformation_with_aux
    def count(*args, **kwargs):
        out = yield args, kwargs
        yield out, (len(out), sorted(kwargs))

    def add_c(inner, c, *args):
        return [o + c for o in inner(*args)]

    def f(x, y, c=0):
        return [x + y + c, x * y]

    g = scale(lu.wrap_init(f, {"c": 10}), 2)
    h, aux = count(scale(g, 3))
    k = lu.transformation2(add_c, lu.wrap_init(f), 100)()
    results = [g.call_wrapped(1, 2), h.call_wrapped(1, 2), aux(), k.call_wrapped(3, 4)]
    h2, aux2 = count(lu.wrap_init(f))
    with pytest.raises(lu.StoreException):
        aux2()
    results.append(h2.call_wrapped(1, 2, c=5))
    results.append(aux2())
    results.append(g.f is f)
    return results


def test_transformations_match_jax():
    assert _program(our_lu) == _program(jax_lu)


def test_transformation_needs_a_wrapped_fun():
    @our_lu.transformation
    def ident(*args):
        out = yield args, {}
        yield out

    with pytest.raises(TypeError, match="WrappedFun"):
        ident(lambda x: x)


def test_eq_store_takes_an_equal_value_again():
    for lu in (our_lu, jax_lu):
        def twice(inner, store, *args):
            store.store(len(args))
            store.store(len(args))
            return inner(*args)

        fun, aux = lu.transformation_with_aux2(twice, lu.wrap_init(lambda x: x + 1),
                                               use_eq_store=True)()
        assert fun.call_wrapped(1) == 2 and aux() == 1
        fun, aux = lu.transformation_with_aux2(twice, lu.wrap_init(lambda x: x + 1))()
        with pytest.raises(lu.StoreException):
            fun.call_wrapped(1)
