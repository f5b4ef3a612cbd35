"""What the compiler calls for an equation, from its primitive's declarations.

A primitive's ``impl`` defines what it computes. Where the primitive declares a NumPy
``ufunc`` that computes it bit for bit (for operands of one dtype of ``ufunc_kinds``), or
a ``direct`` kernel for this equation, generated code calls that instead: it skips the
impl's wrappers and takes ``out=``, which fused kernels need to run without temporaries.
``tests/test_registry.py`` checks every declaration against its ``impl``.
"""
from __future__ import annotations

from pyjax._src.core.aval import ShapedArray


def direct_ufunc(eqn):
    """The ufunc (or ufunc-like kernel taking ``out=``) that computes ``eqn`` exactly as
    its primitive's ``impl`` does, or None."""
    prim = eqn.prim
    if prim.direct is not None:
        kernel = prim.direct(eqn)
        if kernel is not None:
            return kernel
    ufunc = prim.ufunc
    if ufunc is None or eqn.params or len(eqn.invars) != ufunc.nin:
        return None
    dt = eqn.invars[0].aval.dtype
    if dt.kind not in prim.ufunc_kinds or any(v.aval.dtype != dt for v in eqn.invars):
        return None
    return ufunc


def is_elementwise(eqn) -> bool:
    """An equation of an elementwise primitive (``Primitive.elementwise``) with one result
    whose operands are of its shape, broadcast to it along dims of 1, or 0-d: it can run
    on blocks, and its result may be written over later."""
    if not eqn.prim.elementwise or len(eqn.outvars) != 1:
        return False
    shape = eqn.outvars[0].aval.shape
    for v in eqn.invars:
        s = v.aval.shape
        if s != shape and s != () and (len(s) != len(shape) or
                                       any(a != b and a != 1 for a, b in zip(s, shape))):
            return False
    return True


def takes_out(eqn) -> bool:
    """Whether ``eqn``'s ``impl`` can write its one result into an ``out=`` buffer."""
    return eqn.prim.takes_out is not None and eqn.prim.takes_out(eqn)


def fresh(eqn) -> bool:
    """Whether ``eqn``'s kernel computes new arrays, never views of its operands."""
    return eqn.prim.fresh_results is not None and eqn.prim.fresh_results(eqn)


def flops(eqn) -> float:
    """The floating-point operations of an equation without bodies (a kernel's), by its
    primitive's declared ``cost`` (bodies are costed by ``cost.work``)."""
    return eqn.prim.cost(eqn, None)[0] if eqn.prim.cost is not None else 0.0


def aval_nbytes(aval: ShapedArray) -> int:
    return aval.size * aval.dtype.itemsize
