"""``conv_general_dilated``: XLA's convolution (every dimension layout, strides, padding,
lhs/rhs dilation, feature and batch groups), with the wrappers JAX builds on it.

The kernel is im2col on BLAS: the operands are put channels-last (``N, spatial..., C``
and ``spatial..., I, O``), the input dilated and padded once, its windows taken as one
strided view, and that view copied into the patch matrix of one (grouped: batched)
``np.matmul``. No loop runs over output pixels or kernel taps. Derivatives follow JAX:
the JVP is bilinear, the transposes are themselves convolutions (the gradient
convolutions: a flipped kernel over the dilated cotangent for the input, the input
correlated with the cotangent for the kernel), and vmap folds the batch into the batch,
feature or group dimensions.
"""
from __future__ import annotations

import operator
from typing import NamedTuple, Union

import numpy as np

from pyjax._src import dtypes
from pyjax._src.backends.cpu import blas
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting as bc, dot, elementwise as ew, misc, shape
from pyjax._src.transforms.jvp import Zero, add_tangents, instantiate
from pyjax._src.transforms.transpose import is_undefined
from pyjax._src.util import check_no_sharding


class ConvDimensionNumbers(NamedTuple):
    """Where each role sits: ``lhs_spec`` = (batch, feature, spatial...) dims of the
    input, ``rhs_spec`` = (out feature, in feature, spatial...) of the kernel,
    ``out_spec`` = (batch, feature, spatial...) of the result."""
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


# What ``conv_general_dilated`` takes as ``dimension_numbers`` (a type, as in JAX).
ConvGeneralDilatedDimensionNumbers = Union[tuple[str, str, str], ConvDimensionNumbers, None]


# ---------------------------------------------------------------------------- dimension numbers

