"""Attention and block-scaled products of ``jax.nn``: ``dot_product_attention`` as JAX's
XLA implementation computes it (the one ``implementation=None`` picks on CPU), and the
``scaled_*`` family, whose quantized forms need cuDNN in JAX and float8 types here."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import dot as lax_dot, elementwise as ew
from pyjax._src.nn.functions import logsumexp, softmax
from pyjax._src.numpy import creation, lax_numpy as lnp, ufuncs as uf

__all__ = ["dot_product_attention", "get_scaled_dot_general_config", "scaled_dot_general",
           "scaled_matmul"]


def _large_negative(dtype):
    """The masked logit: -0.7 * the dtype's max, capped at float32's range (the softmax
    runs in float32, where a float64 max would overflow to -inf)."""
    top = min(float(np.finfo(dtype).max), float(np.finfo(np.float32).max))
    return creation.asarray(-0.7 * top, dtype=dtype)


def _window_mask(t: int, s: int, window: tuple[int, int]):
    q = creation.arange(t)[:, None]
    k = creation.arange(s)[None, :]
    left, right = window
    return uf.logical_and(q >= k - right, q <= k + left)


def _padding_mask(t: int, s: int, q_len, kv_len):
    """(B, 1, 1, T, S): query and key positions inside each batch row's lengths."""
    q_mask, kv_mask = True, True
    if q_len is not None:
        q_mask = creation.arange(t)[None, :, None] < q_len[:, None, None]
    if kv_len is not None:
        kv_mask = creation.arange(s)[None, None, :] < kv_len[:, None, None]
    return uf.logical_and(q_mask, kv_mask)[:, None, None]


def _apply_masks(logits, mask, is_causal, q_len, kv_len, window):
    """(B, K, G, T, S) logits where every mask allows, a large negative number elsewhere."""
    if mask is None and not is_causal and q_len is None and kv_len is None and window is None:
        return logits
    aval = get_aval(logits)
    t, s = aval.shape[-2:]
    combined = creation.ones_like(logits, dtype=bool)
    if mask is not None:
        combined = uf.logical_and(combined, mask)
    if is_causal:
        combined = uf.logical_and(combined, lnp.tril(creation.ones((t, s), bool)))
    if window is not None:
        combined = uf.logical_and(combined, _window_mask(t, s, window))
    if q_len is not None or kv_len is not None:
        combined = uf.logical_and(combined, _padding_mask(t, s, q_len, kv_len))
    return uf.where(combined, logits, _large_negative(aval.dtype))


def _to_grouped(t, n: int, k: int, g: int):
    """A (B, N or 1, T, S) bias or mask as (B, K or 1, G, T, S), against the logits'
    (B, K, G, T, S): query head ``k * G + g`` is group ``g`` of key/value head ``k``."""
    if t is None:
        return None
    tb, tn, tt, ts = get_aval(t).shape
    if tn == 1:
        return lnp.broadcast_to(t[:, :, None], (tb, tn, g, tt, ts))
    if tn != n:
        raise ValueError(f"bias/mask head dimension should be 1 or {n}, but got {tn}")
    return lnp.reshape(t, (tb, k, g, tt, ts))


