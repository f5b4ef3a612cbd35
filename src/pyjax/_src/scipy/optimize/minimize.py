"""``minimize``: BFGS (Nocedal & Wright, algorithm 6.1) and L-BFGS (algorithm 7.5, with
Sorber et al.'s extension to complex variables), each a ``while_loop`` over iterations."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.lax import control_flow
from pyjax._src.numpy import lax_numpy, linalg as jla
from pyjax._src.scipy import jnp
from pyjax._src.scipy.optimize.line_search import dot, line_search, value_and_grad


class OptimizeResults(NamedTuple):
    """The outcome of ``minimize``.

    x: the final point; success: whether it converged without a line-search failure;
    status: 0 converged, 1 out of iterations, 2 + the line search's status when that failed
    (BFGS; L-BFGS: 2-4 out of evaluations or progress, 5 line search failed); fun, jac:
    the objective and its gradient at x; hess_inv: BFGS's inverse-Hessian estimate (None for
    L-BFGS); nfev, njev: evaluation counts; nit: iterations.
    """
    x: Any
    success: Any
    status: Any
    fun: Any
    jac: Any
    hess_inv: Any
    nfev: Any
    njev: Any
    nit: Any


class _BFGS(NamedTuple):
    converged: Any
    failed: Any
    k: Any
    nfev: Any
    ngev: Any
    x_k: Any
    f_k: Any
    g_k: Any
    H_k: Any
    old_old_fval: Any
    line_search_status: Any


def _bfgs(fun, x0, maxiter=None, norm=np.inf, gtol=1e-5, line_search_maxiter=10):
    """BFGS from ``x0``; stops when ``|grad|_norm < gtol`` or after ``maxiter`` steps."""
    maxiter = np.size(x0) * 200 if maxiter is None else maxiter
    d = get_aval(x0).shape[0]
    f_0, g_0 = value_and_grad(fun, x0)
    state = _BFGS(jla.norm(g_0, ord=norm) < gtol, False, 0, 1, 1, x0, f_0, g_0,
                  jnp.eye(d, dtype=get_aval(x0).dtype), f_0 + jla.norm(g_0) / 2, 0)

    def body(s: _BFGS) -> _BFGS:
        p_k = -dot(s.H_k, s.g_k)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, old_old_fval=s.old_old_fval,
                         gfk=s.g_k, maxiter=line_search_maxiter)
        step = ls.a_k * p_k
        y_k = ls.g_k - s.g_k
        rho = jnp.reciprocal(dot(y_k, step))
        w = jnp.eye(d, dtype=get_aval(rho).dtype) - rho * jnp.outer(step, y_k)
        H = lax_numpy.einsum("ij,jk,lk", w, s.H_k, w, precision="highest") \
            + rho * jnp.outer(step, step)
        return _BFGS(jla.norm(ls.g_k, ord=norm) < gtol, ls.failed, s.k + 1,
                     s.nfev + ls.nfev, s.ngev + ls.ngev, s.x_k + step, ls.f_k, ls.g_k,
                     jnp.where(jnp.isfinite(rho), H, s.H_k), s.f_k, ls.status)

    s = control_flow.while_loop(lambda s: ~s.converged & ~s.failed & (s.k < maxiter),
                                body, state)
    status = jnp.where(s.converged, 0, jnp.where(
        s.k == maxiter, 1, jnp.where(s.failed, 2 + s.line_search_status, -1)))
    return OptimizeResults(s.x_k, s.converged & ~s.failed, status, s.f_k, s.g_k, s.H_k,
                           s.nfev, s.ngev, s.k)


class _LBFGS(NamedTuple):
    converged: Any
    failed: Any
    k: Any
    nfev: Any
    ngev: Any
    x_k: Any
    f_k: Any
    g_k: Any
    s_history: Any
    y_history: Any
    rho_history: Any
    gamma: Any
    status: Any


def _lbfgs_direction(s: _LBFGS):
    """-H g, with H the inverse Hessian implied by the last ``k`` (at most maxcor) steps
    (the two-loop recursion); the oldest pair is row 0 of the histories."""
    m = get_aval(s.rho_history).shape[0]
    used = jnp.where(s.k < m, s.k, m)
    dtype = get_aval(s.rho_history).dtype

    def newest_first(j, carry):
        q, alphas = carry
        i = m - 1 - j
        a = s.rho_history[i] * dot(jnp.conj(s.s_history[i]), q).real.astype(dtype)
        return q - a * jnp.conj(s.y_history[i]), alphas.at[i].set(a)

    q, alphas = control_flow.fori_loop(0, used, newest_first,
                                       (-jnp.conj(s.g_k), jnp.zeros_like(s.rho_history)))

    def oldest_first(j, q):
        i = m - used + j
        b = s.rho_history[i] * dot(s.y_history[i], q).real.astype(dtype)
        return q + (alphas[i] - b) * s.s_history[i]

    return control_flow.fori_loop(0, used, oldest_first, s.gamma * q)


def _push(history, new):
    return jnp.roll(history, -1, axis=0).at[-1].set(new)


def _lbfgs(fun, x0, maxiter=None, norm=np.inf, maxcor=10, ftol=2.220446049250313e-09,
           gtol=1e-05, maxfun=None, maxgrad=None, maxls=20):
    """L-BFGS from ``x0`` keeping ``maxcor`` correction pairs; stops on ``gtol``, on an
    improvement below ``ftol``, on a failed line search or out of iterations/evaluations."""
    d, dtype = len(x0), get_aval(x0).dtype
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200
    maxiter, maxfun, maxgrad = (np.inf if v is None else v for v in (maxiter, maxfun, maxgrad))
    f_0, g_0 = value_and_grad(fun, x0)
    state = _LBFGS(jnp.array(False), jnp.array(False), 0, 1, 1, x0, f_0, g_0,
                   jnp.zeros((maxcor, d), dtype), jnp.zeros((maxcor, d), dtype),
                   jnp.zeros((maxcor,), dtype), 1., 0)

    def body(s: _LBFGS) -> _LBFGS:
        p_k = _lbfgs_direction(s)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, gfk=s.g_k, maxiter=maxls)
        step = jnp.asarray(ls.a_k).astype(get_aval(p_k).dtype) * p_k
        y_k = ls.g_k - s.g_k
        rho_inv = jnp.real(dot(y_k, step))
        status = jnp.array(0)
        for bad, code in ((s.f_k - ls.f_k < ftol, 4), (s.ngev >= maxgrad, 3),
                          (s.nfev >= maxfun, 2), (s.k >= maxiter, 1), (ls.failed, 5)):
            status = jnp.where(bad, code, status)
        converged = jla.norm(ls.g_k, ord=norm) < gtol
        g_dtype = get_aval(s.g_k).dtype
        return _LBFGS(converged, (status > 0) & ~converged, s.k + 1, s.nfev + ls.nfev,
                      s.ngev + ls.ngev, (s.x_k + step).astype(get_aval(s.x_k).dtype),
                      ls.f_k.astype(get_aval(s.f_k).dtype), ls.g_k.astype(g_dtype),
                      _push(s.s_history, step), _push(s.y_history, y_k),
                      _push(s.rho_history, jnp.reciprocal(rho_inv).astype(get_aval(y_k).dtype)),
                      (rho_inv / jnp.real(dot(jnp.conj(y_k), y_k))).astype(g_dtype),
                      jnp.where(converged, 0, status))

    s = control_flow.while_loop(lambda s: ~s.converged & ~s.failed, body, state)
    return OptimizeResults(s.x_k, s.converged & ~s.failed, s.status, s.f_k, s.g_k, None,
                           s.nfev, s.ngev, s.k)


def minimize(fun: Callable, x0, args: tuple = (), *, method: str, tol: float | None = None,
             options: Mapping[str, Any] | None = None) -> OptimizeResults:
    """The minimum of ``fun(x, *args)`` over 1-D ``x`` from ``x0`` (SciPy's interface).

    ``method`` is ``"BFGS"`` or ``"l-bfgs-experimental-do-not-rely-on-this"``; ``options``
    are the method's keyword arguments (``maxiter``, ``gtol``, ...). Like JAX's, ``tol`` is
    accepted and unused.
    """
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to jax.scipy.optimize.minimize must be a tuple, "
                        f"got {args}")
    options = {} if options is None else options
    solvers = {"bfgs": _bfgs, "l-bfgs-experimental-do-not-rely-on-this": _lbfgs}
    if method.lower() not in solvers:
        raise ValueError(f"Method {method} not recognized")
    return solvers[method.lower()](lambda x: fun(x, *args), x0, **options)