def conv_general_permutations(dimension_numbers):
    """The (lhs, rhs, out) permutations of a spec of three strings like
    ``('NHWC', 'HWIO', 'NHWC')``; spatial dims follow their order in the rhs string."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(pairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(f"convolution dimension_numbers[{i}] must contain the characters "
                            f"'{a}' and '{b}' exactly once, got {spec}.")
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{i}] cannot have duplicate "
                            f"characters, got {spec}.")
    if not (set(lhs_spec) - set("NC") == set(rhs_spec) - set("OI") == set(out_spec) - set("NC")):
        raise TypeError(f"convolution dimension_numbers elements must each have the same set "
                        f"of spatial characters, got {dimension_numbers}.")

    def perm(spec, pair):
        spatial = sorted((i for i, c in enumerate(spec) if c not in pair),
                         key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)
    return tuple(perm(s, p) for s, p in zip(dimension_numbers, pairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """``dimension_numbers`` (None, three strings, or ``ConvDimensionNumbers``) as
    ``ConvDimensionNumbers`` of permutations (None: ``NC<spatial>``/``OI<spatial>``)."""
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(f"convolution requires lhs and rhs ndim to be equal, got "
                        f"{len(lhs_shape)} and {len(rhs_shape)}.")
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if not isinstance(dimension_numbers, (list, tuple)):
        raise TypeError(f"convolution dimension_numbers must be tuple/list or None, got "
                        f"{type(dimension_numbers)}.")
    if len(dimension_numbers) != 3:
        raise TypeError(f"convolution dimension_numbers list/tuple must be length 3, got "
                        f"{len(dimension_numbers)}.")
    if not all(isinstance(s, str) for s in dimension_numbers):
        raise TypeError(f"convolution dimension_numbers elements must be strings, got "
                        f"{tuple(map(type, dimension_numbers))}.")
    for i, s in enumerate(dimension_numbers):
        if len(s) != len(lhs_shape):
            raise TypeError(f"convolution dimension_numbers[{i}] must have len equal to the "
                            f"ndim of lhs and rhs, got {len(s)} for lhs and rhs shapes "
                            f"{tuple(lhs_shape)} and {tuple(rhs_shape)}.")
    return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))


# ---------------------------------------------------------------------------- padding and shapes

def dilate_dim(d: int, dilation: int) -> int:
    return 0 if d == 0 else 1 + dilation * (d - 1)


def dilate_shape(shape_, dilation) -> tuple:
    if not all(int(d) > 0 for d in dilation):
        raise TypeError(f"All dilations must be positive, got {tuple(dilation)}.")
    return tuple(dilate_dim(int(s), int(d)) for s, d in zip(shape_, dilation))


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1) -> tuple:
    """Result shape in canonical order (N, O, spatial...) from canonical operand shapes."""
    if isinstance(pads, str):
        pads = misc.padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(f"Wrong number of explicit pads for convolution: expected "
                        f"{len(lhs_shape) - 2}, got {len(pads)}.")
    padded = [int(d) + int(lo) + int(hi) for d, (lo, hi) in zip(lhs_shape[2:], pads)]
    if any(p < 0 for p in padded):
        raise ValueError(f"Negative padding is larger than the size of the corresponding "
                         f"dimension: got padding={tuple(pads)} for lhs_shape[2:]="
                         f"{tuple(lhs_shape[2:])}")
    space = tuple(max(0, (p - int(k)) // int(s) + 1)
                  for p, k, s in zip(padded, rhs_shape[2:], strides))
    return (int(lhs_shape[0]) // batch_group_count, int(rhs_shape[0])) + space


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    lp, rp, op = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(np.take(lhs_shape, lp), np.take(rhs_shape, rp), window_strides,
                           padding)
    return tuple(int(x) for x in np.take(out, np.argsort(op)))


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    lp, rp, op = conv_general_permutations(dimension_numbers)
    lt, rt = np.take(lhs_shape, lp), np.take(rhs_shape, rp)
    if isinstance(padding, str):
        padding = [_conv_transpose_padding(int(k), int(s), padding)
                   for k, s in zip(rt[2:], window_strides)]
    space = [(int(i) - 1) * int(s) - int(k) + 2 + int(sum(p))
             for i, k, s, p in zip(lt[2:], rt[2:], window_strides, padding)]
    out = (int(lt[0]), int(rt[0])) + tuple(space)
    return tuple(int(x) for x in np.take(out, np.argsort(op)))


# ---------------------------------------------------------------------------- conv_general_dilated

conv_general_dilated_p = Primitive("conv_general_dilated")


def _static_pairs(padding, what: str) -> tuple:
    try:
        return tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (ValueError, TypeError) as e:
        raise ValueError(f"padding argument to {what} should be a string or a sequence of "
                         f"(low, high) pairs, got {padding}") from e


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None,
                         out_sharding=None):
    """General n-d convolution (XLA's ConvGeneralDilated); see ``ConvDimensionNumbers``.
    String padding is computed from the dilated kernel and the undilated input."""
    check_no_sharding(out_sharding, "lax.conv_general_dilated")
    la, ra = get_aval(lhs), get_aval(rhs)
    dnums = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    if lhs_dilation is None:
        lhs_dilation = (1,) * nsp
    elif isinstance(padding, str) and any(int(d) != 1 for d in lhs_dilation):
        raise ValueError("String padding is not implemented for transposed convolution "
                         "using this op. Please either exactly specify the required padding "
                         "or use conv_transpose.")
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ra.ndim - 2)
    if isinstance(padding, str):
        window = dilate_shape(np.take(ra.shape, dnums.rhs_spec)[2:], rhs_dilation)
        padding = misc.padtype_to_pads(np.take(la.shape, dnums.lhs_spec)[2:], window,
                                  window_strides, padding)
    padding = _static_pairs(padding, "conv_general_dilated")
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize_dtype(preferred_element_type)
    return conv_general_dilated_p.bind(
        bc.as_operand(lhs), bc.as_operand(rhs),
        window_strides=tuple(int(s) for s in window_strides), padding=padding,
        lhs_dilation=tuple(int(d) for d in lhs_dilation),
        rhs_dilation=tuple(int(d) for d in rhs_dilation), dimension_numbers=dnums,
        feature_group_count=operator.index(feature_group_count),
        batch_group_count=operator.index(batch_group_count), precision=dot.canonicalize_precision(precision),
        preferred_element_type=preferred_element_type)


def _check_groups(lhs, rhs, dn, feature_group_count, batch_group_count):
    """JAX's checks of the feature and batch sizes against the group counts."""
    name = "conv_general_dilated"
    c, i, o = lhs.shape[dn.lhs_spec[1]], rhs.shape[dn.rhs_spec[1]], rhs.shape[dn.rhs_spec[0]]
    n = lhs.shape[dn.lhs_spec[0]]
    if not feature_group_count > 0:
        raise ValueError(f"{name} feature_group_count must be a positive integer, got "
                         f"{feature_group_count}.")
    if c % feature_group_count:
        raise ValueError(f"{name} feature_group_count must divide lhs feature dimension "
                         f"size, but {feature_group_count} does not divide {c}.")
    if c // feature_group_count != i:
        raise ValueError(f"{name} lhs feature dimension size divided by feature_group_count "
                         f"must equal the rhs input feature dimension size, but {c} // "
                         f"{feature_group_count} != {i}.")
    if o % feature_group_count:
        raise ValueError(f"{name} rhs output feature dimension size must be a multiple of "
                         f"feature_group_count, but {o} is not a multiple of "
                         f"{feature_group_count}.")
    if not batch_group_count > 0:
        raise ValueError(f"{name} batch_group_count must be a positive integer, got "
                         f"{batch_group_count}.")
    if batch_group_count > 1 and n % batch_group_count:
        raise ValueError(f"{name} batch_group_count must divide lhs batch dimension size, "
                         f"but {batch_group_count} does not divide {n}.")
    if o % batch_group_count:
        raise ValueError(f"{name} rhs output feature dimension size must be a multiple of "
                         f"batch_group_count, but {o} is not a multiple of "
                         f"{batch_group_count}.")
    if batch_group_count > 1 and feature_group_count > 1:
        raise ValueError(f"At most one of batch_group_count and feature_group_count may be "
                         f"> 1, got batch_group_count={batch_group_count} and "
                         f"feature_group_count={feature_group_count}")


def _result_dtype(lhs, rhs, preferred):
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"lax.conv_general_dilated requires arguments to have the same "
                        f"dtypes, got {lhs.dtype.name}, {rhs.dtype.name}.")
    dt = lhs.dtype
    if preferred is None or preferred == dt:
        return dt
    groups = ("iu", "f", "c")
    if not (dt.kind in "iu" and preferred.kind == "f"):
        if any(dt.kind in g and preferred.kind not in g for g in groups):
            raise TypeError("Input type is incompatible with `preferred_element_type`. The "
                            "compatible combinations of (input_type, preferred_element_type) "
                            "are (integral, integral), (integral, floating), (floating, "
                            "floating), (complex, complex.")
        if dt.kind == "i" and preferred.kind != "i":
            raise TypeError("`preferred_element_type` must have the same signedness as the "
                            "original type.")
    if preferred.itemsize < dt.itemsize:
        raise TypeError("`preferred_element_type` must not be narrower than the original "
                        "type.")
    return preferred


