"""A strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6) written as two
nested ``while_loop``s. Every branch is computed and selected with ``where``, so a batch of
searches (vmap) runs in lockstep; the evaluation counts it reports are JAX's."""
from __future__ import annotations

from typing import NamedTuple

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import control_flow
from pyjax._src.lax.dot import Precision
from pyjax._src.numpy.util import promote_dtypes_inexact
from pyjax._src.scipy import jnp
from pyjax._src.transforms.transpose import vjp_flat


def value_and_grad(fun, x):
    """``fun(x)`` and its gradient (reverse mode), for a scalar-valued ``fun``."""
    (value,), pullback = vjp_flat(lambda x: [jnp.asarray(fun(x))], [x])
    aval = get_aval(value)
    if aval.shape != ():
        raise TypeError(f"Gradient only defined for scalar-output functions. Output had "
                        f"shape: {aval.shape}.")
    (g,) = pullback([jnp.ones((), aval.dtype)])
    return value, g


def dot(a, b):
    return jnp.dot(a, b, precision=Precision.HIGHEST)


def _pick(cond, new: dict, old: NamedTuple) -> dict:
    """``old``'s fields named in ``new``, replaced by ``new``'s where ``cond`` holds."""
    return {k: jnp.where(cond, v, getattr(old, k)) for k, v in new.items()}


def _cubic_min(a, fa, fpa, b, fb, c, fc):
    """The minimizer of the cubic through (a, fa) with slope fpa, (b, fb) and (c, fc)."""
    db, dc = b - a, c - a
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    denom = (db * dc) ** 2 * (db - dc)
    A = (dc ** 2 * rb - db ** 2 * rc) / denom
    B = (-dc ** 3 * rb + db ** 3 * rc) / denom
    return a + (-B + jnp.sqrt(B * B - 3. * A * fpa)) / (3. * A)


def _quad_min(a, fa, fpa, b, fb):
    """The minimizer of the parabola through (a, fa) with slope fpa and (b, fb)."""
    db = b - a
    return a - fpa / (2. * ((fb - fa - fpa * db) / db ** 2))


class _Zoom(NamedTuple):
    done: object
    failed: object
    j: object
    a_lo: object
    phi_lo: object
    dphi_lo: object
    a_hi: object
    phi_hi: object
    dphi_hi: object
    a_rec: object
    phi_rec: object
    a_star: object
    phi_star: object
    dphi_star: object
    g_star: object
    nfev: object
    ngev: object


def _zoom(phi_dphi, wolfe_one, wolfe_two, lo, hi, g_0, skip):
    """Shrinks the bracket ``[lo, hi]`` (each ``(a, phi, dphi)``) to a strong-Wolfe step:
    cubic interpolation, else quadratic, else bisection."""
    state = _Zoom(False, False, 0, *lo, *hi, (lo[0] + hi[0]) / 2., (lo[1] + hi[1]) / 2.,
                  1., lo[1], lo[2], g_0, 0, 0)

    def body(s: _Zoom) -> _Zoom:
        width = s.a_hi - s.a_lo
        left, right = jnp.minimum(s.a_hi, s.a_lo), jnp.maximum(s.a_hi, s.a_lo)
        small = 1e-5 if dtypes.finfo(get_aval(width).dtype).bits < 64 else 1e-10
        failed = s.failed | (width <= small)
        cubic = _cubic_min(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi, s.a_rec, s.phi_rec)
        use_cubic = (s.j > 0) & (cubic > left + 0.2 * width) & (cubic < right - 0.2 * width)
        quad = _quad_min(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi)
        use_quad = ~use_cubic & (quad > left + 0.1 * width) & (quad < right - 0.1 * width)
        a_j = jnp.where(use_cubic, cubic, jnp.where(use_quad, quad, (s.a_lo + s.a_hi) / 2.))
        phi_j, dphi_j, g_j = phi_dphi(a_j)
        phi_j = phi_j.astype(get_aval(s.phi_lo).dtype)
        dphi_j = dphi_j.astype(get_aval(s.dphi_lo).dtype)

        to_hi = wolfe_one(a_j, phi_j) | (phi_j >= s.phi_lo)   # a_j overshoots: new upper end
        to_star = wolfe_two(dphi_j) & ~to_hi                   # a_j is the answer
        to_lo = ~to_hi & ~to_star                              # a_j is the new lower end ...
        flip = (dphi_j * width >= 0.) & to_lo                  # ... and the old one the upper
        new = s._replace(**_pick(to_hi, dict(a_hi=a_j, phi_hi=phi_j, dphi_hi=dphi_j,
                                             a_rec=s.a_hi, phi_rec=s.phi_hi), s))
        new = new._replace(done=s.done | to_star, **_pick(
            to_star, dict(a_star=a_j, phi_star=phi_j, dphi_star=dphi_j,
                          g_star=g_j.astype(get_aval(s.g_star).dtype)), new))
        new = new._replace(**_pick(flip, dict(a_hi=s.a_lo, phi_hi=s.phi_lo, dphi_hi=s.dphi_lo,
                                              a_rec=s.a_hi, phi_rec=s.phi_hi), new))
        new = new._replace(**_pick(to_lo & ~flip, dict(a_rec=s.a_lo, phi_rec=s.phi_lo), new))
        new = new._replace(**_pick(to_lo, dict(a_lo=a_j, phi_lo=phi_j, dphi_lo=dphi_j), new))
        return new._replace(j=s.j + 1, failed=failed | (s.j + 1 >= 30),
                            nfev=s.nfev + 1, ngev=s.ngev + 1)

    return control_flow.while_loop(lambda s: ~s.done & ~skip & ~s.failed, body, state)