def _attention_xla(query, key, value, bias, mask, q_len, kv_len, *, is_causal, scale,
                   window, return_residual):
    """Grouped-query attention over (B, T, K, G, H) queries and (B, S, K, H) keys/values;
    logits in float32 at least, softmax in float32, probabilities in the key dtype."""
    b, t, n, h = get_aval(query).shape
    k = get_aval(key).shape[2]
    g = n // k
    query = lnp.reshape(query, (b, t, k, g, h))
    bias, mask = _to_grouped(bias, n, k, g), _to_grouped(mask, n, k, g)
    logits_dtype = dtypes.promote_types(get_aval(query).dtype, np.float32)
    logits = lnp.einsum("BTKGH,BSKH->BKGTS", query, key, preferred_element_type=logits_dtype)
    logits = logits * creation.array(scale, dtype=logits_dtype)
    if bias is not None:
        logits = (logits + bias).astype(logits_dtype)
    padded = _apply_masks(logits, mask, is_causal, q_len, kv_len, window).astype(np.float32)
    key_dtype = get_aval(key).dtype
    probs = softmax(padded, axis=-1).astype(key_dtype)
    encoded = lnp.einsum("BKGTS,BSKH->BTKGH", probs, value)
    if q_len is not None:
        keep = (creation.arange(t)[None, :] < q_len[:, None])[:, :, None, None, None]
        encoded = encoded * keep.astype(get_aval(encoded).dtype)
    encoded = lnp.reshape(encoded, (b, t, n, h))
    if return_residual:
        lse = logsumexp(padded, axis=-1).astype(key_dtype)
        lse = ew.stop_gradient(lnp.reshape(lnp.transpose(lse, (0, 3, 1, 2)), (b, t, n)))
        return encoded, lse
    return encoded


def _ensure_4d(t):
    t = creation.asarray(t)
    missing = 4 - get_aval(t).ndim
    return lnp.expand_dims(t, tuple(range(missing))) if missing > 0 else t


def _check(t, shape, dtype, name: str) -> None:
    if t is None:
        return
    aval = get_aval(t)
    if aval.ndim != len(shape):
        raise ValueError(f"{name} ndim should be {len(shape)}, but got {aval.ndim}")
    if dtype is not None and aval.dtype != dtype:
        raise ValueError(f"{name} dtype should be {dtype}, but got {aval.dtype}")
    if any(want != -1 and got != want for want, got in zip(shape, aval.shape)):
        raise ValueError(f"{name} shape should be {tuple(shape)}: but got {aval.shape}")


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal: bool = False, query_seq_lengths=None,
                          key_value_seq_lengths=None, local_window_size=None,
                          implementation=None, return_residual: bool = False):
    """softmax(scale * Q K^T + bias, masked) V over (B, T, N, H) heads (N a multiple of
    the K key/value heads: grouped-query attention); the softmax runs in float32.
    ``implementation`` None or ``'xla'`` (what None picks on CPU); ``'cudnn'`` needs a GPU."""
    out_shape = get_aval(creation.asarray(query)).shape
    q, k, v = _ensure_4d(query), _ensure_4d(key), _ensure_4d(value)
    bias = None if bias is None else _ensure_4d(bias)
    mask = None if mask is None else _ensure_4d(mask)
    q_len = None if query_seq_lengths is None else creation.asarray(query_seq_lengths)
    kv_len = None if key_value_seq_lengths is None else creation.asarray(key_value_seq_lengths)
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    b, s, nk, h = get_aval(k).shape
    _check(v, [b, s, nk, h], get_aval(k).dtype, "value")
    _check(q, [b, -1, -1, h], get_aval(k).dtype, "query")
    _check(mask, [-1] * 4, np.dtype(bool), "mask")
    _check(bias, [-1] * 4, None, "bias")
    _check(q_len, [b], np.dtype("int32"), "query_seq_lengths")
    _check(kv_len, [b], np.dtype("int32"), "key_value_seq_lengths")
    if get_aval(q).shape[-2] % nk != 0:
        raise ValueError("The number of query heads must be a multiple of key/value heads, "
                         f"but got {get_aval(q).shape[-2]} vs {nk}")
    if implementation == "cudnn":
        raise NotImplementedError("dot_product_attention: implementation='cudnn' needs a GPU")
    if implementation not in (None, "xla"):
        raise ValueError(f"Unsupported implementation option: {implementation}")
    scale = (1.0 / np.sqrt(h)) if scale is None else scale
    out = _attention_xla(q, k, v, bias, mask, q_len, kv_len, is_causal=bool(is_causal),
                         scale=scale, window=local_window_size,
                         return_residual=bool(return_residual))
    if return_residual:
        return lnp.reshape(out[0], out_shape), lnp.reshape(out[1], out_shape[:-1])
    return lnp.reshape(out, out_shape)