def _conv_abstract_eval(avals, window_strides, padding, lhs_dilation, rhs_dilation,
                        dimension_numbers, feature_group_count, batch_group_count, precision,
                        preferred_element_type):
    lhs, rhs = avals
    dn = dimension_numbers
    if lhs.ndim != rhs.ndim:
        raise ValueError(f"conv_general_dilated lhs and rhs must have the same number of "
                         f"dimensions, but got {lhs.shape} and {rhs.shape}.")
    _check_groups(lhs, rhs, dn, feature_group_count, batch_group_count)
    if len(dn.rhs_spec) - 2 != len(window_strides):
        raise ValueError(f"conv_general_dilated window and window_strides must have the same "
                         f"number of dimensions, but got {len(dn.rhs_spec) - 2} and "
                         f"{len(window_strides)}")
    lt = dilate_shape(np.take(lhs.shape, dn.lhs_spec), (1, 1) + tuple(lhs_dilation))
    rt = dilate_shape(np.take(rhs.shape, dn.rhs_spec), (1, 1) + tuple(rhs_dilation))
    out = conv_shape_tuple(lt, rt, window_strides, padding, batch_group_count)
    out_shape = tuple(int(x) for x in np.take(out, np.argsort(dn.out_spec)))
    dt = _result_dtype(lhs, rhs, preferred_element_type)
    return [ShapedArray(out_shape, dt, lhs.weak_type and rhs.weak_type)]


