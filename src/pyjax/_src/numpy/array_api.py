"""The Python Array API standard's namespace machinery for ``pyjax.numpy``, as JAX declares
it: ``__array_api_version__``, ``__array_namespace_info__``, ``isdtype``, ``from_dlpack``,
the ``device=`` checks of creation functions, and the Array methods ``__array_namespace__``,
``to_device``, ``__dlpack__`` and ``__dlpack_device__``.

pyjax has one device, the host CPU, where every buffer lives: ``device=`` accepts it (or
None) and moving to it is a no-op. DLPack exchanges go through NumPy's DLPack support, so
buffers are shared where NumPy shares them.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import backends, dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer

__all__ = ["__array_api_version__", "__array_namespace_info__", "isdtype", "from_dlpack"]

__array_api_version__ = "2024.12"

_NUMPY_KINDS = {
    "bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
    "real floating": "f", "complex floating": "c", "numeric": "iufc",
}


def check_device(device, fun_name: str):
    """``device=`` of a creation function: None or one of pyjax's devices (all buffers live
    on the host CPU, so there is nothing to move)."""
    if device is not None and not isinstance(device, backends.Device):
        raise TypeError(f"{fun_name}: device must be None or a pyjax Device (see "
                        f"pyjax.devices()), got {device!r}")


def _dtype_of(x):
    """``jnp.float32`` & co and arrays stand for their dtype; anything else as it is."""
    dt = getattr(x, "dtype", None)
    return dt if isinstance(dt, np.dtype) else x


def isdtype(dtype, kind) -> bool:
    """Whether ``dtype`` is ``kind``: a dtype, a category name (``"bool"``, ``"signed
    integer"``, ``"unsigned integer"``, ``"integral"``, ``"real floating"``, ``"complex
    floating"``, ``"numeric"``) or a tuple of them."""
    the_dtype = dtypes.as_dtype(_dtype_of(dtype))
    for k in kind if isinstance(kind, tuple) else (kind,):
        if isinstance(k, str) and k in _NUMPY_KINDS:
            if the_dtype != dtypes.bool_ and dtypes.kind(the_dtype) in _NUMPY_KINDS[k] or \
                    k == "bool" and the_dtype == dtypes.bool_:
                return True
            continue
        try:
            other = dtypes.as_dtype(_dtype_of(k))
        except TypeError as e:
            if isinstance(k, str):
                raise ValueError(f"Unrecognized kind={k!r} expected one of "
                                 f"{list(_NUMPY_KINDS)}, or a compatible input for "
                                 f"jnp.dtype()") from None
            raise TypeError(f"Expected kind to be a dtype, string, or tuple; got "
                            f"kind={k!r}") from e
        if other == the_dtype:
            return True
    return False


class ArrayNamespaceInfo:
    """The standard's inspection API: capabilities, devices and the dtypes per kind."""

    _STANDARD = ("bool", "int8", "int16", "int32", "uint8", "uint16", "uint32", "float32",
                 "complex64")
    _X64 = ("int64", "uint64", "float64", "complex128")

    def capabilities(self) -> dict:
        # Data-dependent shapes need concrete values (not under jit), as in JAX.
        return {"boolean indexing": False, "data-dependent shapes": False,
                "max dimensions": 64}

    def default_device(self):
        return None  # arrays are uncommitted, as in JAX

    def devices(self) -> list:
        return [None, *backends.platform().devices]

    def default_dtypes(self, *, device=None) -> dict:
        check_device(device, "default_dtypes")
        return {"real floating": dtypes.default_float_dtype(),
                "complex floating": dtypes.default_complex_dtype(),
                "integral": dtypes.default_int_dtype(),
                "indexing": dtypes.default_int_dtype()}

    def dtypes(self, *, device=None, kind=None) -> dict:
        check_device(device, "dtypes")
        names = self._STANDARD + (self._X64 if dtypes.x64_enabled() else ())
        everything = {n: np.dtype(n) for n in names}
        if kind is None:
            return everything
        for k in kind if isinstance(kind, tuple) else (kind,):
            if k not in _NUMPY_KINDS:
                raise KeyError(k)
        return {n: d for n, d in everything.items() if isdtype(d, kind)}


def __array_namespace_info__() -> ArrayNamespaceInfo:
    return ArrayNamespaceInfo()


def from_dlpack(x, /, *, device=None, copy=None):
    """An Array from any object with ``__dlpack__`` (a NumPy array, a torch tensor, ...),
    with the dtype canonicalized as ``jnp.asarray`` would."""
    check_device(device, "from_dlpack")
    if isinstance(x, Array) and not copy:
        return x
    buf = np.from_dlpack(x, copy=copy)
    dt = dtypes.canonicalize_dtype(buf.dtype)
    if not dtypes.is_supported(dt):
        raise TypeError(f"from_dlpack: dtype {buf.dtype} is not a valid JAX array type")
    if dt != buf.dtype or copy:
        buf = buf.astype(dt)
    return Array._from_buffer(buf, ShapedArray(buf.shape, dt))


# ---------------------------------------------------------------------------- Array methods

def _to_device(self, device, *, stream=None):
    """The array on ``device``: every buffer is on the host CPU already."""
    if not isinstance(device, backends.Device):
        raise ValueError(f"to_device only accepts a pyjax Device, got {device!r}")
    return self


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    buf = np.asarray(self)
    if not buf.flags.writeable and (max_version is None or tuple(max_version) < (1, 0)):
        buf = buf.copy()  # (DLPack before 1.0 cannot mark a buffer read-only)
    kwargs = {} if max_version is None else {"max_version": max_version}
    if dl_device is not None:
        kwargs["dl_device"] = dl_device
    if copy is not None:
        kwargs["copy"] = copy
    return buf.__dlpack__(stream=stream, **kwargs)


def _dlpack_device(self):
    return np.asarray(self).__dlpack_device__()


def install(namespace) -> None:
    """Give Arrays and tracers the standard's methods; ``namespace`` is ``pyjax.numpy``
    (which calls this: the modules below it cannot import it)."""
    def array_namespace(self, *, api_version=None):
        if api_version is not None and api_version != __array_api_version__:
            raise ValueError(f"api_version={api_version!r} is not available; available "
                             f"versions are: {[__array_api_version__]}")
        return namespace
    for cls in (Array, Tracer):
        cls.__array_namespace__ = array_namespace
    Array.to_device = _to_device
    Array.__dlpack__ = _dlpack
    Array.__dlpack_device__ = _dlpack_device