# ------------------------------------------------------------------- block scaling

@dataclasses.dataclass
class BlockScaleConfig:
    """How ``scaled_dot_general`` quantizes an operand: blocks of ``block_size`` along
    the contracting dimension, values of ``data_type`` and scales of ``scale_type``."""
    mode: str
    block_size: int
    data_type: Any
    scale_type: Any
    global_scale: Any
    infer_only: bool


def _type(name: str):
    """An ml_dtypes scalar type by name (importing ml_dtypes only when asked for one)."""
    return dtypes.as_dtype(name).type


def get_scaled_dot_general_config(mode, global_scale=None):
    """The configuration of the ``'nvfp4'`` or ``'mxfp8'`` block-scaled formats."""
    if mode == "nvfp4":
        one = creation.ones((1,), dtype=np.float32)
        return BlockScaleConfig("nvfp4", 16, _type("float4_e2m1fn"), _type("float8_e4m3fn"),
                                one if global_scale is None else global_scale, False)
    if mode == "mxfp8":
        return BlockScaleConfig("mxfp8", 32, _type("float8_e4m3fn"), _type("float8_e8m0fnu"),
                                None, False)
    raise ValueError(f"Unsupported mode: {mode}")


def scaled_matmul(lhs, rhs, lhs_scales, rhs_scales, preferred_element_type=np.float32):
    """(B, M, K) x (B, N, K) -> (B, M, N) with each operand times its per-block scales
    (``scales.shape[-1]`` blocks along K), accumulated in ``preferred_element_type``."""
    ops = [creation.asarray(x) for x in (lhs, rhs, lhs_scales, rhs_scales)]
    shapes = [get_aval(x).shape for x in ops]
    if any(len(sh) != 3 for sh in shapes):
        raise ValueError("scaled_matmul requires all inputs to be 3-dimensional arrays")
    (ba, m, ka), (bb, n, kb), (bas, mas, kas), (bbs, nbs, kbs) = shapes
    if ka != kb or ba != bb:
        raise ValueError("scaled_matmul requires inputs a and b to have matching batch (B) "
                         f"and contract (K) dimensions, but got shapes {shapes[0]} and "
                         f"{shapes[1]}")
    if kas != kbs or bas != bbs:
        raise ValueError("scaled_matmul requires scales to have matching batch (B) and "
                         f"contract (K) dimensions, but got shapes {shapes[2]} and {shapes[3]}")
    if mas != m or nbs != n:
        raise ValueError("scaled_matmul requires scales to match non-contract dimensions of "
                         f"inputs, but got shapes a: {shapes[0]}, b: {shapes[1]}, a_scales: "
                         f"{shapes[2]}, b_scales: {shapes[3]}")
    out_dtype = dtypes.check_user_dtype(preferred_element_type, "scaled_matmul")
    a, b, sa, sb = [x.astype(np.float32) for x in ops]
    a = a * lnp.repeat(sa, ka // kas, axis=-1)
    b = b * lnp.repeat(sb, kb // kbs, axis=-1)
    out = lax_dot.dot_general(a, b, (((2,), (2,)), ((0,), (0,))),
                              preferred_element_type=np.float32)
    return out.astype(out_dtype)


def scaled_dot_general(lhs, rhs, dimension_numbers, preferred_element_type=np.float32,
                       configs=None, implementation=None):
    """``lax.dot_general`` when ``configs`` is None; block-scaled quantization otherwise
    (not supported here: it quantizes to float4/float8 types pyjax lacks)."""
    if configs is not None:
        raise NotImplementedError("scaled_dot_general: configs (block-scaled float8/float4 "
                                  "quantization) are not supported")
    return lax_dot.dot_general(lhs, rhs, dimension_numbers,
                               preferred_element_type=preferred_element_type)