def dilate_and_pad(x, axes, dilation, padding, fill=0):
    """``x`` with each of ``axes`` dilated (``fill`` between elements) and padded with
    ``fill`` (negative padding crops): one fresh buffer, or ``x`` itself if nothing to do."""
    if all(d == 1 for d in dilation) and all(lo == hi == 0 for lo, hi in padding):
        return x
    full = list(x.shape)
    into = [slice(None)] * x.ndim
    crop = [slice(None)] * x.ndim
    for ax, d, (lo, hi) in zip(axes, dilation, padding):
        n = dilate_dim(x.shape[ax], d)
        full[ax] = max(lo, 0) + n + max(hi, 0)
        into[ax] = slice(max(lo, 0), max(lo, 0) + n, d)
        crop[ax] = slice(max(-lo, 0), max(full[ax] - max(-hi, 0), max(-lo, 0)))
    out = np.zeros(full, x.dtype) if fill == 0 else np.full(full, fill, x.dtype)
    out[tuple(into)] = x
    return out[tuple(crop)]


def _patches(xp, kernel, strides, rhs_dilation):
    """The windows of ``xp`` (``N, spatial..., C``) as one strided view
    ``N, out spatial..., kernel spatial..., C`` (no copy)."""
    nsp = len(kernel)
    sp = xp.shape[1:1 + nsp]
    out = tuple(max(0, (n - dilate_dim(k, r)) // s + 1)
                for n, k, s, r in zip(sp, kernel, strides, rhs_dilation))
    st = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0],) + out + tuple(kernel) + (xp.shape[-1],),
        (st[0],) + tuple(st[1 + i] * s for i, s in enumerate(strides))
        + tuple(st[1 + i] * r for i, r in enumerate(rhs_dilation)) + (st[-1],),
        writeable=False)


def _contract(view, w, nsp: int, groups: int, batch_groups: int):
    """Patch view ``N, P..., K..., C`` times kernel ``K..., I, O`` -> ``N', P..., O``:
    one matmul of the patch matrix, batched over the groups."""
    n, c, o = view.shape[0], view.shape[-1], w.shape[-1]
    p = view.shape[1:1 + nsp]
    npix, ktaps = int(np.prod(p, dtype=np.int64)), int(np.prod(w.shape[:nsp], dtype=np.int64))
    if groups == 1 and batch_groups == 1:
        res = blas.matmul(view.reshape(n * npix, ktaps * c), w.reshape(ktaps * c, o))
        return res.reshape((n,) + p + (o,))
    if groups > 1:
        i, og = c // groups, o // groups
        a = view.reshape(n * npix, ktaps, groups, i).transpose(2, 0, 1, 3)
        b = w.reshape(ktaps, i, groups, og).transpose(2, 0, 1, 3)
        res = blas.matmul(a.reshape(groups, n * npix, ktaps * i),
                          b.reshape(groups, ktaps * i, og))
        return res.transpose(1, 0, 2).reshape((n,) + p + (o,))
    nb, ob = n // batch_groups, o // batch_groups
    a = view.reshape(batch_groups, nb * npix, ktaps * c)
    b = w.reshape(ktaps * c, batch_groups, ob).transpose(1, 0, 2)
    res = blas.matmul(a, b)
    return res.transpose(1, 0, 2).reshape((nb,) + p + (o,))


