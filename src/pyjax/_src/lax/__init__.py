"""The primitive families. Importing this package registers every primitive and gives
the AD machinery the few operations it needs (``ad_ops``)."""
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
# The families in layer order: each module's rules use only the ones before it.
from pyjax._src.lax import (common, broadcasting, elementwise, shape, indexing,  # noqa: F401
                            dynamic_slicing, reductions, dot, sort, processes, parallel,
                            control_flow,
                            threefry, special, linalg, fft, bits, misc, collectives,
                            callback, convolution, windowed, solves,
                            structural)
from pyjax._src.transforms.batching import batch_ops
from pyjax._src.transforms.jvp import ad_ops


def _zeros(aval: ShapedArray):
    return shape.full(aval.shape, 0, aval.dtype, weak_type=aval.weak_type)


ad_ops.zeros = _zeros
ad_ops.add = elementwise.add_any
ad_ops.convert = lambda x, aval: elementwise.convert_element_type(x, aval.dtype, aval.weak_type)
batch_ops.moveaxis = broadcasting.moveaxis
batch_ops.sum_axis = lambda x, axis: broadcasting.reduce_sum(x, (axis,))
batch_ops.psum = lambda x, axes: parallel.psum_p.bind(x, axes=axes)

del Array
