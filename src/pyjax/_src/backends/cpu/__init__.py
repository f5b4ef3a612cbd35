"""The CPU backend: what runs pyjax's kernels on this machine.

``kernels`` (NumPy kernels the compiler calls like ufuncs), ``native`` and
``native_kernels`` (Numba versions of the slowest NumPy kernels, the optional fast path),
``blas`` (NumPy's own BLAS, reached for its ``gemv`` and thread count), ``threads`` (the
worker pool), ``pool`` (reused large buffers), ``approximations`` (XLA's polynomial
coefficients, shared by NumPy and native kernels) and ``policy`` (every threshold).
It imports only ``core``: lax and the compiler build on it.
"""