def _work_dtype(dt: np.dtype) -> np.dtype:
    """Half-width floats accumulate in float32 (as XLA's CPU convolutions); else ``dt``."""
    return np.dtype(np.float32) if dt.kind in "fV" and dt.itemsize < 4 else dt


def _conv_impl(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count, precision,
               preferred_element_type):
    dn = dimension_numbers
    nsp = len(window_strides)
    out_dtype = _result_dtype(lhs, rhs, preferred_element_type)
    work = _work_dtype(out_dtype)
    x = lhs.transpose((dn.lhs_spec[0],) + tuple(dn.lhs_spec[2:]) + (dn.lhs_spec[1],))
    w = rhs.transpose(tuple(dn.rhs_spec[2:]) + (dn.rhs_spec[1], dn.rhs_spec[0]))
    x, w = x.astype(work, copy=False), w.astype(work, copy=False)
    x = dilate_and_pad(x, range(1, nsp + 1), lhs_dilation, padding)
    view = _patches(x, w.shape[:nsp], window_strides, rhs_dilation)
    res = _contract(view, w, nsp, feature_group_count, batch_group_count)
    order = (dn.out_spec[0],) + tuple(dn.out_spec[2:]) + (dn.out_spec[1],)
    res = res.transpose(tuple(int(i) for i in np.argsort(order)))
    return [res.astype(out_dtype, copy=False)]


def _conv_jvp(primals, tangents, **params):
    lhs, rhs = primals
    tl, tr = tangents
    ans = conv_general_dilated_p.bind(lhs, rhs, **params)
    out = Zero(get_aval(ans).to_tangent_aval())
    if type(tl) is not Zero:
        out = add_tangents(out, conv_general_dilated_p.bind(tl, rhs, **params))
    if type(tr) is not Zero:
        out = add_tangents(out, conv_general_dilated_p.bind(lhs, tr, **params))
    return [ans], [out]


# The gradient convolutions. Without spatial dims and groups, a convolution is the product
# [n, i] [i, o] -> [n, o]; its input cotangent is [n, o] [o, i] (the kernel with its
# feature roles swapped, spatially flipped, run over the cotangent dilated by the strides)
# and its kernel cotangent [i, n] [n, o] (the input with batch and feature roles swapped,
# correlated with the cotangent as kernel). Feature groups in the forward convolution
# become batch groups in the kernel cotangent and the other way round.

def _axis_into(src: int, dst: int, x):
    """Merge axis ``src`` into ``dst`` (numbered with ``src`` removed), ``src`` major."""
    a = get_aval(x)
    perm = [i for i in range(a.ndim) if i != src]
    perm.insert(dst, src)
    sizes = [s for i, s in enumerate(a.shape) if i != src]
    sizes[dst] *= a.shape[src]
    return bc.reshape(x, tuple(sizes), tuple(perm))