class _Search(NamedTuple):
    done: object
    failed: object
    i: object
    a_i1: object
    phi_i1: object
    dphi_i1: object
    nfev: object
    ngev: object
    a_star: object
    phi_star: object
    dphi_star: object
    g_star: object


class LineSearchResults(NamedTuple):
    failed: object
    nit: object
    nfev: object
    ngev: object
    k: object
    a_k: object
    f_k: object
    g_k: object
    status: object


def line_search(f, xk, pk, old_fval=None, old_old_fval=None, gfk=None, c1=1e-4, c2=0.9,
                maxiter=20) -> LineSearchResults:
    """A step ``a`` along the descent direction ``pk`` from ``xk`` meeting the strong Wolfe
    conditions (sufficient decrease ``c1``, curvature ``c2``)."""
    xk, pk = promote_dtypes_inexact(xk, pk)

    def phi_dphi(t):
        phi, g = value_and_grad(f, xk + jnp.array(t, dtype=get_aval(pk).dtype) * pk)
        return phi, jnp.real(dot(g, pk)), g

    given = old_fval is not None and gfk is not None
    if given:
        phi_0, dphi_0 = old_fval, jnp.real(dot(gfk, pk))
    else:
        phi_0, dphi_0, gfk = phi_dphi(0)
    start = 1
    if old_old_fval is not None:
        guess = 1.01 * 2 * (phi_0 - old_old_fval) / dphi_0
        start = jnp.where(guess > 1, 1.0, guess)

    def wolfe_one(a, phi):
        return phi > phi_0 + c1 * a * dphi_0

    def wolfe_two(dphi):
        return jnp.abs(dphi) <= -c2 * dphi_0

    evals = 0 if given else 1
    state = _Search(jnp.array(False), jnp.array(False), 1, 0., phi_0, dphi_0, evals, evals,
                    0., phi_0, dphi_0, gfk)
    star_keys = ("a_star", "phi_star", "dphi_star", "g_star")

    def body(s: _Search) -> _Search:
        a_i = jnp.where(s.i == 1, start, s.a_i1 * 2.)
        phi_i, dphi_i, g_i = phi_dphi(a_i)
        zoom_up = wolfe_one(a_i, phi_i) | ((phi_i >= s.phi_i1) & (s.i > 1))
        accept = wolfe_two(dphi_i) & ~zoom_up
        zoom_down = (dphi_i >= 0.) & ~zoom_up & ~accept
        prev, cur = (s.a_i1, s.phi_i1, s.dphi_i1), (a_i, phi_i, dphi_i)
        z1 = _zoom(phi_dphi, wolfe_one, wolfe_two, prev, cur, gfk, ~zoom_up)
        z2 = _zoom(phi_dphi, wolfe_one, wolfe_two, cur, prev, gfk, ~zoom_down)
        new = s._replace(nfev=s.nfev + 1 + z1.nfev + z2.nfev,
                         ngev=s.ngev + 1 + z1.ngev + z2.ngev,
                         done=s.done | zoom_up | accept | zoom_down,
                         failed=s.failed | (zoom_up & z1.failed) | (zoom_down & z2.failed))
        new = new._replace(**_pick(zoom_up, {k: getattr(z1, k) for k in star_keys}, new))
        new = new._replace(**_pick(accept, dict(zip(star_keys, (a_i, phi_i, dphi_i, g_i))),
                                   new))
        new = new._replace(**_pick(zoom_down, {k: getattr(z2, k) for k in star_keys}, new))
        return new._replace(i=s.i + 1, a_i1=a_i, phi_i1=phi_i, dphi_i1=dphi_i)

    s = control_flow.while_loop(lambda s: ~s.done & (s.i <= maxiter) & ~s.failed, body, state)
    status = jnp.where(s.failed, jnp.array(1), jnp.where(s.i > maxiter, jnp.array(3),
                                                         jnp.array(0)))
    a_k = jnp.asarray(s.a_star)
    if dtypes.finfo(get_aval(a_k).dtype).bits != 64:
        a_k = jnp.where(jnp.abs(a_k) < 1e-8, jnp.sign(a_k) * 1e-8, a_k)
    return LineSearchResults(s.failed | ~s.done, s.i - 1, s.nfev, s.ngev, s.i, a_k,
                             s.phi_star, s.g_star, status)