def _axis_out_of(src: int, size: int, x):
    """Split axis ``src`` into (``size``, rest)."""
    sizes = list(get_aval(x).shape)
    sizes[src:src + 1] = [size, sizes[src] // size]
    return bc.reshape(x, tuple(sizes))


def _swap_roles(spec) -> tuple:
    return (spec[1], spec[0]) + tuple(spec[2:])


def vjp_lhs_padding(in_shape, window, strides, out_shape, padding, lhs_dil, rhs_dil):
    """Padding of the (stride-dilated) cotangent whose correlation with the flipped
    window gives the input cotangent (also reduce_window_sum's transpose)."""
    lhs_d, rhs_d = dilate_shape(in_shape, lhs_dil), dilate_shape(window, rhs_dil)
    out_d = dilate_shape(out_shape, strides)
    before = [k - lo - 1 for k, (lo, _) in zip(rhs_d, padding)]
    return tuple((b, n + k - 1 - o - b) for b, n, k, o in zip(before, lhs_d, rhs_d, out_d))


def _vjp_rhs_padding(in_shape, window, strides, out_shape, padding, lhs_dil, rhs_dil):
    lhs_d, rhs_d = dilate_shape(in_shape, lhs_dil), dilate_shape(window, rhs_dil)
    out_d = dilate_shape(out_shape, strides)
    return tuple((lo, o - n + k - lo - 1)
                 for (lo, _), n, k, o in zip(padding, lhs_d, rhs_d, out_d))


def _transpose_lhs(ct, rhs, lhs_aval, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, precision,
                   preferred_element_type):
    ls, rs, os_ = dimension_numbers
    rhs_shape = get_aval(rhs).shape
    groups = max(feature_group_count, batch_group_count)
    if groups > 1:  # the group moves from the kernel's output features to its inputs
        rhs = _axis_into(rs[0], rs[1], _axis_out_of(rs[0], groups, rhs))
    pads = vjp_lhs_padding(np.take(lhs_aval.shape, ls[2:]), np.take(rhs_shape, rs[2:]),
                            window_strides, np.take(get_aval(ct).shape, os_[2:]), padding,
                            lhs_dilation, rhs_dilation)
    kernel = shape.rev(rhs, tuple(rs[2:]))
    if get_aval(kernel).dtype != get_aval(ct).dtype:
        kernel = ew.convert_element_type(kernel, get_aval(ct).dtype)
    out = conv_general_dilated(
        ct, kernel, lhs_dilation, pads, window_strides, rhs_dilation,
        ConvDimensionNumbers(os_, _swap_roles(rs), ls), feature_group_count=groups,
        precision=precision, preferred_element_type=preferred_element_type)
    if get_aval(out).dtype != lhs_aval.dtype:
        out = ew.convert_element_type(out, lhs_aval.dtype)
    if batch_group_count > 1:
        out = _axis_into(ls[1], ls[0], _axis_out_of(ls[1], batch_group_count, out))
    return out


def _transpose_rhs(ct, lhs, rhs_aval, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, precision,
                   preferred_element_type):
    ls, rs, os_ = dimension_numbers
    if get_aval(ct).size == 0:
        return Zero(rhs_aval.to_tangent_aval())
    pads = _vjp_rhs_padding(np.take(get_aval(lhs).shape, ls[2:]), np.take(rhs_aval.shape, rs[2:]),
                            window_strides, np.take(get_aval(ct).shape, os_[2:]), padding,
                            lhs_dilation, rhs_dilation)
    if get_aval(lhs).dtype != get_aval(ct).dtype:
        lhs = ew.convert_element_type(lhs, get_aval(ct).dtype)
    out = conv_general_dilated(
        lhs, ct, rhs_dilation, pads, lhs_dilation, window_strides,
        ConvDimensionNumbers(_swap_roles(ls), _swap_roles(os_), _swap_roles(rs)),
        feature_group_count=batch_group_count, batch_group_count=feature_group_count,
        precision=precision, preferred_element_type=preferred_element_type)
    if get_aval(out).dtype != rhs_aval.dtype:
        out = ew.convert_element_type(out, rhs_aval.dtype)
    return out


def _conv_transpose_rule(cts, lhs, rhs, **params):
    ct = instantiate(cts[0])
    if is_undefined(lhs) and is_undefined(rhs):
        raise TypeError("conv_general_dilated is bilinear, not linear in both operands at once")
    if is_undefined(lhs):
        return [_transpose_lhs(ct, rhs, lhs.aval, **params), None]
    return [None, _transpose_rhs(ct, lhs, rhs.aval, **params)]


def _one_more(x, d):
    """``x`` with one zero slice appended along its mapped axis ``d`` (if any)."""
    if d is None:
        return x
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[d] = (0, 1, 0)
    return shape.pad(x, np.zeros((), get_aval(x).dtype), config)


def _conv_batch(axis_size, args, dims, **params):
    """vmap folds the mapped axis into the convolution: into the features (as groups) when
    both operands are mapped, into the batch for a mapped input, into the output features
    for a mapped kernel (inside the groups, which must stay outermost)."""
    lhs, rhs = args
    ld, rd = dims
    if axis_size == 0:  # folding an empty axis loses the sizes it multiplies: fold one
        outs, out_dims = _conv_batch(1, [_one_more(x, d) for x, d in zip(args, dims)],
                                     dims, **params)
        return [shape.slice_in_dim(outs[0], 0, 0, axis=out_dims[0])], out_dims
    ls, rs, os_ = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    bind = conv_general_dilated_p.bind
    if ld is not None and rd is not None:
        if bgc > 1:
            lhs = _axis_into(ld, ls[0], lhs)
            params = dict(params, batch_group_count=bgc * axis_size)
        else:
            lhs = _axis_into(ld, ls[1], lhs)
            params = dict(params, feature_group_count=fgc * axis_size)
        out = bind(lhs, _axis_into(rd, rs[0], rhs), **params)
        return [_axis_out_of(os_[1], axis_size, out)], [os_[1]]
    if ld is not None:
        if bgc == 1:
            out = bind(_axis_into(ld, ls[0], lhs), rhs, **params)
        else:  # the mapped axis goes inside the batch groups
            lhs = _axis_out_of(ls[0] + (ld <= ls[0]), bgc, lhs)
            lhs = _axis_into(ld + (ls[0] < ld), ls[0] + 1, lhs)
            out = bind(_axis_into(ls[0], ls[0], lhs), rhs, **params)
        return [_axis_out_of(os_[0], axis_size, out)], [os_[0]]
    if fgc == 1 and bgc == 1:
        out = bind(lhs, _axis_into(rd, rs[0], rhs), **params)
        return [_axis_out_of(os_[1], axis_size, out)], [os_[1]]
    groups = max(fgc, bgc)
    rhs = _axis_out_of(rs[0] + (rd <= rs[0]), groups, rhs)
    rhs = _axis_into(rd + (rs[0] < rd), rs[0] + 1, rhs)
    out = bind(lhs, _axis_into(rs[0], rs[0], rhs), **params)
    out = _axis_out_of(os_[1] + 1, axis_size, _axis_out_of(os_[1], groups, out))
    return [_axis_into(os_[1], os_[1] + 1, out)], [os_[1]]


def _conv_macs(eqn) -> int:
    """Multiply-adds: each output element contracts kernel taps x input features per group."""
    rhs = eqn.invars[1].aval
    rs = eqn.params["dimension_numbers"].rhs_spec
    per_out = int(np.prod([rhs.shape[d] for d in rs[1:]], dtype=np.int64))
    return eqn.outvars[0].aval.size * per_out


conv_general_dilated_p.abstract_eval = _conv_abstract_eval
conv_general_dilated_p.impl = _conv_impl
conv_general_dilated_p.jvp = _conv_jvp
conv_general_dilated_p.transpose = _conv_transpose_rule
conv_general_dilated_p.batch = _conv_batch
conv_general_dilated_p.cost = lambda eqn, work: (2.0 * _conv_macs(eqn), 0.0)
conv_general_dilated_p.exact_dtypes = True
conv_general_dilated_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- wrappers

def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in the NCHW/OIHW layout without dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in the NCHW/OIHW layout."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k: int, s: int, padding):
    """(before, after) padding of the dilated input that makes a transposed convolution
    the gradient of a forward one with this kernel size, stride and padding."""
    if padding == "SAME":
        total = k + s - 2
        before = k - 1 if s > k - 1 else -(-total // 2)
    elif padding == "VALID":
        total = k + s - 2 + max(k - s, 0)
        before = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        before, total = pads[0], sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return before, total - before


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                      4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None,
                   use_consistent_padding=False):
    """A fractionally strided convolution (the input dilated by ``strides``), in TF's
    layouts by default; ``transpose_kernel`` flips and swaps the kernel as Keras does."""
    la, ra = get_aval(lhs), get_aval(rhs)
    if la.ndim != ra.ndim or la.ndim < 2:
        raise ValueError(f"conv_transpose requires lhs and rhs of equal rank >= 2, got shapes "
                         f"{la.shape} and {ra.shape}")
    if dimension_numbers is None:
        if la.ndim not in _TRANSPOSE_LAYOUTS:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = _TRANSPOSE_LAYOUTS[la.ndim]
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    ksizes = [int(k) for k in np.take(ra.shape, dn.rhs_spec)[2:]]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ra.ndim - 2)
    if use_consistent_padding or padding in ("SAME", "VALID"):
        per_dim = [padding] * len(strides) if isinstance(padding, str) else padding
        pads = tuple(_conv_transpose_padding(dilate_dim(k, int(r)), int(s),
                                             p if isinstance(p, str) else tuple(p))
                     for k, r, s, p in zip(ksizes, rhs_dilation, strides, per_dim))
    else:
        pads = padding
    if transpose_kernel:
        rhs = shape.rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ra.ndim))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = dn.rhs_spec[1], dn.rhs_spec[0]
        rhs = bc.transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * (la.ndim - 2), pads, strides, rhs_dilation,
                                dn, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation=None,
                                 rhs_dilation=None, dimension_numbers=None, precision=None,
                                 preferred_element_type=None):
    """Each output position's receptive field as features (input feature major, then the
    filter's spatial positions): a grouped convolution with a one-hot kernel, as in JAX."""
    la = get_aval(lhs)
    nsp = la.ndim - 2
    if len(filter_shape) != nsp:
        raise ValueError(f"conv_general_dilated_patches: filter_shape {tuple(filter_shape)} "
                         f"must have {nsp} spatial dimensions")
    filter_shape = tuple(int(k) for k in filter_shape)
    dn = conv_dimension_numbers(la.shape, (1, 1) + filter_shape, dimension_numbers)
    c = la.shape[dn.lhs_spec[1]]
    taps = int(np.prod(filter_shape, dtype=np.int64))
    eye = np.eye(taps, dtype=la.dtype).reshape((taps, 1) + filter_shape)
    kernel = np.tile(eye, (c,) + (1,) * (nsp + 1))  # (c * taps, 1, *filter)
    kernel = np.moveaxis(kernel, (0, 1), (dn.rhs_spec[0], dn.rhs_spec[1]))
    return conv_general_dilated(lhs, kernel, window_strides, padding, lhs_dilation,
                                rhs_dilation, dn, feature_group_count=c,
                                precision=None if precision is None else (precision, None),
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_local(lhs, rhs, window_strides, padding, filter_shape,
                               lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                               precision=None):
    """An unshared convolution (a separate kernel per output position, ``rhs`` laid out
    like the output with features ``(in feature x filter taps, out feature)``): the
    patches contracted with ``rhs`` position by position, as JAX computes it."""
    filter_shape = tuple(int(k) for k in filter_shape)
    if isinstance(precision, (tuple, list)) and len(precision) == 2:
        lhs_precision = precision[0]
    else:
        lhs_precision = precision
    patches = conv_general_dilated_patches(lhs, filter_shape, window_strides, padding,
                                           lhs_dilation, rhs_dilation, dimension_numbers,
                                           precision=lhs_precision)
    _, rs, os_ = conv_dimension_numbers(get_aval(lhs).shape, (1, 1) + filter_shape,
                                        dimension_numbers)
    lhs_batch = list(os_[2:])
    rhs_batch = [rs[2:][i] for i in sorted(range(len(lhs_batch)), key=lambda k: lhs_batch[k])]
    dn = (((os_[1],), (rs[1],)), (tuple(sorted(lhs_batch)), tuple(rhs_batch)))
    out = dot.dot_general(patches, rhs, dn, precision=precision)
    ndim = get_aval(out).ndim  # (spatial..., batch, out feature) -> the out layout
    rest = iter(range(ndim - 2))
    perm = [ndim - 2 if i == os_[0] else ndim - 1 if i == os_[1] else next(rest)
            for i in range(ndim)]
    return bc.transpose(out, tuple(perm))
